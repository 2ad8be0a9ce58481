"""An initiative over JSON with what became of it: InitiativeOutSchema (zhigu.initiatives.api answers with it
too); `PATCH /api/v1/initiatives/<id>` (outcome, second_attempt_of) and `POST /api/v1/initiatives/<id>/post-mortem`.
"""
from flask import jsonify, url_for
from flask_login import current_user
from marshmallow import fields

from zhigu.api import bp, created, json_body
from zhigu.api.openapi import doc
from zhigu.archive.api import dump_case
from zhigu.archive.schemas import CaseOutSchema
from zhigu.attempts import services
from zhigu.attempts.schemas import InitiativeOutcomeSchema, OutcomeStepOutSchema
from zhigu.initiatives import services as initiative_services
from zhigu.initiatives.schemas import InitiativeSchema, SuggestionOutSchema
from zhigu.schemas import OutputSchema, dump_for

POST_MORTEM_BODY = {"type": "object", "additionalProperties": True, "properties": {
    "second_attempt_of": {"type": "array", "items": {"type": "integer"}}}}
POST_MORTEM = {"allOf": [CaseOutSchema, {"type": "object", "properties": {
    "second_attempt_of": {"type": "array", "items": {"type": "integer"}}, "initiative": {"type": "integer"}}}]}


class InitiativeOutSchema(OutputSchema, InitiativeSchema):
    """An initiative: the similar failures its founder may still open; what became of it and what it re-attempted
    (zhigu.attempts)."""

    url = fields.Function(lambda i: url_for("initiatives.detail", initiative_id=i.id, _external=True))
    similar = fields.Function(lambda i: SuggestionOutSchema(many=True).dump(i.suggestions),
                              metadata={"type": "array", "items": {"type": "object"},
                                        "description": "Those whose case the viewer may still open "
                                                       "(initiatives.services.shown_initiative)."})
    outcome = fields.Method("current_outcome", allow_none=True, metadata={"type": "string"})
    outcome_on = fields.Method("current_outcome_on", allow_none=True, metadata={"type": "string", "format": "date"})
    outcomes = fields.Function(lambda i: OutcomeStepOutSchema(many=True).dump(services.history(i)),
                               metadata={"type": "array", "items": {"type": "object"}})
    second_attempt_of = fields.Function(lambda i: [a.earlier_case_id for a in services.attempt_links(i)],
                                        metadata={"type": "array", "items": {"type": "integer"}})
    post_mortem = fields.Function(lambda i: getattr(services.post_mortem_of(i), "id", None),
                                  allow_none=True, metadata={"type": "integer"})

    def current_outcome(self, initiative):
        step = services.current_outcome(initiative)
        return step.outcome if step else None

    def current_outcome_on(self, initiative):
        step = services.current_outcome(initiative)
        return step.outcome_on.isoformat() if step else None


def dump_initiative(initiative) -> dict:
    return dump_for(current_user, InitiativeOutSchema(), initiative)


@bp.patch("/initiatives/<int:initiative_id>")
@doc(body=InitiativeOutcomeSchema, response=InitiativeOutSchema)
def update_initiative(initiative_id: int):
    """Record the initiative's outcome (planned, launched, succeeded, failed, abandoned) on a day, and/or the
    earlier failures it re-attempts (second_attempt_of)."""
    initiative = initiative_services.get_initiative(current_user, initiative_id)
    services.record_outcome(current_user, initiative, json_body())
    return jsonify(dump_initiative(initiative))


@bp.post("/initiatives/<int:initiative_id>/post-mortem")
@doc(body=POST_MORTEM_BODY, response=POST_MORTEM, status=201,
     responses={"409": {"description": "The initiative has not failed, or already has a post-mortem"}})
def post_mortem(initiative_id: int):
    """Turn a failed or abandoned initiative into a draft post-mortem, pre-filled from it and linked
    second_attempt_of what it re-attempted; any case field in the body overrides the pre-filled one."""
    initiative = initiative_services.get_initiative(current_user, initiative_id)
    case = services.create_post_mortem(current_user, initiative, json_body())
    data = dict(dump_case(case), second_attempt_of=[earlier.id for earlier in services.second_attempt_of(case)],
                initiative=initiative.id)
    return created(data, url_for("api.get_case", case_id=case.id))
