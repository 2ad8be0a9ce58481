"""Validation contracts for people, parks and tokens, shared by the HTML forms, the API and the CLI."""
from marshmallow import EXCLUDE, Schema, fields, pre_load, validate, validates_schema, ValidationError

from zhigu.auth.models import Role
from zhigu.i18n import N_

SLUG = validate.Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", error=N_("Use lowercase letters, digits and hyphens."))


class BaseSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def drop_blank_inputs(self, data, **kwargs):
        """HTML forms send "" for empty inputs; treat them as missing."""
        if not isinstance(data, dict):
            return data
        return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}


class ParkSchema(BaseSchema):
    id = fields.Int(dump_only=True)
    slug = fields.Str(required=True, validate=[validate.Length(min=2, max=80), SLUG])
    name = fields.Str(required=True, validate=validate.Length(min=2, max=200))
    region = fields.Str(load_default=None, validate=validate.Length(max=120))


class SignupSchema(BaseSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    display_name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    password = fields.Str(required=True, load_only=True, validate=validate.Length(min=8, max=200))
    password_confirm = fields.Str(load_only=True)

    @validates_schema
    def passwords_match(self, data, **kwargs):
        if "password_confirm" in data and data["password_confirm"] != data.get("password"):
            raise ValidationError(N_("The passwords do not match."), "password_confirm")


class UserSchema(BaseSchema):
    """What admins set on a user; also the JSON shape of a user."""

    id = fields.Int(dump_only=True)
    email = fields.Email(required=True, validate=validate.Length(max=254))
    display_name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    role = fields.Enum(Role, by_value=True, load_default=Role.member)
    park = fields.Str(load_default=None, metadata={"description": "Slug of the user's park."})
    is_active = fields.Bool(load_default=True)


class LoginSchema(BaseSchema):
    email = fields.Str(required=True)
    password = fields.Str(required=True, load_only=True)


class PasswordChangeSchema(BaseSchema):
    current_password = fields.Str(required=True, load_only=True)
    new_password = fields.Str(required=True, load_only=True, validate=validate.Length(min=8, max=200))
    new_password_confirm = fields.Str(load_only=True)

    @validates_schema
    def passwords_match(self, data, **kwargs):
        if "new_password_confirm" in data and data["new_password_confirm"] != data.get("new_password"):
            raise ValidationError(N_("The passwords do not match."), "new_password_confirm")


class ApiTokenSchema(BaseSchema):
    id = fields.Int(dump_only=True)
    name = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    prefix = fields.Str(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    last_used_at = fields.DateTime(dump_only=True)
    revoked_at = fields.DateTime(dump_only=True)
