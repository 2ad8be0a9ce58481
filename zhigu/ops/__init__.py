"""Operations: health and readiness endpoints, request ids and structured logs, security headers.

- `GET /healthz`: the process answers (liveness). `GET /readyz`: the database answers, the index reads and is
  no more than READY_MAX_PENDING outbox rows behind (readiness); 503 with the failing checks otherwise.
- Every request gets an id (the caller's `X-Request-ID` when it is sane, else a new one), echoed in the
  response and attached to every log record; with LOG_FORMAT = "json" (the default outside tests) the
  `zhigu` loggers write one JSON object per line, and `zhigu.access` logs each request.
- Security headers on every response, including a Content-Security-Policy that allows only this site's own
  scripts, styles and images (templates carry no inline script or style; tests/test_ops.py checks that).
  Cookies get `Secure` whenever the request came over HTTPS (behind a proxy: set PROXY_FIX_HOPS).
"""
import json
import logging
import re
import time
import uuid
from datetime import datetime, timezone

from flask import Blueprint, current_app, g, has_request_context, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import text

from zhigu.extensions import db
from zhigu.search import outbox

bp = Blueprint("ops", __name__)
log = logging.getLogger("zhigu.access")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def init_app(app) -> None:
    """Install the endpoints, request ids, logging and headers."""
    hops = int(app.config.get("PROXY_FIX_HOPS") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    app.register_blueprint(bp)
    app.before_request(_start_request)
    # first in the list, so it runs after every other after_request function (Flask runs them in reverse)
    # and sees the cookies they set (Flask-Login's remember-me); the session cookie comes later still,
    # hence the session interface
    app.after_request_funcs.setdefault(None, []).insert(0, _finish_request)
    app.session_interface = HttpsAwareSessionInterface()
    configure_logging(app)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Database reachable, index readable and not too far behind the outbox."""
    checks, ready = {}, True
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = {"ok": True}
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        checks["database"] = {"ok": False, "error": type(error).__name__}
        ready = False
    index = current_app.extensions["zhigu.search"]
    try:
        documents = index.document_count()
        checks["index"] = {"ok": True, "documents": documents}
    except Exception as error:  # noqa: BLE001
        checks["index"] = {"ok": False, "error": type(error).__name__}
        ready = False
    if checks["database"]["ok"]:
        limit = int(current_app.config["READY_MAX_PENDING"])
        try:
            pending = outbox.pending_count(db.engine, index.directory)
            ok = pending <= limit
            checks["outbox"] = {"ok": ok, "pending": pending, "max_pending": limit,
                                "applied": outbox.applied_change(index.directory) or 0}
            ready = ready and ok
        except Exception as error:  # noqa: BLE001
            checks["outbox"] = {"ok": False, "error": type(error).__name__}
            ready = False
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503


def request_id() -> str | None:
    return getattr(g, "request_id", None) if has_request_context() else None


def _start_request():
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish_request(response):
    response.headers["X-Request-ID"] = g.get("request_id", "")
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        _secure_cookies(response)
    if request.endpoint not in ("static",):
        started = g.get("request_started")
        log.info("%s %s %s", request.method, request.path, response.status_code,
                 extra={"method": request.method, "path": request.path, "status": response.status_code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None})
    return response


class HttpsAwareSessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure when SESSION_COOKIE_SECURE says so or the request came over HTTPS."""

    def get_cookie_secure(self, app) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)


def _secure_cookies(response) -> None:
    """Add `Secure` to every cookie set over HTTPS (session, remember-me), whatever the static config says."""
    cookies = response.headers.getlist("Set-Cookie")
    if not cookies:
        return
    response.headers.remove("Set-Cookie")
    for cookie in cookies:
        if not re.search(r";\s*Secure(;|$)", cookie, re.IGNORECASE):
            cookie += "; Secure"
        response.headers.add("Set-Cookie", cookie)


def _install_record_factory() -> None:
    """Give every log record of the process a `request_id` attribute (None outside a request)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_zhigu", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        record.request_id = request_id()
        return record

    factory._zhigu = True
    logging.setLogRecordFactory(factory)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and the record's extra fields."""

    EXTRA = ("request_id", "method", "path", "status", "duration_ms")

    def format(self, record):
        entry = {"ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        for key in self.EXTRA:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(app) -> None:
    """Request ids on every record and, unless testing or LOG_FORMAT is "none", one stderr handler for `zhigu`."""
    _install_record_factory()
    logger = logging.getLogger("zhigu")
    fmt = app.config.get("LOG_FORMAT", "json")
    if app.testing or fmt == "none" or any(getattr(h, "_zhigu", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler._zhigu = True
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    logger.propagate = False
