"""AuditRecord: one row per delete, hide or merge, kept even when what it names is gone."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from zhigu.auth.models import User
from zhigu.db import now_utc
from zhigu.extensions import db


class AuditRecord(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: comment.delete, comment.hide, comment.unhide, link.delete, case.merge.
    action: Mapped[str] = mapped_column(String(30))
    #: The case the action belongs to; not a foreign key, so the record outlives the case.
    case_id: Mapped[int | None] = mapped_column(index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    #: What was affected, e.g. {"comment_id": 3, "body": "..."} or {"kept_id": 1, "moved_comments": [...]}.
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    actor: Mapped[User | None] = relationship()
