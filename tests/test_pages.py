"""HTML pages: who may open each one, what it shows and hides, and how its forms answer mistakes.

Everything goes through the test client with real commits (the search hooks index as in production);
users log in through the login form. Pages are read with a small HTML tree, so assertions are about
elements (a field's wrapper holds its error; a form holds its CSRF token) rather than substrings.
"""
import re
from html.parser import HTMLParser

import pytest

from helpers import PASSWORD, case_data, in_app
from zhigu.archive.models import Cause, FailureCase
from zhigu.auth.models import ApiToken, User
from zhigu.extensions import db
from zhigu.initiatives.models import Initiative, Suggestion

# -- reading HTML ---------------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict, parent=None):
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs) -> list["Node"]:
        """Descendants with this tag and these attribute values (class_ matches one class)."""
        wanted_class = attrs.pop("class_", None)
        return [node for node in self.iter()
                if (tag is None or node.tag == tag)
                and all(node.attrs.get(key.replace("_", "-")) == value for key, value in attrs.items())
                and (wanted_class is None or wanted_class in node.attrs.get("class", "").split())]

    def find(self, tag: str | None = None, **attrs) -> "Node | None":
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def by_id(self, element_id: str) -> "Node":
        node = self.find(id=element_id)
        assert node is not None, f"no element with id={element_id!r}"
        return node

    @property
    def text(self) -> str:
        parts = []
        for child in self.children:
            parts.append(child.text if isinstance(child, Node) else child)
        return re.sub(r"\s+", " ", "".join(parts)).strip()


class TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.root = self.current = Node("#document", {})

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, {k: (v or "") for k, v in attrs}, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def page(response) -> Node:
    """Parse a response body into a Node tree."""
    builder = TreeBuilder()
    builder.feed(response.get_data(as_text=True))
    builder.close()
    return builder.root


def field(tree: Node, name: str) -> Node:
    """The wrapper the form macros put around the input named `name` (label, help, errors and input)."""
    return tree.by_id(f"f-{name}-field")


def field_error_text(tree: Node, name: str) -> str:
    errors = field(tree, name).find("ul", class_="field-errors")
    return errors.text if errors is not None else ""


def links(tree: Node) -> list[str]:
    return [a.attrs.get("href", "") for a in tree.find_all("a")]


def main_text(response) -> str:
    return page(response).find("main").text


def assert_login_redirect(response):
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


# -- fixtures -------------------------------------------------------------------------------------

@pytest.fixture
def login(client):
    """`login(user)` logs the client in through the form; `login(None)` stays a visitor."""

    def login(user):
        client.post("/logout")
        if user is not None:
            response = client.post("/login", data={"email": user.email, "password": PASSWORD})
            assert response.status_code == 302, "the login form refused the test user"
        return client

    return login


@pytest.fixture
def public_case(make_case, cast):
    return make_case(cast.author, title="Solar kiosks for villages in Kazakhstan",
                     summary="Solar kiosks were sold to villages, but nobody paid for the electricity.",
                     sector="energy", target_markets=["KZ"],
                     causes=["market.no_demand", "money.cash_out"], primary_cause="money.cash_out")


def case_form(**overrides) -> dict:
    """What the case form posts for a complete case."""
    data = {
        "title": "Cold-chain hub for Uzbek fruit",
        "summary": "A park-funded cold-chain warehouse in Tashkent never filled up.",
        "narrative": "The warehouse opened in 2019. Exporters kept using their own trucks.",
        "warning_signs": "No exporter signed a letter of intent.",
        "lessons": "Sign anchor customers before building.",
        "causes": ["market.no_demand", "partners.unreliable_partner"],
        "primary_cause": "partners.unreliable_partner",
        "sector": "logistics",
        "region": "Xinjiang/Urumqi",
        "target_markets": ["UZ", "KZ"],
        "stage_reached": "launched",
        "started_on": "2019-03-01",
        "ended_on": "2021-06-30",
        "money_lost": "2500000",
        "currency": "CNY",
        "team_size": "12",
        "org_name": "Urumqi Cold Chain Co.",
        "org_type": "private",
        "tags": "cold chain, 冷链",
        "source_url": "https://example.org/report",
        "language": "",
        "visibility": "public",
        "action": "draft",
    }
    data.update(overrides)
    return data


# -- every page, and who may open it ----------------------------------------------------------------

def test_public_pages_render_for_visitors(client, public_case):
    for url in ["/", "/search", "/search?q=solar", f"/cases/{public_case.id}", "/login", "/signup"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.mimetype == "text/html"


@pytest.mark.parametrize("path", [
    "/cases/new", "/cases/{case}/edit", "/cases/{case}/retract", "/my/cases", "/my/initiatives",
    "/initiatives/new", "/profile", "/admin/users", "/admin/parks", "/admin/causes",
])
def test_visitors_are_sent_to_log_in(client, public_case, path):
    assert_login_redirect(client.get(path.format(case=public_case.id)))


def test_login_returns_to_the_page_asked_for(client, cast):
    response = client.get("/my/initiatives")
    login_page = page(client.get(response.headers["Location"]))
    next_input = login_page.find("input", name="next")
    assert next_input.attrs["value"].startswith("/my/initiatives")

    response = client.post("/login", data={"email": cast.member_a.email, "password": PASSWORD,
                                           "next": next_input.attrs["value"]})
    assert response.headers["Location"].startswith("/my/initiatives")


@pytest.mark.parametrize("path, status", [
    ("/cases/new", 403), ("/admin/users", 403), ("/admin/parks", 403), ("/admin/causes", 403),
    ("/admin/users/1", 403), ("/admin/causes/1", 403), ("/cases/{case}/edit", 403), ("/cases/{case}/retract", 403),
    ("/cases/{private}", 404), ("/cases/{draft}", 404), ("/cases/{private}/edit", 404), ("/initiatives/{other}", 404),
])
def test_members_are_refused_what_they_may_not_do(app, login, make_case, cast, public_case, path, status):
    private = make_case(cast.curator_b, visibility="private")
    draft = make_case(cast.curator_b, status="draft")
    client = login(cast.member_b)
    client.post("/initiatives/new", data={"title": "Another founder's plan",
                                          "description": "Solar kiosks for villages in Kazakhstan."})
    with in_app(app):
        other = db.session.scalar(db.select(Initiative.id))
    client = login(cast.member_a)

    response = client.get(path.format(case=public_case.id, private=private.id, draft=draft.id, other=other))

    assert response.status_code == status
    assert page(response).find(class_="error-page") is not None


@pytest.mark.parametrize("who, paths", [
    ("member_a", ["/", "/my/initiatives", "/initiatives/new", "/profile"]),
    ("author", ["/cases/new", "/my/cases", "/cases/{case}/edit", "/cases/{case}/retract"]),
    ("manager_a", ["/cases/{case}/edit", "/my/cases"]),
    ("admin", ["/admin/users", "/admin/users/{user}", "/admin/parks", "/admin/parks/{park}", "/admin/causes",
               "/admin/causes/{cause}", "/cases/{case}/edit"]),
])
def test_pages_render_for_the_roles_they_serve(app, login, cast, public_case, who, paths):
    client = login(getattr(cast, who))
    with in_app(app):
        cause_id = db.session.scalar(db.select(Cause.id))
    for path in paths:
        url = path.format(case=public_case.id, user=cast.member_a.id, park=cast.park_a.id, cause=cause_id)
        response = client.get(url)
        assert response.status_code == 200, url


def test_unknown_pages_get_the_error_page(client):
    response = client.get("/cases/999999")

    assert response.status_code == 404
    tree = page(response)
    assert "404" in tree.find(class_="error-page").text
    assert "No such case." in tree.find("main").text


# -- layout -----------------------------------------------------------------------------------------

def nav_links(client) -> dict[str, str]:
    nav = page(client.get("/")).find("nav", class_="site-nav")
    return {a.text: a.attrs["href"] for a in nav.find_all("a")}


def test_navigation_follows_the_role(login, cast):
    visitor = nav_links(login(None))
    assert {"Archive", "Search", "Register an initiative", "Log in", "Sign up"} <= set(visitor)
    assert "My cases" not in visitor and "Admin" not in visitor and "My initiatives" not in visitor

    member = nav_links(login(cast.member_a))
    assert "My initiatives" in member and cast.member_a.display_name in member
    assert "My cases" not in member and "Admin" not in member and "Log in" not in member

    assert "My cases" in nav_links(login(cast.curator_a))
    assert "Admin" not in nav_links(login(cast.manager_a))
    assert nav_links(login(cast.admin))["Admin"] == "/admin/users"


def test_logout_is_a_post_form_with_a_csrf_token(login, cast):
    tree = page(login(cast.member_a).get("/"))
    form = tree.find("form", action="/logout")
    assert form.attrs["method"] == "post"
    assert form.find("input", name="csrf_token").attrs["value"]


def test_header_search_box_is_on_every_page(login, cast, public_case):
    client = login(cast.member_a)
    for url in ["/", f"/cases/{public_case.id}", "/profile", "/search?q=solar"]:
        search = page(client.get(url)).find("form", class_="header-search")
        assert search.attrs["action"] == "/search"
        assert search.find("input", name="q") is not None


def test_flashed_messages_are_shown(login, cast, public_case):
    client = login(cast.author)
    response = client.post(f"/cases/{public_case.id}/retract", data={"reason": "Facts were wrong."},
                           follow_redirects=True)
    assert "The case was retracted." in page(response).find(class_="flashes").text


ALL_PAGES = ["/", "/search?q=solar", "/cases/{case}", "/cases/new", "/cases/{case}/edit", "/cases/{case}/retract",
             "/my/cases", "/initiatives/new", "/my/initiatives", "/profile", "/admin/users", "/admin/users/{user}",
             "/admin/parks", "/admin/parks/{park}", "/admin/causes", "/admin/causes/{cause}"]


def test_every_post_form_carries_a_csrf_token_and_every_input_a_label(app, login, cast, public_case):
    client = login(cast.admin)
    with in_app(app):
        cause_id = db.session.scalar(db.select(Cause.id))
    for path in ALL_PAGES:
        url = path.format(case=public_case.id, user=cast.member_a.id, park=cast.park_a.id, cause=cause_id)
        tree = page(client.get(url))
        for form in tree.find_all("form"):
            if form.attrs.get("method", "get").lower() == "post":
                token = form.find("input", name="csrf_token")
                assert token is not None and token.attrs["type"] == "hidden", f"{url}: form without CSRF token"
        labelled = {label.attrs.get("for") for label in tree.find_all("label")}
        for control in tree.find_all("input") + tree.find_all("select") + tree.find_all("textarea"):
            if control.attrs.get("type") in ("hidden", "submit"):
                continue
            assert control.attrs.get("id") in labelled or control.attrs.get("aria-label"), \
                f"{url}: {control.tag} {control.attrs.get('name')!r} has no label"


def test_pages_load_nothing_from_other_sites(client, public_case):
    tree = page(client.get(f"/cases/{public_case.id}"))
    for node in tree.find_all("link") + tree.find_all("script") + tree.find_all("img"):
        source = node.attrs.get("href") or node.attrs.get("src") or ""
        assert source.startswith("/"), source
    assert tree.find("link", rel="icon").attrs["href"].startswith("/static/favicon.svg")  # no /favicon.ico 404
    for name in ("zhigu.css", "zhigu.js", "favicon.svg"):
        with client.get(f"/static/{name}") as response:
            assert response.status_code == 200


# -- sign-up, log-in, profile -------------------------------------------------------------------------

def test_signup_shows_errors_next_to_fields_and_keeps_what_was_typed(client):
    response = client.post("/signup", data={"email": "not-an-address", "display_name": "李雷",
                                            "password": "short", "password_confirm": "short"})

    assert response.status_code == 422
    tree = page(response)
    assert "email" in field_error_text(tree, "email").lower()
    assert "8" in field_error_text(tree, "password")
    assert field_error_text(tree, "display_name") == ""
    assert field(tree, "email").find("input").attrs["value"] == "not-an-address"
    assert field(tree, "display_name").find("input").attrs["value"] == "李雷"
    assert "value" not in field(tree, "password").find("input").attrs, "passwords are never echoed back"
    assert field(tree, "email").find("input").attrs["aria-invalid"] == "true"


def test_signup_creates_a_member_and_logs_in(client):
    response = client.post("/signup", data={"email": "new@example.org", "display_name": "New Person",
                                            "password": "long enough", "password_confirm": "long enough"},
                           follow_redirects=True)

    assert response.status_code == 200
    assert "New Person" in page(response).find("nav", class_="site-nav").text


def test_wrong_password_is_shown_at_the_password_field(client, cast):
    response = client.post("/login", data={"email": cast.member_a.email, "password": "wrong password"})

    assert response.status_code == 422
    tree = page(response)
    assert "Wrong e-mail address or password." in field_error_text(tree, "password")
    assert field(tree, "email").find("input").attrs["value"] == cast.member_a.email


def test_profile_changes_the_password_and_shows_errors(login, cast):
    client = login(cast.member_a)
    response = client.post("/profile", data={"current_password": "not it", "new_password": "brand new pass",
                                             "new_password_confirm": "brand new pass"})
    assert response.status_code == 422
    assert "not correct" in field_error_text(page(response), "current_password")

    response = client.post("/profile", data={"current_password": PASSWORD, "new_password": "brand new pass",
                                             "new_password_confirm": "brand new pass"}, follow_redirects=True)
    assert "Your password was changed." in main_text(response)


def test_api_token_is_shown_once_and_can_be_revoked(app, login, cast):
    client = login(cast.member_a)

    response = client.post("/profile/tokens", data={"name": "park CRM import"})
    shown = page(response).by_id("new-token-value").attrs["value"]
    assert shown.startswith("zg_")
    assert "park CRM import" in page(response).find("table").text

    again = client.get("/profile")
    assert shown not in again.get_data(as_text=True)
    with in_app(app):
        token_id = db.session.scalar(db.select(ApiToken.id))
    revoke = page(again).find("form", action=f"/profile/tokens/{token_id}/revoke")
    assert revoke is not None

    response = client.post(f"/profile/tokens/{token_id}/revoke", follow_redirects=True)
    row = page(response).find("table").find("tr", class_="row--muted")
    assert "Revoked" in row.text
    assert page(response).find("form", action=f"/profile/tokens/{token_id}/revoke") is None


def test_token_without_a_name_is_refused_at_the_name_field(login, cast):
    response = login(cast.member_a).post("/profile/tokens", data={"name": "  "})

    assert response.status_code == 422
    assert "name" in field_error_text(page(response), "token-name")


# -- the case form ---------------------------------------------------------------------------------

def test_case_form_offers_the_vocabularies_and_causes_by_family(login, cast):
    tree = page(login(cast.author).get("/cases/new"))

    assert tree.find("select", name="sector").find("option", value="energy").text == "Energy and new energy"
    assert tree.find("select", name="target_markets").attrs.get("multiple") is not None
    assert tree.find("select", name="target_markets").find("option", value="KZ").text == "Kazakhstan"
    picker = tree.by_id("f-causes-field")
    assert picker.tag == "fieldset"
    families = [h.text for h in picker.find_all("h3")]
    assert families[:2] == ["Market and demand", "Product and technology"]
    assert picker.find("input", type="checkbox", value="market.no_demand", name="causes") is not None
    assert picker.find("input", type="radio", value="market.no_demand", name="primary_cause") is not None
    assert {b.attrs["value"] for b in tree.find_all("button", name="action")} == {"draft", "publish"}
    assert {r.attrs["value"] for r in tree.find_all("input", name="visibility")} == {"public", "park", "private"}


def test_case_form_saves_a_draft_then_publishes_it(app, login, cast, public_case):
    client = login(cast.author)

    response = client.post("/cases/new", data=case_form())
    assert response.status_code == 302
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with in_app(app):
        case = db.session.get(FailureCase, case_id)
        assert case.status == "draft"
        assert case.tags == ["cold chain", "冷链"]
        assert case.target_markets == ["UZ", "KZ"]
        assert case.primary_cause.code == "partners.unreliable_partner"
        assert case.org_name == "Urumqi Cold Chain Co."

    tree = page(client.get(f"/cases/{case_id}"))
    assert "Draft" in tree.find(class_="badges").text
    assert tree.find("form", action=f"/cases/{case_id}/publish") is not None
    assert "Retract" not in tree.find(class_="actions").text
    assert "Cold-chain hub" not in page(client.get("/search?q=warehouse")).find(class_="results").text

    response = client.post(f"/cases/{case_id}/publish", follow_redirects=True)
    tree = page(response)
    assert "The case was published." in tree.find(class_="flashes").text
    assert tree.find(class_="badges") is None
    assert tree.find("form", action=f"/cases/{case_id}/publish") is None
    assert f"/cases/{case_id}/retract" in links(tree)
    results = page(client.get("/search?q=warehouse")).find(class_="results")
    assert "Cold-chain hub for Uzbek fruit" in results.text


def test_case_form_publishes_at_once(app, login, cast):
    response = login(cast.author).post("/cases/new", data=case_form(action="publish"), follow_redirects=True)

    assert "The case was published." in main_text(response)
    with in_app(app):
        assert db.session.scalar(db.select(FailureCase.status)) == "published"


def test_case_form_shows_errors_next_to_fields_and_keeps_every_value(app, login, cast):
    client = login(cast.author)
    response = client.post("/cases/new", data=case_form(title="ab", source_url="ftp://example.org/x"))

    assert response.status_code == 422
    tree = page(response)
    assert tree.find(class_="error-summary") is not None
    assert "3" in field_error_text(tree, "title")
    assert field_error_text(tree, "source_url")
    assert field_error_text(tree, "summary") == ""
    # What was typed is all still there.
    assert field(tree, "title").find("input").attrs["value"] == "ab"
    assert field(tree, "summary").find("textarea").text == case_form()["summary"]
    assert field(tree, "tags").find("input").attrs["value"] == "cold chain, 冷链"
    assert field(tree, "money_lost").find("input").attrs["value"] == "2500000"
    assert field(tree, "sector").find("option", value="logistics").attrs.get("selected") is not None
    chosen = {o.attrs["value"] for o in field(tree, "target_markets").find_all("option") if "selected" in o.attrs}
    assert chosen == {"UZ", "KZ"}
    picker = tree.by_id("f-causes-field")
    ticked = {box.attrs["value"] for box in picker.find_all("input", type="checkbox") if "checked" in box.attrs}
    assert ticked == {"market.no_demand", "partners.unreliable_partner"}
    assert "checked" in picker.find("input", type="radio", value="partners.unreliable_partner").attrs
    assert "checked" in tree.find("input", name="visibility", value="public").attrs

    # Rules across fields are checked once every field is valid on its own.
    response = client.post("/cases/new", data=case_form(currency="", ended_on="2018-01-01"))
    assert response.status_code == 422
    tree = page(response)
    assert "currency" in field_error_text(tree, "currency")
    assert "before the start" in field_error_text(tree, "ended_on")
    assert field(tree, "ended_on").find("input").attrs["value"] == "2018-01-01"
    with in_app(app):
        assert db.session.scalar(db.select(db.func.count(FailureCase.id))) == 0


def test_wrong_primary_cause_is_shown_at_the_cause_picker(login, cast):
    response = login(cast.author).post("/cases/new", data=case_form(primary_cause="team.skills_gap"))

    assert response.status_code == 422
    assert "one of the chosen causes" in page(response).by_id("f-causes-field").text


def test_edit_form_is_filled_from_the_case(login, cast, public_case):
    tree = page(login(cast.author).get(f"/cases/{public_case.id}/edit"))

    assert field(tree, "title").find("input").attrs["value"] == public_case.title
    assert field(tree, "sector").find("option", value="energy").attrs.get("selected") is not None
    picker = tree.by_id("f-causes-field")
    ticked = {box.attrs["value"] for box in picker.find_all("input", type="checkbox") if "checked" in box.attrs}
    assert ticked == {"market.no_demand", "money.cash_out"}
    assert "checked" in picker.find("input", type="radio", value="money.cash_out").attrs
    chosen = {o.attrs["value"] for o in field(tree, "target_markets").find_all("option") if "selected" in o.attrs}
    assert chosen == {"KZ"}
    # A published case is saved, not re-published.
    assert [b.attrs["value"] for b in tree.find_all("button", name="action")] == ["save"]


def test_editing_a_published_case_shows_the_revision(app, login, cast, public_case):
    client = login(cast.author)
    tree = page(client.get(f"/cases/{public_case.id}/edit"))
    form = {}
    for control in tree.find("form", class_="case-form").iter():
        name = control.attrs.get("name")
        if not name or control.tag == "button" or name == "csrf_token":
            continue
        if control.tag == "textarea":
            form[name] = control.text
        elif control.tag == "select":
            picked = [o.attrs["value"] for o in control.find_all("option") if "selected" in o.attrs]
            form.setdefault(name, []).extend(picked)
        elif control.attrs.get("type") in ("checkbox", "radio"):
            if "checked" in control.attrs:
                form.setdefault(name, []).append(control.attrs["value"])
        else:
            form.setdefault(name, []).append(control.attrs.get("value", ""))
    form["title"] = "Solar kiosks for villages in Kazakhstan and Kyrgyzstan"
    form["target_markets"] = ["KZ", "KG"]
    form["action"] = "save"

    response = client.post(f"/cases/{public_case.id}/edit", data=form, follow_redirects=True)

    tree = page(response)
    assert tree.by_id("case-title").text == "Solar kiosks for villages in Kazakhstan and Kyrgyzstan"
    history = tree.find("section", class_="revisions").text
    assert "edited by Author A" in history
    assert "title" in history and "target markets" in history
    assert "summary" not in history, "an untouched field is not listed as changed"
    with in_app(app):
        case = db.session.get(FailureCase, public_case.id)
        assert case.target_markets == ["KZ", "KG"]
        assert [c.code for c in case.causes] == ["money.cash_out", "market.no_demand"]


def test_edit_can_clear_markets_and_causes(app, login, cast, make_case):
    draft = make_case(cast.author, status="draft")
    data = case_form(action="draft")
    data.update(target_markets="", causes="", primary_cause="")

    response = login(cast.author).post(f"/cases/{draft.id}/edit", data=data)

    assert response.status_code == 302
    with in_app(app):
        case = db.session.get(FailureCase, draft.id)
        assert case.target_markets == [] and case.causes == []


def test_emptying_an_input_of_the_edit_form_clears_the_value(app, login, cast, make_case):
    case = make_case(cast.author, region="Zhejiang/Hangzhou", money_lost="5000", currency="USD",
                     source_url="https://example.org/a", started_on="2020-01-01", org_name="Acme",
                     primary_cause="market.no_demand")
    data = case_form(action="save", title=case.title, summary=case.summary)
    data.update(region="", money_lost="", currency="", source_url="", started_on="", ended_on="", org_name="",
                team_size="", sector="", stage_reached="", org_type="")

    response = login(cast.author).post(f"/cases/{case.id}/edit", data=data)

    assert response.status_code == 302
    with in_app(app):
        case = db.session.get(FailureCase, case.id)
        assert (case.region, case.money_lost, case.currency, case.source_url, case.started_on, case.org_name,
                case.team_size, case.sector, case.stage_reached) == (None,) * 9


def test_emptying_the_narrative_clears_it(app, login, cast, make_case):
    case = make_case(cast.author, narrative="Something to remove.")

    login(cast.author).post(f"/cases/{case.id}/edit", data=case_form(action="save", narrative=""))

    with in_app(app):
        assert db.session.get(FailureCase, case.id).narrative == ""


def test_edit_errors_keep_the_typed_values_not_the_stored_ones(login, cast, public_case):
    response = login(cast.author).post(f"/cases/{public_case.id}/edit",
                                       data=case_form(title="x", summary="Changed summary text.", action="save"))

    assert response.status_code == 422
    tree = page(response)
    assert field(tree, "title").find("input").attrs["value"] == "x"
    assert field(tree, "summary").find("textarea").text == "Changed summary text."


def test_retired_causes_of_a_case_stay_on_its_edit_form(app, login, cast, public_case):
    with in_app(app):
        db.session.scalar(db.select(Cause).where(Cause.code == "money.cash_out")).retired = True
        db.session.commit()

    tree = page(login(cast.author).get(f"/cases/{public_case.id}/edit"))
    box = tree.find("input", type="checkbox", value="money.cash_out")
    assert box is not None and "checked" in box.attrs
    assert page(login(cast.curator_a).get("/cases/new")).find("input", value="money.cash_out") is None


# -- the case page -----------------------------------------------------------------------------------

def test_case_page_reads_in_post_mortem_order(client, make_case, cast):
    case = make_case(cast.author, title="Cross-border e-commerce training centre",
                     narrative="## Timeline\n\n- 2019: opened\n- 2020: closed", warning_signs="Few sign-ups.",
                     lessons="Ask the buyers first.", money_lost="1200000", currency="CNY", team_size=8,
                     started_on="2019-01-01", ended_on="2020-06-30", region="Zhejiang/Yiwu",
                     target_markets=["ID", "VN"], tags=["training", "跨境电商"],
                     source_url="https://example.org/story", org_type="private")

    tree = page(client.get(f"/cases/{case.id}"))

    text = tree.find("article", class_="case").text
    order = [text.index(s) for s in ["Cross-border e-commerce", "Why it failed", "Target markets", "What happened",
                                     "Warning signs", "Lessons", "Tags"]]
    assert order == sorted(order)
    facts = tree.find("table", class_="facts-table").text
    assert "Indonesia, Vietnam" in facts
    assert "CN¥1,200,000.00" in facts
    assert "Jan 1, 2019 – Jun 30, 2020" in facts
    assert "Pilot" in facts and "Zhejiang/Yiwu" in facts and "Private enterprise" in facts
    assert tree.by_id("narrative-heading").parent.find("div", class_="prose").find("h2").text == "Timeline"
    assert "https://example.org/story" in links(tree)
    primary = tree.find("li", class_="cause-list__primary")
    assert "Primary cause" in primary.text


def test_markdown_in_a_case_is_sanitized(client, make_case, cast):
    case = make_case(cast.author, narrative="Before <script>alert('x')</script> after\n\n"
                                            "[click](javascript:alert(1)) <img src=x onerror=alert(2)>",
                     lessons="**Bold** lesson <iframe src='https://evil.example'></iframe>")

    body = client.get(f"/cases/{case.id}").get_data(as_text=True)
    tree = page(client.get(f"/cases/{case.id}"))

    assert "<script>alert" not in body
    assert tree.find("article", class_="case").find_all("img") == []
    assert "<iframe" not in body
    assert not any(href.startswith("javascript:") for href in links(tree))
    assert tree.find("strong").text == "Bold"
    assert all(node.tag != "script" or node.attrs.get("src", "").startswith("/static/")
               for node in tree.find_all("script"))


def test_members_see_no_action_they_cannot_take(login, cast, public_case):
    for who in ("member_a", "curator_b", "manager_b"):
        tree = page(login(getattr(cast, who)).get(f"/cases/{public_case.id}"))
        assert tree.find(class_="actions") is None, who
        assert f"/cases/{public_case.id}/edit" not in links(tree)
    tree = page(login(None).get(f"/cases/{public_case.id}"))
    assert tree.find(class_="actions") is None

    for who in ("author", "manager_a", "admin"):
        tree = page(login(getattr(cast, who)).get(f"/cases/{public_case.id}"))
        actions = links(tree.find(class_="actions"))
        assert f"/cases/{public_case.id}/edit" in actions and f"/cases/{public_case.id}/retract" in actions, who


def test_anonymized_organization_is_hidden_from_other_readers(login, make_case, cast):
    case = make_case(cast.author, org_name="Secret Partner Ltd", anonymize=True)

    for who in ("member_a", "curator_b"):
        body = login(getattr(cast, who)).get(f"/cases/{case.id}").get_data(as_text=True)
        assert "Secret Partner Ltd" not in body
        assert "Anonymized" in body
        assert "Author A" not in body, "the filer's name would point at the organization"
    for who in ("author", "manager_a", "admin"):
        assert "Secret Partner Ltd" in login(getattr(cast, who)).get(f"/cases/{case.id}").get_data(as_text=True)


def test_retracting_asks_for_a_reason_and_the_page_shows_it(login, cast, public_case):
    client = login(cast.author)

    response = client.post(f"/cases/{public_case.id}/retract", data={"reason": "no"})
    assert response.status_code == 422
    assert field_error_text(page(response), "reason")
    assert field(page(response), "reason").find("textarea").text == "no"

    response = client.post(f"/cases/{public_case.id}/retract",
                           data={"reason": "The company disputed the figures."}, follow_redirects=True)
    tree = page(response)
    assert "Retracted" in tree.find(class_="badges").text
    assert "The company disputed the figures." in tree.find(class_="retraction").text
    assert f"/cases/{public_case.id}/retract" not in links(tree)
    assert "retracted by Author A" in tree.find("section", class_="revisions").text
    # A visitor can still follow an old link and learn why.
    assert "The company disputed the figures." in main_text(login(None).get(f"/cases/{public_case.id}"))


def test_case_page_lists_similar_cases_with_why(client, make_case, cast, public_case):
    other = make_case(cast.author, title="Solar water pumps for villages in Kazakhstan",
                      summary="Solar pumps were given to villages, then nobody maintained them.",
                      sector="energy", target_markets=["KZ"], causes=["money.cash_out"])

    similar = page(client.get(f"/cases/{public_case.id}")).find("section", class_="similar")

    card = similar.find("a", href=f"/cases/{other.id}").parent.parent
    why = card.find("p", class_="why").text
    assert "shared terms" in why and "same sector (Energy and new energy)" in why
    assert "same market (Kazakhstan)" in why and "shared cause (Ran out of cash)" in why


def test_my_cases_lists_drafts_and_published(login, make_case, cast):
    make_case(cast.author, status="draft", title="A draft about drones")
    make_case(cast.author, title="A published case about drones")
    make_case(cast.curator_a, title="Someone else's case")

    table = page(login(cast.author).get("/my/cases")).find("table")

    assert "A draft about drones" in table.text and "Draft" in table.text
    assert "A published case about drones" in table.text
    assert "Someone else's case" not in table.text


# -- home and search ---------------------------------------------------------------------------------

def test_home_lists_recent_cases_and_counts_by_family(login, make_case, cast, public_case):
    make_case(cast.author, title="A private case about hydrogen", visibility="private",
              causes=["team.skills_gap"])

    tree = page(login(None).get("/"))
    recent = tree.by_id("recent-heading").parent.text
    assert public_case.title in recent
    assert "hydrogen" not in recent
    families = tree.find("ul", class_="family-counts")
    assert "Money" in families.text and "Team" not in families.text
    assert "/search?family=money" in links(families)
    assert tree.find("form", action="/search", class_="big-search") is not None


def test_search_shows_facets_with_labels_and_keeps_filters_in_links(client, make_case, cast, public_case):
    make_case(cast.author, title="Solar farm financing in Indonesia", summary="A solar farm lost its loan.",
              sector="fintech", target_markets=["ID"], causes=["money.cash_out"])

    tree = page(client.get("/search?q=solar"))
    facets = tree.find("aside", class_="facets")
    assert "Energy and new energy" in facets.text and "Finance and fintech" in facets.text
    assert "Kazakhstan" in facets.text and "Indonesia" in facets.text
    assert "Ran out of cash" in facets.text and "Money" in facets.text
    sector_link = facets.find("a", href="/search?q=solar&sector=energy")
    assert sector_link is not None and sector_link.find(class_="facet__count").text == "1"
    assert "2 cases" in tree.by_id("results-heading").text

    tree = page(client.get("/search?q=solar&sector=energy"))
    assert "1 case" in tree.by_id("results-heading").text
    chip = tree.find(class_="active-filters").find("a", class_="chip")
    assert "Energy and new energy" in chip.text and chip.attrs["href"] == "/search?q=solar"
    form = tree.find("form", class_="search-form")
    assert form.find("input", type="hidden", name="sector").attrs["value"] == "energy"
    assert form.find("input", name="q").attrs["value"] == "solar"
    # Adding a second filter keeps the first one in the link.
    market = tree.find("aside", class_="facets").find("a", href="/search?q=solar&sector=energy&market=KZ")
    assert market is not None


def test_search_snippets_are_highlighted_and_escaped(client, make_case, cast):
    make_case(cast.author, title="Kiosk rollout", summary="Our <b>solar</b> kiosks <img src=x onerror=alert(1)> failed.")

    tree = page(client.get("/search?q=solar"))
    snippet = tree.find("p", class_="snippet")
    assert snippet.find("mark").text == "solar"
    assert snippet.find("img") is None and snippet.find("b") is None
    assert "<img src=x" in snippet.text


@pytest.mark.parametrize("query", ["((((", "solar OR", "NOT", "title:", "sol*", "[a TO", "\"", "a:b:c"])
def test_search_survives_odd_syntax(client, public_case, query):
    response = client.get("/search", query_string={"q": query})

    assert response.status_code in (200, 400)
    assert page(response).find("form", class_="search-form") is not None


def test_search_explains_a_query_it_cannot_run(client):
    response = client.get("/search", query_string={"q": "solar " * 200})

    assert response.status_code == 400
    tree = page(response)
    assert "too long" in tree.find(class_="error-summary").text
    assert tree.find("form", class_="search-form").find("input", name="q") is not None


def test_search_accepts_quoted_phrases(client, public_case):
    response = client.get("/search", query_string={"q": '"solar kiosks"'})

    assert response.status_code == 200
    assert public_case.title in page(response).find(class_="results").text


def test_search_offers_a_spelling_correction(client, public_case):
    tree = page(client.get("/search?q=kazakstan&sector=energy"))

    suggestion = tree.find("p", class_="did-you-mean")
    assert suggestion is not None
    link = suggestion.find("a")
    assert "kazakhstan" in link.text.lower()
    assert "sector=energy" in link.attrs["href"], "the correction keeps the filters"


def test_visitors_never_see_private_or_park_cases_in_search(login, make_case, cast):
    make_case(cast.author, title="Zeppelin logistics private", visibility="private")
    make_case(cast.author, title="Zeppelin logistics park", visibility="park")
    make_case(cast.author, title="Zeppelin logistics public")

    def titles(client):
        results = page(client.get("/search?q=zeppelin")).find(class_="results")
        return {a.text for a in results.find_all("a") if a.attrs["href"].startswith("/cases/")}

    assert titles(login(None)) == {"Zeppelin logistics public"}
    assert titles(login(cast.member_b)) == {"Zeppelin logistics public"}
    assert titles(login(cast.member_a)) == {"Zeppelin logistics public", "Zeppelin logistics park"}
    assert len(titles(login(cast.admin))) == 3


def test_archive_link_lists_newest_first(client, make_case, cast):
    make_case(cast.author, title="First filed case")
    make_case(cast.author, title="Second filed case")

    response = client.get("/cases", follow_redirects=True)

    tree = page(response)
    titles = [h.text for h in tree.find(class_="results").find_all("h3")]
    assert titles == ["Second filed case", "First filed case"]
    assert tree.find("h1").text == "Archive"


def test_search_pages_through_results(client, make_case, cast):
    for n in range(23):
        make_case(cast.author, title=f"Drone delivery attempt {n}", summary=f"Drone delivery pilot number {n}.")

    tree = page(client.get("/search?q=drone"))
    pagination = tree.find("nav", class_="pagination")
    assert "/search?q=drone&page=2" in links(pagination)
    second = page(client.get("/search?q=drone&page=2"))
    assert len(second.find(class_="results").find_all("article")) == 3
    assert second.find("nav", class_="pagination").find("span", aria_current="page").text == "2"


# -- initiatives ------------------------------------------------------------------------------------

def test_initiative_form_has_the_live_similar_list(login, cast):
    tree = page(login(cast.member_a).get("/initiatives/new"))

    panel = tree.find("aside", class_="similar-live")
    assert panel.attrs["data-similar-url"] == "/api/v1/similar"
    assert tree.by_id(panel.attrs["data-similar-form"]).tag == "form"
    assert panel.find("ol", class_="similar-live__list").attrs.get("data-similar-list") is not None
    assert panel.find("p", class_="similar-live__status").attrs["aria-live"] == "polite"
    markets = tree.find("select", name="target_markets")
    assert markets.attrs["data-filter-label"] and markets.attrs["data-chosen-label"]
    form = tree.by_id("initiative-form")
    assert {c.attrs.get("name") for c in form.iter()} >= {"title", "description", "sector", "target_markets",
                                                          "planned_start", "csrf_token"}


def test_initiative_form_errors_keep_values(login, cast):
    response = login(cast.member_a).post("/initiatives/new", data={
        "title": "Drones", "description": "short", "target_markets": ["KZ", "XX"], "planned_start": "soon"})

    assert response.status_code == 422
    tree = page(response)
    assert "10" in field_error_text(tree, "description")
    assert field_error_text(tree, "planned_start")
    assert "XX" in field_error_text(tree, "target_markets")
    assert field(tree, "title").find("input").attrs["value"] == "Drones"
    assert field(tree, "description").find("textarea").text == "short"
    assert "selected" in field(tree, "target_markets").find("option", value="KZ").attrs


def test_initiative_lists_suggestions_and_records_verdicts(app, login, cast, public_case):
    client = login(cast.member_a)
    response = client.post("/initiatives/new", data={
        "title": "Solar kiosks for Kazakh villages",
        "description": "We plan to sell solar kiosks to villages in Kazakhstan, paid by the month.",
        "sector": "energy", "target_markets": ["KZ"], "planned_start": "2027-03-01"})
    assert response.status_code == 302
    url = response.headers["Location"]

    tree = page(client.get(url))
    assert "Kazakhstan" in tree.find("ul", class_="meta-list").text
    item = tree.by_id(f"case-{public_case.id}")
    assert public_case.title in item.text
    assert "same market (Kazakhstan)" in item.find("p", class_="why").text
    form = item.find("form", class_="verdict-form")
    assert form.attrs["action"] == f"{url}/feedback"
    assert form.find("input", name="case_id").attrs["value"] == str(public_case.id)

    response = client.post(f"{url}/feedback", data={"case_id": public_case.id, "verdict": "relevant",
                                                    "note": "We rent, not sell, the kiosks."})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"#case-{public_case.id}")
    item = page(client.get(url)).by_id(f"case-{public_case.id}")
    verdict = item.find("p", class_="verdict")
    assert "relevant" in verdict.text and "We rent, not sell, the kiosks." in verdict.text
    assert "checked" in item.find("input", value="relevant").attrs
    assert item.find("textarea", name="note").text == "We rent, not sell, the kiosks."
    with in_app(app):
        suggestion = db.session.scalar(db.select(Suggestion).where(Suggestion.case_id == public_case.id))
        assert suggestion.verdict == "relevant"


def test_verdict_without_a_choice_is_refused_next_to_its_form(login, cast, public_case):
    client = login(cast.member_a)
    url = client.post("/initiatives/new", data={
        "title": "Solar kiosks for Kazakh villages",
        "description": "We plan to sell solar kiosks to villages in Kazakhstan."}).headers["Location"]

    response = client.post(f"{url}/feedback", data={"case_id": public_case.id, "note": "Kept note"})

    assert response.status_code == 422
    item = page(response).by_id(f"case-{public_case.id}")
    assert item.find("ul", class_="field-errors").text
    assert item.find("textarea", name="note").text == "Kept note"


def test_my_initiatives_lists_only_mine(login, cast, public_case):
    login(cast.member_b).post("/initiatives/new", data={"title": "Someone else's plan",
                                                        "description": "Another founder's cold chain plan."})
    client = login(cast.member_a)
    client.post("/initiatives/new", data={"title": "My cold chain plan",
                                          "description": "Cold-chain warehouses for fruit exports."})

    text = page(client.get("/my/initiatives")).find("ul", class_="initiative-list").text

    assert "My cold chain plan" in text and "Someone else's plan" not in text


# -- administration -----------------------------------------------------------------------------------

def test_admin_adds_and_retires_causes(app, login, cast):
    client = login(cast.admin)

    response = client.post("/admin/causes", data={"family": "market", "code": "Bad Code",
                                                  "label_en": "Tariffs", "label_zh": "关税"})
    assert response.status_code == 422
    tree = page(response)
    assert "lowercase" in field_error_text(tree, "code")
    assert field(tree, "label_zh").find("input").attrs["value"] == "关税"

    response = client.post("/admin/causes", data={"family": "market", "code": "market.tariffs",
                                                  "label_en": "Tariffs", "label_zh": "关税"}, follow_redirects=True)
    assert "market.tariffs" in page(response).find("main").text
    with in_app(app):
        cause_id = db.session.scalar(db.select(Cause.id).where(Cause.code == "market.tariffs"))

    tree = page(client.get(f"/admin/causes/{cause_id}"))
    assert field(tree, "label_en").find("input").attrs["value"] == "Tariffs"
    response = client.post(f"/admin/causes/{cause_id}", data={"label_en": "Tariffs and duties", "label_zh": "关税",
                                                               "retired": "y"}, follow_redirects=True)
    row = next(tr for tr in page(response).find_all("tr") if "market.tariffs" in tr.text)
    assert "Tariffs and duties" in row.text and "Retired" in row.text
    assert page(login(cast.author).get("/cases/new")).find("input", value="market.tariffs") is None


def test_admin_creates_parks_and_assigns_users(app, login, cast):
    client = login(cast.admin)

    response = client.post("/admin/parks", data={"name": "Yiwu Park", "slug": "Yiwu Park"})
    assert response.status_code == 422
    assert field_error_text(page(response), "slug")
    assert field(page(response), "name").find("input").attrs["value"] == "Yiwu Park"

    response = client.post("/admin/parks", data={"name": "Yiwu Park", "slug": "yiwu", "region": "Zhejiang/Yiwu"},
                           follow_redirects=True)
    assert "Yiwu Park" in page(response).find("table").text

    tree = page(client.get(f"/admin/users/{cast.member_a.id}"))
    assert "checked" in tree.find("input", name="role", value="member").attrs
    assert "selected" in tree.find("select", name="park").find("option", value="park-a").attrs
    response = client.post(f"/admin/users/{cast.member_a.id}", data={
        "email": cast.member_a.email, "display_name": "Promoted", "role": "curator", "park": "yiwu",
        "is_active": "y"}, follow_redirects=True)
    assert response.status_code == 200
    with in_app(app):
        user = db.session.get(User, cast.member_a.id)
        assert user.role == "curator" and user.park.slug == "yiwu"

    response = client.post(f"/admin/users/{cast.member_a.id}", data={
        "email": "broken", "display_name": "Promoted", "role": "curator", "park": ""})
    assert response.status_code == 422
    tree = page(response)
    assert field_error_text(tree, "email")
    assert "checked" not in tree.find("input", name="is_active").attrs, "the unticked box stays unticked"


def test_initiatives_can_be_registered_before_any_case_is_published(login, cast):
    client = login(cast.member_a)
    for n in range(2):
        response = client.post("/initiatives/new", data={"title": f"Plan {n}",
                                                         "description": "Cold-chain warehouses for fruit."})
        assert response.status_code == 302


# -- accessibility and assets: labels everywhere, keyboard, breadcrumbs, contrast, cache headers, preview -----

def _more_pages(app, api_as, cast, make_case, public_case):
    """Every page with a form or a deep place, as (user, url): reviews, comments, links, lists, admin, trends."""
    in_review = make_case(cast.author, status="draft", title="A draft sent to review")
    assert api_as(cast.author).post(f"/api/v1/cases/{in_review.id}/submit").status_code == 200
    comment = api_as(cast.member_a).post(f"/api/v1/cases/{public_case.id}/comments", json={"body": "Seen it."}).get_json()
    initiative = api_as(cast.member_a).post("/api/v1/initiatives", json={
        "title": "Solar kiosks again", "description": "Kiosks selling solar electricity to villages."}).get_json()
    with in_app(app):
        cause_id = db.session.scalar(db.select(Cause.id))
        from zhigu.guilds import services as guild_services
        admin = db.session.get(User, cast.admin.id)
        guild_services.create_guild(admin, {"slug": "solar", "name": "Solar Guild"})
        guild_services.add_reviewer(admin, {"guild": "solar", "email": cast.curator_a.email})
    case = public_case.id
    return [
        (cast.curator_a, "/lists/propose"),
        (None, "/login"), (None, "/signup"), (None, "/lists"),
        (cast.member_a, f"/initiatives/{initiative['id']}"), (cast.member_a, "/notifications"),
        (cast.member_a, f"/cases/{case}/comments"), (cast.member_a, f"/comments/{comment['id']}/edit"),
        (cast.member_a, "/trends"), (cast.member_a, "/initiatives/new"), (cast.member_a, "/profile"),
        (cast.manager_a, "/reviews"), (cast.manager_a, f"/cases/{in_review.id}/review"),
        (cast.manager_a, f"/comments/{comment['id']}/hide"), (cast.manager_a, f"/cases/{case}/links"),
        (cast.manager_a, f"/cases/{case}/merge"), (cast.manager_a, f"/cases/{case}"),
        (cast.author, "/cases/new"), (cast.author, f"/cases/{case}/edit"), (cast.author, f"/cases/{case}/retract"),
        (cast.admin, "/admin/users"), (cast.admin, f"/admin/users/{cast.member_a.id}"), (cast.admin, "/admin/parks"),
        (cast.admin, f"/admin/parks/{cast.park_a.id}"), (cast.admin, "/admin/causes"),
        (cast.admin, f"/admin/causes/{cause_id}"), (cast.admin, "/admin/guilds"), (cast.admin, "/admin/organizations"),
    ]


def test_every_control_on_every_form_page_has_a_label(app, login, api_as, cast, make_case, public_case):
    """A <label for>, a wrapping <label>, aria-label or aria-labelledby; hidden inputs and buttons need none."""
    seen = 0
    for user, url in _more_pages(app, api_as, cast, make_case, public_case):
        response = login(user).get(url)
        assert response.status_code == 200, url
        tree = page(response)
        labelled = {label.attrs.get("for") for label in tree.find_all("label")}
        wrapped = {id(control) for label in tree.find_all("label") for control in label.iter()}
        for control in tree.find_all("input") + tree.find_all("select") + tree.find_all("textarea"):
            if control.attrs.get("type") in ("hidden", "submit", "button"):
                continue
            seen += 1
            assert (control.attrs.get("id") in labelled or id(control) in wrapped or control.attrs.get("aria-label")
                    or control.attrs.get("aria-labelledby")), f"{url}: {control.tag} {control.attrs.get('name')!r}"
    assert seen > 100


def test_keyboard_order_starts_with_the_skip_link_and_no_positive_tabindex(app, login, api_as, cast, make_case,
                                                                         public_case):
    for user, url in _more_pages(app, api_as, cast, make_case, public_case)[:12]:
        tree = page(login(user).get(url))
        focusable = [node for node in tree.iter() if node.tag in ("a", "button", "input", "select", "textarea")
                     and node.attrs.get("type") != "hidden"]
        assert focusable[0].tag == "a" and focusable[0].attrs.get("href") == "#main", url
        assert tree.by_id("main").tag == "main"
        assert focusable[2].attrs.get("id") == "header-q", url  # skip link, brand, then the search box
        for node in tree.iter():
            assert int(node.attrs.get("tabindex") or 0) <= 0, f"{url}: tabindex {node.attrs['tabindex']}"


def test_deep_pages_show_breadcrumbs(login, cast, public_case):
    client = login(cast.author)
    for url, trail in [(f"/cases/{public_case.id}", ["Home", "Archive", public_case.title]),
                       (f"/cases/{public_case.id}/edit", ["Home", "Archive", public_case.title, "Edit"]),
                       (f"/cases/{public_case.id}/retract", ["Home", "Archive", public_case.title, "Retract"])]:
        nav = page(client.get(url)).find("nav", class_="breadcrumbs")
        assert nav is not None, url
        assert [item.text for item in nav.find_all("li")] == trail
        assert nav.find("a").attrs["href"] == "/"
        assert nav.find_all("li")[-1].find("span").attrs.get("aria-current") == "page"
    admin = login(cast.admin)
    nav = page(admin.get(f"/admin/parks/{cast.park_a.id}")).find("nav", class_="breadcrumbs")
    assert [item.text for item in nav.find_all("li")] == ["Home", "Admin", "Parks", "Park A"]
    assert nav.find("a", href="/admin/parks") is not None
    chinese = page(admin.get("/admin/causes", headers={"Accept-Language": "zh-CN"})).find("nav", class_="breadcrumbs")
    assert chinese.find_all("li")[0].text == "首页"


def test_static_files_are_cached_and_linked_by_version(app, client):
    tree = page(client.get("/"))
    stylesheet = tree.find("link", rel="stylesheet").attrs["href"]
    script = tree.find("script").attrs["src"]
    assert re.fullmatch(r"/static/zhigu\.css\?v=[0-9a-f]{12}", stylesheet)
    assert re.fullmatch(r"/static/zhigu\.js\?v=[0-9a-f]{12}", script)
    with client.get(stylesheet) as response:
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000"
    with client.get("/") as response:  # pages are not cached that way
        assert "max-age=31536000" not in response.headers.get("Cache-Control", "")


def test_static_version_follows_the_content(tmp_path):
    from zhigu.templating import static_version

    (tmp_path / "a.css").write_text("body { color: black }")
    first = static_version(str(tmp_path), "a.css")
    (tmp_path / "a.css").write_text("body { color: navy }")
    import os
    os.utime(tmp_path / "a.css", ns=(1, 10**18))  # a different mtime even on coarse file systems
    assert static_version(str(tmp_path), "a.css") != first
    assert static_version(str(tmp_path), "missing.css") is None


def test_markdown_preview_uses_the_case_page_renderer(app, login, cast, public_case):
    client = login(cast.author)
    text = "## Plan\n\n- **kiosks** [site](https://example.org)\n\n<script>alert(1)</script> <img src=x onerror=y>"
    response = client.post("/preview", data={"text": text})
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    from zhigu.templating import render_markdown
    assert html == str(render_markdown(text))
    assert "<h2>Plan</h2>" in html and "<strong>kiosks</strong>" in html and 'rel="noopener noreferrer nofollow"' in html
    assert "<script" not in html and "<img" not in html

    assert client.post("/preview", data={"text": "x" * 100_001}).status_code == 413
    assert login(None).post("/preview", data={"text": "x"}).status_code in (302, 401)


def test_the_case_form_offers_preview_and_cause_filter_only_through_the_script(login, cast):
    tree = page(login(cast.author).get("/cases/new"))
    form = tree.find("form", class_="case-form")
    assert form.attrs["data-preview-url"] == "/preview"
    assert {node.attrs["name"] for node in form.find_all("textarea")
            if "field--markdown" in node.parent.attrs.get("class", "")} == {"narrative", "warning_signs", "lessons"}
    assert not [b for b in form.find_all("button") if "Preview" in b.text]  # no dead button without the script
    assert tree.find("fieldset", class_="cause-picker").attrs["data-filter-label"]


# -- colour contrast (WCAG 2.1: 4.5:1 for text, 3:1 for focus rings and chart marks) -------------------------

CSS_FILE = __import__("pathlib").Path(__file__).resolve().parents[1] / "zhigu" / "static" / "zhigu.css"


def _css_colours() -> tuple[str, dict[str, str]]:
    css = re.sub(r"/\*.*?\*/", "", CSS_FILE.read_text(), flags=re.S)
    root = re.search(r":root\s*\{(.*?)\}", css, re.S).group(1)
    return css, dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})\b", root))


def _hex(value: str, variables: dict[str, str]) -> str | None:
    value = value.strip()
    match = re.fullmatch(r"var\(--([\w-]+)\)", value)
    if match:
        value = variables.get(match.group(1), "")
    return value if re.fullmatch(r"#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}", value) else None


def contrast(first: str, second: str) -> float:
    def luminance(colour: str) -> float:
        digits = colour.lstrip("#")
        digits = "".join(c * 2 for c in digits) if len(digits) == 3 else digits
        channels = [int(digits[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_helper_matches_known_ratios():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54  # the classic lightest grey passing AA on white


#: Text colours and the backgrounds they sit on that no single rule states (inherited or nested).
TEXT_PAIRS = [("text", "bg"), ("text", "bg-soft"), ("muted", "bg"), ("muted", "bg-soft"), ("muted", "accent-soft"),
              ("accent", "bg"), ("accent", "bg-soft"), ("accent", "accent-soft"), ("accent-dark", "bg"),
              ("accent-dark", "accent-soft"), ("danger", "bg"), ("danger", "danger-soft"), ("warn-text", "warn-soft"),
              ("ok-text", "ok-soft"), ("ok-text", "bg"), ("text", "mark"), ("muted", "mark"), ("accent", "mark"),
              ("#ffffff", "#12263a"), ("#e8eef4", "#12263a"), ("#ffd166", "#12263a"), ("#ffffff", "text")]
#: Non-text marks: the focus ring on the page and on the dark header.
MARK_PAIRS = [("focus", "bg"), ("focus", "bg-soft"), ("focus", "#12263a")]


def test_text_colours_have_enough_contrast():
    css, variables = _css_colours()
    resolve = lambda name: variables.get(name, name)  # noqa: E731
    weak = [(fg, bg, round(contrast(resolve(fg), resolve(bg)), 2)) for fg, bg in TEXT_PAIRS
            if contrast(resolve(fg), resolve(bg)) < 4.5]
    weak += [(fg, bg, round(contrast(resolve(fg), resolve(bg)), 2)) for fg, bg in MARK_PAIRS
             if contrast(resolve(fg), resolve(bg)) < 3.0]
    # every rule that sets both a text colour and a background (buttons, badges, flashes, chips, ...)
    checked = 0
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declarations = dict((k.strip(), v.strip()) for k, v in re.findall(r"([\w-]+)\s*:\s*([^;]+)", body))
        colour = _hex(declarations.get("color", ""), variables)
        background = _hex(declarations.get("background-color", declarations.get("background", "")), variables)
        if colour and background:
            checked += 1
            if contrast(colour, background) < 4.5:
                weak.append((selector.strip(), colour, round(contrast(colour, background), 2)))
    assert checked >= 15
    assert weak == []


def test_chart_marks_stand_out_from_the_page():
    css, variables = _css_colours()
    fills = re.findall(r"\.series-\d\s*\{\s*fill:\s*(#[0-9a-fA-F]{6})", css)
    assert len(fills) == 7
    assert [f for f in fills if contrast(f, variables["bg"]) < 3.0] == []
