"""Health and readiness, request ids in responses and logs, security headers and a CSP the pages satisfy."""
import json
import logging
import re
from html.parser import HTMLParser

import pytest

from helpers import ROOT, case_data, in_app
from zhigu import create_app
from zhigu.extensions import db
from zhigu.ops import JsonFormatter
from zhigu.search import outbox


def test_healthz_answers_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_reports_database_index_and_outbox(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    checks = response.json["checks"]
    assert checks["database"]["ok"] and checks["index"]["ok"] and checks["outbox"]["ok"]
    assert checks["outbox"]["pending"] == 0


def test_readyz_fails_when_the_index_lags_behind_the_outbox(app, client, make_park, make_user, make_case):
    app.config.update(INDEX_INLINE_DRAIN=False, READY_MAX_PENDING=1)
    author = make_user("curator", make_park())
    make_case(author)
    make_case(author, title="Second hydroponic farm")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["outbox"] == {"ok": False, "pending": 2, "max_pending": 1, "applied": 0}
    with app.app_context():
        outbox.drain(app.extensions["zhigu.search"])
    assert client.get("/readyz").status_code == 200


def test_readyz_fails_cleanly_when_the_database_is_unreachable(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/no/such/dir/zhigu.sqlite", "TESTING": True,
                      "INDEX_DIR": str(tmp_path / "index"), "SECRET_KEY": "test"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"]["ok"] is False
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


def test_each_response_carries_a_request_id_and_a_sane_incoming_one_is_kept(client):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    assert client.get("/healthz", headers={"X-Request-ID": "lb-1234.abc"}).headers["X-Request-ID"] == "lb-1234.abc"
    for bad in ("spaces and <tags>", "x" * 65):
        assert re.fullmatch(r"[0-9a-f]{32}", client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"])


def test_log_records_carry_the_request_id_as_json(client, caplog):
    with caplog.at_level(logging.INFO, logger="zhigu.access"):
        response = client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    [record] = [r for r in caplog.records if r.name == "zhigu.access"]
    entry = json.loads(JsonFormatter().format(record))
    assert response.headers["X-Request-ID"] == "trace-42"
    assert entry["request_id"] == "trace-42" and entry["path"] == "/healthz" and entry["status"] == 200
    assert entry["level"] == "INFO" and "duration_ms" in entry


def test_security_headers_and_csp_on_pages_and_api(client):
    for path in ("/", "/search", "/login", "/api/v1/causes"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
        assert "Strict-Transport-Security" not in headers  # plain HTTP


def test_session_cookie_is_secure_over_https_only(client, make_user, auth):
    user = make_user()
    plain = client.post("/login", data={"email": user.email, "password": "correct-horse-battery"})
    assert plain.headers.getlist("Set-Cookie") and all("Secure" not in c for c in plain.headers.getlist("Set-Cookie"))
    client.post("/logout")
    secure = client.post("/login", data={"email": user.email, "password": "correct-horse-battery"},
                         base_url="https://localhost")
    cookies = secure.headers.getlist("Set-Cookie")
    assert cookies and all(re.search(r"; Secure", c) for c in cookies)
    assert all("HttpOnly" in c and "SameSite=Lax" in c for c in cookies if c.startswith("session="))
    assert "max-age" in secure.headers["Strict-Transport-Security"]


def test_https_behind_a_proxy_is_recognised_only_when_configured(app, tmp_path, make_user):
    user = make_user()
    form = {"email": user.email, "password": "correct-horse-battery"}
    forwarded = {"X-Forwarded-Proto": "https"}
    untrusting = app.test_client().post("/login", data=form, headers=forwarded)
    assert all("Secure" not in c for c in untrusting.headers.getlist("Set-Cookie"))
    proxied = create_app({**{k: app.config[k] for k in ("DATABASE_URL", "INDEX_DIR", "SECRET_KEY", "TESTING",
                                                           "WTF_CSRF_ENABLED", "REVIEW_REQUIRED")},
                          "PROXY_FIX_HOPS": 1})
    trusting = proxied.test_client().post("/login", data=form, headers=forwarded)
    assert all("Secure" in c for c in trusting.headers.getlist("Set-Cookie"))
    with proxied.app_context():
        for engine in db.engines.values():
            engine.dispose()


class InlineCode(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block: inline scripts, styles and handlers."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and not attrs.get("src"):
            self.found.append(f"inline <script> {attrs}")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs.items():
            if name == "style":
                self.found.append(f"style attribute on <{tag}>: {value}")
            if name.startswith("on"):
                self.found.append(f"{name} handler on <{tag}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL on <{tag}>")
            if name in ("src", "href") and re.match(r"^(https?:)?//", value or ""):
                self.found.append(f"resource from another origin on <{tag}>: {value}")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def test_no_template_holds_inline_script_or_style():
    problems = {}
    for template in sorted((ROOT / "templates").rglob("*.html")):
        text = template.read_text()
        found = inline_code(re.sub(r"{[{%#].*?[}%#]}", "x", text, flags=re.S))
        if found:
            problems[str(template.relative_to(ROOT))] = found
    assert problems == {}


def test_rendered_pages_satisfy_the_csp(app, client, auth, make_park, make_user, make_case):
    park = make_park()
    admin = make_user("admin", park)
    case = make_case(make_user("curator", park))
    auth.login(admin)
    paths = ["/", "/search?q=lighting", f"/cases/{case.id}", "/cases/new", "/initiatives/new", "/login"]
    with app.app_context():
        paths += sorted({rule.rule for rule in app.url_map.iter_rules()
                         if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith(
                             ("/api/", "/static", "/logout", "/healthz", "/readyz"))})
    checked = 0
    for path in dict.fromkeys(paths):
        response = client.get(path)
        if response.status_code == 200 and response.mimetype == "text/html":
            assert inline_code(response.get_data(as_text=True)) == [], path
            checked += 1
    assert checked >= 6
