"""One schema per resource, shared by the guild pages, the admin forms and /api/v1."""
from marshmallow import fields, pre_load, validate

from zhigu.auth.schemas import SLUG, BaseSchema
from zhigu.guilds.models import LISTS, ORG_TYPE_LABELS

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


class EvidenceListMixin:
    @pre_load
    def split_lines(self, data, **kwargs):
        """A form's textarea sends evidence as lines; JSON sends a list (or one string)."""
        if isinstance(data, dict) and "evidence" in data:
            raw = data["evidence"]
            raw = [raw] if isinstance(raw, (str, int, dict)) else raw
            if isinstance(raw, list):
                items = []
                for item in raw:
                    if isinstance(item, str):
                        items.extend(line.strip() for line in item.splitlines() if line.strip())
                    else:
                        items.append(item)
                data = {**data, "evidence": items}
        return data


#: An evidence item: a case id (42, "42", "case:42", {"case": 42}) or a URL ("https://…", {"url": "…"}).
EVIDENCE_HELP = "Case ids (e.g. 42) or http(s) URLs, one per line."


class ListingSchema(EvidenceListMixin, BaseSchema):
    id = fields.Int(dump_only=True)
    guild = fields.Str(load_default=None, metadata={"description": "Guild slug; optional if you review for one."})
    organization = fields.Str(required=True, metadata={"description": "The organization's name or id."})
    list = fields.Str(required=True, validate=validate.OneOf(LISTS))
    justification = fields.Str(required=True, validate=validate.Length(min=20, max=5000))
    evidence = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1, max=30),
                           metadata={"description": EVIDENCE_HELP})


class RenewalSchema(EvidenceListMixin, BaseSchema):
    evidence = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1, max=30),
                           metadata={"description": EVIDENCE_HELP})


class ReplySchema(BaseSchema):
    reply = fields.Str(required=True, validate=validate.Length(min=1, max=5000))


class AppealSchema(BaseSchema):
    reason = fields.Str(required=True, validate=validate.Length(min=10, max=5000))


class WithdrawSchema(BaseSchema):
    reason = fields.Str(required=True, validate=validate.Length(min=3, max=2000))
