"""Post-mortems of failed first attempts, their causes and their revision history."""
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Enum, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from zhigu.auth.models import Park, User
from zhigu.db import now_utc
from zhigu.extensions import db


class CaseStatus(StrEnum):
    """Where a case is in its life. The column, the JSON `status` and exports carry these values: keep them."""

    draft = "draft"
    #: draft -> in_review -> changes_requested | rejected | published (zhigu.reviews)
    in_review = "in_review"
    changes_requested = "changes_requested"
    rejected = "rejected"
    published = "published"
    retracted = "retracted"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]

    @property
    def is_out(self) -> bool:
        """Published or retracted: the case left its filer's hands and its visibility decides who reads it."""
        return self in (CaseStatus.published, CaseStatus.retracted)


#: Only its author, its park's managers and admins see a case in these statuses (it is not, or not yet, out).
UNPUBLISHED_STATUSES = (CaseStatus.draft, CaseStatus.in_review, CaseStatus.changes_requested, CaseStatus.rejected)
_STATUS_LABELS = {CaseStatus.draft: _l("Draft"), CaseStatus.in_review: _l("In review"),
                  CaseStatus.changes_requested: _l("Changes requested"), CaseStatus.rejected: _l("Rejected"),
                  CaseStatus.published: _l("Published"), CaseStatus.retracted: _l("Retracted")}


class Visibility(StrEnum):
    """Who may read a case once it is out (see zhigu.archive.permissions). Stored and sent as these values."""

    public = "public"
    park = "park"
    private = "private"

    @property
    def label(self) -> str:
        return _VISIBILITY_TEXT[self][0]

    @property
    def help(self) -> str:
        return _VISIBILITY_TEXT[self][1]

    @classmethod
    def choices(cls) -> list[tuple[str, str, str]]:
        """(value, label, help) of each visibility, for the case form's radios."""
        return [(member.value, member.label, member.help) for member in cls]


_VISIBILITY_TEXT = {
    Visibility.public: (_l("Everyone"), _l("including visitors who are not logged in")),
    Visibility.park: (_l("My park"), _l("members of the case's park, plus admins")),
    Visibility.private: (_l("Private"), _l("only the filer, the park's managers and admins")),
}


class Cause(db.Model):
    """One entry of the failure-cause taxonomy; retired causes stay on old cases but can't be chosen."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    family: Mapped[str] = mapped_column(String(32))
    label_en: Mapped[str] = mapped_column(String(200))
    label_zh: Mapped[str] = mapped_column(String(200))
    retired: Mapped[bool] = mapped_column(default=False)

    def label(self, language: str = "en") -> str:
        return self.label_zh if language.startswith("zh") else self.label_en


class CaseCause(db.Model):
    __table_args__ = (
        UniqueConstraint("case_id", "cause_id"),
        # one primary cause per case, whatever two saves at once do (a partial unique index, on both databases)
        Index("uq_case_cause_primary", "case_id", unique=True, sqlite_where=text("is_primary"),
              postgresql_where=text("is_primary")),
        # a case's primary cause without reading the row: the trends page joins it for every case in scope
        Index("ix_case_cause_trends", "case_id", "is_primary", "cause_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("failure_case.id", ondelete="CASCADE"))
    cause_id: Mapped[int] = mapped_column(ForeignKey("cause.id"))
    is_primary: Mapped[bool] = mapped_column(default=False)

    cause: Mapped[Cause] = relationship(lazy="joined")


class FailureCase(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    #: Identifier in the collection a case was imported from; unique so imports are idempotent.
    external_id: Mapped[str | None] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    narrative: Mapped[str] = mapped_column(Text, default="")
    warning_signs: Mapped[str] = mapped_column(Text, default="")
    lessons: Mapped[str] = mapped_column(Text, default="")
    sector: Mapped[str | None] = mapped_column(String(40))
    #: "Province/City" in the form parks use, e.g. "Zhejiang/Hangzhou".
    region: Mapped[str | None] = mapped_column(String(120))
    #: ISO 3166-1 alpha-2 codes of the countries the attempt targeted.
    target_markets: Mapped[list[str]] = mapped_column(JSON, default=list)
    stage_reached: Mapped[str | None] = mapped_column(String(20))
    started_on: Mapped[date | None]
    ended_on: Mapped[date | None]
    money_lost: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    team_size: Mapped[int | None]
    org_name: Mapped[str | None] = mapped_column(String(200))
    org_type: Mapped[str | None] = mapped_column(String(20))
    #: Hide org_name from everyone but the filer, their park's managers and admins.
    anonymize: Mapped[bool] = mapped_column(default=False)
    language: Mapped[str] = mapped_column(String(12), default="en")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    source_url: Mapped[str | None] = mapped_column(String(500))
    # native_enum=False keeps the VARCHAR columns the database already has
    status: Mapped[CaseStatus] = mapped_column(Enum(CaseStatus, native_enum=False, length=20),
                                               default=CaseStatus.draft)
    visibility: Mapped[Visibility] = mapped_column(Enum(Visibility, native_enum=False, length=12),
                                                   default=Visibility.public)
    retraction_reason: Mapped[str | None] = mapped_column(Text)
    retracted_at: Mapped[datetime | None]
    #: Indexed: trends reads the newest cases of a window (recurrences) without sorting the table.
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    park_id: Mapped[int | None] = mapped_column(ForeignKey("park.id"))
    #: Incremented by every UPDATE of the row; an UPDATE made from an older version changes nothing and fails
    #: (SQLAlchemy's version counter: a compare-and-set), and edits name the version they started from.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    author: Mapped[User | None] = relationship()
    park: Mapped[Park | None] = relationship()
    case_causes: Mapped[list[CaseCause]] = relationship(
        cascade="all, delete-orphan", order_by=lambda: (CaseCause.is_primary.desc(), CaseCause.id)
    )
    revisions: Mapped[list["CaseRevision"]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by=lambda: CaseRevision.id.desc()
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def causes(self) -> list[Cause]:
        return [link.cause for link in self.case_causes]

    @property
    def primary_cause(self) -> Cause | None:
        return next((link.cause for link in self.case_causes if link.is_primary), None)

    @property
    def is_published(self) -> bool:
        return self.status == CaseStatus.published


def failure_date():
    """The day a case counts as having failed: its end date, else its publication."""
    return func.coalesce(FailureCase.ended_on, FailureCase.published_at)


#: The columns the trends page counts by, in one index that answers its queries without reading the cases'
#: rows: their texts make every scan of the table slow (trends' SQL at 10,000 cases: 370 to 30 ms a page). The
#: start date, money and currency are what its spreads read (at 100,000 cases in SQLite, 0.6 to 0.2 s), the
#: target markets what its market counts read: a key column in SQLite; in PostgreSQL, where JSON has no order to
#: be a key by, a column the index carries (INCLUDE).
TRENDS_COLUMNS = (FailureCase.status, FailureCase.visibility, failure_date(), FailureCase.sector, FailureCase.region,
                  FailureCase.stage_reached, FailureCase.park_id, FailureCase.author_id, FailureCase.ended_on,
                  FailureCase.published_at, FailureCase.started_on, FailureCase.money_lost, FailureCase.currency)
Index("ix_failure_case_trends", *TRENDS_COLUMNS, FailureCase.target_markets).ddl_if(dialect="sqlite")
Index("ix_failure_case_trends", *TRENDS_COLUMNS, postgresql_include=["target_markets"]).ddl_if(dialect="postgresql")


class CaseRevision(db.Model):
    """One edit of a published case: who, when, and each changed field's old and new value."""

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("failure_case.id", ondelete="CASCADE"))
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: {field: {"old": ..., "new": ...}} in JSON-ready form.
    changes: Mapped[dict] = mapped_column(JSON)
    #: Why: "edit", "retract", "publish", "import".
    action: Mapped[str] = mapped_column(String(20), default="edit")

    case: Mapped[FailureCase] = relationship(back_populates="revisions")
    editor: Mapped[User | None] = relationship()
