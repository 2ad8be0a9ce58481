"""API writes made with the browser's cookie need proof they come from this site (zhigu.api.cross_site).

The app fixture turns the pages' CSRF tokens off (WTF_CSRF_ENABLED = False); the API check has its own switch,
API_CSRF_CHECK, which stays on, so these tests run against the suite's ordinary app.
"""
import re

import pytest

from helpers import PASSWORD, in_app
from zhigu.auth import services as auth_services
from zhigu.auth.models import User
from zhigu.extensions import db

SITE = "http://localhost"
EVIL = "https://evil.example"
#: Bodiless writes any logged-in member may make.
READ_ALL = "/api/v1/notifications/read"


@pytest.fixture
def member(make_user):
    return make_user()


@pytest.fixture
def browser(app, member):
    """A client logged in through the log-in form, as a browser is."""
    client = app.test_client()
    assert client.post("/login", data={"email": member.email, "password": PASSWORD}).status_code == 302
    return client


def _csrf_token(client) -> str:
    """The token the pages embed in their forms (what the site's scripts would send as X-CSRFToken)."""
    page = client.get("/profile").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _refused(response) -> bool:
    if response.status_code != 403:
        return False
    assert response.is_json and response.get_json()["error"]
    return True


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain",
                                          None])
def test_a_cookie_write_without_json_or_token_is_refused(browser, content_type):
    """What a cross-site HTML form (or a no-cors fetch) can send: no JSON content type, no custom header."""
    headers = {"Content-Type": content_type} if content_type else {}

    assert _refused(browser.post(READ_ALL, headers=headers))
    assert _refused(browser.post(READ_ALL, headers={**headers, "Origin": EVIL}))


@pytest.mark.parametrize("headers", [{"Origin": EVIL}, {"Origin": "null"}, {"Referer": f"{EVIL}/attack.html"},
                                     {"Origin": "http://localhost.evil.example"}, {"Origin": "https://localhost"},
                                     {"Origin": "http://localhost:8080"}])
def test_a_foreign_origin_is_refused_even_with_json(browser, headers):
    assert _refused(browser.post(READ_ALL, json={}, headers=headers))


def test_a_foreign_origin_is_refused_even_with_a_valid_token(browser):
    token = _csrf_token(browser)

    assert _refused(browser.post(READ_ALL, headers={"X-CSRFToken": token, "Origin": EVIL}))


@pytest.mark.parametrize("headers", [{}, {"Origin": SITE}, {"Origin": f"{SITE}:80"}, {"Referer": f"{SITE}/cases/1"}])
def test_json_from_this_site_or_without_origin_is_accepted(browser, headers):
    response = browser.post(READ_ALL, json={}, headers=headers)

    assert response.status_code == 200, response.get_data(as_text=True)


def test_a_valid_csrf_token_allows_a_bodiless_form_post(browser):
    token = _csrf_token(browser)

    response = browser.post(READ_ALL, headers={"X-CSRFToken": token, "Origin": SITE,
                                               "Content-Type": "application/x-www-form-urlencoded"})

    assert response.status_code == 200


def test_a_wrong_csrf_token_is_refused_even_with_json(browser):
    assert _refused(browser.post(READ_ALL, json={}, headers={"X-CSRFToken": "forged"}))


def test_every_unsafe_method_is_checked(browser, app, member, make_case, make_user):
    case = make_case(make_user("curator"))
    subscribe = browser.post("/api/v1/subscriptions", json={"kind": "case", "target": str(case.id)})
    assert subscribe.status_code == 201, subscribe.get_data(as_text=True)
    subscription_id = subscribe.get_json()["id"]
    path = f"/api/v1/subscriptions/{subscription_id}"

    assert _refused(browser.delete(path, headers={"Origin": EVIL}))
    assert _refused(browser.delete(path))  # no JSON, no token
    assert browser.delete(path, headers={"X-CSRFToken": _csrf_token(browser)}).status_code == 204


def test_a_foreign_publish_of_a_draft_is_refused(app, client, make_user, make_case):
    """The issue's example: a bodiless POST to publish, from a form on another site."""
    manager = make_user("manager", park=None)
    case = make_case(manager, status="draft")
    assert client.post("/login", data={"email": manager.email, "password": PASSWORD}).status_code == 302

    response = client.post(f"/api/v1/cases/{case.id}/publish", data={}, headers={"Origin": EVIL})

    assert _refused(response)
    assert client.get(f"/api/v1/cases/{case.id}").get_json()["status"] == "draft"


def test_token_authenticated_calls_are_unaffected(app, member):
    with in_app(app):
        _, secret = auth_services.create_token(db.session.get(User, member.id), "script")
    client = app.test_client()

    response = client.post(READ_ALL, headers={"Authorization": f"Bearer {secret}", "Origin": EVIL,
                                              "Content-Type": "application/x-www-form-urlencoded"})

    assert response.status_code == 200


def test_anonymous_writes_keep_their_own_answer(client):
    assert client.post(READ_ALL, headers={"Origin": EVIL}).status_code == 401


def test_safe_methods_are_unaffected(browser):
    assert browser.get("/api/v1/notifications", headers={"Origin": EVIL}).status_code == 200


def test_the_sites_find_similar_script_still_works(browser):
    """zhigu.js posts JSON with the page's own Origin to /api/v1/similar (credentials: same-origin)."""
    response = browser.post("/api/v1/similar", json={"title": "Smart street lighting", "description": "pilot"},
                            headers={"Origin": SITE, "Accept": "application/json"})

    assert response.status_code == 200, response.get_data(as_text=True)


def test_the_check_can_be_switched_off(app, browser):
    app.config["API_CSRF_CHECK"] = False

    assert browser.post(READ_ALL, headers={"Origin": EVIL}).status_code == 200
