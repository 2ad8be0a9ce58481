"""`zhigu init-db` on an empty database and `zhigu db upgrade` give the same schema, on SQLite and PostgreSQL.

A model added without a migration (`zhigu db migrate -m "..."`) fails here, with the difference listed.
"""
import warnings
from contextlib import contextmanager

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import SAWarning

from zhigu import create_app
from zhigu.db import for_this_database
from zhigu.extensions import db


@contextmanager
def expression_indexes_unreflected():
    """SQLite's reflection (and so alembic's comparison) leaves out an index on an expression
    (ix_failure_case_trends) with a warning each; such an index is compared by name (`index_names`) there."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", SAWarning)
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index",
                                UserWarning)
        yield


def index_names(engine, table: str) -> list[str]:
    query = ("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :table AND sql IS NOT NULL"
             if engine.dialect.name == "sqlite" else "SELECT indexname FROM pg_indexes WHERE tablename = :table")
    with engine.connect() as connection:
        return sorted(connection.scalars(text(query), {"table": table}))


def schema(url: str) -> dict:
    """Tables with their columns, primary keys, foreign keys, unique constraints and indexes, comparable."""
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        tables = {}
        with expression_indexes_unreflected():
            for name in sorted(inspector.get_table_names()):
                if name == "alembic_version":
                    continue
                tables[name] = {
                    "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)],
                    "primary_key": inspector.get_pk_constraint(name)["constrained_columns"],
                    "foreign_keys": sorted((tuple(fk["constrained_columns"]), fk["referred_table"],
                                            tuple(fk["referred_columns"]), (fk.get("options") or {}).get("ondelete"))
                                           for fk in inspector.get_foreign_keys(name)),
                    "unique": sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)),
                    "indexes": sorted((tuple(str(c) for c in i["column_names"]), bool(i["unique"]))
                                      for i in inspector.get_indexes(name)),
                    "index_names": index_names(engine, name),
                }
        return tables
    finally:
        engine.dispose()


def make_app(url, tmp_path):
    return create_app({"DATABASE_URL": url, "INDEX_DIR": str(tmp_path / "index"), "SECRET_KEY": "test",
                       "TESTING": True})


def run(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def at_head(app) -> bool:
    """True if the database records the latest migration."""
    with app.app_context():
        head = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config()).get_current_head()
        with db.engine.connect() as connection:
            return connection.scalar(text("SELECT version_num FROM alembic_version")) == head


def dispose(app):
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def two_empty_databases(request, tmp_path):
    """Two empty databases of one kind: for init-db and for db upgrade."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/init.sqlite", f"sqlite:///{tmp_path}/upgrade.sqlite"
        return
    server = request.getfixturevalue("postgres_server")
    yield server.create_database("init"), server.create_database("upgrade")


def test_init_db_and_db_upgrade_give_the_same_schema(two_empty_databases, tmp_path):
    init_url, upgrade_url = two_empty_databases
    by_init, by_upgrade = make_app(init_url, tmp_path), make_app(upgrade_url, tmp_path)
    run(by_init, "init-db")
    run(by_upgrade, "db", "upgrade")
    try:
        with by_upgrade.app_context(), db.engine.connect() as connection, expression_indexes_unreflected():
            context = MigrationContext.configure(connection, opts={"include_object": for_this_database(connection)})
            missing = compare_metadata(context, db.metadata)
        assert missing == [], ("The models differ from the migrations; run `zhigu db migrate -m ...` and review "
                               f"the new file under zhigu/migrations/versions: {missing}")
        assert schema(init_url) == schema(upgrade_url)
    finally:
        dispose(by_init)
        dispose(by_upgrade)


def test_init_db_records_the_schema_version_so_db_upgrade_later_is_a_no_op(tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/z.sqlite", tmp_path)
    try:
        run(app, "init-db")
        before = schema(app.config["DATABASE_URL"])
        assert at_head(app)
        run(app, "db", "upgrade")
        run(app, "init-db")
        assert schema(app.config["DATABASE_URL"]) == before
    finally:
        dispose(app)


def test_init_db_adopts_a_database_created_before_migrations(tmp_path):
    """A database made by the old `init-db` (create_all, no alembic_version) is stamped, then upgradable."""
    app = make_app(f"sqlite:///{tmp_path}/old.sqlite", tmp_path)
    try:
        with app.app_context():
            db.create_all()
        run(app, "init-db")
        assert at_head(app)
    finally:
        dispose(app)


def test_the_nearest_cases_stored_before_audiences_are_kept_as_the_visitors(tmp_path):
    """Migration 0012 keys the stored lists by audience: the lists stored before were ranked for visitors."""
    app = make_app(f"sqlite:///{tmp_path}/z.sqlite", tmp_path)
    try:
        run(app, "db", "upgrade", "0011")
        with app.app_context(), db.engine.begin() as connection:  # SQLite leaves the foreign keys unchecked
            connection.execute(text("INSERT INTO neighbour_list (case_id, computed_at) VALUES (7, '2026-12-01')"))
            connection.execute(text("INSERT INTO case_neighbour (case_id, rank, neighbour_id, score, shared_terms, "
                                    "why) VALUES (7, 0, 8, 0.9, 3, '{}')"))
        run(app, "db", "upgrade")
        with app.app_context(), db.engine.connect() as connection:
            assert connection.execute(text("SELECT case_id, audience FROM neighbour_list")).all() == [(7, "public")]
            assert connection.execute(text("SELECT case_id, audience, rank, neighbour_id FROM case_neighbour")
                                      ).all() == [(7, "public", 0, 8)]
    finally:
        dispose(app)
