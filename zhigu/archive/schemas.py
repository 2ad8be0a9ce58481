"""FailureCaseSchema: the one validation contract for the case form, the JSON API and imports."""
from babel.numbers import list_currencies
from flask import url_for
from marshmallow import ValidationError, fields, post_load, pre_load, validate, validates_schema

from zhigu.archive.models import CaseStatus, Visibility
from zhigu.archive.vocabulary import CAUSE_FAMILIES, ORG_TYPES, SECTORS, STAGES, codes
from zhigu.i18n import N_
from zhigu.schemas import BaseSchema, CodeList, CountryCodes, DbInt, OutputSchema

CURRENCY_CODES = frozenset(list_currencies())
MAX_TEXT = 50_000
#: The statuses an import may give a case; the review statuses are reached through zhigu.reviews only.
IMPORT_STATUSES = [status.value for status in (CaseStatus.draft, CaseStatus.published, CaseStatus.retracted)]
#: Optional texts: an empty input stores "", not None.
BLANKABLE_TEXTS = ("narrative", "warning_signs", "lessons")


class FailureCaseSchema(BaseSchema):
    id = fields.Int(dump_only=True)
    url = fields.Str(dump_only=True)
    external_id = fields.Str(load_default=None, validate=validate.Length(max=120))
    title = fields.Str(required=True, validate=validate.Length(
        min=3, max=200, error=N_("Give a title of {min} to {max} characters.")))
    summary = fields.Str(required=True, validate=validate.Length(
        min=10, max=5000, error=N_("Give a summary of {min} to {max} characters.")))
    narrative = fields.Str(load_default="", validate=validate.Length(max=MAX_TEXT))
    warning_signs = fields.Str(load_default="", validate=validate.Length(max=MAX_TEXT))
    lessons = fields.Str(load_default="", validate=validate.Length(max=MAX_TEXT))
    causes = CodeList(fields.Str(validate=validate.Length(max=64)), load_default=list,
                      metadata={"description": "Cause codes from GET /api/v1/causes."})
    primary_cause = fields.Str(load_default=None, metadata={"description": "One of `causes`; the first when absent."})
    sector = fields.Str(load_default=None, validate=validate.OneOf(codes(SECTORS)))
    region = fields.Str(load_default=None, validate=validate.Length(max=120),
                        metadata={"description": "Province/City, e.g. Zhejiang/Hangzhou."})
    target_markets = CountryCodes(load_default=list, metadata={"description": "ISO 3166-1 alpha-2 country codes."})
    stage_reached = fields.Str(load_default=None, validate=validate.OneOf(codes(STAGES)))
    started_on = fields.Date(load_default=None)
    ended_on = fields.Date(load_default=None)
    money_lost = fields.Decimal(load_default=None, places=2, as_string=True,
                                validate=validate.Range(min=0, max=10**15))
    currency = fields.Str(load_default=None)
    team_size = DbInt(load_default=None, validate=validate.Range(min=0, max=1_000_000))
    org_name = fields.Str(load_default=None, validate=validate.Length(max=200))
    org_type = fields.Str(load_default=None, validate=validate.OneOf(codes(ORG_TYPES)))
    anonymize = fields.Bool(load_default=False)
    language = fields.Str(load_default=None, validate=validate.Regexp(
        r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$", error=N_("Use a language code such as zh or en.")))
    tags = CodeList(fields.Str(validate=validate.Length(min=1, max=40)), load_default=list,
                    validate=validate.Length(max=20))
    source_url = fields.Url(load_default=None, schemes={"http", "https"}, validate=validate.Length(max=500))
    visibility = fields.Str(load_default=Visibility.public.value,
                            validate=validate.OneOf([visibility.value for visibility in Visibility]))
    status = fields.Str(validate=validate.OneOf(IMPORT_STATUSES),
                        metadata={"description": "Read-only in the API; imports may set it."})
    park = fields.Str(load_default=None, metadata={"description": "Park slug (imports)."})
    version = DbInt(load_default=None, validate=validate.Range(min=1, max=2**31 - 1),
                         metadata={"description": "Counts the case's saves. In an edit: the version it started "
                                                  "from (or If-Match: its ETag); 409 when the case was saved since. "
                                                  "Left out, the edit applies to the case as it is."})
    retraction_reason = fields.Str(dump_only=True)
    published_at = fields.DateTime(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    @pre_load
    def drop_blank_inputs(self, data, **kwargs):
        """An empty input clears its field: "" for the texts, None for the others.

        A blank title or summary stays blank, so that it fails validation; a blank or null language is
        left out, which means "detect it".
        """
        if not isinstance(data, dict):
            return data
        cleaned = {}
        for key, value in data.items():
            field = self.load_fields.get(key)
            if field is None or not (value is None or (isinstance(value, str) and not value.strip())):
                cleaned[key] = value
            elif key in BLANKABLE_TEXTS or key in ("title", "summary"):
                cleaned[key] = ""
            elif isinstance(field, fields.List):
                cleaned[key] = value if value is None else []
            elif field.allow_none and key != "language":
                cleaned[key] = None
        return cleaned

    @pre_load
    def normalize_codes(self, data, **kwargs):
        """Accept lowercase country and currency codes."""
        if isinstance(data, dict):
            if isinstance(data.get("currency"), str):
                data["currency"] = data["currency"].strip().upper()
            if data.get("money_lost") is not None and isinstance(data["money_lost"], float):
                data["money_lost"] = repr(data["money_lost"])
        return data

    @validates_schema(skip_on_field_errors=False)
    def check_consistency(self, data, **kwargs):
        """Cross-field rules, checked even when a field failed, so a form shows every error at once."""
        errors = {}
        if data.get("started_on") and data.get("ended_on") and data["ended_on"] < data["started_on"]:
            errors["ended_on"] = [N_("The end date is before the start date.")]
        if data.get("currency") and data["currency"] not in CURRENCY_CODES:
            errors["currency"] = [N_("Not an ISO 4217 currency code.")]
        if data.get("money_lost") is not None and not data.get("currency"):
            errors["currency"] = [N_("Give the currency of the money lost.")]
        causes = data.get("causes") or []
        if data.get("primary_cause") and causes and data["primary_cause"] not in causes:
            errors["primary_cause"] = [N_("The primary cause must be one of the chosen causes.")]
        if errors:
            raise ValidationError(errors)

    @post_load
    def tidy_lists(self, data, **kwargs):
        """Drop repeated tags (whatever their case: the first spelling stays, "Khorgos" is a name) and causes,
        keeping order (CountryCodes tidies country codes)."""
        if "tags" in data:
            first = {}
            for tag in (t.strip() for t in data["tags"]):
                if tag:
                    first.setdefault(tag.casefold(), tag)
            data["tags"] = list(first.values())
        if "causes" in data:
            data["causes"] = list(dict.fromkeys(data["causes"]))
        return data


class RetractSchema(BaseSchema):
    reason = fields.Str(required=True, validate=validate.Length(min=5, max=2000))


class CauseSchema(BaseSchema):
    code = fields.Str(required=True, validate=[validate.Length(min=3, max=64),
                                               validate.Regexp(r"^[a-z_]+\.[a-z0-9_]+$",
                                                               error=N_("Use family.name in lowercase."))])
    family = fields.Str(required=True, validate=validate.OneOf(codes(CAUSE_FAMILIES)))
    label_en = fields.Str(required=True, validate=validate.Length(min=2, max=200))
    label_zh = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    retired = fields.Bool(load_default=False)


# -- what the API answers (dumped with zhigu.schemas.dump_for) ----------------------------------------------

def case_url(case) -> str:
    return url_for("archive.detail", case_id=case.id, _external=True)


class CaseOutSchema(OutputSchema, FailureCaseSchema):
    """A case as the API answers it: org_name, author and park are null for whom the organization is hidden
    (archive.services.shown_case)."""

    url = fields.Function(case_url, dump_only=True)
    causes = fields.Pluck(CauseSchema, "code", many=True, dump_only=True,
                          metadata={"description": "Cause codes from GET /api/v1/causes."})
    primary_cause = fields.Pluck(CauseSchema, "code", allow_none=True, dump_only=True)
    org_name = fields.Str(allow_none=True)
    author = fields.Function(lambda case: case.author.display_name if case.author else None, allow_none=True,
                             metadata={"type": "string"})
    park = fields.Function(lambda case: case.park.slug if case.park else None, allow_none=True,
                           metadata={"type": "string", "description": "Park slug."})


class CaseRefOutSchema(OutputSchema):
    """A case named in another answer: enough to show and open it."""

    id = fields.Int()
    title = fields.Str()
    url = fields.Function(case_url)


class RevisionOutSchema(OutputSchema):
    """A revision: who, when, and each changed field's old and new value (an anonymized organization's left out
    by archive.services.shown_revision)."""

    id = fields.Int()
    action = fields.Str()
    created_at = fields.DateTime()
    editor = fields.Function(lambda revision: revision.editor.display_name if revision.editor else None,
                             allow_none=True, metadata={"type": "string"})
    changes = fields.Dict()


class ConflictOutSchema(OutputSchema):
    """A 409 edit conflict: the message, the saved version and the fields that differ (a hidden organization's
    saved value left out by archive.services.shown_conflict)."""

    error = fields.Str(attribute="message")
    version = fields.Int()
    fields_ = fields.Dict(attribute="fields", data_key="fields")
