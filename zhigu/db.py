"""Declarative base, time helpers shared by every model, the UTC session they rely on, and bulk writes' GC pause."""
import gc
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

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
