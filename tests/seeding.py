"""The demo archive, built once per test run in a background process, for the tests that read it to copy.

`zhigu init-db` + `zhigu demo` take about 10 s of CPU. The demo tests (in every test process that runs some of
them) and the browser tests' seeding each built it. Now one process builds it, started at the end of collection so
that it overlaps the other tests, in a directory every test process of the run sees (pytest-xdist workers
included). It leaves:

- `demo/`: the database and index right after the first `zhigu demo`, and that run's output (DEMO_OUTPUT);
- the database and index of `demo/` plus the users the browser tests log in as (USERS), in the directory itself;
- a file named "done", or "failed" with the log in seed.log.
"""
import fcntl
import os
import shutil
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

PASSWORD = "e2e-password-123"
#: (e-mail, display name, role, park) of the users the browser tests log in as; parks come from `zhigu demo`.
USERS = {
    "curator": ("e2e-curator@hangzhou.example", "E2E Curator", "curator", "hangzhou-future-park"),
    "manager": ("e2e-manager@hangzhou.example", "E2E Manager", "manager", "hangzhou-future-park"),
    "member": ("e2e-member@hangzhou.example", "E2E Member", "member", "hangzhou-future-park"),
    "admin": ("e2e-admin@zhigu.example", "E2E Admin", "admin", None),
}
DATABASE, INDEX = "zhigu.sqlite", "index"
DEMO, DEMO_OUTPUT = "demo", "demo-output.txt"

SEED = """
import shutil, sys
from zhigu import create_app
from zhigu.auth import services as auth
from zhigu.extensions import db
app = create_app()
runner = app.test_cli_runner()
for args in (["init-db"], ["demo"]):
    result = runner.invoke(args=args)
    if result.exit_code:
        sys.exit(f"zhigu {' '.join(args)} failed: {result.output}")
with app.app_context():
    db.engine.dispose()
shutil.copytree(DATABASE_AND_INDEX[1], f"{DEMO}/{DATABASE_AND_INDEX[1]}")
shutil.copyfile(DATABASE_AND_INDEX[0], f"{DEMO}/{DATABASE_AND_INDEX[0]}")
with open(f"{DEMO}/{DEMO_OUTPUT}", "w") as output:
    output.write(result.output)
with app.app_context():
    for email, name, role, park in USERS:
        auth.create_user(email, PASSWORD, role=role, park_slug=park, display_name=name)
"""

#: The seeding process this test process started (at most one per run starts one).
_seeding: subprocess.Popen | None = None


def seed_directory(config) -> Path:
    """A directory shared by the run's test processes (the parent of a pytest-xdist worker's temp root).

    From the config, not the `tmp_path_factory` fixture: collection hooks have no fixtures."""
    root = config._tmp_path_factory.getbasetemp()
    return (root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root) / "demo-seed"


def server_env(root: Path) -> dict:
    """The environment of an app over the database and index in `root`, with review before publishing on (the
    production default), so curators submit and managers approve."""
    return dict(os.environ,
                ZHIGU_DATABASE_URL=f"sqlite:///{root}/{DATABASE}",
                ZHIGU_INDEX_DIR=str(root / INDEX),
                ZHIGU_SECRET_KEY="e2e-secret",
                ZHIGU_REVIEW_REQUIRED="true",
                PYTHONWARNINGS="ignore")


@contextmanager
def _locked(directory: Path):
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def start_seeding(directory: Path) -> None:
    """Seed `directory` in a background process, unless another test process started it."""
    global _seeding
    with _locked(directory):
        if (directory / "started").exists():
            return
        (directory / "started").touch()
        (directory / DEMO).mkdir()
        constants = (f"USERS = {list(USERS.values())!r}\nPASSWORD = {PASSWORD!r}\nDEMO = {DEMO!r}\n"
                     f"DEMO_OUTPUT = {DEMO_OUTPUT!r}\nDATABASE_AND_INDEX = {(DATABASE, INDEX)!r}\n")
        script = (constants + "try:\n" + textwrap.indent(SEED, "    ")
                  + "except BaseException:\n    open('failed', 'w').close()\n    raise\nopen('done', 'w').close()\n")
        with open(directory / "seed.log", "w") as log:
            _seeding = subprocess.Popen([sys.executable, "-c", script], env=server_env(directory), cwd=directory,
                                        stdout=log, stderr=subprocess.STDOUT)


def seeded(directory: Path, timeout: float = 300) -> Path:
    """Wait for the seeding to finish (starting it if no test process has); fail with its output if it failed."""
    start_seeding(directory)
    deadline = time.monotonic() + timeout
    while not (directory / "done").exists():
        if (directory / "failed").exists() or time.monotonic() > deadline:
            pytest.fail("seeding the demo archive failed:\n" + (directory / "seed.log").read_text(), pytrace=False)
        time.sleep(0.2)
    if _seeding is not None:
        _seeding.wait()
    return directory


def copy_archive(source: Path, target: Path) -> Path:
    """Copy the database and index in `source` to `target` (created), for a test process to change its own."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / DATABASE, target / DATABASE)
    shutil.copytree(source / INDEX, target / INDEX)
    return target


def wait_for_seeding() -> None:
    """At the end of a test process that started the seeding: another process may still need it."""
    if _seeding is not None:
        _seeding.wait()
