"""Helpers of the fault and backup tests."""
import os
from pathlib import Path

from helpers import ROOT


def env_for(app, **extra) -> dict:
    """Environment of a separate `zhigu` process on the same database and index directory."""
    env = dict(os.environ, ZHIGU_DATABASE_URL=app.config["DATABASE_URL"], ZHIGU_INDEX_DIR=app.config["INDEX_DIR"],
               ZHIGU_SECRET_KEY="test", ZHIGU_INSTANCE_PATH=str(Path(app.config["INDEX_DIR"]).parent / "inst"),
               ZHIGU_LOG_FORMAT="none",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env.update(extra)
    return env


def dump_tables(exclude=()) -> dict[str, list[tuple]]:
    """Every row of every table of the models, ordered by primary key: compare two to see any change."""
    from sqlalchemy import select

    from zhigu.extensions import db

    dump = {}
    for table in db.metadata.sorted_tables:
        if table.name in exclude:
            continue
        order = list(table.primary_key.columns) or list(table.columns)
        dump[table.name] = [tuple(row) for row in db.session.execute(select(table).order_by(*order))]
    return dump
