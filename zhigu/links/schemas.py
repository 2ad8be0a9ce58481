"""CaseLinkSchema: the link forms and `/api/v1/cases/<id>/links` alike; MergeSchema for merges."""
from marshmallow import fields, validate

from zhigu.schemas import BaseSchema, DbInt
from zhigu.links.models import LINK_TYPES


class CaseLinkSchema(BaseSchema):
    id = fields.Int(dump_only=True)
    target_id = DbInt(required=True, metadata={"description": "The case to link to."})
    type = fields.Str(required=True, validate=validate.OneOf(list(LINK_TYPES)))
    note = fields.Str(load_default="", validate=validate.Length(max=500))


class MergeSchema(BaseSchema):
    kept_id = DbInt(required=True, metadata={"description": "The case to keep."})
    reason = fields.Str(load_default=None, validate=validate.Length(max=2000))
    confirm_visibility = fields.Bool(load_default=False, metadata={
        "description": "Confirm that the duplicate's comments and links may be shown to everyone who may open the "
                       "kept case, when more people may open it than the duplicate (the merge is refused otherwise)."})
