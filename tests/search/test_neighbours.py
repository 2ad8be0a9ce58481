"""Stored nearest cases (zhigu.search.neighbours): computed when cases change, read through the visibility
clause, the live query for viewers who may open more and for cases not computed yet."""
import json
import logging
import time
from datetime import datetime, timezone

import pytest

import databases
from flask_login import AnonymousUserMixin
from sqlalchemy import create_engine, delete, event, func, insert, select, update

from helpers import reload
from zhigu import config
from zhigu.archive import services as archive_services
from zhigu.archive.models import CaseCause, FailureCase, Visibility
from zhigu.archive.transfer import export_cases, import_cases
from zhigu.auth.permissions import can
from zhigu.comments import services as comment_services
from zhigu.extensions import db
from zhigu.links import services as link_services
from zhigu.search import neighbours, parallel_neighbours
from zhigu.search.models import CaseNeighbour, IndexChange, NeighbourList
from zhigu.search.similar import similar_to_case

SOLAR = dict(title="Rooftop solar leasing for factories in Tashkent",
             summary="Leased rooftop solar panels to textile factories in Tashkent; the grid operator refused "
                     "net metering and the leases never paid back.",
             lessons="Secure the grid operator's net metering approval before signing leases.",
             causes=["policy.regulation"], sector="energy", target_markets=["UZ"])
SOLAR_AGAIN = dict(SOLAR, title="Solar panel leases for Tashkent factories")
SOLAR_THIRD = dict(SOLAR, title="Tashkent rooftop solar for textile mills")
BAKERY = dict(title="Bakery chain franchise in Almaty", causes=["market.no_demand"], sector="agriculture",
              summary="A franchise of Chinese bakeries opened six shops but customers preferred local bread.",
              lessons="Test the product with local customers before opening shops.", target_markets=["KZ"])

VISITOR = AnonymousUserMixin()


def stored(case_id: int, audience: str = neighbours.PUBLIC) -> list[int] | None:
    """The stored neighbour ids of a case for an audience, None when that list is not computed."""
    if db.session.get(NeighbourList, (case_id, audience)) is None:
        return None
    return list(db.session.scalars(select(CaseNeighbour.neighbour_id).where(CaseNeighbour.case_id == case_id,
                                                                            CaseNeighbour.audience == audience)
                                   .order_by(CaseNeighbour.rank)))


def park_of(user) -> str:
    return neighbours.park_audience(reload(user).park_id)


def ids(results) -> list[int]:
    return [case_id for case_id, _, _ in results]


def shown(case, viewer) -> list[tuple]:
    return [(r.case.id, r.score, r.why) for r in neighbours.neighbours_for(reload(case), viewer)]


def live(case, viewer) -> list[tuple]:
    return [(r.case.id, r.score, r.why) for r in similar_to_case(viewer, reload(case), limit=neighbours.STORED)]


def no_search(monkeypatch):
    """Fail any live similar search from the neighbours module from now on (the stored list must be read)."""
    monkeypatch.setattr(neighbours, "similar_to_case", lambda *a, **k: pytest.fail("searched"))


@pytest.fixture(autouse=True)
def _drain_computes_lists(app):
    """The drain's share of lists as configured by default (the suite's app fixture turns it off)."""
    app.config["NEIGHBOURS_AT_DRAIN"] = config.NEIGHBOURS_AT_DRAIN


def test_publishing_stores_the_list_a_visitor_would_get(ctx, cast, make_case):
    earlier = make_case(cast.author, **SOLAR)
    bakery = make_case(cast.author, **BAKERY)
    again = make_case(cast.author, **SOLAR_AGAIN)

    assert stored(again.id)[0] == earlier.id
    expected = live(again, VISITOR)
    assert bakery.id not in [case_id for case_id, _, _ in expected[:1]]
    row = db.session.scalars(select(CaseNeighbour).where(CaseNeighbour.case_id == again.id)).first()
    assert (row.score, row.why, row.shared_terms) == (expected[0][1], expected[0][2], len(expected[0][2]["terms"]))
    # the new case may belong in its neighbours' lists: those are dropped, to be computed again
    assert stored(earlier.id) is None


def test_the_stored_list_is_read_without_searching_and_matches_the_live_one(ctx, cast, make_case, monkeypatch):
    make_case(cast.author, **SOLAR)
    make_case(cast.author, **BAKERY)
    again = make_case(cast.author, **SOLAR_AGAIN)
    expected = live(again, VISITOR)
    no_search(monkeypatch)
    assert shown(again, VISITOR) == expected
    assert shown(again, reload(cast.member_a)) == expected  # park A has no restricted case: the same list


def test_a_missing_list_falls_back_to_the_live_query_and_is_stored(ctx, cast, make_case):
    earlier = make_case(cast.author, **SOLAR)
    again = make_case(cast.author, **SOLAR_AGAIN)
    assert stored(earlier.id) is None  # dropped when `again` was published

    assert shown(earlier, VISITOR) == live(earlier, VISITOR)
    assert stored(earlier.id) == [again.id]


def test_a_list_another_process_dropped_since_it_was_read_is_computed_live(app, ctx, cast, make_case):
    make_case(cast.author, **SOLAR)
    again = make_case(cast.author, **SOLAR_AGAIN)
    mark = db.session.get(NeighbourList, (again.id, neighbours.PUBLIC))  # this session has seen the list's mark
    assert mark is not None
    with app.app_context():  # another process drops it (a refresh after its drain) and commits
        neighbours._drop([again.id])
        db.session.commit()

    assert shown(again, VISITOR) == live(again, VISITOR) != []


def test_an_edit_computes_the_list_again(ctx, cast, make_case):
    earlier = make_case(cast.author, **SOLAR)
    again = make_case(cast.author, **SOLAR_AGAIN)
    before = shown(again, VISITOR)

    archive_services.update_case(reload(cast.author), reload(again), dict(BAKERY, title="Bakery franchise in Astana"))

    assert stored(again.id) is not None and shown(again, VISITOR) == live(again, VISITOR) != before
    assert earlier.id not in [case_id for case_id, _, _ in shown(again, VISITOR)[:1]]


def test_an_edited_neighbour_drops_the_lists_that_name_it(ctx, cast, make_case):
    earlier = make_case(cast.author, **SOLAR)
    again = make_case(cast.author, **SOLAR_AGAIN)
    assert stored(again.id) == [earlier.id]

    archive_services.update_case(reload(cast.author), reload(earlier), {"title": "Solar leasing in Samarkand"})

    assert stored(again.id) is None
    assert shown(again, VISITOR) == live(again, VISITOR)


@pytest.mark.parametrize("changes", [{"lessons": "Lease to the mills, with the operator's approval first."},
                                     {"narrative": "The first factory refused.", "warning_signs": "No approval."}],
                         ids=["lessons", "narrative-and-warning-signs"])
def test_an_edit_of_what_only_its_own_list_reads_keeps_the_lists_naming_it(ctx, cast, make_case, monkeypatch,
                                                                           changes):
    """Others' queries never read a case's narrative, warning signs or lessons: such an edit computes the
    case's own list again (its query reads them) and keeps the lists that name it, which the live query
    still gives (the same cases and reasons; the scores move as every edit moves the archive's word counts,
    here by about a percent in three cases); the same edit with a new title drops them."""
    earlier = make_case(cast.author, **SOLAR)
    again = make_case(cast.author, **SOLAR_AGAIN)
    third = make_case(cast.author, **SOLAR_THIRD)
    neighbours.compute_missing()
    assert earlier.id in stored(again.id) and earlier.id in stored(third.id)
    last = db.session.scalar(select(func.max(IndexChange.id)))
    computed = []
    computing = neighbours.similar_to_case
    monkeypatch.setattr(neighbours, "similar_to_case", lambda viewer, case, **kw: computed.append(case.id) or computing(
        viewer, case, **kw))

    archive_services.update_case(reload(cast.author), reload(earlier), changes)

    assert [tuple(row) for row in db.session.execute(select(
        IndexChange.case_id, IndexChange.comments_only, IndexChange.own_text_only).where(IndexChange.id > last))] == [
        (earlier.id, False, True)]
    assert computed == [earlier.id]  # its own list, nobody else's
    assert stored(earlier.id) is not None
    for other in (again, third):
        assert earlier.id in stored(other.id)
        kept, now = shown(other, VISITOR), live(other, VISITOR)
        assert [(case_id, why) for case_id, _, why in kept] == [(case_id, why) for case_id, _, why in now]
        assert [score for _, score, _ in kept] == pytest.approx([score for _, score, _ in now], rel=0.02)

    archive_services.update_case(reload(cast.author), reload(earlier), {**changes, "title": "Solar in Samarkand"})

    assert stored(again.id) is None and stored(third.id) is None


def outbox_rows_since(last: int) -> list[tuple[int, bool]]:
    return [tuple(row) for row in db.session.execute(select(IndexChange.case_id, IndexChange.comments_only)
                                                     .where(IndexChange.id > last).order_by(IndexChange.id))]


def test_a_comment_keeps_the_stored_lists_and_an_edit_in_the_same_commit_does_not(ctx, cast, make_case):
    """"Find similar" does not read comments: a comment rewrites its case's document, not the lists."""
    earlier = make_case(cast.author, **SOLAR)
    again = make_case(cast.author, **SOLAR_AGAIN)
    neighbours.compute_missing()
    before = {case.id: stored(case.id) for case in (earlier, again)}
    assert before[again.id] == [earlier.id] and before[earlier.id] == [again.id]
    last = db.session.scalar(select(func.max(IndexChange.id)))

    comment_services.create_comment(reload(cast.member_a), reload(earlier), {"body": "Same grid trouble in Osh."})

    assert {case.id: stored(case.id) for case in (earlier, again)} == before
    assert outbox_rows_since(last) == [(earlier.id, True)]

    last = db.session.scalar(select(func.max(IndexChange.id)))
    case = reload(earlier)
    case.title = "Rooftop solar leasing for Tashkent textile factories"
    comment_services.create_comment(reload(cast.member_a), case, {"body": "And in Bukhara."})  # commits both

    assert (earlier.id, False) in outbox_rows_since(last)
    assert stored(again.id) is None  # it lists the edited case: dropped, to be computed again


def test_an_edit_or_import_that_changes_nothing_keeps_the_document_and_the_lists(ctx, cast, make_case):
    """A form saved as it was, or an archive imported again, gives the cases their own values: no outbox row."""
    earlier = make_case(cast.author, external_id="solar-1", **SOLAR)
    again = make_case(cast.author, external_id="solar-2", **SOLAR_AGAIN)
    neighbours.compute_missing()
    before = {case.id: stored(case.id) for case in (earlier, again)}
    last = db.session.scalar(select(func.max(IndexChange.id)))
    lines = [line for line in export_cases()]

    archive_services.update_case(reload(cast.author), reload(earlier),
                                 {"title": SOLAR["title"], "causes": SOLAR["causes"]})
    counts = import_cases(lines)

    assert counts == {"created": 0, "updated": 0, "unchanged": 2}
    assert outbox_rows_since(last) == []
    assert {case.id: stored(case.id) for case in (earlier, again)} == before

    changed = [json.loads(line) for line in lines]
    changed[1].update(causes=["market.no_demand"], primary_cause="market.no_demand")
    assert import_cases([json.dumps(row) for row in changed]) == {"created": 0, "updated": 1, "unchanged": 1}
    assert set(outbox_rows_since(last)) == {(again.id, False)}
    assert stored(earlier.id) is None  # it listed the changed case


@pytest.mark.parametrize("hide", ["private", "park", "retract", "merge"])
def test_a_neighbour_hidden_since_is_never_shown(app, ctx, cast, make_case, hide):
    earlier = make_case(cast.author, **SOLAR)
    again = make_case(cast.author, **SOLAR_AGAIN)
    third = make_case(cast.author, **SOLAR_THIRD)
    assert earlier.id in [case_id for case_id, _, _ in shown(again, VISITOR)]
    author = reload(cast.author)
    if hide in ("private", "park"):
        archive_services.update_case(author, reload(earlier), {"visibility": hide})
    elif hide == "retract":
        archive_services.retract_case(author, reload(earlier), {"reason": "Filed twice by mistake."})
    else:
        link_services.merge_case(reload(cast.admin), reload(earlier), {"kept_id": third.id, "confirm_visibility": True})

    for viewer in (VISITOR, reload(cast.member_b), reload(cast.member_a) if hide != "park" else VISITOR):
        assert earlier.id not in [case_id for case_id, _, _ in shown(again, viewer)]


def test_the_read_filters_even_a_list_that_was_not_refreshed(ctx, cast, make_case, monkeypatch):
    """A change that skipped the hooks (raw SQL, a restore) leaves a stale list: the join still hides the case."""
    earlier = make_case(cast.author, **SOLAR)
    gone = make_case(cast.author, **SOLAR_THIRD)
    again = make_case(cast.author, **SOLAR_AGAIN)
    assert set(stored(again.id)) >= {earlier.id, gone.id}

    no_search(monkeypatch)
    db.session.execute(update(FailureCase).where(FailureCase.id == earlier.id).values(visibility=Visibility.private))
    db.session.execute(delete(CaseCause).where(CaseCause.case_id == gone.id))
    db.session.execute(delete(FailureCase).where(FailureCase.id == gone.id))
    db.session.commit()

    assert [case_id for case_id, _, _ in shown(again, VISITOR)] == []


def test_a_park_member_reads_their_parks_stored_list(ctx, cast, make_case, monkeypatch):
    """Members of a park with park cases may open exactly the public cases and those: their own list, stored."""
    again = make_case(cast.author, **SOLAR_AGAIN)
    restricted = make_case(cast.curator_b, **dict(SOLAR, visibility="park"))
    member_b = reload(cast.member_b)
    expected = live(again, member_b)
    assert restricted.id in ids(expected)
    neighbours.compute_missing()

    no_search(monkeypatch)
    assert neighbours.audience_of(member_b) == park_of(cast.member_b)
    assert shown(again, member_b) == expected
    assert shown(again, reload(cast.curator_b)) == expected  # their own case is a park case: the same audience
    assert stored(again.id, park_of(cast.member_b)) == ids(expected)
    assert stored(restricted.id, park_of(cast.member_b)) == [again.id]
    assert stored(restricted.id) is None  # not a visitor's case
    for viewer in (VISITOR, reload(cast.member_a)):  # park A has no park case: the public list
        assert restricted.id not in ids(shown(again, viewer))


def test_viewers_who_may_open_more_than_an_audience_get_the_live_list(ctx, cast, make_case):
    again = make_case(cast.author, **SOLAR_AGAIN)
    restricted = make_case(cast.curator_b, **dict(SOLAR, visibility="private"))

    for name in ("curator_b", "manager_b", "admin"):  # the author, the park's manager, an admin
        viewer = reload(getattr(cast, name))
        assert neighbours.audience_of(viewer) is None
        assert shown(again, viewer) == live(again, viewer)
        assert restricted.id in ids(shown(again, viewer))
    assert neighbours.audience_of(reload(cast.member_b)) == neighbours.PUBLIC
    assert restricted.id not in ids(shown(again, reload(cast.member_b)))
    assert stored(restricted.id) is None and neighbours.missing_ids() == []  # no audience's case


def test_a_park_members_list_never_holds_another_parks_cases(ctx, cast, make_case):
    again = make_case(cast.author, **SOLAR_AGAIN)
    park_a = make_case(cast.curator_a, **dict(SOLAR, visibility="park"))
    park_b = make_case(cast.curator_b, **dict(SOLAR_THIRD, visibility="park"))
    neighbours.compute_missing()
    assert neighbours.missing() == []

    lists = {name: ids(shown(again, reload(getattr(cast, name)))) for name in ("member_a", "member_b")}

    assert park_a.id in lists["member_a"] and park_b.id not in lists["member_a"]
    assert park_b.id in lists["member_b"] and park_a.id not in lists["member_b"]
    assert stored(park_a.id, park_of(cast.member_a)) == [again.id]
    assert stored(park_b.id, park_of(cast.member_b)) == [again.id]
    assert stored(again.id) == []  # the visitors' list of the only public case: nothing else is public


@pytest.mark.parametrize("change", ["other park", "private", "public"])
def test_a_park_list_after_visibility_changes_made_in_sql(ctx, cast, make_case, monkeypatch, change):
    """Changes that skipped the hooks leave the lists as they were: the read's join, and the audience checked
    in SQL on every request, still show nobody a case they may not open, and never another park's list."""
    again = make_case(cast.author, **SOLAR_AGAIN)
    park_a = make_case(cast.curator_a, **dict(SOLAR, visibility="park"))
    make_case(cast.curator_a, **dict(BAKERY, visibility="park"))  # park A keeps a park case
    make_case(cast.curator_b, **dict(SOLAR_THIRD, visibility="park"))
    neighbours.compute_missing()
    assert park_a.id in stored(again.id, park_of(cast.member_a))

    values = {"other park": {"park_id": reload(cast.member_b).park_id}, "private": {"visibility": Visibility.private},
              "public": {"visibility": Visibility.public}}[change]
    db.session.execute(update(FailureCase).where(FailureCase.id == park_a.id).values(**values))
    db.session.commit()
    no_search(monkeypatch)

    member_a, member_b = reload(cast.member_a), reload(cast.member_b)
    # park A's list names it: shown while park A's members may open it ("public"), else not
    assert neighbours.audience_of(member_a) == park_of(member_a)
    assert (park_a.id in ids(shown(again, member_a))) == (change == "public")
    # park B's list was ranked without it: never read from park A's
    assert neighbours.audience_of(member_b) == park_of(member_b)
    assert park_a.id not in ids(shown(again, member_b))
    for viewer in (member_a, member_b, VISITOR):
        assert all(may_open(viewer, case_id) for case_id in ids(shown(again, viewer)))


def test_a_viewer_whose_access_grows_past_their_audience_gets_the_live_list(ctx, cast, make_case, monkeypatch):
    """Made in SQL the author of a private case, a park member may open more than their park's audience (the
    index, which the change skipped, still finds the case for its old author only)."""
    again = make_case(cast.author, **SOLAR_AGAIN)
    make_case(cast.curator_b, **dict(SOLAR_THIRD, visibility="park"))
    private = make_case(cast.curator_b, **dict(SOLAR, visibility="private"))
    neighbours.compute_missing()
    assert private.id not in ids(shown(again, reload(cast.member_b)))

    db.session.execute(update(FailureCase).where(FailureCase.id == private.id).values(author_id=cast.member_b.id))
    db.session.commit()

    member_b = reload(cast.member_b)
    searched = counting_searches(monkeypatch)
    assert neighbours.audience_of(member_b) is None
    assert shown(again, member_b) == live(again, member_b) and searched == [again.id]
    assert neighbours.audience_of(reload(cast.curator_b)) == park_of(cast.curator_b)  # no case outside it now
    assert private.id not in ids(shown(again, reload(cast.curator_b))) and len(searched) == 1  # stored


def test_a_changed_case_drops_the_lists_naming_it_in_every_audience(ctx, cast, make_case):
    earlier = make_case(cast.author, **SOLAR)
    again = make_case(cast.author, **SOLAR_AGAIN)
    restricted = make_case(cast.curator_b, **dict(SOLAR_THIRD, visibility="park"))
    neighbours.compute_missing()
    park_b = park_of(cast.member_b)
    assert earlier.id in stored(again.id) and earlier.id in stored(again.id, park_b)
    assert earlier.id in stored(restricted.id, park_b)

    archive_services.update_case(reload(cast.author), reload(earlier), {"title": "Solar leasing in Samarkand"})

    assert stored(again.id) is None and stored(again.id, park_b) is None and stored(restricted.id, park_b) is None
    assert stored(earlier.id) is not None and stored(earlier.id, park_b) is not None  # computed at the drain
    assert shown(again, reload(cast.member_b)) == live(again, reload(cast.member_b))


def may_open(viewer, case_id: int) -> bool:
    return can(viewer, "case.view", db.session.get(FailureCase, case_id))


def counting_searches(monkeypatch) -> list[int]:
    """Count the live similar searches of the neighbours module from now on (one id per search)."""
    searched = []

    def search(viewer, case, limit=10):
        searched.append(case.id)
        return similar_to_case(viewer, case, limit=limit)
    monkeypatch.setattr(neighbours, "similar_to_case", search)
    return searched


def test_a_restricted_viewers_live_list_is_kept_until_the_index_changes(ctx, cast, make_case, monkeypatch):
    again = make_case(cast.author, **SOLAR_AGAIN)
    restricted = make_case(cast.curator_b, **dict(SOLAR, visibility="private"))
    manager_b = reload(cast.manager_b)
    expected = live(again, manager_b)
    searched = counting_searches(monkeypatch)

    assert shown(again, manager_b) == expected and searched == [again.id]
    assert shown(again, manager_b) == expected and searched == [again.id]  # kept: no second search
    third = make_case(cast.author, **SOLAR_THIRD)  # the index changed

    after = shown(again, manager_b)
    assert searched.count(again.id) == 2  # (the drain computed the new case's stored list besides)
    assert {third.id, restricted.id} <= set(ids(after))


def test_a_kept_live_list_serves_only_viewers_with_the_same_access(ctx, cast, make_case, monkeypatch):
    again = make_case(cast.author, **SOLAR_AGAIN)
    make_case(cast.curator_b, **dict(SOLAR, visibility="private"))
    searched = counting_searches(monkeypatch)
    shown(again, reload(cast.manager_b))

    shown(again, reload(cast.curator_b))  # the private case too, as its author: another access filter

    assert searched == [again.id, again.id]


@pytest.mark.parametrize("viewer", ["member_b", "manager_b"])
def test_a_kept_or_stored_list_never_shows_a_case_hidden_since(ctx, cast, make_case, viewer):
    """Even a change that skipped the hooks (the index did not change): the cases are checked again, in the
    stored park list (member_b) as in the kept live one (manager_b, who may open the park's private case)."""
    again = make_case(cast.author, **SOLAR_AGAIN)
    restricted = make_case(cast.curator_b, **dict(SOLAR, visibility="park"))
    make_case(cast.curator_b, **dict(BAKERY, visibility="private"))
    user = reload(getattr(cast, viewer))
    assert (neighbours.audience_of(user) is None) == (viewer == "manager_b")
    assert restricted.id in ids(shown(again, user))

    db.session.execute(update(FailureCase).where(FailureCase.id == restricted.id)
                       .values(visibility=Visibility.private))
    db.session.commit()

    assert (restricted.id in ids(shown(again, reload(getattr(cast, viewer))))) == (viewer == "manager_b")


def test_a_restricted_case_gets_no_stored_list(ctx, cast, make_case):
    make_case(cast.author, **SOLAR)
    private = make_case(cast.author, **dict(SOLAR_AGAIN, visibility="private"))
    assert stored(private.id) is None
    assert neighbours.compute([private.id]) == 0 and stored(private.id) is None
    assert private.id not in neighbours.missing_ids()


def test_computing_a_cases_lists_keeps_those_stored_when_trends_read_them(ctx, cast, make_case):
    """`compute` drops the lists of audiences a case no longer belongs to; an admin's list ("all", stored when
    trends read it) is not one of those, and was deleted with them (a bench's compute made trends search again)."""
    make_case(cast.author, **SOLAR)
    case = make_case(cast.author, **SOLAR_AGAIN)
    neighbours.ensure_computed([reload(case)], neighbours.EVERY)
    kept = stored(case.id, neighbours.EVERY)
    assert kept is not None

    assert neighbours.compute([case.id]) == 1

    assert stored(case.id, neighbours.EVERY) == kept and stored(case.id) is not None


@pytest.mark.skipif(databases.suite_url() is None, reason="SQLite lets one writer at a time: no two store one list")
@pytest.mark.parametrize("computing", ["worker", "reader"])
def test_a_list_stored_meanwhile_by_another_process_is_noted_not_warned_about(ctx, cast, make_case, caplog, computing):
    """The refill thread of the embedded default and a trends visit (or two processes) may compute the same pending
    list at once; the second insert fails on the primary key. Either list will do: that is no fault to warn of,
    with a traceback, in an operator's log."""
    make_case(cast.author, **SOLAR)
    case = make_case(cast.author, **SOLAR_AGAIN)
    db.session.execute(delete(CaseNeighbour).where(CaseNeighbour.case_id == case.id))
    db.session.execute(delete(NeighbourList).where(NeighbourList.case_id == case.id))
    db.session.commit()
    other, inserted = create_engine(db.engine.url), []  # another process's connection, and whether it stored

    def store_in_between(connection, cursor, statement, *args):
        if statement.startswith("DELETE FROM neighbour_list") and not inserted:  # this writer's, in _store
            inserted.append(True)
            with other.begin() as theirs:
                theirs.execute(insert(NeighbourList).values(case_id=case.id, audience=neighbours.PUBLIC,
                                                            pending=False, computed_at=datetime.now(timezone.utc)))
    event.listen(db.engine, "after_cursor_execute", store_in_between)
    try:
        with caplog.at_level(logging.INFO, logger="zhigu.search.neighbours"):
            if computing == "worker":  # zhigu worker, the refill thread
                assert neighbours.compute_lists([(case.id, neighbours.PUBLIC)]) == 0
            else:  # a trends visit that finds the list missing
                neighbours.ensure_computed([reload(case)], neighbours.PUBLIC)
    finally:
        event.remove(db.engine, "after_cursor_execute", store_in_between)
        other.dispose()

    records = [record for record in caplog.records if record.name == "zhigu.search.neighbours"]
    assert inserted
    assert [record.levelno for record in records] == [logging.INFO] and "meanwhile" in records[0].getMessage()
    assert stored(case.id) == []  # the other process's list (it stored no rows in this test), read as usual


def test_the_drain_computes_a_bounded_number_and_the_rest_fill_in(app, ctx, cast, make_case):
    app.config["NEIGHBOURS_AT_DRAIN"] = 0
    cases = [make_case(cast.author, **SOLAR), make_case(cast.author, **SOLAR_AGAIN)]
    assert [stored(case.id) for case in cases] == [None, None]
    assert neighbours.missing_ids() == [case.id for case in cases]

    assert neighbours.compute_missing() == 2
    assert [stored(case.id) for case in cases] == [[cases[1].id], [cases[0].id]]


def test_computing_the_missing_lists_stops_at_its_deadline(app, ctx, cast, make_case, monkeypatch):
    """`zhigu worker` goes back to the outbox after its WORK_SECONDS of lists, however many are left."""
    app.config["NEIGHBOURS_AT_DRAIN"] = 0
    cases = [make_case(cast.author, **SOLAR), make_case(cast.author, **SOLAR_AGAIN)]
    compute_lists = neighbours.compute_lists

    def slow(pairs):  # each list takes longer than the time given
        time.sleep(0.3)
        return compute_lists(pairs)
    monkeypatch.setattr(neighbours, "compute_lists", slow)

    assert neighbours.compute_missing(deadline=time.monotonic() + 0.1) == 1
    assert neighbours.missing_ids() == [cases[1].id]
    assert neighbours.compute_missing(deadline=time.monotonic()) == 0
    assert neighbours.compute_missing(deadline=time.monotonic() + 60) == 1 and neighbours.missing_ids() == []


@pytest.mark.parametrize("command", [["search", "rebuild", "--neighbours"], ["search", "neighbours"]])
def test_rebuild_drops_the_lists_and_neighbours_computes_them_again(app, ctx, cast, make_case, runner, command):
    earlier = make_case(cast.author, **SOLAR)
    again = make_case(cast.author, **SOLAR_AGAIN)
    make_case(cast.author, **dict(BAKERY, visibility="private"))
    db.session.execute(update(CaseNeighbour).values(score=0.0))  # as if from an older index
    db.session.commit()

    rebuilt = runner.invoke(args=["search", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert db.session.scalar(select(func.count()).select_from(CaseNeighbour)) == 0  # left to the worker

    result = runner.invoke(args=command)

    assert result.exit_code == 0, result.output
    assert "Stored 2 nearest-case list(s)." in result.output
    assert stored(earlier.id) == [again.id] and stored(again.id) == [earlier.id]
    assert 0.0 not in db.session.scalars(select(CaseNeighbour.score)).all()


def stored_rows() -> list[tuple]:
    return [tuple(row) for row in db.session.execute(select(
        CaseNeighbour.case_id, CaseNeighbour.audience, CaseNeighbour.rank, CaseNeighbour.neighbour_id,
        CaseNeighbour.score, CaseNeighbour.why).order_by(CaseNeighbour.case_id, CaseNeighbour.audience,
                                                          CaseNeighbour.rank))]


def test_neighbours_in_two_processes_store_what_one_stores(app, ctx, cast, make_case, runner, monkeypatch):
    """`search neighbours --processes 2` deals the missing lists out to two forked processes (each with its own
    connection and index files): every list, of every audience, comes out as one process makes it."""
    monkeypatch.setattr(parallel_neighbours, "MIN_PER_PROCESS", 1)
    for values in (SOLAR, SOLAR_AGAIN, SOLAR_THIRD, BAKERY, dict(BAKERY, title="Bakery franchise in Osh")):
        make_case(cast.author, **values)
    make_case(cast.curator_b, **dict(SOLAR, title="Solar leases for Osh mills", visibility="park"))
    neighbours.drop_all()
    assert runner.invoke(args=["search", "neighbours"]).exit_code == 0
    one_process = stored_rows()
    assert {audience for _, audience, *_ in one_process} == {neighbours.PUBLIC, park_of(cast.curator_b)}
    neighbours.drop_all()

    result = runner.invoke(args=["search", "neighbours", "--processes", "2"])

    assert result.exit_code == 0, result.output
    db.session.expire_all()
    lists = db.session.scalar(select(func.count()).select_from(NeighbourList))
    assert f"Stored {lists} nearest-case list(s)." in result.output and neighbours.missing() == []
    assert stored_rows() == one_process


def test_a_failed_neighbours_process_is_reported_and_the_others_lists_are_kept(app, ctx, cast, make_case, runner,
                                                                              monkeypatch):
    monkeypatch.setattr(parallel_neighbours, "MIN_PER_PROCESS", 1)
    cases = [make_case(cast.author, **values).id for values in (SOLAR, SOLAR_AGAIN, SOLAR_THIRD, BAKERY)]
    neighbours.drop_all()
    computing = neighbours.compute_lists

    def failing_for_the_first(pairs, **options):
        if pairs[0][0] == cases[0]:
            raise RuntimeError("disk full")
        return computing(pairs, **options)
    monkeypatch.setattr(neighbours, "compute_lists", failing_for_the_first)

    result = runner.invoke(args=["search", "neighbours", "--processes", "2"])

    assert result.exit_code == 1
    assert "Nearest-case process 1 failed" in result.output and "disk full" in result.output
    assert "run the command again" in result.output
    db.session.expire_all()
    assert neighbours.missing_ids() == [cases[0], cases[2]]  # process 1's share: its first list failed
    assert stored(cases[1]) is not None and stored(cases[3]) is not None


def test_the_case_page_reads_the_stored_list(app, cast, make_case, client, monkeypatch):
    earlier = make_case(cast.author, **SOLAR)
    again = make_case(cast.author, **SOLAR_AGAIN)
    no_search(monkeypatch)

    page = client.get(f"/cases/{again.id}").get_data(as_text=True)

    assert earlier.title in page


@pytest.mark.parametrize("page", ["case", "links", "merge"])
def test_a_park_members_pages_read_their_parks_stored_list(app, cast, make_case, auth, monkeypatch, page):
    """The case page's similar cases, the link form's suggestions and the merge page's likely duplicates."""
    again = make_case(cast.author, **SOLAR_AGAIN)
    restricted = make_case(cast.curator_b, **dict(SOLAR, visibility="park"))
    second = make_case(cast.curator_b, **dict(SOLAR_THIRD, visibility="park"))
    with app.app_context():
        neighbours.compute_missing()
    no_search(monkeypatch)
    monkeypatch.setattr("zhigu.links.views.similar_to_case", lambda *a, **k: pytest.fail("searched"))
    path = {"case": "/cases/{}", "links": "/cases/{}/links", "merge": "/cases/{}/merge"}[page]
    park_b, park_a = {"case": ("member_b", "member_a"), "links": ("curator_b", "curator_a"),
                      "merge": ("manager_b", "manager_a")}[page]

    seen_in_b = auth.login(getattr(cast, park_b)).get(path.format(second.id)).get_data(as_text=True)
    seen_in_a = auth.login(getattr(cast, park_a)).get(path.format(again.id)).get_data(as_text=True)

    assert restricted.title in seen_in_b
    assert restricted.title not in seen_in_a and second.title not in seen_in_a


def test_the_worker_fills_in_the_lists_the_drain_left(app, ctx, cast, make_case, runner, monkeypatch):
    app.config["NEIGHBOURS_AT_DRAIN"] = 0
    cases = [make_case(cast.author, **SOLAR), make_case(cast.author, **SOLAR_AGAIN)]
    assert neighbours.missing_ids() == [case.id for case in cases]

    result = runner.invoke(args=["worker", "--once"])

    assert result.exit_code == 0, result.output
    assert neighbours.missing_ids() == [] and stored(cases[0].id) == [cases[1].id]


def test_a_failing_refresh_never_fails_the_index_update(ctx, cast, make_case, index, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("database gone")
    make_case(cast.author, **BAKERY)  # the first drain rebuilds the new index
    monkeypatch.setattr(neighbours, "refresh", broken)

    with caplog.at_level(logging.WARNING, logger="zhigu.search.outbox"):
        case = make_case(cast.author, **SOLAR)

    assert index.document_count() == 2 and stored(case.id) is None
    assert "Could not refresh the stored neighbours" in caplog.text
    assert shown(case, VISITOR) == live(case, VISITOR)  # the live query, then stored
    assert stored(case.id) == [r[0] for r in live(case, VISITOR)]


def test_an_unpublished_case_has_no_neighbours(ctx, cast, make_case):
    make_case(cast.author, **SOLAR)
    draft = make_case(cast.author, status="draft", **SOLAR_AGAIN)
    assert shown(draft, VISITOR) == [] and stored(draft.id) is None
