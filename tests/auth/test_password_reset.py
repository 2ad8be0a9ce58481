"""Password reset by e-mail: a signed link that expires and works once, the password policy, and every
session of the user ended; plus `zhigu auth set-password`."""
import re
from urllib.parse import urlsplit

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from helpers import PASSWORD, field_error_text, in_app, main_text, page, reload
from zhigu import create_app
from zhigu.auth import services
from zhigu.auth.models import UserSession
from zhigu.extensions import db

NEW_PASSWORD = "river-stone-lantern"


def _link(message) -> str:
    body = message.get_content()
    links = re.findall(r"https?://\S+", body)
    assert len(set(links)) == 1, body
    return links[0]


def _path(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def _sessions(app, user) -> int:
    with in_app(app):
        return db.session.scalar(select(func.count(UserSession.id)).where(UserSession.user_id == user.id))


def test_forgot_password_mails_a_link_that_sets_a_new_password_once(app, client, auth, make_user, smtp_server):
    user = make_user(email="wang.fang@example.org")
    elsewhere = app.test_client()  # a browser where the user is still logged in
    assert elsewhere.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    login_page = page(client.get("/login"))
    assert login_page.select_one('a[href="/forgot-password"]') is not None

    # a forged Host header must not end up in the link (it would send the token to whoever set it)
    asked = client.post("/forgot-password", data={"email": "Wang.Fang@Example.org"}, base_url="http://evil.example",
                        follow_redirects=True)

    assert asked.status_code == 200 and "a link to set a new password is on its way" in main_text(asked)
    [(recipients, message)] = smtp_server.wait_for(1)
    assert recipients == ["wang.fang@example.org"] and message["From"] == "zhigu@zhigu.test"
    assert "Reset your Zhigu password" in message["Subject"] and "重设" in message["Subject"]
    link = _link(message)
    assert link.startswith("https://zhigu.example/reset-password?token=") and "evil" not in message.get_content()

    form = client.get(_path(link))
    assert form.status_code == 200 and page(form).select_one('input[name="token"]') is not None
    weak = client.post("/reset-password", data={"token": _path(link).split("token=")[1],
                                                 "password": "wang.fang2024", "password_confirm": "wang.fang2024"})
    assert weak.status_code == 422
    assert field_error_text(page(weak), "password") == "The password must not contain your e-mail address."
    mismatch = client.post(_path(link), data={"password": NEW_PASSWORD, "password_confirm": "something else"})
    assert field_error_text(page(mismatch), "password_confirm") == "The passwords do not match."

    done = client.post(_path(link), data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})

    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    with in_app(app):
        assert services.authenticate(user.email, NEW_PASSWORD) is not None
        assert services.authenticate(user.email, PASSWORD) is None
    assert _sessions(app, user) == 0
    assert elsewhere.get("/profile").status_code == 302, "the other browser's session must have ended"
    used = client.get(_path(link))
    assert used.status_code == 400 and "expired or was already used" in main_text(used)
    again = client.post(_path(link), data={"password": "another-fresh-phrase", "password_confirm": "another-fresh-phrase"})
    assert again.status_code == 400
    with in_app(app):
        assert services.authenticate(user.email, NEW_PASSWORD) is not None


@pytest.mark.parametrize("who", ["unknown", "inactive"])
def test_no_mail_for_unknown_or_disabled_accounts(app, client, make_user, smtp_server, monkeypatch, who):
    user = make_user(email="gone@example.org")
    with in_app(app):
        reload(user).is_active = False
        db.session.commit()
    sent = []
    monkeypatch.setattr(services, "_send_in_background", sent.append)

    email = "nobody@example.org" if who == "unknown" else user.email
    response = client.post("/forgot-password", data={"email": email})

    assert response.status_code == 302 and sent == []


def test_a_malformed_address_is_a_field_error(client):
    response = client.post("/forgot-password", data={"email": "not an address"})

    assert response.status_code == 422 and field_error_text(page(response), "email")


def test_tokens_expire_and_cannot_be_forged(app, ctx, make_user):
    user = make_user()
    token = services.password_reset_token(user)
    assert services.user_for_reset_token(token) is user

    app.config["PASSWORD_RESET_MAX_AGE"] = -1  # every token is older than that
    assert services.user_for_reset_token(token) is None
    app.config["PASSWORD_RESET_MAX_AGE"] = 3600

    other_salt = URLSafeTimedSerializer(app.secret_key, salt="something-else").dumps(
        {"user": user.id, "password": services._password_fingerprint(user)})
    other_key = URLSafeTimedSerializer("another-key", salt=services.RESET_SALT).dumps(
        {"user": user.id, "password": services._password_fingerprint(user)})
    for bad in (other_salt, other_key, token[:-2] + "xx", "", "x" * 1000, None):
        assert services.user_for_reset_token(bad) is None
    user.is_active = False
    db.session.commit()
    assert services.user_for_reset_token(token) is None


def test_an_expired_link_says_so(app, client, make_user):
    user = make_user()
    with app.test_request_context():
        token = services.password_reset_token(reload(user))
    app.config["PASSWORD_RESET_MAX_AGE"] = -1  # every token is older than that

    response = client.get(f"/reset-password?token={token}")

    assert response.status_code == 400 and "expired or was already used" in main_text(response)
    assert client.get("/reset-password").status_code == 400


def test_the_pages_are_in_chinese(app, client, make_user):
    zh = {"Accept-Language": "zh-CN"}
    user = make_user()
    assert "忘记密码" in main_text(client.get("/login", headers=zh))
    assert "忘记密码" in main_text(client.get("/forgot-password", headers=zh))
    answered = client.post("/forgot-password", data={"email": "nobody@example.org"}, headers=zh,
                           follow_redirects=True)
    assert "如果有账号使用此地址" in main_text(answered)
    with app.test_request_context():
        token = services.password_reset_token(reload(user))
    form = main_text(client.get(f"/reset-password?token={token}", headers=zh))
    assert "设置新密码" in form and "password" not in form.lower()
    assert "链接已过期或已被使用" in main_text(client.get("/reset-password?token=x", headers=zh))


def test_reset_requests_are_rate_limited(app, tmp_path, database_url, make_user, monkeypatch):
    limited = create_app({"DATABASE_URL": database_url, "INDEX_DIR": str(tmp_path / "index-limited"),
                          "TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False,
                          "RATELIMIT_ENABLED": True, "RATELIMIT_PASSWORD_RESET": "2 per hour",
                          "RATELIMIT_PASSWORD_RESET_ADDRESS": "3 per hour"})
    monkeypatch.setattr(services, "_send_in_background", lambda message: None)
    user = make_user()
    client = limited.test_client()
    try:
        statuses = [client.post("/forgot-password", data={"email": user.email}).status_code for _ in range(3)]
        assert statuses == [302, 302, 429]
        # another address is still served, up to the per-address limit
        assert client.post("/forgot-password", data={"email": "other@example.org"}).status_code == 302
        assert client.post("/forgot-password", data={"email": "third@example.org"}).status_code == 429
    finally:
        with limited.app_context():
            for engine in db.engines.values():
                engine.dispose()


def test_a_failing_mail_server_changes_nothing_the_requester_sees(app, client, make_user, caplog):
    user = make_user()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_TIMEOUT=2)  # nothing listens there
    threads = []
    real = services._send_in_background
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "_send_in_background", lambda message: threads.append(real(message)))
        known = client.post("/forgot-password", data={"email": user.email})
        unknown = client.post("/forgot-password", data={"email": "nobody@example.org"})
    for thread in threads:
        thread.join(10)
    assert known.status_code == unknown.status_code == 302 and len(threads) == 1
    assert "could not be sent" in caplog.text


# -- zhigu auth set-password ---------------------------------------------------------------------------

def test_set_password_from_stdin_ends_the_sessions(app, runner, make_user):
    user = make_user(email="ops.lead@example.org")
    browser = app.test_client()
    browser.post("/login", data={"email": user.email, "password": PASSWORD})
    assert _sessions(app, user) == 1

    result = runner.invoke(args=["auth", "set-password", "OPS.LEAD@example.org", "--password-stdin"],
                           input=NEW_PASSWORD + "\n")

    assert result.exit_code == 0, result.output
    assert "ops.lead@example.org" in result.output
    with in_app(app):
        assert services.authenticate(user.email, NEW_PASSWORD) is not None
    assert _sessions(app, user) == 0 and browser.get("/profile").status_code == 302


@pytest.mark.parametrize("email, password, message", [
    ("ghost@example.org", NEW_PASSWORD, "No user with e-mail ghost@example.org."),
    ("ops.lead@example.org", "short", "Length must be between 8 and 200."),
    ("ops.lead@example.org", "qwerty123", "among the most common"),
    ("ops.lead@example.org", "ops.lead-2026", "must not contain your e-mail address"),
])
def test_set_password_refuses_unknown_users_and_weak_passwords(app, runner, make_user, email, password, message):
    user = make_user(email="ops.lead@example.org")

    result = runner.invoke(args=["auth", "set-password", email, "--password-stdin"], input=password + "\n")

    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    with in_app(app):
        assert services.authenticate(user.email, PASSWORD) is not None


def test_set_password_prompts_twice_without_stdin(app, runner, make_user):
    user = make_user()

    result = runner.invoke(args=["auth", "set-password", user.email], input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")

    assert result.exit_code == 0, result.output
    with in_app(app):
        assert services.authenticate(user.email, NEW_PASSWORD) is not None
