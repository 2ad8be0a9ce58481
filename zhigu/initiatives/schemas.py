"""Validation contracts for initiatives and the founder's verdicts on suggested cases."""
from marshmallow import fields, validate

from zhigu.archive.vocabulary import SECTORS, codes
from zhigu.schemas import BaseSchema, CodeList, CountryCodes, DbInt

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


class FeedbackSchema(BaseSchema):
    case_id = DbInt(required=True)
    verdict = fields.Str(required=True, validate=validate.OneOf(VERDICTS))
    note = fields.Str(load_default="", validate=validate.Length(max=5000))
