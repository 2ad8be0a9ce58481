"""The sign-up, log-in and profile pages and the admin pages for users and parks."""
from helpers import PASSWORD, field, field_error_text, in_app, main_text, page, text
from zhigu.auth.models import ApiToken, User
from zhigu.extensions import db


def test_login_returns_to_the_page_asked_for(client, cast):
    response = client.get("/my/initiatives")
    login_page = page(client.get(response.headers["Location"]))
    next_input = login_page.select_one("input[name=next]")
    assert next_input.attrs["value"].startswith("/my/initiatives")

    response = client.post("/login", data={"email": cast.member_a.email, "password": PASSWORD,
                                           "next": next_input.attrs["value"]})
    assert response.headers["Location"].startswith("/my/initiatives")


def test_logout_is_a_post_form_with_a_csrf_token(auth, cast):
    tree = page(auth.login(cast.member_a).get("/"))
    form = tree.select_one('form[action="/logout"]')
    assert form.attrs["method"] == "post"
    assert form.select_one("input[name=csrf_token]").attrs["value"]


def test_signup_shows_errors_next_to_fields_and_keeps_what_was_typed(client):
    response = client.post("/signup", data={"email": "not-an-address", "display_name": "李雷",
                                            "password": "short", "password_confirm": "short"})

    assert response.status_code == 422
    tree = page(response)
    assert "email" in field_error_text(tree, "email").lower()
    assert "8" in field_error_text(tree, "password")
    assert field_error_text(tree, "display_name") == ""
    assert field(tree, "email").select_one("input").attrs["value"] == "not-an-address"
    assert field(tree, "display_name").select_one("input").attrs["value"] == "李雷"
    assert "value" not in field(tree, "password").select_one("input").attrs, "passwords are never echoed back"
    assert field(tree, "email").select_one("input").attrs["aria-invalid"] == "true"


def test_signup_creates_a_member_and_logs_in(client):
    response = client.post("/signup", data={"email": "new@example.org", "display_name": "New Person",
                                            "password": "long enough", "password_confirm": "long enough"},
                           follow_redirects=True)

    assert response.status_code == 200
    assert "New Person" in text(page(response).select_one("nav.site-nav"))


def test_wrong_password_is_shown_at_the_password_field(client, cast):
    response = client.post("/login", data={"email": cast.member_a.email, "password": "wrong password"})

    assert response.status_code == 422
    tree = page(response)
    assert "Wrong e-mail address or password." in field_error_text(tree, "password")
    assert field(tree, "email").select_one("input").attrs["value"] == cast.member_a.email


def test_profile_changes_the_password_and_shows_errors(auth, cast):
    client = auth.login(cast.member_a)
    response = client.post("/profile", data={"current_password": "not it", "new_password": "brand new pass",
                                             "new_password_confirm": "brand new pass"})
    assert response.status_code == 422
    assert "not correct" in field_error_text(page(response), "current_password")

    response = client.post("/profile", data={"current_password": PASSWORD, "new_password": "brand new pass",
                                             "new_password_confirm": "brand new pass"}, follow_redirects=True)
    assert "Your password was changed." in main_text(response)


def test_api_token_is_shown_once_and_can_be_revoked(app, auth, cast):
    client = auth.login(cast.member_a)

    response = client.post("/profile/tokens", data={"name": "park CRM import"})
    shown = page(response).select_one("#new-token-value").attrs["value"]
    assert shown.startswith("zg_")
    assert "park CRM import" in text(page(response).select_one("table"))

    again = client.get("/profile")
    assert shown not in again.get_data(as_text=True)
    with in_app(app):
        token_id = db.session.scalar(db.select(ApiToken.id))
    revoke = page(again).select_one(f'form[action="/profile/tokens/{token_id}/revoke"]')
    assert revoke is not None

    response = client.post(f"/profile/tokens/{token_id}/revoke", follow_redirects=True)
    row = page(response).select_one("table").select_one("tr.row--muted")
    assert "Revoked" in text(row)
    assert page(response).select_one(f'form[action="/profile/tokens/{token_id}/revoke"]') is None


def test_token_without_a_name_is_refused_at_the_name_field(auth, cast):
    response = auth.login(cast.member_a).post("/profile/tokens", data={"name": "  "})

    assert response.status_code == 422
    assert "name" in field_error_text(page(response), "token-name")


def test_admin_creates_parks_and_assigns_users(app, auth, cast):
    client = auth.login(cast.admin)

    response = client.post("/admin/parks", data={"name": "Yiwu Park", "slug": "Yiwu Park"})
    assert response.status_code == 422
    assert field_error_text(page(response), "slug")
    assert field(page(response), "name").select_one("input").attrs["value"] == "Yiwu Park"

    response = client.post("/admin/parks", data={"name": "Yiwu Park", "slug": "yiwu", "region": "Zhejiang/Yiwu"},
                           follow_redirects=True)
    assert "Yiwu Park" in text(page(response).select_one("table"))

    tree = page(client.get(f"/admin/users/{cast.member_a.id}"))
    assert "checked" in tree.select_one("input[name=role][value=member]").attrs
    assert "selected" in tree.select_one("select[name=park]").select_one("option[value=park-a]").attrs
    response = client.post(f"/admin/users/{cast.member_a.id}", data={
        "email": cast.member_a.email, "display_name": "Promoted", "role": "curator", "park": "yiwu",
        "is_active": "y"}, follow_redirects=True)
    assert response.status_code == 200
    with in_app(app):
        user = db.session.get(User, cast.member_a.id)
        assert user.role == "curator" and user.park.slug == "yiwu"

    response = client.post(f"/admin/users/{cast.member_a.id}", data={
        "email": "broken", "display_name": "Promoted", "role": "curator", "park": ""})
    assert response.status_code == 422
    tree = page(response)
    assert field_error_text(tree, "email")
    assert "checked" not in tree.select_one("input[name=is_active]").attrs, "the unticked box stays unticked"
