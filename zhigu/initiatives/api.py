"""Find similar failures, register initiatives and record verdicts over JSON.

An initiative's JSON carries what became of it, which zhigu.attempts adds: its schema is there
(attempts.api.InitiativeOutSchema). The two packages import each other, so this module binds attempts.api as a
module and names the schema as a string: either package may be imported first.
"""
from flask import jsonify, url_for
from flask_login import current_user

from zhigu.api import bp, created, json_body
from zhigu.api.openapi import doc
from zhigu.attempts import api as attempts_api
from zhigu.initiatives import services
from zhigu.initiatives.schemas import FeedbackSchema, InitiativeSchema, SimilarOutSchema, SimilarRequestSchema

VERDICT = {"type": "object", "properties": {
    "case_id": {"type": "integer"}, "verdict": {"type": "string"}, "note": {"type": "string"},
    "verdict_at": {"type": "string"}}}


@bp.post("/similar")
@doc(body=SimilarRequestSchema, errors=("400", "422"), response={"type": "object", "properties": {
    "results": {"type": "array", "items": SimilarOutSchema}}})
def similar():
    """Past failures most similar to a description."""
    return jsonify(results=SimilarOutSchema(many=True).dump(services.find_similar(current_user, json_body())))


@bp.post("/initiatives")
@doc(body=InitiativeSchema, response="InitiativeOutSchema", status=201)
def register_initiative():
    """Register an initiative; the response lists its similar failures."""
    initiative = services.register_initiative(current_user, json_body())
    return created(attempts_api.dump_initiative(initiative), url_for("api.get_initiative", initiative_id=initiative.id))


@bp.get("/initiatives/<int:initiative_id>")
@doc(response="InitiativeOutSchema", errors=("401", "404"))
def get_initiative(initiative_id: int):
    """Read an initiative."""
    return jsonify(attempts_api.dump_initiative(services.get_initiative(current_user, initiative_id)))


@bp.post("/initiatives/<int:initiative_id>/feedback")
@doc(body=FeedbackSchema, response=VERDICT)
def feedback(initiative_id: int):
    """Record a verdict on a suggested case."""
    initiative = services.get_initiative(current_user, initiative_id)
    suggestion = services.record_feedback(current_user, initiative, json_body())
    return jsonify(case_id=suggestion.case_id, verdict=suggestion.verdict, note=suggestion.note,
                   verdict_at=suggestion.verdict_at.isoformat())
