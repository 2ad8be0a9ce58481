"""Every committed change reaches the index within seconds, even when the index was busy or the writer died.

And while a document is stale, searches never count a case the viewer may no longer open.
"""
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from whoosh.query import And, Term

from helpers import ROOT, case_data, close_app, in_app
from zhigu import create_app
from zhigu.archive import services
from zhigu.archive.models import FailureCase
from zhigu.auth.models import User
from zhigu.db import now_utc
from zhigu.extensions import db
from zhigu.search import catchup, outbox
from zhigu.search.models import IndexChange
from zhigu.search.services import search_cases

CLEAN = {"missing": [], "stale": [], "extra": []}


def check(app) -> dict:
    with in_app(app):
        return app.extensions["zhigu.search"].check()


def indexed_as_public(app, case_id: int) -> bool:
    """Whether the index still holds the case's document as one everybody may see."""
    with in_app(app):
        searcher = app.extensions["zhigu.search"].searcher()
        return len(searcher.search(And([Term("id", str(case_id)), Term("allowed", "public")]), limit=None)) > 0


def wait_until(condition, seconds: float = 20.0) -> float:
    """Poll `condition` until it holds; return how long that took, or fail after `seconds`."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < seconds, f"not within {seconds} s"
        time.sleep(0.1)
    return time.monotonic() - start


def other_app(app):
    """The same database and index directory, as another process would open them."""
    return create_app({key: app.config[key] for key in ("DATABASE_URL", "INDEX_DIR", "SECRET_KEY", "TESTING")})


@contextmanager
def index_busy(app, lock: str):
    """Hold the index directory's outbox lock, or Whoosh's own writer lock, as a busy process would."""
    if lock == "outbox lock":
        with outbox.directory_lock(app.extensions["zhigu.search"].directory, 1):
            yield
        return
    other = other_app(app)
    held = other.extensions["zhigu.search"].writer()
    try:
        yield
    finally:
        held.cancel()
        close_app(other)


def market_counts(page: dict) -> dict:
    return {facet["value"]: facet["count"] for facet in page["facets"].get("market", [])}


@pytest.fixture
def author(app, make_park, make_user):
    return make_user("curator", make_park())


@pytest.mark.parametrize("lock", ["outbox lock", "whoosh writer lock"])
def test_a_change_made_while_the_index_is_busy_reaches_it_without_another_write(app, api_as, author, make_case,
                                                                                  lock):
    app.config["INDEX_INLINE_DRAIN_TIMEOUT"] = 0.2
    case = make_case(author, title="Hydroponic farm in Dubai", target_markets=["AE"])
    visitor, owner = api_as(None), api_as(author)
    assert visitor.get("/api/v1/cases?q=hydroponic").get_json()["total"] == 1
    index = app.extensions["zhigu.search"]

    with index_busy(app, lock):
        started = time.monotonic()
        response = owner.patch(f"/api/v1/cases/{case.id}", json={"visibility": "private"})
        assert response.status_code == 200, response.get_json()
        assert time.monotonic() - started < 10  # the request does not wait for the busy index
        assert indexed_as_public(app, case.id)  # the index could not be written
        # ... and yet a visitor's search counts nothing it cannot show, in the total or the facets
        page = visitor.get("/api/v1/cases?q=hydroponic").get_json()
        assert (page["total"], page["results"], page["pages"]) == (0, [], 1)
        assert "AE" not in market_counts(page)
        page = visitor.get("/api/v1/cases").get_json()
        assert page["total"] == 0 and "AE" not in market_counts(page)
        # its author may still see it: counted and shown
        page = owner.get("/api/v1/cases?q=hydroponic").get_json()
        assert page["total"] == 1 and [r["id"] for r in page["results"]] == [case.id]
        assert market_counts(page) == {"AE": 1}

    # the lock is free again; nobody writes: the change still reaches the index within seconds
    wait_until(lambda: not indexed_as_public(app, case.id), 20)
    assert check(app) == CLEAN
    assert app.extensions[catchup.EXTENSION].join(10)
    with in_app(app):
        assert outbox.pending_count(db.engine, index.directory) == 0


def test_search_counts_no_stale_document_of_a_case_the_viewer_may_not_open(app, author, make_park, make_user,
                                                                            make_case):
    """The index is behind (only `zhigu worker` writes it here): totals and facets come from the database."""
    public = make_case(author, title="Hydroponic farm in Dubai", target_markets=["AE"])
    other = make_case(author, title="Hydroponic farm in Almaty")
    app.config["INDEX_INLINE_DRAIN"] = False
    outsider = make_user("member", make_park())
    with app.app_context():
        actor = db.session.get(User, author.id)
        services.update_case(actor, db.session.get(FailureCase, public.id), {"visibility": "park"})
    assert indexed_as_public(app, public.id)

    with app.app_context():
        for viewer in (None, db.session.get(User, outsider.id)):
            page = search_cases(viewer, "hydroponic")
            assert page.total == 1 and [r.case.id for r in page.results] == [other.id]
            assert dict(page.facets["market"]) == {"KZ": 1}
            assert dict(page.facets["sector"]) == {"construction": 1}  # a single-valued facet
        page = search_cases(db.session.get(User, author.id), "hydroponic")
        assert page.total == 2 and dict(page.facets["market"]) == {"AE": 1, "KZ": 1}

    # an index that lost its position may be stale anywhere: every matched case is checked
    (Path(app.config["INDEX_DIR"]) / outbox.APPLIED_FILE).unlink()
    with app.app_context():
        page = search_cases(None, "hydroponic")
        assert page.total == 1 and dict(page.facets["market"]) == {"KZ": 1}


KILLED_WRITER = textwrap.dedent("""
    import os, signal
    from zhigu import create_app
    from zhigu.archive import services
    from zhigu.archive.models import FailureCase
    from zhigu.auth.models import User
    from zhigu.extensions import db

    app = create_app()
    with app.app_context():
        actor = db.session.get(User, int(os.environ["AUTHOR_ID"]))
        case = db.session.get(FailureCase, int(os.environ["CASE_ID"]))
        services.update_case(actor, case, {"visibility": "private"})  # committed; the index is busy
        os.kill(os.getpid(), signal.SIGKILL)  # before any retry could apply it
""")


def test_a_change_left_by_a_killed_server_is_applied_when_the_app_starts_again(app, author, make_case):
    case = make_case(author, title="Hydroponic farm in Dubai", target_markets=["AE"])
    index = app.extensions["zhigu.search"]
    env = dict(os.environ, ZHIGU_DATABASE_URL=app.config["DATABASE_URL"], ZHIGU_INDEX_DIR=app.config["INDEX_DIR"],
               ZHIGU_SECRET_KEY="test", ZHIGU_INSTANCE_PATH=str(Path(app.config["INDEX_DIR"]).parent / "inst"),
               ZHIGU_INDEX_INLINE_DRAIN_TIMEOUT="0.1", AUTHOR_ID=str(author.id), CASE_ID=str(case.id),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))

    with outbox.directory_lock(index.directory, 1):
        killed = subprocess.run([sys.executable, "-c", KILLED_WRITER], env=env, cwd=ROOT, capture_output=True,
                                text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with app.app_context():
        assert db.session.get(FailureCase, case.id).visibility == "private"  # committed
    assert check(app)["stale"] == [case.id] and indexed_as_public(app, case.id)

    restarted = other_app(app)
    try:
        started = time.monotonic()
        assert restarted.test_client().get("/healthz").status_code == 200  # its first request
        assert time.monotonic() - started < 5  # the catch-up runs beside it, not in it
        wait_until(lambda: not indexed_as_public(app, case.id), 20)
        assert check(app) == CLEAN
        assert restarted.extensions[catchup.EXTENSION].join(10)
    finally:
        close_app(restarted)


def test_several_processes_catching_up_at_once_apply_every_change(app, author, make_case):
    """As gunicorn -w 2 would: each process's write found the index busy; both retry, in turns."""
    cases = [make_case(author, title=f"Hydroponic farm {n}") for n in range(2)]
    app.config["INDEX_INLINE_DRAIN_TIMEOUT"] = 0.1
    second = other_app(app)
    second.config["INDEX_INLINE_DRAIN_TIMEOUT"] = 0.1
    try:
        with outbox.directory_lock(app.extensions["zhigu.search"].directory, 1):
            for process, case in zip((app, second), cases):
                with process.app_context():
                    services.update_case(db.session.get(User, author.id), db.session.get(FailureCase, case.id),
                                         {"title": f"Renamed hydroponic farm {case.id}"})
            assert sorted(check(app)["stale"]) == sorted(c.id for c in cases)

        wait_until(lambda: check(app) == CLEAN, 20)
        for process in (app, second):
            assert process.extensions[catchup.EXTENSION].join(10)
        with app.app_context():
            assert outbox.pending_count(db.engine, app.extensions["zhigu.search"].directory) == 0
    finally:
        close_app(second)


def test_with_a_separate_worker_the_web_process_leaves_the_outbox_alone(app, client, author, make_case):
    case = make_case(author, title="Hydroponic farm in Dubai")
    app.config["INDEX_INLINE_DRAIN"] = False  # ZHIGU_INDEX_INLINE_DRAIN=false: `zhigu worker` applies it
    with app.app_context():
        services.update_case(db.session.get(User, author.id), db.session.get(FailureCase, case.id),
                             {"title": "Renamed hydroponic farm"})
    assert client.get("/healthz").status_code == 200
    time.sleep(1.5)
    assert check(app)["stale"] == [case.id]
    assert app.test_cli_runner().invoke(args=["worker", "--once"]).exit_code == 0
    assert check(app) == CLEAN


def test_rows_the_worker_left_waiting_past_their_grace_are_applied_by_the_web_process(app, client, author, make_case,
                                                                                        caplog):
    """ZHIGU_INDEX_INLINE_DRAIN=false and no `zhigu worker` running: the changes are searched all the same."""
    case = make_case(author, title="Hydroponic farm in Dubai")
    app.config.update(INDEX_INLINE_DRAIN=False, INDEX_WORKER_GRACE=30)
    with app.app_context():
        services.update_case(db.session.get(User, author.id), db.session.get(FailureCase, case.id),
                             {"title": "Renamed hydroponic farm"})
        # written 40 s ago, as if the worker had been down that long
        db.session.execute(update(IndexChange).values(created_at=now_utc() - timedelta(seconds=40)))
        db.session.commit()
    with caplog.at_level(logging.WARNING, logger="zhigu.search.catchup"):
        assert client.get("/healthz").status_code == 200
    wait_until(lambda: check(app) == CLEAN)
    assert "is it running?" in caplog.text
    assert app.extensions[catchup.EXTENSION].join(10)
