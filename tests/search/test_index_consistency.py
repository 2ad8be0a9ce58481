"""The index holds committed data only: updated after commit, untouched by rollback, repaired by rebuild."""
import logging
from datetime import datetime, timezone
import shutil
from pathlib import Path

import pytest
from sqlalchemy import delete, event, update

from helpers import another_process, case_data, indexed_ids
from zhigu import create_app
from zhigu.archive import services
from zhigu.archive.models import FailureCase
from zhigu.extensions import db
from zhigu.search import outbox
from zhigu.search.services import search_cases


def found(text, viewer=None):
    return {r.case.id for r in search_cases(viewer, text).results}


@pytest.fixture
def curator(ctx, make_park, make_user):
    return make_user("curator", make_park())


@pytest.fixture
def sqlite_savepoints(app, ctx):
    """Make SAVEPOINTs behave on SQLite as on PostgreSQL (SQLAlchemy's documented pysqlite recipe).

    Without it pysqlite sends no BEGIN before a SAVEPOINT, so SQLite treats RELEASE as the COMMIT of the
    whole transaction and the outer rollback undoes nothing.
    """
    engine = db.engine
    if engine.dialect.name != "sqlite":
        return  # PostgreSQL already does this

    @event.listens_for(engine, "connect")
    def no_implicit_transactions(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def explicit_begin(connection):
        connection.exec_driver_sql("BEGIN")

    db.session.close()
    engine.dispose()


def test_published_case_is_indexed_after_commit_and_a_draft_is_not(app, curator):
    draft = services.create_case(curator, case_data(title="Draft about hydroponic farms"))
    published = services.create_case(curator, case_data(title="Published hydroponic farm"), publish=True)

    assert indexed_ids(app) == {published.id}
    assert found("hydroponic") == {published.id}

    services.publish_case(curator, draft)
    assert indexed_ids(app) == {published.id, draft.id}


def test_edit_is_reindexed(curator):
    case = services.create_case(curator, case_data(title="Hydroponic farm in Dubai"), publish=True)

    services.update_case(curator, case, {"title": "Vertical aquaponics farm in Dubai"})

    assert found("aquaponics") == {case.id}
    assert found("hydroponic") == set()


def test_changing_causes_reindexes_the_cause_facet(curator):
    case = services.create_case(curator, case_data(causes=["market.no_demand"]), publish=True)

    services.update_case(curator, case, {"causes": ["policy.political_risk_abroad"]})

    page = search_cases(None, "", {"cause": ["policy.political_risk_abroad"]})
    assert [r.case.id for r in page.results] == [case.id]
    assert search_cases(None, "", {"cause": ["market.no_demand"]}).total == 0


def test_visibility_change_is_reindexed(make_user, curator):
    member = make_user("member", curator.park.slug)
    stranger = make_user("member")
    case = services.create_case(curator, case_data(title="Hydroponic farm in Dubai"), publish=True)
    assert found("hydroponic") == {case.id}

    services.update_case(curator, case, {"visibility": "park"})

    assert found("hydroponic") == set()
    assert found("hydroponic", stranger) == set()
    assert found("hydroponic", member) == {case.id}


def test_retract_removes_the_case_from_the_index(app, curator):
    case = services.create_case(curator, case_data(title="Hydroponic farm in Dubai"), publish=True)

    services.retract_case(curator, case, {"reason": "Duplicate of another case."})

    assert case.id not in indexed_ids(app)
    assert found("hydroponic") == set()
    assert app.extensions["zhigu.search"].check() == {"missing": [], "stale": [], "extra": []}


def test_renaming_a_cause_reaches_indexed_documents(make_user, curator):
    admin = make_user("admin")
    case = services.create_case(curator, case_data(causes=["money.cash_out"]), publish=True)
    cause = case.primary_cause

    services.update_cause(admin, cause, {"label_en": "Burned through the seed round"})

    assert found("seed round") == {case.id}


def test_rollback_leaves_the_index_untouched(app, curator):
    case = services.create_case(curator, case_data(title="Hydroponic farm in Dubai"), publish=True)

    case.title = "Aquaponics farm in Dubai"
    db.session.add(FailureCase(title="Never committed aquaponics", summary="Rolled back before commit.",
                               status="published", visibility="public", language="en"))
    db.session.flush()
    db.session.rollback()

    assert indexed_ids(app) == {case.id}
    assert found("aquaponics") == set()
    assert found("hydroponic") == {case.id}
    # the ids collected before the rollback must not ride along with the next commit
    other = services.create_case(curator, case_data(title="Unrelated kiosk"), publish=True)
    assert indexed_ids(app) == {case.id, other.id}
    assert found("aquaponics") == set()


def test_released_savepoint_then_outer_rollback_leaves_the_index_untouched(sqlite_savepoints, app, curator):
    case = services.create_case(curator, case_data(title="Hydroponic farm in Dubai"), publish=True)

    with db.session.begin_nested():  # SAVEPOINT ... RELEASE fires after_commit, in a nested transaction
        case.title = "Aquaponics farm in Dubai"
    assert found("aquaponics") == set()
    db.session.rollback()

    assert found("aquaponics") == set()
    assert found("hydroponic") == {case.id}
    assert app.extensions["zhigu.search"].check() == {"missing": [], "stale": [], "extra": []}


def test_released_savepoint_is_indexed_by_the_outer_commit(sqlite_savepoints, app, curator):
    case = services.create_case(curator, case_data(title="Hydroponic farm in Dubai"), publish=True)

    with db.session.begin_nested():
        case.title = "Aquaponics farm in Dubai"
    db.session.commit()

    assert found("aquaponics") == {case.id}
    assert app.extensions["zhigu.search"].check() == {"missing": [], "stale": [], "extra": []}


def test_rolled_back_savepoint_inside_a_committed_transaction(sqlite_savepoints, app, curator):
    case = services.create_case(curator, case_data(title="Hydroponic farm in Dubai"), publish=True)

    savepoint = db.session.begin_nested()
    case.title = "Aquaponics farm in Dubai"
    db.session.flush()
    savepoint.rollback()
    case.lessons = "Committed outside the savepoint."
    db.session.commit()

    assert found("aquaponics") == set()
    assert found("hydroponic") == {case.id}
    assert app.extensions["zhigu.search"].check() == {"missing": [], "stale": [], "extra": []}


def test_failed_index_write_is_logged_not_raised_and_rebuild_repairs_it(app, curator, monkeypatch, caplog):
    index = app.extensions["zhigu.search"]

    def broken_writer():
        raise OSError("disk full")

    monkeypatch.setattr(index, "writer", broken_writer)
    with caplog.at_level(logging.ERROR, logger="zhigu.search.index"):
        case = services.create_case(curator, case_data(title="Hydroponic farm in Dubai"), publish=True)

    assert db.session.get(FailureCase, case.id).status == "published"  # the database commit stands
    assert "rebuild" in caplog.text
    monkeypatch.undo()
    with another_process(app) as check_process:
        assert check_process.extensions["zhigu.search"].check()["missing"] == [case.id]
    with another_process(app) as rebuild_process:
        assert outbox.rebuild(rebuild_process.extensions["zhigu.search"]) == 1

    assert index.check() == {"missing": [], "stale": [], "extra": []}
    assert found("hydroponic") == {case.id}


def test_a_failed_index_commit_releases_the_write_lock(app, curator, monkeypatch):
    """A Whoosh commit that raised used to keep the write lock: every later write waited 30 s for it."""
    from whoosh.writing import SegmentWriter

    index = app.extensions["zhigu.search"]
    index.writer_timeout = 0.5  # a lock still held would fail the next write at once
    real_commit = SegmentWriter.commit

    def failing_commit(writer, *args, **kwargs):
        monkeypatch.setattr(SegmentWriter, "commit", real_commit)  # once
        raise AssertionError("a segment file already exists")

    monkeypatch.setattr(SegmentWriter, "commit", failing_commit)
    first = services.create_case(curator, case_data(title="Vertical farm in Doha"), publish=True)
    assert index.check()["missing"] == [first.id]

    second = services.create_case(curator, case_data(title="Vertical farm in Muscat"), publish=True)
    assert found("vertical farm") == {first.id, second.id}  # the outbox re-applied the failed change too
    assert index.check() == {"missing": [], "stale": [], "extra": []}


def test_check_reports_missing_stale_and_extra_documents(app, curator):
    kept, stale, gone, missing = (services.create_case(curator, case_data(title=f"Case {name}"), publish=True)
                                  for name in ("kept", "stale", "gone", "missing"))
    # bulk statements skip the session hooks, as a restore or a migration would
    db.session.execute(update(FailureCase).where(FailureCase.id == stale.id)
                       .values(title="Changed behind the index", updated_at=datetime(2001, 1, 1, tzinfo=timezone.utc)))
    db.session.execute(delete(FailureCase).where(FailureCase.id == gone.id))
    db.session.commit()
    app.extensions["zhigu.search"].delete_ids([missing.id])
    # ids read here: inside another app's context, a lazy load would borrow that app's engine
    kept, stale, gone, missing = kept.id, stale.id, gone.id, missing.id

    with another_process(app) as other:
        assert other.extensions["zhigu.search"].check() == {"missing": [missing], "stale": [stale],
                                                            "extra": [gone]}
    with another_process(app) as other:
        assert outbox.rebuild(other.extensions["zhigu.search"]) == 3
    with another_process(app) as other:
        assert other.extensions["zhigu.search"].check() == {"missing": [], "stale": [], "extra": []}
        assert indexed_ids(other) == {kept, stale, missing}


def test_rebuild_restores_a_deleted_index_directory(app, curator):
    case = services.create_case(curator, case_data(title="Hydroponic farm in Dubai"), publish=True)
    services.create_case(curator, case_data(title="Draft only"))
    index_dir = Path(app.config["INDEX_DIR"])
    shutil.rmtree(index_dir)
    case_id = case.id  # read here: inside another app's context, a lazy load would borrow that app's engine

    with another_process(app) as other:
        assert other.extensions["zhigu.search"].check()["missing"] == [case_id]
    with another_process(app) as other:
        assert outbox.rebuild(other.extensions["zhigu.search"]) == 1
    assert index_dir.is_dir()
    with another_process(app) as other:
        assert other.extensions["zhigu.search"].check() == {"missing": [], "stale": [], "extra": []}
        assert {r.case.id for r in search_cases(None, "hydroponic").results} == {case.id}


# -- a searcher kept open across writes (one per thread in the web process) -------------------------
# whoosh-reloaded 2.7.5's Searcher.refresh() reused stale segment readers: deleted documents stayed, merged
# segments counted twice, and a searcher opened on an empty index raised TypeError once cases arrived.

def test_a_searcher_opened_on_an_empty_index_sees_later_cases(curator):
    assert found("hydroponic") == set()

    case = services.create_case(curator, case_data(title="Hydroponic farm in Dubai"), publish=True)

    assert found("hydroponic") == {case.id}


def test_an_open_searcher_sees_an_edit(curator):
    services.create_case(curator, case_data(title="Kiosk pilot"), publish=True)
    case = services.create_case(curator, case_data(title="Hydroponic farm in Dubai"), publish=True)
    assert found("hydroponic") == {case.id}

    services.update_case(curator, case, {"title": "Vertical aquaponics farm in Dubai"})

    assert found("aquaponics") == {case.id}
    assert search_cases(None, "hydroponic").total == 0


def test_an_open_searcher_counts_neither_retracted_nor_hidden_cases(make_user, curator):
    retracted = services.create_case(curator, case_data(title="Hydroponic farm in Dubai"), publish=True)
    hidden = services.create_case(curator, case_data(title="Hydroponic farm in Doha", sector="energy"),
                                  publish=True)
    assert search_cases(None, "hydroponic").total == 2

    services.retract_case(curator, retracted, {"reason": "Duplicate of another case."})
    services.update_case(curator, hidden, {"visibility": "private"})

    page = search_cases(None, "hydroponic")
    assert page.total == 0
    assert page.facets["sector"] == []


def test_an_open_searcher_does_not_duplicate_results_after_segments_merge(curator):
    ids = set()
    for n in range(15):
        ids.add(services.create_case(curator, case_data(title=f"Kiosk pilot {n}"), publish=True).id)
        search_cases(None, "kiosk")

    page = search_cases(None, "kiosk", per_page=50)

    assert page.total == 15
    assert sorted(r.case.id for r in page.results) == sorted(ids)


def test_an_open_searcher_sees_a_rebuild(app, curator):
    index = app.extensions["zhigu.search"]
    case = services.create_case(curator, case_data(title="Hydroponic farm in Dubai"), publish=True)
    db.session.execute(update(FailureCase).where(FailureCase.id == case.id).values(title="Edited in SQL"))
    db.session.commit()
    assert index.check()["stale"] == [case.id]

    outbox.rebuild(index)

    assert index.check() == {"missing": [], "stale": [], "extra": []}
    assert found("hydroponic") == set()


def test_a_writer_held_elsewhere_fails_the_index_write_not_the_commit(app, curator, caplog):
    """Another process holding Whoosh's writer lock past INDEX_WRITER_TIMEOUT: logged, repaired by rebuild."""
    index = app.extensions["zhigu.search"]
    index.writer_timeout = 0.2
    other = create_app({key: app.config[key] for key in ("DATABASE_URL", "INDEX_DIR", "SECRET_KEY", "TESTING")})
    held = other.extensions["zhigu.search"].writer()
    try:
        with caplog.at_level(logging.ERROR, logger="zhigu.search.index"):
            case = services.create_case(curator, case_data(title="Hydroponic farm in Dubai"), publish=True)
    finally:
        held.cancel()

    assert db.session.get(FailureCase, case.id).status == "published"
    assert "rebuild" in caplog.text
    assert index.check()["missing"] == [case.id]
    outbox.rebuild(index)
    assert found("hydroponic") == {case.id}
