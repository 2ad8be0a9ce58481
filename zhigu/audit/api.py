"""The moderation record of a case over JSON (its park's managers and admins)."""
from flask import jsonify
from flask_login import current_user

from zhigu.api import bp
from zhigu.api.openapi import doc
from zhigu.archive.services import get_case
from zhigu.audit.schemas import AuditEntryOutSchema
from zhigu.audit.services import case_audit


@bp.get("/cases/<int:case_id>/audit")
@doc(response=AuditEntryOutSchema(many=True), errors=("401", "403", "404"))
def case_audit_trail(case_id: int):
    """The moderation record: deletes, hides, link removals and merges (park managers, admins)."""
    case = get_case(current_user, case_id)
    return jsonify(AuditEntryOutSchema(many=True).dump(case_audit(current_user, case)))
