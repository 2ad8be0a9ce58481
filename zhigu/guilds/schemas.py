"""One schema per resource, shared by the guild pages, the admin forms and /api/v1."""
import re
from collections import namedtuple

from marshmallow import ValidationError, fields, validate

from zhigu.auth.schemas import SLUG
from zhigu.guilds.models import LISTS, ORG_TYPE_LABELS
from zhigu.i18n import N_
from zhigu.schemas import BaseSchema, OutputSchema
from zhigu.validation import db_id

ORG_TYPES = tuple(code for code, _english, _chinese in ORG_TYPE_LABELS)


class GuildSchema(BaseSchema):
    id = fields.Int(dump_only=True)
    slug = fields.Str(required=True, validate=[validate.Length(min=2, max=80), SLUG])
    name = fields.Str(required=True, validate=validate.Length(min=2, max=200))


class GuildReviewerSchema(BaseSchema):
    guild = fields.Str(required=True, metadata={"description": "The guild's slug."})
    email = fields.Email(required=True)


class OrganizationSchema(BaseSchema):
    id = fields.Int(dump_only=True)
    name = fields.Str(required=True, validate=validate.Length(min=2, max=200))
    type = fields.Str(required=True, validate=validate.OneOf(ORG_TYPES))
    region = fields.Str(load_default=None, validate=validate.Length(max=120))
    representative = fields.Email(load_default=None, metadata={"description": "E-mail of the representative."})


#: An evidence item: a case id (42, "42", "case:42", {"case": 42}) or a URL ("https://…", {"url": "…"}).
EVIDENCE_HELP = "Case ids (e.g. 42) or http(s) URLs, one per line."
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
CASE_REF = re.compile(r"^(?:case:)?\s*(\d+)$", re.IGNORECASE)
#: What an evidence item names: a case (its id, and the reference as given, for messages) or a URL.
EvidenceRef = namedtuple("EvidenceRef", "case_id ref url")


class Evidence(fields.List):
    """1 to 30 evidence items: a form's textarea sends them as lines, JSON as a list (or one item).

    Only the shapes are checked here; the service checks that each case may be shown as evidence.
    """

    def __init__(self, **kwargs):
        super().__init__(fields.Raw(), validate=validate.Length(min=1, max=30), metadata={"description": EVIDENCE_HELP},
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        items = [value] if isinstance(value, (str, int, dict)) else value
        if isinstance(items, list):
            items = [part for item in items for part in (_lines(item) if isinstance(item, str) else [item])]
            self._validate(items)  # a wrong count is the one error, however the items look
        items = super()._deserialize(items, attr, data, **kwargs)
        refs, errors = [], {}
        for i, item in enumerate(items):
            try:
                refs.append(_evidence_ref(item))
            except ValidationError as error:
                errors[i] = error.messages
        if errors:
            raise ValidationError(errors)
        return refs


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _evidence_ref(item) -> EvidenceRef:
    case_ref = url = None
    if isinstance(item, dict):
        case_ref, url = item.get("case"), item.get("url")
    elif isinstance(item, int) and not isinstance(item, bool):
        case_ref = item
    elif isinstance(item, str):
        match = CASE_REF.match(item)
        case_ref, url = (match.group(1), None) if match else (None, item)
    if case_ref is not None:
        if (case_id := db_id(case_ref)) is None:
            raise ValidationError(N_("No such case: {ref}.").format(ref=case_ref))
        return EvidenceRef(case_id, case_ref, None)
    if isinstance(url, str) and URL.match(url) and len(url) <= 500:
        return EvidenceRef(None, None, url)
    raise ValidationError(N_("Give a case id or an http(s) URL."))


class ListingSchema(BaseSchema):
    id = fields.Int(dump_only=True)
    guild = fields.Str(load_default=None, metadata={"description": "Guild slug; optional if you review for one."})
    organization = fields.Str(required=True, metadata={"description": "The organization's name or id."})
    list = fields.Str(required=True, validate=validate.OneOf(LISTS))
    justification = fields.Str(required=True, validate=validate.Length(min=20, max=5000))
    evidence = Evidence(required=True)


class RenewalSchema(BaseSchema):
    evidence = Evidence(required=True)


class ReplySchema(BaseSchema):
    reply = fields.Str(required=True, validate=validate.Length(min=1, max=5000))


class AppealSchema(BaseSchema):
    reason = fields.Str(required=True, validate=validate.Length(min=10, max=5000))


class WithdrawSchema(BaseSchema):
    #: A decision the organization reads: at least a short sentence.
    reason = fields.Str(required=True, validate=validate.Length(min=10, max=2000))


class DecisionSchema(BaseSchema):
    """Confirming a proposal (an optional note) or upholding an appealed listing (the service requires it then)."""

    reason = fields.Str(load_default=None, validate=validate.Length(min=10, max=2000),
                        metadata={"description": "Why: required when upholding a listing under appeal."})


class OrganizationOutSchema(OutputSchema):
    """An organization's public profile, as the API answers it."""

    id = fields.Int()
    name = fields.Str()
    type = fields.Str()
    region = fields.Str(allow_none=True)
    has_representative = fields.Function(lambda org: org.representative_id is not None,
                                         metadata={"type": "boolean"})
