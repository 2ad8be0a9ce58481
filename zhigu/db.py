"""Declarative base, time helpers shared by every model, the UTC session they rely on, and what bulk writes need
(a GC pause, fresh planner statistics)."""
import gc
import logging
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlalchemy import MetaData, text
from sqlalchemy.orm import DeclarativeBase

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def now_utc() -> datetime:
    """Return the current time, timezone-aware, for column defaults."""
    return datetime.now(timezone.utc)


def utc_session(dbapi_connection, _record) -> None:
    """Every PostgreSQL session in UTC: columns hold naive UTC, and a session in the server's or PGTZ's zone
    would shift each timezone-aware value written and read (digests due hours late or early)."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True  # a SET in a transaction that rolls back would be undone
    dbapi_connection.execute("SET TIME ZONE 'UTC'")
    dbapi_connection.autocommit = autocommit


@contextmanager
def cyclic_gc_paused():
    """Pause Python's cyclic garbage collector while a bulk write builds objects that all stay alive.

    Each automatic collection traverses every tracked object, the session's thousands of pending rows
    included, and frees none of them: a fifth of an import's CPU (bench/import_speed.py). A nested use
    changes nothing; when the outermost ends the collector runs again as usual.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class SQLiteOptimizer:
    """A pool `checkin` listener that runs SQLite's `PRAGMA optimize` on a connection handed back to the pool, at
    most once every `interval` seconds per process.

    SQLite keeps no planner statistics until ANALYZE runs. `zhigu archive import` runs it, but an archive that
    grows through the web never did: without statistics, the trends page sorted all 100,000 cases in scope to
    find the newest (93 ms) instead of reading the end of an index (0.2 ms). `PRAGMA optimize` analyses the
    tables whose indexes this connection's queries used and that are unanalysed or grew 25-fold since; it does
    nothing, in microseconds, when none did. analysis_limit bounds each ANALYZE to a sample of every index, and
    a database another connection is writing is left for the next time rather than waited for.
    """

    #: Rows of each index ANALYZE reads (a sample; SQLite's suggested range is 100-1000).
    ANALYSIS_LIMIT = 1000

    def __init__(self, interval: float):
        self.interval = interval
        self._next = time.monotonic() + interval
        self._lock = threading.Lock()

    def __call__(self, dbapi_connection, _record) -> None:
        if dbapi_connection is None:  # invalidated on its way back
            return
        with self._lock:
            if time.monotonic() < self._next:
                return
            self._next = time.monotonic() + self.interval
        cursor = dbapi_connection.cursor()
        try:
            waited = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
            cursor.execute("PRAGMA busy_timeout = 0")
            try:
                cursor.execute(f"PRAGMA analysis_limit = {self.ANALYSIS_LIMIT}")
                cursor.execute("PRAGMA optimize")
            finally:
                cursor.execute(f"PRAGMA busy_timeout = {int(waited)}")
        except sqlite3.OperationalError as error:  # busy: another connection writes; next time
            log.info("PRAGMA optimize skipped: %s", error)
        finally:
            cursor.close()


def refresh_planner_statistics(session, *models) -> None:
    """After a bulk write, have the planner count the models' tables again (ANALYZE).

    The planner picks its plans by each table's statistics, which PostgreSQL's autovacuum refreshes a minute or more
    after a change, and never where it is turned off. Right after `zhigu search neighbours` had stored 10,000
    lists, it took `status = 'published'` for one row and read a case's stored nearest cases by walking every
    case: 36 ms a case page instead of 0.3 ms (bench/README.md). SQLite keeps no statistics until it is told to:
    without them, the trends page's newest cases were sorted out of all 100,000 in scope (93 ms) instead of read
    from the end of the publication date's index (0.2 ms). The caller commits.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text(f"ANALYZE {', '.join(model.__table__.name for model in models)}"))
    elif dialect == "sqlite":
        for model in models:
            session.execute(text(f"ANALYZE {model.__table__.name}"))


def for_this_database(connection):
    """An alembic `include_object` that leaves out the models' objects meant for another database (`ddl_if`):
    a table may hold two indexes of one name, one for SQLite and one for PostgreSQL."""
    dialect = connection.dialect.name

    def include(obj, name, type_, reflected, compare_to) -> bool:
        meant = getattr(obj, "_ddl_if", None)
        return reflected or meant is None or meant.dialect in (None, dialect)

    return include
