"""Record and read audit entries; recording only adds a row (the calling use case commits).

An entry can name other cases than the one it is filed under (a removed link names both ends, a merge names the
duplicate and the kept case). Readers get it redacted when they may not open one of those cases: the ids of
the hidden cases, the titles and summary, link notes and the free-text reason are left out (`redacted` says
so). The stored row never changes; admins see it whole.
"""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from zhigu.archive.models import FailureCase
from zhigu.audit.models import AuditRecord
from zhigu.auth.models import User
from zhigu.auth.permissions import can, is_admin, require
from zhigu.extensions import db

#: Keys of `details` (at any depth: merges keep snapshots of links) that hold the id of a case.
CASE_KEYS = ("source_id", "target_id", "duplicate_id", "kept_id")
#: Keys of `details` whose text may quote a case the reader may not open.
TEXT_KEYS = ("summary", "duplicate_title", "note")


@dataclass(frozen=True)
class AuditEntry:
    """An audit record as one reader may see it."""

    id: int
    action: str
    case_id: int | None
    reason: str | None
    details: dict
    actor: User | None
    created_at: datetime
    redacted: bool = False


def record(actor, action: str, case_id: int | None, reason: str | None = None, **details) -> AuditRecord:
    entry = AuditRecord(actor_id=getattr(actor, "id", None), action=action, case_id=case_id, reason=reason,
                        details=details)
    db.session.add(entry)
    return entry


def case_audit(actor, case) -> list[AuditEntry]:
    """The audit trail of a case, newest first; its park's managers and admins only.

    A merge is recorded on both cases, so the kept case's trail names what was merged into it (redacted for
    readers who may not open the duplicate).
    """
    require(actor, "case.audit", case)
    rows = list(db.session.scalars(select(AuditRecord).where(AuditRecord.case_id == case.id)
                                   .order_by(AuditRecord.id.desc())))
    openable: dict[int, bool] = {case.id: True}
    return [_as_seen_by(actor, row, openable) for row in rows]


def _as_seen_by(actor, row: AuditRecord, openable: dict[int, bool]) -> AuditEntry:
    details = row.details if isinstance(row.details, dict) else {}
    hidden = {case_id for case_id in _case_ids(details) if not _may_open(actor, case_id, openable)}
    if not hidden:
        return AuditEntry(row.id, row.action, row.case_id, row.reason, details, row.actor, row.created_at)
    return AuditEntry(row.id, row.action, row.case_id, None, _redact(details, hidden, top=True), row.actor,
                      row.created_at, redacted=True)


def _case_ids(value) -> set[int]:
    """Every case id `details` names, at any depth."""
    ids = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key in CASE_KEYS and isinstance(item, int) and not isinstance(item, bool):
                ids.add(item)
            else:
                ids |= _case_ids(item)
    elif isinstance(value, list):
        for item in value:
            ids |= _case_ids(item)
    return ids


def _may_open(actor, case_id: int, openable: dict[int, bool]) -> bool:
    """Whether the reader may open case `case_id` now; a case since deleted counts as hidden (but to admins)."""
    if case_id not in openable:
        case = db.session.get(FailureCase, case_id)
        openable[case_id] = can(actor, "case.view", case) if case is not None else is_admin(actor)
    return openable[case_id]


def _redact(value, hidden: set[int], top: bool = False):
    """A copy of `value` without the hidden case ids, and without texts next to them (all texts at the top)."""
    if isinstance(value, list):
        return [_redact(item, hidden) for item in value]
    if not isinstance(value, dict):
        return value
    names_hidden = top or any(_is_hidden(value.get(key), hidden) for key in CASE_KEYS)
    copy = {}
    for key, item in value.items():
        if key in CASE_KEYS and _is_hidden(item, hidden):
            copy[key] = None
        elif key in TEXT_KEYS and names_hidden:
            copy[key] = None
        else:
            copy[key] = _redact(item, hidden)
    if top:
        copy["redacted"] = True
    return copy


def _is_hidden(item, hidden: set[int]) -> bool:
    return isinstance(item, int) and not isinstance(item, bool) and item in hidden
