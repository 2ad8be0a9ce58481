"""The `zhigu` command: `flask --app zhigu`, with the project's own command groups."""
import os

import click
from flask.cli import with_appcontext
from sqlalchemy import inspect

from zhigu.extensions import db


def main():
    """Entry point of the `zhigu` console script."""
    os.environ.setdefault("FLASK_APP", "zhigu")
    from flask.cli import main as flask_main
    flask_main()


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create missing tables and seed the cause taxonomy; safe to run again."""
    from zhigu.archive.services import seed_causes

    new_tables = [t for t in db.metadata.sorted_tables if not inspect(db.engine).has_table(t.name)]
    db.create_all()
    added = seed_causes()
    click.echo(f"Database ready: {len(new_tables)} table(s) created, {added} cause(s) added.")


def register(app) -> None:
    from zhigu.archive.cli import archive_cli
    from zhigu.auth.cli import auth_cli, park_cli
    from zhigu.demo.cli import demo_command
    from zhigu.notify.cli import notify_cli
    from zhigu.search.cli import search_cli

    for command in (init_db_command, auth_cli, park_cli, archive_cli, search_cli, demo_command, notify_cli):
        app.cli.add_command(command)
