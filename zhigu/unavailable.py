"""A request whose database goes away answers 503, cleanly, with nothing half-written.

A lost connection, a server restart, a full disk or a locked SQLite file surfaces as SQLAlchemy's
OperationalError (or DisconnectionError, or a pool TimeoutError when no connection frees up). The transaction
dies with the connection, and the handler rolls the session back, so a use case that had flushed part of its
rows writes none of them (its outbox rows go too). The page it renders stands alone: the site's layout asks
the database for the navigation (unread notifications), which may be exactly what is down. The connection
is invalidated by SQLAlchemy, and `pool_pre_ping` (zhigu.config) replaces pooled connections that died while
idle, so the next request gets a working one as soon as the database answers.
"""
import logging

from flask import jsonify, render_template
from flask_babel import gettext
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from zhigu.errors import HTTP_MESSAGES, wants_json
from zhigu.extensions import db

log = logging.getLogger("zhigu.errors")

#: Seconds a client is asked to wait before trying again.
RETRY_AFTER = 5


def register(app) -> None:
    """Answer 503 (a page, or JSON for the API) when the database fails during a request."""

    @app.errorhandler(OperationalError)
    @app.errorhandler(DisconnectionError)
    @app.errorhandler(PoolTimeoutError)
    def database_unavailable(err):
        log.error("Database unavailable: %s", str(getattr(err, "orig", None) or err).strip().splitlines()[0],
                  exc_info=err)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection is gone; the pool discards it
            log.debug("Rollback after a database failure failed too", exc_info=True)
        message = gettext(HTTP_MESSAGES[503])
        if wants_json():
            response = jsonify(error=message, code=503)
        else:
            response = app.make_response(render_template("errors/unavailable.html", message=message))
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response
