"""The `zhigu` command: init-db, park, auth, archive import/export, search rebuild/check, demo."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text, update

from helpers import (another_process, case_by_external_id, close_app, corpus_path, in_app, indexed_ids,
                     write_jsonl)
from zhigu import create_app
from zhigu.archive.models import Cause, FailureCase
from zhigu.archive.vocabulary import SEED_CAUSES
from zhigu.auth import services as auth_services
from zhigu.auth.models import ApiToken, Park, Role, User
from zhigu.extensions import db
from zhigu.search.models import CaseNeighbour

CORPUS_LINES = 50


def count(app, model) -> int:
    with in_app(app):
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def bare_app(tmp_path):
    """An app whose database has no tables yet."""
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/bare.sqlite", "INDEX_DIR": str(tmp_path / "bare-index"),
                      "TESTING": True, "SECRET_KEY": "test"})
    yield app
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def corpus_subset(tmp_path) -> Path:
    """The first lines of the AI Incident Database corpus, in a file of their own."""
    with corpus_path("aiid_incidents.jsonl").open(encoding="utf-8") as corpus:
        lines = [next(corpus) for _ in range(CORPUS_LINES)]
    path = tmp_path / "aiid_subset.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def invoke_in_new_process(app, args, **kwargs):
    """Run a command as a separate `zhigu` process would: with an app (and index handle) of its own."""
    with another_process(app) as other:
        return other.test_cli_runner().invoke(args=args, **kwargs)


# -- init-db ----------------------------------------------------------------------------------------

def test_init_db_creates_tables_and_seeds_causes_and_is_idempotent(bare_app):
    runner = bare_app.test_cli_runner()

    first = runner.invoke(args=["init-db"])

    assert first.exit_code == 0, first.output
    assert f"{len(SEED_CAUSES)} cause(s) added" in first.output
    with bare_app.app_context():
        tables = set(inspect(db.engine).get_table_names())
        assert {"user", "park", "failure_case", "cause", "case_cause", "case_revision", "api_token",
                "initiative", "suggestion"} <= tables
        cause = db.session.scalar(select(Cause).where(Cause.code == "money.cash_out"))
        cause.label_en = "Renamed by an admin"
        db.session.commit()

    second = runner.invoke(args=["init-db"])

    assert second.exit_code == 0, second.output
    assert "0 table(s) created, 0 cause(s) added" in second.output
    assert count(bare_app, Cause) == len(SEED_CAUSES)
    with bare_app.app_context():
        assert db.session.scalar(select(Cause.label_en).where(Cause.code == "money.cash_out")) == "Renamed by an admin"


# -- park and auth ----------------------------------------------------------------------------------

def test_park_create(app, runner):
    result = runner.invoke(args=["park", "create", "khorgos-gateway", "--name", "Khorgos Gateway Park",
                                 "--region", "Xinjiang/Khorgos"])

    assert result.exit_code == 0, result.output
    assert "Created park khorgos-gateway" in result.output
    with in_app(app):
        park = db.session.scalar(select(Park).where(Park.slug == "khorgos-gateway"))
        assert (park.name, park.region) == ("Khorgos Gateway Park", "Xinjiang/Khorgos")


@pytest.mark.parametrize("args, message", [
    (["park", "create", "Bad Slug", "--name", "Bad"], "slug"),
    (["park", "create", "dup", "--name", "Again"], "already exists"),
])
def test_park_create_errors(app, runner, make_park, args, message):
    make_park("dup")

    result = runner.invoke(args=args)

    assert result.exit_code == 1
    assert message in result.output
    assert count(app, Park) == 1


def test_park_create_needs_a_name(runner):
    result = runner.invoke(args=["park", "create", "nameless"])

    assert result.exit_code == 2
    assert "--name" in result.output


def test_create_user_with_password_stdin(app, runner, make_park):
    make_park("khorgos")

    result = runner.invoke(args=["auth", "create-user", "Aigerim@Example.org", "--role", "manager",
                                 "--park", "khorgos", "--name", "Aigerim", "--password-stdin"],
                           input="a-long-password\n")

    assert result.exit_code == 0, result.output
    assert "Created manager aigerim@example.org" in result.output
    with in_app(app):
        user = auth_services.authenticate("aigerim@example.org", "a-long-password")
        assert user is not None
        assert (user.role, user.park.slug, user.display_name) == (Role.manager, "khorgos", "Aigerim")


def test_create_user_asks_for_the_password_twice(app, runner):
    result = runner.invoke(args=["auth", "create-user", "li@example.org"],
                           input="a-long-password\na-long-password\n")

    assert result.exit_code == 0, result.output
    with in_app(app):
        assert auth_services.authenticate("li@example.org", "a-long-password").role is Role.member


@pytest.mark.parametrize("args, password, code, message", [
    (["bad@example.org", "--role", "overlord"], "a-long-password", 2, "overlord"),
    (["not-an-email"], "a-long-password", 1, "email"),
    (["short@example.org"], "short", 1, "password"),
    (["nopark@example.org", "--park", "atlantis"], "a-long-password", 1, "atlantis"),
    (["taken@example.org"], "a-long-password", 1, "already exists"),
])
def test_create_user_errors(app, runner, make_user, args, password, code, message):
    make_user(email="taken@example.org")

    result = runner.invoke(args=["auth", "create-user", *args, "--password-stdin"], input=password + "\n")

    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output
    assert count(app, User) == 1


def test_create_user_as_a_guild_reviewer(app, runner):
    assert runner.invoke(args=["guild", "create", "solar", "--name", "Solar Guild"]).exit_code == 0
    assert runner.invoke(args=["guild", "create", "wind", "--name", "Wind Guild"]).exit_code == 0

    result = runner.invoke(args=["auth", "create-user", "reviewer@example.org", "--role", "guild_reviewer",
                                 "--guild", "solar", "--guild", "wind", "--password-stdin"],
                           input="a-long-password\n")

    assert result.exit_code == 0, result.output
    assert "Created member reviewer@example.org" in result.output and "reviews for solar, wind" in result.output
    with in_app(app):
        from zhigu.guilds import services as guild_services
        user = auth_services.authenticate("reviewer@example.org", "a-long-password")
        assert user.role is Role.member
        assert [g.slug for g in guild_services.guilds_of(user)] == ["solar", "wind"]


@pytest.mark.parametrize("args, code, message", [
    (["--role", "guild_reviewer"], 2, "--role guild_reviewer needs --guild SLUG"),
    (["--role", "guild_reviewer", "--guild", "atlantis"], 1, "No guild with slug atlantis"),
])
def test_create_user_as_a_guild_reviewer_errors(app, runner, args, code, message):
    result = runner.invoke(args=["auth", "create-user", "reviewer@example.org", *args, "--password-stdin"],
                           input="a-long-password\n")

    assert result.exit_code == code and message in result.output and "Traceback" not in result.output
    assert count(app, User) == 0


def test_create_token_prints_a_working_token(app, runner, make_user, make_park):
    curator = make_user("curator", make_park())

    result = runner.invoke(args=["auth", "create-token", curator.email, "--name", "ci"])

    assert result.exit_code == 0, result.output
    token = result.output.strip()
    response = app.test_client().post("/api/v1/cases", headers={"Authorization": f"Bearer {token}"},
                                      json={"title": "Filed from a script", "summary": "A case filed over the API."})
    assert response.status_code == 201
    with in_app(app):
        stored = db.session.scalar(select(ApiToken).where(ApiToken.user_id == curator.id))
        assert stored.name == "ci"
        assert stored.token_hash != token


def test_create_token_for_an_unknown_user_fails(runner):
    result = runner.invoke(args=["auth", "create-token", "ghost@example.org"])

    assert result.exit_code == 1
    assert "ghost@example.org" in result.output


# -- archive import and export ----------------------------------------------------------------------

def test_import_corpus_subset(app, runner, corpus_subset):
    first_line = json.loads(corpus_subset.read_text(encoding="utf-8").splitlines()[0])

    result = runner.invoke(args=["archive", "import", str(corpus_subset)])

    assert result.exit_code == 0, result.output
    assert f"Imported {CORPUS_LINES} new and 0 updated case(s); 0 unchanged." in result.output
    with in_app(app):
        cases = db.session.scalars(select(FailureCase)).all()
        assert len(cases) == CORPUS_LINES
        assert {(c.status, c.visibility) for c in cases} == {("published", "public")}
        assert all(c.published_at is not None for c in cases)
        case = case_by_external_id(first_line["external_id"])
        assert case.title == first_line["title"]
        assert case.source_url == first_line["source_url"]
        assert case.ended_on.isoformat() == first_line["ended_on"]
        ids = {c.id for c in cases}
        assert app.extensions["zhigu.search"].check() == {"missing": [], "stale": [], "extra": []}
    assert indexed_ids(app) == ids
    found = app.test_client().get("/api/v1/cases", query_string={"q": first_line["title"]}).get_json()
    assert found["results"][0]["external_id"] == first_line["external_id"]


def test_import_is_idempotent_on_external_id(app, runner, corpus_subset, tmp_path):
    runner.invoke(args=["archive", "import", str(corpus_subset)])
    rows = [json.loads(line) for line in corpus_subset.read_text(encoding="utf-8").splitlines()]
    rows[0]["title"] = "Zeppelin parcel delivery pilot"
    rows[0]["causes"] = ["execution.bad_timing"]
    changed = write_jsonl(tmp_path / "changed.jsonl", rows)

    result = runner.invoke(args=["archive", "import", str(changed)])

    assert result.exit_code == 0, result.output
    assert f"Imported 0 new and 1 updated case(s); {CORPUS_LINES - 1} unchanged." in result.output
    assert count(app, FailureCase) == CORPUS_LINES
    with in_app(app):
        case = case_by_external_id(rows[0]["external_id"])
        assert case.title == "Zeppelin parcel delivery pilot"
        assert [c.code for c in case.causes] == ["execution.bad_timing"]
    found = app.test_client().get("/api/v1/cases", query_string={"q": "zeppelin"}).get_json()
    assert [r["external_id"] for r in found["results"]] == [rows[0]["external_id"]]

    again = runner.invoke(args=["archive", "import", str(changed)])
    assert again.exit_code == 0
    with in_app(app):
        assert len(case_by_external_id(rows[0]["external_id"]).case_causes) == 1


def test_a_bad_line_is_reported_by_number_and_nothing_is_written(app, runner, corpus_subset, tmp_path, make_case,
                                                                  make_user):
    curator = make_user("curator")
    rows = [json.loads(line) for line in corpus_subset.read_text(encoding="utf-8").splitlines()[:10]]
    existing = make_case(curator, external_id=rows[0]["external_id"], title="Filed by hand before the import")
    del rows[3]["title"]
    rows[8]["causes"] = ["market.not_a_cause"]
    lines = [json.dumps(row) for row in rows]
    lines[6] = '{"external_id": "broken", "title": '
    bad = write_jsonl(tmp_path / "bad.jsonl", lines)

    result = runner.invoke(args=["archive", "import", str(bad)])

    assert result.exit_code == 1
    assert "line 4: title" in result.stderr
    assert "line 7: _line" in result.stderr and "Not valid JSON" in result.stderr
    assert "line 9: causes" in result.stderr and "market.not_a_cause" in result.stderr
    assert "line 1:" not in result.stderr
    assert "nothing was imported" in result.output
    assert count(app, FailureCase) == 1
    with in_app(app):
        assert db.session.get(FailureCase, existing.id).title == "Filed by hand before the import"
    assert indexed_ids(app) == {existing.id}


def test_import_accepts_a_byte_order_mark_and_windows_line_ends(app, runner, tmp_path):
    rows = [{"external_id": f"bom-{n}", "title": f"Imported from a spreadsheet {n}",
             "summary": "Saved by a Windows tool as UTF-8 with a byte order mark."} for n in range(2)]
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(json.dumps(row) + "\r\n" for row in rows).encode())

    result = runner.invoke(args=["archive", "import", str(path)])

    assert result.exit_code == 0, result.output
    assert count(app, FailureCase) == 2


def test_import_rejects_repeated_external_ids_within_a_file(app, runner, tmp_path):
    row = {"external_id": "x-1", "title": "Twice in one file", "summary": "This line appears twice."}
    path = write_jsonl(tmp_path / "twice.jsonl", [row, row])

    result = runner.invoke(args=["archive", "import", str(path)])

    assert result.exit_code == 1
    assert "line 2: external_id" in result.stderr
    assert count(app, FailureCase) == 0


def test_import_into_a_park(app, runner, corpus_subset, make_park):
    park = make_park("khorgos")

    result = runner.invoke(args=["archive", "import", str(corpus_subset), "--park", "khorgos"])

    assert result.exit_code == 0, result.output
    with in_app(app):
        assert set(db.session.scalars(select(FailureCase.park_id))) == {park.id}


def test_import_into_an_unknown_park_fails_cleanly(app, runner, corpus_subset):
    result = runner.invoke(args=["archive", "import", str(corpus_subset), "--park", "atlantis"])

    assert result.exit_code == 1
    assert "atlantis" in result.output
    assert count(app, FailureCase) == 0


def test_import_of_a_missing_file_is_a_usage_error(runner, tmp_path):
    result = runner.invoke(args=["archive", "import", str(tmp_path / "nope.jsonl")])

    assert result.exit_code == 2
    assert "does not exist" in result.output


RICH_ROWS = [
    {
        "external_id": "zhigu-rich-1", "title": "Smart irrigation for cotton farms in Uzbekistan",
        "summary": "Sensors and valves were sold to cotton farms that had no reliable power.",
        "narrative": "## What happened\n\nThe pilot ran for **two seasons**.",
        "warning_signs": "Farmers skipped demos.",
        "lessons": "Bundle solar power with the sensors.", "causes": ["market.needs_mismatch", "product.immature_tech"],
        "primary_cause": "product.immature_tech", "sector": "agriculture", "region": "Xinjiang/Urumqi",
        "target_markets": ["UZ", "KZ"], "stage_reached": "pilot", "started_on": "2019-03-01",
        "ended_on": "2021-10-31", "money_lost": "3500000.00", "currency": "CNY", "team_size": 14,
        "org_name": "Tianshan Agritech", "org_type": "private", "anonymize": True, "language": "en",
        "tags": ["irrigation", "iot"], "source_url": "https://example.org/cases/irrigation",
        "visibility": "park", "status": "published", "park": "khorgos",
    },
    {
        "external_id": "zhigu-rich-2", "title": "跨境电商海外仓项目",
        "summary": "在哈萨克斯坦建设海外仓，但当地电商需求不足，仓库长期空置。", "causes": ["market.no_demand"],
        "sector": "ecommerce", "target_markets": ["KZ"], "language": "zh", "visibility": "public",
        "status": "draft", "anonymize": False,
    },
]


def _normalized(row: dict) -> dict:
    """The export lists the primary cause first."""
    row = dict(row)
    if row.get("causes"):
        primary = row.setdefault("primary_cause", row["causes"][0])
        row["causes"] = [primary] + [code for code in row["causes"] if code != primary]
    return row


def test_export_round_trips_with_import(app, runner, tmp_path, make_park):
    make_park("khorgos")
    source = write_jsonl(tmp_path / "rich.jsonl", RICH_ROWS)
    assert runner.invoke(args=["archive", "import", str(source)]).exit_code == 0

    out = tmp_path / "export.jsonl"
    result = runner.invoke(args=["archive", "export", str(out)])

    assert result.exit_code == 0, result.output
    assert "Exported 2 case(s)" in result.output
    exported = {row["external_id"]: row for row in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    for row in RICH_ROWS:
        expected = _normalized(row)
        assert {key: exported[row["external_id"]].get(key) for key in expected} == expected

    # importing the export into another archive gives the same export again
    other = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/other.sqlite", "INDEX_DIR": str(tmp_path / "other"),
                        "TESTING": True, "SECRET_KEY": "test"})
    other_runner = other.test_cli_runner()
    assert other_runner.invoke(args=["init-db"]).exit_code == 0
    assert other_runner.invoke(args=["park", "create", "khorgos", "--name", "Khorgos"]).exit_code == 0
    assert other_runner.invoke(args=["archive", "import", str(out)]).exit_code == 0
    again = tmp_path / "again.jsonl"
    assert other_runner.invoke(args=["archive", "export", str(again)]).exit_code == 0
    assert again.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")
    close_app(other)


def test_export_keeps_a_retraction(app, runner, tmp_path, make_user, make_case):
    curator = make_user("curator")
    make_case(curator, external_id="retracted-1", status="retracted")
    out = tmp_path / "export.jsonl"

    runner.invoke(args=["archive", "export", str(out)])
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert exported["status"] == "retracted"
    assert exported["retraction_reason"] == "Retracted by the test factory."

    with in_app(app):
        db.session.delete(case_by_external_id("retracted-1"))
        db.session.commit()
    assert runner.invoke(args=["archive", "import", str(out)]).exit_code == 0
    with in_app(app):
        case = case_by_external_id("retracted-1")
        assert (case.status, case.retraction_reason) == ("retracted", "Retracted by the test factory.")
    assert indexed_ids(app) == set()


# -- search rebuild and check -----------------------------------------------------------------------

def test_search_check_and_rebuild(app, runner, corpus_subset):
    runner.invoke(args=["archive", "import", str(corpus_subset)])

    clean = invoke_in_new_process(app, ["search", "check"])
    assert clean.exit_code == 0, clean.output
    assert "matches" in clean.output

    with in_app(app):
        case = db.session.scalar(select(FailureCase).order_by(FailureCase.id))
        db.session.execute(update(FailureCase).where(FailureCase.id == case.id).values(title="Zeppelin edited in SQL"))
        db.session.commit()
        app.extensions["zhigu.search"].delete_ids([case.id + 1])
    stale = invoke_in_new_process(app, ["search", "check"])
    assert stale.exit_code == 1
    assert f"stale: 1 case(s): {case.id}" in stale.output
    assert f"missing: 1 case(s): {case.id + 1}" in stale.output

    rebuilt = invoke_in_new_process(app, ["search", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"Indexed {CORPUS_LINES} published case(s)." in rebuilt.output
    assert invoke_in_new_process(app, ["search", "check"]).exit_code == 0
    found = app.test_client().get("/api/v1/cases", query_string={"q": "zeppelin"}).get_json()
    assert [r["id"] for r in found["results"]] == [case.id]


def test_search_check_fails_on_a_missing_index_until_rebuilt(app, runner, corpus_subset):
    runner.invoke(args=["archive", "import", str(corpus_subset)])
    shutil.rmtree(app.config["INDEX_DIR"])

    missing = invoke_in_new_process(app, ["search", "check"])
    assert missing.exit_code == 1
    assert f"missing: {CORPUS_LINES} case(s)" in missing.output

    rebuilt = invoke_in_new_process(app, ["search", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output

    assert invoke_in_new_process(app, ["search", "check"]).exit_code == 0
    assert Path(app.config["INDEX_DIR"]).is_dir()


# -- the console script -----------------------------------------------------------------------------

def test_zhigu_console_script_is_flask_app_zhigu(tmp_path):
    executable = Path(sys.executable).with_name("zhigu")
    assert executable.is_file(), f"{executable} is missing: install the package (pip install -e .)"
    env = dict(os.environ, ZHIGU_INSTANCE_PATH=str(tmp_path), ZHIGU_DATABASE_URL=f"sqlite:///{tmp_path}/z.sqlite",
               ZHIGU_INDEX_DIR=str(tmp_path / "index"), ZHIGU_SECRET_KEY="test")
    env.pop("FLASK_APP", None)

    result = subprocess.run([str(executable), "--help"], capture_output=True, text=True, env=env, timeout=60)

    assert result.returncode == 0, result.stderr
    commands = {line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line.strip()}
    assert {"init-db", "search", "archive", "auth", "park", "demo", "run", "shell", "routes"} <= commands
    flask = subprocess.run([str(Path(sys.executable).with_name("flask")), "--app", "zhigu", "--help"],
                           capture_output=True, text=True, env=env, timeout=60)
    assert flask.stdout.split("Commands:")[1] == result.stdout.split("Commands:")[1]


def test_cases_filed_on_the_web_export_under_a_name_this_archive_recognizes(app, runner, tmp_path, make_user,
                                                                              make_case):
    author = make_user("curator")
    filed = make_case(author, title="Cold store filed on the web")
    assert filed.external_id is None
    out = tmp_path / "export.jsonl"
    assert runner.invoke(args=["archive", "export", str(out)]).exit_code == 0
    (line,) = map(json.loads, out.read_text(encoding="utf-8").splitlines())
    assert line["external_id"].startswith("zhigu-") and line["external_id"].endswith(f"-{filed.id}")

    # importing it here again updates the case instead of copying it, and names it for good
    result = runner.invoke(args=["archive", "import", str(out)])
    assert result.exit_code == 0, result.output
    assert count(app, FailureCase) == 1
    with in_app(app):
        assert db.session.get(FailureCase, filed.id).external_id == line["external_id"]

    # another archive (another SECRET_KEY) whose own case has the same id imports it as a new case
    other = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/other.sqlite", "INDEX_DIR": str(tmp_path / "other"),
                        "TESTING": True, "SECRET_KEY": "another archive"})
    other_runner = other.test_cli_runner()
    assert other_runner.invoke(args=["init-db"]).exit_code == 0
    with other.app_context():
        own = FailureCase(title="Its own case", summary="Not the exported one.", status="published")
        db.session.add(own)
        db.session.commit()
        assert own.id == filed.id
    assert other_runner.invoke(args=["archive", "import", str(out)]).exit_code == 0
    with other.app_context():
        titles = {c.id: (c.title, c.external_id) for c in db.session.scalars(select(FailureCase))}
        assert titles[own.id] == ("Its own case", None)
        assert ("Cold store filed on the web", line["external_id"]) in titles.values()
    close_app(other)


def planner_row_counts() -> dict[str, int]:
    """The row counts the planner holds for failure_case and case_neighbour (none where it holds none)."""
    if db.engine.dialect.name == "postgresql":
        query = "SELECT relname, reltuples FROM pg_class WHERE relname IN ('failure_case', 'case_neighbour')"
    else:  # the first number of each index's sqlite_stat1 row is the table's row count
        if not db.session.scalar(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")):
            return {}
        query = ("SELECT tbl, max(CAST(stat AS INTEGER)) FROM sqlite_stat1 "
                 "WHERE tbl IN ('failure_case', 'case_neighbour') GROUP BY tbl")
    return {table: int(count) for table, count in db.session.execute(text(query)).all()}


def test_bulk_commands_leave_the_planner_statistics_current(app, runner, corpus_subset):
    """After `archive import` and `search neighbours` the planner knows how many rows there are. PostgreSQL's
    autovacuum would tell it only a minute or more later (or never, where it is off): with the counts of the
    empty tables, a case page read its stored nearest cases by walking every case (36 ms instead of 0.3 at
    10,000 cases). SQLite keeps none until ANALYZE: the trends page then sorted every case in scope to find the
    newest (93 ms at 100,000 cases) instead of reading the end of the publication date's index."""
    with in_app(app):
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE failure_case, case_neighbour"))  # counted while empty: 0 rows
            db.session.commit()
        assert planner_row_counts() in ({}, {"failure_case": 0, "case_neighbour": 0})

    imported = runner.invoke(args=["archive", "import", str(corpus_subset)])
    stored = runner.invoke(args=["search", "neighbours"])

    assert imported.exit_code == 0 and stored.exit_code == 0, imported.output + stored.output
    with in_app(app):
        counted = planner_row_counts()
        rows = db.session.scalar(select(func.count()).select_from(CaseNeighbour))
    assert counted == {"failure_case": CORPUS_LINES, "case_neighbour": rows} and rows > 0
