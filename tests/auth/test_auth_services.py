"""Users, parks, passwords and API tokens."""
import hashlib

import pytest
from marshmallow import ValidationError
from sqlalchemy import select

from helpers import PASSWORD
from zhigu.auth import services
from zhigu.auth.models import ApiToken, Role, User
from zhigu.errors import NotFound, PermissionDenied
from zhigu.extensions import db


@pytest.fixture(autouse=True)
def _ctx(ctx):
    return ctx


def test_create_user_hashes_the_password(make_park):
    park = make_park("khorgos")

    user = services.create_user("Li.Wei@Example.org", "s3cret-enough", role="curator", park_slug="khorgos")

    assert user.email == "li.wei@example.org"
    assert user.display_name == "Li.Wei"
    assert user.role is Role.curator
    assert user.park_id == park.id
    assert "s3cret-enough" not in user.password_hash
    assert services.authenticate("LI.WEI@example.org", "s3cret-enough") is user
    assert services.authenticate("li.wei@example.org", "wrong-password") is None


@pytest.mark.parametrize("email, password, park, field", [
    ("not-an-email", PASSWORD, None, "email"),
    ("ok@example.org", "short", None, "password"),
    ("ok@example.org", PASSWORD, "no-such-park", "park"),
])
def test_create_user_rejects_bad_input(email, password, park, field):
    with pytest.raises(ValidationError) as error:
        services.create_user(email, password, park_slug=park)

    assert field in error.value.messages
    assert db.session.scalar(select(User.id).where(User.email == "ok@example.org")) is None


def test_create_user_rejects_an_unknown_role():
    with pytest.raises(ValueError):
        services.create_user("ok@example.org", PASSWORD, role="overlord")


def test_email_addresses_are_unique_regardless_of_case(make_user):
    make_user(email="chen@example.org")

    with pytest.raises(ValidationError) as error:
        services.sign_up({"email": "Chen@Example.org", "display_name": "Chen", "password": PASSWORD})

    assert "email" in error.value.messages


def test_sign_up_creates_a_member_whatever_is_asked():
    user = services.sign_up({"email": "new@example.org", "display_name": "New", "password": PASSWORD,
                             "password_confirm": PASSWORD, "role": "admin"})

    assert user.role is Role.member
    assert user.park is None


def test_sign_up_checks_the_confirmation():
    with pytest.raises(ValidationError) as error:
        services.sign_up({"email": "new@example.org", "display_name": "New", "password": PASSWORD,
                          "password_confirm": "something-else"})

    assert "password_confirm" in error.value.messages


def test_inactive_users_cannot_log_in(make_user):
    admin, user = make_user("admin"), make_user()
    services.update_user(admin, user, {"email": user.email, "display_name": user.display_name,
                                       "role": "member", "is_active": False})

    assert services.authenticate(user.email, PASSWORD) is None


def test_change_password_needs_the_current_one(make_user):
    user = make_user()

    with pytest.raises(ValidationError) as error:
        services.change_password(user, {"current_password": "wrong", "new_password": "a-new-password"})
    assert "current_password" in error.value.messages

    services.change_password(user, {"current_password": PASSWORD, "new_password": "a-new-password",
                                    "new_password_confirm": "a-new-password"})
    assert services.authenticate(user.email, "a-new-password") is user
    assert services.authenticate(user.email, PASSWORD) is None


def test_only_admins_update_users_and_set_roles_and_parks(make_user, make_park):
    park = make_park("suzhou")
    admin, curator, user = make_user("admin"), make_user("curator"), make_user()
    data = {"email": user.email, "display_name": "Promoted", "role": "manager", "park": "suzhou"}

    with pytest.raises(PermissionDenied):
        services.update_user(curator, user, data)
    services.update_user(admin, user, data)

    assert user.role is Role.manager
    assert user.park_id == park.id
    with pytest.raises(ValidationError) as error:
        services.update_user(admin, user, dict(data, role="overlord"))
    assert "role" in error.value.messages


def test_parks_have_unique_valid_slugs(make_user):
    admin, member = make_user("admin"), make_user()
    park = services.create_park(admin, {"slug": "khorgos-gateway", "name": "Khorgos Gateway Park",
                                        "region": "Xinjiang/Khorgos"})

    assert park.region == "Xinjiang/Khorgos"
    with pytest.raises(ValidationError) as error:
        services.create_park(admin, {"slug": "khorgos-gateway", "name": "Again"})
    assert "slug" in error.value.messages
    with pytest.raises(ValidationError) as error:
        services.create_park(admin, {"slug": "Bad Slug!", "name": "Bad"})
    assert "slug" in error.value.messages
    with pytest.raises(PermissionDenied):
        services.create_park(member, {"slug": "members-park", "name": "Members' park"})


# -- API tokens -------------------------------------------------------------------------------------

def test_token_is_stored_hashed_and_shown_once(app, make_user):
    user = make_user()

    token, secret = services.create_token(user, "laptop")

    assert secret.startswith("zg_") and len(secret) > 30
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:10]
    stored = [value for row in db.session.execute(select(ApiToken.__table__)) for value in row]
    assert secret not in [str(v) for v in stored]
    if app.config["DATABASE_URL"].startswith("sqlite:///"):
        database_file = app.config["DATABASE_URL"].removeprefix("sqlite:///")
        db.session.close()
        with open(database_file, "rb") as raw:
            assert secret.encode() not in raw.read()


def test_token_resolves_to_its_user_and_records_use(make_user):
    user = make_user()
    token, secret = services.create_token(user, "laptop")

    assert services.user_for_token(secret) is user
    assert token.last_used_at is not None
    assert services.user_for_token(secret + "x") is None
    assert services.user_for_token("zg_not-a-token") is None


def test_revoked_token_no_longer_resolves(make_user):
    user = make_user()
    token, secret = services.create_token(user, "laptop")

    services.revoke_token(user, token.id)

    assert token.revoked_at is not None
    assert services.user_for_token(secret) is None


def test_users_revoke_only_their_own_tokens(make_user):
    owner, other = make_user(), make_user()
    token, secret = services.create_token(owner, "laptop")

    with pytest.raises(NotFound):
        services.revoke_token(other, token.id)
    assert services.user_for_token(secret) is owner


def test_token_of_an_inactive_user_does_not_resolve(make_user):
    admin, user = make_user("admin"), make_user()
    _, secret = services.create_token(user, "laptop")
    services.update_user(admin, user, {"email": user.email, "display_name": "Gone", "is_active": False})

    assert services.user_for_token(secret) is None


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_token_needs_a_name(make_user, name):
    with pytest.raises(ValidationError) as error:
        services.create_token(make_user(), name)

    assert "name" in error.value.messages
