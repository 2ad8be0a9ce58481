"""Use cases of the archive: file, edit, publish and retract post-mortems (imports and exports: transfer).

Every public function checks permission, validates through FailureCaseSchema, mutates and commits once;
the search index follows the commit (see zhigu.search.hooks).
"""
import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Callable, Iterable

from marshmallow import ValidationError
from sqlalchemy import func, select

from zhigu.archive.language import detect_language
from zhigu.archive.models import CaseCause, CaseRevision, CaseStatus, Cause, FailureCase
from zhigu.archive.permissions import published_visible_clause
from zhigu.archive.schemas import CauseSchema, FailureCaseSchema, RetractSchema
from zhigu.archive.vocabulary import SEED_CAUSES
from zhigu.auth.models import User
from zhigu.auth.permissions import can, require
from zhigu.db import now_utc
from zhigu.errors import NotFound, ZhiguError
from zhigu.extensions import db
from zhigu.i18n import N_
from zhigu.locking import lock_row
from zhigu.trimming import Shown, trims
from zhigu.visibility import get_visible

#: Case fields copied as they are from validated input to the model (and compared for revisions).
PLAIN_FIELDS = (
    "external_id", "title", "summary", "narrative", "warning_signs", "lessons", "sector", "region",
    "target_markets", "stage_reached", "started_on", "ended_on", "money_lost", "currency", "team_size",
    "org_name", "org_type", "anonymize", "language", "tags", "source_url", "visibility",
)


# -- causes -------------------------------------------------------------------------------------------

def seed_causes() -> int:
    """Add the default taxonomy's missing causes; never touches causes admins have edited. Returns how many."""
    existing = set(db.session.scalars(select(Cause.code)))
    added = 0
    for code, family, label_en, label_zh in SEED_CAUSES:
        if code not in existing:
            db.session.add(Cause(code=code, family=family, label_en=label_en, label_zh=label_zh))
            added += 1
    db.session.commit()
    return added


def list_causes(include_retired: bool = True) -> list[Cause]:
    query = select(Cause).order_by(Cause.family, Cause.code)
    if not include_retired:
        query = query.where(Cause.retired.is_(False))
    return list(db.session.scalars(query))


def create_cause(actor, data: dict) -> Cause:
    require(actor, "admin.causes")
    values = CauseSchema().load(data)
    if db.session.scalar(select(Cause).where(Cause.code == values["code"])):
        raise ValidationError({"code": [N_("A cause with this code already exists.")]})
    cause = Cause(**values)
    db.session.add(cause)
    db.session.commit()
    return cause


def update_cause(actor, cause: Cause, data: dict) -> Cause:
    """Rename or retire a cause; its code stays, so cases and imports keep pointing at it."""
    require(actor, "admin.causes")
    values = CauseSchema(partial=True).load(data)
    values.pop("code", None)
    for key, value in values.items():
        setattr(cause, key, value)
    db.session.commit()  # the search hooks re-index the cause's cases
    return cause


def _resolve_causes(codes: list[str], allow_retired: bool = False) -> list[Cause]:
    if not codes:
        return []
    found = {c.code: c for c in db.session.scalars(select(Cause).where(Cause.code.in_(codes)))}
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise ValidationError({"causes": [N_("Unknown cause code: {code}").format(code=code) for code in unknown]})
    retired = [code for code in codes if found[code].retired and not allow_retired]
    if retired:
        raise ValidationError({"causes": [N_("Cause {code} is retired; choose another.").format(code=code) for code in retired]})
    return [found[code] for code in codes]


# -- reading ------------------------------------------------------------------------------------------

def get_case(actor, case_id: int) -> FailureCase:
    """Load a case the actor may see; the same 404 when it does not exist or is hidden from them."""
    return get_visible(actor, FailureCase, case_id, "case.view", message=N_("No such case."))


def cases_by_author(actor: User) -> list[FailureCase]:
    return list(db.session.scalars(
        select(FailureCase).where(FailureCase.author_id == actor.id).order_by(FailureCase.updated_at.desc())))


def recent_cases(actor, limit: int = 8) -> list[FailureCase]:
    """Most recently published cases the actor may see."""
    query = (select(FailureCase).where(published_visible_clause(actor))
             .order_by(FailureCase.published_at.desc(), FailureCase.id.desc()).limit(limit))
    return list(db.session.scalars(query))


def count_published_by_family(actor) -> list[tuple[str, int]]:
    """Published cases per primary-cause family, among those the actor may see, counted in SQL."""
    query = (select(Cause.family, func.count(FailureCase.id))
             .join(CaseCause, (CaseCause.case_id == FailureCase.id) & CaseCause.is_primary)
             .join(Cause, Cause.id == CaseCause.cause_id)
             .where(published_visible_clause(actor)).group_by(Cause.family))
    return sorted(((family, count) for family, count in db.session.execute(query)),
                  key=lambda item: (-item[1], item[0]))


# -- writing ------------------------------------------------------------------------------------------

def create_case(actor: User, data: dict, publish: bool = False) -> FailureCase:
    """File a new post-mortem as a draft of the actor's park (published at once when asked and allowed)."""
    require(actor, "case.create")
    case = draft_case(actor, FailureCaseSchema().load(data))
    if publish:
        require(actor, "case.publish", case)
        check_publishable(case)
        _publish(case)
    db.session.add(case)
    db.session.commit()
    return case


def draft_case(actor: User, values: dict) -> FailureCase:
    """A new draft of the actor's park from loaded FailureCaseSchema values, not yet added to the session.

    For use cases that file a case with other rows in one commit (a post-mortem and its links), as create_case
    does alone; the caller checks the permission, adds and commits.
    """
    case = FailureCase(author=actor, park=actor.park, status=CaseStatus.draft)
    _apply(case, values)
    return case


class EditConflict(ZhiguError):
    """An edit started from a version of the case that someone else has saved over since (409).

    `version` is the saved version (send it with the edit to save over it deliberately); `fields` maps each
    field where the saved case and the edit differ to {"saved": ..., "yours": ...}, JSON-ready; `meanwhile`
    names the fields saved since the edit began, when the edit said what it began from (edit_base), else None.
    """

    def __init__(self, case: FailureCase, fields: dict, meanwhile: set[str] | None = None):
        super().__init__(N_("Someone else saved this case after you started editing it. Compare your changes "
                            "with the saved version, then save again."), 409)
        self.case = case
        self.version = case.version
        self.fields = fields
        self.meanwhile = meanwhile


# -- what a viewer may see of a case, before the API dumps it (zhigu.schemas.dump_for) ------------------------

@trims(FailureCase)
def shown_case(viewer, case: FailureCase) -> FailureCase | Shown:
    """Who is behind an anonymized case (organization, filer, park) only for those who may know it."""
    if can(viewer, "case.see_org", case):
        return case
    return Shown(case, org_name=None, author=None, park=None)


@trims(CaseRevision)
def shown_revision(viewer, revision: CaseRevision) -> CaseRevision | Shown:
    """A revision of an anonymized case: its editor only for the park's managers and admins (a name points at
    the organization), an organization's old and new name only for those who may see it."""
    case = revision.case
    if not case.anonymize:
        return revision
    changes = dict(revision.changes)
    if "org_name" in changes and not can(viewer, "case.see_org", case):
        changes["org_name"] = {"old": None, "new": None, "hidden": True}
    editor = revision.editor if can(viewer, "case.audit", case) else None
    return Shown(revision, editor=editor, changes=changes)


@trims(EditConflict)
def shown_conflict(viewer, conflict: EditConflict) -> EditConflict | Shown:
    """A conflict on an anonymized case: the saved organization only for those who may see it (theirs they sent)."""
    if "org_name" not in conflict.fields or can(viewer, "case.see_org", conflict.case):
        return conflict
    fields = dict(conflict.fields, org_name={"saved": None, "yours": conflict.fields["org_name"]["yours"],
                                             "hidden": True})
    return Shown(conflict, fields=fields)


def update_case(actor: User, case: FailureCase, data: dict, version: int | None = None,
                base: str | None = None) -> FailureCase:
    """Change the given fields; on a published case, record the change as a revision.

    The edit names the version it started from as `version` (the API's If-Match) or as "version" in `data`
    (the form's hidden field, the API's body). When the case was saved since, nothing is written and
    EditConflict says which fields differ, unless the edit would change nothing (a form sent twice). Without a
    version the edit applies to the case as saved now. The case's row is held until the commit either way, so
    two edits at once apply one after the other, never a mix of their cause lists. `base` is what edit_base
    gave when the edit began (the form's hidden field): with it, a conflict also names the fields saved since.
    """
    lock_case(case)
    require(actor, "case.edit", case)
    values = FailureCaseSchema(partial=True).load(_with_stored_partners(case, data))
    values.pop("status", None)
    values.pop("park", None)
    expected = {v for v in (version, values.pop("version", None)) if v is not None}
    if CaseStatus(case.status).is_out and "causes" in values and not values["causes"]:
        raise ValidationError({"causes": [N_("A published case needs at least one cause.")]})
    before = _snapshot(case)
    if expected - {case.version}:
        differing = _differences(before, values)
        if differing:
            raise EditConflict(case, differing, _changed_since(before, base))
    _apply(case, values)
    changes = _diff(before, _snapshot(case))
    if changes:
        case.updated_at = now_utc()  # an UPDATE of the row even when only its causes changed: a new version
        if CaseStatus(case.status).is_out:
            db.session.add(CaseRevision(case=case, editor=actor, changes=changes, action="edit"))
    db.session.commit()
    return case


def discard_changes() -> None:
    """Roll back what the current use case wrote, after a failed flush (so the error page can still read)."""
    db.session.rollback()


def edit_base(case: FailureCase) -> str:
    """A short fingerprint of each editable field as saved now, for an edit form to send back (update_case)."""
    return ".".join(_fingerprint(name, value) for name, value in _snapshot(case).items())


def _changed_since(snapshot: dict, base: str | None) -> set[str] | None:
    """The fields whose saved value is not the one `base` fingerprinted; None when `base` says nothing usable."""
    parts = base.split(".") if isinstance(base, str) else []
    if len(parts) != len(snapshot):
        return None
    return {name for (name, value), part in zip(snapshot.items(), parts) if _fingerprint(name, value) != part}


def _fingerprint(name: str, value) -> str:
    if name in UNORDERED_FIELDS and isinstance(value, list):
        value = sorted(value)
    return hashlib.sha256(json.dumps(value, ensure_ascii=False, default=str).encode()).hexdigest()[:8]


def lock_case(case: FailureCase) -> None:
    """Hold the case's row until the commit and read it afresh (zhigu.locking); 404 if it was deleted.

    Every change of a case's status takes it first (reviews too), so two at once apply one after the other.
    """
    if not lock_row(db.session, case):
        raise NotFound(N_("No such case."))


#: Fields compared as sets in an edit conflict: their order carries no meaning (a form sends its own order).
UNORDERED_FIELDS = ("causes", "target_markets", "tags")


def _differences(saved: dict, values: dict) -> dict:
    """The fields an edit sets to something else than the saved case has: {field: {"saved", "yours"}}."""
    differing = {}
    for name, value in values.items():
        if name not in saved or (value is None and name in ("language", "primary_cause")):
            continue  # left out or blank: detected, or the first cause
        yours, current = _jsonable(value), saved[name]
        if name in UNORDERED_FIELDS:
            same = sorted(yours or []) == sorted(current or [])
        else:
            same = yours == current or (yours in (None, "") and current in (None, ""))
        if not same:
            differing[name] = {"saved": current, "yours": yours}
    return differing


def publish_case(actor: User, case: FailureCase) -> FailureCase:
    lock_case(case)
    require(actor, "case.publish", case)
    if case.status == CaseStatus.published:
        raise ZhiguError(N_("This case is already published."), 409)
    record_publication(actor, case)
    db.session.commit()
    return case


def record_publication(actor: User, case: FailureCase) -> None:
    """Publish a locked case in the caller's transaction and record it as a "publish" revision.

    The step publish_case and a review's approval share; each checks its own permission and commits.
    """
    check_publishable(case)
    old_status = case.status
    _publish(case)
    db.session.add(CaseRevision(case=case, editor=actor, action="publish",
                                changes={"status": {"old": old_status, "new": CaseStatus.published.value}}))


def retract_case(actor: User, case: FailureCase, data: dict) -> FailureCase:
    """Withdraw a published case: it leaves search and similar lists, and its page says why."""
    lock_case(case)
    require(actor, "case.retract", case)
    values = RetractSchema().load(data)
    if case.status != CaseStatus.published:
        raise ZhiguError(N_("Only a published case can be retracted."), 409)
    case.status = CaseStatus.retracted
    case.retraction_reason = values["reason"]
    case.retracted_at = now_utc()
    db.session.add(CaseRevision(case=case, editor=actor, action="retract",
                                changes={"status": {"old": CaseStatus.published.value, "new": CaseStatus.retracted.value},
                                         "retraction_reason": {"old": None, "new": values["reason"]}}))
    db.session.commit()
    return case


#: Fields validated together (FailureCaseSchema.check_consistency); a partial edit is checked against the
#: stored value of the partner the edit leaves out.
PARTNER_FIELDS = (("started_on", "ended_on"), ("money_lost", "currency"))


def _with_stored_partners(case: FailureCase, data: dict) -> dict:
    """Add the stored values of fields checked together with a field the edit changes.

    Only fields left out are filled in: an empty value clears the field (FailureCaseSchema).
    """
    if not isinstance(data, dict):
        return data
    data = dict(data)
    for group in PARTNER_FIELDS:
        if any(name in data for name in group):
            for name in group:
                if name not in data and getattr(case, name) is not None:
                    data[name] = _jsonable(getattr(case, name))
    return data


def check_publishable(case: FailureCase) -> None:
    """Refuse to publish (or submit for review) a case without a cause."""
    if not case.case_causes:
        raise ValidationError({"causes": [N_("Choose at least one cause before publishing.")]})


def _publish(case: FailureCase) -> None:
    case.status = CaseStatus.published
    case.published_at = now_utc()
    case.retraction_reason = None
    case.retracted_at = None


def _apply(case: FailureCase, values: dict, allow_retired: bool = False) -> None:
    """Copy validated values onto the case, resolving causes and checking external_id is free."""
    if values.get("external_id") and values["external_id"] != case.external_id:
        taken = db.session.scalar(select(FailureCase.id).where(FailureCase.external_id == values["external_id"]))
        if taken is not None and taken != case.id:
            raise ValidationError({"external_id": [N_("Another case already has this external id.")]})
    for name in PLAIN_FIELDS:
        if name in values:
            setattr(case, name, values[name])
    if "causes" in values or values.get("primary_cause"):
        _set_causes(case, values.get("causes"), values.get("primary_cause"), allow_retired)
    if not values.get("language") and (not case.language or "language" in values or case.id is None):
        case.language = detect_case_language(case)


def _set_causes(case: FailureCase, codes: list[str] | None, primary: str | None, allow_retired: bool) -> None:
    current = [c.code for c in case.causes]
    if codes is None and primary and primary not in current:
        raise ValidationError({"primary_cause": [N_("The primary cause must be one of the case's causes.")]})
    link_causes(case, current if codes is None else list(codes), primary,
                lambda wanted: _resolve_causes(wanted, allow_retired=allow_retired or set(wanted) <= set(current)))


def link_causes(case: FailureCase, codes: list[str], primary: str | None,
                resolve: Callable[[list[str]], Iterable[Cause]]) -> None:
    """Give the case these causes in this order, with one primary cause, keeping its links to causes it keeps.

    The primary cause is `primary` (put first when it is not among `codes`), else the first code. `resolve`
    turns the codes into Causes or raises ValidationError: edits look them up and refuse retired ones, imports
    use the taxonomy they preloaded (and may carry retired causes from older exports).
    """
    if primary and primary not in codes:
        codes = [primary, *codes]
    primary = primary or (codes[0] if codes else None)
    causes = resolve(codes)
    _demote_primary(case, primary)
    by_code = {link.cause.code: link for link in case.case_causes}
    links = []
    for cause in causes:
        link = by_code.get(cause.code) or CaseCause(cause=cause)
        link.is_primary = cause.code == primary
        links.append(link)
    case.case_causes = links


def detect_case_language(case: FailureCase) -> str:
    """The language of a case's texts, for a case that does not name it."""
    return detect_language(" ".join(filter(None, [case.title, case.summary, case.narrative])))


def _demote_primary(case: FailureCase, primary: str | None) -> None:
    """Unmark the stored primary cause if another one replaces it, and write that first.

    The database allows one primary cause per case (uq_case_cause_primary) and checks each row as it is
    written, while a flush may write the new primary's row before the old one's.
    """
    if case.id is None:
        return
    old = [link for link in case.case_causes if link.is_primary and link.cause.code != primary]
    if old:
        for link in old:
            link.is_primary = False
        db.session.flush()


def _snapshot(case: FailureCase) -> dict:
    snapshot = {name: _jsonable(getattr(case, name)) for name in PLAIN_FIELDS}
    snapshot["causes"] = [c.code for c in case.causes]
    snapshot["primary_cause"] = case.primary_cause.code if case.primary_cause else None
    return snapshot


def _diff(before: dict, after: dict) -> dict:
    return {key: {"old": before[key], "new": after[key]} for key in after if before.get(key) != after[key]}


def _jsonable(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return list(value)
    return value


def get_cause(cause_id: int) -> Cause:
    cause = db.session.get(Cause, cause_id)
    if cause is None:
        raise NotFound(N_("No such cause."))
    return cause
