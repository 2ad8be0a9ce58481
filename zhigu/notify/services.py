"""Subscriptions, in-app notifications and e-mail digests.

Other domains call `notify` and `notify_case_subscribers` inside their own use case; these helpers only add
rows (the caller commits once). Case edits and retractions reach case subscribers through a session hook
(zhigu.notify.hooks), so the archive does not depend on this package. Newly published cases are matched
against cause, sector, market, search and initiative subscriptions by `scan_new_cases`, which
`zhigu notify send-digests` (and `zhigu notify scan`) run after the search index has them.

Nobody is told about a case they may not see: visibility is checked when a notification is created and
again when a digest is sent.
"""
import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app, has_request_context, url_for
from flask_babel import force_locale, gettext, ngettext
from marshmallow import ValidationError
from sqlalchemy import func, inspect, select, update
from sqlalchemy.exc import IntegrityError

from zhigu.archive.models import Cause, FailureCase
from zhigu.archive.schemas import COUNTRY_CODES
from zhigu.archive.vocabulary import SECTORS, codes
from zhigu.auth.models import User
from zhigu.auth.permissions import can, require
from zhigu.db import now_utc
from zhigu.errors import NotFound
from zhigu.extensions import db
from zhigu.i18n import N_
from zhigu.notify.messages import case_ref, english, term
from zhigu.notify.models import DigestSetting, Notification, ScannedCase, Subscription
from zhigu.notify.schemas import DigestSettingSchema, ReadSchema, SubscriptionSchema
from zhigu.validation import strip_bidi

log = logging.getLogger(__name__)
DIGEST_PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
#: A digest counts as due a little early, so a daily cron job at a fixed hour never skips a day.
DIGEST_SLACK = timedelta(hours=1)


# -- creating notifications ---------------------------------------------------------------------------

def notify(users, kind: str, case, message: str, exclude=None, params: dict | None = None) -> int:
    """Add a notification for each of `users` who may see `case` (not `exclude`, the actor). Returns how many.

    `message` is an English msgid marked with N_, with {placeholders} filled from `params` (values that need
    translating too are `messages.term(N_(...))`, cases are `messages.case_ref(case)`, never a title); each
    reader sees it in their language (`Notification.text`), with the cases they may not open left unnamed.
    """
    key, params = (message, params) if params is not None else (None, None)
    added, seen = 0, set()
    for user in users:
        if user is None or user.id in seen or (exclude is not None and user.id == exclude.id):
            continue
        seen.add(user.id)
        if not user.is_active or (case is not None and not can(user, "case.view", case)):
            continue
        # the stored English text names only what this reader may see now
        text = english(message, params, reader=user) if key else message
        db.session.add(Notification(user_id=user.id, kind=kind, case=case, message=text, message_key=key,
                                    message_params=params))
        added += 1
    return added


def case_subscribers(case) -> list[User]:
    return list(db.session.scalars(select(User).join(Subscription, Subscription.user_id == User.id).where(
        Subscription.kind == "case", Subscription.target == str(case.id))))


def notify_case_subscribers(case, kind: str, message: str, exclude=None, also=(), params: dict | None = None) -> int:
    """Tell the case's subscribers (and `also`, e.g. its author) what happened to it."""
    return notify([*also, *case_subscribers(case)], kind, case, message, exclude=exclude, params=params)


def _naive(moment):
    return moment.replace(tzinfo=None) if moment is not None else None


def scan_new_cases(limit: int = 1000) -> int:
    """Tell subscribers about published cases not scanned yet; returns how many notifications were added.

    A subscription hears only of cases published after it was made. Matching: cause, sector and market on
    the case's fields; a saved search by running it; an initiative by its similar-cases list. The
    notifications and the scanned marks go in one transaction: of two runs at once, one adds them.
    """
    from zhigu.search.services import search_cases, similar_cases

    scanned = select(ScannedCase.case_id)
    cases = list(db.session.scalars(select(FailureCase).where(FailureCase.status == "published",
                                                              FailureCase.id.not_in(scanned))
                                    .order_by(FailureCase.id).limit(limit)))
    if not cases:
        return 0
    new_ids = {case.id for case in cases}
    subscriptions = list(db.session.scalars(select(Subscription).where(Subscription.kind != "case")))
    reasons: dict[tuple[int, int], list[dict]] = {}
    for sub in subscriptions:
        matched: set[int] = set()
        if sub.kind == "cause":
            matched = {c.id for c in cases if sub.target in {cause.code for cause in c.causes}}
        elif sub.kind == "sector":
            matched = {c.id for c in cases if c.sector == sub.target}
        elif sub.kind == "market":
            matched = {c.id for c in cases if sub.target in (c.target_markets or [])}
        elif sub.kind == "search":
            text, filters = parse_search(sub.target)
            try:
                page = search_cases(sub.user, text, filters, page=1, per_page=100, sort="newest")
            except Exception:  # a saved query the parser no longer accepts matches nothing
                log.warning("Saved search %r of subscription %s failed", sub.target, sub.id, exc_info=True)
                continue
            matched = {r.case.id for r in page.results} & new_ids
        elif sub.kind == "initiative":
            from zhigu.initiatives.models import Initiative
            initiative = db.session.get(Initiative, int(sub.target))
            if initiative is not None and initiative.founder_id == sub.user_id:
                results = similar_cases(sub.user, description=initiative.description, title=initiative.title,
                                        sector=initiative.sector, markets=initiative.target_markets,
                                        limit=current_app.config.get("SIMILAR_LIMIT", 10))
                matched = {r.case.id for r in results} & new_ids
        for case in cases:
            if case.id in matched and _naive(case.published_at) >= _naive(sub.created_at):
                reasons.setdefault((sub.user_id, case.id), []).append(_reason(sub))
    by_id = {case.id: case for case in cases}
    added = 0
    for (user_id, case_id), why in sorted(reasons.items()):
        case = by_id[case_id]
        kind = "similar_case" if any(w["msgid"] == SIMILAR_TO_INITIATIVE for w in why) else "new_case"
        added += notify([db.session.get(User, user_id)], kind, case, N_("New case “{title}” ({reasons})."),
                        params={"title": case_ref(case), "reasons": why})
    for case in cases:
        db.session.add(ScannedCase(case_id=case.id))
    try:
        db.session.commit()
    except IntegrityError:  # another run (cron, a worker) scanned these cases first and told their subscribers
        db.session.rollback()
        log.warning("Scan of cases %s-%s clashed with another run; it adds nothing", min(new_ids), max(new_ids),
                    exc_info=True)
        return 0
    return added


# -- subscriptions ------------------------------------------------------------------------------------

def parse_search(target: str) -> tuple[str, dict[str, list[str]]]:
    """A saved search: plain words, or a URL query string (`q=solar&cause=market.no_demand&market=KZ`)."""
    from urllib.parse import parse_qs

    from zhigu.search.documents import FACETS

    if "=" not in target:
        return target, {}
    args = parse_qs(target.lstrip("?"), keep_blank_values=False)
    text = " ".join(args.pop("q", []))
    return text, {name: values for name, values in args.items() if name in FACETS}


def canonical_search(target: str) -> str:
    from urllib.parse import urlencode

    if "=" not in target:
        return target
    text, filters = parse_search(target)
    pairs = ([("q", text)] if text else []) + sorted((k, v) for k, values in filters.items() for v in values)
    if not pairs:
        raise ValidationError({"target": [N_("Give search words or filters (q, cause, sector, market, ...).")]})
    return urlencode(pairs)


SIMILAR_TO_INITIATIVE = N_("similar to your initiative")


def _reason(sub: Subscription) -> dict:
    """Why a new case reached a subscriber, as a term shown in the reader's language (see `describe`)."""
    if sub.kind == "initiative":
        return term(SIMILAR_TO_INITIATIVE)
    if sub.kind == "search":
        text, filters = parse_search(sub.target)
        words = [f"“{text}”"] if text else []
        words += [f"{name} {', '.join(values)}" for name, values in sorted(filters.items())]
        return term(N_("matches your search {words}"), words="; ".join(words))
    kinds = {"case": N_("case"), "cause": N_("cause"), "sector": N_("sector"), "market": N_("target market")}
    return term(N_("{kind} {target}"), kind=term(kinds[sub.kind]) if sub.kind in kinds else sub.kind,
                target=sub.target)


def describe(sub: Subscription) -> str:
    """A subscription in words."""
    if sub.kind == "initiative":
        return gettext("similar to your initiative")
    if sub.kind == "search":
        text, filters = parse_search(sub.target)
        words = [f"“{text}”"] if text else []
        words += [f"{name} {', '.join(values)}" for name, values in sorted(filters.items())]
        return gettext("matches your search %(words)s", words="; ".join(words))
    kinds = {"case": gettext("case"), "cause": gettext("cause"), "sector": gettext("sector"),
             "market": gettext("target market")}
    return f"{kinds.get(sub.kind, sub.kind)} {sub.target}"


def subscriptions_of(actor) -> list[Subscription]:
    require(actor, "notify.subscribe")
    return list(db.session.scalars(select(Subscription).where(Subscription.user_id == actor.id)
                                   .order_by(Subscription.id)))


def _normalize_target(actor, kind: str, target: str) -> str:
    """Check a subscription's target exists and the actor may follow it; return its canonical form."""
    target = target.strip()
    error = None
    if kind in ("case", "initiative"):
        if not target.isdigit():
            raise ValidationError({"target": [N_("Give the case's id (a number).") if kind == "case" else N_("Give the initiative's id (a number).")]})
        if kind == "case":
            case = db.session.get(FailureCase, int(target))
            if case is None or not can(actor, "case.view", case):
                error = N_("No such case.")
        else:
            from zhigu.initiatives.models import Initiative
            initiative = db.session.get(Initiative, int(target))
            if initiative is None or initiative.founder_id != actor.id:
                error = N_("Follow one of your own initiatives.")
        target = str(int(target))
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


def subscription_to_dict(sub: Subscription) -> dict:
    data = SubscriptionSchema().dump(sub)
    data["description"] = describe(sub)
    return data


# -- reading notifications ----------------------------------------------------------------------------

def notifications_of(actor, unread_only: bool = False, limit: int = 100) -> list[Notification]:
    """The actor's notifications, newest first, leaving out those about cases they can no longer see."""
    require(actor, "notify.subscribe")
    query = select(Notification).where(Notification.user_id == actor.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    rows = db.session.scalars(query.order_by(Notification.id.desc()).limit(limit))
    return [n for n in rows if n.case is None or can(actor, "case.view", n.case)]


def unread_count(actor) -> int:
    """How many unread notifications `notifications_of` would list (those about cases still visible to the actor)."""
    if not getattr(actor, "is_authenticated", False):
        return 0
    counts = db.session.execute(select(Notification.case_id, func.count(Notification.id)).where(
        Notification.user_id == actor.id, Notification.read_at.is_(None)).group_by(Notification.case_id))
    return sum(count for case_id, count in counts
               if case_id is None or can(actor, "case.view", db.session.get(FailureCase, case_id)))


def mark_read(actor, data: dict | None = None) -> int:
    """Mark the given notifications (all of the actor's when no ids are given) as read; returns how many."""
    require(actor, "notify.subscribe")
    values = ReadSchema().load(data or {})
    query = update(Notification).where(Notification.user_id == actor.id, Notification.read_at.is_(None))
    if values["ids"] is not None:
        query = query.where(Notification.id.in_(values["ids"]))
    count = db.session.execute(query.values(read_at=now_utc())).rowcount
    db.session.commit()
    return count


def notification_to_dict(n: Notification) -> dict:
    return {"id": n.id, "kind": n.kind, "message": n.text, "case_id": n.case_id,
            "url": url_for("archive.detail", case_id=n.case_id, _external=True) if n.case_id else None,
            "created_at": n.created_at.isoformat(), "read": n.read_at is not None}


# -- digests ------------------------------------------------------------------------------------------

def digest_setting(user) -> DigestSetting:
    setting = db.session.get(DigestSetting, user.id)
    return setting or DigestSetting(user_id=user.id, frequency="daily")


def set_digest_frequency(actor, data: dict) -> DigestSetting:
    require(actor, "notify.subscribe")
    values = DigestSettingSchema().load(data)
    setting = db.session.get(DigestSetting, actor.id)
    if setting is None:
        setting = DigestSetting(user_id=actor.id)
        db.session.add(setting)
    setting.frequency = values["frequency"]
    db.session.commit()
    return setting


def _due(setting: DigestSetting, now) -> bool:
    period = DIGEST_PERIODS.get(setting.frequency)
    if period is None:
        return False
    return setting.last_sent_at is None or _naive(now) - _naive(setting.last_sent_at) >= period - DIGEST_SLACK


def _digest_message(user: User, items: list[Notification], frequency: str) -> EmailMessage:
    """The digest e-mail, in Simplified Chinese and in English (users have no stored language yet)."""
    message = EmailMessage()
    subjects, bodies = [], []
    for language in ("en", "zh"):
        with force_locale(language):
            subject, body = _digest_text(user, items, frequency)
        subjects.append(subject)
        bodies.append(body)
    message["Subject"] = strip_bidi(" / ".join(subjects))
    message["From"] = current_app.config.get("MAIL_FROM", "zhigu@localhost")
    message["To"] = user.email
    message.set_content(strip_bidi("\n\n----\n\n".join(reversed(bodies))))
    return message


def _digest_text(user: User, items: list[Notification], frequency: str) -> tuple[str, str]:
    """Subject and body of a digest in the current locale."""
    if frequency == "weekly":
        subject = ngettext("Zhigu weekly digest: %(num)d update", "Zhigu weekly digest: %(num)d updates", len(items))
    else:
        subject = ngettext("Zhigu daily digest: %(num)d update", "Zhigu daily digest: %(num)d updates", len(items))
    lines = [gettext("Hello %(name)s,", name=user.display_name), "",
             gettext("What happened in the archive since your last digest:"), ""]
    for n in items:
        lines.append(f"- {n.text}")
        if n.case_id:
            lines.append(f"  {url_for('archive.detail', case_id=n.case_id, _external=True)}")
    lines += ["", gettext("Change how often you get this e-mail: %(url)s",
                          url=url_for("notify.notifications", _external=True))]
    return subject, "\n".join(lines)


def _smtp():
    config = current_app.config
    host, port = config.get("MAIL_SERVER", "localhost"), int(config.get("MAIL_PORT", 25))
    smtp = smtplib.SMTP(host, port, timeout=float(config.get("MAIL_TIMEOUT", 30)))
    if config.get("MAIL_USE_TLS"):
        smtp.starttls()
    if config.get("MAIL_USERNAME"):
        smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    return smtp


def send_digests(now=None) -> dict:
    """Scan new cases, then e-mail each user whose digest is due the notifications not mailed yet.

    Only notifications about cases the user may still see go out. Each user's digest is claimed first
    (_claim_digest), so two runs at once (cron and `zhigu worker`, or overlapping crons) mail it once. A
    user whose mail fails is retried on the next run (the claim is given back, nothing is marked as sent).
    Returns counts of sent and failed digests.
    """
    if not has_request_context():  # the command line: links in the mail need the site's address
        with current_app.test_request_context(base_url=current_app.config.get("BASE_URL", "http://localhost:5000")):
            return send_digests(now)
    now = now or now_utc()
    scan_new_cases()
    user_ids = list(db.session.scalars(select(Notification.user_id).where(
        Notification.emailed_at.is_(None), Notification.read_at.is_(None)).distinct()))
    sent = failed = 0
    smtp = None
    try:
        for user_id in sorted(user_ids):
            user = db.session.get(User, user_id)
            setting = digest_setting(user)
            if not user.is_active or not _due(setting, now):
                continue
            previous = setting.last_sent_at
            pending = db.session.scalars(select(Notification).where(
                Notification.user_id == user.id, Notification.emailed_at.is_(None),
                Notification.read_at.is_(None)).order_by(Notification.id)).all()
            items = [n for n in pending if n.case is None or can(user, "case.view", n.case)]
            # read after the setting: a run that mailed these since has moved last_sent_at, and the claim fails
            if not items or not _claim_digest(setting, now):
                continue
            try:
                smtp = smtp or _smtp()
                smtp.send_message(_digest_message(user, items, setting.frequency))
            except (smtplib.SMTPException, OSError):
                log.exception("Digest for user %s could not be sent", user.id)
                db.session.rollback()
                _release_digest(user.id, now, previous)
                failed += 1
                smtp = None
                continue
            for n in items:
                n.emailed_at = now
            db.session.commit()
            sent += 1
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
    return {"sent": sent, "failed": failed}


def _claim_digest(setting: DigestSetting, now) -> bool:
    """Move the user's `last_sent_at` to `now` if no other run has since it was read; True when this run won.

    A compare-and-set the database lets one transaction win (the first digest inserts the setting row,
    which only one run can do). A run that dies between the claim and the mail delays that digest by one
    period; it does not lose it, as its notifications stay unmailed.
    """
    if inspect(setting).transient:  # digest_setting's default: the user never chose nor got a digest
        setting.last_sent_at = now
        db.session.add(setting)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            return False
        return True
    won = db.session.execute(update(DigestSetting).where(
        DigestSetting.user_id == setting.user_id, DigestSetting.last_sent_at.is_not_distinct_from(setting.last_sent_at))
        .values(last_sent_at=now)).rowcount == 1
    db.session.commit()
    return won


def _release_digest(user_id: int, now, previous) -> None:
    """Give back the claim of a digest whose mail failed, so the next run sends it."""
    db.session.execute(update(DigestSetting).where(DigestSetting.user_id == user_id, DigestSetting.last_sent_at == now)
                       .values(last_sent_at=previous))
    db.session.commit()
