"""Who submits cases for review and who decides on them, registered with zhigu.auth's `can`/`require`."""
from zhigu.archive.permissions import case_park_id
from zhigu.auth.models import Role
from zhigu.auth.permissions import EDITOR_ROLES, is_admin, is_author, manages_park, role_of, rule


@rule("case.submit")
def can_submit_case(user, case) -> bool:
    return is_author(user, case) and role_of(user) in EDITOR_ROLES


@rule("case.review")
def can_review_case(user, case=None) -> bool:
    """A manager of the case's park or an admin, never its author."""
    if case is None:
        return is_admin(user) or (role_of(user) == Role.manager and user.park_id is not None)
    return (is_admin(user) or manages_park(user, case_park_id(case))) and not is_author(user, case)


@rule("review.queue")
def can_see_queue(user, obj=None) -> bool:
    return can_review_case(user)


@rule("case.review_history")
def can_see_review_history(user, case) -> bool:
    return is_admin(user) or is_author(user, case) or manages_park(user, case.park_id)
