"""Who may see and change cases, registered with zhigu.auth's `can`/`require` when this module is imported.

Case visibility:
- drafts (and cases in review): the author, managers of the case's park, admins;
- published or retracted `public` cases: everyone, visitors included;
- `park` cases: users of the case's park, the author, admins;
- `private` cases: the author, managers of the case's park, admins.

`published_visible_clause` (SQL) and the index tokens (`visibility_tokens`, `viewer_tokens`) state the same
rule for aggregates and search; tests hold each to `can_view_case`.
"""
from flask import current_app, has_app_context
from sqlalchemy import and_, or_

from zhigu.archive.models import UNPUBLISHED_STATUSES, CaseStatus, FailureCase, Visibility
from zhigu.auth.models import Role
from zhigu.auth.permissions import EDITOR_ROLES, is_admin, is_author, manages_park, role_of, rule


@rule("case.view")
def can_view_case(user, case) -> bool:
    if is_admin(user) or is_author(user, case) or manages_park(user, case.park_id):
        return True
    if case.status in UNPUBLISHED_STATUSES:
        return False
    if case.visibility == Visibility.public:
        return True
    if case.visibility == Visibility.park:
        return role_of(user) is not None and case.park_id is not None and user.park_id == case.park_id
    return False


@rule("case.edit", "case.retract")
def can_edit_case(user, case) -> bool:
    if is_admin(user) or manages_park(user, case.park_id):
        return True
    return is_author(user, case) and role_of(user) in EDITOR_ROLES


@rule("case.create")
def can_create_case(user, obj=None) -> bool:
    return role_of(user) in EDITOR_ROLES


def case_park_id(case) -> int | None:
    """A new case has its park set through the relationship before it is flushed."""
    return case.park_id if case.park_id is not None else getattr(case.park, "id", None)


def review_required() -> bool:
    """Curators submit drafts for review unless the app is configured with REVIEW_REQUIRED = False."""
    return not has_app_context() or bool(current_app.config.get("REVIEW_REQUIRED", True))


@rule("case.publish")
def can_publish_directly(user, case=None) -> bool:
    """Managers of the case's park and admins publish without review; curators only when review is off."""
    if is_admin(user):
        return True
    if case is None:
        return role_of(user) == Role.manager or (not review_required() and role_of(user) in EDITOR_ROLES)
    if manages_park(user, case_park_id(case)):
        return True
    return not review_required() and can_edit_case(user, case)


@rule("case.see_org")
def can_see_org(user, case) -> bool:
    """The organization of an anonymized case is known to its filer and their park's managers only."""
    return not case.anonymize or is_admin(user) or is_author(user, case) or manages_park(user, case.park_id)


@rule("case.audit")
def can_audit_case(user, case) -> bool:
    return is_admin(user) or manages_park(user, case.park_id)


@rule("admin.causes")
def can_edit_causes(user, obj=None) -> bool:
    return is_admin(user)


def published_visible_clause(user):
    """SQL condition matching the published cases `user` may open: can_view_case as a WHERE clause.

    Aggregates (trends) count rows in SQL, so they need the rule as a query; tests check that it selects
    exactly the published cases can_view_case allows, for every role.
    """
    published = FailureCase.status == CaseStatus.published
    if is_admin(user):
        return published
    allowed = [FailureCase.visibility == Visibility.public]
    if role_of(user) is not None:
        allowed.append(FailureCase.author_id == user.id)
        if user.park_id is not None:
            allowed.append(and_(FailureCase.visibility == Visibility.park, FailureCase.park_id == user.park_id))
            if role_of(user) == Role.manager:
                allowed.append(FailureCase.park_id == user.park_id)
    return and_(published, or_(*allowed))


def visibility_tokens(case) -> list[str]:
    """Index tokens naming who may see a published case; the search filter matches them (see viewer_tokens)."""
    tokens = [f"user:{case.author_id}"] if case.author_id else []
    if case.park_id:
        tokens.append(f"manager:{case.park_id}")
    if case.visibility == Visibility.public:
        tokens.append("public")
    elif case.visibility == Visibility.park and case.park_id:
        tokens.append(f"park:{case.park_id}")
    return tokens


def viewer_tokens(user) -> list[str] | None:
    """Tokens a viewer holds, matching visibility_tokens; None means the viewer sees everything."""
    if is_admin(user):
        return None
    tokens = ["public"]
    if role_of(user) is not None:
        tokens.append(f"user:{user.id}")
        if user.park_id:
            tokens.append(f"park:{user.park_id}")
            if role_of(user) == Role.manager:
                tokens.append(f"manager:{user.park_id}")
    return tokens
