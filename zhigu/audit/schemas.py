"""What the API answers of the audit trail (zhigu.audit.services.case_audit has redacted it for the reader)."""
from marshmallow import fields

from zhigu.schemas import OutputSchema


class AuditEntryOutSchema(OutputSchema):
    id = fields.Int()
    action = fields.Str()
    case_id = fields.Int(allow_none=True)
    reason = fields.Str(allow_none=True)
    details = fields.Dict()
    actor = fields.Function(lambda entry: entry.actor.display_name if entry.actor else None, allow_none=True,
                            metadata={"type": "string"})
    created_at = fields.DateTime()
    redacted = fields.Bool(metadata={"description": "It names a case the caller may not open: that case's id, "
                                                    "title, link notes and the reason are left out"})
