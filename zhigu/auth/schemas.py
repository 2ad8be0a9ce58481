"""Validation contracts for people, parks and tokens, shared by the HTML forms, the API and the CLI."""
from functools import cache
from pathlib import Path

from marshmallow import ValidationError, fields, validate, validates_schema

from zhigu.auth.models import Role
from zhigu.i18n import N_
from zhigu.schemas import BaseSchema

SLUG = validate.Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", error=N_("Use lowercase letters, digits and hyphens."))


PASSWORD_LENGTH = validate.Length(min=8, max=200)


@cache
def common_passwords() -> frozenset[str]:
    """The breached passwords kept in data/common-passwords.txt, lowercased."""
    text = (Path(__file__).parent / "data" / "common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def password_problem(password: str, email: str | None = None) -> str | None:
    """Say what is wrong with a new password beyond its length, or None.

    Refused: a password that is the e-mail address or a piece of it, one that contains the address's name part
    (4 characters or more), one from the common-passwords list, and one character repeated.
    """
    folded = password.strip().lower()
    if len(set(folded)) <= 1:
        return N_("Use more than one distinct character.")
    if folded in common_passwords():
        return N_("This password is among the most common ones; choose another.")
    address = (email or "").strip().lower()
    name = address.split("@")[0]
    if address and (folded in address or (len(name) >= 4 and name in folded)):
        return N_("The password must not contain your e-mail address.")
    return None


class ParkSchema(BaseSchema):
    id = fields.Int(dump_only=True)
    slug = fields.Str(required=True, validate=[validate.Length(min=2, max=80), SLUG])
    name = fields.Str(required=True, validate=validate.Length(min=2, max=200))
    region = fields.Str(load_default=None, validate=validate.Length(max=120))


class SignupSchema(BaseSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    display_name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    password = fields.Str(required=True, load_only=True, validate=PASSWORD_LENGTH)
    password_confirm = fields.Str(load_only=True)

    @validates_schema
    def strong_password(self, data, **kwargs):
        if "password" in data and (problem := password_problem(data["password"], data.get("email"))):
            raise ValidationError(problem, "password")

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
    new_password = fields.Str(required=True, load_only=True, validate=PASSWORD_LENGTH)
    new_password_confirm = fields.Str(load_only=True)
    #: Also revoke every API token of the user (their sessions end in any case).
    revoke_tokens = fields.Bool(load_default=False, load_only=True)

    @validates_schema
    def passwords_match(self, data, **kwargs):
        if "new_password_confirm" in data and data["new_password_confirm"] != data.get("new_password"):
            raise ValidationError(N_("The passwords do not match."), "new_password_confirm")


class PasswordResetRequestSchema(BaseSchema):
    """The "forgot password" form: only an address, answered alike whether an account uses it or not."""

    email = fields.Email(required=True, validate=validate.Length(max=254))


class NewPasswordSchema(BaseSchema):
    """A password set without the current one: through a reset link, or by an operator (`zhigu auth set-password`).

    The policy's e-mail rule needs the account's address, so the service checks password_problem after loading.
    """

    password = fields.Str(required=True, load_only=True, validate=PASSWORD_LENGTH)
    password_confirm = fields.Str(load_only=True)

    @validates_schema
    def passwords_match(self, data, **kwargs):
        if "password_confirm" in data and data["password_confirm"] != data.get("password"):
            raise ValidationError(N_("The passwords do not match."), "password_confirm")


class ApiTokenSchema(BaseSchema):
    id = fields.Int(dump_only=True)
    name = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    prefix = fields.Str(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    last_used_at = fields.DateTime(dump_only=True)
    revoked_at = fields.DateTime(dump_only=True)
