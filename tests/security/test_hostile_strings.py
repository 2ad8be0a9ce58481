"""Hostile strings in every user-supplied text field end up as inert text on every page that shows them.

Each field gets its own marker, so the test also proves the field was shown (escaped) where it is checked.
"""
import re
from html.parser import HTMLParser

import pytest

from helpers import in_app, log_in_session, reload
from zhigu.auth import services as auth_services
from zhigu.comments import services as comment_services
from zhigu.extensions import db
from zhigu.initiatives import services as initiative_services
from zhigu.links import services as link_services

#: Bidirectional controls that can make text read differently from what it is ("exe.gpj" shown as "jpg.exe").
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background"}


def hostile(marker: str, short: bool = False) -> str:
    """A string mixing the usual attacks, tagged with `marker`; `short` fits fields of up to 120 characters."""
    if short:
        return f'{marker}"><img src=x onerror=alert(1)><script>alert(1)</script>\u202egpj.exe'
    return (f"{marker} <script>alert('{marker}')</script> \"><img src=x onerror=alert(1)> "
            f"'><svg/onload=alert(1)> [click me](javascript:alert(1)) [again](JaVaScRiPt:alert(1)) "
            f"[encoded](&#106;avascript:alert(1)) <a href=\"javascript:alert(1)\">raw link</a> "
            f"![pic](javascript:alert(1)) [data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==) "
            f"<iframe src=\"//evil.example\"></iframe> {{{{ 'SSTI-' ~ 7*7 }}}} invoice\u202egpj.exe \u2066x\u2069")


class ExecutableMarkup(HTMLParser):
    """Collect whatever in a page could run script: script elements, event handlers, script URLs, frames."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            src = attributes.get("src") or ""
            if not src.startswith("/static/"):
                self.problems.append(f"<script> without a same-site src: {attrs}")
            self._in_script = True
        if tag in {"iframe", "object", "embed", "frame", "base"}:
            self.problems.append(f"<{tag}> {attrs}")
        if tag == "img" and attributes.get("src") == "x":
            self.problems.append(f"<img src=x> {attrs}")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler {name}={value!r} on <{tag}>")
            if name in URL_ATTRIBUTES and value:
                scheme = re.sub(r"[\x00-\x20]", "", value).lower()
                if scheme.startswith(("javascript:", "vbscript:", "data:")):
                    self.problems.append(f"{name}={value!r} on <{tag}>")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append(f"inline script: {data[:80]!r}")


def assert_inert(page: str, where: str, markers=()) -> None:
    parser = ExecutableMarkup()
    parser.feed(page)
    parser.close()
    assert not parser.problems, f"{where}: " + "; ".join(parser.problems)
    assert "SSTI-49" not in page, f"{where}: a template expression in user text was evaluated"
    assert not BIDI_CONTROLS.search(page), f"{where}: a bidirectional control character reached the page"
    for marker in markers:
        assert marker in page, f"{where}: {marker} is not shown, so this page does not test that field"


@pytest.fixture
def hostile_world(app, make_park, make_user, make_case):
    """A park, people and a case, comment, link and initiative whose every free-text field is hostile."""
    park = make_park("hostile-park", name=hostile("PARKNAME", short=True), region=hostile("PARKREGION", short=True))
    author = make_user("curator", park, display_name=hostile("AUTHORNAME", short=True))
    member = make_user("member", park, display_name=hostile("MEMBERNAME", short=True))
    admin = make_user("admin", display_name=hostile("ADMINNAME", short=True))
    fields = {name: hostile(name.upper()) for name in ("summary", "narrative", "warning_signs", "lessons")}
    case = make_case(author, title=hostile("CASETITLE", short=True), region=hostile("CASEREGION", short=True),
                     org_name=hostile("ORGNAME", short=True), **fields)
    other = make_case(author, title="A plain case about street lights")
    with in_app(app):
        comment = comment_services.create_comment(reload(member), reload(case), {"body": hostile("COMMENTBODY")})
        link = link_services.create_link(reload(author), reload(case), {
            "target_id": other.id, "type": "same_root_cause", "note": hostile("LINKNOTE")[:500]})
        initiative = initiative_services.register_initiative(reload(member), {
            "title": hostile("INITTITLE", short=True), "description": hostile("INITDESC")})
        auth_services.create_token(reload(member), hostile("TOKENNAME", short=True)[:100])
        ids = {"case": case.id, "other": other.id, "comment": comment.id, "link": link.id,
               "initiative": initiative.id}
    return {"author": author, "member": member, "admin": admin, "ids": ids}


def _login(client, user):
    log_in_session(client, user)


def test_case_pages_show_hostile_fields_as_text(app, hostile_world):
    ids = hostile_world["ids"]
    client = app.test_client()
    _login(client, hostile_world["member"])

    page = client.get(f"/cases/{ids['case']}").get_data(as_text=True)

    assert_inert(page, "case page", ["CASETITLE", "SUMMARY", "NARRATIVE", "WARNING_SIGNS", "LESSONS", "ORGNAME",
                                     "AUTHORNAME", "COMMENTBODY", "MEMBERNAME", "LINKNOTE"])
    assert "&lt;script&gt;" in page or "&lt;script" in page  # escaped, not dropped silently everywhere


@pytest.mark.parametrize("url, markers", [
    ("/", ["CASETITLE"]),
    ("/search?sort=newest", ["CASETITLE"]),
    ("/search?q=CASETITLE", ["CASETITLE"]),
    ("/search?q=%3Cscript%3Ealert(1)%3C/script%3E%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E", []),
    ("/cases/{other}", ["LINKNOTE"]),
    ("/cases/{case}/edit", ["CASETITLE", "SUMMARY", "LESSONS"]),
    ("/comments/{comment}/hide", ["COMMENTBODY"]),
    ("/initiatives/{initiative}", ["INITTITLE", "INITDESC"]),
    ("/admin/users", ["AUTHORNAME", "MEMBERNAME", "PARKNAME"]),
    ("/admin/parks", ["PARKNAME", "PARKREGION"]),
    ("/trends", []),
])
def test_listing_and_form_pages_show_hostile_fields_as_text(app, hostile_world, url, markers):
    client = app.test_client()
    _login(client, hostile_world["admin"])

    response = client.get(url.format(**hostile_world["ids"]))

    assert response.status_code == 200
    assert_inert(response.get_data(as_text=True), url, markers)


@pytest.mark.parametrize("url, markers", [("/profile", ["TOKENNAME"]), ("/my/initiatives", ["INITTITLE"])])
def test_member_pages_show_hostile_fields_as_text(app, hostile_world, url, markers):
    client = app.test_client()
    _login(client, hostile_world["member"])

    response = client.get(url)

    assert response.status_code == 200
    assert_inert(response.get_data(as_text=True), url, markers)


def test_the_api_answers_hostile_text_as_json_that_browsers_will_not_sniff(app, hostile_world):
    response = app.test_client().get(f"/api/v1/cases/{hostile_world['ids']['case']}")

    assert response.mimetype == "application/json"
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.get_json()["title"].startswith("CASETITLE")


def test_the_checker_catches_executable_markup():
    """The checks above would fail on what they look for."""
    for page in ('<p onclick="x()">', "<script>alert(1)</script>", '<a href=" javascript:alert(1)">',
                 "<img src=x onerror=alert(1)>", "<iframe src=//x>", "SSTI-49", "a\u202eb"):
        with pytest.raises(AssertionError):
            assert_inert(page, "sample")
    assert_inert('<script src="/static/zhigu.js" defer></script><p>&lt;script&gt;</p>', "sample")
