"""Rate limits on log-in, sign-up, password change and token creation (Flask-Limiter)."""
import uuid

import pytest
import redis

from helpers import PASSWORD, in_app
from zhigu.auth.models import ApiToken
from zhigu.extensions import db
from sqlalchemy import func, select

from conftest import build_app  # tests/security/conftest.py

LOCKED = "Too many attempts. For your security this form is locked"


def _wrong(client, email, **kwargs):
    return client.post("/login", data={"email": email, "password": "not-the-password"}, **kwargs)


def test_login_locks_out_after_the_limit_with_a_message(limited_app, make_user):
    user = make_user()
    client = limited_app.test_client()
    for _ in range(3):  # RATELIMIT_LOGIN = "3 per 15 minutes"
        assert _wrong(client, user.email).status_code == 422

    response = _wrong(client, user.email)

    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert LOCKED in page and "try again in 15 min." in page
    assert 0 < int(response.headers["Retry-After"]) <= 900
    # the right password is refused too while the lock lasts
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 429


def test_lockout_message_is_translated(limited_app, make_user):
    user = make_user()
    client = limited_app.test_client()
    client.post("/language", data={"language": "zh", "return_to": "/"})
    for _ in range(3):
        _wrong(client, user.email)

    response = _wrong(client, user.email)

    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "尝试次数过多" in page and "15 分钟" in page
    assert LOCKED not in page


def test_json_clients_get_a_json_429_with_retry_after(limited_app, make_user):
    user = make_user()
    client = limited_app.test_client()
    for _ in range(3):
        _wrong(client, user.email)

    response = _wrong(client, user.email, headers={"Accept": "application/json"})

    assert response.status_code == 429
    assert response.is_json
    assert response.get_json()["error"].startswith(LOCKED)
    assert int(response.headers["Retry-After"]) > 0


def test_successful_logins_do_not_count(limited_app, make_user):
    user = make_user()
    client = limited_app.test_client()
    for _ in range(6):
        assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
        client.post("/logout")


def test_another_account_from_the_same_address_has_its_own_count_until_the_address_limit(limited_app, make_user):
    victim, other = make_user(), make_user()
    client = limited_app.test_client()
    for _ in range(3):
        _wrong(client, victim.email)
    assert _wrong(client, victim.email).status_code == 429

    # RATELIMIT_LOGIN_ADDRESS = "5 per hour": the address as a whole is stopped after 5 failures
    assert _wrong(client, other.email).status_code == 422
    assert _wrong(client, other.email).status_code == 422
    assert _wrong(client, other.email).status_code == 429


def test_a_lock_from_one_address_does_not_lock_the_account_elsewhere(limited_app, make_user):
    user = make_user()
    attacker = limited_app.test_client()
    for _ in range(4):
        _wrong(attacker, user.email, environ_base={"REMOTE_ADDR": "203.0.113.9"})

    owner = limited_app.test_client()
    response = owner.post("/login", data={"email": user.email, "password": PASSWORD},
                          environ_base={"REMOTE_ADDR": "198.51.100.7"})

    assert response.status_code == 302


def test_sign_up_is_limited(limited_app):
    client = limited_app.test_client()
    statuses = [client.post("/signup", data={"email": f"new{n}@example.org", "display_name": "New",
                                             "password": PASSWORD}).status_code for n in range(3)]

    assert statuses == [302, 302, 429]


def test_token_creation_is_limited_per_user(limited_app, make_user):
    user = make_user()
    client = limited_app.test_client()
    client.post("/login", data={"email": user.email, "password": PASSWORD})

    statuses = [client.post("/profile/tokens", data={"name": f"t{n}"}).status_code for n in range(3)]

    assert statuses == [200, 200, 429]
    with in_app(limited_app):
        assert db.session.scalar(select(func.count(ApiToken.id))) == 2


def test_wrong_current_passwords_on_the_profile_page_are_limited(limited_app, make_user):
    user = make_user()
    client = limited_app.test_client()
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    form = {"current_password": "guess-guess", "new_password": "river-stone-lantern"}

    statuses = [client.post("/profile", data=form).status_code for _ in range(4)]

    assert statuses == [422, 422, 422, 429]


def test_limits_can_be_switched_off(app, make_user):
    """The rest of the suite runs with RATELIMIT_ENABLED = False (tests/conftest.py)."""
    user = make_user()
    client = app.test_client()

    assert {_wrong(client, user.email).status_code for _ in range(15)} == {422}


def test_two_app_instances_share_the_count_in_redis(app, tmp_path, database_url, make_user, redis_url):
    """Two workers (here two apps) with the same Redis storage lock out together."""
    prefix = f"zhigu-test-{uuid.uuid4().hex}"  # a fresh key space, so runs never see each other's counts
    first, second = (build_app(tmp_path, database_url, name, RATELIMIT_STORAGE_URL=redis_url,
                               RATELIMIT_KEY_PREFIX=prefix) for name in ("first", "second"))
    user = make_user()
    try:
        assert _wrong(first.test_client(), user.email).status_code == 422
        assert _wrong(second.test_client(), user.email).status_code == 422
        assert _wrong(first.test_client(), user.email).status_code == 422
        assert _wrong(second.test_client(), user.email).status_code == 429
        assert _wrong(first.test_client(), user.email).status_code == 429
        keys = redis.Redis.from_url(redis_url).keys(f"*{prefix}*")
        assert keys, "the counters are in Redis"
    finally:
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)
        for instance in (first, second):
            with instance.app_context():
                for engine in db.engines.values():
                    engine.dispose()


def test_memory_storage_is_per_app(app, tmp_path, database_url, make_user):
    """Without Redis each process counts alone: the reason the README asks for Redis with several workers."""
    first, second = (build_app(tmp_path, database_url, name) for name in ("first", "second"))
    user = make_user()
    for _ in range(3):
        _wrong(first.test_client(), user.email)

    assert _wrong(first.test_client(), user.email).status_code == 429
    assert _wrong(second.test_client(), user.email).status_code == 422


def test_an_unreachable_storage_does_not_break_login(app, tmp_path, database_url, make_user):
    broken = build_app(tmp_path, database_url, "broken", RATELIMIT_STORAGE_URL="redis://127.0.0.1:1/0")
    user = make_user()

    response = broken.test_client().post("/login", data={"email": user.email, "password": PASSWORD})

    assert response.status_code == 302
