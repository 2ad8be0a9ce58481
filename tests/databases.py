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
import uuid

from sqlalchemy import create_engine, text
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

    Not one by one after each test: DROP DATABASE waits for a checkpoint of the whole server, which took 10 to
    40 s while the rest of the suite was writing.
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
        """Create an empty database and return its URL."""
        name = f"zhigu_test_{label + '_' if label else ''}{uuid.uuid4().hex[:12]}"
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        for name in list(self.created):
            try:
                with self._admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            except Exception:  # noqa: BLE001 - best effort at the end of the run
                pass
        self.created.clear()
        self._admin.dispose()


def empty_tables(db) -> None:
    """Empty every table of the models and restart their ids, so each test starts as on a new database."""
    preparer = db.engine.dialect.identifier_preparer
    names = ", ".join(preparer.format_table(table) for table in db.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
