"""Stored nearest cases (zhigu.search.neighbours): computed when cases change, read through the visibility
clause, the live query for viewers who may open more and for cases not computed yet."""
import json
import logging

import pytest

import databases
from flask_login import AnonymousUserMixin
from sqlalchemy import delete, func, select, update

from helpers import reload
from zhigu import config
from zhigu.archive import services as archive_services
from zhigu.archive.models import CaseCause, FailureCase, Visibility
from zhigu.archive.transfer import export_cases, import_cases
from zhigu.comments import services as comment_services
from zhigu.extensions import db
from zhigu.links import services as link_services
from zhigu.search import neighbours
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


def stored(case_id: int) -> list[int] | None:
    """The stored neighbour ids of a case, None when its list is not computed."""
    if db.session.get(NeighbourList, case_id) is None:
        return None
    return list(db.session.scalars(select(CaseNeighbour.neighbour_id).where(CaseNeighbour.case_id == case_id)
                                   .order_by(CaseNeighbour.rank)))


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
    mark = db.session.get(NeighbourList, again.id)  # this session has seen the list's mark (and keeps it)
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


def test_viewers_who_may_open_restricted_cases_get_the_live_list(ctx, cast, make_case):
    again = make_case(cast.author, **SOLAR_AGAIN)
    restricted = make_case(cast.curator_b, **dict(SOLAR, visibility="park"))

    assert restricted.id not in [case_id for case_id, _, _ in shown(again, VISITOR)]
    assert restricted.id not in [case_id for case_id, _, _ in shown(again, reload(cast.member_a))]
    member_b = reload(cast.member_b)
    assert not neighbours.sees_only_public(member_b)
    assert shown(again, member_b) == live(again, member_b)
    assert restricted.id in [case_id for case_id, _, _ in shown(again, member_b)]
    assert stored(restricted.id) is None  # only public cases have a stored list


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
    restricted = make_case(cast.curator_b, **dict(SOLAR, visibility="park"))
    member_b = reload(cast.member_b)
    expected = live(again, member_b)
    searched = counting_searches(monkeypatch)

    assert shown(again, member_b) == expected and searched == [again.id]
    assert shown(again, member_b) == expected and searched == [again.id]  # kept: no second search
    third = make_case(cast.author, **SOLAR_THIRD)  # the index changed

    after = shown(again, member_b)
    assert searched.count(again.id) == 2  # (the drain computed the new case's stored list besides)
    assert {third.id, restricted.id} <= {case_id for case_id, _, _ in after}


def test_a_kept_live_list_serves_only_viewers_with_the_same_access(ctx, cast, make_case, monkeypatch):
    again = make_case(cast.author, **SOLAR_AGAIN)
    make_case(cast.curator_b, **dict(SOLAR, visibility="park"))
    searched = counting_searches(monkeypatch)
    shown(again, reload(cast.member_b))

    shown(again, reload(cast.curator_b))  # park B too, but their own cases besides

    assert searched == [again.id, again.id]


def test_a_kept_live_list_never_shows_a_case_hidden_since(ctx, cast, make_case, monkeypatch):
    """Even a change that skipped the hooks (the index did not change): the cases are checked again."""
    again = make_case(cast.author, **SOLAR_AGAIN)
    restricted = make_case(cast.curator_b, **dict(SOLAR, visibility="park"))
    member_b = reload(cast.member_b)
    assert restricted.id in [case_id for case_id, _, _ in shown(again, member_b)]

    db.session.execute(update(FailureCase).where(FailureCase.id == restricted.id)
                       .values(visibility=Visibility.private))
    db.session.commit()

    assert restricted.id not in [case_id for case_id, _, _ in shown(again, reload(cast.member_b))]


def test_a_restricted_case_gets_no_stored_list(ctx, cast, make_case):
    make_case(cast.author, **SOLAR)
    private = make_case(cast.author, **dict(SOLAR_AGAIN, visibility="private"))
    assert stored(private.id) is None
    assert neighbours.compute([private.id]) == 0 and stored(private.id) is None
    assert private.id not in neighbours.missing_ids()


def test_the_drain_computes_a_bounded_number_and_the_rest_fill_in(app, ctx, cast, make_case):
    app.config["NEIGHBOURS_AT_DRAIN"] = 0
    cases = [make_case(cast.author, **SOLAR), make_case(cast.author, **SOLAR_AGAIN)]
    assert [stored(case.id) for case in cases] == [None, None]
    assert neighbours.missing_ids() == [case.id for case in cases]

    assert neighbours.compute_missing() == 2
    assert [stored(case.id) for case in cases] == [[cases[1].id], [cases[0].id]]


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
    assert "Stored the nearest cases of 2 public case(s)." in result.output
    assert stored(earlier.id) == [again.id] and stored(again.id) == [earlier.id]
    assert 0.0 not in db.session.scalars(select(CaseNeighbour.score)).all()


def test_the_case_page_reads_the_stored_list(app, cast, make_case, client, monkeypatch):
    earlier = make_case(cast.author, **SOLAR)
    again = make_case(cast.author, **SOLAR_AGAIN)
    no_search(monkeypatch)

    page = client.get(f"/cases/{again.id}").get_data(as_text=True)

    assert earlier.title in page


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
