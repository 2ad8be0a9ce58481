"""Fixtures of the security tests: an app with its rate limits switched on."""
import pytest
import redis

from zhigu import create_app
from zhigu.archive import services as archive_services
from zhigu.extensions import db

import databases


def build_app(tmp_path, database_url, name="app", **overrides):
    """An app like conftest's `app`, with rate limits on (low ones, so tests reach them fast)."""
    config = {
        "DATABASE_URL": database_url,
        "INDEX_DIR": str(tmp_path / f"index-{name}"),
        "TESTING": True,
        "SECRET_KEY": "test",
        "WTF_CSRF_ENABLED": False,
        "REVIEW_REQUIRED": False,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_LOGIN": "3 per 15 minutes",
        "RATELIMIT_LOGIN_ADDRESS": "5 per hour",
        "RATELIMIT_SIGNUP": "2 per hour",
        "RATELIMIT_PASSWORD_CHANGE": "3 per 15 minutes",
        "RATELIMIT_TOKEN": "2 per hour",
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture
def limited_app(app, tmp_path, database_url):
    """A second app on the same database as `app` (which created the tables), with rate limits on."""
    limited = build_app(tmp_path, database_url, "limited")
    yield limited
    with limited.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def redis_url():
    """The local Redis server, for the tests of counts shared between workers; skips when none answers."""
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as err:
        pytest.skip(f"Redis does not answer on {url} ({err}); the shared-counter test needs it")
    return url
