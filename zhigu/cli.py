"""The `zhigu` command: `flask --app zhigu`, with the project's own command groups."""
import os

import click
from flask.cli import with_appcontext
from sqlalchemy import inspect

from zhigu.archive.cli import archive_cli
from zhigu.archive.services import seed_causes
from zhigu.auth.cli import auth_cli, park_cli
from zhigu.backup.cli import backup_cli
from zhigu.demo.cli import demo_command
from zhigu.extensions import db
from zhigu.notify.cli import notify_cli
from zhigu.search.cli import search_cli
from zhigu.search.worker import worker_command


def main():
    """Entry point of the `zhigu` console script."""
    os.environ.setdefault("FLASK_APP", "zhigu")
    from flask.cli import main as flask_main
    flask_main()


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create the schema, or upgrade it, and seed the cause taxonomy; safe to run again.

    A database without migrations history (empty, or made before migrations existed) gets the models' tables
    and is stamped with the latest migration; one with history is brought up to date with `db upgrade`.
    Either way its schema is the one `zhigu db upgrade` gives (tests/migrations).
    """
    from flask_migrate import stamp, upgrade

    before = set(inspect(db.engine).get_table_names())
    if "alembic_version" in before:
        upgrade()
    else:
        db.create_all()
        stamp()
    created = set(inspect(db.engine).get_table_names()) - before - {"alembic_version"}
    added = seed_causes()
    click.echo(f"Database ready: {len(created)} table(s) created, {added} cause(s) added.")


def register(app) -> None:
    for command in (init_db_command, auth_cli, park_cli, archive_cli, search_cli, demo_command, notify_cli,
                    worker_command, backup_cli):
        app.cli.add_command(command)
