"""How API callers authenticate: bearer tokens (revocable), browser sessions, and no CSRF for JSON."""
from helpers import case_data, in_app
from zhigu.auth import services
from zhigu.auth.models import ApiToken, User
from zhigu.extensions import db


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_revoked_token_gets_401(app, client, cast, make_case):
    park_case = make_case(cast.author, visibility="park")
    with in_app(app):
        token, secret = services.create_token(db.session.get(User, cast.author.id), "laptop")
        token_id = token.id
    assert client.get(f"/api/v1/cases/{park_case.id}", headers=bearer(secret)).status_code == 200

    with in_app(app):
        services.revoke_token(db.session.get(User, cast.author.id), token_id)

    assert client.get(f"/api/v1/cases/{park_case.id}", headers=bearer(secret)).status_code == 401
    assert client.post("/api/v1/cases", headers=bearer(secret), json=case_data()).status_code == 401


def test_unknown_or_malformed_credentials_get_401(client, cast, make_case):
    park_case = make_case(cast.author, visibility="park")

    for header in ("Bearer zg_made-up", "Bearer ", "Basic dXNlcjpwYXNz", "zg_no_scheme"):
        response = client.get(f"/api/v1/cases/{park_case.id}", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.is_json


def test_token_use_is_recorded(app, api_as, cast):
    api_as(cast.member_a).get("/api/v1/cases")

    with in_app(app):
        token = db.session.scalar(db.select(ApiToken).where(ApiToken.user_id == cast.member_a.id))
        assert token.last_used_at is not None


def test_bearer_token_does_not_open_a_browser_session(app, api_as, cast):
    api = api_as(cast.curator_a)

    response = api.post("/api/v1/cases", json=case_data())

    assert response.status_code == 201
    assert "Set-Cookie" not in response.headers or "session=" not in response.headers["Set-Cookie"]
    assert api.client.post("/api/v1/cases", json=case_data()).status_code == 401


def test_json_api_is_exempt_from_csrf_but_forms_are_not(app, api_as, cast):
    app.config["WTF_CSRF_ENABLED"] = True

    assert api_as(cast.curator_a).post("/api/v1/cases", json=case_data()).status_code == 201
    assert app.test_client().post("/login", data={"email": cast.curator_a.email,
                                                  "password": "whatever"}).status_code == 400
