"""Comments on a case. Deleted and hidden comments stay as rows, so threads stay readable and nothing is lost."""
from datetime import datetime
from typing import Iterable

from sqlalchemy import ForeignKey, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from zhigu.archive.models import FailureCase
from zhigu.auth.models import User
from zhigu.db import now_utc
from zhigu.extensions import db


class Comment(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("failure_case.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: The top-level comment this one replies to; replies go one level deep.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comment.id"))
    #: Markdown, rendered sanitized.
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    edited_at: Mapped[datetime | None]
    #: Deleted by its author: shown as a "deleted" marker; the body is kept for the audit trail.
    deleted_at: Mapped[datetime | None]
    hidden_at: Mapped[datetime | None]
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    hidden_reason: Mapped[str | None] = mapped_column(Text)

    case: Mapped[FailureCase] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    hidden_by: Mapped[User | None] = relationship(foreign_keys=[hidden_by_id])
    parent: Mapped["Comment | None"] = relationship(remote_side=[id], back_populates="replies")
    replies: Mapped[list["Comment"]] = relationship(back_populates="parent", order_by=lambda: Comment.id)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def is_visible(self) -> bool:
        return not self.is_deleted and not self.is_hidden


def searchable_comment_texts(session, case_ids: Iterable[int]) -> dict[int, str]:
    """The bodies of each case's visible comments (cases without any left out), for their index documents
    (zhigu.search.documents): one query for a batch of cases, not one a case."""
    bodies: dict[int, list[str]] = {}
    rows = session.execute(select(Comment.case_id, Comment.body)
                           .where(Comment.case_id.in_(list(case_ids)), Comment.deleted_at.is_(None),
                                  Comment.hidden_at.is_(None))
                           .order_by(Comment.case_id, Comment.id))
    for case_id, body in rows:
        bodies.setdefault(case_id, []).append(body)
    return {case_id: "\n".join(texts) for case_id, texts in bodies.items()}
