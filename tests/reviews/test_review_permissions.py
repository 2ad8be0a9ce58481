"""The review rules as a table: who may publish directly, submit, review, see the queue and the trail."""
from types import SimpleNamespace

import pytest

from zhigu.auth.models import Role
from zhigu.auth.permissions import can


def user(role, park_id, user_id):
    return SimpleNamespace(is_authenticated=True, role=Role(role), park_id=park_id, id=user_id)


USERS = {"author": user("curator", 1, 1), "member_a": user("member", 1, 2), "curator_a": user("curator", 1, 3),
         "manager_a": user("manager", 1, 4), "manager_b": user("manager", 2, 7), "admin": user("admin", None, 9)}
CASE = SimpleNamespace(status="in_review", visibility="public", park_id=1, author_id=1, anonymize=False)

TABLE = {  # action: who may
    "case.publish": {"manager_a", "admin"},
    "case.submit": {"author"},
    "case.review": {"manager_a", "admin"},
    "case.review_history": {"author", "manager_a", "admin"},
}


@pytest.mark.parametrize("action", sorted(TABLE))
def test_review_rules(action):
    assert {who for who, u in USERS.items() if can(u, action, CASE)} == TABLE[action]


def test_queue_is_for_managers_with_a_park_and_admins():
    assert {who for who, u in USERS.items() if can(u, "review.queue")} == {"manager_a", "manager_b", "admin"}
    assert not can(user("manager", None, 11), "review.queue")


def test_cases_in_review_are_hidden_from_readers():
    for status in ("in_review", "changes_requested", "rejected"):
        case = SimpleNamespace(**{**vars(CASE), "status": status})
        assert {who for who, u in USERS.items() if can(u, "case.view", case)} == {"author", "manager_a", "admin"}
