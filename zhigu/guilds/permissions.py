"""Who may propose, confirm, answer and withdraw listings, registered with zhigu.auth's `can`/`require`.

Reviewing is per guild (GuildReviewer rows), not a global Role.
"""
from sqlalchemy import select

from zhigu.auth.permissions import is_admin, role_of, rule
from zhigu.extensions import db
from zhigu.guilds.models import GuildReviewer

#: Listing statuses anyone may read; proposals and withdrawals stay with reviewers and admins.
PUBLIC_LISTING_STATUSES = ("published", "appealed")


def reviews_for_guild(user, guild_id: int | None) -> bool:
    if role_of(user) is None or guild_id is None:
        return False
    return db.session.scalar(select(GuildReviewer.id).where(GuildReviewer.guild_id == guild_id,
                                                            GuildReviewer.user_id == user.id)) is not None


def represents(user, organization) -> bool:
    return role_of(user) is not None and organization.representative_id == user.id


@rule("guild.admin")
def can_admin_guilds(user, obj=None) -> bool:
    return is_admin(user)


@rule("listing.view")
def can_view_listing(user, listing) -> bool:
    if listing.status in PUBLIC_LISTING_STATUSES:
        return True
    return is_admin(user) or reviews_for_guild(user, listing.guild_id)


@rule("listing.propose")
def can_propose(user, guild) -> bool:
    return reviews_for_guild(user, guild.id)


@rule("listing.confirm")
def can_confirm(user, listing) -> bool:
    """A second reviewer of the guild: never the one who proposed it."""
    return reviews_for_guild(user, listing.guild_id) and listing.proposer_id != user.id


@rule("listing.renew")
def can_renew(user, listing) -> bool:
    return reviews_for_guild(user, listing.guild_id)


@rule("listing.withdraw", "listing.audit")
def can_withdraw(user, listing) -> bool:
    return is_admin(user) or reviews_for_guild(user, listing.guild_id)


@rule("listing.reply", "listing.appeal")
def can_answer(user, listing) -> bool:
    """The organization's representative answers for it."""
    return represents(user, listing.organization)
