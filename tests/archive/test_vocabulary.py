"""CaseStatus and Visibility: the values the database, JSON and exports carry, and their labels in both languages."""
import json
import re
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import text

from helpers import in_app
from zhigu.archive.models import UNPUBLISHED_STATUSES, CaseStatus, FailureCase, Visibility
from zhigu.archive.schemas import FailureCaseSchema
from zhigu.extensions import db

ROOT = Path(__file__).resolve().parents[2]


def test_values_are_the_strings_stored_before_the_enums():
    assert [s.value for s in CaseStatus] == ["draft", "in_review", "changes_requested", "rejected", "published",
                                             "retracted"]
    assert [v.value for v in Visibility] == ["public", "park", "private"]
    assert set(UNPUBLISHED_STATUSES) == set(CaseStatus) - {CaseStatus.published, CaseStatus.retracted}
    assert json.dumps({"status": CaseStatus.in_review}) == '{"status": "in_review"}'
    assert f"{Visibility.park}" == "park"


def test_a_stored_row_reads_back_as_members_and_plain_strings_query_it(app, make_case, cast):
    case = make_case(cast.author, status="draft", visibility="park")
    with in_app(app):
        raw = db.session.execute(text("SELECT status, visibility FROM failure_case WHERE id = :id"),
                                 {"id": case.id}).one()
        loaded = db.session.get(FailureCase, case.id)

        assert tuple(raw) == ("draft", "park")
        assert loaded.status is CaseStatus.draft and loaded.visibility is Visibility.park
        assert db.session.query(FailureCase).filter(FailureCase.status == "draft").count() == 1


@pytest.mark.parametrize("language, draft, park", [("en", "Draft", "My park"), ("zh", "草稿", "本园区")])
def test_labels_follow_the_page_language(app, language, draft, park):
    with app.test_request_context(), force_locale(language):
        assert str(CaseStatus.draft.label) == draft
        assert str(Visibility.park.label) == park
        assert [value for value, _label, _help in Visibility.choices()] == ["public", "park", "private"]


def test_the_schema_accepts_exactly_the_visibilities_and_the_importable_statuses():
    schema = FailureCaseSchema(partial=True)

    assert schema.load({"visibility": "park"})["visibility"] == "park"
    assert "visibility" in schema.validate({"visibility": "friends"})
    assert schema.load({"status": "retracted"})["status"] == "retracted"
    assert "status" in schema.validate({"status": "in_review"})  # reached through zhigu.reviews only


def test_templates_compare_statuses_through_the_enums():
    """No case-status or visibility literal left in the templates that show cases."""
    pages = ["_macros.html", "archive/detail.html", "archive/form.html", "archive/my_cases.html",
             "reviews/_panel.html", "links/_panel.html"]
    for page in pages:
        source = (ROOT / "templates" / page).read_text()
        for value in [*CaseStatus, *Visibility]:
            for quote in "'\"":
                assert f"status == {quote}{value}{quote}" not in source, page
                assert f"status != {quote}{value}{quote}" not in source, page
                assert f"visibility == {quote}{value}{quote}" not in source, page
                assert f"visibility != {quote}{value}{quote}" not in source, page


def test_my_cases_names_each_visibility_by_its_label(auth, make_case, cast):
    make_case(cast.author, status="draft", title="A park draft", visibility="park")
    make_case(cast.author, title="A private case", visibility="private")

    body = auth.login(cast.author).get("/my/cases").get_data(as_text=True)

    assert "My park" in body and "Private" in body and "Draft" in body


def test_the_archive_pages_and_services_know_no_search_engine():
    """Similar cases reach the case page through zhigu.search's template global, not an import of the archive."""
    for module in ("views", "services", "models", "permissions", "schemas", "transfer"):
        source = (ROOT / "zhigu" / "archive" / f"{module}.py").read_text()
        assert not re.search(r"^\s*(from|import) zhigu\.search", source, re.MULTILINE), module
