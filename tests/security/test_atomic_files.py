"""`zhigu archive export` and `zhigu backup create` write a complete file or none: a failure midway removes the
temporary file, leaves an older export untouched, and exits non-zero with a message (no traceback). Rows stored
before inputs were checked (a lone surrogate in a JSON column, as the old PATCH stored it) no longer break them."""
import json

from helpers import in_app
from zhigu.archive import transfer
from zhigu.archive.models import FailureCase
from zhigu.extensions import db


def _store_tags(app, case_id, tags):
    """Write tags straight into the row, as the API did before it checked them."""
    with in_app(app):
        db.session.execute(FailureCase.__table__.update().where(FailureCase.id == case_id).values(tags=tags))
        db.session.commit()


def _leftovers(directory, keep=()):
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


def test_an_export_failing_midway_leaves_no_file_and_an_older_export_untouched(app, runner, cast, make_case,
                                                                             tmp_path, monkeypatch):
    make_case(cast.author)
    target = tmp_path / "cases.jsonl"
    target.write_text("the previous export\n", encoding="utf-8")

    def failing_export(session=None):
        yield '{"external_id": "first"}'
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(transfer, "export_cases", failing_export)

    result = runner.invoke(args=["archive", "export", str(target)])

    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception
    assert "No space left on device" in result.output
    assert target.read_text(encoding="utf-8") == "the previous export\n"
    assert _leftovers(tmp_path, keep={"cases.jsonl", "index", "zhigu.sqlite"}) == []


def test_an_export_with_a_stored_nul_fails_with_a_message_and_no_file(app, runner, cast, make_case, tmp_path):
    case = make_case(cast.author)
    _store_tags(app, case.id, ["fine", "nul\x00tag"])
    target = tmp_path / "out" / "cases.jsonl"
    target.parent.mkdir()

    result = runner.invoke(args=["archive", "export", str(target)])

    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception
    assert f"Case {case.id}" in result.output and "tags" in result.output
    assert _leftovers(target.parent) == []


def test_an_export_with_a_stored_surrogate_is_complete_and_valid_utf8(app, runner, cast, make_case, tmp_path):
    first, second = make_case(cast.author), make_case(cast.author, title="The second failure, after the first")
    _store_tags(app, first.id, ["fine", "\ud800"])
    target = tmp_path / "cases.jsonl"

    result = runner.invoke(args=["archive", "export", str(target)])

    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 2
    assert rows[0]["tags"] == ["fine", "\ufffd"]


def test_the_export_round_trips_through_import(app, runner, cast, make_case, tmp_path):
    make_case(cast.author)
    target = tmp_path / "cases.jsonl"
    assert runner.invoke(args=["archive", "export", str(target)]).exit_code == 0

    result = runner.invoke(args=["archive", "import", str(target)])

    assert result.exit_code == 0, result.output
    assert "0 new and 0 updated case(s); 1 unchanged." in result.output  # the same case, matched and kept


def test_a_backup_with_a_stored_nul_fails_with_a_message_and_leaves_nothing(app, runner, cast, make_case, tmp_path):
    case = make_case(cast.author)
    _store_tags(app, case.id, ["nul\x00tag"])
    backups = tmp_path / "backups"

    result = runner.invoke(args=["backup", "create", str(backups / "today")])

    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception
    assert "No backup was made" in result.output and f"Case {case.id}" in result.output
    assert _leftovers(backups) == []


def test_a_backup_with_a_stored_surrogate_is_made(app, runner, cast, make_case, tmp_path):
    case = make_case(cast.author)
    _store_tags(app, case.id, ["fine", "\ud800"])

    result = runner.invoke(args=["backup", "create", str(tmp_path / "backup")])

    assert result.exit_code == 0, result.output
    lines = (tmp_path / "backup" / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["tags"] == ["fine", "\ufffd"]
