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
