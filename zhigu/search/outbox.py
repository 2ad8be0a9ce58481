"""Durable index updates: an outbox in the database, applied to each index directory by one writer at a time.

Writing. The session hooks (zhigu.search.hooks) insert one `search_outbox` row per changed case in the same
transaction as the change, so a committed change always has its row and a rolled-back one never does.
On PostgreSQL the first such insert of a transaction takes a transaction-level advisory lock, so
transactions that change cases commit one after another and outbox ids become visible in increasing order:
a reader that has seen id N will never later see a smaller id appear. (SQLite serializes all writers anyway.)
Ids skipped by rolled-back transactions stay unused forever.

Applying. `drain()` takes the directory's `outbox.lock` (an flock, released if the process dies), reads the
last applied id from the directory's `applied-change` file, re-indexes the cases of every later row in one
Whoosh writer, commits it, then records the new last id (written to a temporary file and renamed into
place). A crash anywhere before that rename leaves the old id, so the batch is applied again on restart:
re-indexing a case is idempotent. Each index directory has its own file, so several machines, each with
its own index and `zhigu worker`, follow the same log independently. `rebuild()` rewrites the whole index
(zhigu.search.rebuild) under the same lock and records the log's end as the position; the index itself
(zhigu.search.index) knows neither the lock nor the position.

The web process drains after its own commits with a short lock wait (`INDEX_INLINE_DRAIN_TIMEOUT`); if
another process holds the lock it never fails the request: its catch-up thread retries with backoff, and
each process checks on its first request, then at most once per `INDEX_POLL_INTERVAL`, whether the index
is behind the outbox (zhigu.search.catchup), so rows left by a busy index or a crash are applied within
seconds even without `zhigu worker`. `zhigu worker` drains every `INDEX_POLL_INTERVAL` seconds and
rebuilds a directory that is missing, unreadable or has lost its `applied-change` file. With
`INDEX_INLINE_DRAIN` off (the sample gunicorn.conf.py) only the worker drains, all of a second's changes in
one commit; a web process steps in only for rows older than `INDEX_WORKER_GRACE`.

Pruning. Applied rows would otherwise pile up forever, but the database cannot know every machine's
position (each is a file in that machine's index directory). `prune()` deletes rows older than
`OUTBOX_RETENTION` seconds that the calling machine's index has applied, and turns the newest of them into
a marker (case id 0) instead of deleting it: every row below the marker is gone. A directory whose position
is below a marker has missed changes, whatever gaps the ids have; `drain()` sees the marker as the first row
after its position (rows are read in id order, each query sees the cut whole or not at all) and rebuilds the
index instead. So a machine that stays off longer than the retention period rebuilds when it comes back.

Restores. A restore replaces the whole database, log included: `snapshot()` before it and
`requeue_every_case()` after it queue every case of both databases after every id either handed out.
"""
import fcntl
import logging
import os
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from blinker import Namespace
from sqlalchemy import delete, func, inspect, select, text, update
from sqlalchemy.orm import Session

from zhigu.archive.models import FailureCase
from zhigu.db import now_utc
from zhigu.extensions import db
from zhigu.search.models import IndexChange
from zhigu.search.rebuild import rewrite_index

_signals = Namespace()
#: Sent with `case_ids` after a drain applied changes of those cases to `index` (the sender), `reranked_ids`,
#: those of them with a change besides their comments, and `moved_ids`, those of these with a change besides
#: text only their own "find similar" reads: what is derived from the index or the cases' texts
#: (zhigu.search.neighbours, zhigu.search.dense) follows, without the outbox knowing of it.
index_changed = _signals.signal("search-index-changed")
#: Sent after `index` (the sender) was rewritten from the database.
index_rebuilt = _signals.signal("search-index-rebuilt")

log = logging.getLogger(__name__)

APPLIED_FILE = "applied-change"
LOCK_FILE = "outbox.lock"
#: Arbitrary key of the PostgreSQL advisory lock that orders outbox writers (ASCII "zhigu").
ADVISORY_LOCK_KEY = 0x7A68696775
#: Session.info key: this transaction already holds the advisory lock.
LOCKED = "zhigu.search.outbox_locked"
#: Outbox rows applied in one index commit: every commit writes a segment, and small segments are merged
#: again later (a 10,000-case import drained 17% faster in one commit than in five; bench/README.md).
BATCH = 20_000
#: case_id of the row `prune()` leaves in place of the newest row it removed (no case has id 0).
PRUNED = 0
#: Rows written at once when a restore queues every case (requeue_every_case).
REQUEUE_CHUNK = 2000


class Busy(Exception):
    """Another process is applying the outbox to this directory."""


def record_changes(session, case_ids, comments_only=frozenset(), own_text_only=frozenset()) -> None:
    """Insert outbox rows for `case_ids` on the session's current transaction (call from after_flush); those
    in `comments_only` changed only in their comments, those in `own_text_only` only in text that only their own
    "find similar" reads (see IndexChange)."""
    rows = [{"case_id": int(i), "comments_only": i in comments_only, "own_text_only": i in own_text_only}
            for i in sorted(set(case_ids))]
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql" and not session.info.get(LOCKED):
        _order_writers(connection)
        session.info[LOCKED] = True
    connection.execute(IndexChange.__table__.insert(), rows)


def _order_writers(connection) -> None:
    """Take the transaction-level advisory lock that makes outbox ids visible in increasing order."""
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


def forget_lock(session) -> None:
    """The transaction ended: the advisory lock went with it."""
    session.info.pop(LOCKED, None)


# -- the index directory's position in the log -------------------------------------------------------------

def applied_change(directory: Path) -> int | None:
    """The last outbox id applied to the index in `directory`, or None if it has no record."""
    try:
        return int((Path(directory) / APPLIED_FILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def write_applied_change(directory: Path, change_id: int) -> None:
    directory = Path(directory)
    tmp = directory / f".{APPLIED_FILE}.{os.getpid()}"
    with open(tmp, "w") as out:
        out.write(f"{change_id}\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, directory / APPLIED_FILE)


@contextmanager
def directory_lock(directory: Path, timeout: float):
    """Hold the directory's outbox lock, waiting up to `timeout` seconds; raise Busy if it stays taken."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Busy(str(directory)) from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # releases the flock


def last_change_id(bind) -> int:
    """The newest outbox id, 0 when the log is empty."""
    with Session(bind) as session:
        return session.scalar(select(func.coalesce(func.max(IndexChange.id), 0)))


def pending_count(bind, directory: Path, older_than: float = 0) -> int:
    """Outbox rows not yet applied to `directory` (all of them when it has no record yet); with `older_than`,
    only those written more than that many seconds ago."""
    applied = applied_change(directory) or 0
    query = select(func.count()).select_from(IndexChange).where(IndexChange.id > applied)
    if older_than:
        query = query.where(IndexChange.created_at < now_utc() - timedelta(seconds=older_than))
    with Session(bind) as session:
        return session.scalar(query)


def pending_case_ids(bind, directory: Path) -> set[int] | None:
    """Cases of the outbox rows not yet applied to `directory`; None when it has no position or is behind
    a pruned cut (then any of its documents may be stale)."""
    applied = applied_change(directory)
    if applied is None:
        return None
    with Session(bind) as session:
        ids = set(session.scalars(select(IndexChange.case_id).where(IndexChange.id > applied).distinct()))
    return None if PRUNED in ids else ids


def unsettled_case_ids(bind, directory: Path) -> set[int] | None:
    """Cases whose documents may not match the database yet (pending_case_ids), never raising.

    Call it *before* taking the searcher: a drain finishing in between then only makes the set larger than
    needed. On a database error the answer is None, as when any document may be stale.
    """
    try:
        return pending_case_ids(bind, directory)
    except Exception:  # noqa: BLE001 - the caller then re-checks every document instead
        log.warning("Could not read the search outbox; treating every document as unsettled", exc_info=True)
        return None


# -- applying -----------------------------------------------------------------------------------------------

def rebuild(index, bind=None, progress=None, processes: int = 1) -> int:
    """Rewrite the whole index from the database (zhigu.search.rebuild) under the directory's lock, and
    position it on the outbox; searchers see the old index until the commit. Returns the cases written."""
    with directory_lock(index.directory, index.writer_timeout):
        return rebuild_locked(index, bind, progress, processes)


def rebuild_locked(index, bind=None, progress=None, processes: int = 1) -> int:
    """`rebuild` for a caller that holds the directory's lock; a missing or unreadable index is recreated first.

    The position is read before the cases: a change committed later is applied again by the next drain.
    """
    bind = bind or db.engine
    index.reset_if_unreadable(keep=(LOCK_FILE,))
    last_change = last_change_id(bind)
    count = rewrite_index(index, bind, progress, processes)
    index_rebuilt.send(index)
    write_applied_change(index.directory, last_change)
    return count


def drain(index, bind=None, timeout: float | None = None, batch: int = BATCH, after_batch=None) -> int:
    """Apply every outbox row newer than the directory's record to the index; return how many were applied.

    :raise Busy: another process holds the directory's lock for longer than `timeout` (INDEX_WRITER_TIMEOUT
        by default); Whoosh's writer lock is waited for as long (at most INDEX_WRITER_TIMEOUT), then LockError.
    Raises on a database or index failure, leaving the record where it was (the rows are applied again).
    """
    bind = bind or db.engine
    timeout = index.writer_timeout if timeout is None else timeout
    applied_cases: set[int] = set()
    reranked: set[int] = set()
    moved: set[int] = set()
    try:
        with directory_lock(index.directory, timeout):
            return _drain_locked(index, bind, timeout, batch, after_batch, applied_cases, reranked, moved)
    finally:
        if applied_cases:
            index_changed.send(index, case_ids=applied_cases, reranked_ids=reranked, moved_ids=moved)


def _drain_locked(index, bind, timeout, batch: int, after_batch, applied_cases: set[int],
                  reranked: set[int], moved: set[int]) -> int:
    """`drain` under the directory's lock; adds the ids of the cases it applied to `applied_cases`, of those
    with a change besides their comments to `reranked`, and of those with a change besides their own text to
    `moved`."""
    applied_total = 0
    applied = applied_change(index.directory)
    if applied is None:
        # no record: the index may be missing changes of unknown age
        rebuild_locked(index, bind)
        return 0
    while True:
        with Session(bind) as session:
            rows = session.execute(select(IndexChange.id, IndexChange.case_id, IndexChange.comments_only,
                                          IndexChange.own_text_only)
                                   .where(IndexChange.id > applied).order_by(IndexChange.id)
                                   .limit(batch)).all()
        if not rows:
            return applied_total
        if any(case_id == PRUNED for _, case_id, _, _ in rows):
            # rows after this directory's position were pruned: its changes since then are unknown
            log.warning("Search index at %s is behind the pruned outbox (position %d): rebuilding",
                        index.directory, applied)
            rebuild_locked(index, bind)
            return applied_total
        changed = {case_id for _, case_id, _, _ in rows}
        if not index.update_cases(changed, bind=bind, raise_errors=True, timeout=timeout):
            return applied_total
        applied_cases |= changed
        reranked.update(case_id for _, case_id, comments_only, _ in rows if not comments_only)
        moved.update(case_id for _, case_id, comments_only, own_text in rows if not comments_only and not own_text)
        if after_batch:
            after_batch(rows)  # tests: die here, after the index commit and before the record
        applied = rows[-1][0]
        write_applied_change(index.directory, applied)
        applied_total += len(rows)


def prune(bind, directory: Path, retention: float | timedelta) -> int:
    """Delete outbox rows older than `retention` (seconds) that the index in `directory` has applied.

    The newest such row stays as the cut's marker (see the module docstring). Returns how many rows were
    deleted; none while the directory has no position. Safe to run from several machines at once.
    """
    applied = applied_change(directory)
    if applied is None:
        return 0
    if not isinstance(retention, timedelta):
        retention = timedelta(seconds=float(retention))
    with Session(bind) as session, session.begin():
        newest = session.scalar(select(func.max(IndexChange.id))
                                .where(IndexChange.id <= applied, IndexChange.created_at < now_utc() - retention))
        if newest is None:
            return 0
        deleted = session.execute(delete(IndexChange).where(IndexChange.id < newest)).rowcount
        session.execute(update(IndexChange).where(IndexChange.id == newest).values(case_id=PRUNED))
    return deleted


# -- restores -----------------------------------------------------------------------------------------------

def snapshot(bind) -> tuple[int, set[int]]:
    """The last outbox id the database handed out and its case ids (nothing for a new database): what
    `requeue_every_case` needs once a restore has replaced the database."""
    present = set(inspect(bind).get_table_names())
    last, ids = 0, set()
    with Session(bind) as session:
        if IndexChange.__tablename__ in present:
            last = last_change_id(bind)
        if FailureCase.__tablename__ in present:
            ids = set(session.scalars(select(FailureCase.id)))
    return int(last), ids


def requeue_every_case(bind, before: tuple[int, set[int]]) -> int:
    """Write outbox rows for every case of the old (`before`: snapshot) and the restored database, after
    every id either used; return how many.

    Another machine's index is positioned somewhere in the old database's log, possibly past the restored
    log's end; rows with larger ids reach it wherever it stands, and re-indexing each case (or removing it,
    when the restored database has no such row) makes it match the restored database.
    """
    old_last_change, old_case_ids = before
    table = IndexChange.__table__
    with bind.begin() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:  # ordered with the web processes' outbox writers
            _order_writers(connection)
        restored_last = connection.scalar(select(func.coalesce(func.max(table.c.id), 0)))
        case_ids = sorted(old_case_ids | set(connection.scalars(select(FailureCase.id))))
        next_id = max(old_last_change, restored_last) + 1
        for start in range(0, len(case_ids), REQUEUE_CHUNK):
            chunk = case_ids[start:start + REQUEUE_CHUNK]
            connection.execute(table.insert(), [{"id": next_id + offset, "case_id": case_id}
                                                for offset, case_id in enumerate(chunk, start=start)])
        if postgres:
            last = next_id + len(case_ids) - 1
            connection.execute(text("SELECT setval(pg_get_serial_sequence('search_outbox', 'id'), :last)"),
                               {"last": max(last, 1)})
    return len(case_ids)
