"""create_app: configuration order and the generated secret key."""
import os
import stat

import pytest

from zhigu import create_app
from zhigu.extensions import db


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("ZHIGU_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ZHIGU_INSTANCE_PATH", str(tmp_path / "instance"))
    return tmp_path / "instance"


def test_testing_config_is_applied(app, database_url):
    assert app.testing
    assert app.config["DATABASE_URL"] == database_url
    assert app.config["SQLALCHEMY_DATABASE_URI"] == app.config["DATABASE_URL"]


def test_defaults_live_in_the_instance_folder(clean_env):
    app = create_app()

    assert app.config["DATABASE_URL"] == f"sqlite:///{clean_env / 'zhigu.sqlite'}"
    assert app.config["INDEX_DIR"] == str(clean_env / "search-index")


def test_secret_key_is_generated_once_into_the_instance_folder(clean_env):
    first = create_app().config["SECRET_KEY"]
    second = create_app().config["SECRET_KEY"]

    key_file = clean_env / "secret_key"
    assert first == second == key_file.read_text().strip()
    assert len(first) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_environment_and_instance_config_override_defaults(clean_env, monkeypatch, tmp_path):
    clean_env.mkdir(parents=True, exist_ok=True)
    (clean_env / "config.py").write_text("PAGE_SIZE = 7\nSECRET_KEY = 'from-instance'\n")
    monkeypatch.setenv("ZHIGU_DATABASE_URL", f"sqlite:///{tmp_path}/env.sqlite")
    monkeypatch.setenv("ZHIGU_INDEX_DIR", str(tmp_path / "env-index"))
    monkeypatch.setenv("ZHIGU_SECRET_KEY", "from-env")

    app = create_app()

    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path}/env.sqlite"
    assert app.config["INDEX_DIR"] == str(tmp_path / "env-index")
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["PAGE_SIZE"] == 7
    assert not (clean_env / "secret_key").exists()
    with app.app_context():
        assert str(db.engine.url) == f"sqlite:///{tmp_path}/env.sqlite"
        db.engine.dispose()


@pytest.fixture
def postgres_url(request):
    server = request.getfixturevalue("postgres_server")
    return server.create_database("timezone")


def test_postgresql_sessions_are_in_utc_whatever_the_client_or_server_zone(postgres_url, tmp_path, monkeypatch):
    from datetime import timedelta

    from sqlalchemy import text

    from helpers import close_app
    from zhigu.db import now_utc
    from zhigu.notify.models import DigestSetting

    monkeypatch.setenv("PGTZ", "Asia/Shanghai")  # libpq's client zone, as a park's server in China might have
    app = create_app({"DATABASE_URL": postgres_url, "INDEX_DIR": str(tmp_path / "index"), "SECRET_KEY": "test",
                      "TESTING": True})
    try:
        with app.app_context():
            db.create_all()
            # and a server zone of its own for new sessions
            db.session.execute(text(f"ALTER DATABASE \"{db.engine.url.database}\" SET timezone TO 'America/Los_Angeles'"))
            db.session.commit()
            db.engine.dispose()
            from zhigu.auth import services as auth_services

            user = auth_services.create_user("tz@example.org", "correct-horse-battery", display_name="Tz")
            written = now_utc()
            db.session.add(DigestSetting(user_id=user.id, frequency="daily", last_sent_at=written))
            db.session.commit()
            db.session.expire_all()

            assert db.session.scalar(text("SHOW timezone")) == "UTC"
            stored = db.session.get(DigestSetting, user.id).last_sent_at
            assert abs(stored - written.replace(tzinfo=None)) < timedelta(seconds=1)  # naive UTC, not shifted
    finally:
        close_app(app)
