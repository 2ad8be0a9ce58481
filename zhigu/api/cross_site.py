"""Cross-site request forgery checks for API writes made with the browser's session cookie.

A browser attaches the session (and remember-me) cookie to requests other sites make, so a POST, PUT, PATCH or
DELETE under /api/v1 that is authenticated by the cookie must show it comes from this site:

- a foreign `Origin` (or, without one, a foreign `Referer`) is always refused;
- otherwise it needs a valid CSRF token in `X-CSRFToken` (the one the pages embed), or a JSON body
  (`Content-Type: application/json`, which a cross-site HTML form cannot send).

Calls authenticated by `Authorization: Bearer <token>` are not affected: a browser never adds that header on its
own. Refusals are 403 with a JSON message. API_CSRF_CHECK = False switches the check off (it is on in tests too,
independently of WTF_CSRF_ENABLED, which governs the pages' forms).
"""
from urllib.parse import urlsplit

from flask import current_app, request
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError as CSRFTokenError

from zhigu.api import bp
from zhigu.errors import PermissionDenied
from zhigu.i18n import N_

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADERS = ("X-CSRFToken", "X-CSRF-Token")
DEFAULT_PORTS = {"http": "80", "https": "443"}


def _origin(url: str) -> tuple[str, str] | None:
    """(scheme, host[:port]) of a URL, lowercased and without the scheme's default port; None if it has none."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    scheme, host = parts.scheme.lower(), parts.netloc.lower().rpartition("@")[2]
    if host.endswith(f":{DEFAULT_PORTS.get(scheme, '')}"):
        host = host.rpartition(":")[0]
    return scheme, host


def from_foreign_site() -> bool:
    """Whether the request's Origin, or failing that its Referer, names another site ("null" counts as one)."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source:
        return False  # not sent by a browser, or one that withholds them: the content type decides
    return _origin(source) != _origin(request.host_url)


def _csrf_token() -> str | None:
    return next((request.headers[name] for name in CSRF_HEADERS if request.headers.get(name)), None)


@bp.before_request
def refuse_cross_site_writes():
    """403 for a cookie-authenticated API write that may come from another site."""
    if request.method not in UNSAFE_METHODS or not current_app.config.get("API_CSRF_CHECK", True):
        return
    # a user loaded from the session or remember-me cookie has a session key; one from a bearer token has none
    if not current_user.is_authenticated or not getattr(current_user, "session_key", None):
        return
    if from_foreign_site():
        raise PermissionDenied(N_("Requests from other sites are refused."))
    token = _csrf_token()
    if token is not None:
        try:
            validate_csrf(token)
        except CSRFTokenError:
            raise PermissionDenied(N_("The CSRF token is missing, expired or invalid. Reload the page and try "
                                      "again.")) from None
        return
    if not request.is_json:
        raise PermissionDenied(N_("Send JSON (Content-Type: application/json) or an X-CSRFToken header."))
