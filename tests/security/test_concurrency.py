"""Simultaneous decisions and edits: one wins, the other gets a clear 409, and the state stays whole.

Each racing request runs in a thread of its own (its own app context, session and connection), released
together by a barrier. A use case is slowed between its check and its write (a patched step that sleeps),
so without the row locks both requests would read the old state and both would write; with them the second
waits and then sees the first one's result. On SQLite the loser must get a 409, never "database is locked".
The edit tests cover the version a form or an API client sends along (stale: 409 with what differs).
"""
import json
import re
import threading
import time

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from helpers import in_app, reload
from zhigu.archive import services as archive_services
from zhigu.archive import transfer
from zhigu.archive.models import CaseCause, CaseRevision, Cause, FailureCase
from zhigu.audit.models import AuditRecord
from zhigu.comments import services as comment_services
from zhigu.extensions import db
from zhigu.reviews import services as review_services
from zhigu.reviews.models import ReviewEvent

#: How long the first request holds its case in the middle of its use case.
PAUSE = 0.4


def race(*calls):
    """Run each call in its own thread, all released at once; return their results in order."""
    start, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(index, call):
        start.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def slowed(monkeypatch, module, name):
    """Make `module.name` pause before doing its work, widening the window between a check and a write."""
    original = getattr(module, name)

    def slow(*args, **kwargs):
        time.sleep(PAUSE)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, slow)


def in_review(app, cast, make_case):
    draft = make_case(cast.author, status="draft")
    with in_app(app):
        review_services.submit_case(reload(cast.author), reload(draft))
    return draft


# -- state transitions ---------------------------------------------------------------------------------

def test_approve_and_reject_at_once_make_one_decision(app, api_as, cast, make_case, monkeypatch):
    app.config["REVIEW_REQUIRED"] = True
    case = in_review(app, cast, make_case)
    slowed(monkeypatch, review_services, "notify")
    url = f"/api/v1/cases/{case.id}/review"
    approve, reject = api_as(cast.manager_a), api_as(cast.admin)

    responses = race(lambda: approve.post(url, json={"decision": "approve"}),
                     lambda: reject.post(url, json={"decision": "reject", "comment": "Not a failure story."}))

    assert sorted(r.status_code for r in responses) == [200, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json["error"] == "This case is not waiting for review."
    with app.app_context():
        stored = reload(case)
        decisions = [e.action for e in db.session.scalars(select(ReviewEvent).where(
            ReviewEvent.case_id == case.id, ReviewEvent.action != "submitted"))]
        publishes = db.session.scalar(select(func.count(CaseRevision.id)).where(
            CaseRevision.case_id == case.id, CaseRevision.action == "publish"))
        assert decisions in (["approved"], ["rejected"])
        if decisions == ["approved"]:
            assert stored.status == "published" and stored.published_at is not None and publishes == 1
        else:
            assert stored.status == "rejected" and stored.published_at is None and publishes == 0


def test_publishing_twice_at_once_records_one_publish(app, api_as, cast, make_case, monkeypatch):
    draft = make_case(cast.author, status="draft")
    slowed(monkeypatch, archive_services, "check_publishable")
    url = f"/api/v1/cases/{draft.id}/publish"
    first, second = api_as(cast.manager_a), api_as(cast.admin)

    responses = race(lambda: first.post(url), lambda: second.post(url))

    assert sorted(r.status_code for r in responses) == [200, 409]
    with app.app_context():
        assert [r.action for r in reload(draft).revisions] == ["publish"]


def test_deleting_a_comment_twice_at_once_audits_once(app, api_as, cast, make_case, monkeypatch):
    case = make_case(cast.author)
    with in_app(app):
        comment = comment_services.create_comment(reload(cast.member_a), reload(case), {"body": "Same in Astana."})
        comment_id = comment.id
    slowed(monkeypatch, comment_services, "record")
    url = f"/api/v1/comments/{comment_id}"
    one, two = api_as(cast.member_a), api_as(cast.member_a)  # a double click: the same user twice

    responses = race(lambda: one.delete(url), lambda: two.delete(url))

    assert sorted(r.status_code for r in responses) == [200, 409]
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditRecord.id)).where(
            AuditRecord.action == "comment.delete")) == 1



def test_merging_two_cases_into_each_other_at_once_merges_one_way(app, api_as, cast, make_case, monkeypatch):
    """Unlocked, both merges passed the "not merged yet" checks: A redirected to A, or a 500 on the unique key."""
    from zhigu.links import services as link_services
    from zhigu.links.services import merged_into

    first, second = make_case(cast.author, title="Cold chain pilot"), make_case(cast.author, title="Cold chain again")
    slowed(monkeypatch, link_services, "_widens")
    one, two = api_as(cast.manager_a), api_as(cast.admin)

    responses = race(lambda: one.post(f"/api/v1/cases/{first.id}/merge-into/{second.id}", json={}),
                     lambda: two.post(f"/api/v1/cases/{second.id}/merge-into/{first.id}", json={}))

    codes = sorted(r.status_code for r in responses)
    assert codes[0] in (200, 201) and codes[1] in (409, 422), [r.get_json() for r in responses]
    with app.app_context():
        targets = {merged_into(first.id), merged_into(second.id)}
        assert targets in ({second.id, None}, {first.id, None})

# -- causes: one primary, whatever two saves do ----------------------------------------------------------

def _links(app, case_id):
    with app.app_context():
        links = db.session.scalars(select(CaseCause).where(CaseCause.case_id == case_id)).all()
        return sorted(link.cause.code for link in links), [link.cause.code for link in links if link.is_primary]


def test_two_patches_with_different_causes_leave_one_of_them_whole(app, api_as, cast, make_case, monkeypatch):
    case = make_case(cast.author, causes=["market.no_demand"])
    slowed(monkeypatch, archive_services, "_resolve_causes")
    url = f"/api/v1/cases/{case.id}"
    first, second = api_as(cast.author), api_as(cast.manager_a)
    lists = (["money.cash_out", "team.conflict_turnover"], ["policy.regulation", "execution.bad_timing"])

    responses = race(lambda: first.patch(url, json={"causes": lists[0]}),
                     lambda: second.patch(url, json={"causes": lists[1]}))

    assert [r.status_code for r in responses] == [200, 200]  # without a version, both edits apply in turn
    causes, primary = _links(app, case.id)
    assert causes in (sorted(lists[0]), sorted(lists[1])) and len(primary) == 1
    assert primary[0] == (lists[0] if causes == sorted(lists[0]) else lists[1])[0]


def test_the_database_refuses_a_second_primary_cause(app, cast, make_case):
    case = make_case(cast.author, causes=["market.no_demand"])
    with app.app_context():
        cause = db.session.scalar(select(Cause).where(Cause.code == "team.conflict_turnover"))
        db.session.add(CaseCause(case_id=case.id, cause=cause, is_primary=True))
        with pytest.raises(IntegrityError):
            db.session.commit()


def test_moving_the_primary_cause_to_an_older_link_saves(app, api_as, cast, make_case):
    case = make_case(cast.author, causes=["market.no_demand", "team.conflict_turnover"],
                     primary_cause="team.conflict_turnover")
    response = api_as(cast.author).patch(f"/api/v1/cases/{case.id}", json={"primary_cause": "market.no_demand"})
    assert response.status_code == 200, response.json
    assert _links(app, case.id) == (["market.no_demand", "team.conflict_turnover"], ["market.no_demand"])


def test_an_import_may_move_a_primary_cause(app):
    line = {"external_id": "imp-1", "title": "Cold chain lockers", "summary": "Nobody rented the lockers at all.",
            "causes": ["market.no_demand", "team.conflict_turnover"], "primary_cause": "team.conflict_turnover"}
    with app.app_context():
        transfer.import_cases([json.dumps(line)])
        moved = dict(line, primary_cause="market.no_demand")
        transfer.import_cases([json.dumps(moved)])
        case_id = db.session.scalar(select(FailureCase.id).where(FailureCase.external_id == "imp-1"))
    assert _links(app, case_id) == (["market.no_demand", "team.conflict_turnover"], ["market.no_demand"])


# -- versions: the API ---------------------------------------------------------------------------------

def test_every_edit_moves_the_version_and_etag(app, api_as, cast, make_case):
    case = make_case(cast.author)
    api = api_as(cast.author)
    read = api.get(f"/api/v1/cases/{case.id}")
    version = read.json["version"]
    assert read.headers["ETag"] == f'"{version}"'

    title = api.patch(f"/api/v1/cases/{case.id}", json={"title": "Street lights that froze"})
    causes = api.patch(f"/api/v1/cases/{case.id}", json={"causes": ["team.conflict_turnover"]})  # only the causes
    same = api.patch(f"/api/v1/cases/{case.id}", json={"causes": ["team.conflict_turnover"]})  # changes nothing

    assert title.json["version"] > version and causes.json["version"] > title.json["version"]
    assert same.json["version"] == causes.json["version"]
    assert causes.headers["ETag"] == f'"{causes.json["version"]}"'


def test_a_stale_version_is_a_409_with_the_saved_version_and_the_fields(app, api_as, cast, make_case):
    case = make_case(cast.author)
    url = f"/api/v1/cases/{case.id}"
    author, manager = api_as(cast.author), api_as(cast.manager_a)
    opened = author.get(url).json["version"]
    saved = manager.patch(url, json={"title": "Saved by the manager", "version": opened})
    assert saved.status_code == 200

    stale = author.patch(url, json={"title": "Typed by the author", "lessons": saved.json["lessons"],
                                    "version": opened})

    assert stale.status_code == 409
    assert stale.json["version"] == saved.json["version"] and stale.headers["ETag"] == f'"{saved.json["version"]}"'
    assert stale.json["fields"] == {"title": {"saved": "Saved by the manager", "yours": "Typed by the author"}}
    assert stale.json["error"]
    assert author.get(url).json["title"] == "Saved by the manager"  # nothing was written
    again = author.patch(url, json={"title": "Typed by the author", "version": stale.json["version"]})
    assert again.status_code == 200 and again.json["title"] == "Typed by the author"


def test_if_match_names_the_version_too(app, api_as, cast, make_case):
    case = make_case(cast.author)
    url = f"/api/v1/cases/{case.id}"
    api = api_as(cast.author)
    etag = api.get(url).headers["ETag"]
    assert api.patch(url, json={"title": "First new title"}, headers={"If-Match": etag}).status_code == 200
    stale = api.patch(url, json={"title": "Second new title"}, headers={"If-Match": etag})
    assert stale.status_code == 409 and stale.json["fields"]["title"]["saved"] == "First new title"
    assert api.patch(url, json={"title": "Any version"}, headers={"If-Match": "*"}).status_code == 200


@pytest.mark.parametrize("headers, body, status", [
    ({"If-Match": '"abc"'}, {}, 400),
    ({"If-Match": '"1", "2"'}, {}, 400),
    ({}, {"version": "abc"}, 422),
    ({}, {"version": 0}, 422),
    ({}, {"version": 2**40}, 422),
])
def test_a_malformed_version_is_refused_cleanly(api_as, cast, make_case, headers, body, status):
    case = make_case(cast.author)
    response = api_as(cast.author).patch(f"/api/v1/cases/{case.id}", json={"title": "A new title", **body},
                                         headers=headers)
    assert response.status_code == status and response.is_json


def test_the_same_edit_sent_twice_is_not_a_conflict(app, api_as, cast, make_case):
    case = make_case(cast.author)
    url = f"/api/v1/cases/{case.id}"
    api = api_as(cast.author)
    opened = api.get(url).json["version"]
    body = {"title": "Resent by a double click", "version": opened}
    assert [api.patch(url, json=body).status_code for _ in range(2)] == [200, 200]


def test_stale_versions_at_once_let_one_edit_win(app, api_as, cast, make_case, monkeypatch):
    case = make_case(cast.author)
    url = f"/api/v1/cases/{case.id}"
    opened = api_as(cast.author).get(url).json["version"]
    slowed(monkeypatch, archive_services, "_apply")
    first, second = api_as(cast.author), api_as(cast.manager_a)

    responses = race(lambda: first.patch(url, json={"title": "The author's title", "version": opened}),
                     lambda: second.patch(url, json={"title": "The manager's title", "version": opened}))

    assert sorted(r.status_code for r in responses) == [200, 409]
    winner = next(r for r in responses if r.status_code == 200)
    assert api_as(cast.author).get(url).json["title"] == winner.json["title"]


def test_a_write_from_an_outdated_row_is_refused(app, cast, make_case):
    """The version counter itself: an UPDATE made from a version someone has since saved over changes nothing."""
    case = make_case(cast.author)
    first, second = app.app_context(), app.app_context()
    with first:
        stale = db.session.get(FailureCase, case.id)
        stale.title  # noqa: B018 - read now, before the other session saves
        with second:
            fresh = db.session.get(FailureCase, case.id)
            fresh.title = "Saved meanwhile"
            db.session.commit()
        stale.title = "Written from the old row"
        with pytest.raises(StaleDataError):
            db.session.commit()
        db.session.rollback()
        assert db.session.get(FailureCase, case.id).title == "Saved meanwhile"


def test_a_stale_write_elsewhere_is_a_409_not_a_500(app, client, auth, api_as, cast, make_case, monkeypatch):
    case = make_case(cast.author)

    def stale(*args, **kwargs):
        raise StaleDataError("UPDATE statement on table 'failure_case' expected to update 1 row(s); 0 were matched.")

    monkeypatch.setattr(archive_services, "publish_case", stale)
    assert api_as(cast.manager_a).post(f"/api/v1/cases/{case.id}/publish").status_code == 409
    auth.login(cast.manager_a)
    page = client.post(f"/cases/{case.id}/publish")
    assert page.status_code == 409 and "Reload the page" in page.get_data(as_text=True)


# -- versions: the HTML form ---------------------------------------------------------------------------

def _form_of(case_id, version, **changes):
    form = {"title": "Smart street lighting pilot in Almaty", "version": str(version), "action": "save",
            "summary": "Networked streetlights were installed in an industrial park but the city never paid.",
            "narrative": "The controllers could not survive the winter and the local partner walked away.",
            "lessons": "Sign the payment terms with the municipality before shipping hardware.",
            "causes": ["market.no_demand"], "sector": "construction", "target_markets": ["KZ"],
            "stage_reached": "pilot", "language": "en", "visibility": "public"}
    form.update(changes)
    return form


def _hidden(page: str, name: str) -> str:
    return re.search(rf'<input type="hidden" name="{name}" value="([^"]*)">', page)[1]


def test_the_edit_form_carries_the_version(app, client, auth, cast, make_case):
    case = make_case(cast.author)
    auth.login(cast.author)
    page = client.get(f"/cases/{case.id}/edit").get_data(as_text=True)
    with app.app_context():
        assert _hidden(page, "version") == str(reload(case).version)


def test_a_stale_form_gets_a_conflict_page_that_keeps_the_input(app, client, auth, cast, make_case):
    case = make_case(cast.author)
    auth.login(cast.author)
    opened = client.get(f"/cases/{case.id}/edit").get_data(as_text=True)
    with app.app_context():
        archive_services.update_case(reload(cast.manager_a), reload(case), {"title": "Renamed by the manager"})
        saved = reload(case).version
    typed = "My long careful account of the winter, which must not be lost."

    response = client.post(f"/cases/{case.id}/edit", data=_form_of(
        case.id, _hidden(opened, "version"), narrative=typed, base=_hidden(opened, "base")))

    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else saved this case" in page and "Renamed by the manager" in page
    rows = re.findall(r'<tr><th scope="row">(.*?)</th>', page)
    assert rows == ['title <span class="badge badge--draft">changed meanwhile</span>', "what happened"]
    assert typed in page  # the input is kept in the form
    assert _hidden(page, "version") == str(saved)  # based on the saved version now
    with app.app_context():
        assert reload(case).title == "Renamed by the manager" and reload(case).narrative != typed
    resent = client.post(f"/cases/{case.id}/edit", data=_form_of(case.id, saved, narrative=typed))
    assert resent.status_code == 302
    with app.app_context():
        assert reload(case).narrative == typed


def test_a_stale_form_in_chinese_is_translated(app, client, auth, cast, make_case):
    case = make_case(cast.author)
    with app.app_context():
        opened = reload(case).version
        archive_services.update_case(reload(cast.manager_a), reload(case), {"title": "Renamed by the manager"})
    auth.login(cast.author)
    response = client.post(f"/cases/{case.id}/edit", data=_form_of(case.id, opened),
                           headers={"Accept-Language": "zh-CN"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "Someone else saved" not in page and "Saved now" not in page
    assert "其他人保存了此案例" in page


# -- the migration -------------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/migrated.sqlite"
        return
    server = request.getfixturevalue("postgres_server")
    yield server.create_database("versions")


def test_the_migration_leaves_one_primary_cause_per_case(empty_database, tmp_path):
    """Cases that simultaneous saves left with two primary causes keep the newest one as primary."""
    from zhigu import create_app

    app = create_app({"DATABASE_URL": empty_database, "INDEX_DIR": str(tmp_path / "index"), "SECRET_KEY": "test",
                      "TESTING": True})
    runner = app.test_cli_runner()
    try:
        assert runner.invoke(args=["db", "upgrade", "0006"]).exit_code == 0
        with app.app_context(), db.engine.begin() as connection:
            connection.execute(text("INSERT INTO cause (id, code, family, label_en, label_zh, retired) VALUES "
                                    "(1, 'a.one', 'market', 'One', 'One', false), "
                                    "(2, 'a.two', 'market', 'Two', 'Two', false), "
                                    "(3, 'a.three', 'market', 'Three', 'Three', false)"))
            connection.execute(text(
                "INSERT INTO failure_case (id, title, summary, narrative, warning_signs, lessons, target_markets, "
                "anonymize, language, tags, status, visibility, created_at, updated_at) VALUES "
                "(1, 'Case', 'A summary', '', '', '', '[]', false, 'en', '[]', 'published', 'public', "
                "'2026-01-01', '2026-01-01')"))
            connection.execute(text("INSERT INTO case_cause (id, case_id, cause_id, is_primary) VALUES "
                                    "(1, 1, 1, true), (2, 1, 2, true), (3, 1, 3, false)"))
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        with app.app_context(), db.engine.connect() as connection:
            rows = connection.execute(text("SELECT id, is_primary FROM case_cause ORDER BY id")).all()
            assert [(row[0], bool(row[1])) for row in rows] == [(1, False), (2, True), (3, False)]
            assert connection.scalar(text("SELECT version FROM failure_case")) == 1
    finally:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()
