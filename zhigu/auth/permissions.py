"""Named actions and who may take them. Services call `require`; templates call `can`.

Case visibility:
- drafts: the author, managers of the case's park, admins;
- published or retracted `public` cases: everyone, visitors included;
- `park` cases: users of the case's park, the author, admins;
- `private` cases: the author, managers of the case's park, admins.
"""
from zhigu.auth.models import Role
from zhigu.errors import PermissionDenied

EDITOR_ROLES = (Role.curator, Role.manager, Role.admin)


def _role(user) -> Role | None:
    return getattr(user, "role", None) if getattr(user, "is_authenticated", False) else None


def is_admin(user) -> bool:
    return _role(user) == Role.admin


def manages_park(user, park_id: int | None) -> bool:
    """A manager sees and edits every case of their own park."""
    return _role(user) == Role.manager and park_id is not None and user.park_id == park_id


def is_author(user, case) -> bool:
    return _role(user) is not None and case.author_id == user.id


def can_view_case(user, case) -> bool:
    if is_admin(user) or is_author(user, case) or manages_park(user, case.park_id):
        return True
    if case.status == "draft":
        return False
    if case.visibility == "public":
        return True
    if case.visibility == "park":
        return _role(user) is not None and case.park_id is not None and user.park_id == case.park_id
    return False


def can_edit_case(user, case) -> bool:
    if is_admin(user) or manages_park(user, case.park_id):
        return True
    return is_author(user, case) and _role(user) in EDITOR_ROLES


def can_see_org(user, case) -> bool:
    """The organization of an anonymized case is known to its filer and their park's managers only."""
    return not case.anonymize or is_admin(user) or is_author(user, case) or manages_park(user, case.park_id)


def can_view_initiative(user, initiative) -> bool:
    return is_admin(user) or (_role(user) is not None and initiative.founder_id == user.id)


RULES = {
    "case.create": lambda user, obj=None: _role(user) in EDITOR_ROLES,
    "case.view": can_view_case,
    "case.edit": can_edit_case,
    "case.publish": can_edit_case,
    "case.retract": can_edit_case,
    "case.see_org": can_see_org,
    "initiative.create": lambda user, obj=None: _role(user) is not None,
    "initiative.view": can_view_initiative,
    "initiative.feedback": can_view_initiative,
    "admin.users": lambda user, obj=None: is_admin(user),
    "admin.parks": lambda user, obj=None: is_admin(user),
    "admin.causes": lambda user, obj=None: is_admin(user),
}


def can(user, action: str, obj=None) -> bool:
    """Tell whether `user` (possibly anonymous) may take the named action, on `obj` where it applies."""
    rule = RULES[action]
    return bool(rule(user, obj) if obj is not None else rule(user))


def require(user, action: str, obj=None) -> None:
    """Raise PermissionDenied unless `user` may take the action."""
    if not can(user, action, obj):
        raise PermissionDenied("You are not allowed to do this." if _role(user) else "Please log in first.")


def visibility_tokens(case) -> list[str]:
    """Index tokens naming who may see a published case; the search filter matches them (see access_filter)."""
    tokens = [f"user:{case.author_id}"] if case.author_id else []
    if case.park_id:
        tokens.append(f"manager:{case.park_id}")
    if case.visibility == "public":
        tokens.append("public")
    elif case.visibility == "park" and case.park_id:
        tokens.append(f"park:{case.park_id}")
    return tokens


def viewer_tokens(user) -> list[str] | None:
    """Tokens a viewer holds, matching visibility_tokens; None means the viewer sees everything."""
    if is_admin(user):
        return None
    tokens = ["public"]
    if _role(user) is not None:
        tokens.append(f"user:{user.id}")
        if user.park_id:
            tokens.append(f"park:{user.park_id}")
            if _role(user) == Role.manager:
                tokens.append(f"manager:{user.park_id}")
    return tokens
