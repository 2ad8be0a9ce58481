"""Sessions end for real: log-out, a password change and a deactivation make copied cookies worthless.

A browser log-in is a server-side session (zhigu.auth.models.UserSession) whose secret both the session cookie and
the remember-me cookie carry, so the tests copy cookies into fresh clients, as someone who captured them would.
"""
from sqlalchemy import select

from helpers import PASSWORD, in_app
from zhigu.auth import services as auth_services
from zhigu.auth.models import ApiToken, User
from zhigu.extensions import db

NEW_PASSWORD = "violet-kettle-harbour"


def _login(app, user, remember=False):
    client = app.test_client()
    data = {"email": user.email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def _cookie(client, name):
    cookie = client.get_cookie(name)
    assert cookie is not None, f"no {name} cookie"
    return cookie.value


def _client_with(app, **cookies):
    """A new client holding only the given cookies: a copy someone captured."""
    client = app.test_client()
    for name, value in cookies.items():
        client.set_cookie(name, value)
    return client


def _logged_in(client) -> bool:
    """Whether the client may open its profile (a login-only page) instead of being sent to /login."""
    response = client.get("/profile")
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]
        return False
    assert response.status_code == 200
    return True


def _token(app, user) -> str:
    with in_app(app):
        return auth_services.create_token(db.session.get(User, user.id), "script")[1]


def _api_status(app, secret) -> int:
    return app.test_client().get("/api/v1/notifications", headers={"Authorization": f"Bearer {secret}"}).status_code


def test_logout_ends_the_session_a_copied_cookie_carries(app, make_user):
    user = make_user()
    client = _login(app, user)
    copy = _client_with(app, session=_cookie(client, "session"))
    assert _logged_in(copy)

    client.post("/logout")

    assert not _logged_in(client)
    assert not _logged_in(copy)


def test_logout_ends_the_remember_me_cookie_too(app, make_user):
    user = make_user()
    client = _login(app, user, remember=True)
    remembered = _cookie(client, "remember_token")
    assert _logged_in(_client_with(app, remember_token=remembered))

    client.post("/logout")

    assert not _logged_in(_client_with(app, remember_token=remembered))


def test_logout_leaves_the_users_other_browsers_logged_in(app, make_user):
    user = make_user()
    laptop, phone = _login(app, user), _login(app, user)

    laptop.post("/logout")

    assert not _logged_in(laptop)
    assert _logged_in(phone)


def test_password_change_ends_every_other_session_and_remember_cookie(app, make_user):
    user = make_user()
    other = _login(app, user, remember=True)
    stolen_session, stolen_remember = _cookie(other, "session"), _cookie(other, "remember_token")
    client = _login(app, user, remember=True)

    response = client.post("/profile", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                             "new_password_confirm": NEW_PASSWORD})

    assert response.status_code == 302
    assert not _logged_in(other)
    assert not _logged_in(_client_with(app, session=stolen_session))
    assert not _logged_in(_client_with(app, remember_token=stolen_remember))
    # the browser that changed it goes on, with a new remember-me cookie that works
    assert _logged_in(client)
    assert _cookie(client, "remember_token") != stolen_remember
    assert _logged_in(_client_with(app, remember_token=_cookie(client, "remember_token")))


def test_password_change_keeps_api_tokens_unless_asked_to_revoke_them(app, make_user):
    user = make_user()
    kept = _token(app, user)
    client = _login(app, user)
    page = client.get("/profile").get_data(as_text=True)
    assert 'name="revoke_tokens"' in page

    client.post("/profile", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                  "new_password_confirm": NEW_PASSWORD})
    assert _api_status(app, kept) == 200

    revoked = _token(app, user)
    response = client.post("/profile", data={"current_password": NEW_PASSWORD, "new_password": PASSWORD + "-2",
                                             "new_password_confirm": PASSWORD + "-2", "revoke_tokens": "y"},
                           follow_redirects=True)

    assert "2 API tokens were revoked." in response.get_data(as_text=True)
    assert _api_status(app, kept) == 401
    assert _api_status(app, revoked) == 401
    assert _logged_in(client)


def test_a_wrong_current_password_ends_nothing(app, make_user):
    user = make_user()
    other, client = _login(app, user), _login(app, user)

    response = client.post("/profile", data={"current_password": "not-the-password", "new_password": NEW_PASSWORD,
                                             "new_password_confirm": NEW_PASSWORD, "revoke_tokens": "y"})

    assert response.status_code == 422
    assert _logged_in(other) and _logged_in(client)


def test_deactivation_ends_sessions_and_revokes_tokens_for_good(app, make_user):
    user, admin = make_user(), make_user("admin")
    secret = _token(app, user)
    victim = _login(app, user, remember=True)
    stolen_remember = _cookie(victim, "remember_token")
    admin_client = _login(app, admin)
    form = {"email": user.email, "display_name": user.display_name, "role": "member", "park": ""}

    response = admin_client.post(f"/admin/users/{user.id}", data=form, follow_redirects=True)  # box unticked

    assert "logged out everywhere and their API tokens were revoked" in response.get_data(as_text=True)
    assert not _logged_in(victim)
    assert _api_status(app, secret) == 401
    # reactivating the account does not bring the old cookies or tokens back
    admin_client.post(f"/admin/users/{user.id}", data={**form, "is_active": "y"})
    assert not _logged_in(_client_with(app, remember_token=stolen_remember))
    assert _api_status(app, secret) == 401
    with in_app(app):
        assert all(t.revoked_at is not None for t in db.session.scalars(select(ApiToken).filter_by(user_id=user.id)))
    assert _logged_in(_login(app, user))


def test_an_admin_edit_that_keeps_the_account_active_ends_no_session(app, make_user):
    user, admin = make_user(), make_user("admin")
    secret = _token(app, user)
    client = _login(app, user)

    _login(app, admin).post(f"/admin/users/{user.id}", data={"email": user.email, "display_name": "Renamed",
                                                              "role": "curator", "park": "", "is_active": "y"})

    assert _logged_in(client)
    assert _api_status(app, secret) == 200


def test_a_session_cookie_naming_only_a_user_id_is_refused(app, make_user):
    """Cookies of the old kind (`_user_id` = "7") or with a made-up secret log nobody in."""
    user = make_user()
    for forged in (str(user.id), f"{user.id}:guessed-secret", f"{user.id}:", "x:y"):
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = forged
            session["_fresh"] = True
        assert not _logged_in(client), forged


def test_a_session_cannot_be_moved_to_another_user(app, make_user):
    user, admin = make_user(), make_user("admin")
    client = _login(app, user)
    with client.session_transaction() as session:
        _, key = session["_user_id"].split(":")
        session["_user_id"] = f"{admin.id}:{key}"

    assert not _logged_in(client)


def test_bearer_tokens_work_as_before(app, make_user):
    user = make_user()
    secret = _token(app, user)

    assert _api_status(app, secret) == 200
    assert _api_status(app, "zg_not-a-token") == 401
