"""Typed links between two cases, and the record of a duplicate merged into the case that was kept."""
from datetime import datetime

from flask_babel import gettext
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from zhigu.archive.models import FailureCase
from zhigu.auth.models import User
from zhigu.db import now_utc
from zhigu.extensions import db
from zhigu.i18n import N_

#: type: (label from the source, label from the target).
#: English here (stored notification texts use it); `label()` and the forms translate it for display.
LINK_TYPES = {
    "same_root_cause": (N_("shares a root cause with"), N_("shares a root cause with")),
    "second_attempt_of": (N_("is a second attempt of"), N_("was attempted again in")),
    "duplicate_of": (N_("is a duplicate of"), N_("has a duplicate")),
    "contradicts": (N_("has a lesson that contradicts"), N_("has a lesson contradicted by")),
    "related": (N_("is related to"), N_("is related to")),
}


class CaseLink(db.Model):
    __table_args__ = (UniqueConstraint("source_id", "target_id", "type"),
                      CheckConstraint("source_id <> target_id", name="no_self_link"))

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("failure_case.id", ondelete="CASCADE"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("failure_case.id", ondelete="CASCADE"), index=True)
    #: One of LINK_TYPES; read "source <type> target".
    type: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(String(500), default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    source: Mapped[FailureCase] = relationship(foreign_keys=[source_id])
    target: Mapped[FailureCase] = relationship(foreign_keys=[target_id])
    author: Mapped[User | None] = relationship()

    def other(self, case_id: int) -> FailureCase:
        return self.target if self.source_id == case_id else self.source

    def label(self, case_id: int) -> str:
        """The link in words that read right from the side of `case_id`."""
        forward, backward = LINK_TYPES.get(self.type, (self.type, self.type))
        return gettext(forward if self.source_id == case_id else backward)


class CaseMerge(db.Model):
    """`duplicate_id` was merged into `kept_id`: its URL redirects there; its row stays (retracted)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    duplicate_id: Mapped[int] = mapped_column(ForeignKey("failure_case.id", ondelete="CASCADE"), unique=True)
    kept_id: Mapped[int] = mapped_column(ForeignKey("failure_case.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    duplicate: Mapped[FailureCase] = relationship(foreign_keys=[duplicate_id])
    kept: Mapped[FailureCase] = relationship(foreign_keys=[kept_id])
    actor: Mapped[User | None] = relationship()
