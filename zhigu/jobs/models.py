"""Leases: which process may run a periodic job until when, so several workers never run it twice."""
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from zhigu.extensions import db


class JobLease(db.Model):
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: host:pid of the process that took the lease last, for operators.
    holder: Mapped[str] = mapped_column(String(200))
    until: Mapped[datetime]
