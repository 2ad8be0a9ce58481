"""No user enumeration: log-in answers alike for unknown addresses, wrong passwords and disabled accounts;
sign-up with a taken address names no account (see the README's "Security" section for what it cannot hide)."""
import re

import pytest

from helpers import PASSWORD, in_app
from zhigu.auth import services
from zhigu.auth.models import User
from zhigu.extensions import db


def _body(response) -> str:
    """The page without its per-request parts (CSRF tokens, nonces)."""
    page = response.get_data(as_text=True)
    return re.sub(r'(value|nonce)="[^"]*"', "", page)


def test_login_failures_are_indistinguishable(app, client, make_user):
    user = make_user(email="known@example.org")
    disabled = make_user(email="gone@example.org")
    with in_app(app):
        db.session.get(User, disabled.id).is_active = False
        db.session.commit()

    unknown = client.post("/login", data={"email": "nobody@example.org", "password": PASSWORD})
    wrong = client.post("/login", data={"email": user.email, "password": "not-the-password"})
    inactive = client.post("/login", data={"email": disabled.email, "password": PASSWORD})

    assert unknown.status_code == wrong.status_code == inactive.status_code == 422
    assert "Wrong e-mail address or password." in unknown.get_data(as_text=True)
    assert (_body(unknown).replace("nobody@example.org", "X") == _body(wrong).replace("known@example.org", "X")
            == _body(inactive).replace("gone@example.org", "X"))


def test_unknown_addresses_cost_a_password_check_too(ctx, make_user, monkeypatch):
    """A fast answer for unknown addresses would tell them apart by timing."""
    checked = []
    real = services.check_password_hash
    monkeypatch.setattr(services, "check_password_hash", lambda h, p: checked.append(h) or real(h, p))

    assert services.authenticate("nobody@example.org", "whatever-password") is None

    assert len(checked) == 1 and checked[0].startswith(("scrypt:", "pbkdf2:"))


@pytest.mark.parametrize("as_json", [False, True])
def test_sign_up_with_a_taken_address_names_no_account(client, make_user, as_json):
    make_user(email="taken@example.org")
    headers = {"Accept": "application/json"} if as_json else {}

    response = client.post("/signup", data={"email": "Taken@Example.org", "display_name": "Someone",
                                            "password": "river-stone-lantern"}, headers=headers)

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "No account could be created with these details." in page
    assert "already exists" not in page and "already registered" not in page
