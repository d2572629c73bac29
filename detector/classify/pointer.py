"""The pointer to the model in use: `models/CURRENT`, a small JSON file.

`{"model": "<folder name>", "previous": ["<older>", ...]}`: promotion pushes the old
name onto `previous`, rollback pops it. Without the file the shipped `default` is used.
Written atomically (temporary file, then rename).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import atomic_path
from ..errors import ModelError

POINTER_FILE = "CURRENT"
SHIPPED = "default"
ALIASES = ("default", "current")  # names that mean "the model in use"


def is_folder_name(name: str) -> bool:
    """True for a plain folder name under the models directory (no path, not hidden)."""
    return bool(name) and "/" not in name and not name.startswith(".")


@dataclass(frozen=True)
class Pointer:
    model: str = SHIPPED
    previous: list[str] = field(default_factory=list)


def read_pointer(models_dir: Path) -> Pointer | None:
    """The pointer, or None when no model was ever promoted."""
    path = Path(models_dir) / POINTER_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        pointer = Pointer(str(data["model"]), [str(p) for p in data.get("previous", [])])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"{path}: unreadable model pointer ({exc})") from exc
    if not is_folder_name(pointer.model):
        raise ModelError(f"{path}: the pointer names no model folder ({pointer.model!r})")
    return pointer


def write_pointer(models_dir: Path, pointer: Pointer) -> None:
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(models_dir / POINTER_FILE) as tmp:
        tmp.write_text(json.dumps({"model": pointer.model, "previous": pointer.previous}, indent=2) + "\n", encoding="utf-8")


def current_name(models_dir: Path) -> str:
    """The folder name of the model in use."""
    pointer = read_pointer(models_dir)
    return pointer.model if pointer else SHIPPED
