"""The search outbox: the database's ordered log of cases whose index documents must be rewritten."""
from datetime import datetime

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from zhigu.db import now_utc
from zhigu.extensions import db


class IndexChange(db.Model):
    """One case to re-read and re-index; written in the transaction that changed the case.

    Ids grow in commit order (see zhigu.search.outbox), so an index directory follows the log by remembering
    the last id it applied.
    """

    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
