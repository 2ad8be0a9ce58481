"""`zhigu worker`: apply the search outbox to this machine's index, and repair the index when it breaks.

Run one per index directory (one per machine); a second one on the same directory just waits its turn on
the directory's lock. Killing it at any moment loses nothing: the next start applies what was left.
Every OUTBOX_PRUNE_INTERVAL seconds it also prunes outbox rows older than OUTBOX_RETENTION that this
machine has applied (zhigu.search.outbox.prune), embeds the cases lacking a vector (multilingual extra) and
stores the nearest cases of up to WORKER_BATCH cases whose list is not computed or pending
(zhigu.search.neighbours.missing), both for about WORK_SECONDS a poll, so changes wait at most that long besides
the poll interval, and it runs the periodic jobs (notification scans every
NOTIFY_SCAN_INTERVAL, e-mail digests every DIGEST_INTERVAL) when its machine wins their lease in the
database (zhigu.jobs), so each runs once per interval however many workers there are. After its first pass
it warms the search up, once, as a gunicorn worker does before it serves (zhigu.search.warmup). A missing
index or a lost outbox position is repaired at the next poll; a damaged index once the worker reads it whole,
which it does when it starts, after a failed pass and every READ_CHECK_INTERVAL seconds.
"""
import logging
import signal
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from zhigu.extensions import db
from zhigu.jobs import services as jobs
from zhigu.search import dense, neighbours, outbox, warmup
from zhigu.search.index import current_index

log = logging.getLogger(__name__)


#: Seconds between two reads of the whole index (SearchIndex.readable: every stored document) while the worker
#: runs; it also reads it when it starts and after a pass failed. Read every poll, it was 8% of the worker's CPU
#: at 10,000 cases under bench/load.py, and at 100,000 cases about a second of every second.
READ_CHECK_INTERVAL = 60.0


def run_once(index, bind, read_check: bool = True) -> int:
    """Rebuild a missing, unpositioned or (when `read_check`) unreadable index, then apply the outbox; return
    rows applied."""
    if outbox.applied_change(index.directory) is None or read_check and not index.readable():
        log.warning("Search index at %s is missing, unreadable or has no outbox position: rebuilding",
                    index.directory)
        count = outbox.rebuild(index, bind)
        log.info("Rebuilt the search index at %s: %d case(s)", index.directory, count)
    return outbox.drain(index, bind)


#: Outbox position no database has: the worker's first pass embeds whatever is missing.
FIRST_PASS = -1
#: Seconds a poll spends embedding, then computing nearest-case lists, before it applies the outbox again. An
#: archive imported with the multilingual extra kept the worker embedding its 10,000 cases for minutes, the
#: edits made meanwhile unsearched (bench/load.py's check failed after 60 s).
WORK_SECONDS = 1.0


def embed_changed(seen: int | None, deadline: float | None = None) -> int | None:
    """With the multilingual extra, embed the cases lacking a vector when the outbox moved past `seen` (the
    web processes apply most changes themselves): after the index, so a new text is found by its words
    first. Returns the outbox position now seen: still `seen` when the `time.monotonic()` `deadline` came
    first, so that the next poll goes on after applying the outbox."""
    if not dense.enabled():
        return seen
    position = dense.outbox_position()
    if position != seen:
        embedded = dense.embed_backlog(deadline=deadline)
        if embedded:
            log.info("Embedded %d case(s)", embedded)
        if deadline is not None and time.monotonic() >= deadline:
            return seen
    return position


@click.command("worker")
@click.option("--once", is_flag=True, help="Apply what is pending, then exit.")
@click.option("--interval", type=float, default=None, help="Seconds between polls (INDEX_POLL_INTERVAL).")
@with_appcontext
def worker_command(once: bool, interval: float | None):
    """Keep this machine's search index up to date with the database's change log."""
    index = current_index()
    current_app.config["EMBED_AT_DRAIN"] = 0  # it embeds every missing vector itself, below
    current_app.config["NEIGHBOURS_PENDING_AT_DRAIN"] = False  # and computes the pending lists first, below
    interval = interval if interval is not None else float(current_app.config["INDEX_POLL_INTERVAL"])
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    click.echo(f"zhigu worker: index {index.directory}, polling every {interval:g} s")
    pruned_at = read_at = None
    embedded_at = FIRST_PASS
    warm = False
    while True:
        more_work = False
        try:
            read_check = read_at is None or time.monotonic() - read_at >= READ_CHECK_INTERVAL
            applied = run_once(index, db.engine, read_check)
            if read_check:
                read_at = time.monotonic()
            if applied:
                log.info("Applied %d outbox change(s) to %s", applied, index.directory)
            if not once and not warm:  # once per process, on the index the first pass made sure of
                warmup.prepare_to_serve(current_app._get_current_object())
                warm = True
            deadline = None if once else time.monotonic() + WORK_SECONDS
            embedded_at = embed_changed(embedded_at, deadline)
            # after the embedding: a list computed before its case's vector is dropped when the vector is stored
            stored = neighbours.compute_missing(neighbours.WORKER_BATCH, deadline=deadline)
            if stored:
                log.info("Stored the nearest cases of %d case(s)", stored)
            more_work = deadline is not None and time.monotonic() >= deadline
            if pruned_at is None or time.monotonic() - pruned_at >= float(current_app.config["OUTBOX_PRUNE_INTERVAL"]):
                pruned_at = time.monotonic()
                pruned = outbox.prune(db.engine, index.directory, current_app.config["OUTBOX_RETENTION"])
                if pruned:
                    log.info("Pruned %d applied outbox row(s)", pruned)
            jobs.run_due_jobs()
        except outbox.Busy:
            log.debug("Index %s busy; retrying", index.directory)
        except Exception:
            log.exception("zhigu worker: applying the outbox failed; retrying")
            read_at = None  # the next pass reads the whole index first
            if once:
                raise SystemExit(1)
        if once or stopping:
            return
        if not more_work:  # with vectors or lists left, the next pass starts at once (outbox first)
            time.sleep(interval)
