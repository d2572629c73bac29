"""Model folders: safe formats only, a card with SHA-256 of every file, verified on load.

A model folder holds `card.json` (version, date, data hash, thresholds, metrics and the
checksum of every other file), a human-readable `MODEL_CARD.md`, and weights as JSON,
numpy `.npz` (read with allow_pickle=False) or safetensors. Nothing is ever unpickled.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import Settings
from ..errors import ModelError
from ..hashing import sha256_bytes, sha256_file
from .pointer import ALIASES, current_name

if TYPE_CHECKING:
    from .model import Model

CARD = "card.json"
CARD_FORMAT = 1
SAFE_SUFFIXES = (".json", ".npz", ".npy", ".safetensors", ".md", ".txt", ".model")


def npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """Numpy arrays as the bytes of an .npz file (no object arrays, so no pickle)."""
    buffer = io.BytesIO()
    named: dict[str, Any] = {name: np.asarray(value) for name, value in arrays.items()}  # savez's stub types **kwds as its flags
    np.savez(buffer, **named)
    return buffer.getvalue()


def json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8") + b"\n"


class ModelFolder:
    """A verified model folder: its card and checked readers for its files."""

    def __init__(self, path: Path, card: dict[str, Any]) -> None:
        self.path = path
        self.card = card

    def file(self, name: str) -> Path:
        if name not in self.card["files"]:
            raise ModelError(f"{self.path}: the card lists no file {name!r}")
        return self.path / name

    def read_json(self, name: str) -> Any:
        return json.loads(self.file(name).read_text(encoding="utf-8"))

    def read_arrays(self, name: str) -> dict[str, np.ndarray]:
        try:
            with np.load(self.file(name), allow_pickle=False) as data:
                return {key: data[key] for key in data.files}
        except ValueError as exc:
            raise ModelError(f"{self.path / name}: not a plain numpy archive ({exc})") from exc


def write_folder(path: str | Path, files: Mapping[str, bytes], card: dict[str, Any], card_md: str) -> Path:
    """Write a model folder atomically: files, MODEL_CARD.md, then card.json with checksums.

    The folder is built beside the target and renamed into place, so a failure never
    leaves a half-written model, and an existing folder is replaced only when complete.
    """
    target = Path(path).resolve()
    for name in files:
        _check_safe_name(target, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        staging.chmod(0o755)
        all_files = {**files, "MODEL_CARD.md": card_md.encode("utf-8")}
        for name, data in all_files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_bytes(data)
        card = {**card, "format": CARD_FORMAT, "files": {n: sha256_bytes(d) for n, d in sorted(all_files.items())}}
        (staging / CARD).write_bytes(json_bytes(card))
        if target.exists():
            old = target.with_name(f".{target.name}-old-{os.getpid()}")
            target.rename(old)
            staging.rename(target)
            shutil.rmtree(old)
        else:
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def open_folder(path: str | Path) -> ModelFolder:
    """Read card.json and verify every file's SHA-256; raise ModelError on any mismatch."""
    folder = Path(path)
    if not folder.is_dir():
        raise ModelError(f"model folder {folder} does not exist (train one with `detector train --synthetic`)")
    card_path = folder / CARD
    if not card_path.is_file():
        raise ModelError(f"{folder}: not a model folder (no {CARD})")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
        files = card["files"]
        card["version"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{card_path}: unreadable model card ({exc})") from exc
    for name, expected in files.items():
        _check_safe_name(folder, name)
        file_path = folder / name
        if not file_path.is_file():
            raise ModelError(f"{folder}: file {name} listed in the card is missing")
        if sha256_file(file_path)[0] != expected:
            raise ModelError(f"{folder}: file {name} was altered (SHA-256 differs from the model card)")
    listed = set(files) | {CARD}
    for extra in sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()):
        if extra not in listed and not any(part.startswith(".") for part in Path(extra).parts):
            raise ModelError(f"{folder}: file {extra} is not listed in the model card")
    return ModelFolder(folder, card)


def _check_safe_name(folder: Path, name: str) -> None:
    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts or not name.endswith(SAFE_SUFFIXES):
        raise ModelError(f"{folder}: file {name!r} is not an allowed model file (safe formats only)")


def resolve_model_path(name_or_path: str | Path, settings: Settings | None = None) -> Path:
    """A model name under the models folder, or a path to a model folder.

    `default` and `current` mean the model in use: the one `models/CURRENT` points to
    (see `pointer.py`), else the shipped `models/default`.
    """
    candidate = Path(name_or_path)
    if str(name_or_path) in ALIASES:
        settings = settings or Settings.from_env()
        return settings.models_dir / current_name(settings.models_dir)
    if candidate.is_dir() or len(candidate.parts) > 1:
        return candidate
    settings = settings or Settings.from_env()
    return settings.models_dir / str(name_or_path)


def thresholds_by_version(models_dir: Path) -> dict[str, float]:
    """Each model folder's flag threshold by version, from its card.json (for ordering only:
    the files are not verified here; scoring always loads a verified model)."""
    found: dict[str, float] = {}
    for card_path in sorted(Path(models_dir).glob(f"*/{CARD}")):
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
            found[str(card["version"])] = float(card["threshold"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a readable model folder: `detector models list` names the problem
    return found


def load_model(path: str | Path) -> Model:
    """Load and verify a model folder (a path, or a name under the models folder)."""
    from .model import Model

    return Model.from_folder(open_folder(resolve_model_path(path)))
