"""Zhigu: an archive of innovation failures. `create_app` is the application factory.

The factory imports the modules it assembles inside its functions, on purpose: this module runs before any
`zhigu.*` module is imported, so importing them here would make importing one model load the whole app.
"""
import importlib
import os
import secrets
from pathlib import Path

from flask import Flask
from sqlalchemy import event

from zhigu.db import SQLiteOptimizer, utc_session


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: config, extensions, blueprints, commands, error handlers."""
    app = Flask(__name__, instance_relative_config=True, template_folder="../templates",
                instance_path=os.environ.get("ZHIGU_INSTANCE_PATH") or None)
    load_config(app, test_config)
    register_extensions(app)
    from zhigu import limits
    limits.register_converters(app)  # before the blueprints add their routes
    register_blueprints(app)
    limits.init_app(app)  # after the blueprints: it wraps their log-in, sign-up and token views
    register_commands(app)
    from zhigu import unavailable
    from zhigu.errors import register_error_handlers
    register_error_handlers(app)
    unavailable.register(app)  # the database failed mid-request: 503, nothing half-written
    from zhigu import validation
    validation.init_app(app)  # query strings and flushed rows hold only storable text
    register_template_helpers(app)
    from zhigu import ops
    ops.init_app(app)
    from zhigu.search import semantic
    semantic.init_app(app)
    return app


def load_config(app: Flask, test_config: dict | None) -> None:
    """Defaults, then instance/config.py, then ZHIGU_* variables, then the test's overrides."""
    app.config.from_object("zhigu.config")
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("ZHIGU")
    if test_config:
        app.config.update(test_config)
    app.config.setdefault("DATABASE_URL", f"sqlite:///{Path(app.instance_path) / 'zhigu.sqlite'}")
    app.config.setdefault("INDEX_DIR", str(Path(app.instance_path) / "search-index"))
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(Path(app.instance_path))


def instance_secret_key(instance: Path) -> str:
    """Read the key generated on first start, creating it once; never a hard-coded default."""
    key_file = instance / "secret_key"
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def register_extensions(app: Flask) -> None:
    from zhigu import search
    from zhigu.extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            event.listen(db.engine, "connect", utc_session)
        elif db.engine.dialect.name == "sqlite" and app.config["SQLITE_OPTIMIZE_INTERVAL"]:
            event.listen(db.engine, "checkin", SQLiteOptimizer(float(app.config["SQLITE_OPTIMIZE_INTERVAL"])))
    # migrations ship inside the package, so an installed Zhigu can run `zhigu db upgrade`
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True,
                     compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    from zhigu import i18n
    i18n.init_app(app)
    search.init_app(app)


#: Modules that attach routes or CLI commands to a blueprint, register permission rules with auth's
#: `can`/`require` or listen to session events, when imported. No package imports them, so importing a model or
#: a service never pulls in views (and through them other domains' services); the factory imports them here.
ROUTE_MODULES = (
    "zhigu.site.views",
    "zhigu.auth.views",
    "zhigu.archive.permissions", "zhigu.archive.views", "zhigu.archive.api",
    "zhigu.search.views",
    "zhigu.initiatives.permissions", "zhigu.initiatives.views", "zhigu.initiatives.api",
    "zhigu.trends.permissions", "zhigu.trends.views", "zhigu.trends.api",
    "zhigu.attempts.views", "zhigu.attempts.api",
    "zhigu.reviews.permissions", "zhigu.reviews.views", "zhigu.reviews.api",
    "zhigu.comments.permissions", "zhigu.comments.views", "zhigu.comments.api",
    "zhigu.links.permissions", "zhigu.links.views", "zhigu.links.api",
    "zhigu.notify.permissions", "zhigu.notify.hooks", "zhigu.notify.views", "zhigu.notify.api",
    "zhigu.guilds.permissions", "zhigu.guilds.views", "zhigu.guilds.api", "zhigu.guilds.cli",
    "zhigu.audit.api",  # GET /api/v1/cases/<id>/audit
    "zhigu.api.openapi",  # GET /api/v1/openapi.json, generated from the routes above
    "zhigu.api.search",  # GET /api/v1/cases: zhigu.search's own package is not touched
    "zhigu.api.credentials",  # 401 for credentials that name nobody
    "zhigu.api.cross_site",  # CSRF checks of cookie-authenticated writes
)


def register_blueprints(app: Flask) -> None:
    """Import every route module, then register the blueprints they filled (a blueprint is frozen once registered)."""
    from zhigu import api, archive, auth, comments, initiatives, links, notify, reviews, search, site
    from zhigu import attempts, guilds, trends

    for module in ROUTE_MODULES:
        importlib.import_module(module)
    app.register_blueprint(site.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(archive.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(initiatives.bp)
    app.register_blueprint(trends.bp)
    app.register_blueprint(attempts.bp)
    app.register_blueprint(reviews.bp)
    app.register_blueprint(comments.bp)
    app.register_blueprint(links.bp)
    app.register_blueprint(notify.bp)
    app.register_blueprint(guilds.bp)
    app.register_blueprint(api.bp)


def register_commands(app: Flask) -> None:
    from zhigu.cli import register
    register(app)


def register_template_helpers(app: Flask) -> None:
    from zhigu import templating
    templating.init_app(app)
