"""Who may see and change initiatives, registered with zhigu.auth's `can`/`require`."""
from sqlalchemy import false, select, true

from zhigu.auth.models import Role, User
from zhigu.auth.permissions import EDITOR_ROLES, is_admin, role_of, rule
from zhigu.initiatives.models import Initiative


@rule("initiative.create")
def can_create_initiative(user, obj=None) -> bool:
    return role_of(user) is not None


@rule("initiative.view", "initiative.feedback", "initiative.edit")
def can_view_initiative(user, initiative) -> bool:
    """An initiative is its founder's (and the admins') alone."""
    return is_admin(user) or (role_of(user) is not None and initiative.founder_id == user.id)


@rule("initiative.post_mortem")
def can_file_post_mortem(user, initiative) -> bool:
    return can_view_initiative(user, initiative) and role_of(user) in EDITOR_ROLES


def initiatives_clause(user):
    """SQL condition on Initiative for aggregates: admins count all, a manager their park's founders, others their own.

    Only counts and rates are shown from it; an initiative itself stays visible to its founder and admins.
    """
    if is_admin(user):
        return true()
    if role_of(user) is None:
        return false()
    if role_of(user) == Role.manager and user.park_id is not None:
        return Initiative.founder_id.in_(select(User.id).where(User.park_id == user.park_id))
    return Initiative.founder_id == user.id
