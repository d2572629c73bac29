"""Alert jobs for APScheduler: every minute, queue alerts for suspected minors and send what is due;
once a day, queue each partner's digest. `detector alert run` hosts them; any scheduler
(such as the one behind `detector watch`) can host them through `add_alert_jobs`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine

from detector.db import session_scope

from .alerts import plan_alerts
from .outbox import OutboxRun, RetryPolicy, deliver_due
from .partners import SecretBox
from .retractions import plan_followups
from .transport import SmtpSettings
from .watchlist_alerts import plan_watchlist_alerts

log = logging.getLogger("reports.alerts")
IMMEDIATE_JOB, DIGEST_JOB = "alerts-immediate", "alerts-digest"


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


def parse_clock(text: str) -> tuple[int, int]:
    """'08:00' -> (8, 0)."""
    from detector.errors import ConfigError

    hour, _, minute = text.partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise ConfigError(f"invalid time of day {text!r}: use HH:MM, such as 08:00")
    return int(hour), int(minute)


def add_alert_jobs(scheduler: Any, engine: Engine, *, smtp: SmtpSettings, actor: str, box: SecretBox | None = None,
                   every_seconds: float = 60.0, digest_at: str = "08:00", policy: RetryPolicy = RetryPolicy()) -> None:
    """Add the immediate (interval) and digest (daily, UTC) jobs to an APScheduler 3 scheduler."""
    hour, minute = parse_clock(digest_at)
    kwargs = {"engine": engine, "smtp": smtp, "actor": actor, "box": box, "policy": policy}
    scheduler.add_job(alert_pass, "interval", seconds=every_seconds, id=IMMEDIATE_JOB, replace_existing=True,
                      kwargs=kwargs, max_instances=1, coalesce=True, next_run_time=datetime.now(timezone.utc))
    scheduler.add_job(alert_pass, "cron", hour=hour, minute=minute, timezone="UTC", id=DIGEST_JOB,
                      replace_existing=True, kwargs={**kwargs, "digest": True}, max_instances=1, coalesce=True)


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
