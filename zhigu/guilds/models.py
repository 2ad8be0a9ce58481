"""Guilds, their reviewers, organization profiles, and listings (red or black) with evidence and events."""
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from zhigu.archive.models import FailureCase
from zhigu.auth.models import User
from zhigu.db import now_utc
from zhigu.extensions import db
from zhigu.i18n import N_

#: (list, English label, Chinese label), as the vocabularies of zhigu.archive.vocabulary. The codes stay
#: "red" and "black" (the API's values); English readers take a "red list" for a danger list, while 红榜 is an
#: honour roll, so the English labels say what each list is.
LIST_LABELS = (("red", "Honour roll", "红榜"), ("black", "Warning list", "黑榜"))
LISTS = tuple(code for code, _english, _chinese in LIST_LABELS)
#: How notifications name each list ("… is on the honour roll of …"), translated when shown.
LIST_TERMS = {"red": N_("honour roll"), "black": N_("warning list")}
#: What GET /api/v1/listings answers for any other ?list= (the error handler translates it for the API's
#: Accept-Language).
LIST_CHOICE_ERROR = N_("list must be red or black.")
#: (status, English label, Chinese label), as the vocabularies of zhigu.archive.vocabulary:
#: proposed → published (a second reviewer confirmed) ⇄ appealed (suspended while the appeal is judged); or
#: withdrawn.
LISTING_STATUS_LABELS = (("proposed", "proposed", "待确认"), ("published", "published", "已发布"),
                         ("appealed", "suspended: under appeal", "已暂停：申诉中"), ("withdrawn", "withdrawn", "已撤销"))
LISTING_STATUSES = tuple(status for status, _english, _chinese in LISTING_STATUS_LABELS)
#: (type, English label, Chinese label) of an Organization: the guilds' own list, not the archive's ORG_TYPES.
ORG_TYPE_LABELS = (("enterprise", "Enterprise", "企业"), ("startup", "Startup", "初创企业"),
                   ("university", "University", "高校"), ("government", "Government body", "政府机构"),
                   ("ngo", "NGO", "非政府组织"), ("other", "Other", "其他"))
#: (ListingEvent.action, English label, Chinese label), as the audit log shows them.
LISTING_ACTION_LABELS = (("propose", "proposed", "提议上榜"), ("confirm", "confirmed and published", "确认并发布"),
                         ("uphold", "upheld after the appeal", "申诉后维持"), ("reply", "replied", "回应"),
                         ("appeal", "appealed", "申诉"), ("renew", "renewed", "续期"),
                         ("withdraw", "withdrew", "撤销"))


class Guild(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    reviewers: Mapped[list["GuildReviewer"]] = relationship(back_populates="guild", cascade="all, delete-orphan")


class GuildReviewer(db.Model):
    """The `guild_reviewer` role, held per guild (not a global Role)."""

    __table_args__ = (UniqueConstraint("guild_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    guild_id: Mapped[int] = mapped_column(ForeignKey("guild.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    guild: Mapped[Guild] = relationship(back_populates="reviewers")
    user: Mapped[User] = relationship()


class Organization(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    #: One of the codes of ORG_TYPE_LABELS: enterprise, startup, university, government, ngo, other.
    type: Mapped[str] = mapped_column(String(20))
    region: Mapped[str | None] = mapped_column(String(120))
    #: The user who speaks for the organization: told of listings, may reply and appeal.
    representative_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    representative: Mapped[User | None] = relationship()


class Listing(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    guild_id: Mapped[int] = mapped_column(ForeignKey("guild.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    #: red (exemplary) or black (deal with carefully).
    list_name: Mapped[str] = mapped_column(String(5))
    #: One of LISTING_STATUSES.
    status: Mapped[str] = mapped_column(String(12), default="proposed")
    justification: Mapped[str] = mapped_column(Text)
    proposer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    confirmer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    published_at: Mapped[datetime | None]
    #: The last day the listing is shown; renewing needs fresh evidence.
    expires_on: Mapped[date | None]
    reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None]
    appeal_reason: Mapped[str | None] = mapped_column(Text)

    guild: Mapped[Guild] = relationship()
    organization: Mapped[Organization] = relationship()
    proposer: Mapped[User | None] = relationship(foreign_keys=[proposer_id])
    confirmer: Mapped[User | None] = relationship(foreign_keys=[confirmer_id])
    evidence: Mapped[list["Evidence"]] = relationship(back_populates="listing", cascade="all, delete-orphan",
                                                      order_by=lambda: Evidence.id)
    events: Mapped[list["ListingEvent"]] = relationship(back_populates="listing", cascade="all, delete-orphan",
                                                        order_by=lambda: ListingEvent.id.desc())

    def is_current(self, today: date) -> bool:
        """In force: published and not expired (a listing under appeal is suspended)."""
        return self.status == "published" and self.expires_on is not None and self.expires_on >= today


class Evidence(db.Model):
    """A public, non-anonymized published case, or an external URL, supporting a listing."""

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("failure_case.id", ondelete="SET NULL"))
    url: Mapped[str | None] = mapped_column(String(500))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    listing: Mapped[Listing] = relationship(back_populates="evidence")
    case: Mapped[FailureCase | None] = relationship()


class ListingEvent(db.Model):
    """One step of a listing's review: the audit log shown to the guild's reviewers and admins."""

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: propose, confirm, uphold, reply, appeal, renew, withdraw (LISTING_ACTION_LABELS).
    action: Mapped[str] = mapped_column(String(20))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    listing: Mapped[Listing] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
