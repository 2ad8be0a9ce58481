"""One way for HTML views to turn domain errors into responses.

Form pages re-render with the field messages and 422 (`zhigu.forms.render_form`). Actions that post and go
back to a page let the service's error out and are decorated with `flash_errors`: a ValidationError or a
ZhiguError becomes one error flash and a redirect. Refusals (401, 403, 404) are not flashed but go on to the
app's error handlers, so a visitor is asked to log in and a hidden object still looks missing.
"""
from functools import wraps
from typing import Callable

from flask import flash, redirect
from marshmallow import ValidationError

from zhigu.errors import ZhiguError
from zhigu.i18n import translate_message

#: "Not for you": answered by the error handlers alike everywhere, never as a flash.
REFUSALS = (401, 403, 404)


def _messages(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [message for item in value.values() for message in _messages(item)]
    return [message for item in value or () for message in _messages(item)]


def error_message(err: ValidationError | ZhiguError) -> str:
    """One line for a flash, in the page's language: the error's message, or a form error's messages joined."""
    if isinstance(err, ZhiguError):
        return err.message
    return " ".join(translate_message(message) for message in _messages(err.normalized_messages()))


def flash_error(err: ValidationError | ZhiguError) -> None:
    """Flash a domain error; re-raise a refusal (REFUSALS) for the error handlers."""
    if isinstance(err, ZhiguError) and err.status_code in REFUSALS:
        raise err
    flash(error_message(err), "error")


def flash_errors(to: Callable[..., str]):
    """Decorate a view: a domain error it lets out is flashed and answered with a redirect to `to(**view_args)`.

    The view itself only calls the service, flashes its success and redirects.
    """
    def decorate(view):
        @wraps(view)
        def wrapper(**view_args):
            try:
                return view(**view_args)
            except (ValidationError, ZhiguError) as err:
                flash_error(err)
                return redirect(to(**view_args))
        return wrapper
    return decorate
