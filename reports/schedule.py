"""Alert jobs for APScheduler: every minute, queue alerts for suspected minors and send what is due;
once a day, queue each partner's digest. `detector alert run` hosts them, and so does `detector watch`
(the `detector.watch_jobs` entry point `add_watch_jobs`); any APScheduler 3 scheduler can host them
through `add_alert_jobs`. A pass runs under the database lock `alerts`, so however many processes
host the jobs on one database, no alert is planned or sent twice.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine

from detector.config import Settings
from detector.db import session_scope
from detector.locks import database_lock

from .alerts import plan_alerts
from .outbox import OutboxRun, RetryPolicy, deliver_due
from .partners import SecretBox
from .retractions import plan_followups
from .transport import SmtpSettings
from .watchlist_alerts import plan_watchlist_alerts

log = logging.getLogger("detector.alerts")  # under `detector`: shown in the `detector watch` log
IMMEDIATE_JOB, DIGEST_JOB = "alerts-immediate", "alerts-digest"
ALERTS_LOCK = "alerts"


def alert_pass(engine: Engine, *, smtp: SmtpSettings, actor: str, box: SecretBox | None = None, digest: bool = False,
               policy: RetryPolicy = RetryPolicy(), now: datetime | None = None) -> tuple[int, OutboxRun]:
    """Queue watchlist matches to their lists' owners, new alerts (and the digest when asked), retractions
    and updates, then send everything due; returns (queued, run). `actor` is the operator named in the
    audit events."""
    now = now or datetime.now(timezone.utc)
    with session_scope(engine) as session:
        queued = len(plan_watchlist_alerts(session, actor, now))  # first: the owner is told with the match
        queued += len(plan_alerts(session, actor, now, digest=digest)) + len(plan_followups(session, actor, now))
    run = deliver_due(engine, smtp=smtp, actor=actor, box=box, policy=policy, now=now)
    log.info("alerts: %d queued; %s", queued, run.line())
    return queued, run


def locked_alert_pass(engine: Engine, *, wait: bool = False, **kwargs: Any) -> None:
    """`alert_pass` while no other process runs one on this database; another's pass under way makes
    this one a skip (the next comes within the interval) or, with `wait` (the daily digest), a wait."""
    with database_lock(engine, ALERTS_LOCK, wait=wait) as held:
        if not held:
            log.info("alerts: another process is running a pass on this database; skipped")
            return
        alert_pass(engine, **kwargs)


def parse_clock(text: str) -> tuple[int, int]:
    """'08:00' -> (8, 0)."""
    from detector.errors import ConfigError

    hour, _, minute = text.partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise ConfigError(f"invalid time of day {text!r}: use HH:MM, such as 08:00")
    return int(hour), int(minute)


def add_alert_jobs(scheduler: Any, engine: Engine, *, smtp: SmtpSettings, actor: str, box: SecretBox | None = None,
                   every_seconds: float = 60.0, digest_at: str = "08:00", policy: RetryPolicy = RetryPolicy(),
                   jobstore: str = "default", executor: str = "default") -> None:
    """Add the immediate (interval) and digest (daily, UTC) jobs to an APScheduler 3 scheduler (their
    arguments hold an engine: give them a job store that keeps objects, such as the memory store)."""
    hour, minute = parse_clock(digest_at)
    kwargs = {"engine": engine, "smtp": smtp, "actor": actor, "box": box, "policy": policy}
    where = {"jobstore": jobstore, "executor": executor, "max_instances": 1, "coalesce": True, "replace_existing": True}
    scheduler.add_job(locked_alert_pass, "interval", seconds=every_seconds, id=IMMEDIATE_JOB, kwargs=kwargs,
                      next_run_time=datetime.now(timezone.utc), **where)
    scheduler.add_job(locked_alert_pass, "cron", hour=hour, minute=minute, timezone="UTC", id=DIGEST_JOB,
                      kwargs={**kwargs, "digest": True, "wait": True}, **where)


def add_watch_jobs(scheduler: Any, engine: Engine, settings: Settings, *, jobstore: str, executor: str) -> None:
    """The `detector.watch_jobs` entry point: `detector watch` sends partners' alerts too, every
    DETECTOR_ALERT_EVERY (default 60s), the digest daily at DETECTOR_DIGEST_AT (default 08:00 UTC),
    as the operator DETECTOR_ACTOR (else USER) names. Without an operator it logs why and sends none."""
    from detector.config import operator_name
    from detector.errors import ConfigError
    from detector.schedule import parse_interval

    try:
        actor = operator_name(settings.actor)
    except ConfigError as exc:
        log.error("alerts off in this watcher: %s", exc)
        return
    every, digest_at = os.environ.get("DETECTOR_ALERT_EVERY", "60s"), os.environ.get("DETECTOR_DIGEST_AT", "08:00")
    add_alert_jobs(scheduler, engine, smtp=SmtpSettings.from_env(), actor=actor, box=SecretBox.for_settings(settings),
                   every_seconds=parse_interval(every), digest_at=digest_at, jobstore=jobstore, executor=executor)
    log.info("alerts every %s, digest daily at %s UTC", every, digest_at)


def run_alerts(engine: Engine, *, smtp: SmtpSettings, actor: str, box: SecretBox, every_seconds: float,
               digest_at: str) -> None:
    """Run the alert jobs until interrupted (Ctrl+C or SIGTERM)."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone="UTC")
    add_alert_jobs(scheduler, engine, smtp=smtp, actor=actor, box=box, every_seconds=every_seconds, digest_at=digest_at)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        scheduler.shutdown(wait=True)
