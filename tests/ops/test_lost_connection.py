"""A database connection lost mid-request: a clean 503, nothing half-written, and the next request works.

On PostgreSQL the connection is really lost: another connection terminates the request's backend
(pg_terminate_backend) just before the chosen statement or the COMMIT reaches it. SQLite has no connection to
lose; there the driver raises the error a failing disk gives (sqlite3.OperationalError) at the same points.
"""
import re
import sqlite3
import time

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.pool import NullPool

from helpers import case_data
from ops_helpers import dump_tables
from zhigu import create_app
from zhigu.archive.models import FailureCase
from zhigu.extensions import db

TITLE = "Hydroponic farm that lost its database"
UNAVAILABLE_EN = "The archive is not available just now. Try again in a moment."
UNAVAILABLE_ZH = "案例库暂时无法访问，请稍后再试。"


class LostConnection:
    """Loses the request's database connection at the first statement starting with `point` (or at COMMIT)."""

    def __init__(self, app, monkeypatch):
        with app.app_context():
            self.engine = db.engine
        self.postgres = self.engine.dialect.name == "postgresql"
        self.admin = (create_engine(app.config["DATABASE_URL"], poolclass=NullPool, isolation_level="AUTOCOMMIT")
                      if self.postgres else None)
        self.point: str | None = None
        self.fired: list[str] = []
        event.listen(self.engine, "do_execute", self._on_execute)
        event.listen(self.engine, "do_executemany", self._on_execute)
        real_commit = self.engine.dialect.do_commit

        def do_commit(dbapi_connection):
            if self.point == "COMMIT":
                self._lose(dbapi_connection, "COMMIT")
            return real_commit(dbapi_connection)

        monkeypatch.setattr(self.engine.dialect, "do_commit", do_commit)

    def arm(self, point: str) -> None:
        self.point, self.fired = point, []

    def _on_execute(self, cursor, statement, parameters, context):
        if self.point and self.point != "COMMIT" and re.match(re.escape(self.point), statement.strip()):
            self._lose(cursor.connection, statement)
        return False  # the driver runs the statement (on PostgreSQL, on a connection that is gone)

    def _lose(self, dbapi_connection, what: str) -> None:
        self.point = None  # once
        self.fired.append(what)
        if not self.postgres:
            raise sqlite3.OperationalError("disk I/O error")
        raw = getattr(dbapi_connection, "dbapi_connection", dbapi_connection)  # do_commit gets the pool's proxy
        pid = raw.info.backend_pid
        with self.admin.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            deadline = time.monotonic() + 10
            while admin.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}):
                assert time.monotonic() < deadline, "the backend did not go away"
                time.sleep(0.01)

    def close(self) -> None:
        event.remove(self.engine, "do_execute", self._on_execute)
        event.remove(self.engine, "do_executemany", self._on_execute)
        if self.admin is not None:
            self.admin.dispose()


@pytest.fixture
def lost(app, monkeypatch):
    fault = LostConnection(app, monkeypatch)
    yield fault
    fault.close()


@pytest.fixture
def curator(make_park, make_user):
    return make_user("curator", make_park())


@pytest.fixture
def send(client, auth, api_as, curator):
    """`send(kind, method, path, data)`: as the curator, through the HTML form or the JSON API."""
    auth.login(curator)
    api = api_as(curator)

    def send(kind, method, path, data, **kwargs):
        if kind == "html":
            return client.open(path, method=method, data=data, **kwargs)
        return api.open(f"/api/v1{path}", method=method, json=data, **kwargs)

    return send


def snapshot(app) -> dict:
    with app.app_context():
        return dump_tables(exclude=("api_token",))  # a token's last use is stamped before the use case runs


def assert_clean_503(response, kind, message=UNAVAILABLE_EN):
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    if kind == "json":
        assert response.is_json and response.get_json() == {"error": message, "code": 503}
    else:
        body = response.get_data(as_text=True)
        assert response.mimetype == "text/html"
        assert message in body
        assert "Traceback" not in body and "OperationalError" not in body


def index_is_clean(app) -> bool:
    with app.app_context():
        return app.extensions["zhigu.search"].check() == {"missing": [], "stale": [], "extra": []}


@pytest.mark.parametrize("point", ["INSERT INTO failure_case", "INSERT INTO case_cause", "INSERT INTO search_outbox",
                                   "COMMIT"])
@pytest.mark.parametrize("kind", ["html", "json"])
def test_losing_the_database_while_filing_a_case_writes_nothing_and_answers_503(app, lost, send, kind, point):
    form = {**case_data(title=TITLE), "action": "publish"}
    before = snapshot(app)

    lost.arm(point)
    response = send(kind, "POST", "/cases/new" if kind == "html" else "/cases", form)

    assert lost.fired, f"no statement matched {point!r}"
    assert_clean_503(response, kind)
    assert snapshot(app) == before  # no case, cause, revision, outbox row or notification: nothing at all

    again = send(kind, "POST", "/cases/new" if kind == "html" else "/cases", form)

    assert again.status_code == (302 if kind == "html" else 201), again.get_data(as_text=True)[:500]
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(FailureCase.title == TITLE)) == 1
    assert index_is_clean(app)


@pytest.mark.parametrize("point", ["UPDATE failure_case", "INSERT INTO case_revision", "INSERT INTO search_outbox",
                                   "COMMIT"])
@pytest.mark.parametrize("kind", ["html", "json"])
def test_losing_the_database_while_editing_a_case_leaves_it_as_it_was(app, lost, send, make_case, curator, kind,
                                                                      point):
    case = make_case(curator, title="Hydroponic farm in Dubai")
    edit = case_data(title=TITLE) if kind == "html" else {"title": TITLE}
    path = f"/cases/{case.id}/edit" if kind == "html" else f"/cases/{case.id}"
    method = "POST" if kind == "html" else "PATCH"
    before = snapshot(app)

    lost.arm(point)
    response = send(kind, method, path, edit)

    assert lost.fired, f"no statement matched {point!r}"
    assert_clean_503(response, kind)
    assert snapshot(app) == before  # same title, no revision, no outbox row

    again = send(kind, method, path, edit)

    assert again.status_code == (302 if kind == "html" else 200), again.get_data(as_text=True)[:500]
    with app.app_context():
        stored = db.session.get(FailureCase, case.id)
        assert stored.title == TITLE and [r.action for r in stored.revisions] == ["edit"]
    assert index_is_clean(app)


def test_the_503_page_is_in_the_readers_language(app, lost, send):
    lost.arm("INSERT INTO failure_case")
    response = send("html", "POST", "/cases/new", {**case_data(title=TITLE), "action": "publish"},
                    headers={"Accept-Language": "zh-CN,zh;q=0.9"})

    assert_clean_503(response, "html", UNAVAILABLE_ZH)
    assert 'lang="zh-Hans"' in response.get_data(as_text=True)


@pytest.mark.parametrize("kind", ["html", "json"])
def test_a_database_that_is_down_gives_a_503_page_without_touching_it_again(tmp_path, kind):
    down = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/no-such-directory/zhigu.sqlite",
                       "INDEX_DIR": str(tmp_path / "index"), "TESTING": True, "SECRET_KEY": "test"})
    client = down.test_client()

    response = client.get("/" if kind == "html" else "/api/v1/cases/1")

    assert_clean_503(response, kind)
    with down.app_context():
        db.engine.dispose()


def test_a_pooled_connection_that_died_while_idle_is_replaced(app, send, make_case, curator):
    """pool_pre_ping: a database restart between two requests costs the next request nothing."""
    if not app.config["DATABASE_URL"].startswith("postgresql"):
        pytest.skip("SQLite connections cannot die while idle (runs with make test-postgres)")
    case = make_case(curator)
    assert send("json", "GET", f"/cases/{case.id}", None).status_code == 200  # the pool now holds a connection
    admin = create_engine(app.config["DATABASE_URL"], poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            killed = connection.scalar(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        assert killed >= 1
    finally:
        admin.dispose()

    assert send("json", "GET", f"/cases/{case.id}", None).status_code == 200
