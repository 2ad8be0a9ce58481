"""Who may link and merge cases, registered with zhigu.auth's `can`/`require`."""
from zhigu.archive.permissions import can_view_case
from zhigu.auth.permissions import EDITOR_ROLES, is_admin, manages_park, role_of, rule


@rule("link.create")
def can_link(user, case) -> bool:
    return role_of(user) in EDITOR_ROLES and can_view_case(user, case)


@rule("link.delete")
def can_unlink(user, link) -> bool:
    """Its author, a manager of either case's park, or an admin."""
    return (is_admin(user) or (role_of(user) is not None and link.author_id == user.id)
            or manages_park(user, link.source.park_id) or manages_park(user, link.target.park_id))


@rule("case.merge")
def can_merge(user, case) -> bool:
    return is_admin(user) or manages_park(user, case.park_id)
