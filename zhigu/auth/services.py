"""Sign-up, log-in, passwords, API tokens, parks and roles: one use case, one commit."""
import hashlib
import hmac
import logging
import secrets
import smtplib
import threading
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app, has_app_context, url_for
from flask_babel import force_locale, gettext
from itsdangerous import BadSignature, URLSafeTimedSerializer
from marshmallow import ValidationError
from sqlalchemy import delete, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from zhigu.auth.models import ApiToken, Park, Role, User, UserSession
from zhigu.auth.permissions import require
from zhigu.auth.schemas import (NewPasswordSchema, ParkSchema, PasswordChangeSchema, PasswordResetRequestSchema,
                                SignupSchema, UserSchema, password_problem)
from zhigu.db import now_utc
from zhigu.errors import NotFound
from zhigu.extensions import db
from zhigu.i18n import N_
from zhigu.mail import smtp_connection
from zhigu.validation import has_unstorable, strip_bidi

log = logging.getLogger(__name__)
TOKEN_PREFIX = "zg_"


def find_user(email: str) -> User | None:
    if has_unstorable(email):  # no address holds NUL or a lone surrogate; PostgreSQL fails on NUL (a 500)
        return None
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(N_("No such user."))
    return user


def find_park(slug: str) -> Park | None:
    return db.session.scalar(select(Park).where(Park.slug == slug))


def get_park(park_id: int) -> Park:
    park = db.session.get(Park, park_id)
    if park is None:
        raise NotFound(N_("No such park."))
    return park


def list_parks() -> list[Park]:
    return list(db.session.scalars(select(Park).order_by(Park.name)))


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.created_at)))


def _check_email_free(email: str, except_user: User | None = None) -> None:
    existing = find_user(email)
    if existing is not None and existing is not except_user:
        raise ValidationError({"email": [N_("An account with this e-mail address already exists.")]})


#: What sign-up says when the address is taken. It names no account, but sign-up cannot hide whether it
#: succeeded (a new account is logged in at once); its rate limit bounds how many addresses one can probe.
SIGNUP_REFUSED = N_("No account could be created with these details. If you already have one, log in instead.")


def sign_up(data: dict) -> User:
    """Create a member account from the public sign-up form; admins grant parks and roles later."""
    values = SignupSchema().load(data)
    if find_user(values["email"]) is not None:
        raise ValidationError({"email": [SIGNUP_REFUSED]})
    user = User(email=values["email"].lower(), display_name=values["display_name"].strip(),
                password_hash=generate_password_hash(values["password"]), role=Role.member)
    db.session.add(user)
    db.session.commit()
    return user


def create_user(email: str, password: str, role: Role | str = Role.member, park_slug: str | None = None,
                display_name: str | None = None) -> User:
    """Create a user with any role (CLI and demo); validates like sign-up."""
    values = SignupSchema().load({"email": email, "password": password,
                                  "display_name": display_name or email.split("@")[0]})
    _check_email_free(values["email"])
    user = User(email=values["email"].lower(), display_name=values["display_name"],
                password_hash=generate_password_hash(password), role=Role(role),
                park=_park_or_error(park_slug))
    db.session.add(user)
    db.session.commit()
    return user


def _park_or_error(slug: str | None) -> Park | None:
    if not slug:
        return None
    park = find_park(slug)
    if park is None:
        raise ValidationError({"park": [N_("No park with slug {slug}.").format(slug=repr(slug))]})
    return park


_dummy_hash: list[str] = []


def _unknown_user_hash() -> str:
    """A hash to check passwords of unknown addresses against, so they take as long as a wrong password."""
    if not _dummy_hash:
        _dummy_hash.append(generate_password_hash(secrets.token_urlsafe(16)))
    return _dummy_hash[0]


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with these credentials, or None (the same None whatever was wrong)."""
    user = find_user(email or "")
    password_hash = user.password_hash if user is not None else _unknown_user_hash()
    if not check_password_hash(password_hash, password or "") or user is None or not user.is_active:
        return None
    return user


def change_password(user: User, data: dict) -> int:
    """Set a new password and end every session and remember-me cookie of the user.

    The browser that made the change (if any) gets a fresh session, left in `user.session_key`. With
    `revoke_tokens` the user's API tokens are revoked too; returns how many were.
    """
    values = PasswordChangeSchema().load(data)
    if not check_password_hash(user.password_hash, values["current_password"]):
        raise ValidationError({"current_password": [N_("The current password is not correct.")]})
    if problem := password_problem(values["new_password"], user.email):
        raise ValidationError({"new_password": [problem]})
    user.password_hash = generate_password_hash(values["new_password"])
    had_session = user.session_key is not None
    _end_all_sessions(user)
    revoked = _revoke_all_tokens(user) if values.get("revoke_tokens") else 0
    if had_session:
        _new_session(user)
    db.session.commit()
    return revoked


def set_password(user: User, data: dict) -> None:
    """Set a password without the current one (`zhigu auth set-password`); every session of the user ends."""
    _replace_password(user, data)
    db.session.commit()


def _replace_password(user: User, data: dict) -> None:
    """Validate NewPasswordSchema data against the policy, store the new hash and end the user's sessions."""
    values = NewPasswordSchema().load(data)
    if problem := password_problem(values["password"], user.email):
        raise ValidationError({"password": [problem]})
    user.password_hash = generate_password_hash(values["password"])
    _end_all_sessions(user)


# -- password reset by e-mail ------------------------------------------------------------------------------
#
# The link carries a token signed with SECRET_KEY (itsdangerous, with its own salt, so no other signed value
# of the app passes for one), naming the user and a digest of their password hash. It expires after
# PASSWORD_RESET_MAX_AGE seconds and works once: setting a password changes the hash, and with it every link
# sent before. Nothing is stored.

#: Salt of reset tokens.
RESET_SALT = "zhigu.password-reset"


def reset_max_age() -> int:
    """Seconds a reset link works (PASSWORD_RESET_MAX_AGE, one hour by default)."""
    return int(current_app.config.get("PASSWORD_RESET_MAX_AGE", 3600))


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=RESET_SALT)


def _password_fingerprint(user: User) -> str:
    """Changes whenever the password does (the hash is salted afresh each time), never reveals the hash."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:20]


def password_reset_token(user: User) -> str:
    return _reset_serializer().dumps({"user": user.id, "password": _password_fingerprint(user)})


def user_for_reset_token(token: str | None) -> User | None:
    """The active user a reset token was made for, or None when it is forged, expired or already used."""
    if not token or len(token) > 500:
        return None
    try:
        data = _reset_serializer().loads(token, max_age=reset_max_age())
    except BadSignature:  # SignatureExpired is one too
        return None
    if not isinstance(data, dict) or not isinstance(data.get("user"), int) or not isinstance(data.get("password"), str):
        return None
    user = db.session.get(User, data["user"])
    if user is None or not user.is_active or not hmac.compare_digest(data["password"], _password_fingerprint(user)):
        return None
    return user


def request_password_reset(data: dict) -> None:
    """Mail a reset link to the active account with this address, if there is one; the caller learns nothing.

    The mail leaves from a background thread, so a known address answers as fast as an unknown one.
    """
    values = PasswordResetRequestSchema().load(data)
    user = find_user(values["email"])
    if user is None or not user.is_active:
        return
    _send_in_background(_reset_message(user, password_reset_token(user)))


def reset_password(token: str | None, data: dict) -> User | None:
    """Set the password of the token's user and end all their sessions; None when the link no longer works."""
    user = user_for_reset_token(token)
    if user is None:
        return None
    _replace_password(user, data)
    db.session.commit()
    return user


def _reset_message(user: User, token: str) -> EmailMessage:
    """The reset e-mail in Chinese and English (users have no stored language), as the digests are.

    The link starts with BASE_URL, never with the request's Host header, which the requester controls.
    """
    link = current_app.config.get("BASE_URL", "http://localhost:5000").rstrip("/") + url_for(
        "auth.reset_password", token=token)
    minutes = reset_max_age() // 60
    subjects, bodies = [], []
    for language in ("en", "zh"):
        with force_locale(language):
            subjects.append(gettext("Reset your Zhigu password"))
            bodies.append("\n".join([
                gettext("Hello %(name)s,", name=user.display_name), "",
                gettext("Someone (we hope you) asked to set a new password for your Zhigu account. Open this link "
                        "within %(minutes)d minutes to choose one; it works once:", minutes=minutes), "",
                link, "",
                gettext("Setting a new password logs you out everywhere. If you did not ask for this, ignore this "
                        "e-mail: your password stays as it is.")]))
    message = EmailMessage()
    message["Subject"] = strip_bidi(" / ".join(subjects))
    message["From"] = current_app.config.get("MAIL_FROM", "zhigu@localhost")
    message["To"] = user.email
    message.set_content(strip_bidi("\n\n----\n\n".join(reversed(bodies))))
    return message


def _send_in_background(message: EmailMessage) -> threading.Thread:
    """Send through the digests' SMTP settings (MAIL_*) without making the request wait for the server."""
    app = current_app._get_current_object()

    def send():
        with app.app_context():
            try:
                smtp = smtp_connection()
                try:
                    smtp.send_message(message)
                finally:
                    smtp.quit()
            except (smtplib.SMTPException, OSError):
                log.exception("A password reset e-mail could not be sent")

    thread = threading.Thread(target=send, name="zhigu-reset-mail", daemon=True)
    thread.start()
    return thread


def update_user(actor, user: User, data: dict) -> User:
    """Admins change a user's name, e-mail, role, park and whether the account is active."""
    require(actor, "admin.users")
    values = UserSchema().load(data)
    _check_email_free(values["email"], except_user=user)
    user.email = values["email"].lower()
    user.display_name = values["display_name"]
    user.role = values["role"]
    user.park = _park_or_error(values["park"])
    if user.is_active and not values["is_active"]:
        # a deactivated account keeps no way in, even if it is reactivated later
        _end_all_sessions(user)
        _revoke_all_tokens(user)
    user.is_active = values["is_active"]
    db.session.commit()
    return user


def create_park(actor, data: dict) -> Park:
    if actor is not None:
        require(actor, "admin.parks")
    values = ParkSchema().load(data)
    if find_park(values["slug"]) is not None:
        raise ValidationError({"slug": [N_("A park with this slug already exists.")]})
    park = Park(**values)
    db.session.add(park)
    db.session.commit()
    return park


def update_park(actor, park: Park, data: dict) -> Park:
    require(actor, "admin.parks")
    values = ParkSchema().load(data)
    existing = find_park(values["slug"])
    if existing is not None and existing is not park:
        raise ValidationError({"slug": [N_("A park with this slug already exists.")]})
    for key, value in values.items():
        setattr(park, key, value)
    db.session.commit()
    return park


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str = "API token") -> tuple[ApiToken, str]:
    """Create an API token; return it with its secret, which is shown once and stored only hashed."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": [N_("Give the token a name of 1 to 100 characters.")]})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, token_hash=_hash_token(secret), prefix=secret[:10])
    db.session.add(token)
    db.session.commit()
    return token, secret


def user_for_token(secret: str) -> User | None:
    """Resolve a bearer token to its active user, recording when it was last used."""
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(secret)))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    token.last_used_at = now_utc()
    db.session.commit()
    return token.user


def revoke_token(user: User, token_id: int) -> None:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(N_("No such token."))
    token.revoked_at = token.revoked_at or now_utc()
    db.session.commit()


def session_lifetime() -> timedelta:
    """How long a browser log-in lasts at most: the remember-me cookie's duration (365 days by default)."""
    duration = current_app.config.get("REMEMBER_COOKIE_DURATION") if has_app_context() else None
    if duration is None:
        return timedelta(days=365)
    return duration if isinstance(duration, timedelta) else timedelta(seconds=int(duration))


def _hash_session_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_session(user: User) -> str:
    """Add a server-side session for `user`, put its secret in `user.session_key`, and drop expired ones."""
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id,
                                                 UserSession.created_at < now_utc() - session_lifetime()))
    key = secrets.token_urlsafe(32)
    db.session.add(UserSession(user_id=user.id, key_hash=_hash_session_key(key)))
    db.session.flush()
    user.session_key = key
    return key


def _end_all_sessions(user: User) -> None:
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    user.session_key = None


def _revoke_all_tokens(user: User) -> int:
    result = db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                                .values(revoked_at=now_utc()).execution_options(synchronize_session="fetch"))
    return result.rowcount


def start_session(user: User) -> str:
    """Record a browser log-in of `user` (just authenticated or signed up); return the session's secret."""
    key = _new_session(user)
    db.session.commit()
    return key


def log_in(email: str, password: str) -> User | None:
    """Check the credentials and start a session: the user, with `session_key` set, or None."""
    user = authenticate(email, password)
    if user is not None:
        start_session(user)
    return user


def end_session(user: User) -> None:
    """Log out: the session's cookies (session and remember-me) stop working, wherever they were copied to."""
    if user.session_key:
        db.session.execute(delete(UserSession).where(UserSession.key_hash == _hash_session_key(user.session_key)))
        db.session.commit()
    user.session_key = None


def user_for_session(session_id: str) -> User | None:
    """Resolve Flask-Login's "<user id>:<secret>" to its active user, or None for an ended or unknown session."""
    user_id, _, key = (session_id or "").partition(":")
    if not user_id.isdigit() or not key or len(key) > 128:
        return None  # bare ids from before server-side sessions are refused too
    user = db.session.scalar(
        select(User).join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.key_hash == _hash_session_key(key),
               UserSession.created_at >= now_utc() - session_lifetime()))
    if user is None or str(user.id) != user_id or not user.is_active:
        return None
    user.session_key = key
    return user
