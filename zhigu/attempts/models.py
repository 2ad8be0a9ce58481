"""An initiative's outcome history and its `second_attempt_of` links to earlier failures."""
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from zhigu.archive.models import FailureCase
from zhigu.auth.models import User
from zhigu.db import now_utc
from zhigu.extensions import db
from zhigu.initiatives.models import Initiative

OUTCOMES = ("planned", "launched", "succeeded", "failed", "abandoned")
#: Outcomes that end an initiative: success rates and times to outcome are computed over these.
FINAL_OUTCOMES = ("succeeded", "failed", "abandoned")


class InitiativeOutcome(db.Model):
    """One step of an initiative's history: what it became, on which day, recorded by whom."""

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiative.id", ondelete="CASCADE"), index=True)
    #: One of OUTCOMES.
    outcome: Mapped[str] = mapped_column(String(12))
    #: The day it happened (not the day it was recorded).
    outcome_on: Mapped[date]
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=now_utc)

    initiative: Mapped[Initiative] = relationship()
    recorded_by: Mapped[User | None] = relationship()


class SecondAttempt(db.Model):
    """Initiative `initiative_id` re-attempted the earlier failure `earlier_case_id`.

    An initiative is not a case, so issue 4's typed case links cannot hold this. When the initiative becomes
    a post-mortem, the post-mortem gets a `second_attempt_of` CaseLink (zhigu.links) to each earlier failure.
    """

    __table_args__ = (UniqueConstraint("initiative_id", "earlier_case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiative.id", ondelete="CASCADE"), index=True)
    earlier_case_id: Mapped[int] = mapped_column(ForeignKey("failure_case.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    initiative: Mapped[Initiative] = relationship()
    earlier_case: Mapped[FailureCase] = relationship()


class InitiativePostMortem(db.Model):
    """The post-mortem an initiative became (at most one)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiative.id", ondelete="CASCADE"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("failure_case.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    initiative: Mapped[Initiative] = relationship()
    case: Mapped[FailureCase] = relationship()
