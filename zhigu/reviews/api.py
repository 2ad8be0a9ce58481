"""Review before publishing over JSON: submit, claim, decide, and the queue."""
from flask import jsonify, request
from flask_login import current_user

from zhigu.api import bp, json_body
from zhigu.api.openapi import doc
from zhigu.archive.api import dump_case
from zhigu.archive.schemas import CaseOutSchema
from zhigu.archive.services import get_case
from zhigu.reviews import services
from zhigu.reviews.schemas import QueueItemOutSchema, ReviewDecisionSchema, ReviewEventOutSchema

CASE_WITH_TRAIL = {"allOf": [CaseOutSchema, {"type": "object", "properties": {
    "reviews": {"type": "array", "items": ReviewEventOutSchema}}}]}
QUEUE_PARAMETERS = [
    {"name": "claimed", "in": "query", "schema": {"type": "string", "enum": ["all", "me", "unclaimed", "others"]}},
    {"name": "park", "in": "query", "schema": {"type": "string"}},
    {"name": "q", "in": "query", "schema": {"type": "string"}}]


def _trail(case) -> list[dict]:
    return ReviewEventOutSchema(many=True).dump(services.history(current_user, case))


def _case_with_trail(case):
    return jsonify(dict(dump_case(case), reviews=_trail(case)))


@bp.post("/cases/<int:case_id>/submit")
@doc(response=CASE_WITH_TRAIL)
def submit_case(case_id: int):
    """Submit a draft (or a case sent back for changes) for review."""
    return _case_with_trail(services.submit_case(current_user, get_case(current_user, case_id)))


@bp.post("/cases/<int:case_id>/claim")
@doc(response=CASE_WITH_TRAIL)
def claim_case(case_id: int):
    """Claim a case in review."""
    return _case_with_trail(services.claim_case(current_user, get_case(current_user, case_id)))


@bp.post("/cases/<int:case_id>/review")
@doc(body=ReviewDecisionSchema, response=CASE_WITH_TRAIL)
def review_case(case_id: int):
    """Approve (publish), request changes or reject; a comment is needed unless approving."""
    case = get_case(current_user, case_id)
    return _case_with_trail(services.review_case(current_user, case, json_body()))


@bp.get("/cases/<int:case_id>/reviews")
@doc(response=ReviewEventOutSchema(many=True), errors=("401", "404"))
def case_reviews(case_id: int):
    """A case's review trail (author, park managers, admins)."""
    return jsonify(_trail(get_case(current_user, case_id)))


@bp.get("/reviews")
@doc(response={"type": "object", "properties": {"results": {"type": "array", "items": QueueItemOutSchema}}},
     errors=("401", "403", "422"), parameters=QUEUE_PARAMETERS)
def review_queue():
    """The review queue: cases in review the caller may decide on, longest waiting first."""
    items = services.review_queue(current_user, request.args.to_dict())
    return jsonify(results=QueueItemOutSchema(many=True).dump(items))
