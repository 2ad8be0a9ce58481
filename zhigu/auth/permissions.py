"""Named actions and who may take them. Services call `require`; templates call `can`.

auth knows roles and parks, not the domains: each domain keeps its own rules in its `permissions` module
(zhigu.archive.permissions, zhigu.guilds.permissions, ...) and registers them here with `@rule(...)` when that
module is imported, which `create_app` does (zhigu.ROUTE_MODULES). An action nobody registered is a KeyError,
never a silent "no", and two domains can't claim one action.
"""
from typing import Callable

from zhigu.auth.models import Role
from zhigu.errors import PermissionDenied
from zhigu.i18n import N_

EDITOR_ROLES = (Role.curator, Role.manager, Role.admin)

#: action -> rule(user[, obj]) -> bool, filled by the domains' permissions modules.
RULES: dict[str, Callable[..., bool]] = {}


def register_rule(action: str, fn: Callable[..., bool]) -> None:
    """Make `fn` the rule of `action`; refuse a second, different rule for an action already registered."""
    existing = RULES.get(action)
    if existing is not None and existing is not fn:
        raise ValueError(f"{action!r} already has a rule: {existing.__module__}.{existing.__qualname__}")
    RULES[action] = fn


def rule(*actions: str):
    """Decorator: register the function as the rule of each named action."""
    def register(fn):
        for action in actions:
            register_rule(action, fn)
        return fn
    return register


def role_of(user) -> Role | None:
    """The role of a logged-in user; None for visitors."""
    return getattr(user, "role", None) if getattr(user, "is_authenticated", False) else None


def is_admin(user) -> bool:
    return role_of(user) == Role.admin


def manages_park(user, park_id: int | None) -> bool:
    """A manager sees and edits every case of their own park."""
    return role_of(user) == Role.manager and park_id is not None and user.park_id == park_id


def is_author(user, obj) -> bool:
    """Whether a logged-in `user` wrote `obj` (a case, a comment, a link: anything with an author)."""
    # a new case has its author set through the relationship before it is flushed
    author_id = obj.author_id if obj.author_id is not None else getattr(getattr(obj, "author", None), "id", None)
    return role_of(user) is not None and author_id == user.id


@rule("admin.users", "admin.parks")
def administers(user, obj=None) -> bool:
    return is_admin(user)


def can(user, action: str, obj=None) -> bool:
    """Tell whether `user` (possibly anonymous) may take the named action, on `obj` where it applies."""
    try:
        check = RULES[action]
    except KeyError:
        raise KeyError(f"No rule is registered for {action!r}: register one in its domain's permissions "
                       "module (zhigu.auth.permissions.rule)") from None
    return bool(check(user, obj) if obj is not None else check(user))


def require(user, action: str, obj=None) -> None:
    """Raise PermissionDenied unless `user` may take the action."""
    if not can(user, action, obj):
        raise PermissionDenied(N_("You are not allowed to do this.") if role_of(user) else N_("Please log in first."))
