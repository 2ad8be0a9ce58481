"""Named actions: who may take each, where each is registered, and the index's visibility tokens agreeing with can()."""
import itertools
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask_login import AnonymousUserMixin

import zhigu.initiatives  # noqa: F401  (registers the initiative rules this module tries)
from zhigu.archive.permissions import viewer_tokens, visibility_tokens
from zhigu.auth.models import Role
from zhigu.auth.permissions import RULES, can, register_rule, require, rule
from zhigu.errors import PermissionDenied

ROOT = Path(__file__).resolve().parents[2]

PARK_A, PARK_B = 1, 2


def user(role, park_id=None, user_id=None):
    return SimpleNamespace(is_authenticated=True, role=Role(role), park_id=park_id,
                           id=user_id or hash((role, park_id)) % 10_000 + 100)


VISITOR = AnonymousUserMixin()
AUTHOR = user("curator", PARK_A, user_id=1)
USERS = {
    "visitor": VISITOR,
    "author": AUTHOR,
    "member_a": user("member", PARK_A, 2),
    "curator_a": user("curator", PARK_A, 3),
    "manager_a": user("manager", PARK_A, 4),
    "member_b": user("member", PARK_B, 5),
    "curator_b": user("curator", PARK_B, 6),
    "manager_b": user("manager", PARK_B, 7),
    "member_no_park": user("member", None, 8),
    "admin": user("admin", None, 9),
}


def case(status="published", visibility="public", park_id=PARK_A, author_id=AUTHOR.id, anonymize=False):
    return SimpleNamespace(status=status, visibility=visibility, park_id=park_id, author_id=author_id,
                           anonymize=anonymize)


@pytest.mark.parametrize("who, allowed", [
    ("visitor", False), ("member_a", False), ("member_no_park", False), ("curator_a", True),
    ("manager_b", True), ("admin", True),
])
def test_case_create(who, allowed):
    assert can(USERS[who], "case.create") is allowed


@pytest.mark.parametrize("action", ["case.edit", "case.retract"])  # case.publish: tests/reviews
@pytest.mark.parametrize("who, allowed", [
    ("visitor", False), ("author", True), ("member_a", False), ("curator_a", False), ("manager_a", True),
    ("member_b", False), ("curator_b", False), ("manager_b", False), ("admin", True),
])
def test_case_edit_publish_retract(action, who, allowed):
    for visibility in ("public", "park", "private"):
        assert can(USERS[who], action, case(visibility=visibility)) is allowed


def test_author_who_became_a_member_can_no_longer_edit():
    demoted = user("member", PARK_A, user_id=AUTHOR.id)

    assert not can(demoted, "case.edit", case())
    assert can(demoted, "case.view", case(visibility="private"))


@pytest.mark.parametrize("visibility, viewers", [
    ("public", set(USERS)),
    ("park", {"author", "member_a", "curator_a", "manager_a", "admin"}),
    ("private", {"author", "manager_a", "admin"}),
])
def test_case_view_of_published_and_retracted_cases(visibility, viewers):
    for status in ("published", "retracted"):
        allowed = {who for who, u in USERS.items() if can(u, "case.view", case(status, visibility))}
        assert allowed == viewers


def test_drafts_are_seen_by_author_park_manager_and_admin_only():
    allowed = {who for who, u in USERS.items() if can(u, "case.view", case("draft", "public"))}

    assert allowed == {"author", "manager_a", "admin"}


def test_park_case_of_a_filer_without_park_is_seen_by_the_filer_and_admins():
    orphan = case(visibility="park", park_id=None)

    allowed = {who for who, u in USERS.items() if can(u, "case.view", orphan)}

    assert allowed == {"author", "admin"}


def test_see_org_of_anonymized_case():
    anonymized = case(anonymize=True)

    allowed = {who for who, u in USERS.items() if can(u, "case.see_org", anonymized)}

    assert allowed == {"author", "manager_a", "admin"}
    assert all(can(u, "case.see_org", case(anonymize=False)) for u in USERS.values())


@pytest.mark.parametrize("action", ["admin.users", "admin.parks", "admin.causes"])
def test_admin_actions(action):
    assert {who for who, u in USERS.items() if can(u, action)} == {"admin"}


def test_initiatives_are_registered_by_users_and_seen_by_founder_and_admins():
    initiative = SimpleNamespace(founder_id=USERS["member_a"].id)

    assert {who for who, u in USERS.items() if can(u, "initiative.create")} == set(USERS) - {"visitor"}
    for action in ("initiative.view", "initiative.feedback"):
        assert {who for who, u in USERS.items() if can(u, action, initiative)} == {"member_a", "admin"}


def test_require_raises_permission_denied_with_a_login_hint_for_visitors():
    with pytest.raises(PermissionDenied, match="log in"):
        require(VISITOR, "case.create")
    with pytest.raises(PermissionDenied, match="not allowed"):
        require(USERS["member_a"], "case.create")
    require(USERS["curator_a"], "case.create")


def test_every_action_is_a_named_rule():
    assert {"case.create", "case.view", "case.edit", "case.publish", "case.retract", "case.see_org",
            "initiative.create", "initiative.view", "initiative.feedback", "admin.users", "admin.parks",
            "admin.causes"} <= set(RULES)
    with pytest.raises(KeyError, match="No rule is registered for 'case.destroy'"):
        can(USERS["admin"], "case.destroy")


#: can("x.y", ...) in templates; can(user, "x.y"...), require(user, "x.y"...) and get_visible(..., "x.y") in code.
ACTION_IN_TEMPLATE = re.compile(r"""\bcan\(\s*['"]([a-z_]+\.[a-z_]+)['"]""")
ACTION_IN_CODE = re.compile(r"""\b(?:can|require)\(\s*[\w.]+\s*,\s*['"]([a-z_]+\.[a-z_]+)['"]"""
                            r"""|\bget_visible\([^)]*?['"]([a-z_]+\.[a-z_]+)['"]""")


def named_actions() -> dict[str, str]:
    """Every action the code and templates name, with one file that names it."""
    found = {}
    for path in (ROOT / "templates").rglob("*.html"):
        found.update((action, str(path)) for action in ACTION_IN_TEMPLATE.findall(path.read_text()))
    for path in (ROOT / "zhigu").rglob("*.py"):
        for match in ACTION_IN_CODE.finditer(path.read_text()):
            found[match.group(1) or match.group(2)] = str(path)
    return found


def test_every_action_named_in_code_or_templates_is_registered_by_the_app(app):
    actions = named_actions()

    assert len(actions) > 30  # the scan still finds the calls
    assert {action: where for action, where in actions.items() if action not in RULES} == {}


def test_each_domain_registers_its_own_rules(app):
    owners = {action: fn.__module__ for action, fn in RULES.items()}

    assert owners["case.view"] == "zhigu.archive.permissions"
    assert owners["case.review"] == "zhigu.reviews.permissions"
    assert owners["comment.hide"] == "zhigu.comments.permissions"
    assert owners["case.merge"] == "zhigu.links.permissions"
    assert owners["initiative.view"] == "zhigu.initiatives.permissions"
    assert owners["listing.confirm"] == "zhigu.guilds.permissions"
    assert owners["trends.view"] == "zhigu.trends.permissions"
    assert owners["notify.subscribe"] == "zhigu.notify.permissions"
    assert owners["admin.users"] == "zhigu.auth.permissions"
    assert set(owners.values()) <= {f"zhigu.{domain}.permissions" for domain in (
        "auth", "archive", "reviews", "comments", "links", "initiatives", "guilds", "trends", "notify")}


def test_a_second_rule_for_an_action_is_refused_and_the_same_one_is_harmless():
    original = RULES["case.view"]

    with pytest.raises(ValueError, match="case.view"):
        rule("case.view")(lambda user, case: True)
    register_rule("case.view", original)

    assert RULES["case.view"] is original


def test_auth_permissions_import_no_domain():
    """Dependencies point one way: the domains import auth, never the reverse."""
    code = "import sys, zhigu.auth.permissions; print(' '.join(m for m in sys.modules if m.startswith('zhigu.')))"
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    packages = {module.split(".")[1] for module in loaded.split()}

    assert "auth" in packages
    assert not packages & {"archive", "guilds", "initiatives", "comments", "links", "reviews", "notify", "trends",
                           "search"}


@pytest.mark.parametrize("visibility, park_id, author_id", list(itertools.product(
    ["public", "park", "private"], [PARK_A, PARK_B, None], [AUTHOR.id, 6, None])))
def test_index_tokens_agree_with_can_view(visibility, park_id, author_id):
    """The search filter (index tokens) must admit exactly the viewers can() admits."""
    published = case(visibility=visibility, park_id=park_id, author_id=author_id)
    document_tokens = set(visibility_tokens(published))

    for who, viewer in USERS.items():
        tokens = viewer_tokens(viewer)
        by_index = tokens is None or bool(document_tokens & set(tokens))
        assert by_index is can(viewer, "case.view", published), who
