"""Each case's nearest cases, per audience, computed when it changes and stored, so pages read a table, not the index.

What is stored. An audience is a set of cases some viewers may open exactly: "public" (the published public
cases: visitors, and members who may open no restricted case) or "park:<id>" (the public cases and that
park's published `park` cases: its members, when they may open nothing else). For every case of an audience,
the STORED nearest cases "find similar" gives a viewer of that audience (`similar_to_case`, ranked for a
stand-in viewer who may open exactly the audience's cases, with statistics over them), with their scores and
`why`, in `case_neighbour`; `neighbour_list` marks the (case, audience) lists that are computed. A list holds
only its audience's cases, so no stored score, rank or `why` word can come from a case its readers may not
open. A park has an audience once it has a published park case (before, its members see what visitors see).
Two more audiences have lists stored only when trends' recurrences first read them (`audience_of(...,
read_when_stored=True)`, `ensure_computed`), never computed ahead: "manager:<id>" (the public cases and every
published case of the park: its managers) and "all" (every published case: admins). A change that makes
such a list wrong marks it pending (its rows go) rather than forgetting it: someone reads it, so `zhigu worker`
computes the pending lists of each such audience's REFILLED_NEWEST newest cases (an unfiltered trends page's)
again before the eager audiences' missing lists, and the reader of a trends page after an edit finds them ready.
Without a worker (the embedded default), the process that applied the change does, in a background thread
(NEIGHBOURS_PENDING_AT_DRAIN).

Who reads them. `neighbours_for(case, viewer)` serves the stored list of the viewer's audience (`audience_of`:
checked in SQL, once a request) to a viewer who may open exactly an audience's cases; for them the live
query gives the same list. The rows are joined with the audience's cases (exactly those such a viewer may
open), so a neighbour made private, retracted or deleted since is never shown. A viewer who may open more (a
case of their own outside the audience, their park's private cases as a manager, admins) gets the live query,
which also ranks those cases, scored with that viewer's statistics; the process keeps its answer (`live_for`)
for as long as the index does not change, for that viewer's access filter only. A case without a stored list
falls back to the live query too, and the audience's answer is stored then (on a connection of its own: a page
never commits its request's session).

When they are computed. After the outbox drain has applied changes to the index (zhigu.search.outbox.drain,
in the web process right after a commit, its catch-up thread or `zhigu worker`), `refresh` drops, in every
audience, the lists of the changed cases, of the cases that list one of them, and of the cases a changed case
now lists (a new case may belong in their lists), then computes up to NEIGHBOURS_AT_DRAIN (config) of the
changed cases' lists (a public case has one per audience). The others fill in on their next read, or in
`zhigu worker` (WORKER_BATCH per poll). A change of a case's comments alone changes no list: "find similar"
does not read comments. A change of text only the case's own query reads (its narrative, warning signs,
lessons: zhigu.search.hooks.OWN_TEXT) changes its own lists only: the others' queries match titles, summaries,
causes, sector and markets. With the multilingual extra, a case whose text has no vector yet gets its lists by its
words alone (embedding its text in the request or the drain took 0.2-0.5 s of CPU), dropped when the vector is
stored (`dense.vectors_stored`). A rebuild drops every list (those stored on read stay, pending); `zhigu search
neighbours` (or `rebuild --neighbours`) computes them all at once. Several machines, each with its own index,
may compute the same list: each write replaces the whole list in one transaction, and a clash is ignored.
"""
import copy
import logging
import os
import threading
import time
import weakref
from functools import cache

from flask import current_app, g, has_app_context, has_request_context
from flask_login import AnonymousUserMixin
from sqlalchemy import and_, bindparam, delete, exists, func, or_, select, true, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.sql import Select
from sqlalchemy.orm import selectinload

from zhigu.archive.models import CaseCause, CaseStatus, FailureCase, Visibility
from zhigu.archive.permissions import published_visible_clause, viewer_tokens
from zhigu.auth.models import Role
from zhigu.auth.permissions import role_of
from zhigu.extensions import db
from zhigu.search import dense, outbox
from zhigu.search.models import CaseNeighbour, NeighbourList
from zhigu.search.services import SearchResult, access_filter, current_index, load_visible
from zhigu.search.similar import similar_to_case
from zhigu.search.statistics import PUBLIC_TOKEN

log = logging.getLogger(__name__)

#: Neighbours stored per list: the case page's SIMILAR_LIMIT and the nine trends' recurrences look at.
STORED = 10
#: Lists `zhigu worker` fills in per poll, for at most its WORK_SECONDS: then it applies the outbox again first
#: (about 80 ms a list: a hundred in a row kept the index 8 s behind the edits made meanwhile).
WORKER_BATCH = 100
#: The audience of the published public cases.
PUBLIC = PUBLIC_TOKEN
#: The audience of admins: every published case. Its lists, and those of a park's managers (`manager_audience`),
#: are stored when trends' recurrences first read them, not computed ahead by the drain, the worker or
#: `zhigu search neighbours`: few people read them, and each would add a list per case.
EVERY = "all"
#: A list stored when trends read it that a change makes wrong is kept, pending, for `zhigu worker` to compute
#: again ahead of its next reader, when its case is among its audience's REFILLED_NEWEST newest: the new cases of
#: an unfiltered trends page (trends.services.RECURRENCE_CHECKED), whose first visit after an edit that may move
#: an old case computed thirty lists (3.5-4 s at 10,000 cases). The others are forgotten, computed when read.
REFILLED_NEWEST = 30
#: flask.g key: the request's viewers' audiences, by user id.
_AUDIENCE = "zhigu_neighbour_audience"
#: Live lists kept per searcher (one index generation, in one thread), by access filter, case and length:
#: (case id, score, why) of each result. A manager's trends page ran 30 live queries on every visit.
_LIVE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
#: Lists kept per searcher before they are all dropped (each is ten ids, scores and `why`s).
MAX_LIVE_LISTS = 5_000


def park_audience(park_id: int) -> str:
    return f"park:{park_id}"


def manager_audience(park_id: int) -> str:
    """The public cases and every published case of one park: what its managers may open."""
    return f"manager:{park_id}"


def audience_park(audience: str) -> int | None:
    """The park of a park's or its managers' audience; None for the public one and admins'."""
    return None if audience in (PUBLIC, EVERY) else int(audience.partition(":")[2])


def _audience_kind(audience: str) -> str:
    """"public", "park", "manager" or "all"."""
    return audience.partition(":")[0]


class _StandIn(AnonymousUserMixin):
    """Who an audience's lists are ranked for: a user of `role` (in `park_id`) who wrote no case (no user has
    id 0), so they may open exactly the audience's cases."""

    id = 0

    def __init__(self, role: Role, park_id: int | None = None):
        self.role = role
        self.park_id = park_id

    @property
    def is_authenticated(self) -> bool:
        return True


def _ranker(audience: str):
    """A viewer who may open exactly `audience`'s cases."""
    kind = _audience_kind(audience)
    if kind == "public":
        return AnonymousUserMixin()
    if kind == "all":
        return _StandIn(Role.admin)
    return _StandIn(Role.manager if kind == "manager" else Role.member, audience_park(audience))


def _audience_clause(park_id, kind: str):
    """SQL: the published cases of an audience: a park's (`park_id` None: the public one), its managers' or
    every published case (kind "all")."""
    published = FailureCase.status == CaseStatus.published
    if kind == "all":
        return published
    cases = FailureCase.visibility == Visibility.public
    if park_id is not None and kind == "manager":
        cases = or_(cases, and_(FailureCase.park_id.is_not(None), FailureCase.park_id == park_id))
    elif park_id is not None:
        cases = or_(cases, and_(FailureCase.visibility == Visibility.park, FailureCase.park_id.is_not(None),
                                FailureCase.park_id == park_id))
    return and_(published, cases)


def _clause_of(audience: str):
    return _audience_clause(audience_park(audience), _audience_kind(audience))


def audience_of(viewer, read_when_stored: bool = False) -> str | None:
    """The smallest audience whose cases are exactly those `viewer` may open (their stored lists are theirs):
    the public one or their park's; with `read_when_stored`, also their park's managers' or every published
    case (admins), whose lists are stored when first read; None when there is none (a viewer who may open a
    case of their own outside it, or those two without `read_when_stored`): the live query.

    Only trends' recurrences ask for the lists stored when read. A recurrence pairs a new case with earlier
    ones, read from the new case's own list; such a list is dropped when the case, a case it names or a case
    published before it changes (`refresh`), but not when a case published after it would now belong in it
    (no list of those audiences is computed when a case changes, to say whose): case pages and link
    suggestions would miss that case, a recurrence never pairs it."""
    tokens = viewer_tokens(viewer)
    if tokens == [PUBLIC]:
        return PUBLIC
    memo = g.setdefault(_AUDIENCE, {}) if has_request_context() else {}
    key = (getattr(viewer, "id", None), read_when_stored)
    if key not in memo:
        park_id = getattr(viewer, "park_id", None)
        candidates = [PUBLIC]
        if tokens is None:
            candidates += [EVERY] if read_when_stored else []
        elif park_id is not None:
            candidates.append(park_audience(park_id))
            if read_when_stored and role_of(viewer) == Role.manager:
                candidates.append(manager_audience(park_id))
        visible = published_visible_clause(viewer)
        outside = db.session.execute(select(*(exists().where(visible, ~_clause_of(audience))
                                              for audience in candidates))).one()
        memo[key] = next((audience for audience, more in zip(candidates, outside) if not more), None)
    return memo[key]


def park_audiences() -> list[str]:
    """The audiences of the parks that have a published park case."""
    return [park_audience(park_id) for park_id in db.session.scalars(
        select(FailureCase.park_id).distinct().where(FailureCase.status == CaseStatus.published,
                                                     FailureCase.visibility == Visibility.park,
                                                     FailureCase.park_id.is_not(None))
        .order_by(FailureCase.park_id))]


def _audiences_of(case: FailureCase, parks: list[str]) -> list[str]:
    """The audiences `case` belongs to (each has a list of its nearest cases), given `park_audiences()`."""
    if case.status != CaseStatus.published:
        return []
    if case.visibility == Visibility.public:
        return [PUBLIC, *parks]
    if case.visibility == Visibility.park and case.park_id is not None and park_audience(case.park_id) in parks:
        return [park_audience(case.park_id)]
    return []


def _belongs(case: FailureCase, audience: str) -> bool:
    """Whether `case` is one of `audience`'s cases (so its list may be stored for it)."""
    kind = _audience_kind(audience)
    if kind in ("public", "park"):
        return audience in _audiences_of(case, [audience] if audience != PUBLIC else [])
    if case.status != CaseStatus.published:
        return False
    return kind == "all" or case.visibility == Visibility.public or case.park_id == audience_park(audience)


def neighbours_for(case: FailureCase, viewer, limit: int = STORED) -> list[SearchResult]:
    """The published cases most like a published `case` that `viewer` may open, with score and `why`.

    From the stored list of the viewer's audience when they have one, else (or when the list is not computed
    yet) from the live query.
    """
    if not case.is_published:
        return []
    audience = audience_of(viewer) if limit <= STORED else None
    if audience is None:
        return live_for(viewer, case, limit)
    # The rows first, the mark only when none is shown: another process may drop the list (and commit)
    # between two statements, and on PostgreSQL each statement sees the latest commit. Read the other way
    # round, a list dropped in between read as an empty list instead of the live one.
    rows = db.session.execute(_stored_list(_audience_kind(audience)), {"case_id": case.id, "audience": audience,
                                                                      "park_id": audience_park(audience),
                                                                      "limit": limit}).all()
    if not rows and not db.session.scalar(select(exists().where(NeighbourList.case_id == case.id,
                                                                NeighbourList.audience == audience,
                                                                ~NeighbourList.pending))):
        return _visible(viewer, _computed_live(case, audience))[:limit]
    return [SearchResult(case=neighbour, score=row.score, why=row.why) for row, neighbour in rows]


@cache
def _stored_list(kind: str):
    """A stored list's rows with their cases that are still among its audience's (those a viewer of the audience
    may open: audience_of checked it), best first: one statement for the process per kind of audience, whose
    cache key SQLAlchemy works out once (building both for each case page was 2% of the web workers' CPU)."""
    park_id = bindparam("park_id") if kind in ("park", "manager") else None
    return (select(CaseNeighbour, FailureCase).join(FailureCase, FailureCase.id == CaseNeighbour.neighbour_id)
            .where(CaseNeighbour.case_id == bindparam("case_id"), CaseNeighbour.audience == bindparam("audience"),
                   _audience_clause(park_id, kind))
            .options(selectinload(FailureCase.case_causes).joinedload(CaseCause.cause))
            .order_by(CaseNeighbour.rank).limit(bindparam("limit")))


def _visible(viewer, results: list[SearchResult]) -> list[SearchResult]:
    """The `results` ranked for the viewer's audience that the viewer may open (all, unless a case changed)."""
    cases = load_visible(viewer, [result.case.id for result in results])
    return [result for result in results if result.case.id in cases]


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


def ensure_computed(cases: list[FailureCase], audience: str) -> None:
    """Compute and store `audience`'s lists of those `cases` that have none (trends reads the table next)."""
    ids = [case.id for case in cases]
    done = set(db.session.scalars(select(NeighbourList.case_id).where(NeighbourList.case_id.in_(ids),
                                                                      NeighbourList.audience == audience,
                                                                      ~NeighbourList.pending)))
    for case in cases:
        if case.id not in done:
            _computed_live(case, audience)


def _lacks_vector(case: FailureCase) -> bool:
    """Whether the case's list is computed without the vector side (hybrid.fuse): the multilingual extra is on
    and its current text has no vector yet."""
    return dense.enabled() and not dense.has_vector(case)


def _keep_unless_embedded(case: FailureCase, lacked_vector: bool) -> None:
    """After storing a list computed without the case's vector (committed): drop its lists if the vector was
    stored meanwhile. The process that stored the vector drops the case's lists after its commit
    (_drop_after_embedding), so a list committed after that drop is caught here: it is computed again."""
    if lacked_vector and dense.has_vector(case):
        _drop([case.id])
        db.session.commit()


def _computed_live(case: FailureCase, audience: str) -> list[SearchResult]:
    """The live list of `audience`'s view, stored for the next reader when the case belongs to the audience."""
    belongs = _belongs(case, audience)
    lacked_vector = belongs and _lacks_vector(case)
    results = similar_to_case(_ranker(audience), case, limit=STORED)
    if belongs:
        try:
            with current_app.app_context():  # a session of its own: the page's session is not committed
                _store(case.id, audience, results)
                db.session.commit()
                _keep_unless_embedded(case, lacked_vector)
        except IntegrityError:
            log.info("The neighbours of case %s for %s were stored meanwhile by another thread or process",
                     case.id, audience)
        except SQLAlchemyError:
            log.warning("Could not store the neighbours of case %s for %s; they are computed again", case.id,
                        audience, exc_info=True)
    return results


def _store(case_id: int, audience: str, results: list[SearchResult]) -> None:
    """Replace a case's stored list for `audience` (on the current session; the caller commits)."""
    db.session.execute(delete(CaseNeighbour).where(CaseNeighbour.case_id == case_id,
                                                   CaseNeighbour.audience == audience))
    db.session.execute(delete(NeighbourList).where(NeighbourList.case_id == case_id,
                                                   NeighbourList.audience == audience))
    db.session.add(NeighbourList(case_id=case_id, audience=audience))
    db.session.flush()
    db.session.add_all(CaseNeighbour(case_id=case_id, audience=audience, rank=rank, neighbour_id=result.case.id,
                                     score=result.score, shared_terms=len(result.why.get("terms") or ()),
                                     why=result.why)
                       for rank, result in enumerate(results))


def _stored_on_read(table):
    """`table`'s rows in the audiences whose lists are stored when trends reads them ("manager:<id>", "all")."""
    return or_(table.audience == EVERY, table.audience.like("manager:%"))


def _drop(case_ids, stored_on_read_only: bool = False) -> None:
    """Drop the lists of `case_ids` (ids, or a SELECT of them), in every audience or only in those stored when
    trends read them (see `_mark_pending`)."""
    if not isinstance(case_ids, Select):
        case_ids = list(case_ids)
        if not case_ids:
            return
    only = [_stored_on_read(CaseNeighbour)] if stored_on_read_only else []
    db.session.execute(delete(CaseNeighbour).where(CaseNeighbour.case_id.in_(case_ids), *only))
    if not stored_on_read_only:
        db.session.execute(delete(NeighbourList).where(NeighbourList.case_id.in_(case_ids),
                                                       ~_stored_on_read(NeighbourList)))
    _mark_pending(NeighbourList.case_id.in_(case_ids))


def _mark_pending(where) -> None:
    """Of the lists stored when trends read them that `where` picks, mark pending those whose case is among
    its audience's REFILLED_NEWEST newest (an unfiltered trends page's: `zhigu worker` computes them again
    first, `missing`), and forget the others (computed again when read). Their rows are gone (the caller's)."""
    lists = and_(where, _stored_on_read(NeighbourList))
    for audience in db.session.scalars(select(NeighbourList.audience).distinct().where(lists)).all():
        newest = _newest(audience)
        db.session.execute(update(NeighbourList).where(lists, NeighbourList.audience == audience,
                                                       NeighbourList.case_id.in_(newest), ~NeighbourList.pending)
                           .values(pending=True))
        db.session.execute(delete(NeighbourList).where(lists, NeighbourList.audience == audience,
                                                       NeighbourList.case_id.not_in(newest)))


def _newest(audience: str) -> list[int]:
    """The ids of `audience`'s REFILLED_NEWEST most recently published cases, as trends orders them."""
    return list(db.session.scalars(select(FailureCase.id).where(_clause_of(audience))
                                   .order_by(FailureCase.published_at.desc(), FailureCase.id.desc())
                                   .limit(REFILLED_NEWEST)))


def _drop_stored_on_read_after(moved_ids) -> None:
    """Drop the lists stored when trends read them ("manager:<id>", "all") of the cases published since the
    earliest of `moved_ids`: a changed case may now be among a newer case's nearest, its earlier cases in a
    recurrence, and no list of those audiences is computed when it changes to say whose (the eager ones' are:
    `refresh` drops the cases they name). Older cases' lists stay: the changed case is never their earlier case.
    """
    earliest = db.session.scalar(select(func.min(FailureCase.published_at)).where(FailureCase.id.in_(moved_ids)))
    if earliest is not None:
        _drop(select(FailureCase.id).where(FailureCase.published_at >= earliest), stored_on_read_only=True)


def compute_lists(pairs, after_each=None) -> int:
    """Compute and store the (case id, audience) lists of `pairs` (dropping those the case no longer belongs
    to), calling `after_each()` once each is done; return how many were stored. Uses the current app context's
    session, committing per list."""
    stored = 0
    for case_id, audience in pairs:
        case = db.session.get(FailureCase, case_id)
        try:
            if case is not None and _belongs(case, audience):
                lacked_vector = _lacks_vector(case)
                _store(case_id, audience, similar_to_case(_ranker(audience), case, limit=STORED))
                db.session.commit()
                stored += 1
                _keep_unless_embedded(case, lacked_vector)
            else:
                db.session.execute(delete(NeighbourList).where(NeighbourList.case_id == case_id,
                                                               NeighbourList.audience == audience))
                db.session.commit()
        except IntegrityError:  # another thread or process stored it at the same time: either list will do
            db.session.rollback()
            log.info("The neighbours of case %s for %s were stored meanwhile by another thread or process",
                     case_id, audience)
        except SQLAlchemyError:
            db.session.rollback()
            log.warning("Could not store the neighbours of case %s for %s", case_id, audience, exc_info=True)
        if after_each:
            after_each()
    return stored


def compute(case_ids) -> int:
    """Compute and store every list of `case_ids`, one per audience each belongs to (dropping the others, but
    not the lists stored when trends read them, which the drops after a change keep right: `_mark_pending`);
    return how many were stored."""
    pairs = _lists_of(case_ids)
    for case_id in set(case_ids):
        db.session.execute(delete(NeighbourList).where(NeighbourList.case_id == case_id, NeighbourList.audience.not_in(
            [audience for listed, audience in pairs if listed == case_id]), ~_stored_on_read(NeighbourList)))
    db.session.commit()
    return compute_lists(pairs)


def _lists_of(case_ids) -> list[tuple[int, str]]:
    """The (case id, audience) lists `case_ids` have, in their order, the public one of each first."""
    parks = park_audiences()
    cases = {case.id: case for case in db.session.scalars(select(FailureCase).where(FailureCase.id.in_(case_ids)))}
    return [(case_id, audience) for case_id in case_ids if case_id in cases
            for audience in _audiences_of(cases[case_id], parks)]


def refresh(changed_ids, limit: int, moved_ids=None) -> int:
    """Drop the lists the changes of `changed_ids` may have made wrong, in every audience, and compute up to
    `limit` of the changed cases' lists again (see the module docstring); return how many were stored.

    `moved_ids` (all of `changed_ids` when None): those whose change may move them in other cases' lists. The
    others changed only text their own list reads (zhigu.search.hooks.OWN_TEXT): the lists that name them, or
    that they name, stay. An edit of a case's lessons dropped about twenty lists, which `zhigu worker` and the
    case pages then computed again (a fifth of the server's CPU under bench/load.py), for none that changed."""
    changed = sorted(set(changed_ids))
    if not changed:
        return 0
    moved = set(changed) if moved_ids is None else set(moved_ids) & set(changed)
    with current_app.app_context():  # after a commit: the committed session cannot be used
        listing = set(db.session.scalars(select(CaseNeighbour.case_id).where(CaseNeighbour.neighbour_id.in_(moved))))
        _drop(set(changed) | listing)
        if moved:
            _drop_stored_on_read_after(moved)
        db.session.commit()
        pairs = _lists_of(changed)[:limit]
        stored = compute_lists(pairs)
        computed = {case_id for case_id, _ in pairs} & moved
        near = set(db.session.scalars(select(CaseNeighbour.neighbour_id).where(CaseNeighbour.case_id.in_(computed))))
        _drop(near - computed)
        db.session.commit()
        return stored


@outbox.index_changed.connect
def _refresh_after_drain(index, reranked_ids, moved_ids=None, **extra) -> None:
    """After a drain: `refresh` the lists its changes touch; a change of a case's comments alone touches none
    ("find similar" never reads comments); then, with NEIGHBOURS_PENDING_AT_DRAIN, have a background thread
    compute the pending lists. A failure is logged: the index is applied whatever happens to the lists, and a
    list that is not stored is computed when read."""
    if not has_app_context():
        return
    try:
        refresh(reranked_ids, current_app.config["NEIGHBOURS_AT_DRAIN"], moved_ids)
        if current_app.config["NEIGHBOURS_PENDING_AT_DRAIN"]:
            with current_app.app_context():  # after a commit: the committed session cannot be used
                pending = db.session.scalar(select(exists().where(NeighbourList.pending)))
            if pending:
                refill_soon(current_app._get_current_object())
    except Exception:  # noqa: BLE001 - never fail the drain over a derived table
        log.warning("Could not refresh the stored neighbours of %d case(s)", len(reranked_ids), exc_info=True)


# -- pending lists computed after a drain, in the background (no `zhigu worker`) ----------------------------------

_refill = {"pid": None, "thread": None, "again": False}
_refill_lock = threading.Lock()


def refill_soon(app) -> None:
    """Compute the pending lists in this process's background thread (started if none runs, told to look
    again if one does); return at once."""
    with _refill_lock:
        if _refill["pid"] != os.getpid():  # after a fork the parent's thread is not ours
            _refill.update(pid=os.getpid(), thread=None, again=False)
        if _refill["thread"] is not None:
            _refill["again"] = True
            return
        thread = threading.Thread(target=_refill_pending, args=(app,), daemon=True, name="zhigu-neighbours")
        _refill["thread"] = thread
        thread.start()


def _refill_pending(app) -> None:
    while True:
        try:
            with app.app_context():
                stored = compute_lists(_pending())
            if stored:
                log.info("Stored %d pending nearest-case list(s)", stored)
        except Exception:  # noqa: BLE001 - a pending list is computed when read
            log.warning("Could not compute the pending nearest-case lists", exc_info=True)
        with _refill_lock:
            if not _refill["again"]:
                _refill["thread"] = None
                return
            _refill["again"] = False


def wait_refilled(timeout: float) -> bool:
    """Wait until this process's refill thread has ended; True if it did (tests)."""
    thread = _refill["thread"]
    if thread is not None:
        thread.join(timeout)
    return _refill["thread"] is None


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
    """Forget every stored list (a rebuild: the index they came from is gone); those stored when trends read them
    of their audience's newest cases stay marked, pending."""
    with current_app.app_context():  # the caller's session may be one that just committed
        db.session.execute(delete(CaseNeighbour))
        db.session.execute(delete(NeighbourList).where(~_stored_on_read(NeighbourList)))
        _mark_pending(true())
        db.session.commit()


def _pending() -> list[tuple[int, str]]:
    """The pending (case id, audience) lists, by audience, newest case first."""
    return [(case_id, audience) for case_id, audience in db.session.execute(
        select(NeighbourList.case_id, NeighbourList.audience).join(FailureCase, FailureCase.id == NeighbourList.case_id)
        .where(NeighbourList.pending)
        .order_by(NeighbourList.audience, FailureCase.published_at.desc(), FailureCase.id.desc()))]


def missing(limit: int | None = None) -> list[tuple[int, str]]:
    """(case id, audience) lists not stored: first the pending ones (`_mark_pending`: a manager's or an admin's
    trends page waits for thirty at once), newest first, then the public audience's, then each park's, oldest
    case first."""
    found = _pending()
    for audience in [PUBLIC, *park_audiences()]:
        if limit is not None and len(found) >= limit:
            break
        query = (select(FailureCase.id).where(_clause_of(audience), ~exists().where(
            NeighbourList.case_id == FailureCase.id, NeighbourList.audience == audience)).order_by(FailureCase.id))
        found += [(case_id, audience) for case_id in db.session.scalars(
            query if limit is None else query.limit(limit - len(found)))]
    return found[:limit]


def missing_ids(limit: int | None = None) -> list[int]:
    """Cases that lack a list in an audience they belong to."""
    return sorted({case_id for case_id, _ in missing(limit)})


def compute_missing(limit: int | None = None, deadline: float | None = None) -> int:
    """Store the lists that are missing (at most `limit`, none begun after the `time.monotonic()` `deadline`);
    return how many (`zhigu.search.parallel_neighbours` shares them out to several processes)."""
    stored = 0
    for pair in missing(limit):
        if deadline is not None and time.monotonic() >= deadline:
            break
        stored += compute_lists([pair])
    return stored
