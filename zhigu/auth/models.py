"""People and parks: who may see and do what is derived from a user's role and park."""
from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from zhigu.db import now_utc
from zhigu.extensions import db


class Role(StrEnum):
    member = "member"
    curator = "curator"
    manager = "manager"
    admin = "admin"


class Park(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Province/city, e.g. "Zhejiang/Hangzhou".
    region: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    users: Mapped[list["User"]] = relationship(back_populates="park")


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20), default=Role.member)
    park_id: Mapped[int | None] = mapped_column(ForeignKey("park.id"))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    park: Mapped[Park | None] = relationship(back_populates="users")
    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user", cascade="all, delete-orphan")

    #: The secret of the browser session this object was logged in with or loaded through (not a column; None
    #: for API-token callers). Flask-Login stores get_id() in the session and the remember-me cookie.
    session_key = None

    def get_id(self) -> str | None:
        """"<user id>:<session secret>", so ending the server-side session ends the cookies that carry it."""
        return f"{self.id}:{self.session_key}" if self.session_key else None

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles


class ApiToken(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    name: Mapped[str] = mapped_column(String(100))
    #: SHA-256 of the token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: First characters of the token, so its owner can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")


class UserSession(db.Model):
    """A browser log-in: the session cookie and the remember-me cookie are valid while their row exists.

    Logging out deletes the row; a password change or a deactivation deletes every row of the user.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the session secret; the secret itself lives only in the user's cookies.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
