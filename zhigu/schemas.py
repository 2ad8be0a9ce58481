"""The base of every schema and the fields several packages validate alike, so each rule is written once.

Forms and JSON go through the same schemas (zhigu.forms.form_data), so a field here is the whole rule for its
kind of value: an integer a column can hold (DbInt), a list of country codes (CountryCodes).
"""
from babel import Locale
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load
from marshmallow.experimental.context import Context

from zhigu.i18n import N_
from zhigu.trimming import shown
from zhigu.validation import input_errors, integer_problem

#: Babel's territories that are not ISO 3166-1 countries: groupings, reserved and user-assigned codes.
NOT_COUNTRIES = frozenset("AC CP CQ DG EA EU EZ IC QO TA UN XA XB XK ZZ".split())
COUNTRY_CODES = frozenset(code for code in Locale("en").territories
                          if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES)


class BaseSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def refuse_unstorable_values(self, data, **kwargs):
        """Every field of every schema: no NUL or unpaired surrogate in text (list items and dict values too).
        See zhigu.validation."""
        if isinstance(data, dict) and (errors := input_errors(self, data)):
            raise ValidationError(errors)
        return data

    @pre_load
    def drop_blank_inputs(self, data, **kwargs):
        """HTML forms send "" for empty inputs; treat them as missing."""
        if not isinstance(data, dict):
            return data
        return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}


class DbInt(fields.Integer):
    """An integer an SQL `integer` column can hold, as JSON (42) or a form ("42") sends it: every id and count.

    Past the column's range it is "Number out of range." (the database would fail on it: a 500); an id within
    it that names no row is the service's "not found", as for any id.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        if problem := integer_problem(value):
            raise ValidationError(problem)
        return super()._deserialize(value, attr, data, **kwargs)


class CodeList(fields.List):
    """A list of short codes that also accepts one comma-separated string, as a text input sends it."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = [value]
        if isinstance(value, (list, tuple)):
            value = [part.strip() if isinstance(part, str) else part
                     for item in value for part in (item.split(",") if isinstance(item, str) else [item])
                     if not isinstance(part, str) or part.strip()]
        return super()._deserialize(value, attr, data, **kwargs)


def validate_country(value: str) -> None:
    if value.strip().upper() not in COUNTRY_CODES:
        raise ValidationError(N_("{value} is not an ISO 3166 country code such as KZ or ID.").format(value=repr(value)))


class CountryCodes(CodeList):
    """ISO 3166-1 alpha-2 country codes in any case ("kz"), loaded uppercase and without repeats, as stored."""

    def __init__(self, **kwargs):
        super().__init__(fields.Str(validate=validate_country), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return list(dict.fromkeys(code.upper() for code in super()._deserialize(value, attr, data, **kwargs)))


class OutputSchema(Schema):
    """The base of what the API answers (`<Resource>OutSchema`): dumped, never loaded, so it skips BaseSchema's
    input checks; an output schema may extend its resource's input schema for the fields they share."""

    def load(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} only dumps: load with the resource's input schema")


def dump_for(viewer, schema: Schema, obj, **context):
    """Dump `obj` with an API output schema for `viewer`: what they may not see taken out first (zhigu.trimming,
    by the domain's trimmer), then dumped as it is. `context` is what else the schema reads (dump_context).
    """
    with Context(context):
        return schema.dump(shown(viewer, obj))


def dump_context() -> dict:
    """What `dump_for` gave the schema that is dumping besides the object (e.g. {"case_id": 3})."""
    return Context.get({})
