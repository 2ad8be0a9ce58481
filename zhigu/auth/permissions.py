"""Named actions and who may take them. Services call `require`; templates call `can`.

Case visibility:
- drafts: the author, managers of the case's park, admins;
- published or retracted `public` cases: everyone, visitors included;
- `park` cases: users of the case's park, the author, admins;
- `private` cases: the author, managers of the case's park, admins.
"""
from zhigu.auth.models import Role
from zhigu.errors import PermissionDenied
from zhigu.i18n import N_

EDITOR_ROLES = (Role.curator, Role.manager, Role.admin)
#: Statuses of a case that is not (yet) out: only its author, its park's managers and admins see it.
UNPUBLISHED_STATUSES = ("draft", "in_review", "changes_requested", "rejected")


def _role(user) -> Role | None:
    return getattr(user, "role", None) if getattr(user, "is_authenticated", False) else None


def is_admin(user) -> bool:
    return _role(user) == Role.admin


def manages_park(user, park_id: int | None) -> bool:
    """A manager sees and edits every case of their own park."""
    return _role(user) == Role.manager and park_id is not None and user.park_id == park_id


def is_author(user, case) -> bool:
    # a new case has its author set through the relationship before it is flushed
    author_id = case.author_id if case.author_id is not None else getattr(getattr(case, "author", None), "id", None)
    return _role(user) is not None and author_id == user.id


def can_view_case(user, case) -> bool:
    if is_admin(user) or is_author(user, case) or manages_park(user, case.park_id):
        return True
    if case.status in UNPUBLISHED_STATUSES:
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


def _park_id(case) -> int | None:
    """A new case has its park set through the relationship before it is flushed."""
    return case.park_id if case.park_id is not None else getattr(case.park, "id", None)


def review_required() -> bool:
    """Curators submit drafts for review unless the app is configured with REVIEW_REQUIRED = False."""
    from flask import current_app, has_app_context
    return not has_app_context() or bool(current_app.config.get("REVIEW_REQUIRED", True))


def can_publish_directly(user, case=None) -> bool:
    """Managers of the case's park and admins publish without review; curators only when review is off."""
    if is_admin(user):
        return True
    if case is None:
        return _role(user) == Role.manager or (not review_required() and _role(user) in EDITOR_ROLES)
    if manages_park(user, _park_id(case)):
        return True
    return not review_required() and can_edit_case(user, case)


def can_review_case(user, case=None) -> bool:
    """A manager of the case's park or an admin, never its author."""
    if case is None:
        return is_admin(user) or (_role(user) == Role.manager and user.park_id is not None)
    return (is_admin(user) or manages_park(user, _park_id(case))) and not is_author(user, case)


def can_see_org(user, case) -> bool:
    """The organization of an anonymized case is known to its filer and their park's managers only."""
    return not case.anonymize or is_admin(user) or is_author(user, case) or manages_park(user, case.park_id)


def published_visible_clause(user):
    """SQL condition matching the published cases `user` may open: can_view_case as a WHERE clause.

    Aggregates (trends) count rows in SQL, so they need the rule as a query; tests check that it selects
    exactly the published cases can_view_case allows, for every role.
    """
    from sqlalchemy import and_, or_

    from zhigu.archive.models import FailureCase

    published = FailureCase.status == "published"
    if is_admin(user):
        return published
    allowed = [FailureCase.visibility == "public"]
    if _role(user) is not None:
        allowed.append(FailureCase.author_id == user.id)
        if user.park_id is not None:
            allowed.append(and_(FailureCase.visibility == "park", FailureCase.park_id == user.park_id))
            if _role(user) == Role.manager:
                allowed.append(FailureCase.park_id == user.park_id)
    return and_(published, or_(*allowed))


def initiatives_clause(user):
    """SQL condition on Initiative for aggregates: admins count all, a manager their park's founders, others their own.

    Only counts and rates are shown from it; an initiative itself stays visible to its founder and admins.
    """
    from sqlalchemy import false, select, true

    from zhigu.auth.models import User
    from zhigu.initiatives.models import Initiative

    if is_admin(user):
        return true()
    if _role(user) is None:
        return false()
    if _role(user) == Role.manager and user.park_id is not None:
        return Initiative.founder_id.in_(select(User.id).where(User.park_id == user.park_id))
    return Initiative.founder_id == user.id


def can_view_initiative(user, initiative) -> bool:
    return is_admin(user) or (_role(user) is not None and initiative.founder_id == user.id)


def reviews_for_guild(user, guild_id: int | None) -> bool:
    """The per-guild `guild_reviewer` role (zhigu.guilds), not a global Role."""
    if _role(user) is None or guild_id is None:
        return False
    from sqlalchemy import select

    from zhigu.extensions import db
    from zhigu.guilds.models import GuildReviewer
    return db.session.scalar(select(GuildReviewer.id).where(GuildReviewer.guild_id == guild_id,
                                                            GuildReviewer.user_id == user.id)) is not None


def represents(user, organization) -> bool:
    return _role(user) is not None and organization.representative_id == user.id


def can_view_listing(user, listing) -> bool:
    """Published (and appealed) listings are public; proposals and withdrawals stay with reviewers and admins."""
    if listing.status in ("published", "appealed"):
        return True
    return is_admin(user) or reviews_for_guild(user, listing.guild_id)


RULES = {
    "case.create": lambda user, obj=None: _role(user) in EDITOR_ROLES,
    "case.view": can_view_case,
    "case.edit": can_edit_case,
    "case.publish": can_publish_directly,
    "case.submit": lambda user, case: is_author(user, case) and _role(user) in EDITOR_ROLES,
    "case.review": can_review_case,
    "case.review_history": lambda user, case: is_admin(user) or is_author(user, case)
    or manages_park(user, case.park_id),
    "case.retract": can_edit_case,
    "case.see_org": can_see_org,
    "review.queue": lambda user, obj=None: can_review_case(user),
    "case.audit": lambda user, case: is_admin(user) or manages_park(user, case.park_id),
    "comment.create": lambda user, case: _role(user) is not None and can_view_case(user, case),
    "comment.edit": lambda user, comment: _role(user) is not None and comment.author_id == user.id
    and comment.deleted_at is None and comment.hidden_at is None,
    "comment.delete": lambda user, comment: is_admin(user) or (_role(user) is not None
                                                              and comment.author_id == user.id),
    "comment.hide": lambda user, comment: is_admin(user) or manages_park(user, comment.case.park_id),
    "link.create": lambda user, case: _role(user) in EDITOR_ROLES and can_view_case(user, case),
    "link.delete": lambda user, link: is_admin(user) or (_role(user) is not None and link.author_id == user.id)
    or manages_park(user, link.source.park_id) or manages_park(user, link.target.park_id),
    "case.merge": lambda user, case: is_admin(user) or manages_park(user, case.park_id),
    "notify.subscribe": lambda user, obj=None: _role(user) is not None,
    "initiative.create": lambda user, obj=None: _role(user) is not None,
    "initiative.view": can_view_initiative,
    "initiative.feedback": can_view_initiative,
    "initiative.edit": can_view_initiative,
    "initiative.post_mortem": lambda user, initiative: can_view_initiative(user, initiative)
    and _role(user) in EDITOR_ROLES,
    "admin.users": lambda user, obj=None: is_admin(user),
    "admin.parks": lambda user, obj=None: is_admin(user),
    "admin.causes": lambda user, obj=None: is_admin(user),
    "trends.view": lambda user, obj=None: _role(user) is not None,
    "guild.admin": lambda user, obj=None: is_admin(user),
    "listing.propose": lambda user, guild: reviews_for_guild(user, guild.id),
    "listing.view": can_view_listing,
    "listing.confirm": lambda user, listing: reviews_for_guild(user, listing.guild_id)
    and listing.proposer_id != user.id,
    "listing.renew": lambda user, listing: reviews_for_guild(user, listing.guild_id),
    "listing.withdraw": lambda user, listing: is_admin(user) or reviews_for_guild(user, listing.guild_id),
    "listing.audit": lambda user, listing: is_admin(user) or reviews_for_guild(user, listing.guild_id),
    "listing.reply": lambda user, listing: represents(user, listing.organization),
    "listing.appeal": lambda user, listing: represents(user, listing.organization),
}


def can(user, action: str, obj=None) -> bool:
    """Tell whether `user` (possibly anonymous) may take the named action, on `obj` where it applies."""
    rule = RULES[action]
    return bool(rule(user, obj) if obj is not None else rule(user))


def require(user, action: str, obj=None) -> None:
    """Raise PermissionDenied unless `user` may take the action."""
    if not can(user, action, obj):
        raise PermissionDenied(N_("You are not allowed to do this.") if _role(user) else N_("Please log in first."))


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
