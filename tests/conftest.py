"""Shared fixtures: a fresh app per test (tmp_path SQLite file and Whoosh index), clients and factories.

Data is built through the services with real commits, so the search hooks index it as in production.

Two ways to work with the database in a test:

- flaskr style: call the factories and the client freely; open `with app.app_context():` to call services
  or query. Objects the factories return outside an app context are detached, with their columns loaded
  (read `case.id`, `user.email`; re-load them with `db.session.get(...)` before passing them to a service).
- service tests that make no HTTP requests may use the `ctx` fixture, which keeps one app context pushed
  for the whole test, so factories return live objects. Don't combine `ctx` with the test client: requests
  would share that context, its session and `g` (Flask-Login caches the user there).
"""
import os
import shutil
import socket
import sqlite3
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from werkzeug.routing import Rule

import databases
import seeding
from helpers import CAST, PASSWORD, case_data, in_app
from zhigu import create_app
from zhigu.archive import services as archive_services
from zhigu.auth import services as auth_services
from zhigu.auth.models import Park, User
from zhigu.extensions import db
from zhigu.search import catchup, outbox


@event.listens_for(Engine, "connect")
def _sqlite_without_fsync(dbapi_connection, connection_record):
    """Tests need no durability: skipping fsync on each commit makes the suite several times faster."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous = OFF")
        cursor.close()


def _share_url_builders():
    """Compile each route's URL builder once per run instead of once per app.

    Werkzeug compiles two builder functions per route with Python's `compile` whenever an app is created (about
    0.1 s of the 0.15 s create_app takes); the suite creates one app per test from the same routes. A builder is
    a function of the rule's parsed parts and defaults that takes the rule as its first argument, so one
    compiled for an equal rule of an earlier app serves a later one.
    """
    compile_builder = Rule._compile_builder
    builders: dict = {}

    def shared_builder(rule, append_unknown=True):
        key = (rule.rule, rule.subdomain, rule.host, tuple(rule._trace), repr(sorted((rule.defaults or {}).items())),
               append_unknown)
        if key not in builders:
            builders[key] = compile_builder(rule, append_unknown)
        return builders[key]

    Rule._compile_builder = shared_builder


_share_url_builders()


class _CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates, shared by every app of the run.

    Each app has its own Jinja environment, so each test compiled every template it rendered again (a fifth
    of the suite's time; bench/README.md, "Test suite"). A template's code depends only on its source and on the environment's compile-time
    settings, which are part of the key; an app that changed them gets templates compiled for itself.
    """

    def __init__(self):
        self.code: dict = {}

    def get_bucket(self, environment, name, filename, source):
        settings = (tuple(sorted(environment.extensions)), environment.finalize,
                    getattr(environment.autoescape, "__func__", environment.autoescape),
                    getattr(environment, "newstyle_gettext", None), environment.optimized, environment.is_async,
                    environment.trim_blocks, environment.lstrip_blocks, environment.keep_trailing_newline,
                    environment.block_start_string, environment.variable_start_string,
                    environment.comment_start_string, environment.line_statement_prefix,
                    environment.line_comment_prefix)
        bucket = Bucket(environment, (self.get_cache_key(name, filename), settings),
                        self.get_source_checksum(source))
        self.load_bytecode(bucket)
        return bucket

    def load_bytecode(self, bucket):
        stored = self.code.get(bucket.key)
        if stored is not None and stored[0] == bucket.checksum:
            bucket.code = stored[1]

    def dump_bytecode(self, bucket):
        self.code[bucket.key] = (bucket.checksum, bucket.code)


def _share_compiled_templates():
    create_jinja_environment = Flask.create_jinja_environment
    compiled = _CompiledTemplates()

    def with_shared_bytecode(app):
        environment = create_jinja_environment(app)
        environment.bytecode_cache = compiled
        return environment

    Flask.create_jinja_environment = with_shared_bytecode


_share_compiled_templates()


#: Password hashes computed so far, shared by every test of the run (see _fast_password_hashing).
_HASHES: dict = {}
_CHECKS: dict = {}


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch):
    """Hash each test password once per run: scrypt takes ~0.2 s a call, and tests create many users.

    The algorithm stays the production one; only repeated work is saved (every user with the same password
    shares one salted hash, which is harmless in tests).
    """
    _hash_each_password_once(monkeypatch)


def _hash_each_password_once(monkeypatch) -> None:
    from werkzeug.security import check_password_hash, generate_password_hash

    def generate(password, *args, **kwargs):
        key = (password, args, tuple(sorted(kwargs.items())))
        if key not in _HASHES:
            _HASHES[key] = generate_password_hash(password, *args, **kwargs)
        return _HASHES[key]

    def check(pwhash, password):
        if (pwhash, password) not in _CHECKS:
            _CHECKS[pwhash, password] = check_password_hash(pwhash, password)
        return _CHECKS[pwhash, password]

    monkeypatch.setattr(auth_services, "generate_password_hash", generate)
    monkeypatch.setattr(auth_services, "check_password_hash", check)


def pytest_report_header(config):
    url = databases.suite_url()
    if url:
        return f"database: PostgreSQL, a fresh database per run on {databases.make_url(url).render_as_string()}"
    return ("database: SQLite, a file per test (make test-postgres, or ZHIGU_TEST_DATABASE_URL, runs the suite "
            "on PostgreSQL)")


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL, run only the tests that use the suite's database (`database_url`, which every app fixture
    asks for): the others give the same result on either database and have run on SQLite already."""
    if not databases.suite_url():
        return
    uses_database = {item: "database_url" in getattr(item, "fixturenames", ()) for item in items}
    if not all(uses_database.values()):
        config.hook.pytest_deselected(items=[item for item in items if not uses_database[item]])
        items[:] = [item for item in items if uses_database[item]]


def pytest_collection_finish(session):
    """Build the demo archive in the background from now on when the demo tests will read it (tests/seeding.py;
    tests/e2e/conftest.py starts it for the browser tests)."""
    demo_tests = Path(__file__).parent / "demo"
    if any(demo_tests in Path(str(item.fspath)).parents for item in session.items):
        seeding.start_seeding(seeding.seed_directory(session.config))


def pytest_sessionfinish(session):
    seeding.wait_for_seeding()


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server to create throwaway databases on; skips (fails in CI) when there is none."""
    server = databases.PostgresServer(databases.server_url())
    reason = server.unavailable_reason()
    if reason:
        server.close()
        if databases.postgres_required():
            pytest.fail(reason, pytrace=False)
        pytest.skip(f"{reason} (set ZHIGU_TEST_POSTGRES_URL, or run make test-postgres)")
    yield server
    server.close()


@pytest.fixture(scope="session")
def suite_database_url(request):
    """The run's own PostgreSQL database when the suite runs on PostgreSQL, else None."""
    if not databases.suite_url():
        return None
    return request.getfixturevalue("postgres_server").create_database()


@pytest.fixture
def database_url(suite_database_url, tmp_path):
    """The URL each test's app uses: the run's PostgreSQL database, or a new SQLite file."""
    return suite_database_url or f"sqlite:///{tmp_path}/zhigu.sqlite"


def _test_config(database_url: str, index_dir) -> dict:
    return {
        "DATABASE_URL": database_url,
        "INDEX_DIR": str(index_dir),
        "TESTING": True,
        "SECRET_KEY": "test",
        "WTF_CSRF_ENABLED": False,
        # Most tests let curators publish directly; tests/reviews turn review back on.
        "REVIEW_REQUIRED": False,
        # The suite logs in and signs up far more often than a person; tests/security turn limits back on.
        "RATELIMIT_ENABLED": False,
        # No warm-up thread per test app (tests/search/test_warmup.py runs it).
        "SEARCH_WARM_UP": False,
        # Nearest-case lists are computed when first read, not after every publish (a similar search each);
        # tests/search/test_neighbours.py turns the drain's share back on.
        "NEIGHBOURS_AT_DRAIN": 0,
        "NEIGHBOURS_PENDING_AT_DRAIN": False,
        # No case vectors after each drain (a model load and 0.13 s a case); tests/search/test_dense.py turns it on.
        "EMBED_AT_DRAIN": 0,
        # A search's CPU budget (0.5 s) with room for a test process's garbage collection, which runs in the
        # searching thread: after some hundred tests on a loaded machine, a search of 15 cases that takes 6 ms
        # was refused once. The tests of the budget set their own.
        "SEARCH_CPU_LIMIT": 5.0,
    }


def _set_up_database(app) -> None:
    """The tables and the seeded causes, on an empty database."""
    with app.app_context():
        db.create_all()
        if app.config["DATABASE_URL"].startswith("postgresql"):
            databases.empty_tables(db)
        archive_services.seed_causes()


#: SQLite files just copied from `new_app_files`, with their size and time of change then.
_UNTOUCHED_DATABASES: dict[str, tuple] = {}


def _file_state(path) -> tuple:
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns


@pytest.fixture(scope="session")
def new_app_files(tmp_path_factory):
    """What each test's app starts from as copies, made once per run: a SQLite file as `_set_up_database`
    leaves it (a copy is far quicker than creating the tables) and an empty index positioned on its empty
    outbox, as the first drain of a new installation leaves it (else each test's first drain rebuilds the
    index)."""
    root = tmp_path_factory.mktemp("new-app")
    files = SimpleNamespace(database=root / "zhigu.sqlite", index=root / "index")
    app = create_app(_test_config(f"sqlite:///{files.database}", files.index))
    _set_up_database(app)
    with app.app_context():
        outbox.rebuild(app.extensions["zhigu.search"])
        for engine in db.engines.values():
            engine.dispose()
    return files


@pytest.fixture
def app(request, tmp_path, database_url):
    new = request.getfixturevalue("new_app_files")
    shutil.copytree(new.index, tmp_path / "index")
    if database_url.startswith("sqlite"):
        path = make_url(database_url).database
        shutil.copyfile(new.database, path)
        _UNTOUCHED_DATABASES[path] = _file_state(path)
    app = create_app(_test_config(database_url, tmp_path / "index"))
    if not database_url.startswith("sqlite"):
        _set_up_database(app)
    yield app
    # A catch-up thread left running would apply the next test's outbox rows (and drop its stored nearest-case
    # lists) on PostgreSQL, where the tests share one database.
    app.extensions[catchup.EXTENSION].stop(timeout=10)
    index = app.extensions["zhigu.search"]
    searcher = getattr(index._local, "searcher", None)
    if searcher is not None:
        searcher.close()
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    """Keep an app context pushed for the whole test (service tests without HTTP requests only)."""
    with app.app_context() as context:
        yield context


def _loaded(obj, *relations):
    """Refresh `obj` and touch the relations tests read, so it stays usable once detached."""
    db.session.refresh(obj)
    for name in relations:
        getattr(obj, name)
    return obj


class ParkFactory:
    """`make_park(slug, name, region)`: a park made through the services, numbered in order ("park-3")."""

    def __init__(self, app):
        self.app = app
        self.made = 0  #: parks asked for so far; the next one is numbered made + 1

    def __call__(self, slug: str | None = None, name: str | None = None, region: str | None = "Zhejiang/Hangzhou"):
        self.made += 1
        n = self.made
        with in_app(self.app):
            park = auth_services.create_park(None, {"slug": slug or f"park-{n}", "name": name or f"Test Park {n}",
                                                    "region": region})
            return _loaded(park)


class UserFactory:
    """`make_user(role, park, ...)`: a user made through the services, numbered in order ("member3@...")."""

    def __init__(self, app):
        self.app = app
        self.made = 0  #: users asked for so far; the next one is numbered made + 1

    def __call__(self, role: str = "member", park: Park | str | None = None, email: str | None = None,
                 display_name: str | None = None, password: str = PASSWORD):
        self.made += 1
        n = self.made
        slug = park.slug if isinstance(park, Park) else park
        with in_app(self.app):
            user = auth_services.create_user(email or f"{role}{n}@example.org", password, role=role,
                                             park_slug=slug, display_name=display_name or f"{role.title()} {n}")
            return _loaded(user, "park")


@pytest.fixture
def make_park(app):
    return ParkFactory(app)


@pytest.fixture
def make_user(app):
    return UserFactory(app)


@pytest.fixture
def make_case(app):
    """Create a case through the services: published unless status="draft" or "retracted"."""

    def make_case(author: User, status: str = "published", **overrides):
        data = case_data(**overrides)
        with in_app(app):
            actor = db.session.get(User, author.id)
            case = archive_services.create_case(actor, data, publish=status != "draft")
            if status == "retracted":
                archive_services.retract_case(actor, case, {"reason": "Retracted by the test factory."})
            return _loaded(case, "case_causes", "park", "author")

    return make_case


class ApiClient:
    """A test client that sends `Authorization: Bearer <token>` (or nothing, for a visitor)."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.token = token

    def open(self, path: str, method: str = "GET", headers: dict | None = None, **kwargs):
        headers = dict(headers or {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self.open(path, "GET", **kwargs)

    def post(self, path, **kwargs):
        return self.open(path, "POST", **kwargs)

    def patch(self, path, **kwargs):
        return self.open(path, "PATCH", **kwargs)

    def delete(self, path, **kwargs):
        return self.open(path, "DELETE", **kwargs)


@pytest.fixture
def api_as(app):
    """`api_as(user)` → a client calling the API with a fresh token of `user`; `api_as(None)` → a visitor."""
    tokens: dict[int, str] = {}

    def api_as(user: User | None) -> ApiClient:
        if user is None:
            return ApiClient(app.test_client(), None)
        if user.id not in tokens:
            with in_app(app):
                _, tokens[user.id] = auth_services.create_token(db.session.get(User, user.id), "tests")
        return ApiClient(app.test_client(), tokens[user.id])

    return api_as


class AuthActions:
    """Log in and out through the HTML form (flaskr's `auth` fixture): the one way tests log a browser in."""

    def __init__(self, client):
        self.client = client

    def login(self, user):
        """Log the client in as `user` (None: a visitor), ending whoever's session it had; return the client."""
        self.logout()
        if user is not None:
            response = self.client.post("/login", data={"email": user.email, "password": PASSWORD})
            assert response.status_code == 302, "the login form refused the test user"
        return self.client

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def index(app):
    """The app's SearchIndex."""
    return app.extensions["zhigu.search"]


def _make_cast(make_park: ParkFactory, make_user: UserFactory) -> SimpleNamespace:
    parks = {"park_a": make_park("park-a", "Park A"), "park_b": make_park("park-b", "Park B")}
    users = {name: make_user(role, parks.get(park), display_name=display_name)
             for name, (role, park, display_name) in CAST.items()}
    return SimpleNamespace(**parks, **users)


@pytest.fixture(scope="session")
def cast_sqlite_database(new_app_files, tmp_path_factory):
    """A copy of `new_app_files.database` with the cast made in it: the file, the cast's rows by name (class, id)
    and how many parks and users the factories made."""
    root = tmp_path_factory.mktemp("cast-database")
    path = root / "zhigu.sqlite"
    shutil.copyfile(new_app_files.database, path)
    app = create_app(_test_config(f"sqlite:///{path}", root / "index"))
    make_park, make_user = ParkFactory(app), UserFactory(app)
    with pytest.MonkeyPatch.context() as patch:
        _hash_each_password_once(patch)
        cast = _make_cast(make_park, make_user)
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()
    rows = {name: (type(row), row.id) for name, row in vars(cast).items()}
    return path, rows, make_park.made, make_user.made


def _untouched(app, make_park: ParkFactory, make_user: UserFactory) -> bool:
    """True if the app's database is still the copy of `new_app_files.database` the `app` fixture made."""
    url = make_url(app.config["DATABASE_URL"])
    if url.get_backend_name() != "sqlite" or make_park.made or make_user.made:
        return False
    if _UNTOUCHED_DATABASES.get(url.database) != _file_state(url.database):
        return False
    with in_app(app):
        session = db.session()
        return not session.identity_map and not session.in_transaction()


@pytest.fixture
def cast(request, app, make_park, make_user):
    """Two parks and the users of the CAST table (one of each role per park); `author` is a curator of park A.

    Half the suite uses it, and making ten rows through the services costs more than the rest of most tests'
    setup. So on SQLite a database nothing was written to yet is overwritten with a copy of one they were made
    in once per run (`cast_sqlite_database`): the same rows and ids; otherwise they are made here.
    """
    if not _untouched(app, make_park, make_user):
        return _make_cast(make_park, make_user)
    source, rows, make_park.made, make_user.made = request.getfixturevalue("cast_sqlite_database")
    with in_app(app):
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    shutil.copyfile(source, make_url(app.config["DATABASE_URL"]).database)
    with in_app(app):
        return SimpleNamespace(**{name: _loaded(db.session.get(model, row_id), *(("park",) if model is User else ()))
                                  for name, (model, row_id) in rows.items()})


@pytest.fixture
def public_case(make_case, cast):
    """A published public case by `cast.author`, with two causes, a sector and a market."""
    return make_case(cast.author, title="Solar kiosks for villages in Kazakhstan",
                     summary="Solar kiosks were sold to villages, but nobody paid for the electricity.",
                     sector="energy", target_markets=["KZ"],
                     causes=["market.no_demand", "money.cash_out"], primary_cause="money.cash_out")


class Inbox:
    """Messages a real local SMTP server (aiosmtpd) received."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes
        from email.policy import default

        message = message_from_bytes(envelope.original_content or envelope.content, policy=default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10.0) -> list:
        """The messages once `count` have arrived (the app may send from a background thread)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.messages) >= count, f"expected {count} message(s), got {len(self.messages)}"
        return self.messages


@pytest.fixture
def smtp_server(app):
    """Start an SMTP server on a free local port and point the app's MAIL_* settings and BASE_URL at it
    (digests and password-reset mails)."""
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_FROM="zhigu@zhigu.test",
                      BASE_URL="https://zhigu.example")
    yield inbox
    controller.stop()
