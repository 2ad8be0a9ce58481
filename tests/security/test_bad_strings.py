"""Text no database or file can hold (NUL, an unpaired surrogate), ids no integer column can hold (floats such
as 1e308 and 3e9 included), JSON nested thousands deep and text longer than its column: each is a 4xx with a
message on every way in (JSON API, HTML forms, query strings, imports, the command line), never a 500, and
never stored, so pages, exports and backups keep working. Bidirectional controls never reach a rendered page
or the markdown preview."""
import json

import pytest
from sqlalchemy import func, select

from helpers import case_data, in_app, write_jsonl
from zhigu.archive.models import FailureCase
from zhigu.attempts import services as attempt_services
from zhigu.auth.models import User
from zhigu.comments import services as comment_services
from zhigu.extensions import db
from zhigu.initiatives import services as initiative_services

UNSTORABLE = "This text holds a character that cannot be stored (NUL or an unpaired surrogate)."
#: A lone surrogate (what JSON's "\ud800" escape decodes to) and a NUL byte.
BAD = {"surrogate": "bad \ud800 text", "nul": "bad \x00 text"}


@pytest.fixture
def world(app, cast, make_case):
    """A published case by the author, a second case, a comment on the first and an initiative of member_a."""
    case = make_case(cast.author, title="The case that must keep rendering")
    other = make_case(cast.author, title="Another failure in the same park")
    with in_app(app):
        author = db.session.get(User, cast.author.id)
        member = db.session.get(User, cast.member_a.id)
        comment = comment_services.create_comment(author, db.session.get(FailureCase, case.id), {"body": "A comment."})
        initiative = initiative_services.register_initiative(member, {
            "title": "Street lights again", "description": "Networked street lights for an industrial park."})
        failed = initiative_services.register_initiative(member, {
            "title": "Street lights, third try", "description": "Networked street lights for a business park."})
        attempt_services.record_outcome(member, failed, {"outcome": "failed"})
        ids = {"case": case.id, "other": other.id, "comment": comment.id, "initiative": initiative.id,
               "failed": failed.id}
    return ids


def _json_requests(bad: str):
    """(who, method, path, body, field with the error): every JSON way in for text."""
    return [
        ("author", "POST", "/api/v1/cases", case_data(title=f"Title {bad}"), "title"),
        ("author", "PATCH", "/api/v1/cases/{case}", {"tags": ["fine", bad]}, "tags"),
        ("author", "PATCH", "/api/v1/cases/{case}", {"narrative": bad}, "narrative"),
        ("author", "PATCH", "/api/v1/cases/{case}", {"target_markets": ["KZ", bad]}, "target_markets"),
        ("author", "POST", "/api/v1/cases/{case}/retract", {"reason": bad}, "reason"),
        ("member_a", "POST", "/api/v1/cases/{case}/comments", {"body": bad}, "body"),
        ("author", "PATCH", "/api/v1/comments/{comment}", {"body": bad}, "body"),
        ("member_a", "POST", "/api/v1/initiatives",
         {"title": f"Title {bad}", "description": "Networked street lights for a park."}, "title"),
        ("member_a", "PATCH", "/api/v1/initiatives/{initiative}", {"outcome": "launched", "note": bad}, "note"),
        ("member_a", "POST", "/api/v1/initiatives/{initiative}/feedback",
         {"case_id": "{case}", "verdict": "relevant", "note": bad}, "note"),
        ("member_a", "POST", "/api/v1/similar", {"description": bad}, "description"),
        ("member_a", "POST", "/api/v1/subscriptions", {"kind": "search", "target": bad}, "target"),
        ("author", "POST", "/api/v1/cases/{case}/links",
         {"target_id": "{other}", "type": "related", "note": bad}, "note"),
    ]


def _fill(value, ids):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    return value


def _send_json(api, method, path, body):
    # json.dumps escapes the surrogate as \ud800 and NUL as \u0000, as a hostile client would send them
    return api.open(path, method, data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("kind", sorted(BAD))
@pytest.mark.parametrize("index", range(len(_json_requests("x"))))
def test_unstorable_text_in_json_is_422_and_nothing_breaks(app, api_as, cast, world, client, kind, index):
    who, method, path, body, field = _json_requests(BAD[kind])[index]

    response = _send_json(api_as(getattr(cast, who)), method, path.format(**world), _fill(body, world))

    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["errors"][field] == [UNSTORABLE]
    page = client.get(f"/cases/{world['case']}")
    assert page.status_code == 200
    assert client.get(f"/api/v1/cases/{world['case']}").status_code == 200


def test_the_message_is_translated_for_the_api(api_as, cast, world):
    response = api_as(cast.author).open(f"/api/v1/cases/{world['case']}", "PATCH", headers={"Accept-Language": "zh"},
                                        data=json.dumps({"title": "Title \ud800"}), content_type="application/json")

    assert response.status_code == 422
    assert "无法保存" in response.get_json()["errors"]["title"][0]


def _form_requests(ids):
    """(path, form data with NUL in one field, field): HTML forms; a form cannot carry a surrogate (it decodes
    as U+FFFD), but it can carry NUL (%00)."""
    nul = BAD["nul"]
    return [
        ("/cases/new", {**case_data(title=f"Title {nul}"), "causes": "market.no_demand"}, "title"),
        (f"/cases/{ids['case']}/edit", {**case_data(), "causes": "market.no_demand", "tags": f"fine, {nul}"}, "tags"),
        (f"/cases/{ids['case']}/comments", {"body": nul}, "body"),
        ("/initiatives/new", {"title": f"Title {nul}", "description": "Networked street lights for a park."}, "title"),
        ("/subscriptions", {"kind": "search", "target": nul}, "target"),
        (f"/cases/{ids['case']}/links", {"target_id": str(ids["other"]), "type": "related", "note": nul}, "note"),
    ]


@pytest.mark.parametrize("index", range(6))
def test_nul_in_html_forms_is_422_with_the_message_on_the_page(app, cast, world, auth, index):
    path, data, field = _form_requests(world)[index]
    auth.login(cast.author)

    response = auth.client.post(path, data=data)

    assert response.status_code == 422, response.get_data(as_text=True)[:2000]
    assert UNSTORABLE in response.get_data(as_text=True)
    assert auth.client.get(f"/cases/{world['case']}").status_code == 200


def test_a_login_with_nul_is_refused_not_an_error(client, cast):
    response = client.post("/login", data={"email": "curator1@example.org\x00", "password": "x\x00"})

    assert response.status_code < 500


@pytest.mark.parametrize("path", [
    "/search?q=%00", "/search?q=lights%00&sector=%00", "/api/v1/cases?q=%00", "/api/v1/cases?sector=x%00",
    "/search?q=%ED%A0%80", "/cases?q=%00", "/trends?scope=region&region=%00", "/reviews?q=%00"])
def test_nul_in_query_strings_is_not_an_error(auth, cast, path):
    auth.login(cast.manager_a)

    response = auth.client.get(path)

    assert response.status_code < 500
    if "%00" in path:
        assert response.status_code == 400


# -- ids and numbers -----------------------------------------------------------------------------------------

def _id_requests():
    return [
        ("member_a", "POST", "/api/v1/notifications/read", {"ids": ["{number}"]}, "ids"),
        ("member_a", "PATCH", "/api/v1/initiatives/{initiative}", {"second_attempt_of": ["{number}"]},
         "second_attempt_of"),
        ("admin", "POST", "/api/v1/initiatives/{failed}/post-mortem", {"second_attempt_of": ["{number}"]},
         "second_attempt_of"),
        ("author", "POST", "/api/v1/cases/{case}/links", {"target_id": "{number}", "type": "related"}, "target_id"),
        ("member_a", "POST", "/api/v1/cases/{case}/comments", {"body": "A reply.", "parent_id": "{number}"},
         "parent_id"),
        ("member_a", "POST", "/api/v1/initiatives/{initiative}/feedback",
         {"case_id": "{number}", "verdict": "relevant"}, "case_id"),
        ("author", "PATCH", "/api/v1/cases/{case}", {"team_size": "{number}"}, "team_size"),
    ]


@pytest.mark.parametrize("number", [1e308, 3e9, -3e9, 2.5, "1e308"])
@pytest.mark.parametrize("index", range(len(_id_requests())))
def test_ids_written_as_floats_are_422(app, api_as, cast, world, number, index):
    who, method, path, body, field = _id_requests()[index]
    body = json.loads(json.dumps(_fill(body, world)).replace('"{number}"', json.dumps(number)))

    response = _send_json(api_as(getattr(cast, who)), method, path.format(**world), body)

    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in response.get_json()["errors"]


def test_integral_floats_within_range_still_pass(api_as, cast, world):
    response = _send_json(api_as(cast.member_a), "POST", "/api/v1/notifications/read", {"ids": [1.0, 2]})

    assert response.status_code == 200


@pytest.mark.parametrize("path, method", [("/api/v1/cases", "POST"), ("/api/v1/notifications/read", "POST"),
                                          ("/api/v1/cases/{case}", "PATCH"), ("/api/v1/similar", "POST")])
@pytest.mark.parametrize("shape", ["array", "in_object"])
def test_json_nested_thousands_deep_is_400(api_as, cast, world, path, method, shape):
    deep = "[" * 3000 + "]" * 3000
    body = deep if shape == "array" else '{"tags": ' + deep + ', "ids": ' + deep + "}"

    response = api_as(cast.author).open(path.format(**world), method, data=body, content_type="application/json")

    assert response.status_code == 400
    assert "nested more than 64 levels" in response.get_json()["error"]



def test_an_unterminated_string_after_deep_brackets_is_a_plain_400(client, world):
    """The depth check skipped strings with a regular expression that was quadratic on unterminated ones:
    32 KB of this kept a worker busy 5 s, and 512 KB (as sent here, by a visitor) about twenty minutes."""
    body = "[" * 70 + '"' + '\\"' * 256_000

    response = client.post("/api/v1/similar", data=body, content_type="application/json")

    assert response.status_code == 400


@pytest.mark.parametrize("tag", ['"\u00b2"', '"99999999999"', '"-1"'])
def test_an_if_match_that_is_no_version_is_400(api_as, cast, world, tag):
    """'²' passed str.isdigit() and then failed int(): a 500."""
    response = api_as(cast.author).patch(f"/api/v1/cases/{world['case']}", json={"tags": ["x"]},
                                         headers={"If-Match": tag.encode().decode("unicode_escape").encode("latin-1")})

    assert response.status_code == 400


@pytest.mark.parametrize("kind, target", [("case", "²"), ("case", "9" * 23), ("initiative", "²")])
def test_a_subscription_to_an_id_no_column_holds_is_422(api_as, cast, kind, target):
    """'²' passed str.isdigit() and then failed int(); 23 digits overflowed even SQLite: each a 500."""
    response = api_as(cast.member_a).post("/api/v1/subscriptions", json={"kind": kind, "target": target})

    assert response.status_code == 422 and "target" in response.get_json()["errors"]

def test_ordinary_nesting_passes(api_as, cast, world):
    response = _send_json(api_as(cast.author), "PATCH", f"/api/v1/cases/{world['case']}",
                          {"tags": ["fine"], "unknown": [[[[{"a": [1]}]]]]})

    assert response.status_code == 200


@pytest.mark.parametrize("target", ["q=" + "水" * 400, "水" * 501])
def test_a_saved_search_longer_than_its_column_is_422(app, api_as, auth, cast, target):
    response = _send_json(api_as(cast.member_a), "POST", "/api/v1/subscriptions", {"kind": "search", "target": target})
    auth.login(cast.member_a)
    page = auth.client.post("/subscriptions", data={"kind": "search", "target": target})

    assert response.status_code == 422
    assert "target" in response.get_json()["errors"]
    assert page.status_code == 422


# -- bidirectional controls ----------------------------------------------------------------------------------

def test_the_markdown_preview_drops_bidi_controls(auth, cast):
    auth.login(cast.author)

    response = auth.client.post("/preview", data={"text": "invoice\u202egpj.exe **x** \u2066y\u2069 \u200fz"})

    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert "invoicegpj.exe" in fragment and "<strong>x</strong>" in fragment
    assert not any(ch in fragment for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def test_strip_bidi_is_there_for_other_outputs():
    from zhigu.validation import strip_bidi

    assert strip_bidi("a\u202eb\u2067c\u200ed") == "abcd"


# -- rows stored before the checks ---------------------------------------------------------------------------

def _store_legacy_surrogate(app, case_id):
    """A JSON column holds an escaped lone surrogate (SQLite, and PostgreSQL's `json`): what the old PATCH stored."""
    with in_app(app):
        db.session.execute(FailureCase.__table__.update().where(FailureCase.id == case_id)
                           .values(tags=["fine", "\ud800"]))
        db.session.commit()


def test_a_stored_surrogate_no_longer_breaks_the_case_page(app, client, world):
    _store_legacy_surrogate(app, world["case"])

    response = client.get(f"/cases/{world['case']}")

    assert response.status_code == 200
    assert "\ufffd" in response.get_data(as_text=True)


def test_editing_a_case_with_a_stored_surrogate_is_not_blocked_by_it(app, api_as, cast, world):
    _store_legacy_surrogate(app, world["case"])

    response = _send_json(api_as(cast.author), "PATCH", f"/api/v1/cases/{world['case']}", {"tags": ["repaired"]})

    assert response.status_code == 200
    with in_app(app):
        assert db.session.get(FailureCase, world["case"]).tags == ["repaired"]


# -- imports and the command line ----------------------------------------------------------------------------

def _line(external_id, **overrides):
    return json.dumps({**case_data(), "external_id": external_id, **overrides})


def test_import_reports_every_bad_line_and_writes_nothing(app, runner, tmp_path):
    deep = "[" * 3000 + "]" * 3000
    rows = [
        _line("good-1"),
        _line("surrogate-tag", tags=["fine", "\ud800"]),          # line 2
        _line("nul-title", title="Nul \x00 title"),               # line 3
        _line("float-team", team_size=1e308),                     # line 4
        '{"external_id": "deep", "title": ' + deep + "}",       # line 5
        _line("long-title", title="x" * 5000),                    # line 6
        _line("surrogate-reason", status="retracted", retraction_reason="\udfff"),  # line 7
        _line("nul-key-in-list", causes=["market.no_demand\x00"]),  # line 8
    ]
    path = write_jsonl(tmp_path / "cases.jsonl", rows)
    with open(path, "ab") as out:
        out.write(b'{"external_id": "latin-1", "title": "caf\xe9 failure"}\n')  # line 9: not UTF-8

    result = runner.invoke(args=["archive", "import", str(path)])

    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception  # a message, not a traceback
    output = result.output
    for number, field in [(2, "tags"), (3, "title"), (4, "team_size"), (5, "_line"), (6, "title"),
                          (7, "retraction_reason"), (8, "causes"), (9, "_line")]:
        assert f"line {number}: {field}: " in output, output
    assert "line 1:" not in output
    assert "nested more than 64 levels" in output
    assert "Not valid UTF-8" in output
    with in_app(app):
        assert db.session.scalar(select(func.count(FailureCase.id))) == 0


def test_a_command_line_argument_with_a_surrogate_is_refused(app, runner):
    # click decodes bytes of argv that are not UTF-8 as lone surrogates (surrogateescape)
    result = runner.invoke(args=["park", "create", "odd-park", "--name", "Park \udcff name"])

    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception
    assert "cannot be stored" in result.output


# -- every schema --------------------------------------------------------------------------------------------

def _all_schemas():
    import importlib
    import inspect
    import pkgutil

    import marshmallow

    import zhigu
    from zhigu.schemas import OutputSchema

    schemas = {}
    for module_info in pkgutil.iter_modules(zhigu.__path__):
        try:
            module = importlib.import_module(f"zhigu.{module_info.name}.schemas")
        except ModuleNotFoundError:
            continue
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, marshmallow.Schema) and value.__module__ == module.__name__ \
                    and not issubclass(value, OutputSchema):  # what the API answers is dumped, never loaded
                schemas[f"{module_info.name}.{name}"] = value
    return schemas


def _text_fields(schema):
    from marshmallow import fields

    for name, field in schema.load_fields.items():
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, (fields.String, fields.Raw)) and not isinstance(inner, (fields.Number, fields.Boolean,
                                                                                       fields.Date, fields.DateTime)):
            yield field.data_key or name, isinstance(field, fields.List)


@pytest.mark.parametrize("name", sorted(_all_schemas()))
def test_every_schema_refuses_unstorable_text_in_every_text_field(app, name):
    from marshmallow import ValidationError

    from zhigu.schemas import BaseSchema

    schema_class = _all_schemas()[name]
    assert issubclass(schema_class, BaseSchema), f"{name} does not get BaseSchema's checks"
    schema = schema_class()
    checked = 0
    for key, is_list in _text_fields(schema):
        for bad in BAD.values():
            with app.test_request_context(), pytest.raises(ValidationError) as failure:
                schema.load({key: [bad] if is_list else bad}, partial=True)
            assert failure.value.messages.get(key) == [UNSTORABLE], (name, key)
            checked += 1
    assert checked or not list(_text_fields(schema))
