"""The search outbox: index updates recorded with the change, applied by one writer, repaired after crashes."""
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

import databases
from helpers import ROOT, case_data, close_app, in_app
from zhigu import create_app
from zhigu.archive import services
from zhigu.archive.models import FailureCase
from zhigu.auth.models import User
from zhigu.extensions import db
from zhigu.search import outbox
from zhigu.search.models import IndexChange

CLEAN = {"missing": [], "stale": [], "extra": []}


def outbox_ids(app) -> list[int]:
    with in_app(app):
        return list(db.session.scalars(select(IndexChange.case_id).order_by(IndexChange.id)))


def last_id(app) -> int:
    with in_app(app):
        return db.session.scalar(select(func.coalesce(func.max(IndexChange.id), 0)))


def check(app) -> dict:
    with in_app(app):
        return app.extensions["zhigu.search"].check()


def worker_once(app):
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output + repr(result.exception)


def env_for(app, **extra) -> dict:
    """Environment of a separate `zhigu` process on the same database and index directory."""
    env = dict(os.environ, ZHIGU_DATABASE_URL=app.config["DATABASE_URL"], ZHIGU_INDEX_DIR=app.config["INDEX_DIR"],
               ZHIGU_SECRET_KEY="test", ZHIGU_INSTANCE_PATH=str(Path(app.config["INDEX_DIR"]).parent / "inst"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env.update(extra)
    return env


@pytest.fixture
def curator(app, make_park, make_user):
    return make_user("curator", make_park())


@pytest.fixture
def quiet_app(app):
    """The web process leaves the outbox alone, as when only `zhigu worker` applies it, and the worker has not
    run yet: the index directory has no outbox position (the `app` fixture's index starts with one)."""
    app.config["INDEX_INLINE_DRAIN"] = False
    (Path(app.config["INDEX_DIR"]) / outbox.APPLIED_FILE).unlink()
    return app


def make_cases(app, curator, n, prefix="Hydroponic farm"):
    with in_app(app):
        actor = db.session.get(User, curator.id)
        return [services.create_case(actor, case_data(title=f"{prefix} {i}"), publish=True).id for i in range(n)]


def test_a_change_is_recorded_in_its_transaction_and_a_rollback_records_nothing(app, curator):
    [case_id] = make_cases(app, curator, 1)
    assert case_id in outbox_ids(app)
    assert outbox.applied_change(app.extensions["zhigu.search"].directory) == last_id(app)
    before = last_id(app)
    with app.app_context():
        case = db.session.get(FailureCase, case_id)
        case.title = "Renamed, then rolled back"
        db.session.flush()
        db.session.rollback()
    assert last_id(app) == before
    assert check(app) == CLEAN


def test_a_busy_index_leaves_the_change_in_the_outbox_and_never_fails_the_request(app, curator):
    app.config["INDEX_INLINE_DRAIN_TIMEOUT"] = 0.1
    index = app.extensions["zhigu.search"]
    make_cases(app, curator, 1)
    with outbox.directory_lock(index.directory, 1):  # another process is applying the outbox
        [case_id] = make_cases(app, curator, 1, prefix="Vertical farm")
    assert check(app)["missing"] == [case_id]
    with app.app_context():
        assert outbox.pending_count(db.engine, index.directory) >= 1

    worker_once(app)

    assert check(app) == CLEAN


def test_a_failed_index_write_stays_in_the_outbox_until_applied(app, curator, caplog):
    index = app.extensions["zhigu.search"]
    index.writer_timeout = 0.2
    other = create_app({key: app.config[key] for key in ("DATABASE_URL", "INDEX_DIR", "SECRET_KEY", "TESTING")})
    held = other.extensions["zhigu.search"].writer()  # Whoosh's own lock, held past the timeout
    try:
        [case_id] = make_cases(app, curator, 1)
    finally:
        held.cancel()
    assert "stay in the outbox" in caplog.text
    assert check(app)["missing"] == [case_id]

    worker_once(app)

    assert check(app) == CLEAN


KILLER = textwrap.dedent("""
    import os, signal
    from zhigu import create_app
    from zhigu.extensions import db
    import zhigu.search.documents as documents_module
    from zhigu.search import outbox

    app = create_app()
    mode = os.environ["KILL_MODE"]
    with app.app_context():
        index = app.extensions["zhigu.search"]
        if mode == "inside-writer":
            real, seen = documents_module.case_document, []
            def dying_case_document(case, *args):
                seen.append(case.id)
                if len(seen) == 8:  # in the middle of the second batch, before its index commit
                    os.kill(os.getpid(), signal.SIGKILL)
                return real(case, *args)
            documents_module.case_document = dying_case_document
            outbox.drain(index, db.engine, batch=5)
        else:
            batches = []
            def die_on_second(rows):  # after the second batch's index commit, before its record
                batches.append(rows)
                if len(batches) == 2:
                    os.kill(os.getpid(), signal.SIGKILL)
            outbox.drain(index, db.engine, batch=5, after_batch=die_on_second)
""")


@pytest.mark.parametrize("mode", ["inside-writer", "before-record"])
def test_killing_the_indexing_process_mid_batch_loses_nothing_after_restart(quiet_app, curator, mode):
    app = quiet_app
    index = app.extensions["zhigu.search"]
    with app.app_context():
        outbox.rebuild(index)  # positions the directory at the start of the log
    ids = make_cases(app, curator, 12)
    with app.app_context():
        services.retract_case(db.session.get(User, curator.id), db.session.get(FailureCase, ids[0]),
                              {"reason": "Retracted while the worker was down."})
    assert len(check(app)["missing"]) == 11

    killed = subprocess.run([sys.executable, "-c", KILLER], env=env_for(app, KILL_MODE=mode), cwd=ROOT,
                            capture_output=True, text=True, timeout=120)

    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert check(app) != CLEAN  # the kill left work undone
    worker_once(app)  # the restart
    assert check(app) == CLEAN
    assert outbox.applied_change(index.directory) == last_id(app)


@pytest.mark.parametrize("damage", ["deleted", "corrupted", "position-lost"])
def test_a_damaged_index_directory_is_detected_and_rebuilt(quiet_app, curator, damage):
    app = quiet_app
    index = app.extensions["zhigu.search"]
    ids = make_cases(app, curator, 3)
    worker_once(app)
    assert check(app) == CLEAN
    directory = index.directory
    if damage == "deleted":
        shutil.rmtree(directory)
    elif damage == "corrupted":
        for path in directory.iterdir():
            if path.suffix in (".toc", ".seg") or path.name.endswith((".trm", ".pst", ".fdt")):
                path.write_bytes(b"\0garbage" * 8)
    else:
        (directory / outbox.APPLIED_FILE).unlink()
    if damage != "position-lost":
        assert not index.readable()

    worker_once(app)

    assert index.readable()
    assert check(app) == CLEAN
    with app.app_context():
        assert {int(f["id"]) for f in index.searcher().all_stored_fields()} == set(ids)


def test_the_running_worker_reads_the_whole_index_at_start_after_a_failed_pass_and_now_and_then(quiet_app, curator,
                                                                                                 monkeypatch):
    from zhigu.search import worker

    app = quiet_app
    index = app.extensions["zhigu.search"]
    make_cases(app, curator, 2)
    reads, polls = [], []
    reading = type(index).readable
    monkeypatch.setattr(type(index), "readable", lambda self: reads.append(len(polls)) or reading(self))
    draining = outbox.drain

    def drain(*args, **kwargs):  # the third pass fails
        if len(polls) == 2:
            raise OSError("disk full")
        return draining(*args, **kwargs)

    clock = [1000.0]

    def sleep(seconds):  # a second a poll; after the fifth, READ_CHECK_INTERVAL
        polls.append(seconds)
        clock[0] += worker.READ_CHECK_INTERVAL if len(polls) == 5 else 1.0
        if len(polls) == 7:
            raise SystemExit(0)

    monkeypatch.setattr(outbox, "drain", drain)
    monkeypatch.setattr(worker, "time", SimpleNamespace(sleep=sleep, monotonic=lambda: clock[0]))
    result = app.test_cli_runner().invoke(args=["worker"])

    assert result.exit_code == 0, result.output + repr(result.exception)
    assert reads == [0, 3, 5]  # the start, after the failed third pass, READ_CHECK_INTERVAL later
    assert check(app) == CLEAN


@pytest.fixture(params=["suite database", "postgresql"])
def shared_database(request, database_url):
    """The database two machines share: the suite's, and always a PostgreSQL one when a server answers."""
    if request.param == "suite database":
        yield database_url
        return
    if database_url.startswith("postgresql"):
        pytest.skip("the suite database is already PostgreSQL")
    server = request.getfixturevalue("postgres_server")
    yield server.create_database("machines")


def test_two_index_directories_fed_from_one_database_agree(shared_database, tmp_path):
    from zhigu.auth import services as auth_services

    machines = [create_app({"DATABASE_URL": shared_database, "INDEX_DIR": str(tmp_path / f"index-{name}"),
                            "SECRET_KEY": "test", "TESTING": True, "REVIEW_REQUIRED": False})
                for name in ("a", "b")]
    web, other = machines
    try:
        with web.app_context():
            db.create_all()
            if shared_database.startswith("postgresql"):
                databases.empty_tables(db)  # the suite's database still holds the previous test's rows
            services.seed_causes()
            auth_services.create_park(None, {"slug": "twins", "name": "Twin Park"})
            actor = auth_services.create_user("twin@example.org", "correct-horse-battery", role="curator",
                                              park_slug="twins", display_name="Twin")
            ids = [services.create_case(actor, case_data(title=f"Hydroponic farm {i}"), publish=True).id
                   for i in range(6)]
        worker_once(other)  # machine b joins: rebuilds, positioned on the log
        with web.app_context():  # writes on machine a only
            actor = db.session.scalar(select(User).where(User.email == "twin@example.org"))
            services.update_case(actor, db.session.get(FailureCase, ids[1]), {"title": "Renamed hydroponic farm"})
            services.retract_case(actor, db.session.get(FailureCase, ids[2]), {"reason": "A duplicate entry."})
            ids.append(services.create_case(actor, case_data(title="Late hydroponic farm"), publish=True).id)

        for machine in machines:
            worker_once(machine)

        for machine in machines:
            assert check(machine) == CLEAN
        positions = {outbox.applied_change(Path(m.config["INDEX_DIR"])) for m in machines}
        assert positions == {last_id(web)}
        indexed = []
        for machine in machines:
            with machine.app_context():
                index = machine.extensions["zhigu.search"]
                indexed.append({int(f["id"]): f["stamp"] for f in index.searcher().all_stored_fields()})
        assert indexed[0] == indexed[1] and len(indexed[0]) == 6
    finally:
        for machine in machines:
            close_app(machine)


def test_with_zhigu_worker_running_search_check_passes_within_30_seconds(quiet_app, curator):
    app = quiet_app
    with app.app_context():
        outbox.rebuild(app.extensions["zhigu.search"])
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "zhigu", "worker", "--interval", "0.2"],
                              env=env_for(app), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
    try:
        make_cases(app, curator, 10)
        deadline = time.monotonic() + 30
        while check(app) != CLEAN:
            assert worker.poll() is None, worker.stderr.read()
            assert time.monotonic() < deadline, check(app)
            time.sleep(0.2)
        check_cli = subprocess.run([sys.executable, "-m", "flask", "--app", "zhigu", "search", "check"],
                                   env=env_for(app), cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert check_cli.returncode == 0, check_cli.stdout + check_cli.stderr
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        worker.stderr.close()


# -- pruning ------------------------------------------------------------------------------------------------

def age_rows(app, seconds: float) -> None:
    """Make every outbox row `seconds` older."""
    from datetime import timedelta

    with in_app(app):
        for row in db.session.scalars(select(IndexChange)):
            row.created_at = row.created_at - timedelta(seconds=seconds)
        db.session.commit()


def outbox_rows(app) -> list[tuple[int, int]]:
    with in_app(app):
        return [tuple(row) for row in db.session.execute(select(IndexChange.id, IndexChange.case_id)
                                                            .order_by(IndexChange.id))]


def test_pruning_deletes_only_old_rows_this_index_has_applied(quiet_app, curator):
    app = quiet_app
    directory = Path(app.config["INDEX_DIR"])
    make_cases(app, curator, 3)
    worker_once(app)
    applied = last_id(app)
    age_rows(app, 3600)
    make_cases(app, curator, 2, prefix="Fresh")  # new, and not yet applied
    rows = outbox_rows(app)
    with in_app(app):
        assert outbox.prune(db.engine, directory, 7200) == 0  # nothing that old
        assert outbox.prune(db.engine, directory, 1800) == len([r for r in rows if r[0] < applied])
    left = outbox_rows(app)
    assert left[0] == (applied, outbox.PRUNED)  # the newest pruned row marks the cut
    assert left[1:] == [r for r in rows if r[0] > applied]
    with in_app(app):
        assert outbox.prune(db.engine, directory, 1800) == 0  # done already
    worker_once(app)  # this index is past the cut: the fresh rows are applied, no rebuild
    assert check(app) == CLEAN and outbox.applied_change(directory) == last_id(app)


def test_an_index_behind_the_pruned_outbox_rebuilds(shared_database, tmp_path):
    """Machine b is off while machine a applies and prunes changes b never saw; b rebuilds when it returns."""
    from zhigu.auth import services as auth_services

    machines = [create_app({"DATABASE_URL": shared_database, "INDEX_DIR": str(tmp_path / f"index-{name}"),
                            "SECRET_KEY": "test", "TESTING": True, "REVIEW_REQUIRED": False,
                            "INDEX_INLINE_DRAIN": False, "OUTBOX_RETENTION": 1800})
                for name in ("a", "b")]
    a, b = machines
    try:
        with a.app_context():
            db.create_all()
            if shared_database.startswith("postgresql"):
                databases.empty_tables(db)
            services.seed_causes()
            auth_services.create_park(None, {"slug": "twins", "name": "Twin Park"})
            auth_services.create_user("twin@example.org", "correct-horse-battery", role="curator",
                                      park_slug="twins", display_name="Twin")
        curator = SimpleUser(a)
        ids = make_cases(a, curator, 4)
        worker_once(a)
        worker_once(b)
        b_position = outbox.applied_change(Path(b.config["INDEX_DIR"]))
        with a.app_context():  # b is off: these changes reach only a
            actor = db.session.get(User, curator.id)
            services.update_case(actor, db.session.get(FailureCase, ids[0]), {"title": "Renamed while b was off"})
            services.retract_case(actor, db.session.get(FailureCase, ids[1]), {"reason": "A duplicate entry."})
        worker_once(a)
        age_rows(a, 3600)
        result = a.test_cli_runner().invoke(args=["worker", "--once"])  # a prunes on its first poll
        assert result.exit_code == 0, result.output
        assert outbox_rows(a) == [(last_id(a), outbox.PRUNED)]
        assert b_position < last_id(a)

        worker_once(b)  # b comes back: its position is below the cut

        for machine in machines:
            assert check(machine) == CLEAN
        assert outbox.applied_change(Path(b.config["INDEX_DIR"])) == last_id(a)
        with b.app_context():
            titles = b.test_client().get("/api/v1/cases?q=Renamed").get_json()
        assert [r["id"] for r in titles["results"]] == [ids[0]]
    finally:
        for machine in machines:
            close_app(machine)


class SimpleUser:
    """The curator of a `machines` test, by id."""

    def __init__(self, app):
        with app.app_context():
            self.id = db.session.scalar(select(User.id).where(User.email == "twin@example.org"))


def test_the_prune_outbox_command(quiet_app, curator):
    app = quiet_app
    runner = app.test_cli_runner()
    make_cases(app, curator, 2)
    result = runner.invoke(args=["search", "prune-outbox"])
    assert result.exit_code == 0 and "no outbox position" in result.output
    assert len(outbox_rows(app)) == 2
    worker_once(app)
    age_rows(app, 10)
    result = runner.invoke(args=["search", "prune-outbox"])  # the default retention: 7 days
    assert result.exit_code == 0 and "Pruned 0" in result.output
    result = runner.invoke(args=["search", "prune-outbox", "--retention", "5"])
    assert result.exit_code == 0 and "Pruned 1 " in result.output, result.output
    assert outbox_rows(app) == [(last_id(app), outbox.PRUNED)]
    worker_once(app)
    assert check(app) == CLEAN
