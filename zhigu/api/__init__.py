"""The JSON API under /api/v1: thin routes over the same services and schemas as the pages.

Callers authenticate with the browser session or `Authorization: Bearer <token>`. Bodies must be JSON
objects. The API is exempt from the pages' form tokens; cookie-authenticated writes are checked instead by
`cross_site` (JSON or an X-CSRFToken header, and a same origin), which also covers the bodiless POSTs.
"""
from flask import Blueprint, Response, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import BadRequest

from zhigu.extensions import csrf
from zhigu.i18n import N_
from zhigu.limits import MAX_INTEGER
from zhigu.validation import json_too_deep, too_deep_message

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def json_body() -> dict:
    """Return the request's JSON object, or answer 400 for a missing, malformed or non-object body."""
    if not request.is_json:
        raise BadRequest(N_("Send a JSON object with Content-Type: application/json."))
    if json_too_deep(request.get_data(cache=True)):
        # refused before parsing: deep nesting exhausts the parser's and the validators' recursion (a 500)
        raise BadRequest(too_deep_message())
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        data = None
    if not isinstance(data, dict):
        raise BadRequest(N_("The body is not a valid JSON object."))
    if too_large := [key for key, value in data.items() if _has_huge_integer(value)]:
        # ids past what an integer column holds would fail in the database (a 500) instead of being "not found"
        raise ValidationError({key: [N_("Number out of range.")] for key in too_large})
    return data


def _has_huge_integer(value) -> bool:
    """Whether a JSON value holds an integer past a SQL `integer` column (32 bits signed on PostgreSQL)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return not -(MAX_INTEGER + 1) <= value <= MAX_INTEGER
    if isinstance(value, list):
        return any(_has_huge_integer(item) for item in value)
    if isinstance(value, dict):
        return any(_has_huge_integer(item) for item in value.values())
    return False


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """Read an integer query argument within bounds; 400 with the argument's name otherwise."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(N_("{name} must be an integer.").format(name=name)) from None
    if not low <= value <= high:
        raise BadRequest(N_("{name} must be between {low} and {high}.").format(name=name, low=low, high=high))
    return value


def created(data, location: str) -> Response:
    """201 Created: the new resource's JSON, and where to read it in Location."""
    response = jsonify(data)
    response.status_code = 201
    response.headers["Location"] = location
    return response


@bp.after_request
def no_store(response):
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.route("/")
def index():
    """Name the API's entry points."""
    return jsonify(openapi="/api/v1/openapi.json", cases="/api/v1/cases", similar="/api/v1/similar",
                   causes="/api/v1/causes", initiatives="/api/v1/initiatives")
