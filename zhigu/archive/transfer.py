"""Import and export cases as JSON lines: `zhigu archive import|export`, backups and the demo data.

An export is in the import format, so the two round-trip: importing an export upserts each case on its
external_id (export_name for cases filed without one), and a whole file is written in one transaction or not
at all. Imported cases skip review, so the cases' histories say they were imported.
"""
import hashlib
import json
import re
from functools import lru_cache
from typing import Iterable, Iterator

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import func, inspect, select

from zhigu.archive.models import CaseRevision, CaseStatus, Cause, FailureCase
from zhigu.archive.schemas import FailureCaseSchema
from zhigu.archive.services import PLAIN_FIELDS, detect_case_language, link_causes
from zhigu.auth.models import Park
from zhigu.db import cyclic_gc_paused, now_utc
from zhigu.errors import ZhiguError
from zhigu.extensions import db
from zhigu.i18n import N_
from zhigu.validation import SURROGATES, UNSTORABLE_MESSAGE, has_unstorable, json_too_deep, too_deep_message


class ImportFailed(ZhiguError):
    """A file had bad lines; nothing from it was written. `errors` maps line numbers to field messages."""

    def __init__(self, errors: dict[int, dict]):
        super().__init__(f"{len(errors)} bad line(s); nothing was imported.", 422)
        self.errors = errors


def import_cases(lines: Iterable[str], park_slug: str | None = None, progress=None) -> dict:
    """Validate every line, then upsert all cases on external_id in one transaction, or write nothing.

    Imported cases are published and public unless a line says otherwise. `progress(n)` is called as
    lines are written. Returns counts of created, updated and unchanged cases: a line that gives a stored case
    its own values again changes no row, so it is not indexed again and keeps its nearest cases.
    """
    with cyclic_gc_paused():  # every row stays in the session until the commit: nothing to collect
        parks = {p.slug: p for p in db.session.scalars(select(Park))}
        default_park = parks.get(park_slug) if park_slug else None
        if park_slug and default_park is None:
            raise ZhiguError(N_("No park with slug {slug}.").format(slug=repr(park_slug)), 404)
        causes = {c.code: c for c in db.session.scalars(select(Cause))}
        schema = FailureCaseSchema()
        rows, errors, seen = [], {}, {}
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            if SURROGATES.search(line):  # how the command line reads bytes that are not UTF-8 (surrogateescape)
                errors[number] = {"_line": ["Not valid UTF-8 text."]}
                continue
            if json_too_deep(line):
                errors[number] = {"_line": [too_deep_message()]}
                continue
            try:
                raw = json.loads(line)
                if not isinstance(raw, dict):
                    raise ValueError("a line must hold one JSON object")
            except (ValueError, RecursionError) as exc:
                errors[number] = {"_line": [f"Not valid JSON: {exc}"]}
                continue
            try:
                values = schema.load(raw)
            except ValidationError as exc:
                errors[number] = exc.normalized_messages()
                continue
            line_errors = {}
            if not values.get("external_id"):
                line_errors["external_id"] = ["Imports need an external_id, so that importing again updates."]
            elif values["external_id"] in seen:
                line_errors["external_id"] = [f"Repeats line {seen[values['external_id']]}."]
            unknown = [code for code in values["causes"] if code not in causes]
            if unknown:
                line_errors["causes"] = [N_("Unknown cause code: {code}").format(code=code) for code in unknown]
            if values.get("park") and values["park"] not in parks:
                line_errors["park"] = [f"No park with slug {values['park']!r}."]
            # read-only in the API, but an export carries it so that a retraction survives the round trip
            reason = raw.get("retraction_reason")
            if reason is not None and not isinstance(reason, str):
                line_errors["retraction_reason"] = ["Not a valid string."]
            elif has_unstorable(reason):
                line_errors["retraction_reason"] = [UNSTORABLE_MESSAGE]
            elif values.get("status") == CaseStatus.retracted:
                values["retraction_reason"] = reason
            if line_errors:
                errors[number] = line_errors
                continue
            seen[values["external_id"]] = number
            rows.append(values)
        if errors:
            raise ImportFailed(errors)

        existing = {}
        ids = [row["external_id"] for row in rows]
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            existing.update((c.external_id, c) for c in db.session.scalars(
                select(FailureCase).where(FailureCase.external_id.in_(chunk))))
        existing.update(_exported_unnamed(set(ids) - set(existing)))
        created = updated = unchanged = 0
        for done, values in enumerate(rows, start=1):
            case = existing.get(values["external_id"])
            stored = case is not None
            if not stored:
                case = FailureCase(status=CaseStatus.published)
                db.session.add(case)
                # imports publish without review; the history says so
                case.revisions.append(CaseRevision(action="import", changes={
                    "status": {"old": None, "new": values.get("status") or CaseStatus.published.value}}))
                created += 1
            case.park = parks.get(values.get("park")) or default_park or case.park
            _apply_imported(case, values, causes)
            if stored:
                if _changed(case):
                    updated += 1
                else:
                    unchanged += 1
            if progress and done % 200 == 0:
                progress(200)
        db.session.flush()  # the INSERTs too; the commit's hooks (the index drain) then run with collections
    db.session.commit()
    if progress:
        progress(len(rows) % 200)
    return {"created": created, "updated": updated, "unchanged": unchanged}


def _changed(case: FailureCase) -> bool:
    """Whether an import line changed a stored case: its columns, its park or its causes."""
    return db.session.is_modified(case) or any(
        inspect(link).pending or db.session.is_modified(link) for link in case.case_causes)


def _apply_imported(case: FailureCase, values: dict, causes: dict[str, Cause]) -> None:
    """Like services._apply, with the taxonomy preloaded: imports may carry retired causes from older exports."""
    for name in PLAIN_FIELDS:
        if name in values:
            setattr(case, name, values[name])
    if not case.language:
        case.language = detect_case_language(case)
    link_causes(case, values["causes"], values.get("primary_cause"), lambda codes: [causes[code] for code in codes])
    status = CaseStatus(values.get("status") or CaseStatus.published)
    if status == CaseStatus.published and case.published_at is None:
        case.published_at = now_utc()
    if status == CaseStatus.retracted:
        case.retraction_reason = values.get("retraction_reason") or case.retraction_reason
        case.retracted_at = case.retracted_at or now_utc()
    case.status = status


def export_name(case_id: int) -> str:
    """The external id an export gives a case filed without one (on the web), which an import needs.

    It names this installation (a digest of its SECRET_KEY, shared by all its machines), so importing the
    export here again updates those cases, while another installation's case of the same id is never taken
    for them there.
    """
    return f"zhigu-{_installation()}-{case_id}"


EXPORT_NAME = re.compile(r"zhigu-([0-9a-f]{10})-([0-9]{1,10})")


def _installation() -> str:
    return _digest(str(current_app.config["SECRET_KEY"]))


@lru_cache(maxsize=4)
def _digest(secret_key: str) -> str:
    """Computed once per key, not once per exported case."""
    return hashlib.sha256(b"zhigu export names\0" + secret_key.encode()).hexdigest()[:10]


def _exported_unnamed(external_ids: set[str]) -> dict[str, FailureCase]:
    """This installation's cases that an earlier export named (export_name) and that still have no name."""
    wanted, installation = {}, _installation()
    for external_id in external_ids:
        match = EXPORT_NAME.fullmatch(external_id)
        if match and match[1] == installation and int(match[2]) < 2**31:
            wanted[int(match[2])] = external_id
    if not wanted:
        return {}
    return {wanted[case.id]: case for case in db.session.scalars(
        select(FailureCase).where(FailureCase.id.in_(wanted), FailureCase.external_id.is_(None)))}


class ExportFailed(ZhiguError):
    """A case holds text no file can hold (stored before inputs were checked); the message names it."""


def export_cases(session=None) -> Iterator[str]:
    """Yield every case as one JSON line in the import format, so export and import round-trip.

    `session` reads from another database or snapshot than the app's. Cases filed without an external id
    are named by export_name. Raises ExportFailed for a case with an unpaired surrogate or NUL in its text
    (rows older than the input checks): the import would refuse that line, so the export is not made.
    """
    schema = FailureCaseSchema()
    query = select(FailureCase).order_by(FailureCase.id).execution_options(yield_per=500)
    for case in (session or db.session).scalars(query):
        data = schema.dump(case)
        if not data.get("external_id"):
            data["external_id"] = export_name(case.id)
        for key in ("id", "url", "created_at", "updated_at", "published_at", "version"):
            data.pop(key, None)
        data["causes"] = [c.code for c in case.causes]
        data["primary_cause"] = case.primary_cause.code if case.primary_cause else None
        data["park"] = case.park.slug if case.park else None
        if bad := sorted(key for key, value in data.items() if has_unstorable(value)):
            raise ExportFailed(f"Case {case.id} holds a character no file can hold (NUL or an unpaired surrogate) "
                               f"in {', '.join(bad)}; correct it on the case's edit page and export again.")
        yield json.dumps({k: v for k, v in data.items() if v not in (None, [], "")}, ensure_ascii=False)


def case_count() -> int:
    return db.session.scalar(select(func.count(FailureCase.id))) or 0
