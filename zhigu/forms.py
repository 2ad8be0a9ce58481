"""HTML form helpers, so forms and JSON go through one schema."""
from flask import render_template, request
from marshmallow import Schema, ValidationError, fields

from zhigu.i18n import N_
from zhigu.limits import MAX_INTEGER


def form_data(schema: Schema) -> dict:
    """Read request.form into what `schema` loads: List fields from getlist, booleans from checkboxes."""
    data = {}
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        if isinstance(field, fields.List):
            values = [v for v in request.form.getlist(key) if v.strip()]
            if key in request.form:
                data[key] = values
        elif isinstance(field, fields.Boolean):
            data[key] = request.form.get(key) not in (None, "", "0", "false", "off")
        elif key in request.form:
            data[key] = request.form.get(key)
    _refuse_huge_integers(schema, data)
    return data


def _refuse_huge_integers(schema: Schema, data: dict) -> None:
    """422 for integers past a SQL `integer` column, which the database would fail on (a 500), not "not found"."""
    def huge(text) -> bool:
        try:
            return abs(int(str(text).strip())) > MAX_INTEGER
        except ValueError:
            return False

    too_large = []
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Integer) and key in data:
            values = data[key] if isinstance(data[key], list) else [data[key]]
            if any(huge(value) for value in values):
                too_large.append(key)
    if too_large:
        raise ValidationError({key: [N_("Number out of range.")] for key in too_large})


def render_form(template: str, error: ValidationError | None = None, **context):
    """Render a form page; after a validation error, with the messages and status 422."""
    errors = error.normalized_messages() if error else {}
    return render_template(template, errors=errors, form=request.form, **context), 422 if error else 200
