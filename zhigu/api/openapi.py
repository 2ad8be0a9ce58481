"""The OpenAPI document, generated from the API's routes and the marshmallow schemas they load and dump.

Each JSON view says what it takes and answers with `@doc(...)` under its route; its docstring is the operation's
summary; its path and path parameters come from the URL rule. `build_spec` walks the app's URL map, so a new
route is in the document as soon as it is decorated (tests/api/test_openapi.py fails on one that is not).
"""
import inspect
import re
from collections import defaultdict

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, current_app, jsonify

from zhigu.api import bp

ERRORS = {
    "400": {"description": "Malformed JSON or query argument", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"error": {"type": "string"}}}}}},
    "401": {"description": "Not logged in"},
    "403": {"description": "Not allowed"},
    "404": {"description": "Not found, or not visible to the caller"},
    "409": {"description": "Conflicts with the current state (a case already published, claimed or decided)",
            "content": {"application/json": {"schema": {"type": "object", "properties": {
                "error": {"type": "string"}}}}}},
    "422": {"description": "Invalid input", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"errors": {"type": "object", "additionalProperties": {"anyOf": [
            {"type": "array", "items": {"type": "string"}},
            {"type": "object", "description": "Messages of a list's or object's items, by index or key."}]}}}}}}},
}
ALL_ERRORS = ("400", "401", "403", "404", "409", "422")
#: `<int:case_id>` in a URL rule: the converter (if any) and the argument's name.
RULE_ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def doc(*, body=None, response=None, status: int = 200, errors=ALL_ERRORS, parameters=(), responses=None):
    """Describe the decorated API view in the OpenAPI document (put it under the route decorator).

    `body` and `response` are marshmallow schemas (a class, or an instance with many=True for a list) or OpenAPI
    schema objects that may hold schemas; `errors` names the documented error statuses; `responses` adds or
    overrides responses by status (a 409 that says which state refuses the step).
    """
    def describe(view):
        view.openapi = {"body": body, "response": response, "status": str(status), "errors": errors,
                        "parameters": list(parameters), "responses": responses or {}}
        return view
    return describe


def json_content(schema) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _operation(view) -> dict:
    meta = view.openapi
    summary = " ".join((inspect.getdoc(view) or "").split("\n\n")[0].split())
    answer = {"description": "OK", **(json_content(meta["response"]) if meta["response"] is not None else {})}
    operation = {"summary": summary, "responses": {meta["status"]: answer, **{
        code: ERRORS[code] for code in meta["errors"]}, **meta["responses"]}}
    if meta["body"] is not None:
        operation["requestBody"] = {"required": True, **json_content(meta["body"])}
    if meta["parameters"]:
        operation["parameters"] = meta["parameters"]
    return operation


def _path(rule) -> tuple[str, list[dict]]:
    """The OpenAPI path of a URL rule ({case_id} for <int:case_id>) and its path parameters."""
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "integer" if converter == "int" else "string"}}
                  for converter, name in RULE_ARGUMENT.findall(rule.rule)]
    return RULE_ARGUMENT.sub(r"{\2}", rule.rule), parameters


def build_spec(app: Flask) -> dict:
    """The document of every `api.*` route that has `@doc` (the document and the index are not operations)."""
    spec = APISpec(title="Zhigu API", version="1.0.0", openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": "An archive of innovation failures: cases, search, similar failures."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    paths = defaultdict(lambda: {"operations": {}, "parameters": []})
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions[rule.endpoint]
        if not rule.endpoint.startswith(f"{bp.name}.") or not hasattr(view, "openapi"):
            continue
        path, parameters = _path(rule)
        paths[path]["parameters"] = parameters
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths[path]["operations"][method.lower()] = _operation(view)
    for path, item in paths.items():
        spec.path(path, operations=item["operations"], parameters=item["parameters"])
    document = _json_schema_fixes(spec.to_dict())
    document["security"] = [{"bearer": []}, {}]
    return document


def _json_schema_fixes(node):
    """Correct what apispec writes from marshmallow but JSON Schema reads otherwise.

    Decimal bounds come out as strings ("maximum": "1000.00") where numbers are required; read-only fields are
    null until they apply; and the API writes times as ISO 8601 in UTC without an offset, which is not the
    RFC 3339 `date-time` format.
    """
    if isinstance(node, list):
        return [_json_schema_fixes(item) for item in node]
    if not isinstance(node, dict):
        return node
    fixed = {key: _json_schema_fixes(value) for key, value in node.items()}
    for bound in ("minimum", "maximum"):
        if isinstance(fixed.get(bound), str):
            fixed[bound] = float(fixed[bound])
    if fixed.get("readOnly") and "type" in fixed:
        fixed["nullable"] = True  # computed fields (published_at, retraction_reason...) are null until they apply
    if fixed.get("format") == "date-time":
        del fixed["format"]
        fixed.setdefault("description", "Date and time in UTC, ISO 8601 (YYYY-MM-DDTHH:MM:SS[.ffffff]).")
    return fixed


@bp.get("/openapi.json")
def openapi():
    """The document, built once per app (the routes do not change while it runs)."""
    if "zhigu.openapi" not in current_app.extensions:
        current_app.extensions["zhigu.openapi"] = build_spec(current_app)
    return jsonify(current_app.extensions["zhigu.openapi"])
