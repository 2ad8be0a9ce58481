"""Backups: `zhigu backup create` then `zhigu backup restore` brings back every row, and the indexes follow.

Runs on the suite's database: SQLite (SQLite's online backup API) or, with ZHIGU_TEST_DATABASE_URL, the run's
own PostgreSQL database (pg_dump / pg_restore).
"""
import json
import subprocess
import sys
import textwrap
import time

import pytest
from sqlalchemy import func, select, text

from helpers import ROOT, another_process, case_data, close_app, reload
from ops_helpers import dump_tables, env_for
from zhigu import create_app
from zhigu.archive import services as archive
from zhigu.archive.models import FailureCase
from zhigu.comments import services as comments
from zhigu.comments.models import Comment
from zhigu.extensions import db
from zhigu.initiatives import services as initiatives
from zhigu.links import services as links
from zhigu.links.models import CaseLink
from zhigu.reviews import services as reviews
from zhigu.search import outbox
from zhigu.search.models import IndexChange

CLEAN = {"missing": [], "stale": [], "extra": []}
#: The outbox gains rows at a restore (queued for other machines' indexes), and the stored nearest cases go with
#: the index it rebuilds (computed again on read and by the worker); every other table comes back as it was.
DERIVED = ("search_outbox", "case_neighbour", "neighbour_list")


@pytest.fixture
def archive_data(app, cast, make_case):
    """Cases of every visibility and status, revisions, reviews, comments of every state, links, verdicts."""
    public = make_case(cast.author, title="Hydroponic farm in Dubai", causes=["money.cash_out", "market.no_demand"],
                       primary_cause="market.no_demand", started_on="2019-03-01", ended_on="2021-06-30",
                       money_lost="1250000.50", currency="CNY", team_size=12)
    park_only = make_case(cast.author, title="Park-only drone delivery trial", visibility="park", anonymize=True,
                          org_name="Drone Couriers Co", org_type="private")
    private = make_case(cast.author, title="Private battery recycling venture", visibility="private",
                        anonymize=True, org_name="Secret Batteries Ltd", org_type="private")
    retracted = make_case(cast.author, title="Retracted smart lighting pilot", status="retracted")
    draft = make_case(cast.author, title="Draft vertical farm in Shenzhen", status="draft")
    reviewed = make_case(cast.author, title="Reviewed cold-chain platform", status="draft", language="zh",
                         summary="冷链平台因为客户不愿付费而失败。", narrative="试点之后没有客户续约。")
    with app.app_context():
        author, manager = reload(cast.author), reload(cast.manager_a)
        archive.update_case(author, reload(public), {"title": "Hydroponic farm in Dubai, revised",
                                                     "lessons": "Check the water bill first."})
        reviews.submit_case(author, reload(reviewed))
        reviews.review_case(manager, reload(reviewed), {"decision": "request_changes", "comment": "Add dates."})
        archive.update_case(author, reload(reviewed), {"started_on": "2020-01-01"})
        reviews.submit_case(author, reload(reviewed))
        reviews.review_case(manager, reload(reviewed), {"decision": "approve", "comment": "Thanks."})

        first = comments.create_comment(reload(cast.member_a), reload(public), {"body": "Same in *Astana*."})
        comments.create_comment(author, reload(public), {"body": "Thanks, noted.", "parent_id": first.id})
        hidden = comments.create_comment(reload(cast.member_b), reload(public), {"body": "Names a person."})
        comments.hide_comment(manager, reload(hidden), {"reason": "Names a private person."})
        deleted = comments.create_comment(reload(cast.member_a), reload(public), {"body": "Posted by mistake."})
        comments.delete_comment(reload(cast.member_a), reload(deleted))
        comments.create_comment(reload(cast.member_a), reload(park_only), {"body": "Our park saw this too."})

        links.create_link(reload(cast.curator_a), reload(public), {"target_id": park_only.id, "type": "related",
                                                                   "note": "Same park, same year."})
        links.create_link(author, reload(private), {"target_id": public.id, "type": "same_root_cause"})
        links.create_link(author, reload(retracted), {"target_id": public.id, "type": "duplicate_of"})

        initiative = initiatives.register_initiative(reload(cast.member_b), {
            "title": "Hydroponic greens for Gulf hotels",
            "description": "A hydroponic farm supplying leafy greens to hotels in Dubai.",
            "sector": "construction", "target_markets": ["AE"]})
        initiatives.record_feedback(reload(cast.member_b), initiative, {"case_id": public.id, "verdict": "relevant",
                                                                        "note": "The water costs."})
        initiatives.record_feedback(reload(cast.member_b), initiative, {"case_id": retracted.id,
                                                                        "verdict": "not_relevant"})
    return {"public": public.id, "park": park_only.id, "private": private.id, "retracted": retracted.id,
            "draft": draft.id, "reviewed": reviewed.id}


def rows(app) -> dict:
    with app.app_context():
        return dump_tables(exclude=DERIVED)


def run(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def search_check_passes(app) -> bool:
    with another_process(app):  # `zhigu search check` in a process of its own, with a fresh index handle
        return app.test_cli_runner().invoke(args=["search", "check"]).exit_code == 0


def search_results(app, text_):
    from zhigu.search.services import search_cases

    return search_cases(None, text_).results


def test_the_archive_has_every_kind_of_row(app, archive_data):
    """The fixture really holds what the round trip must bring back."""
    dump = rows(app)
    for table in ("failure_case", "case_cause", "case_revision", "comment", "case_link", "review_event",
                  "initiative", "suggestion", "audit_record", "notification", "user", "park"):
        assert dump[table], table
    with app.app_context():
        statuses = set(db.session.scalars(select(FailureCase.status)))
        visibilities = set(db.session.scalars(select(FailureCase.visibility)))
        assert {"published", "draft", "retracted"} <= statuses and visibilities == {"public", "park", "private"}
        assert db.session.scalar(select(func.count()).where(Comment.parent_id.is_not(None))) == 1
        assert db.session.scalar(select(func.count()).where(Comment.hidden_at.is_not(None))) == 1
        assert db.session.scalar(select(func.count()).where(Comment.deleted_at.is_not(None))) == 1


def test_backup_then_restore_brings_back_every_row(app, cast, archive_data, tmp_path):
    other_machine = create_app({**{key: app.config[key] for key in ("DATABASE_URL", "SECRET_KEY", "TESTING")},
                                "INDEX_DIR": str(tmp_path / "index-b")})
    run(other_machine, "worker", "--once")  # a second machine, its index positioned in the log
    before = rows(app)

    output = run(app, "backup", "create", str(tmp_path / "backup"))

    assert "6 case(s)" in output
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["tables"]["failure_case"] == 6 and manifest["tables"]["comment"] == 5
    assert manifest["tables"]["case_link"] == 3 and manifest["cases_export"]["cases"] == 6
    assert manifest["tables"]["case_revision"] == len(before["case_revision"]) >= 3
    exported = [json.loads(line) for line in (tmp_path / "backup" / "cases.jsonl").read_text().splitlines()]
    assert sorted(c["title"] for c in exported) == sorted(c[2] for c in before["failure_case"])

    # after the backup: edits, deletions and new rows, all applied to both machines' indexes
    with app.app_context():
        case = db.session.get(FailureCase, archive_data["public"])
        author = case.author
        archive.update_case(author, case, {"title": "Changed after the backup"})
        archive.retract_case(author, db.session.get(FailureCase, archive_data["reviewed"]),
                             {"reason": "Withdrawn after the backup."})
        archive.create_case(author, case_data(title="Filed after the backup"), publish=True)
        links.delete_link(reload(cast.admin), db.session.scalar(select(CaseLink).limit(1)), "Removed after the backup.")
        db.session.execute(text("DELETE FROM comment WHERE parent_id IS NOT NULL"))
        db.session.commit()
    run(other_machine, "worker", "--once")
    assert rows(app) != before

    output = run(app, "backup", "restore", str(tmp_path / "backup"), "--yes", "--processes", "2")

    assert f"6 case(s), {manifest['tables']['case_revision']} revision(s), 5 comment(s), 3 link(s)" in output
    assert rows(app) == before  # every case, revision, comment, link, review, verdict... as backed up
    assert search_check_passes(app)
    run(other_machine, "worker", "--once")  # the other machine follows the queued changes
    with other_machine.app_context():
        assert other_machine.extensions["zhigu.search"].check() == CLEAN
    close_app(other_machine)


def test_restore_into_an_empty_database_on_a_new_machine(app, archive_data, tmp_path, request):
    before = rows(app)
    run(app, "backup", "create", str(tmp_path / "backup"))
    new_machine = create_app({"DATABASE_URL": new_database(app, tmp_path, request), "SECRET_KEY": "test",
                              "INDEX_DIR": str(tmp_path / "new-index"), "TESTING": True})

    output = run(new_machine, "backup", "restore", str(tmp_path / "backup"), "--yes")

    assert "6 case(s)" in output
    assert rows(new_machine) == before
    with new_machine.app_context():
        index = new_machine.extensions["zhigu.search"]
        assert index.check() == CLEAN
        assert outbox.applied_change(index.directory) == db.session.scalar(select(func.max(IndexChange.id)))
        assert {r.case.id for r in search_results(new_machine, "hydroponic")} == {archive_data["public"]}
    close_app(new_machine)


def test_the_portable_export_imports_into_a_fresh_database(app, archive_data, tmp_path):
    run(app, "backup", "create", str(tmp_path / "backup"))
    fresh = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/fresh.sqlite", "INDEX_DIR": str(tmp_path / "fresh"),
                        "SECRET_KEY": "test", "TESTING": True})
    with fresh.app_context():
        db.create_all()
        archive.seed_causes()
    for slug in ("park-a", "park-b"):
        run(fresh, "park", "create", slug, "--name", slug)

    run(fresh, "archive", "import", str(tmp_path / "backup" / "cases.jsonl"))

    with app.app_context():
        original = {c.title: (c.status, c.visibility, c.org_name, c.anonymize, [x.code for x in c.causes])
                    for c in db.session.scalars(select(FailureCase))}
    with fresh.app_context():
        imported = {c.title: (c.status, c.visibility, c.org_name, c.anonymize, [x.code for x in c.causes])
                    for c in db.session.scalars(select(FailureCase))}
    assert imported == original
    close_app(fresh)


def test_a_damaged_backup_is_refused_before_anything_is_replaced(app, archive_data, tmp_path):
    run(app, "backup", "create", str(tmp_path / "backup"))
    with app.app_context():
        archive.create_case(db.session.get(FailureCase, archive_data["public"]).author,
                            case_data(title="Kept because the restore is refused"), publish=True)
    before = rows(app)
    database_file = next(p for p in (tmp_path / "backup").iterdir() if p.name.startswith("database."))
    with open(database_file, "r+b") as damaged:  # flip the bits of a few bytes, as a bad disk would
        damaged.seek(200)
        original = damaged.read(4)
        damaged.seek(200)
        damaged.write(bytes(b ^ 0xFF for b in original))

    result = app.test_cli_runner().invoke(args=["backup", "restore", str(tmp_path / "backup"), "--yes"])

    assert result.exit_code == 1
    assert "damaged" in result.output
    assert rows(app) == before


def test_a_backup_never_overwrites_a_directory_and_asks_before_restoring(app, archive_data, tmp_path):
    run(app, "backup", "create", str(tmp_path / "backup"))

    again = app.test_cli_runner().invoke(args=["backup", "create", str(tmp_path / "backup")])
    declined = app.test_cli_runner().invoke(args=["backup", "restore", str(tmp_path / "backup")], input="n\n")

    assert again.exit_code == 1 and "already exists" in again.output
    assert declined.exit_code == 1 and "Replace every row" in declined.output
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".backup.partial")]


def test_a_backup_of_another_kind_of_database_points_to_the_case_export(app, archive_data, tmp_path):
    run(app, "backup", "create", str(tmp_path / "backup"))
    manifest_path = tmp_path / "backup" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["database"] = "postgresql" if manifest["database"] == "sqlite" else "sqlite"
    manifest_path.write_text(json.dumps(manifest))

    result = app.test_cli_runner().invoke(args=["backup", "restore", str(tmp_path / "backup"), "--yes"])

    assert result.exit_code == 1
    assert "zhigu archive import" in result.output and "cases.jsonl" in result.output


WRITER = textwrap.dedent("""
    import os, time
    from pathlib import Path
    from zhigu import create_app
    from zhigu.archive import services
    from zhigu.auth.models import User
    from zhigu.extensions import db

    app = create_app()
    stop, n = Path(os.environ["STOP_FILE"]), 0
    with app.app_context():
        while not stop.exists():
            actor = db.session.get(User, int(os.environ["USER_ID"]))
            services.create_case(actor, {"title": f"Written during the backup {n}", "causes": ["money.cash_out"],
                                         "summary": "A case filed while the backup ran.", "language": "en"},
                                 publish=True)
            db.session.remove()
            n += 1
""")


def test_a_backup_taken_while_the_app_writes_is_one_consistent_moment(app, cast, tmp_path, request):
    stop = tmp_path / "stop"
    env = env_for(app, STOP_FILE=str(stop), USER_ID=str(cast.author.id), ZHIGU_REVIEW_REQUIRED="false",
                  ZHIGU_INDEX_INLINE_DRAIN="false")
    writer = subprocess.Popen([sys.executable, "-c", WRITER], env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while count_cases(app) < 5:
            assert writer.poll() is None, writer.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.1)

        run(app, "backup", "create", str(tmp_path / "backup"))

        written_before = count_cases(app)
        while count_cases(app) < written_before + 3:  # the writer carried on
            assert writer.poll() is None, writer.stderr.read()
            time.sleep(0.1)
    finally:
        stop.touch()
        writer.wait(timeout=60)
        writer.stderr.close()
    assert writer.returncode == 0
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    backed_up = manifest["tables"]["failure_case"]
    assert 5 <= backed_up < count_cases(app)
    assert manifest["cases_export"]["cases"] == backed_up  # the export is of the same moment as the database
    new_machine = create_app({"DATABASE_URL": new_database(app, tmp_path, request), "SECRET_KEY": "test",
                              "INDEX_DIR": str(tmp_path / "new-index"), "TESTING": True})

    run(new_machine, "backup", "restore", str(tmp_path / "backup"), "--yes")  # checks every table's rows

    with app.app_context():
        live = dump_tables(exclude=DERIVED)
    restored = rows(new_machine)
    ids = [row[0] for row in restored["failure_case"]]
    assert len(ids) == backed_up
    assert restored["failure_case"] == [row for row in live["failure_case"] if row[0] in set(ids)]
    assert restored["case_cause"] == [row for row in live["case_cause"] if row[1] in set(ids)]  # (id, case_id, ...)
    close_app(new_machine)


def count_cases(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(FailureCase))


def new_database(app, tmp_path, request) -> str:
    """An empty database of the suite's kind (a new machine's)."""
    if app.config["DATABASE_URL"].startswith("postgresql"):
        server = request.getfixturevalue("postgres_server")
        return server.create_database("restore")
    return f"sqlite:///{tmp_path}/new-machine/zhigu.sqlite"
