"""Pages of every package seen together: who may open each, the layout, labels and keyboard order, assets.

Everything goes through the test client with real commits (the search hooks index as in production); users log
in through the login form (`auth`). Pages are read with BeautifulSoup and CSS selectors, so assertions are about
elements (a form holds its CSRF token) rather than substrings.
"""
import re

import pytest

from helpers import in_app, links, page, text
from zhigu.archive.models import Cause
from zhigu.auth.models import User
from zhigu.extensions import db
from zhigu.initiatives.models import Initiative


def assert_login_redirect(response):
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


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


@pytest.mark.parametrize("path, status", [
    ("/cases/new", 403), ("/admin/users", 403), ("/admin/parks", 403), ("/admin/causes", 403),
    ("/admin/users/1", 403), ("/admin/causes/1", 403), ("/cases/{case}/edit", 403), ("/cases/{case}/retract", 403),
    ("/cases/{private}", 404), ("/cases/{draft}", 404), ("/cases/{private}/edit", 404), ("/initiatives/{other}", 404),
])
def test_members_are_refused_what_they_may_not_do(app, auth, make_case, cast, public_case, path, status):
    private = make_case(cast.curator_b, visibility="private")
    draft = make_case(cast.curator_b, status="draft")
    client = auth.login(cast.member_b)
    client.post("/initiatives/new", data={"title": "Another founder's plan",
                                          "description": "Solar kiosks for villages in Kazakhstan."})
    with in_app(app):
        other = db.session.scalar(db.select(Initiative.id))
    client = auth.login(cast.member_a)

    response = client.get(path.format(case=public_case.id, private=private.id, draft=draft.id, other=other))

    assert response.status_code == status
    assert page(response).select_one(".error-page") is not None


@pytest.mark.parametrize("who, paths", [
    ("member_a", ["/", "/my/initiatives", "/initiatives/new", "/profile"]),
    ("author", ["/cases/new", "/my/cases", "/cases/{case}/edit", "/cases/{case}/retract"]),
    ("manager_a", ["/cases/{case}/edit", "/my/cases"]),
    ("admin", ["/admin/users", "/admin/users/{user}", "/admin/parks", "/admin/parks/{park}", "/admin/causes",
               "/admin/causes/{cause}", "/cases/{case}/edit"]),
])
def test_pages_render_for_the_roles_they_serve(app, auth, cast, public_case, who, paths):
    client = auth.login(getattr(cast, who))
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
    assert "404" in text(tree.select_one(".error-page"))
    assert "No such case." in text(tree.select_one("main"))


def nav_links(client) -> dict[str, str]:
    nav = page(client.get("/")).select_one("nav.site-nav")
    return {text(a): a.attrs["href"] for a in nav.select("a")}


def test_navigation_follows_the_role(auth, cast):
    visitor = nav_links(auth.login(None))
    assert {"Archive", "Search", "Find similar failures", "Trends", "Log in", "Sign up"} <= set(visitor)
    assert visitor["Find similar failures"] == "/similar"  # registering needs an account; looking does not
    assert "My cases" not in visitor and "Admin" not in visitor and "My initiatives" not in visitor
    assert "Register an initiative" not in visitor

    member = nav_links(auth.login(cast.member_a))
    assert "My initiatives" in member and cast.member_a.display_name in member
    assert "My cases" not in member and "Admin" not in member and "Log in" not in member

    assert "My cases" in nav_links(auth.login(cast.curator_a))
    assert "Register an initiative" in member
    manager_nav = page(auth.login(cast.manager_a).get("/")).select_one("nav.site-nav")
    assert manager_nav.select_one(".nav-group a[href='/admin/users']") is None
    # an admin's five administration pages sit in one "Admin" group, so the bar stays on one line
    admin_nav = page(auth.login(cast.admin).get("/")).select_one("nav.site-nav")
    group = next(g for g in admin_nav.select("details.nav-group__menu") if text(g.select_one("summary")) == "Admin")
    assert [a.attrs["href"] for a in group.select("a")] == ["/admin/users", "/admin/parks", "/admin/causes",
                                                          "/admin/guilds", "/admin/organizations"]


def test_menu_folds_behind_a_checkbox_that_controls_the_navigation(client):
    """No script needed: the phone's "Menu" is a label for a checkbox placed before the navigation it opens."""
    tree = page(client.get("/"))
    toggle = tree.select_one("header.site-header input#menu-toggle[type=checkbox]")
    assert toggle.attrs["aria-controls"] == "site-menu" and "name" not in toggle.attrs
    assert text(tree.select_one("label.menu-toggle__label[for=menu-toggle]")) == "☰ Menu"
    assert tree.select_one("#menu-toggle ~ nav#site-menu.site-nav") is not None


def test_header_search_box_is_on_every_page(auth, cast, public_case):
    client = auth.login(cast.member_a)
    for url in ["/", f"/cases/{public_case.id}", "/profile"]:
        search = page(client.get(url)).select_one("form.header-search")
        assert search.attrs["action"] == "/search"
        assert search.select_one("input[name=q]") is not None
    # the search page's own box is the one search box there
    tree = page(client.get("/search?q=solar"))
    assert tree.select_one("form.header-search") is None
    assert [box.attrs["id"] for box in tree.select("input[type=search]")] == ["q"]


def test_search_page_folds_its_facets_behind_filters_with_the_active_count(client, public_case):
    tree = page(client.get("/search?q=solar&sector=energy"))
    toggle = tree.select_one("form.search-form input#filters-toggle[type=checkbox]")
    assert toggle.attrs["aria-controls"] == "search-facets" and "name" not in toggle.attrs  # never submitted
    assert tree.select_one("aside#search-facets.facets") is not None
    assert text(tree.select_one("label.filters-toggle__label[for=filters-toggle] .badge--count")) == "1 active"


def test_flashed_messages_are_shown(auth, cast, public_case):
    client = auth.login(cast.author)
    response = client.post(f"/cases/{public_case.id}/retract", data={"reason": "Facts were wrong."},
                           follow_redirects=True)
    assert "The case was retracted." in text(page(response).select_one(".flashes"))


ALL_PAGES = ["/", "/search?q=solar", "/cases/{case}", "/cases/new", "/cases/{case}/edit", "/cases/{case}/retract",
             "/my/cases", "/initiatives/new", "/my/initiatives", "/profile", "/admin/users", "/admin/users/{user}",
             "/admin/parks", "/admin/parks/{park}", "/admin/causes", "/admin/causes/{cause}"]


def test_every_post_form_carries_a_csrf_token_and_every_input_a_label(app, auth, cast, public_case):
    client = auth.login(cast.admin)
    with in_app(app):
        cause_id = db.session.scalar(db.select(Cause.id))
    for path in ALL_PAGES:
        url = path.format(case=public_case.id, user=cast.member_a.id, park=cast.park_a.id, cause=cause_id)
        tree = page(client.get(url))
        for form in tree.select("form"):
            if form.attrs.get("method", "get").lower() == "post":
                token = form.select_one("input[name=csrf_token]")
                assert token is not None and token.attrs["type"] == "hidden", f"{url}: form without CSRF token"
        labelled = {label.attrs.get("for") for label in tree.select("label")}
        for control in tree.select("input") + tree.select("select") + tree.select("textarea"):
            if control.attrs.get("type") in ("hidden", "submit"):
                continue
            assert control.attrs.get("id") in labelled or control.attrs.get("aria-label"), \
                f"{url}: {control.name} {control.attrs.get('name')!r} has no label"


def test_pages_load_nothing_from_other_sites(client, public_case):
    tree = page(client.get(f"/cases/{public_case.id}"))
    for node in tree.select("link") + tree.select("script") + tree.select("img"):
        source = node.attrs.get("href") or node.attrs.get("src") or ""
        assert source.startswith("/"), source
    assert tree.select_one("link[rel=icon]").attrs["href"].startswith("/static/favicon.svg")  # no /favicon.ico 404
    for name in ("zhigu.css", "zhigu.js", "favicon.svg"):
        with client.get(f"/static/{name}") as response:
            assert response.status_code == 200


def test_home_lists_recent_cases_and_counts_by_family(auth, make_case, cast, public_case):
    make_case(cast.author, title="A private case about hydrogen", visibility="private",
              causes=["team.skills_gap"])

    tree = page(auth.login(None).get("/"))
    recent = text(tree.select_one("#recent-heading").parent)
    assert public_case.title in recent
    assert "hydrogen" not in recent
    families = tree.select_one("ul.family-counts")
    assert "Money" in text(families) and "Team" not in text(families)
    assert "/search?family=money" in links(families)
    assert tree.select_one('form[action="/search"].big-search') is not None


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


def test_every_control_on_every_form_page_has_a_label(app, auth, api_as, cast, make_case, public_case):
    """A <label for>, a wrapping <label>, aria-label or aria-labelledby; hidden inputs and buttons need none."""
    seen = 0
    for user, url in _more_pages(app, api_as, cast, make_case, public_case):
        response = auth.login(user).get(url)
        assert response.status_code == 200, url
        tree = page(response)
        labelled = {label.attrs.get("for") for label in tree.select("label")}
        for control in tree.select("input") + tree.select("select") + tree.select("textarea"):
            if control.attrs.get("type") in ("hidden", "submit", "button"):
                continue
            seen += 1
            assert (control.attrs.get("id") in labelled or control.find_parent("label") is not None
                    or control.attrs.get("aria-label") or control.attrs.get("aria-labelledby")), \
                f"{url}: {control.name} {control.attrs.get('name')!r}"
    assert seen > 100


def test_keyboard_order_starts_with_the_skip_link_and_no_positive_tabindex(app, auth, api_as, cast, make_case,
                                                                         public_case):
    for user, url in _more_pages(app, api_as, cast, make_case, public_case)[:12]:
        tree = page(auth.login(user).get(url))
        focusable = tree.select(":is(a, button, input, select, textarea):not([type=hidden])")
        assert focusable[0].name == "a" and focusable[0].attrs.get("href") == "#main", url
        assert tree.select_one("#main").name == "main"
        assert focusable[2].attrs.get("id") == "header-q", url  # skip link, brand, then the search box
        for node in tree.select("[tabindex]"):
            assert int(node.attrs.get("tabindex") or 0) <= 0, f"{url}: tabindex {node.attrs['tabindex']}"


def test_deep_pages_show_breadcrumbs(auth, cast, public_case):
    client = auth.login(cast.author)
    for url, trail in [(f"/cases/{public_case.id}", ["Home", "Archive", public_case.title]),
                       (f"/cases/{public_case.id}/edit", ["Home", "Archive", public_case.title, "Edit"]),
                       (f"/cases/{public_case.id}/retract", ["Home", "Archive", public_case.title, "Retract"])]:
        nav = page(client.get(url)).select_one("nav.breadcrumbs")
        assert nav is not None, url
        assert [text(item) for item in nav.select("li")] == trail
        assert nav.select_one("a").attrs["href"] == "/"
        assert nav.select("li")[-1].select_one("span").attrs.get("aria-current") == "page"
    admin = auth.login(cast.admin)
    nav = page(admin.get(f"/admin/parks/{cast.park_a.id}")).select_one("nav.breadcrumbs")
    assert [text(item) for item in nav.select("li")] == ["Home", "Admin", "Parks", "Park A"]
    assert nav.select_one('a[href="/admin/parks"]') is not None
    chinese = page(admin.get("/admin/causes", headers={"Accept-Language": "zh-CN"})).select_one("nav.breadcrumbs")
    assert text(chinese.select("li")[0]) == "首页"


def test_static_files_are_cached_and_linked_by_version(app, client):
    tree = page(client.get("/"))
    stylesheet = tree.select_one("link[rel=stylesheet]").attrs["href"]
    script = tree.select_one("script").attrs["src"]
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


def test_markdown_preview_uses_the_case_page_renderer(app, auth, cast, public_case):
    client = auth.login(cast.author)
    source = "## Plan\n\n- **kiosks** [site](https://example.org)\n\n<script>alert(1)</script> <img src=x onerror=y>"
    response = client.post("/preview", data={"text": source})
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    from zhigu.templating import render_markdown
    assert html == str(render_markdown(source))
    assert "<h2>Plan</h2>" in html and "<strong>kiosks</strong>" in html and 'rel="noopener noreferrer nofollow"' in html
    assert "<script" not in html and "<img" not in html

    assert client.post("/preview", data={"text": "x" * 100_001}).status_code == 413
    assert auth.login(None).post("/preview", data={"text": "x"}).status_code in (302, 401)


@pytest.mark.parametrize("query_string, changes", [
    ({"q": "solar pumps", "sector": ["energy", "health"], "page": "3"}, {"page": None, "sector": ["energy"]}),
    ({"q": "光伏 储能 & co/2?", "market": "KZ"}, {"market": ["KZ", "UZ"], "q": "a+b=c; d'e"}),
    ({}, {"page": 2}),
    ({"page": "2"}, {"page": None}),
])
def test_page_urls_with_changed_arguments_are_those_url_for_builds(app, query_string, changes):
    from flask import request, url_for

    from zhigu.templating import url_with

    with app.test_request_context("/search", query_string=query_string):
        app.preprocess_request()
        args = request.args.copy()
        for key, value in changes.items():
            args.poplist(key)
            if isinstance(value, list):
                args.setlist(key, [str(v) for v in value])
            elif value is not None:
                args[key] = str(value)
        expected = url_for("search.search", **args.to_dict(flat=False))
        assert url_with(**changes) == expected
        assert url_with(**changes) == expected  # the path kept from the first call


def test_arguments_named_like_url_fors_own_stay_arguments(client, cast, make_case):
    make_case(cast.author, title="Solar kettles for tea houses")
    response = client.get("/search", query_string={"q": "solar", "_anchor": "x", "_external": "1"})

    assert response.status_code == 200
    assert "_anchor=x" in response.get_data(as_text=True)
