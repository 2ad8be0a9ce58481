"""SubscriptionSchema, DigestSettingSchema and ReadSchema: the pages and `/api/v1/...` alike."""
from flask import url_for
from marshmallow import fields, validate

from zhigu.schemas import BaseSchema, DbInt, OutputSchema
from zhigu.notify.models import DIGEST_FREQUENCIES, SUBSCRIPTION_KINDS


class SubscriptionSchema(BaseSchema):
    id = fields.Int(dump_only=True)
    kind = fields.Str(required=True, validate=validate.OneOf(SUBSCRIPTION_KINDS))
    target = fields.Str(required=True, validate=validate.Length(min=1, max=500), metadata={
        "description": "Case id, cause code, sector code, country code, query string or initiative id."})
    created_at = fields.DateTime(dump_only=True)


class DigestSettingSchema(BaseSchema):
    frequency = fields.Str(required=True, validate=validate.OneOf(DIGEST_FREQUENCIES))


class ReadSchema(BaseSchema):
    ids = fields.List(DbInt(), load_default=None,
                      metadata={"description": "Notifications to mark as read; all of yours when absent."})


class NotificationOutSchema(OutputSchema):
    """A notification as the API lists it to its owner."""

    id = fields.Int()
    kind = fields.Str()
    message = fields.Str(attribute="text")
    case_id = fields.Int(allow_none=True)
    url = fields.Function(lambda n: url_for("archive.detail", case_id=n.case_id, _external=True) if n.case_id
                          else None, allow_none=True, metadata={"type": "string"})
    created_at = fields.DateTime()
    read = fields.Function(lambda n: n.read_at is not None, metadata={"type": "boolean"})
