"""Subscriptions and in-app notifications; digests are sent from unread, un-mailed notifications."""
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from zhigu.archive.models import FailureCase
from zhigu.auth.models import User
from zhigu.db import now_utc
from zhigu.extensions import db

SUBSCRIPTION_KINDS = ("case", "cause", "sector", "market", "search", "initiative")
DIGEST_FREQUENCIES = ("never", "daily", "weekly")


class NotificationKind(StrEnum):
    """What happened. The column stores a member's name, which is also its value and the JSON `kind`: stored
    rows need these names kept."""

    review_submitted = "review_submitted"
    review_decision = "review_decision"
    comment = "comment"
    case_edit = "case_edit"
    case_retract = "case_retract"
    link = "link"
    merge = "merge"
    listing = "listing"
    new_case = "new_case"
    similar_case = "similar_case"


class Notification(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[NotificationKind] = mapped_column(Enum(NotificationKind, native_enum=False, length=30))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("failure_case.id", ondelete="CASCADE"))
    #: The text in English, as it was when created (rows made before message_key existed have only this).
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    read_at: Mapped[datetime | None]
    #: Set when the notification went out in an e-mail digest.
    emailed_at: Mapped[datetime | None]
    #: The English msgid with {placeholders} (marked with N_ where notified) that `text` renders in the
    #: reader's language, and its values; a value {"msgid": ...} is a term translated too, a value
    #: {"case_id": ...} names a case (its title, or "a case you cannot see", is filled in when shown).
    message_key: Mapped[str | None] = mapped_column(Text)
    message_params: Mapped[dict | None] = mapped_column(JSON)

    user: Mapped[User] = relationship()
    case: Mapped[FailureCase | None] = relationship()

    @property
    def text(self) -> str:
        """The message in the current language (the page's, the API's Accept-Language, a digest's locale), with
        every case it names checked against the notification's owner now (see zhigu.notify.messages)."""
        from zhigu.notify.messages import render_notification  # a cycle: messages imports NotificationKind

        return render_notification(self)


class Subscription(db.Model):
    __table_args__ = (UniqueConstraint("user_id", "kind", "target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    #: One of SUBSCRIPTION_KINDS.
    kind: Mapped[str] = mapped_column(String(20))
    #: Case id, cause code, sector code, country code, query string or initiative id, as text.
    target: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    user: Mapped[User] = relationship()


class DigestSetting(db.Model):
    """A user's e-mail digest choice and when the last digest went out."""

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    #: One of DIGEST_FREQUENCIES.
    frequency: Mapped[str] = mapped_column(String(10), default="daily")
    last_sent_at: Mapped[datetime | None]


class ScannedCase(db.Model):
    """A published case already matched against subscriptions (see scan.scan_new_cases)."""

    case_id: Mapped[int] = mapped_column(ForeignKey("failure_case.id", ondelete="CASCADE"), primary_key=True)
    scanned_at: Mapped[datetime] = mapped_column(default=now_utc)
