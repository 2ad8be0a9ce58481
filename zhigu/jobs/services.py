"""Take a periodic job's lease in the database, then run it: one worker per interval across every machine.

Each machine runs its own `zhigu worker` (its own index), but a digest must go out once, not once per
machine. A job runs only in the process that moves its lease's `until` forward: an UPDATE guarded by
`until <= now` (or the INSERT of a job's first lease), which the database lets exactly one transaction win.
"""
import logging
import os
import socket
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhigu.db import now_utc
from zhigu.extensions import db
from zhigu.jobs.models import JobLease
from zhigu.notify import digests, scan

log = logging.getLogger(__name__)

HOLDER = f"{socket.gethostname()}:{os.getpid()}"


def _now() -> datetime:
    """Naive UTC, as the lease's DateTime column stores it on both databases."""
    return now_utc().replace(tzinfo=None)


def claim(name: str, seconds: float, now: datetime | None = None) -> bool:
    """Take the job `name` for `seconds` unless another process holds it; True when this process runs it."""
    now = now or _now()
    until = now + timedelta(seconds=seconds)
    with Session(db.engine) as session, session.begin():
        lease = session.get(JobLease, name)
        if lease is not None:  # a plain read first: the worker asks every poll, mostly while it is held
            return lease.until <= now and session.execute(
                update(JobLease).where(JobLease.name == name, JobLease.until <= now)
                .values(until=until, holder=HOLDER)).rowcount == 1
    try:
        with Session(db.engine) as session, session.begin():
            session.add(JobLease(name=name, holder=HOLDER, until=until))
    except IntegrityError:
        return False  # the lease exists and is held, or another process inserted it first
    return True


def periodic_jobs() -> dict[str, tuple[float, Callable[[], object]]]:
    """Job name -> (interval in seconds from the config, what to run); an interval of 0 turns a job off."""
    config = current_app.config
    jobs = {
        "notify-scan": (float(config["NOTIFY_SCAN_INTERVAL"]), scan.scan_new_cases),
        "digests": (float(config["DIGEST_INTERVAL"]), digests.send_digests),
    }
    return {name: job for name, job in jobs.items() if job[0] > 0}


def run_due_jobs(now: datetime | None = None) -> dict[str, object]:
    """Run each periodic job whose lease this process wins; returns what each job that ran returned."""
    ran = {}
    for name, (interval, job) in periodic_jobs().items():
        if not claim(name, interval, now):
            continue
        try:
            ran[name] = job()
        except Exception:
            db.session.rollback()
            log.exception("Periodic job %s failed; it runs again after its interval", name)
        else:
            log.info("Periodic job %s done: %s", name, ran[name])
    return ran
