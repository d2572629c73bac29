"""The scheduled inbox scraper behind `detector watch`.

APScheduler 3 runs one job (`watch_job`) every interval; the job lives in the
project database (SQLAlchemyJobStore), so it survives restarts. Each pass scans
the inbox, waits for files still being written, skips files whose (path, SHA-256)
is already in the InboxFile ledger, ingests the rest, analyses, scores and links the
new messages, and logs one line with counts. The packages built on the core add
their jobs (partner alerts) through the `detector.watch_jobs` entry points.

Several watchers may share one database: a pass runs under the database lock
`watch-pass` (`locks.database_lock`), and a watcher that finds it held skips its
turn. APScheduler 3's shared job store alone does not prevent this: two schedulers
on one store both run a due job (measured: a 1 s job ran 37 times in 20 s).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select

from .config import Settings
from .db import make_engine
from .errors import ConfigError, DetectorError
from .hashing import sha256_file
from .ingest.run import find_inputs, ingest_inputs
from .locks import database_lock
from .schema import InboxFile

log = logging.getLogger("detector.watch")
JOB_ID = "detector-watch"
JOBS_TABLE = "apscheduler_jobs"
PASS_LOCK = "watch-pass"
WATCH_JOBS_GROUP = "detector.watch_jobs"
PLUGIN_JOBS = "watch-plugins"  # the job store (in memory) and executor of the jobs plug-ins add
SETTLE_SECONDS = 10.0
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str) -> float:
    """Seconds in an interval written `90`, `30s`, `5m`, `2h` or `1d`."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if not match or float(match[1]) <= 0:
        raise ConfigError(f"invalid interval {text!r}: use a number with s, m, h or d, such as 5m")
    return float(match[1]) * _UNITS[match[2] or "s"]


# --------------------------------------------------------------------------- one pass


@dataclass
class InboxState:
    """What this process saw at its previous look at the inbox (files still being written)."""

    looks: dict[str, tuple[int, int]] = field(default_factory=dict)  # path -> (size, mtime_ns)
    hashes: dict[tuple[str, int, int], str] = field(default_factory=dict)  # (path, size, mtime_ns) -> sha256


@dataclass
class PassResult:
    """Counts of one pass, for the log line."""

    ingested: int = 0
    known: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)
    messages_new: int = 0
    messages_seen: int = 0
    analysed: int = 0
    scoring: str = ""
    linking: str = ""

    def line(self) -> str:
        return (
            f"watch pass: {self.ingested} new file(s), {self.known} already processed, {self.waiting} still being "
            f"written, {len(self.errors)} error(s); {self.messages_new} new message(s), {self.messages_seen} seen "
            f"before; {self.analysed} analysed; {self.scoring}" + (f"; {self.linking}" if self.linking else "")
        )


def _unsettled_entries(inbox: Path, state: InboxState, settle_seconds: float, now: float) -> set[str]:
    """Top-level inbox entries holding a file that changed since the last look and is younger than the settle time."""
    unsettled: set[str] = set()
    looks: dict[str, tuple[int, int]] = {}
    for root, _dirs, files in os.walk(inbox):
        for name in files:
            path = Path(root) / name
            try:
                st = path.stat()
            except OSError:  # vanished meanwhile
                continue
            key = str(path)
            looks[key] = (st.st_size, st.st_mtime_ns)
            if state.looks.get(key) != looks[key] and now - st.st_mtime < settle_seconds:
                unsettled.add(path.relative_to(inbox).parts[0])
    state.looks = looks
    return unsettled


def _hash(path: Path, state: InboxState) -> tuple[str, int]:
    """The file's SHA-256 (cached while its size and mtime stay the same) and its size."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in state.hashes:
        state.hashes[key] = sha256_file(path)[0]
    return state.hashes[key], st.st_size


def score_new(engine: Engine, settings: Settings) -> str:
    """Score unscored messages when a classifier and a model are there; else say why not."""
    if not settings.model_dir.exists():  # checked first: importing the classifier takes seconds
        return f"scoring skipped: no model at {settings.model_dir}"
    try:
        from .classify.scoring import score_unscored
    except ImportError:
        return "scoring skipped: no classifier installed"
    try:
        result = score_unscored(engine, settings)
    except DetectorError as exc:
        return f"scoring skipped: {exc}"
    return f"{result.scored} scored, {result.flagged} flagged"


def link_new(engine: Engine, settings: Settings) -> str:
    """Cluster and link the messages and photos not linked yet (after scoring)."""
    from .link.run import link_pending

    result = link_pending(engine, settings)
    skipped = f", {sum(result.skipped.values())} skipped" if result.skipped else ""
    return f"{result.messages_linked} linked, {result.clusters} clusters, {result.entities} shared entities{skipped}"


def watch_pass(
    engine: Engine,
    settings: Settings,
    inbox: Path,
    state: InboxState,
    *,
    settle_seconds: float = SETTLE_SECONDS,
    analyse: bool = True,
    score: bool = True,
    should_stop: Callable[[], bool] | None = None,
) -> PassResult:
    """One scan of the inbox: ingest settled files not yet in the ledger, then analyse and score."""
    if not inbox.is_dir():
        raise ConfigError(f"inbox {inbox} is not a folder")
    result = PassResult()
    unsettled = _unsettled_entries(inbox, state, settle_seconds, time.time())
    with engine.connect() as conn:
        ledger = {(r.path, r.sha256) for r in conn.execute(select(InboxFile.path, InboxFile.sha256))}
    todo: list[tuple[Path, str]] = []
    keys: dict[Path, tuple[str, str, int]] = {}
    for entry in find_inputs([inbox], settings.evidence_dir):
        if isinstance(entry, str):
            continue
        path, display = entry
        rel = path.relative_to(inbox)
        if rel.parts[0] in unsettled:
            result.waiting += 1
            continue
        try:
            sha, size = _hash(path, state)
        except OSError:
            continue  # removed meanwhile; the next pass decides
        if (rel.as_posix(), sha) in ledger:
            result.known += 1
            continue
        keys[path] = (rel.as_posix(), sha, size)
        todo.append((path, display))
    if todo:
        summary = ingest_inputs(engine, settings, todo, should_stop=should_stop)
        with engine.begin() as conn:
            for item in summary.inputs:
                ledger_path, sha, size = keys[item.path]
                conn.execute(
                    insert(InboxFile),
                    {
                        "path": ledger_path,
                        "sha256": item.sha256 or sha,  # the bytes actually read, if they changed meanwhile
                        "size": item.size or size,
                        "status": "error" if item.error else "ingested",
                        "error": item.error,
                        "messages_new": item.messages_new,
                    },
                )
        result.ingested = sum(1 for i in summary.inputs if not i.error)
        result.errors = summary.errors
        result.messages_new, result.messages_seen = summary.messages_new, summary.messages_seen
    if analyse and result.messages_new:
        from .ingest.analysis import analyse_pending

        result.analysed = analyse_pending(engine)
    result.scoring = _after_ingest("scoring", score_new, engine, settings) if score else "scoring off"
    if score:
        result.linking = _after_ingest("linking", link_new, engine, settings)
    return result


def _after_ingest(stage: str, step: Callable[[Engine, Settings], str], engine: Engine, settings: Settings) -> str:
    """Run a stage after ingest; its failure is logged and reported, and never hides what was ingested."""
    try:
        return step(engine, settings)
    except Exception as exc:  # noqa: BLE001 - the pass's own counts must still be logged
        log.exception("%s failed", stage)
        return f"{stage} failed: {exc}"


# --------------------------------------------------------------------------- the scheduled job

_STATES: dict[str, InboxState] = {}
_STOP = threading.Event()
_RUNNING = threading.Lock()  # held during a pass, so shutdown can wait for it to end
_ENGINES: dict[str, Engine] = {}


def watch_job(
    db_url: str, inbox: str, settle_seconds: float, analyse: bool, timezone: str, every_seconds: float = 0.0
) -> None:
    """The job APScheduler runs (by reference, with picklable arguments).

    While files are still being written, it looks again after the settle time
    (within this interval), so a new export is stored within one interval.
    """
    engine = _ENGINES.get(db_url) or _ENGINES.setdefault(db_url, make_engine(db_url))
    settings = Settings.from_env().with_(database_url=db_url, export_timezone=timezone)
    state = _STATES.setdefault(inbox, InboxState())
    deadline = time.monotonic() + every_seconds
    with _RUNNING:
        while True:
            try:
                with database_lock(engine, PASS_LOCK) as held:
                    if not held:
                        log.info("watch pass skipped: another watcher is running one on this database")
                        return
                    result = watch_pass(
                        engine, settings, Path(inbox), state, settle_seconds=settle_seconds, analyse=analyse,
                        should_stop=_STOP.is_set,
                    )
            except DetectorError as exc:
                log.error("watch pass failed: %s", exc)
                return
            for line in result.errors:
                log.warning("error: %s", line)
            log.info(result.line())
            if not result.waiting or time.monotonic() + settle_seconds > deadline:
                return
            if _STOP.wait(max(settle_seconds, 1.0)):
                return


def add_plugin_jobs(scheduler: Any, engine: Engine, settings: Settings) -> None:
    """Let each installed `detector.watch_jobs` entry point add its jobs: it is called as
    `add(scheduler, engine, settings, jobstore=PLUGIN_JOBS, executor=PLUGIN_JOBS)`."""
    from importlib.metadata import entry_points

    for entry in sorted(entry_points(group=WATCH_JOBS_GROUP), key=lambda e: e.name):
        entry.load()(scheduler, engine, settings, jobstore=PLUGIN_JOBS, executor=PLUGIN_JOBS)


def run_scheduler(
    engine: Engine,
    db_url: str,
    inbox: Path,
    *,
    every_seconds: float,
    settle_seconds: float = SETTLE_SECONDS,
    analyse: bool = True,
    timezone: str = "UTC",
    once: bool = False,
) -> None:
    """Run the watch job every `every_seconds`, and the plug-ins' jobs, until SIGINT/SIGTERM (or only
    one watch pass with `once`)."""
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.blocking import BlockingScheduler
    from datetime import datetime, timezone as tz

    _STOP.clear()
    store = SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)
    with database_lock(engine, JOBS_TABLE, wait=True):  # watchers starting together would race to create it
        store.jobs_t.create(engine, checkfirst=True)
    scheduler = BlockingScheduler(
        jobstores={"default": store, PLUGIN_JOBS: MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(1), PLUGIN_JOBS: ThreadPoolExecutor(2)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=tz.utc,
    )
    scheduler.add_job(
        watch_job,
        "interval",
        seconds=every_seconds,
        id=JOB_ID,
        name=f"watch {inbox}",
        kwargs={
            "db_url": db_url,
            "inbox": str(inbox.resolve()),
            "settle_seconds": settle_seconds,
            "analyse": analyse,
            "timezone": timezone,
            "every_seconds": every_seconds,
        },
        replace_existing=True,
        next_run_time=datetime.now(tz.utc),
    )

    def stop(*_args: Any) -> None:
        _STOP.set()
        if scheduler.running:
            scheduler.shutdown(wait=False)

    if once:
        scheduler.add_listener(stop, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    else:
        add_plugin_jobs(scheduler, engine, Settings.from_env().with_(database_url=db_url, export_timezone=timezone))
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        log.info("watching %s every %gs (job %r stored in the database)", inbox, every_seconds, JOB_ID)
        scheduler.start()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    with _RUNNING:  # a pass under way finishes its current file first
        log.info("watch stopped")
