"""One Settings object, read from DETECTOR_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
SHIPPED_MODELS_DIR = REPO_ROOT / "models"


PROGRAM_NAMES = frozenset({"detector", "alerts"})  # names the program used to sign events with


def operator_name(name: str | None) -> str:
    """The person an audit event names (an account or the configured operator), never a program.

    Raises ConfigError for an empty name or a program's name such as "detector"."""
    from .errors import ConfigError

    cleaned = (name or "").strip()
    if not cleaned or len(cleaned) > 200:
        raise ConfigError("name the person doing this: --actor NAME or DETECTOR_ACTOR (1 to 200 characters)")
    if cleaned.lower() in PROGRAM_NAMES:
        raise ConfigError(f"--actor {cleaned!r} names a program, not a person: give your name or account "
                          "(--actor NAME or DETECTOR_ACTOR)")
    return cleaned


def _env(name: str, default: str) -> str:
    return os.environ.get(f"DETECTOR_{name}", default)


def _positive_int(name: str, default: int) -> int:
    """DETECTOR_<name> as a whole number of at least 1 (ConfigError otherwise)."""
    from .errors import ConfigError

    text = _env(name, str(default)).strip()
    if not text.isascii() or not text.isdigit() or not 0 < int(text) < 2**31:
        raise ConfigError(f"DETECTOR_{name} must be a whole number from 1 to {2**31 - 1}, not {text[:40]!r}")
    return int(text)


@dataclass(frozen=True)
class Settings:
    """Runtime configuration. Build with `Settings.from_env()`; override with `.with_(...)`."""

    database_url: str = "sqlite:///detector.db"
    evidence_dir: Path = Path("evidence")
    models_dir: Path = SHIPPED_MODELS_DIR
    model_name: str = "default"
    export_timezone: str = "UTC"
    actor: str = field(default_factory=lambda: os.environ.get("USER", "detector"))
    secret_key: str = ""
    max_text_chars: int = 65_536  # message texts longer than this are stored cut (their bytes stay whole)

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            database_url=_env("DATABASE_URL", cls.database_url),
            evidence_dir=Path(_env("EVIDENCE_DIR", str(cls.evidence_dir))),
            models_dir=Path(_env("MODELS_DIR", str(SHIPPED_MODELS_DIR))),
            model_name=_env("MODEL", cls.model_name),
            export_timezone=_env("EXPORT_TIMEZONE", cls.export_timezone),
            actor=_env("ACTOR", os.environ.get("USER", "detector")),
            secret_key=_env("SECRET_KEY", ""),
            max_text_chars=_positive_int("MAX_TEXT_CHARS", cls.max_text_chars),
        )

    def with_(self, **changes: Any) -> "Settings":
        """A copy with some fields changed (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def model_dir(self) -> Path:
        return self.models_dir / self.model_name
