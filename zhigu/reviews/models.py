"""The review trail of a case: each submission, claim and decision, with its comment."""
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from zhigu.archive.models import FailureCase
from zhigu.auth.models import User
from zhigu.db import now_utc
from zhigu.extensions import db

#: What a review event records.
REVIEW_ACTIONS = ("submitted", "claimed", "approved", "changes_requested", "rejected")


class ReviewEvent(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("failure_case.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: One of REVIEW_ACTIONS.
    action: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    case: Mapped[FailureCase] = relationship()
    actor: Mapped[User | None] = relationship()
