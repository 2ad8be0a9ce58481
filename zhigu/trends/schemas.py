"""The one contract of a trends request: the dashboard's URL filters and `GET /api/v1/trends` alike."""
from datetime import date

from marshmallow import ValidationError, fields, validate, validates_schema

from zhigu.schemas import BaseSchema
from zhigu.i18n import N_

SCOPES = ("park", "region", "all")
#: Dimensions a timeline can be broken down by (the `by` parameter).
DIMENSIONS = ("cause", "family", "sector", "region", "market", "stage")
#: The longest window one request may cover, so a typo like 1024 for 2024 is an error, not a slow page.
MAX_YEARS = 30


class TrendsQuerySchema(BaseSchema):
    scope = fields.Str(load_default="all", validate=validate.OneOf(SCOPES))
    region = fields.Str(load_default=None, validate=validate.Length(min=1, max=120))
    from_ = fields.Date(data_key="from", load_default=None)
    to = fields.Date(load_default=None)
    by = fields.Str(load_default="cause", validate=validate.OneOf(DIMENSIONS))

    @validates_schema(skip_on_field_errors=False)
    def check_window(self, data, **kwargs):
        if data.get("scope") == "region" and not data.get("region"):
            raise ValidationError(N_("Name the region for scope=region."), "region")
        start, end = data.get("from_"), data.get("to")
        if start and end and start > end:
            raise ValidationError(N_("The start date is after the end date."), "from")
        if start and end and (end - start).days > MAX_YEARS * 366:
            raise ValidationError(N_("Choose a window of at most {years} years.").format(years=MAX_YEARS), "from")
        for name, value in (("from", start), ("to", end)):
            if value and not date(1900, 1, 1) <= value <= date(2200, 1, 1):
                raise ValidationError(N_("Give a date between 1900 and 2200."), name)
