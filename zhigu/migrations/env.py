"""Alembic environment for `zhigu db ...`: the app's engine and models' metadata, through Flask-Migrate.

Unlike Flask-Migrate's template it does not call logging.config.fileConfig: that would replace the app's
logging configuration (and disable its loggers) whenever a migration runs inside the app or the tests.
"""
import logging

from alembic import context
from flask import current_app

from zhigu.db import for_this_database

config = context.config
logger = logging.getLogger("alembic.env")
target_db = current_app.extensions["migrate"].db


def get_engine():
    return target_db.engine


def get_metadata():
    return target_db.metadata


def run_migrations_offline():
    """Emit SQL for the app's database URL without connecting (`zhigu db upgrade --sql`)."""
    context.configure(url=get_engine().url.render_as_string(hide_password=False), target_metadata=get_metadata(),
                      literal_binds=True, **current_app.extensions["migrate"].configure_args)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run the migrations on a connection of the app's engine."""

    def process_revision_directives(context, revision, directives):
        # `zhigu db migrate` with no model change writes no empty revision
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    with get_engine().connect() as connection:
        conf_args.setdefault("include_object", for_this_database(connection))
        context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
