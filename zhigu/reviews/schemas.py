"""ReviewDecisionSchema: the decision form and `POST /api/v1/cases/<id>/review` alike."""
from marshmallow import ValidationError, fields, validate, validates_schema

from zhigu.archive.schemas import case_url

from zhigu.schemas import BaseSchema, OutputSchema
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


def _name(user) -> str | None:
    return user.display_name if user else None


class ReviewEventOutSchema(OutputSchema):
    """A step of a case's review trail."""

    id = fields.Int()
    action = fields.Str()
    comment = fields.Str(allow_none=True)
    actor = fields.Function(lambda event: _name(event.actor), allow_none=True, metadata={"type": "string"})
    created_at = fields.DateTime()


class QueueItemOutSchema(OutputSchema):
    """A case waiting in the review queue: since when, and who claimed it."""

    case_id = fields.Int(attribute="case.id")
    title = fields.Str(attribute="case.title")
    url = fields.Function(lambda item: case_url(item.case))
    author = fields.Function(lambda item: _name(item.case.author), allow_none=True, metadata={"type": "string"})
    park = fields.Function(lambda item: item.case.park.slug if item.case.park else None, allow_none=True,
                           metadata={"type": "string"})
    submitted_at = fields.Function(lambda item: item.submitted.created_at.isoformat() if item.submitted else None,
                                   allow_none=True, metadata={"type": "string"})
    claimed_by = fields.Function(lambda item: _name(item.claimed_by), allow_none=True, metadata={"type": "string"})
