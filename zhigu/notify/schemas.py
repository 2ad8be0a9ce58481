"""SubscriptionSchema, DigestSettingSchema and ReadSchema: the pages and `/api/v1/...` alike."""
from marshmallow import fields, validate

from zhigu.schemas import BaseSchema, DbInt
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
