"""Tell subscribers about newly published cases, once the search index has them.

Each subscription kind but "case" has a matcher in MATCHERS: given a subscription and the new cases, it
returns the ids of those it matches. Case subscribers are told of what happens to their case as it
happens (`inbox.notify_case_subscribers`), not here. `zhigu notify scan` and `zhigu notify send-digests`
run the scan. The matchers import search and initiatives where they use them: both import, through comments,
this package.
"""
import logging

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from zhigu.archive.models import CaseStatus, FailureCase
from zhigu.auth.models import User
from zhigu.extensions import db
from zhigu.i18n import N_
from zhigu.initiatives.models import Initiative
from zhigu.notify.inbox import notify
from zhigu.notify.messages import case_ref, term
from zhigu.notify.models import NotificationKind, ScannedCase, Subscription
from zhigu.notify.subscriptions import parse_search, search_words
from zhigu.search.services import search_cases
from zhigu.search.similar import similar_cases

log = logging.getLogger(__name__)
SIMILAR_TO_INITIATIVE = N_("similar to your initiative")


def naive(moment):
    """`moment` without its time zone: columns hold naive UTC, while now_utc() and fresh rows are aware."""
    return moment.replace(tzinfo=None) if moment is not None else None


def _by_cause(sub: Subscription, cases: list[FailureCase]) -> set[int]:
    return {c.id for c in cases if sub.target in {cause.code for cause in c.causes}}


def _by_sector(sub: Subscription, cases: list[FailureCase]) -> set[int]:
    return {c.id for c in cases if c.sector == sub.target}


def _by_market(sub: Subscription, cases: list[FailureCase]) -> set[int]:
    return {c.id for c in cases if sub.target in (c.target_markets or [])}


def _by_search(sub: Subscription, cases: list[FailureCase]) -> set[int]:
    """Run the saved search as its owner; a query the parser no longer accepts matches nothing."""
    text, filters = parse_search(sub.target)
    try:
        page = search_cases(sub.user, text, filters, page=1, per_page=100, sort="newest")
    except Exception:
        log.warning("Saved search %r of subscription %s failed", sub.target, sub.id, exc_info=True)
        return set()
    return {r.case.id for r in page.results} & {c.id for c in cases}


def _by_initiative(sub: Subscription, cases: list[FailureCase]) -> set[int]:
    """The new cases among the initiative's similar cases, while its founder still owns the subscription."""
    initiative = db.session.get(Initiative, int(sub.target))
    if initiative is None or initiative.founder_id != sub.user_id:
        return set()
    results = similar_cases(sub.user, description=initiative.description, title=initiative.title,
                            sector=initiative.sector, markets=initiative.target_markets,
                            limit=current_app.config.get("SIMILAR_LIMIT", 10))
    return {r.case.id for r in results} & {c.id for c in cases}


MATCHERS = {"cause": _by_cause, "sector": _by_sector, "market": _by_market, "search": _by_search,
            "initiative": _by_initiative}


def _reason(sub: Subscription) -> dict:
    """Why a new case reached a subscriber, as a term shown in the reader's language (see `subscriptions.describe`)."""
    if sub.kind == "initiative":
        return term(SIMILAR_TO_INITIATIVE)
    if sub.kind == "search":
        return term(N_("matches your search {words}"), words=search_words(sub.target))
    kinds = {"cause": N_("cause"), "sector": N_("sector"), "market": N_("target market")}
    return term(N_("{kind} {target}"), kind=term(kinds[sub.kind]), target=sub.target)


def scan_new_cases(limit: int = 1000) -> int:
    """Tell subscribers about published cases not scanned yet; returns how many notifications were added.

    A subscription hears only of cases published after it was made. The notifications and the scanned
    marks go in one transaction: of two runs at once, one adds them.
    """
    scanned = select(ScannedCase.case_id)
    cases = list(db.session.scalars(select(FailureCase).where(FailureCase.status == CaseStatus.published,
                                                              FailureCase.id.not_in(scanned))
                                    .order_by(FailureCase.id).limit(limit)))
    if not cases:
        return 0
    subscriptions = list(db.session.scalars(select(Subscription).where(Subscription.kind.in_(MATCHERS))))
    reasons: dict[tuple[int, int], list[dict]] = {}
    for sub in subscriptions:
        matched = MATCHERS[sub.kind](sub, cases)
        for case in cases:
            if case.id in matched and naive(case.published_at) >= naive(sub.created_at):
                reasons.setdefault((sub.user_id, case.id), []).append(_reason(sub))
    by_id = {case.id: case for case in cases}
    added = 0
    for (user_id, case_id), why in sorted(reasons.items()):
        case = by_id[case_id]
        similar = any(w["msgid"] == SIMILAR_TO_INITIATIVE for w in why)
        added += notify([db.session.get(User, user_id)], NotificationKind.similar_case if similar
                        else NotificationKind.new_case, case, N_("New case “{title}” ({reasons})."),
                        params={"title": case_ref(case), "reasons": why})
    for case in cases:
        db.session.add(ScannedCase(case_id=case.id))
    try:
        db.session.commit()
    except IntegrityError:  # another run (cron, a worker) scanned these cases first and told their subscribers
        db.session.rollback()
        log.warning("Scan of cases %s-%s clashed with another run; it adds nothing", cases[0].id, cases[-1].id,
                    exc_info=True)
        return 0
    return added
