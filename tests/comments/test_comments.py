"""Comments: services, API, pages, search, and who may do what."""
import pytest
from marshmallow import ValidationError
from whoosh import index as whoosh_index
from whoosh.fields import ID, Schema

from helpers import in_app, reload
from zhigu.audit.models import AuditRecord
from zhigu.comments import services
from zhigu.comments.schemas import CommentOutSchema
from zhigu.comments.models import Comment
from zhigu.errors import NotFound, PermissionDenied, ZhiguError
from zhigu.extensions import db
from zhigu.notify.models import Notification
from zhigu.schemas import dump_for
from zhigu.search.services import search_cases

ROLES = ("author", "member_a", "curator_a", "manager_a", "member_b", "curator_b", "manager_b", "admin")


def comment_on(app, case, user, body="I was on that pilot: the controllers froze at -30.", parent=None):
    with in_app(app):
        comment = services.create_comment(reload(user), reload(case),
                                          {"body": body, "parent_id": parent.id if parent else None})
        return comment.id


# -- services -----------------------------------------------------------------------------------------

def test_comment_reply_and_notify_the_author(app, cast, make_case):
    case = make_case(cast.author)
    with app.app_context():
        first = services.create_comment(reload(cast.member_b), reload(case), {"body": "Same in *Astana*."})
        reply = services.create_comment(reload(cast.author), reload(case), {"body": "Thanks", "parent_id": first.id})
        assert [c.id for c in services.list_comments(reload(cast.member_a), reload(case))] == [first.id]
        assert [r.id for r in first.replies] == [reply.id]
        with pytest.raises(ValidationError) as err:
            services.create_comment(reload(cast.member_a), reload(case), {"body": "x", "parent_id": reply.id})
        assert "parent_id" in err.value.messages
        with pytest.raises(ValidationError) as err:
            services.create_comment(reload(cast.member_a), reload(case), {"body": "x", "parent_id": 999})
        assert "parent_id" in err.value.messages
        with pytest.raises(ValidationError) as err:
            services.create_comment(reload(cast.member_a), reload(case), {"body": "   "})
        assert "body" in err.value.messages
        kinds = {(n.user_id, n.kind) for n in db.session.query(Notification)}
        assert (cast.author.id, "comment") in kinds and (cast.member_b.id, "comment") in kinds


def test_only_those_who_see_the_case_comment(app, cast, make_case):
    case = make_case(cast.author, visibility="park")
    with app.app_context():
        for who in ROLES:
            actor = reload(getattr(cast, who))
            if who in ("member_b", "curator_b", "manager_b"):
                with pytest.raises(PermissionDenied):
                    services.create_comment(actor, reload(case), {"body": "hello"})
            else:
                services.create_comment(actor, reload(case), {"body": f"hello from {who}"})
        from flask_login import AnonymousUserMixin
        with pytest.raises(PermissionDenied):
            services.create_comment(AnonymousUserMixin(), reload(case), {"body": "hello"})


def test_edit_and_delete_your_own_only(app, cast, make_case):
    case = make_case(cast.author)
    comment_id = comment_on(app, case, cast.member_a)
    with app.app_context():
        comment = db.session.get(Comment, comment_id)
        for who in ("author", "curator_a", "manager_a", "member_b"):
            with pytest.raises(PermissionDenied):
                services.update_comment(reload(getattr(cast, who)), comment, {"body": "changed"})
            with pytest.raises(PermissionDenied):
                services.delete_comment(reload(getattr(cast, who)), comment)
        services.update_comment(reload(cast.member_a), comment, {"body": "Edited text"})
        assert comment.body == "Edited text" and comment.edited_at is not None
        with pytest.raises(ValidationError):
            services.update_comment(reload(cast.member_a), comment, {"body": ""})
        services.delete_comment(reload(cast.member_a), comment)
        assert comment.is_deleted
        with pytest.raises(ZhiguError):
            services.delete_comment(reload(cast.member_a), comment)
        with pytest.raises(PermissionDenied):
            services.update_comment(reload(cast.member_a), comment, {"body": "again"})
        audit = db.session.query(AuditRecord).one()
        assert (audit.action, audit.details["body"], audit.actor_id) == ("comment.delete", "Edited text",
                                                                         cast.member_a.id)


def test_managers_hide_with_a_reason(app, cast, make_case):
    case = make_case(cast.author)
    comment_id = comment_on(app, case, cast.member_b)
    with app.app_context():
        comment = db.session.get(Comment, comment_id)
        for who in ("author", "member_a", "curator_a", "manager_b", "member_b"):
            with pytest.raises(PermissionDenied):
                services.hide_comment(reload(getattr(cast, who)), comment, {"reason": "off topic"})
        with pytest.raises(ValidationError):
            services.hide_comment(reload(cast.manager_a), comment, {})
        services.hide_comment(reload(cast.manager_a), comment, {"reason": "Names a private person."})
        assert comment.is_hidden
        as_reader = dump_for(reload(cast.member_a), CommentOutSchema(), comment)
        assert as_reader["body"] is None and as_reader["hidden_reason"] == "Names a private person."
        assert dump_for(reload(cast.manager_a), CommentOutSchema(), comment)["body"]
        assert db.session.query(AuditRecord).filter_by(action="comment.hide").one().reason == "Names a private person."


def test_comments_on_hidden_cases_are_not_found(app, cast, make_case):
    case = make_case(cast.author, visibility="private")
    comment_id = comment_on(app, case, cast.author)
    with app.app_context():
        with pytest.raises(NotFound):
            services.get_comment(reload(cast.member_a), comment_id)
        assert services.get_comment(reload(cast.manager_a), comment_id).id == comment_id


# -- search -------------------------------------------------------------------------------------------

def test_comments_are_searchable_only_where_the_case_is_visible(app, cast, make_case):
    public = make_case(cast.author, title="Public kiosk pilot")
    park_only = make_case(cast.author, title="Park drone pilot", visibility="park")
    comment_on(app, public, cast.member_a, body="The zeppelinfoo supplier went bankrupt.")
    hidden_id = comment_on(app, park_only, cast.member_a, body="The zeppelinfoo contract was never signed.")
    with app.app_context():
        def found(user):
            return {r.case.id for r in search_cases(reload(user) if user else None, "zeppelinfoo", {}).results}
        assert found(cast.member_a) == {public.id, park_only.id}
        assert found(cast.member_b) == {public.id}
        services.delete_comment(reload(cast.member_a), db.session.get(Comment, hidden_id))
        assert found(cast.member_a) == {public.id}
        comment = services.create_comment(reload(cast.member_a), reload(public), {"body": "quuxbarium sensors"})
        assert found(cast.member_a) == {public.id}
        assert {r.case.id for r in search_cases(reload(cast.member_a), "quuxbarium", {}).results} == {public.id}
        services.update_comment(reload(cast.member_a), comment, {"body": "different words"})
        assert search_cases(reload(cast.member_a), "quuxbarium", {}).results == []
        services.hide_comment(reload(cast.manager_a), db.session.query(Comment).filter(
            Comment.body.contains("bankrupt")).one(), {"reason": "Unverified claim."})
        assert found(cast.member_a) == set()


def test_an_index_made_before_comments_gains_the_field(tmp_path):
    from zhigu.search.index import _with_new_fields
    ix = whoosh_index.create_in(str(tmp_path), Schema(id=ID(stored=True, unique=True)))
    assert "comments" in _with_new_fields(ix).schema


# -- API ----------------------------------------------------------------------------------------------

def test_api_comments(app, cast, make_case, api_as):
    case = make_case(cast.author, visibility="park")
    base = f"/api/v1/cases/{case.id}/comments"
    created = api_as(cast.member_a).post(base, json={"body": "**Bold** claim", "parent_id": None})
    assert created.status_code == 201 and created.json["author"] == cast.member_a.display_name
    reply = api_as(cast.author).post(base, json={"body": "Agreed", "parent_id": created.json["id"]})
    assert reply.status_code == 201
    listed = api_as(cast.admin).get(base).json
    assert [c["id"] for c in listed] == [created.json["id"]]
    assert [r["id"] for r in listed[0]["replies"]] == [reply.json["id"]]
    assert api_as(cast.member_b).get(base).status_code == 404
    assert api_as(cast.member_b).post(base, json={"body": "hi"}).status_code == 404
    assert api_as(None).get(base).status_code == 404  # hidden looks missing
    assert api_as(cast.member_a).post(base, json={"body": ""}).status_code == 422
    assert api_as(cast.member_a).post(base, json={"body": "x", "parent_id": "abc"}).status_code == 422
    assert api_as(cast.member_a).post(base, data="nope").status_code == 400
    path = f"/api/v1/comments/{created.json['id']}"
    assert api_as(cast.author).patch(path, json={"body": "mine now"}).status_code == 403
    assert api_as(cast.member_b).patch(path, json={"body": "mine now"}).status_code == 404
    assert api_as(cast.member_a).patch(path, json={"body": ""}).status_code == 422
    edited = api_as(cast.member_a).patch(path, json={"body": "Toned down"})
    assert edited.status_code == 200 and edited.json["edited_at"]
    assert api_as(cast.curator_a).delete(path).status_code == 403
    deleted = api_as(cast.member_a).delete(path)
    assert deleted.status_code == 200 and deleted.json["deleted"] and deleted.json["body"] is None
    assert api_as(cast.member_a).delete(path).status_code == 409
    assert api_as(cast.member_a).get(base).json[0]["deleted"] is True  # the thread keeps its place
    hide = f"/api/v1/comments/{reply.json['id']}/hide"
    assert api_as(cast.member_a).post(hide, json={"reason": "spam"}).status_code == 403
    assert api_as(cast.manager_a).post(hide, json={}).status_code == 422
    assert api_as(cast.manager_a).post(hide, json={"reason": "Off topic."}).json["hidden"] is True


# -- pages --------------------------------------------------------------------------------------------

def test_pages_comment_thread(app, cast, make_case, client, auth):
    case = make_case(cast.author)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Log in</a> to comment" in page and 'name="body"' not in page
    auth.login(cast.member_a)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'name="csrf_token"' in page and '<label for="f-new-comment">' in page
    bad = client.post(f"/cases/{case.id}/comments", data={"body": ""})
    assert bad.status_code == 422 and "field-errors" in bad.get_data(as_text=True)
    ok = client.post(f"/cases/{case.id}/comments", data={"body": "<script>x</script> *careful*"})
    assert ok.status_code == 302 and "#comment-" in ok.headers["Location"]
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "<em>careful</em>" in page and "<script>x" not in page
    with app.app_context():
        comment_id = db.session.query(Comment).one().id
    assert client.get(f"/cases/{case.id}/comments?parent_id={comment_id}").status_code == 200
    assert client.post(f"/cases/{case.id}/comments", data={"body": "reply", "parent_id": str(comment_id)}).status_code == 302
    assert client.get(f"/comments/{comment_id}/edit").status_code == 200
    assert client.post(f"/comments/{comment_id}/edit", data={"body": ""}).status_code == 422
    assert client.get(f"/comments/{comment_id}/hide").status_code == 403
    client.post(f"/comments/{comment_id}/delete")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "This comment was deleted." in page and "Moderation record" not in page
    auth.logout()
    auth.login(cast.manager_a)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Moderation record" in page and "careful" in page
    auth.logout()
    auth.login(cast.member_b)
    assert client.post(f"/comments/{comment_id}/edit", data={"body": "hijack"}).status_code == 403


def test_api_audit_for_managers_only(app, cast, make_case, api_as):
    case = make_case(cast.author)
    comment = api_as(cast.member_a).post(f"/api/v1/cases/{case.id}/comments", json={"body": "Oops, wrong case"})
    api_as(cast.member_a).delete(f"/api/v1/comments/{comment.json['id']}")
    for who in ("author", "member_a", "curator_a", "manager_b"):
        assert api_as(getattr(cast, who)).get(f"/api/v1/cases/{case.id}/audit").status_code == 403
    trail = api_as(cast.manager_a).get(f"/api/v1/cases/{case.id}/audit").json
    assert [(e["action"], e["details"]["body"], e["actor"]) for e in trail] == [
        ("comment.delete", "Oops, wrong case", cast.member_a.display_name)]


def test_reply_form_carries_the_parent(app, cast, make_case, client, auth):
    case = make_case(cast.author)
    with app.app_context():
        parent = services.create_comment(reload(cast.author), reload(case), {"body": "first"}).id
    auth.login(cast.member_a)
    page = client.get(f"/cases/{case.id}/comments?parent_id={parent}").get_data(as_text=True)
    assert "<h1>Reply</h1>" in page and f'name="parent_id" value="{parent}"' in page
    bad = client.post(f"/cases/{case.id}/comments", data={"body": "", "parent_id": str(parent)})
    assert bad.status_code == 422 and f'name="parent_id" value="{parent}"' in bad.get_data(as_text=True)


def test_unhide_by_managers_only(app, cast, make_case, api_as, client, auth):
    case = make_case(cast.author)
    comment = api_as(cast.member_a).post(f"/api/v1/cases/{case.id}/comments", json={"body": "Spicy take"}).json
    path = f"/api/v1/comments/{comment['id']}"
    assert api_as(cast.manager_a).post(f"{path}/unhide").status_code == 409
    api_as(cast.manager_a).post(f"{path}/hide", json={"reason": "Check first."})
    for who in ("member_a", "author", "manager_b"):
        assert api_as(getattr(cast, who)).post(f"{path}/unhide").status_code == 403
    auth.login(cast.manager_a)
    assert "Show again" in client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert client.post(f"/comments/{comment['id']}/unhide").status_code == 302
    shown = api_as(cast.member_a).get(f"/api/v1/cases/{case.id}/comments").json[0]
    assert shown["hidden"] is False and shown["body"] == "Spicy take"
    actions = [e["action"] for e in api_as(cast.manager_a).get(f"/api/v1/cases/{case.id}/audit").json]
    assert actions == ["comment.unhide", "comment.hide"]
