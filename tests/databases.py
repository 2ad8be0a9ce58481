"""Which database the suite runs on, and throwaway PostgreSQL databases for it.

- Default: each test gets its own SQLite file under `tmp_path` (no server needed).
- `ZHIGU_TEST_DATABASE_URL=postgresql+psycopg://USER@HOST:PORT/DB` (`make test-postgres`): the whole suite runs
  on PostgreSQL. DB is only where the run connects to create its own database, `zhigu_test_<random>`, which is
  dropped at the end, so concurrent runs on one server never meet; each test starts from emptied tables.
- Tests that need PostgreSQL whatever the suite runs on (migrations, several index directories) ask for the
  `postgres_server` fixture: it uses ZHIGU_TEST_DATABASE_URL, else ZHIGU_TEST_POSTGRES_URL, else the local
  server below, and skips with the reason when none answers, unless ZHIGU_TEST_REQUIRE_POSTGRES=1 (CI), which
  turns the skip into a failure.
"""
import os
import subprocess
import sys
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.engine import make_url  # noqa: F401  (conftest uses it)

DEFAULT_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def suite_url() -> str | None:
    """The PostgreSQL server the whole suite runs on, or None for SQLite."""
    return os.environ.get("ZHIGU_TEST_DATABASE_URL") or None


def server_url() -> str:
    """The PostgreSQL server for tests that need one."""
    return suite_url() or os.environ.get("ZHIGU_TEST_POSTGRES_URL") or DEFAULT_SERVER_URL


def postgres_required() -> bool:
    return os.environ.get("ZHIGU_TEST_REQUIRE_POSTGRES", "") not in ("", "0") or suite_url() is not None


class PostgresServer:
    """Creates databases on one server and drops them all at `close()`, at the end of the run.

    Not one by one after each test, nor waiting at the end: DROP DATABASE waits for a checkpoint of the whole
    server, which took 10 to 40 s while the rest of the suite was writing (up to 97 s with other clients).
    """

    def __init__(self, url: str):
        self.url = make_url(url)
        self._admin = create_engine(self.url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
        self.created: list[str] = []

    def unavailable_reason(self) -> str | None:
        """None if the server answers, else why not."""
        try:
            with self._admin.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:  # noqa: BLE001 - any failure means "no server"
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            return f"PostgreSQL not reachable at {self.url.render_as_string(hide_password=True)}: {first_line}"
        return None

    def create_database(self, label: str = "") -> str:
        """Create an empty database and return its URL.

        Its commits do not wait for the server to flush them to disk (as SQLite's in the tests): the tests
        need no durability across a crash of the server, and on a busy disk each wait was milliseconds.
        """
        name = f"zhigu_test_{label + '_' if label else ''}{uuid.uuid4().hex[:12]}"
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
            connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        """Drop the databases, in a process of their own that the run does not wait for."""
        if self.created:
            environment = dict(os.environ, ZHIGU_DROP_FROM=self.url.set(drivername="postgresql")
                               .render_as_string(hide_password=False))
            subprocess.run([sys.executable, "-c", DROP_LATER, *self.created], env=environment, check=False,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.created.clear()
        self._admin.dispose()


#: Drop the databases named in argv from the server at ZHIGU_DROP_FROM, in the background (its parent exits at
#: once): DROP DATABASE waits for a checkpoint of the whole server, which took from seconds to minutes when
#: other clients were writing, at the end of every test process.
DROP_LATER = """
import os, sys
if os.fork():
    os._exit(0)
os.setsid()
import psycopg
for name in sys.argv[1:]:
    try:
        with psycopg.connect(os.environ["ZHIGU_DROP_FROM"], autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.Error:
        pass  # best effort, as before: a database left behind is named zhigu_test_*
"""


def empty_tables(db) -> None:
    """Empty every table of the models and restart their ids, so each test starts as on a new database.

    DELETE, not TRUNCATE: TRUNCATE gives each table new files, which takes a disk's time even for empty
    tables, for every table in every test; deleting a test's few rows does not. The tables are first locked
    as TRUNCATE locks them, so a transaction another connection still has open on them is waited for, not
    emptied around.
    """
    preparer = db.engine.dialect.identifier_preparer
    tables = [preparer.format_table(table) for table in db.metadata.sorted_tables]
    for attempt in range(3):
        try:
            with db.engine.begin() as connection:
                connection.execute(text(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE"))
                for table in reversed(tables):  # rows that refer to others first
                    connection.execute(text(f"DELETE FROM {table}"))
                connection.execute(text(RESTART_SEQUENCES))
            return
        except OperationalError as error:
            # The other transaction locks its tables in another order: PostgreSQL broke the deadlock by failing
            # this one, and the other goes on to its end. Seen once in CI (2026-12-05), from a transaction the
            # previous test's app still had open; which code opened it is not found yet.
            if getattr(error.orig, "sqlstate", None) != DEADLOCK_DETECTED or attempt == 2:
                raise


#: PostgreSQL's SQLSTATE for a transaction it failed to break a deadlock.
DEADLOCK_DETECTED = "40P01"

#: Restart every id sequence of the database's schema (the test run's own database: all are the models').
RESTART_SEQUENCES = """
SELECT setval(format('%I.%I', schemaname, sequencename), start_value, false)
FROM pg_sequences WHERE schemaname = current_schema()
"""
