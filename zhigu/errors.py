"""Domain errors and the handlers that turn them into HTML pages or JSON bodies."""
from flask import jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from zhigu.i18n import N_, current_language, translate_message, translate_messages


class ZhiguError(Exception):
    """A rule of the domain was broken; carries the HTTP status to answer with."""

    status_code = 400

    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        #: As raised: English, a msgid marked with N_ (or one with its {placeholders} filled in).
        self.raw_message = message
        #: In the language of the request (a page's, or the API's Accept-Language); English without a request.
        self.message = translate_message(message)
        if status_code is not None:
            self.status_code = status_code


class PermissionDenied(ZhiguError):
    status_code = 403


class NotFound(ZhiguError):
    status_code = 404


#: Pages' own words for werkzeug's stock error descriptions (which are English only).
HTTP_MESSAGES = {
    400: N_("The request could not be understood. Go back and try again."),
    403: N_("You may not open this page."),
    404: N_("There is no page at this address. It may have moved, or the link may be mistyped."),
    405: N_("This address does not accept that kind of request."),
    409: N_("The request conflicts with the current state of the data. Reload the page and try again."),
    413: N_("What you sent is too large."),
    429: N_("Too many requests. Wait a moment and try again."),
    500: N_("Something went wrong on our side. Try again in a moment."),
    503: N_("The archive is not available just now. Try again in a moment."),
}


def wants_json() -> bool:
    """Answer in JSON for the API and for clients that ask for it."""
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best_match(["application/json", "text/html"]) == "application/json"
    )


def register_error_handlers(app):
    """Render errors as JSON under /api and as pages elsewhere; never leak a traceback."""

    @app.errorhandler(ValidationError)
    def handle_validation(err):
        return jsonify(errors=translate_messages(err.normalized_messages())), 422

    @app.errorhandler(ZhiguError)
    def handle_domain(err):
        anonymous_denied = isinstance(err, PermissionDenied) and not current_user.is_authenticated
        if anonymous_denied and not wants_json():
            return redirect(url_for("auth.login", next=request.full_path))
        if wants_json():
            return jsonify(error=err.message), 401 if anonymous_denied else err.status_code
        return render_template("errors/error.html", code=err.status_code, message=translate_message(err.message)), \
            err.status_code

    @app.errorhandler(HTTPException)
    def handle_http(err):
        stock = err.description == type(err).description and err.code in HTTP_MESSAGES  # werkzeug's English
        if wants_json():
            # the API's English stays werkzeug's text; another Accept-Language gets the pages' translated words
            message = gettext(HTTP_MESSAGES[err.code]) if stock and current_language() != "en" else \
                translate_message(err.description)
            return jsonify(error=message, code=err.code), err.code
        message = gettext(HTTP_MESSAGES[err.code]) if stock else err.description
        return render_template("errors/error.html", code=err.code, message=message), err.code
