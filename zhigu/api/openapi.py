"""The OpenAPI document, generated from the marshmallow schemas the API validates with."""
from functools import lru_cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import jsonify

from zhigu.api import bp
from zhigu.archive.schemas import FailureCaseSchema, RetractSchema
from zhigu.initiatives.schemas import FeedbackSchema, InitiativeSchema, SimilarRequestSchema

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
SIMILAR_RESULT = {"type": "object", "properties": {
    "id": {"type": "integer"}, "external_id": {"type": "string", "nullable": True}, "title": {"type": "string"},
    "summary": {"type": "string"}, "url": {"type": "string"}, "score": {"type": "number"},
    "why": {"type": "object", "properties": {
        "terms": {"type": "array", "items": {"type": "string"}},
        "related_terms": {"type": "array", "items": {"type": "string"},
                          "description": "Words of the closest cases (the best first matches) this one shares, "
                                         "which scored through pseudo-relevance feedback; empty for those cases."},
        "sector": {"type": "string", "nullable": True},
        "target_markets": {"type": "array", "items": {"type": "string"}},
        "causes": {"type": "array", "items": {"type": "string"}},
        "nearest_cause": {"type": "string", "nullable": True,
                          "description": "Primary cause shared with the closest cases, when it scored."}}}}}


def _json(schema) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _op(summary: str, body=None, response=None, status: str = "200",
        errors=("400", "401", "403", "404", "409", "422")):
    operation = {"summary": summary, "responses": {status: {"description": "OK", **(_json(response) if response else {})}}}
    if body is not None:
        operation["requestBody"] = {"required": True, **_json(body)}
    operation["responses"].update({code: ERRORS[code] for code in errors})
    return operation


@lru_cache(maxsize=1)
def build_spec() -> dict:
    spec = APISpec(title="Zhigu API", version="1.0.0", openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": "An archive of innovation failures: cases, search, similar failures."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name, schema in (("FailureCase", FailureCaseSchema), ("Retract", RetractSchema),
                         ("Initiative", InitiativeSchema), ("SimilarRequest", SimilarRequestSchema),
                         ("Feedback", FeedbackSchema)):
        spec.components.schema(name, schema=schema)
    case_ref = {"$ref": "#/components/schemas/FailureCase"}
    case_id = [{"name": "case_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    search_params = [{"name": n, "in": "query", "schema": {"type": "string"}} for n in
                     ("q", "cause", "family", "sector", "region", "market", "stage", "year", "language", "sort")]
    search_params += [{"name": n, "in": "query", "schema": {"type": "integer"}} for n in ("page", "per_page")]
    spec.path("/api/v1/cases", operations={
        "get": dict(_op("Search published cases", response={"type": "object", "properties": {
            "results": {"type": "array", "items": case_ref}, "total": {"type": "integer"},
            "facets": {"type": "object"}}}, errors=("400",)), parameters=search_params),
        "post": _op("File a post-mortem (as a draft)", body=case_ref, response=case_ref, status="201"),
    })
    spec.path("/api/v1/cases/{case_id}", parameters=case_id, operations={
        "get": _op("Read a case", response=case_ref, errors=("401", "404")),
        "patch": dict(_op("Edit a case (published cases keep a revision); 409 when based on an older version",
                          body=case_ref, response=case_ref),
                      parameters=[{"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
                                   "description": "The case's version as its ETag gave it (or send \"version\")."}]),
    })
    spec.path("/api/v1/cases/{case_id}/publish", parameters=case_id,
              operations={"post": _op("Publish a draft", response=case_ref)})
    spec.path("/api/v1/cases/{case_id}/retract", parameters=case_id, operations={
        "post": _op("Retract a published case", body={"$ref": "#/components/schemas/Retract"}, response=case_ref)})
    spec.path("/api/v1/cases/{case_id}/revisions", parameters=case_id, operations={"get": _op(
        "A case's revisions, newest first: who, when, and each changed field's old and new value",
        response={"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "action": {"type": "string"}, "created_at": {"type": "string"},
            "editor": {"type": "string", "nullable": True}, "changes": {"type": "object"}}}},
        errors=("401", "404"))})
    spec.path("/api/v1/causes", operations={"get": _op("The cause taxonomy", response={"type": "array", "items": {
        "type": "object", "properties": {k: {"type": "string"} for k in ("code", "family", "label_en", "label_zh")}}},
        errors=())})
    spec.path("/api/v1/similar", operations={"post": _op(
        "Past failures most similar to a description", body={"$ref": "#/components/schemas/SimilarRequest"},
        response={"type": "object", "properties": {"results": {"type": "array", "items": SIMILAR_RESULT}}},
        errors=("400", "422"))})
    initiative_ref = {"$ref": "#/components/schemas/Initiative"}
    spec.path("/api/v1/initiatives", operations={"post": _op(
        "Register an initiative; the response lists its similar failures", body=initiative_ref,
        response=initiative_ref, status="201")})
    initiative_id = [{"name": "initiative_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    spec.path("/api/v1/initiatives/{initiative_id}", parameters=initiative_id,
              operations={"get": _op("Read an initiative", response=initiative_ref, errors=("401", "404"))})
    spec.path("/api/v1/initiatives/{initiative_id}/feedback", parameters=initiative_id, operations={
        "post": _op("Record a verdict on a suggested case", body={"$ref": "#/components/schemas/Feedback"})})
    from zhigu.api.openapi_collab import document as document_collaboration
    document_collaboration(spec, _op)
    from zhigu.trends.openapi import document as document_trends
    document_trends(spec, _op)
    from zhigu.attempts.openapi import document as document_attempts
    document_attempts(spec, _op)
    from zhigu.guilds.openapi import document as document_guilds
    document_guilds(spec, _op)
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
    return jsonify(build_spec())
