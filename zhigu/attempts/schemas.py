"""Contracts of an outcome change (PATCH /api/v1/initiatives/<id>, the outcome form) and of a post-mortem request."""
from marshmallow import ValidationError, fields, validate, validates_schema

from zhigu.attempts.models import OUTCOMES
from zhigu.schemas import BaseSchema, DbInt, OutputSchema
from zhigu.db import now_utc
from zhigu.i18n import N_


class InitiativeOutcomeSchema(BaseSchema):
    outcome = fields.Str(load_default=None, validate=validate.OneOf(OUTCOMES))
    outcome_on = fields.Date(load_default=None, metadata={"description": "The day it happened; today when absent."})
    note = fields.Str(load_default="", validate=validate.Length(max=5000))
    second_attempt_of = fields.List(DbInt(), load_default=None,
                                    metadata={"description": "Ids of the earlier failures this initiative re-attempts."})
    recorded_at = fields.DateTime(dump_only=True)

    @validates_schema
    def not_in_the_future(self, data, **kwargs):
        if data.get("outcome_on") and data["outcome_on"] > now_utc().date():
            raise ValidationError(N_("The day cannot be in the future."), "outcome_on")


class PostMortemRequestSchema(BaseSchema):
    """Which earlier failures the new post-mortem re-attempted; the rest of the body overrides the pre-filled case."""

    second_attempt_of = fields.List(DbInt(), load_default=None)


class OutcomeStepOutSchema(OutputSchema):
    """One step of an initiative's outcome history, as the API answers it."""

    outcome = fields.Str()
    outcome_on = fields.Date()
    note = fields.Str()
    recorded_at = fields.DateTime()
