"""Record and read audit entries; recording only adds a row (the calling use case commits)."""
from sqlalchemy import select

from zhigu.audit.models import AuditRecord
from zhigu.auth.permissions import require
from zhigu.extensions import db


def record(actor, action: str, case_id: int | None, reason: str | None = None, **details) -> AuditRecord:
    entry = AuditRecord(actor_id=getattr(actor, "id", None), action=action, case_id=case_id, reason=reason,
                        details=details)
    db.session.add(entry)
    return entry


def case_audit(actor, case) -> list[AuditRecord]:
    """The audit trail of a case, newest first; its park's managers and admins only.

    A merge is recorded on both cases, so the kept case's trail names what was merged into it.
    """
    require(actor, "case.audit", case)
    return list(db.session.scalars(select(AuditRecord).where(AuditRecord.case_id == case.id)
                                   .order_by(AuditRecord.id.desc())))


def audit_to_dict(entry: AuditRecord) -> dict:
    return {"id": entry.id, "action": entry.action, "case_id": entry.case_id, "reason": entry.reason,
            "details": entry.details, "actor": entry.actor.display_name if entry.actor else None,
            "created_at": entry.created_at.isoformat()}
