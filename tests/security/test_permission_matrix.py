"""Every route of the app, tried as every kind of user against public, park and private cases.

The expected result of each try is written in MATRIX below: one string per route, or, for routes about a case
(they take a case, a comment on one or a link from one), one string per visibility of that case. Each string
has one letter per role, in ROLES order:

    Y  allowed: 2xx, or a redirect that is not to the log-in page
    v  allowed past the permission check but refused for the body or the state: 400, 409 or 422
    -  denied: 401, 403, 404, or a redirect to the log-in page

A route missing from MATRIX fails the test: whoever adds a route decides here who may use it.
Read routes are tried with GET; write routes with their method and a valid-enough body (BODIES), each try on
objects made fresh for it, so that no try changes what another one sees.
"""
import itertools

import pytest
from flask import Flask
from sqlalchemy import select

from helpers import case_data, in_app, log_in_session
from zhigu.archive import services as archive_services
from zhigu.archive.models import Cause, FailureCase
from zhigu.auth import services as auth_services
from zhigu.auth.models import User
from zhigu.comments import services as comment_services
from zhigu.errors import PermissionDenied
from zhigu.extensions import db
from zhigu.guilds import services as guild_services
from zhigu.initiatives import services as initiative_services
from zhigu.links import services as link_services
from zhigu.notify import subscriptions

ROLES = ("anonymous", "member", "curator", "author", "manager_b", "manager_a", "admin")
KINDS = ("public", "park", "private")
P, K, V = KINDS
#: Path arguments that make a route about a case, tried against each visibility.
CASE_ARGS = {"case_id", "comment_id", "link_id"}
PASSWORD = "river-stone-lantern"


def _all(letters: str) -> dict:
    return dict.fromkeys(KINDS, letters)


# member, curator and manager_a belong to park A, where every case of the matrix is filed; author is the curator
# of park A who wrote them (and the comments and links on them); manager_b manages park B; member owns the
# initiative, subscriptions and tokens. Case routes: {"public": ..., "park": ..., "private": ...}.
#
# Letters in ROLES order: anonymous, member, curator, author, manager_b, manager_a, admin.
MATRIX = {
    "GET /": "YYYYYYY",
    "GET /admin/causes": "------Y",
    "POST /admin/causes": "------Y",
    "GET /admin/causes/<int:cause_id>": "------Y",
    "POST /admin/causes/<int:cause_id>": "------Y",
    "GET /admin/guilds": "------Y",
    "POST /admin/guilds/<any(guild, reviewer, organization):form_name>": "------Y",
    "GET /admin/organizations": "------Y",
    "GET /admin/parks": "------Y",
    "POST /admin/parks": "------Y",
    "GET /admin/parks/<int:park_id>": "------Y",
    "POST /admin/parks/<int:park_id>": "------Y",
    "GET /admin/users": "------Y",
    "GET /admin/users/<int:user_id>": "------Y",
    "POST /admin/users/<int:user_id>": "------Y",
    "GET /api/v1/": "YYYYYYY",
    "GET /api/v1/cases": "YYYYYYY",
    "POST /api/v1/cases": "--YYYYY",
    "GET /api/v1/cases/<int:case_id>": {P: "YYYYYYY", K: "-YYY-YY", V: "---Y-YY"},
    "PATCH /api/v1/cases/<int:case_id>": _all("---Y-YY"),
    "GET /api/v1/cases/<int:case_id>/audit": _all("-----YY"),
    "POST /api/v1/cases/<int:case_id>/claim": _all("-----vv"),
    "GET /api/v1/cases/<int:case_id>/comments": {P: "YYYYYYY", K: "-YYY-YY", V: "---Y-YY"},
    "POST /api/v1/cases/<int:case_id>/comments": {P: "-YYYYYY", K: "-YYY-YY", V: "---Y-YY"},
    "GET /api/v1/cases/<int:case_id>/links": {P: "YYYYYYY", K: "-YYY-YY", V: "---Y-YY"},
    "POST /api/v1/cases/<int:case_id>/links": {P: "--YYYYY", K: "--YY-YY", V: "---Y-YY"},
    "POST /api/v1/cases/<int:case_id>/merge-into/<int:kept_id>": _all("-----YY"),
    "POST /api/v1/cases/<int:case_id>/publish": _all("---v-vv"),
    "POST /api/v1/cases/<int:case_id>/retract": _all("---Y-YY"),
    "POST /api/v1/cases/<int:case_id>/review": _all("-----vv"),
    "GET /api/v1/cases/<int:case_id>/reviews": {P: "YYYYYYY", K: "-YYY-YY", V: "---Y-YY"},
    "GET /api/v1/cases/<int:case_id>/revisions": {P: "YYYYYYY", K: "-YYY-YY", V: "---Y-YY"},
    "POST /api/v1/cases/<int:case_id>/submit": _all("---v---"),
    "GET /api/v1/causes": "YYYYYYY",
    "DELETE /api/v1/comments/<int:comment_id>": _all("---Y--Y"),
    "PATCH /api/v1/comments/<int:comment_id>": _all("---Y---"),
    "POST /api/v1/comments/<int:comment_id>/hide": _all("-----YY"),
    "POST /api/v1/comments/<int:comment_id>/unhide": _all("-----vv"),
    "POST /api/v1/initiatives": "-YYYYYY",
    "GET /api/v1/initiatives/<int:initiative_id>": "-Y----Y",
    "PATCH /api/v1/initiatives/<int:initiative_id>": "-Y----Y",
    "POST /api/v1/initiatives/<int:initiative_id>/feedback": "-Y----Y",
    "POST /api/v1/initiatives/<int:initiative_id>/post-mortem": "------v",
    "DELETE /api/v1/links/<int:link_id>": _all("---Y-YY"),
    "GET /api/v1/listings": "YYYYYYY",
    "POST /api/v1/listings": "-------",
    "GET /api/v1/listings/<int:listing_id>": "------Y",
    "POST /api/v1/listings/<int:listing_id>/appeal": "-------",
    "POST /api/v1/listings/<int:listing_id>/confirm": "-------",
    "POST /api/v1/listings/<int:listing_id>/renew": "-------",
    "POST /api/v1/listings/<int:listing_id>/reply": "-------",
    "POST /api/v1/listings/<int:listing_id>/withdraw": "------Y",
    "GET /api/v1/notifications": "-YYYYYY",
    "POST /api/v1/notifications/read": "-YYYYYY",
    "GET /api/v1/openapi.json": "YYYYYYY",
    "GET /api/v1/organizations": "YYYYYYY",
    "GET /api/v1/reviews": "----YYY",
    "POST /api/v1/similar": "YYYYYYY",
    "GET /api/v1/subscriptions": "-YYYYYY",
    "POST /api/v1/subscriptions": "-YYYYYY",
    "DELETE /api/v1/subscriptions/<int:subscription_id>": "-Y-----",
    "GET /api/v1/trends": "YYYYYYY",
    "GET /cases": "YYYYYYY",
    "GET /cases/<int:case_id>": {P: "YYYYYYY", K: "-YYY-YY", V: "---Y-YY"},
    "POST /cases/<int:case_id>/claim": _all("-----vv"),
    "GET /cases/<int:case_id>/comments": {P: "-YYYYYY", K: "-YYY-YY", V: "---Y-YY"},
    "POST /cases/<int:case_id>/comments": {P: "-YYYYYY", K: "-YYY-YY", V: "---Y-YY"},
    "GET /cases/<int:case_id>/edit": _all("---Y-YY"),
    "POST /cases/<int:case_id>/edit": _all("---Y-YY"),
    "GET /cases/<int:case_id>/links": {P: "--YYYYY", K: "--YY-YY", V: "---Y-YY"},
    "POST /cases/<int:case_id>/links": {P: "--YYYYY", K: "--YY-YY", V: "---Y-YY"},
    "GET /cases/<int:case_id>/merge": _all("-----YY"),
    "POST /cases/<int:case_id>/merge": _all("-----YY"),
    "POST /cases/<int:case_id>/publish": _all("---v-vv"),
    "GET /cases/<int:case_id>/retract": _all("---Y-YY"),
    "POST /cases/<int:case_id>/retract": _all("---Y-YY"),
    "GET /cases/<int:case_id>/review": _all("-----YY"),
    "POST /cases/<int:case_id>/review": _all("-----vv"),
    "POST /cases/<int:case_id>/submit": _all("---v---"),
    "GET /cases/new": "--YYYYY",
    "POST /cases/new": "--YYYYY",
    "POST /comments/<int:comment_id>/delete": _all("---Y--Y"),
    "GET /comments/<int:comment_id>/edit": _all("---Y---"),
    "POST /comments/<int:comment_id>/edit": _all("---Y---"),
    "GET /comments/<int:comment_id>/hide": _all("-----YY"),
    "POST /comments/<int:comment_id>/hide": _all("-----YY"),
    "POST /comments/<int:comment_id>/unhide": _all("-----vv"),
    "GET /healthz": "YYYYYYY",
    "GET /initiatives/<int:initiative_id>": "-Y----Y",
    "POST /initiatives/<int:initiative_id>/feedback": "-Y----Y",
    "POST /initiatives/<int:initiative_id>/outcome": "-Y----Y",
    "POST /initiatives/<int:initiative_id>/post-mortem": "------v",
    "GET /initiatives/new": "-YYYYYY",
    "POST /initiatives/new": "-YYYYYY",
    "POST /language": "YYYYYYY",
    "POST /links/<int:link_id>/delete": _all("---Y-YY"),
    "GET /lists": "YYYYYYY",
    "GET /lists/<int:listing_id>": "------Y",
    "POST /lists/<int:listing_id>/<any(confirm, reply, appeal, renew, withdraw):step>": "-------",
    "GET /lists/propose": "-------",
    "POST /lists/propose": "-------",
    "GET /forgot-password": "YYYYYYY",
    "POST /forgot-password": "YYYYYYY",
    "GET /login": "YYYYYYY",
    "POST /login": "vvvvvvv",
    "GET /reset-password": "vvvvvvv",
    "POST /reset-password": "vvvvvvv",
    "POST /logout": "YYYYYYY",
    "GET /my/cases": "-YYYYYY",
    "GET /my/initiatives": "-YYYYYY",
    "GET /notifications": "-YYYYYY",
    "POST /notifications/digest": "-YYYYYY",
    "POST /notifications/read": "-YYYYYY",
    "POST /preview": "-YYYYYY",
    "GET /profile": "-YYYYYY",
    "POST /profile": "-vvvvvv",
    "POST /profile/tokens": "-YYYYYY",
    "POST /profile/tokens/<int:token_id>/revoke": "-Y-----",
    "GET /readyz": "YYYYYYY",
    "GET /reviews": "----YYY",
    "GET /search": "YYYYYYY",
    "GET /signup": "YYYYYYY",
    "POST /signup": "YYYYYYY",
    "GET /static/<path:filename>": "YYYYYYY",
    "POST /subscriptions": "-YYYYYY",
    "POST /subscriptions/<int:subscription_id>/delete": "-Y-----",
    "GET /similar": "YYYYYYY",
    "POST /similar": "vvvvvvv",
    "GET /trends": "YYYYYYY",
    "GET /trends/<chart>.csv": "YYYYYYY",
}


def _case_fields(kind: str = "public") -> dict:
    return case_data(visibility=kind)


LISTING = {"organization": "Sunny Panels Ltd", "list": "black", "evidence": ["https://court.example.cn/r/1"],
           "justification": "Paid every supplier late for two years running, per court records."}
INITIATIVE = {"title": "Solar lighting in a second park", "description": "We plan networked street lights again."}

#: Bodies of the write routes: a function of the try's ids (t) returning form fields or a JSON object.
BODIES = {
    "/admin/causes": lambda t: {"code": f"market.matrix_{t.n}", "family": "market", "label_en": "A new cause",
                                "label_zh": "新原因"},
    "/admin/causes/<int:cause_id>": lambda t: {"label_en": "Renamed cause"},
    "/admin/guilds/<any(guild, reviewer, organization):form_name>": lambda t: {"slug": f"g-{t.n}",
                                                                               "name": "A guild"},
    "/admin/parks": lambda t: {"slug": f"new-park-{t.n}", "name": "New Park"},
    "/admin/parks/<int:park_id>": lambda t: {"slug": "park-b", "name": "Park B", "region": "Zhejiang/Hangzhou"},
    "/admin/users/<int:user_id>": lambda t: {"email": t.cast.member_b.email, "display_name": "Member B",
                                             "role": "member", "park": "park-b", "is_active": "y"},
    "/api/v1/cases": lambda t: _case_fields(),
    "/api/v1/cases/<int:case_id>": lambda t: _case_fields(t.kind),
    "/api/v1/cases/<int:case_id>/comments": lambda t: {"body": "A comment."},
    "/api/v1/cases/<int:case_id>/links": lambda t: {"target_id": t.world["kept"], "type": "same_root_cause"},
    "/api/v1/cases/<int:case_id>/merge-into/<int:kept_id>": lambda t: {"reason": "The same story twice."},
    "/api/v1/cases/<int:case_id>/retract": lambda t: {"reason": "Withdrawn by its author."},
    "/api/v1/cases/<int:case_id>/review": lambda t: {"decision": "approve"},
    "/api/v1/comments/<int:comment_id>": lambda t: {"body": "Edited."},
    "/api/v1/comments/<int:comment_id>/hide": lambda t: {"reason": "Off topic."},
    "/api/v1/initiatives": lambda t: INITIATIVE,
    "/api/v1/initiatives/<int:initiative_id>": lambda t: {"outcome": "launched"},
    "/api/v1/initiatives/<int:initiative_id>/feedback": lambda t: {"case_id": t.world["cases"]["public"],
                                                                   "verdict": "relevant"},
    "/api/v1/listings": lambda t: LISTING,
    "/api/v1/listings/<int:listing_id>/appeal": lambda t: {"reason": "This is wrong, see the ruling."},
    "/api/v1/listings/<int:listing_id>/renew": lambda t: {"evidence": ["https://court.example.cn/r/2"]},
    "/api/v1/listings/<int:listing_id>/reply": lambda t: {"reply": "We paid everyone."},
    "/api/v1/listings/<int:listing_id>/withdraw": lambda t: {"reason": "A mistake."},
    "/api/v1/similar": lambda t: {"description": "networked street lights in an industrial park"},
    "/api/v1/subscriptions": lambda t: {"kind": "search", "target": f"lights {t.n}"},
    "/cases/<int:case_id>/comments": lambda t: {"body": "A comment."},
    "/cases/<int:case_id>/edit": lambda t: _case_fields(t.kind),
    "/cases/<int:case_id>/links": lambda t: {"target_id": t.world["kept"], "type": "same_root_cause"},
    "/cases/<int:case_id>/merge": lambda t: {"kept_id": t.world["kept"], "reason": "The same story twice."},
    "/cases/<int:case_id>/retract": lambda t: {"reason": "Withdrawn by its author."},
    "/cases/<int:case_id>/review": lambda t: {"decision": "approve"},
    "/cases/new": lambda t: _case_fields(),
    "/comments/<int:comment_id>/edit": lambda t: {"body": "Edited."},
    "/comments/<int:comment_id>/hide": lambda t: {"reason": "Off topic."},
    "/initiatives/<int:initiative_id>/feedback": lambda t: {"case_id": t.world["cases"]["public"],
                                                            "verdict": "relevant"},
    "/initiatives/<int:initiative_id>/outcome": lambda t: {"outcome": "launched"},
    "/initiatives/new": lambda t: INITIATIVE,
    "/language": lambda t: {"language": "en"},
    "/lists/propose": lambda t: LISTING,
    "/forgot-password": lambda t: {"email": "nobody@example.org"},
    "/login": lambda t: {"email": "nobody@example.org", "password": "not-the-password"},
    "/reset-password": lambda t: {"token": "not-a-token", "password": PASSWORD, "password_confirm": PASSWORD},
    "/notifications/digest": lambda t: {"frequency": "weekly"},
    "/profile": lambda t: {"current_password": "not-the-password", "new_password": "a-new-long-password"},
    "/profile/tokens": lambda t: {"name": "matrix"},
    "/signup": lambda t: {"email": f"new-{t.n}@example.org", "display_name": "New", "password": PASSWORD},
    "/subscriptions": lambda t: {"kind": "search", "target": f"lights {t.n}"},
}


#: Path arguments whose objects a write may change: each write gets one that no allowed write has touched.
FRESH_ARGS = {"case_id", "comment_id", "link_id", "initiative_id", "listing_id", "subscription_id", "token_id"}
#: Objects made for writes that were then refused (so still as made), by (argument, visibility).
UNCHANGED: dict = {}


class Try:
    """One request of the matrix: its route, method, role and visibility, and the objects it acts on."""

    counter = itertools.count(1)

    def __init__(self, world, cast, rule, method, role, kind):
        self.world, self.cast, self.rule, self.method, self.role, self.kind = world, cast, rule, method, role, kind
        self.n = next(self.counter)
        self.writes = method != "GET"
        self.used: list = []

    def path(self) -> str:
        values = {name: self.value(name) for name in self.rule.arguments}
        return self.rule.build(values, append_unknown=False)[1]

    def value(self, name):
        """The path argument `name`: fixed objects for reads, and for writes ones no earlier write changed."""
        key = (name, self.kind)
        if self.writes and name in FRESH_ARGS:
            if key not in UNCHANGED:
                UNCHANGED[key] = self.make(name)
            self.used.append(key)
            return UNCHANGED[key]
        return self.make(name)

    def make(self, name):
        w, kind, fresh = self.world, self.kind, self.writes
        if name == "case_id":
            return _fresh_case(self.cast, kind) if fresh else w["cases"][kind]
        if name == "comment_id":
            return _fresh_comment(self.cast, kind) if fresh else w["comments"][kind]
        if name == "link_id":
            return _fresh_link(self.cast, w, kind)
        if name == "initiative_id":
            return _fresh_initiative(self.cast) if fresh else w["initiative"]
        if name == "listing_id":
            return _fresh_listing(self.cast) if fresh else w["listing"]
        if name == "subscription_id":
            return subscriptions.subscribe(_user(self.cast.member_a),
                                           {"kind": "search", "target": f"lighting {self.n}"}).id
        if name == "token_id":
            return auth_services.create_token(_user(self.cast.member_a), "matrix")[0].id
        fixed = {"kept_id": w["kept"], "user_id": self.cast.member_b.id, "park_id": self.cast.park_b.id,
                 "cause_id": w["cause_id"], "form_name": "guild", "step": "confirm", "chart": "timeline",
                 "filename": "zhigu.css"}
        return fixed[name]

    def body(self):
        return BODIES.get(self.rule.rule, lambda t: {})(self) if self.writes else None


def _user(detached) -> User:
    return db.session.get(User, detached.id)


def _fresh_case(cast, kind) -> int:
    return archive_services.create_case(_user(cast.author), case_data(visibility=kind, title=f"Fresh {kind} case"),
                                        publish=True).id


def _fresh_comment(cast, kind) -> int:
    case = db.session.get(FailureCase, _fresh_case(cast, kind))
    return comment_services.create_comment(_user(cast.author), case, {"body": "A comment."}).id


def _fresh_link(cast, world, kind) -> int:
    case = db.session.get(FailureCase, _fresh_case(cast, kind))
    return link_services.create_link(_user(cast.author), case,
                                     {"target_id": world["kept"], "type": "same_root_cause"}).id


def _fresh_initiative(cast) -> int:
    return initiative_services.register_initiative(_user(cast.member_a), INITIATIVE).id


_orgs = itertools.count(1)


def _fresh_listing(cast) -> int:
    """A listing proposed by a reviewer of the guild, about a new organization that member_b represents."""
    name = f"Panels Maker {next(_orgs)}"
    guild_services.create_organization(_user(cast.admin), {"name": name, "type": "enterprise",
                                                           "representative": cast.member_b.email})
    reviewer = auth_services.find_user("reviewer1@example.org")
    return guild_services.propose_listing(reviewer, {**LISTING, "organization": name}).id


def _build_world(app: Flask, cast, make_case) -> dict:
    world = {"cases": {kind: make_case(cast.author, visibility=kind, title=f"A {kind} case").id for kind in KINDS},
             "kept": make_case(cast.author, title="The case merges keep").id}
    with in_app(app):
        admin = _user(cast.admin)
        for n in (1, 2):
            auth_services.create_user(f"reviewer{n}@example.org", PASSWORD)
        guild_services.create_guild(admin, {"slug": "solar", "name": "Solar Guild"})
        for n in (1, 2):
            guild_services.add_reviewer(admin, {"guild": "solar", "email": f"reviewer{n}@example.org"})
        guild_services.create_organization(admin, {"name": "Sunny Panels Ltd", "type": "enterprise",
                                                   "representative": cast.member_b.email})
        world["comments"] = {kind: _fresh_comment(cast, kind) for kind in KINDS}
        world["initiative"] = _fresh_initiative(cast)
        world["listing"] = _fresh_listing(cast)
        world["cause_id"] = db.session.scalar(select(Cause.id).order_by(Cause.id).limit(1))
    return world


def outcome(response, denied: bool, flashed_error: bool) -> str:
    """The letter of a response (see the module docstring); "!" for anything else, such as a 500.

    Some pages answer a refused action with a redirect and a flashed message: a PermissionDenied raised
    during the request makes that a denial, another flashed error a refusal for the state ("v").
    """
    status = response.status_code
    if denied and status < 400:
        return "-"
    if 300 <= status < 400:
        if "/login" in response.headers.get("Location", ""):
            return "-"
        return "v" if flashed_error else "Y"
    if 200 <= status < 300:
        return "Y"
    if status in (400, 409, 422):
        return "v"
    if status in (401, 403, 404):
        return "-"
    return "!"


def _routes(app):
    """(rule, method) for every route but static files, in a stable order."""
    pairs = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            pairs.append((rule, method))
    return sorted(pairs, key=lambda pair: (pair[0].rule, pair[1]))


def _key(rule, method) -> str:
    return f"{method} {rule.rule}"


#: PermissionDenied errors raised during the current try (see `_record_denials`).
DENIALS: list = []


def _run(app, cast, world, rule, method, role, kind) -> tuple[str, int]:
    t = Try(world, cast, rule, method, role, kind)
    with in_app(app):
        path = t.path()
        body = t.body()
    client = app.test_client()
    if role != "anonymous":
        user = {"member": cast.member_a, "curator": cast.curator_a, "author": cast.author,
                "manager_b": cast.manager_b, "manager_a": cast.manager_a, "admin": cast.admin}[role]
        log_in_session(client, user)
    DENIALS.clear()
    if rule.rule.startswith("/api/"):
        # writes send JSON, even without a body, as the site's scripts do (see zhigu.api.cross_site)
        json = None if method == "GET" else body if body is not None else {}
        response = client.open(path, method=method, json=json)
    else:
        response = client.open(path, method=method, data=body)
    response.close()
    with client.session_transaction() as session:
        flashed_error = any(category == "error" for category, _message in session.get("_flashes", []))
    letter = outcome(response, bool(DENIALS), flashed_error)
    if letter != "-":  # an allowed try may have changed its objects: the next write gets new ones
        for key in t.used:
            UNCHANGED.pop(key, None)
    return letter, response.status_code


@pytest.fixture
def _record_denials(monkeypatch):
    original = PermissionDenied.__init__

    def record(self, *args, **kwargs):
        DENIALS.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(PermissionDenied, "__init__", record)


#: The routes are checked in this many parts, so that the test processes share the work (each part builds its world).
PARTS = 4


@pytest.mark.parametrize("part", range(PARTS))
def test_every_route_answers_every_role_as_the_matrix_says(app, cast, make_case, _record_denials, part):
    # the matrix is about permissions, not search: skip index writes, and let /readyz ignore the outbox they leave
    app.config.update(INDEX_INLINE_DRAIN=False, READY_MAX_PENDING=10**9)
    UNCHANGED.clear()
    world = _build_world(app, cast, make_case)
    routes = _routes(app)[part::PARTS]
    missing = [_key(rule, method) for rule, method in routes if _key(rule, method) not in MATRIX]
    actual, problems = {}, []
    for rule, method in routes:
        key = _key(rule, method)
        kinds = KINDS if CASE_ARGS & set(rule.arguments) else (None,)
        got = {}
        for kind in kinds:
            letters, statuses = "", []
            for role in ROLES:
                letter, status = _run(app, cast, world, rule, method, role, kind)
                letters += letter
                statuses.append(status)
            got[kind] = letters
            expected = MATRIX.get(key)
            if isinstance(expected, dict):
                expected = expected.get(kind)
            if "!" in letters or (expected is not None and letters != expected):
                problems.append(f"{key} [{kind or 'any'}]: expected {expected}, got {letters} {statuses}")
        actual[key] = got[None] if kinds == (None,) else got
    assert not missing, "routes missing from MATRIX:\n" + "\n".join(
        f"    {k!r}: {actual[k]!r}," for k in missing)
    assert not problems, "\n".join(problems)


def test_every_route_of_the_matrix_is_served(app):
    """The other way round: a route module the factory stopped importing would take its routes away unnoticed."""
    served = {_key(rule, method) for rule, method in _routes(app)}

    assert sorted(set(MATRIX) - served) == []
