"""CaseLinkSchema: the link forms and `/api/v1/cases/<id>/links` alike; MergeSchema for merges."""
from marshmallow import fields, validate

from zhigu.archive.schemas import CaseRefOutSchema
from zhigu.i18n import N_
from zhigu.schemas import BaseSchema, DbInt, OutputSchema, dump_context
from zhigu.links.models import LINK_TYPES


class CaseLinkSchema(BaseSchema):
    id = fields.Int(dump_only=True)
    target_id = DbInt(required=True, metadata={"description": "The case to link to."},
                      error_messages={"required": N_("Choose the case to link to.")})
    type = fields.Str(required=True, validate=validate.OneOf(list(LINK_TYPES)))
    note = fields.Str(load_default="", validate=validate.Length(max=500))


class MergeSchema(BaseSchema):
    kept_id = DbInt(required=True, metadata={"description": "The case to keep."},
                    error_messages={"required": N_("Choose the case to keep.")})
    reason = fields.Str(load_default=None, validate=validate.Length(max=2000))
    confirm_visibility = fields.Bool(load_default=False, metadata={
        "description": "Confirm that the duplicate's comments and links may be shown to everyone who may open the "
                       "kept case, when more people may open it than the duplicate (the merge is refused otherwise)."})


class LinkOutSchema(OutputSchema, CaseLinkSchema):
    """A link as seen from the case `dump_context()["case_id"]`: its direction, label and other case."""

    direction = fields.Method("seen_direction", metadata={"type": "string", "enum": ["outgoing", "incoming"]})
    label = fields.Method("seen_label", metadata={
        "type": "string", "description": "The link in words that read right from this case."})
    source_id = fields.Int()
    case = fields.Method("other_case", metadata={"type": "object", "description": "The case at the other end."})
    author = fields.Function(lambda link: link.author.display_name if link.author else None, allow_none=True,
                             metadata={"type": "string"})
    created_at = fields.DateTime()

    def seen_direction(self, link):
        return "outgoing" if link.source_id == dump_context()["case_id"] else "incoming"

    def seen_label(self, link):
        return link.label(dump_context()["case_id"])

    def other_case(self, link):
        return CaseRefOutSchema().dump(link.other(dump_context()["case_id"]))
