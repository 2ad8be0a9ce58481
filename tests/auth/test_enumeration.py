"""No user enumeration: log-in answers alike for unknown addresses, wrong passwords and disabled accounts;
sign-up with a taken address names no account (see the README's "Security" section for what it cannot hide);
a password reset request answers alike for any address."""
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


def test_password_reset_requests_answer_alike_whatever_the_address(app, client, make_user, monkeypatch):
    """Known, unknown and disabled addresses get the same redirect and page; only a known, active one is mailed."""
    from zhigu.auth import services as auth_services

    sent = []
    monkeypatch.setattr(auth_services, "_send_in_background", lambda message: sent.append(message["To"]))
    user = make_user(email="known@example.org")
    disabled = make_user(email="gone@example.org")
    with in_app(app):
        db.session.get(User, disabled.id).is_active = False
        db.session.commit()

    answers, pages = [], []
    for email in ("nobody@example.org", user.email, disabled.email):
        answers.append(client.post("/forgot-password", data={"email": email}))
        pages.append(_body(client.get(answers[-1].headers["Location"])))

    assert {answer.status_code for answer in answers} == {302}
    assert len({answer.headers["Location"] for answer in answers}) == 1
    assert pages[0] == pages[1] == pages[2] and "If an account uses this address" in pages[0]
    assert sent == ["known@example.org"]
