"""New initiatives registered by founders, the past failures suggested to them, and their verdicts."""
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from zhigu.archive.models import FailureCase
from zhigu.auth.models import User
from zhigu.db import now_utc
from zhigu.extensions import db


class Initiative(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    sector: Mapped[str | None] = mapped_column(String(40))
    #: ISO 3166-1 alpha-2 codes.
    target_markets: Mapped[list[str]] = mapped_column(JSON, default=list)
    planned_start: Mapped[date | None]
    founder_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    founder: Mapped[User] = relationship()
    suggestions: Mapped[list["Suggestion"]] = relationship(
        back_populates="initiative", cascade="all, delete-orphan", order_by=lambda: Suggestion.rank)


class Suggestion(db.Model):
    """A past failure shown to a founder for an initiative, and what the founder said of it.

    The verdicts are the ground truth for improving search: which suggestions founders found relevant.
    """

    __table_args__ = (UniqueConstraint("initiative_id", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiative.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("failure_case.id", ondelete="CASCADE"))
    #: Position in the list the founder saw (1 = first); None when the verdict was on a case not suggested.
    rank: Mapped[int | None]
    score: Mapped[float | None]
    #: Why it matched, as returned by search: {"terms": [...], "sector": ..., ...}.
    why: Mapped[dict] = mapped_column(JSON, default=dict)
    #: "relevant", "not_relevant" or None while the founder has not said.
    verdict: Mapped[str | None] = mapped_column(String(20))
    #: For relevant cases: how this attempt differs.
    note: Mapped[str] = mapped_column(Text, default="")
    verdict_at: Mapped[datetime | None]

    initiative: Mapped[Initiative] = relationship(back_populates="suggestions")
    case: Mapped[FailureCase] = relationship()
