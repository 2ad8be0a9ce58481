"""Validation contracts for initiatives and the founder's verdicts on suggested cases."""
from marshmallow import fields, validate

from zhigu.archive.schemas import case_url
from zhigu.archive.vocabulary import SECTORS, codes
from zhigu.schemas import BaseSchema, CodeList, CountryCodes, DbInt, OutputSchema

VERDICTS = ("relevant", "not_relevant")


class InitiativeSchema(BaseSchema):
    id = fields.Int(dump_only=True)
    url = fields.Str(dump_only=True)
    title = fields.Str(required=True, validate=validate.Length(min=3, max=200))
    description = fields.Str(required=True, validate=validate.Length(min=10, max=10_000))
    sector = fields.Str(load_default=None, validate=validate.OneOf(codes(SECTORS)))
    target_markets = CountryCodes(load_default=list)
    planned_start = fields.Date(load_default=None)
    created_at = fields.DateTime(dump_only=True)


class SimilarRequestSchema(BaseSchema):
    """A "find similar" request: a description, optionally with the structured signals."""

    description = fields.Str(required=True, validate=validate.Length(min=1, max=20_000))
    title = fields.Str(load_default="", validate=validate.Length(max=200))
    sector = fields.Str(load_default=None, validate=validate.OneOf(codes(SECTORS)))
    target_markets = CountryCodes(load_default=list)
    causes = CodeList(fields.Str(validate=validate.Length(max=64)), load_default=list)
    limit = DbInt(load_default=10, validate=validate.Range(min=1, max=50))
    exclude_id = DbInt(load_default=None, metadata={
        "description": "A case left out of the results: the one being edited, which is no duplicate of itself."})


class FeedbackSchema(BaseSchema):
    case_id = DbInt(required=True)
    verdict = fields.Str(required=True, validate=validate.OneOf(VERDICTS))
    note = fields.Str(load_default="", validate=validate.Length(max=5000))


#: Why a case came out similar (the OpenAPI description of `why`; the ranking may add keys).
WHY = {"type": "object", "properties": {
    "terms": {"type": "array", "items": {"type": "string"}},
    "related_terms": {"type": "array", "items": {"type": "string"},
                      "description": "Words of the closest cases (the best first matches) this one shares, which "
                                     "scored through pseudo-relevance feedback; empty for those cases."},
    "sector": {"type": "string", "nullable": True},
    "target_markets": {"type": "array", "items": {"type": "string"}},
    "causes": {"type": "array", "items": {"type": "string"}},
    "nearest_cause": {"type": "string", "nullable": True,
                      "description": "Primary cause shared with the closest cases, when it scored."}}}


class SimilarOutSchema(OutputSchema):
    """A past failure similar to a description (a search result of find-similar, or a stored suggestion)."""

    id = fields.Int(attribute="case.id")
    external_id = fields.Str(attribute="case.external_id", allow_none=True)
    title = fields.Str(attribute="case.title")
    summary = fields.Str(attribute="case.summary")
    url = fields.Function(lambda result: case_url(result.case))
    score = fields.Float(allow_none=True)
    why = fields.Raw(metadata=WHY)


class SuggestionOutSchema(SimilarOutSchema):
    """A similar failure shown for an initiative, with the founder's verdict on it."""

    rank = fields.Int(allow_none=True)
    verdict = fields.Str(allow_none=True)
    note = fields.Str(allow_none=True)
