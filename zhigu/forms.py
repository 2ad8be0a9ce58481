"""HTML form helpers, so forms and JSON go through one schema."""
from flask import render_template, request
from marshmallow import Schema, ValidationError, fields


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
    return data


def render_form(template: str, error: ValidationError | None = None, **context):
    """Render a form page; after a validation error, with the messages and status 422."""
    errors = error.normalized_messages() if error else {}
    return render_template(template, errors=errors, form=request.form, **context), 422 if error else 200
