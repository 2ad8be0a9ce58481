"""Password policy: length, no e-mail address in it, not a common password, not one repeated character."""
import pytest
from marshmallow import ValidationError
from sqlalchemy import select

from helpers import PASSWORD
from zhigu.auth import services
from zhigu.auth.models import User
from zhigu.auth.schemas import common_passwords
from zhigu.extensions import db


def _signup(password: str, email: str = "wang.fang@example.org") -> dict:
    return {"email": email, "display_name": "Wang Fang", "password": password, "password_confirm": password}


@pytest.mark.parametrize("password, message", [
    ("short", "Length must be between 8 and 200."),
    ("wang.fang@example.org", "The password must not contain your e-mail address."),
    ("WANG.FANG@EXAMPLE.ORG", "The password must not contain your e-mail address."),
    ("wang.fang", "The password must not contain your e-mail address."),      # a piece of the address
    ("example.org", "The password must not contain your e-mail address."),
    ("my-wang.fang-2024", "The password must not contain your e-mail address."),  # contains the name part
    ("password123", "This password is among the most common ones; choose another."),
    ("PassWord123", "This password is among the most common ones; choose another."),
    ("12345678", "This password is among the most common ones; choose another."),
    ("woaini1314", "This password is among the most common ones; choose another."),
    ("aaaaaaaaaaaa", "Use more than one distinct character."),
    ("ZZZZZZZZ", "Use more than one distinct character."),
])
def test_sign_up_refuses_weak_passwords_with_a_field_message(ctx, password, message):
    with pytest.raises(ValidationError) as error:
        services.sign_up(_signup(password))

    assert error.value.messages["password"] == [message]
    assert db.session.scalar(select(User.id)) is None


@pytest.mark.parametrize("password", [PASSWORD, "吴哥窟的日落很美", "tea-in-hangzhou-7", "Xq9!vL2#pp"])
def test_sign_up_accepts_reasonable_passwords(ctx, password):
    user = services.sign_up(_signup(password))

    assert services.authenticate("wang.fang@example.org", password) is user


def test_a_short_name_part_is_not_forbidden_inside_the_password(ctx):
    """An address like li@... must not forbid every password containing "li"."""
    user = services.sign_up(_signup("lilies-of-the-valley", email="li@example.org"))

    assert user.id is not None


def test_the_common_password_list_is_data_and_lowercased():
    passwords = common_passwords()

    assert len(passwords) > 50
    assert "password" in passwords and "qwertyuiop" in passwords
    assert all(p == p.lower() and not p.startswith("#") and len(p) >= 8 for p in passwords)


def test_password_change_follows_the_same_policy(ctx, make_user):
    user = make_user(email="zhao.lei@example.org")
    user = db.session.get(User, user.id)

    for weak in ("zhao.lei@example.org", "qwerty123", "xxxxxxxxxx"):
        with pytest.raises(ValidationError) as error:
            services.change_password(user, {"current_password": PASSWORD, "new_password": weak})
        assert list(error.value.messages) == ["new_password"]
    assert services.authenticate(user.email, PASSWORD) is user

    services.change_password(user, {"current_password": PASSWORD, "new_password": "river-stone-lantern"})
    assert services.authenticate(user.email, "river-stone-lantern") is user


def test_the_sign_up_page_shows_the_policy_message_next_to_the_field(client):
    response = client.post("/signup", data=_signup("iloveyou"))

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "This password is among the most common ones; choose another." in page
    assert 'value="wang.fang@example.org"' in page


def test_the_cli_refuses_a_weak_password(runner):
    result = runner.invoke(args=["auth", "create-user", "ops@example.org", "--password-stdin"],
                           input="ops@example.org\n")

    assert result.exit_code != 0
    assert "e-mail address" in result.output
