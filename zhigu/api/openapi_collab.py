"""OpenAPI paths of working together: reviews, comments, links, subscriptions and notifications."""
from zhigu.reviews.schemas import ReviewDecisionSchema

CASE_ID = [{"name": "case_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
CASE_REF = {"$ref": "#/components/schemas/FailureCase"}
REVIEW_EVENT = {"type": "object", "properties": {
    "id": {"type": "integer"}, "action": {"type": "string"}, "comment": {"type": "string", "nullable": True},
    "actor": {"type": "string", "nullable": True}, "created_at": {"type": "string"}}}


def document(spec, op) -> None:
    """Add the collaboration paths to `spec`; `op` builds one operation (see zhigu.api.openapi._op)."""
    spec.components.schema("ReviewDecision", schema=ReviewDecisionSchema)
    spec.path("/api/v1/cases/{case_id}/submit", parameters=CASE_ID, operations={
        "post": op("Submit a draft (or a case sent back for changes) for review", response=CASE_REF)})
    spec.path("/api/v1/cases/{case_id}/claim", parameters=CASE_ID, operations={
        "post": op("Claim a case in review", response=CASE_REF)})
    spec.path("/api/v1/cases/{case_id}/review", parameters=CASE_ID, operations={
        "post": op("Approve (publish), request changes or reject; a comment is needed unless approving",
                   body={"$ref": "#/components/schemas/ReviewDecision"}, response=CASE_REF)})
    spec.path("/api/v1/cases/{case_id}/reviews", parameters=CASE_ID, operations={
        "get": op("A case's review trail (author, park managers, admins)",
                  response={"type": "array", "items": REVIEW_EVENT}, errors=("401", "404"))})
    spec.path("/api/v1/reviews", operations={"get": dict(op(
        "The review queue: cases in review the caller may decide on, longest waiting first",
        response={"type": "object", "properties": {"results": {"type": "array", "items": {"type": "object"}}}},
        errors=("401", "403", "422")), parameters=[
            {"name": "claimed", "in": "query", "schema": {"type": "string", "enum": ["all", "me", "unclaimed", "others"]}},
            {"name": "park", "in": "query", "schema": {"type": "string"}},
            {"name": "q", "in": "query", "schema": {"type": "string"}}])})
