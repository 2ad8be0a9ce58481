"""An API call whose credentials do not authenticate gets 401, whatever it asks for.

Hidden and missing objects answer alike (404, see zhigu.visibility), so a call with an unknown, expired or
revoked token must not be served as a visitor's: it would get 404 for a case its owner may open, and never
learn that the token is the problem.
"""
from flask import request
from flask_login import current_user
from werkzeug.exceptions import Unauthorized

from zhigu.api import bp
from zhigu.i18n import N_


@bp.before_request
def refuse_bad_credentials():
    """401 when an Authorization header is sent but names nobody (the browser session counts as credentials)."""
    if (request.headers.get("Authorization") or "").strip() and not current_user.is_authenticated:
        raise Unauthorized(N_("The credentials are not valid: the token is unknown, expired or revoked."))
