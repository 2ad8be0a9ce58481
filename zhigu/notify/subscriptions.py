"""Subscriptions: what a user follows (a case, cause, sector, market, saved search or own initiative).

A target is checked and stored in one canonical form, so the same subscription cannot be made twice.
"""
from urllib.parse import parse_qs, urlencode

from flask_babel import gettext
from marshmallow import ValidationError
from sqlalchemy import select

from zhigu.archive.models import Cause, FailureCase
from zhigu.schemas import COUNTRY_CODES
from zhigu.archive.vocabulary import SECTORS, codes
from zhigu.auth.models import User
from zhigu.auth.permissions import can, require
from zhigu.errors import NotFound
from zhigu.extensions import db
from zhigu.i18n import N_
from zhigu.initiatives.models import Initiative
from zhigu.notify.models import Subscription
from zhigu.notify.schemas import SubscriptionSchema
from zhigu.search.documents import FACETS
from zhigu.templating import country, label, ui_language
from zhigu.validation import db_id


def parse_search(target: str) -> tuple[str, dict[str, list[str]]]:
    """A saved search: plain words, or a URL query string (`q=solar&cause=market.no_demand&market=KZ`)."""
    if "=" not in target:
        return target, {}
    args = parse_qs(target.lstrip("?"), keep_blank_values=False)
    text = " ".join(args.pop("q", []))
    return text, {name: values for name, values in args.items() if name in FACETS}


def canonical_search(target: str) -> str:
    if "=" not in target:
        return target
    text, filters = parse_search(target)
    pairs = ([("q", text)] if text else []) + sorted((k, v) for k, values in filters.items() for v in values)
    if not pairs:
        raise ValidationError({"target": [N_("Give search words or filters (q, cause, sector, market, ...).")]})
    return urlencode(pairs)


def search_words(target: str) -> str:
    """A saved search's words and filters as the user reads them: `“lighting”; market KZ`."""
    text, filters = parse_search(target)
    words = [f"“{text}”"] if text else []
    words += [f"{name} {', '.join(values)}" for name, values in sorted(filters.items())]
    return "; ".join(words)


def describe(sub: Subscription) -> str:
    """A subscription in words."""
    if sub.kind == "initiative":
        return gettext("similar to your initiative")
    if sub.kind == "search":
        return gettext("matches your search %(words)s", words=search_words(sub.target))
    kinds = {"case": gettext("case"), "cause": gettext("cause"), "sector": gettext("sector"),
             "market": gettext("target market")}
    return f"{kinds.get(sub.kind, sub.kind)} {_target_name(sub)}"


def _target_name(sub: Subscription) -> str:
    """What a subscription follows as its follower reads it: a case's title (when they may still open it, else
    its number), a cause's, sector's or country's name in the page language, never a bare code."""
    if sub.kind == "case":
        case = db.session.get(FailureCase, db_id(sub.target)) if db_id(sub.target) else None
        if case is not None and sub.user is not None and can(sub.user, "case.view", case):
            return f"“{case.title}”"
    elif sub.kind == "cause":
        cause = db.session.scalar(select(Cause).where(Cause.code == sub.target))
        if cause is not None:
            return f"“{cause.label(ui_language())}”"
    elif sub.kind == "sector":
        return f"“{label('sector', sub.target)}”"
    elif sub.kind == "market":
        return f"“{country(sub.target)}”"
    return sub.target


def subscriptions_of(actor) -> list[Subscription]:
    require(actor, "notify.subscribe")
    return list(db.session.scalars(select(Subscription).where(Subscription.user_id == actor.id)
                                   .order_by(Subscription.id)))


def case_subscribers(case) -> list[User]:
    return list(db.session.scalars(select(User).join(Subscription, Subscription.user_id == User.id).where(
        Subscription.kind == "case", Subscription.target == str(case.id))))


def _normalize_target(actor, kind: str, target: str) -> str:
    """Check a subscription's target exists and the actor may follow it; return its canonical form."""
    target = target.strip()
    error = None
    if kind in ("case", "initiative"):
        target_id = db_id(target)
        if target_id is None:
            raise ValidationError({"target": [N_("Give the case's id (a number).") if kind == "case" else N_("Give the initiative's id (a number).")]})
        if kind == "case":
            case = db.session.get(FailureCase, target_id)
            if case is None or not can(actor, "case.view", case):
                error = N_("No such case.")
        else:
            initiative = db.session.get(Initiative, target_id)
            if initiative is None or initiative.founder_id != actor.id:
                error = N_("Follow one of your own initiatives.")
        target = str(target_id)
    elif kind == "cause":
        if db.session.scalar(select(Cause.id).where(Cause.code == target)) is None:
            error = N_("Unknown cause code: {code}").format(code=target)
    elif kind == "sector":
        if target not in codes(SECTORS):
            error = N_("Unknown sector: {code}").format(code=target)
    elif kind == "search":
        target = canonical_search(target)
    elif kind == "market":
        target = target.upper()
        if target not in COUNTRY_CODES:
            error = N_("{value} is not an ISO 3166 country code such as KZ or ID.").format(value=repr(target))
    if error:
        raise ValidationError({"target": [error]})
    return target


def subscribe(actor: User, data: dict) -> Subscription:
    require(actor, "notify.subscribe")
    values = SubscriptionSchema().load(data)
    target = _normalize_target(actor, values["kind"], values["target"])
    if db.session.scalar(select(Subscription.id).where(Subscription.user_id == actor.id,
                                                       Subscription.kind == values["kind"],
                                                       Subscription.target == target)):
        raise ValidationError({"target": [N_("You already follow this.")]})
    sub = Subscription(user_id=actor.id, kind=values["kind"], target=target)
    db.session.add(sub)
    db.session.commit()
    return sub


def get_subscription(actor, subscription_id: int) -> Subscription:
    require(actor, "notify.subscribe")
    sub = db.session.get(Subscription, subscription_id)
    if sub is None or sub.user_id != actor.id:
        raise NotFound(N_("No such subscription."))
    return sub


def unsubscribe(actor: User, sub: Subscription) -> None:
    require(actor, "notify.subscribe")
    if sub.user_id != actor.id:
        raise NotFound(N_("No such subscription."))
    db.session.delete(sub)
    db.session.commit()


def subscription_for(actor, kind: str, target: str) -> Subscription | None:
    """The actor's subscription to exactly this kind and target, if any."""
    if not getattr(actor, "is_authenticated", False):
        return None
    return db.session.scalar(select(Subscription).where(Subscription.user_id == actor.id, Subscription.kind == kind,
                                                        Subscription.target == target.strip()))


def case_subscription(actor, case) -> Subscription | None:
    return subscription_for(actor, "case", str(case.id))
