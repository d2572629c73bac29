"""Comparing, promoting and rolling back models; every change of the pointer is audited.

A candidate is refused when its F1 in any language, on held-out data both models are
scored on, falls below the current model's by more than the tolerance (unless forced).
The tolerance is one message's worth of F1 in that language, and at least 0.01: with P
listings, turning one caught listing into a miss moves F1 by about 1/(2P), so a smaller
drop is indistinguishable from noise on this data, while any larger one is a real loss.
Refusals are audited too (`model_promote_refused`), and the actor is never empty. Promotion
and rollback put the queue on the new model's stored scores (`queue_rows.restore_queue`).
"""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ..config import Settings, operator_name
from ..db import session_scope
from ..errors import DetectorError
from ..queue_rows import restore_queue
from ..schema import AuditEvent
from .evaluate import Labelled, evaluate_records
from .pointer import SHIPPED, Pointer, current_name, is_folder_name, read_pointer, write_pointer
from .registry import CARD, load_model, open_folder

MIN_TOLERANCE = 0.01


@dataclass(frozen=True)
class LanguageDrop:
    language: str
    current_f1: float
    candidate_f1: float
    tolerance: float


def tolerance(positives: int) -> float:
    """The F1 drop that counts as worse, for a language with `positives` held-out listings."""
    return max(MIN_TOLERANCE, 1.0 / (2 * positives)) if positives else 1.0


def compare_reports(current: dict[str, Any], candidate: dict[str, Any]) -> list[LanguageDrop]:
    """Languages where the candidate's F1 is worse than the current's beyond the tolerance."""
    drops = []
    for language, cur in current["by_language"].items():
        cand = candidate["by_language"].get(language)
        cur_f1, cand_f1 = cur["model"]["f1"], cand["model"]["f1"] if cand else None
        if cur_f1 is None or cand_f1 is None:
            continue
        allowed = tolerance(cur["model"]["positives"])
        if cand_f1 < cur_f1 - allowed:
            drops.append(LanguageDrop(language, cur_f1, cand_f1, allowed))
    return drops


def compare_models(current: Any, candidate: Any, records: Sequence[Labelled]) -> dict[str, Any]:
    """Both models' reports on the same records and the languages where the candidate is worse."""
    reports = {"current": evaluate_records(current, records), "candidate": evaluate_records(candidate, records)}
    return {**reports, "worse": [d.__dict__ for d in compare_reports(reports["current"], reports["candidate"])]}


def list_models(models_dir: Path) -> list[dict[str, Any]]:
    """Every model folder under `models_dir` with its card's summary, the current one marked."""
    current = current_name(models_dir)
    rows = []
    for folder in sorted(p for p in Path(models_dir).glob("*") if (p / CARD).is_file()):
        try:
            card = open_folder(folder).card
            problem = ""
        except DetectorError as exc:
            card, problem = {}, str(exc)
        data = card.get("training_data", {})
        rows.append({"name": folder.name, "current": folder.name == current, "version": card.get("version", "?"),
                     "created": card.get("created", ""), "parent": card.get("parent"),
                     "labels": data.get("labels", {}).get("count", 0), "problem": problem})
    return rows


def actor_name(configured: str) -> str:
    """The configured actor, else the OS user name (`config.operator_name` refuses no name or a program's)."""
    name = configured.strip()
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no login name and no password entry for the uid
            name = ""
    return operator_name(name)


def _audit(engine: Engine | None, actor: str, action: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    if engine is None:
        return
    with session_scope(engine) as session:
        session.add(AuditEvent(actor=operator_name(actor), action=action, object_type="model",
                               object_id=after["model"][:100], before=before, after=after))


def model_version_of(models_dir: Path, name: str) -> str:
    """The version in the card of model folder `name` (verified)."""
    return str(open_folder(Path(models_dir) / name).card["version"])


def _restore(engine: Engine | None, version: str) -> dict[str, Any] | None:
    return restore_queue(engine, version).to_dict() if engine is not None else None


def promote(settings: Settings, name: str, records: Sequence[Labelled], *, engine: Engine | None,
            actor: str, force: bool = False) -> dict[str, Any]:
    """Point `models/CURRENT` at `name` unless it is worse in a language (then DetectorError)."""
    models_dir = settings.models_dir
    if not is_folder_name(name) or name == "current":
        raise DetectorError(f"{name!r} is not a model folder name under {models_dir}")
    candidate = load_model(models_dir / name)
    pointer = read_pointer(models_dir) or Pointer(SHIPPED, [])
    if pointer.model == name:
        raise DetectorError(f"{name} is already the current model")
    actor = actor_name(actor)
    comparison = None
    if (models_dir / pointer.model / CARD).is_file():
        comparison = compare_models(load_model(models_dir / pointer.model), candidate, records)
        if comparison["worse"] and not force:
            _audit(engine, actor, "model_promote_refused", {"model": pointer.model},
                   {"model": name, "version": candidate.version, "worse": comparison["worse"], "records": len(records)})
            worse = ", ".join(f"{d['language']} F1 {d['candidate_f1']:.3f} < {d['current_f1']:.3f} "
                              f"(tolerance {d['tolerance']:.3f})" for d in comparison["worse"])
            raise DetectorError(f"refused: {name} is worse than {pointer.model} in {worse} "
                                f"(on {len(records)} held-out messages; use --force to promote anyway)")
    new = Pointer(name, [*pointer.previous, pointer.model])
    write_pointer(models_dir, new)
    _audit(engine, actor, "model_promote" + ("_forced" if force and comparison and comparison["worse"] else ""),
           {"model": pointer.model}, {"model": name, "version": candidate.version,
                                      "worse": comparison["worse"] if comparison else [], "forced": force})
    return {"previous": pointer.model, "current": name, "version": candidate.version, "comparison": comparison,
            "queue": _restore(engine, candidate.version)}


def rollback(settings: Settings, *, engine: Engine | None, actor: str) -> dict[str, Any]:
    """Point `models/CURRENT` back at the model before the current one, and the queue at its scores."""
    actor = actor_name(actor)
    pointer = read_pointer(settings.models_dir)
    if pointer is None or not pointer.previous:
        raise DetectorError("nothing to roll back: no model was promoted before the current one")
    previous = pointer.previous[-1]
    version = model_version_of(settings.models_dir, previous)
    write_pointer(settings.models_dir, Pointer(previous, pointer.previous[:-1]))
    _audit(engine, actor, "model_rollback", {"model": pointer.model}, {"model": previous, "version": version})
    return {"previous": pointer.model, "current": previous, "version": version, "queue": _restore(engine, version)}


def rescore_in_background(db_url: str, models_dir: Path, name: str, log: Path) -> subprocess.Popen[bytes]:
    """Start `detector score` for the new current model in its own process; old scores stay."""
    env = {**os.environ, "DETECTOR_MODELS_DIR": str(models_dir)}
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", "from detector.cli import main; main()", "score", "--db", db_url, "--model", name],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
