"""Notifications: adding them inside other domains' use cases, and their owner reading them.

Other domains call `notify` and `notify_case_subscribers` inside their own use case; these helpers only add
rows (the caller commits once). Case edits and retractions reach case subscribers through a session hook
(zhigu.notify.hooks), so the archive does not depend on this package.
"""
from sqlalchemy import func, select, update

from zhigu.archive.models import FailureCase
from zhigu.auth.permissions import can, require
from zhigu.db import now_utc
from zhigu.extensions import db
from zhigu.notify.messages import english
from zhigu.notify.models import Notification, NotificationKind
from zhigu.notify.schemas import ReadSchema
from zhigu.notify.subscriptions import case_subscribers


# -- creating notifications ---------------------------------------------------------------------------

def notify(users, kind: NotificationKind, case, message: str, exclude=None, params: dict | None = None) -> int:
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


def notify_case_subscribers(case, kind: NotificationKind, message: str, exclude=None, also=(),
                            params: dict | None = None) -> int:
    """Tell the case's subscribers (and `also`, e.g. its author) what happened to it."""
    return notify([*also, *case_subscribers(case)], kind, case, message, exclude=exclude, params=params)


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
    counts = dict(db.session.execute(select(Notification.case_id, func.count(Notification.id)).where(
        Notification.user_id == actor.id, Notification.read_at.is_(None)).group_by(Notification.case_id)).all())
    case_ids = [case_id for case_id in counts if case_id is not None]
    # every page shows this count: the cases are read in one query, however many there are
    cases = db.session.scalars(select(FailureCase).where(FailureCase.id.in_(case_ids))) if case_ids else ()
    visible = {case.id for case in cases if can(actor, "case.view", case)}
    return sum(count for case_id, count in counts.items() if case_id is None or case_id in visible)


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
