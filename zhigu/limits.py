"""Limits on requests: ids in URLs within what the database's integer columns hold, and rate limits on the
doors an attacker knocks on: log-in, sign-up, password change and reset, API token creation, and on the costly
ones: searches with words and "find similar" (per address; see zhigu.search.services for each search's bound).

Flask-Limiter counts requests in a storage shared by every worker: Redis when `RATELIMIT_STORAGE_URL` is set
(`ZHIGU_RATELIMIT_STORAGE_URL=redis://127.0.0.1:6379/0`), else the process's memory (one worker only: with
several gunicorn workers each would keep its own count). Each app gets its own `Limiter`, so two apps in one
process (tests, the CLI) never share counters unless they share a storage.

Only failed attempts count against the log-in and password-change limits (a user who types the right
password is never locked out by their own successful log-ins). When a limit is reached, pages answer 429 with
a translated lock-out message and JSON clients get `{"error": ..., "code": 429}`; both carry `Retry-After`.
If the storage is unreachable the limiter falls back to memory and logs it, rather than failing log-ins.
"""
import math
import time

from flask import Flask, current_app, request
from flask_babel import gettext
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

EXTENSION = "zhigu.limiter"


#: Ids and other integer columns are SQL `integer`: 32 bits signed on PostgreSQL (SQLite stores 64).
MAX_INTEGER = 2**31 - 1


class DatabaseIntegerConverter(IntegerConverter):
    """`<int:...>` in routes: an id past what an `integer` column holds cannot exist, so it is a 404 at once,
    never an overflow in the database driver (a 500)."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_INTEGER:
            raise NotFound()
        return number


def register_converters(app: Flask) -> None:
    """Call before the blueprints are registered: routes pick their converters when they are added."""
    app.url_map.converters["int"] = DatabaseIntegerConverter

#: Defaults of the settings (instance/config.py or ZHIGU_* variables override them). Limits are strings like
#: "10 per 15 minutes"; several may be joined with ";".
DEFAULTS = {
    "RATELIMIT_ENABLED": True,
    #: "memory://" keeps counts per process (one worker); with several workers or machines use Redis.
    "RATELIMIT_STORAGE_URL": "memory://",
    #: Failed log-ins per address and e-mail address, and per address whatever the e-mail.
    "RATELIMIT_LOGIN": "10 per 15 minutes",
    "RATELIMIT_LOGIN_ADDRESS": "50 per hour",
    #: Sign-ups per address.
    "RATELIMIT_SIGNUP": "10 per hour",
    #: Wrong current passwords on the profile page, per user.
    "RATELIMIT_PASSWORD_CHANGE": "10 per 15 minutes",
    #: Password reset e-mails asked for, per address and e-mail address (nobody floods a mailbox), and per
    #: address whatever the e-mail (nobody probes many addresses).
    "RATELIMIT_PASSWORD_RESET": "5 per hour",
    "RATELIMIT_PASSWORD_RESET_ADDRESS": "20 per hour",
    #: API tokens created, per user.
    "RATELIMIT_TOKEN": "20 per hour",
    #: Searches with words (the search page and GET /api/v1/cases?q=...) and "find similar" requests (the API
    #: and the initiative form's live list, which asks at most every 0.6 s while the founder types), per
    #: address: more than a person reading results sends, far fewer than a script.
    "RATELIMIT_SEARCH": "30 per minute;600 per hour",
    "RATELIMIT_SIMILAR": "40 per minute;600 per hour",
}

#: Which view, which setting holds its limit, and what identifies the caller.
LIMITED_VIEWS = (
    # endpoint, config key, key function name, count only failures
    ("auth.login", "RATELIMIT_LOGIN", "address_and_email", True),
    ("auth.login", "RATELIMIT_LOGIN_ADDRESS", "address", True),
    ("auth.signup", "RATELIMIT_SIGNUP", "address", False),
    ("auth.profile", "RATELIMIT_PASSWORD_CHANGE", "user", True),
    ("auth.forgot_password", "RATELIMIT_PASSWORD_RESET", "address_and_email", False),
    ("auth.forgot_password", "RATELIMIT_PASSWORD_RESET_ADDRESS", "address", False),
    ("auth.create_token", "RATELIMIT_TOKEN", "user", False),
)
#: Searches, limited per address whoever is logged in: endpoint, method, config key. A search counts only when
#: it has words (browsing and filtering the archive do not); both search endpoints share one count.
SEARCH_VIEWS = (
    ("search.search", "GET", "RATELIMIT_SEARCH"),
    ("api.search", "GET", "RATELIMIT_SEARCH"),
    ("api.similar", "POST", "RATELIMIT_SIMILAR"),
    ("initiatives.similar", "POST", "RATELIMIT_SIMILAR"),
)


def _address() -> str:
    return get_remote_address() or "unknown"


def _address_and_email() -> str:
    """Count wrong passwords per address and account, so nobody can lock a victim out from elsewhere."""
    return f"{_address()}|{request.form.get('email', '').strip().lower()}"


def _user() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else f"address:{_address()}"


KEY_FUNCTIONS = {"address": _address, "address_and_email": _address_and_email, "user": _user}


def _failed(response) -> bool:
    """Log-in and password change redirect on success; anything else is a failed attempt."""
    return not 300 <= response.status_code < 400


def lockout_message() -> str:
    """The message shown when a limit is reached, with the wait rounded up to whole minutes."""
    limiter = current_app.extensions.get(EXTENSION)
    limit = limiter.current_limit if limiter is not None else None
    if limit is not None:
        seconds = limit.reset_at - 1 - time.time()  # reset_at is rounded up by one second
        return gettext("Too many attempts. For your security this form is locked: try again in %(minutes)s min.",
                       minutes=max(1, math.ceil(seconds / 60)))
    return gettext("Too many requests. Wait a moment and try again.")


def search_limit_message() -> str:
    """The message shown when an address has searched too often, with the wait in whole minutes."""
    limiter = current_app.extensions.get(EXTENSION)
    limit = limiter.current_limit if limiter is not None else None
    if limit is not None:
        seconds = limit.reset_at - 1 - time.time()
        return gettext("Too many searches from your address. Try again in %(minutes)s min.",
                       minutes=max(1, math.ceil(seconds / 60)))
    return gettext("Too many requests. Wait a moment and try again.")


def _without_words() -> bool:
    """A search page or search API request without words: browsing, not searching."""
    return request.method == "GET" and not request.args.get("q", "").strip()


def init_app(app: Flask) -> None:
    """Create this app's limiter and put the limits on the log-in, sign-up, password and token views."""
    config = app.config
    for key, value in DEFAULTS.items():
        config.setdefault(key, value)
    config["RATELIMIT_STORAGE_URI"] = config["RATELIMIT_STORAGE_URL"]
    limiter = Limiter(key_func=_address, storage_uri=config["RATELIMIT_STORAGE_URI"],
                      key_prefix=config.get("RATELIMIT_KEY_PREFIX", "zhigu"),
                      headers_enabled=True, retry_after="delta-seconds", swallow_errors=True,
                      in_memory_fallback_enabled=True, strategy="fixed-window",
                      enabled=bool(config.get("RATELIMIT_ENABLED", True)))
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter
    for endpoint, key, key_function, failures_only in LIMITED_VIEWS:
        if endpoint not in app.view_functions:
            continue
        decorate = limiter.limit(lambda key=key: current_app.config[key], key_func=KEY_FUNCTIONS[key_function],
                                 methods=["POST"], error_message=lockout_message, scope=key.lower(),
                                 deduct_when=_failed if failures_only else None)
        app.view_functions[endpoint] = decorate(app.view_functions[endpoint])
    for endpoint, method, key in SEARCH_VIEWS:
        if endpoint not in app.view_functions:
            continue
        decorate = limiter.shared_limit(lambda key=key: current_app.config[key], scope=key.lower(),
                                        key_func=_address, methods=[method], error_message=search_limit_message,
                                        exempt_when=_without_words)
        app.view_functions[endpoint] = decorate(app.view_functions[endpoint])
