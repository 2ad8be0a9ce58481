"""The moderation record of a case over JSON (its park's managers and admins)."""
from flask import jsonify
from flask_login import current_user

from zhigu.api import bp
from zhigu.archive.services import get_case
from zhigu.audit.services import audit_to_dict, case_audit


@bp.get("/cases/<int:case_id>/audit")
def case_audit_trail(case_id: int):
    case = get_case(current_user, case_id)
    return jsonify([audit_to_dict(entry) for entry in case_audit(current_user, case)])
