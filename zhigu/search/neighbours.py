"""Each public case's nearest cases, computed when it changes and stored, so pages read a table, not the index.

What is stored. For every published public case, the STORED nearest cases "find similar" gives a visitor
(`similar_to_case` with an anonymous viewer: public candidates, public statistics), with their scores and
`why`, in `case_neighbour`; `neighbour_list` marks the cases whose list is computed. Only what a visitor sees
is stored, so no stored score, rank or `why` word can come from a case someone may not open.

Who reads them. `neighbours_for(case, viewer)` serves a stored list to a viewer who may open exactly the
public cases (visitors, and members who may open no restricted case: `sees_only_public`); for them the live
query gives the same list. The rows are joined with the viewer's visibility clause, so a neighbour made
private, retracted or deleted since is never shown. A viewer who may open more (their park's or their own
restricted cases, admins) gets the live query, which also ranks those cases, scored with that viewer's
statistics; the process keeps its answer (`live_for`) for as long as the index does not change, for that
viewer's access filter only. A case without a stored list falls back to the live query too, and the
visitor's answer is stored then (on a connection of its own: a page never commits its request's session).

When they are computed. After the outbox drain has applied changes to the index (zhigu.search.outbox.drain,
in the web process right after a commit, its catch-up thread or `zhigu worker`), `refresh` drops the lists
of the changed cases, of the cases that list one of them, and of the cases a changed case now lists (a new
case may belong in their lists), then computes the lists of up to NEIGHBOURS_AT_DRAIN (config) changed cases.
The others fill in on their next read, or in `zhigu worker` (WORKER_BATCH per poll). A change of a case's
comments alone changes no list: "find similar" does not read comments. With the multilingual extra, a case
whose text has no vector yet gets a list by its words alone (embedding its text in the request or the drain
took 0.2-0.5 s of CPU), dropped when the vector is stored (`dense.vectors_stored`). A rebuild drops every
list; `zhigu search neighbours` (or `rebuild --neighbours`) computes them all at once. Several machines, each with its own index, may compute the
same list: each write replaces the whole list in one transaction, and a clash is ignored.
"""
import copy
import logging
import weakref

from flask import current_app, g, has_app_context, has_request_context
from flask_login import AnonymousUserMixin
from sqlalchemy import delete, exists, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from zhigu.archive.models import CaseCause, CaseStatus, FailureCase, Visibility
from zhigu.archive.permissions import published_visible_clause, viewer_tokens
from zhigu.extensions import db
from zhigu.search import dense, outbox
from zhigu.search.models import CaseNeighbour, NeighbourList
from zhigu.search.services import SearchResult, access_filter, current_index, load_visible
from zhigu.search.similar import similar_to_case
from zhigu.search.statistics import PUBLIC_TOKEN

log = logging.getLogger(__name__)

#: Neighbours stored per case: the case page's SIMILAR_LIMIT and the nine trends' recurrences look at.
STORED = 10
#: Lists `zhigu worker` fills in per poll.
WORKER_BATCH = 100
#: flask.g key: whether the request's viewers see only public cases, by user id.
_ONLY_PUBLIC = "zhigu_sees_only_public"
#: Live lists kept per searcher (one index generation, in one thread), by access filter, case and length:
#: (case id, score, why) of each result. A manager's trends page ran 30 live queries on every visit.
_LIVE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
#: Lists kept per searcher before they are all dropped (each is ten ids, scores and `why`s).
MAX_LIVE_LISTS = 5_000


def sees_only_public(viewer) -> bool:
    """Whether `viewer` may open exactly the published public cases (then a stored list is what they'd get)."""
    tokens = viewer_tokens(viewer)
    if tokens is None:
        return False  # an admin: their live ranking counts every case
    if tokens == [PUBLIC_TOKEN]:
        return True
    memo = g.setdefault(_ONLY_PUBLIC, {}) if has_request_context() else {}
    key = getattr(viewer, "id", None)
    if key not in memo:
        memo[key] = not db.session.scalar(select(exists().where(
            published_visible_clause(viewer), FailureCase.visibility != Visibility.public)))
    return memo[key]


def neighbours_for(case: FailureCase, viewer, limit: int = STORED) -> list[SearchResult]:
    """The published cases most like a published `case` that `viewer` may open, with score and `why`.

    From the stored list when the viewer sees only public cases, else (or when the list is not computed
    yet) from the live query.
    """
    if not case.is_published:
        return []
    if limit > STORED or not sees_only_public(viewer):
        return live_for(viewer, case, limit)
    # The rows first, the mark only when none is shown: another process may drop the list (and commit)
    # between two statements, and on PostgreSQL each statement sees the latest commit. Read the other way
    # round, a list dropped in between read as an empty list instead of the live one.
    rows = db.session.execute(
        select(CaseNeighbour, FailureCase).join(FailureCase, FailureCase.id == CaseNeighbour.neighbour_id)
        .where(CaseNeighbour.case_id == case.id, published_visible_clause(viewer))
        .options(selectinload(FailureCase.case_causes).joinedload(CaseCause.cause))
        .order_by(CaseNeighbour.rank).limit(limit)).all()
    if not rows and not db.session.scalar(select(exists().where(NeighbourList.case_id == case.id))):
        return _computed_live(case, viewer)[:limit]
    return [SearchResult(case=neighbour, score=row.score, why=row.why) for row, neighbour in rows]


def live_for(viewer, case: FailureCase, limit: int) -> list[SearchResult]:
    """`similar_to_case` for `viewer`, kept until the index changes, for viewers with the same access filter.

    The answer depends on the index generation (what may be found and the statistics over it), the viewer's
    access filter (what they may open) and the published case, whose every change reaches the index: so it is
    valid while the searcher is. The cases are loaded again, each checked against the viewer once more.
    """
    searcher = current_index().searcher()
    lists = _LIVE.setdefault(searcher, {})
    key = (repr(access_filter(viewer)), case.id, limit, _lacks_vector(case))
    kept = lists.get(key)
    if kept is None:
        results = similar_to_case(viewer, case, limit=limit)
        if len(lists) >= MAX_LIVE_LISTS:
            lists.clear()
        lists[key] = [(result.case.id, result.score, copy.deepcopy(result.why)) for result in results]
        return results
    cases = load_visible(viewer, [case_id for case_id, _, _ in kept])
    return [SearchResult(case=cases[case_id], score=score, why=copy.deepcopy(why))
            for case_id, score, why in kept if case_id in cases]


def ensure_computed(cases: list[FailureCase]) -> None:
    """Compute and store the lists of those `cases` that have none (trends reads the table next)."""
    ids = [case.id for case in cases]
    done = set(db.session.scalars(select(NeighbourList.case_id).where(NeighbourList.case_id.in_(ids))))
    for case in cases:
        if case.id not in done and _storable(case):
            _computed_live(case, AnonymousUserMixin())


def _storable(case: FailureCase) -> bool:
    return case.status == CaseStatus.published and case.visibility == Visibility.public


def _lacks_vector(case: FailureCase) -> bool:
    """Whether the case's list is computed without the vector side (hybrid.fuse): the multilingual extra is on
    and its current text has no vector yet."""
    return dense.enabled() and not dense.has_vector(case)


def _keep_unless_embedded(case: FailureCase, lacked_vector: bool) -> None:
    """After storing a list computed without the case's vector (committed): drop it if the vector was stored
    meanwhile. The process that stored the vector drops the case's lists after its commit
    (_drop_after_embedding), so a list committed after that drop is caught here: it is computed again."""
    if lacked_vector and dense.has_vector(case):
        _drop([case.id])
        db.session.commit()


def _computed_live(case: FailureCase, viewer) -> list[SearchResult]:
    """The live list of a visitor's view, stored for the next reader when the case may have one."""
    lacked_vector = _storable(case) and _lacks_vector(case)
    results = similar_to_case(viewer, case, limit=STORED)
    if _storable(case):
        try:
            with current_app.app_context():  # a session of its own: the page's session is not committed
                _store(case.id, results)
                db.session.commit()
                _keep_unless_embedded(case, lacked_vector)
        except SQLAlchemyError:
            log.warning("Could not store the neighbours of case %s; they are computed again", case.id, exc_info=True)
    return results


def _store(case_id: int, results: list[SearchResult]) -> None:
    """Replace a case's stored list (on the current session; the caller commits)."""
    _drop([case_id])
    db.session.add(NeighbourList(case_id=case_id))
    db.session.flush()
    db.session.add_all(CaseNeighbour(case_id=case_id, rank=rank, neighbour_id=result.case.id, score=result.score,
                                     shared_terms=len(result.why.get("terms") or ()), why=result.why)
                       for rank, result in enumerate(results))


def _drop(case_ids) -> None:
    ids = list(case_ids)
    if ids:
        db.session.execute(delete(CaseNeighbour).where(CaseNeighbour.case_id.in_(ids)))
        db.session.execute(delete(NeighbourList).where(NeighbourList.case_id.in_(ids)))


def compute(case_ids) -> int:
    """Compute and store the lists of `case_ids` (dropping those of cases that may have none); return how many
    were stored. Uses the current app context's session, committing per case."""
    stored = 0
    for case_id in case_ids:
        case = db.session.get(FailureCase, case_id)
        try:
            if case is not None and _storable(case):
                lacked_vector = _lacks_vector(case)
                _store(case_id, similar_to_case(AnonymousUserMixin(), case, limit=STORED))
                db.session.commit()
                stored += 1
                _keep_unless_embedded(case, lacked_vector)
            else:
                _drop([case_id])
                db.session.commit()
        except SQLAlchemyError:
            db.session.rollback()  # another process stored it at the same time: either list will do
            log.warning("Could not store the neighbours of case %s", case_id, exc_info=True)
    return stored


def refresh(changed_ids, limit: int) -> int:
    """Drop the lists the changes of `changed_ids` may have made wrong, and compute up to `limit` of the
    changed cases' lists again (see the module docstring); return how many were stored."""
    changed = sorted(set(changed_ids))
    if not changed:
        return 0
    with current_app.app_context():  # after a commit: the committed session cannot be used
        listing = set(db.session.scalars(select(CaseNeighbour.case_id).where(CaseNeighbour.neighbour_id.in_(changed))))
        _drop(set(changed) | listing)
        db.session.commit()
        computed = changed[:limit]
        stored = compute(computed)
        near = set(db.session.scalars(select(CaseNeighbour.neighbour_id).where(CaseNeighbour.case_id.in_(computed))))
        _drop(near - set(computed))
        db.session.commit()
        return stored


@outbox.index_changed.connect
def _refresh_after_drain(index, reranked_ids, **extra) -> None:
    """After a drain: `refresh` the lists its changes touch; a change of a case's comments alone touches none
    ("find similar" never reads comments). A failure is logged: the index is applied whatever happens to the
    lists, and a list that is not stored is computed when read."""
    if not has_app_context():
        return
    try:
        refresh(reranked_ids, current_app.config["NEIGHBOURS_AT_DRAIN"])
    except Exception:  # noqa: BLE001 - never fail the drain over a derived table
        log.warning("Could not refresh the stored neighbours of %d case(s)", len(reranked_ids), exc_info=True)


@dense.vectors_stored.connect
def _drop_after_embedding(sender, case_ids, **extra) -> None:
    """After the vectors of `case_ids` were stored: their lists were computed without them (hybrid.fuse), so
    they are dropped, to be computed again on read or by the worker. A failure is logged."""
    if not has_app_context():
        return
    try:
        with current_app.app_context():  # the sender's session has just committed
            _drop(case_ids)
            db.session.commit()
    except Exception:  # noqa: BLE001 - never fail the embedding over a derived table
        log.warning("Could not drop the stored neighbours of %d embedded case(s)", len(case_ids), exc_info=True)


@outbox.index_rebuilt.connect
def _drop_after_rebuild(index, **extra) -> None:
    """After a rebuild: the lists came from the old index (computed again on read, by the worker, or by
    `zhigu search neighbours`). A failure is logged."""
    if not has_app_context():
        return
    try:
        drop_all()
    except Exception:  # noqa: BLE001 - never fail the rebuild over a derived table
        log.warning("Could not drop the stored neighbours after a rebuild", exc_info=True)


def drop_all() -> None:
    """Forget every stored list (a rebuild: the index they came from is gone)."""
    with current_app.app_context():  # the caller's session may be one that just committed
        db.session.execute(delete(CaseNeighbour))
        db.session.execute(delete(NeighbourList))
        db.session.commit()


def missing_ids(limit: int | None = None) -> list[int]:
    """Published public cases without a stored list, oldest first."""
    query = (select(FailureCase.id).where(FailureCase.status == CaseStatus.published,
                                          FailureCase.visibility == Visibility.public,
                                          ~exists().where(NeighbourList.case_id == FailureCase.id))
             .order_by(FailureCase.id))
    return list(db.session.scalars(query.limit(limit) if limit else query))


def compute_missing(limit: int | None = None, progress=None) -> int:
    """Store the lists of the cases that have none (at most `limit`); `progress(n)` after each; return how many."""
    stored = 0
    for case_id in missing_ids(limit):
        stored += compute([case_id])
        if progress:
            progress(1)
    return stored
