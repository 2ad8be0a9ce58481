"""Who may comment on cases and moderate comments, registered with zhigu.auth's `can`/`require`."""
from zhigu.archive.permissions import can_view_case
from zhigu.auth.permissions import is_admin, manages_park, role_of, rule


@rule("comment.create")
def can_comment(user, case) -> bool:
    return role_of(user) is not None and can_view_case(user, case)


@rule("comment.edit")
def can_edit_comment(user, comment) -> bool:
    """Only its author, and only while it is neither deleted nor hidden by a moderator."""
    return (role_of(user) is not None and comment.author_id == user.id
            and comment.deleted_at is None and comment.hidden_at is None)


@rule("comment.delete")
def can_delete_comment(user, comment) -> bool:
    return is_admin(user) or (role_of(user) is not None and comment.author_id == user.id)


@rule("comment.hide")
def can_hide_comment(user, comment) -> bool:
    return is_admin(user) or manages_park(user, comment.case.park_id)
