"""ReviewDecisionSchema: the decision form and `POST /api/v1/cases/<id>/review` alike."""
from marshmallow import ValidationError, fields, validate, validates_schema

from zhigu.schemas import BaseSchema
from zhigu.i18n import N_

DECISIONS = ("approve", "request_changes", "reject")


class ReviewDecisionSchema(BaseSchema):
    decision = fields.Str(required=True, validate=validate.OneOf(DECISIONS))
    comment = fields.Str(load_default=None, validate=validate.Length(max=5000))

    @validates_schema
    def comment_when_not_approving(self, data, **kwargs):
        if data.get("decision") in ("request_changes", "reject") and not (data.get("comment") or "").strip():
            raise ValidationError(N_("Say what should change, or why the case is rejected."), "comment")


class ReviewQueueSchema(BaseSchema):
    """Filters of the review queue (query arguments)."""
    claimed = fields.Str(load_default="all", validate=validate.OneOf(("all", "me", "unclaimed", "others")))
    park = fields.Str(load_default=None, validate=validate.Length(max=80))
    q = fields.Str(load_default=None, validate=validate.Length(max=200))
