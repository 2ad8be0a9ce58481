"""Subscriptions, in-app notifications and e-mail digests.

Other domains call `notify` and `notify_case_subscribers` inside their own use case; these helpers only add
rows (the caller commits once). Nobody is told about a case they may not see: visibility is checked when a
notification is created and again when a digest is sent.
"""
from sqlalchemy import select

from zhigu.auth.models import User
from zhigu.auth.permissions import can
from zhigu.extensions import db
from zhigu.notify.models import Notification, Subscription


def notify(users, kind: str, case, message: str, exclude=None) -> int:
    """Add a notification for each of `users` who may see `case` (not `exclude`, the actor). Returns how many."""
    added, seen = 0, set()
    for user in users:
        if user is None or user.id in seen or (exclude is not None and user.id == exclude.id):
            continue
        seen.add(user.id)
        if not user.is_active or (case is not None and not can(user, "case.view", case)):
            continue
        db.session.add(Notification(user_id=user.id, kind=kind, case=case, message=message))
        added += 1
    return added


def case_subscribers(case) -> list[User]:
    return list(db.session.scalars(select(User).join(Subscription, Subscription.user_id == User.id).where(
        Subscription.kind == "case", Subscription.target == str(case.id))))


def notify_case_subscribers(case, kind: str, message: str, exclude=None, also=()) -> int:
    """Tell the case's subscribers (and `also`, e.g. its author) what happened to it."""
    return notify([*also, *case_subscribers(case)], kind, case, message, exclude=exclude)
