"""Notifications and digests name no case the reader may not open, no editor of an anonymized case, and print
no bidirectional controls (issue "Nothing hidden leaks, nothing breaks")."""
import re
from email import message_from_bytes
from email.policy import default

import pytest

from helpers import reload
from zhigu.archive import services as archive_services
from zhigu.comments import services as comment_services
from zhigu.db import now_utc
from zhigu.extensions import db
from zhigu.links import services as link_services
from zhigu.notify import digests, inbox, subscriptions
from zhigu.notify.models import Notification

SECRET = "Secret Acme battery recall"
PUBLIC = "Smart street lighting pilot in Almaty"
HIDDEN_EN = "a case you cannot see"
HIDDEN_ZH = "一个你无权查看的案例"
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
LINK_KEY = "{actor} linked “{source}” ({type}) “{target}”."


class FakeSMTP:
    """Keeps what a digest run sends, as it would arrive (serialized and parsed again)."""

    def __init__(self):
        self.messages = []

    def send_message(self, message):
        self.messages.append(message_from_bytes(message.as_bytes(), policy=default))

    def quit(self):
        pass


@pytest.fixture
def outbox(monkeypatch):
    smtp = FakeSMTP()
    monkeypatch.setattr(digests, "smtp_connection", lambda: smtp)
    return smtp.messages


@pytest.fixture
def followed(cast, make_case):
    """A public case of park A that a member of park B follows, and a private case of park A."""
    public = make_case(cast.author, title=PUBLIC)
    secret = make_case(cast.curator_a, title=SECRET, visibility="private")
    return public, secret


def follow(app, user, case):
    with app.test_request_context():
        subscriptions.subscribe(reload(user), {"kind": "case", "target": str(case.id)})


def texts(app, user) -> list[str]:
    with app.test_request_context():
        return [n.text for n in inbox.notifications_of(reload(user))]


def digest_of(app, outbox, user) -> tuple[str, str]:
    with app.test_request_context():
        digests.send_digests()
    mail = next(m for m in outbox if m["To"] == user.email)
    return str(mail["Subject"]), mail.get_content()


def test_a_private_case_linked_to_a_followed_case_is_not_named(app, cast, followed, api_as, client, auth, outbox):
    public, secret = followed
    follow(app, cast.member_b, public)
    follow(app, cast.admin, public)
    with app.test_request_context():
        link_services.create_link(reload(cast.manager_a), reload(secret), {"target_id": public.id, "type": "related"})
    [text] = texts(app, cast.member_b)
    assert SECRET not in text and PUBLIC in text and text.startswith("Manager")
    assert f"linked {HIDDEN_EN} (is related to) “{PUBLIC}”." in text
    assert any(SECRET in t for t in texts(app, cast.admin))  # who may open it still reads its title
    with app.app_context():
        stored = db.session.query(Notification).filter_by(user_id=cast.member_b.id).one()
        assert SECRET not in stored.message and SECRET not in str(stored.message_params)
    # the API, in English and in Chinese, and the header's count
    api = api_as(cast.member_b)
    listed = api.get("/api/v1/notifications").json
    assert listed["unread"] == 1 and HIDDEN_EN in listed["results"][0]["message"]
    chinese = api.get("/api/v1/notifications", headers={"Accept-Language": "zh"})
    assert SECRET not in chinese.get_data(as_text=True) and HIDDEN_ZH in chinese.json["results"][0]["message"]
    auth.login(cast.member_b)
    page = client.get("/notifications").get_data(as_text=True)
    assert SECRET not in page and HIDDEN_EN in page
    # the digest, in both of its languages
    subject, body = digest_of(app, outbox, cast.member_b)
    assert SECRET not in subject + body and HIDDEN_EN in body and HIDDEN_ZH in body
    admin_subject, admin_body = digest_of(app, outbox, cast.admin)
    assert SECRET in admin_body


def test_a_private_case_merged_into_a_followed_case_is_not_named(app, cast, followed, outbox):
    public, secret = followed
    follow(app, cast.member_b, public)
    with app.test_request_context():
        link_services.merge_case(reload(cast.manager_a), reload(secret),
                                 {"kept_id": public.id, "confirm_visibility": True})
    [text] = texts(app, cast.member_b)
    assert SECRET not in text and text == f"A case you cannot see was merged into “{PUBLIC}”."
    subject, body = digest_of(app, outbox, cast.member_b)
    assert SECRET not in body and f"{HIDDEN_ZH}已合并到“{PUBLIC}”" in body


def test_a_case_made_private_after_the_notification_is_no_longer_named(app, cast, make_case, api_as):
    public = make_case(cast.author, title=PUBLIC)
    other = make_case(cast.author, title=SECRET)
    follow(app, cast.member_b, public)
    with app.test_request_context():
        link_services.create_link(reload(cast.curator_a), reload(public), {"target_id": other.id, "type": "related"})
    assert SECRET in texts(app, cast.member_b)[0]
    with app.test_request_context():
        archive_services.update_case(reload(cast.author), reload(other), {"visibility": "private"})
        archive_services.update_case(reload(cast.author), reload(public), {"title": "Lighting pilot, renamed"})
    [text] = texts(app, cast.member_b)[-1:]
    assert SECRET not in text and HIDDEN_EN in text and "Lighting pilot, renamed" in text
    # the notification's own case made private: the notification is neither listed nor counted
    api = api_as(cast.member_b)
    assert api.get("/api/v1/notifications").json["unread"] == 2
    with app.test_request_context():
        archive_services.update_case(reload(cast.author), reload(public), {"visibility": "private"})
    listed = api.get("/api/v1/notifications").json
    assert listed == {"results": [], "unread": 0}


def test_old_notifications_without_case_ids_are_redacted(app, cast, followed):
    public, secret = followed
    with app.app_context():
        keyed = dict(user_id=cast.member_b.id, kind="link", case_id=public.id, message_key=LINK_KEY,
                     message_params={"actor": "Manager", "source": SECRET, "type": {"msgid": "is related to"},
                                     "target": PUBLIC},
                     message=f"Manager linked “{SECRET}” (is related to) “{PUBLIC}”.")
        db.session.add(Notification(**keyed))
        db.session.add(Notification(**{**keyed, "message_key": None, "message_params": None}))
        db.session.add(Notification(user_id=cast.member_b.id, kind="merge", case_id=public.id,
                                    message_key="“{duplicate}” was merged into “{kept}”.",
                                    message_params={"duplicate": SECRET, "kept": PUBLIC},
                                    message=f"“{SECRET}” was merged into “{PUBLIC}”."))
        db.session.commit()
    merged, bare, linked = texts(app, cast.member_b)
    assert linked == f"Manager linked {HIDDEN_EN} (is related to) “{PUBLIC}”."
    assert bare == f"“{PUBLIC}” was linked to another case."
    assert merged == f"A case you cannot see was merged into “{PUBLIC}”."


def test_the_editor_of_an_anonymized_case_is_not_named(app, cast, make_case, outbox):
    case = make_case(cast.author, title=PUBLIC, org_name="Acme Lighting", anonymize=True)
    follow(app, cast.member_b, case)
    follow(app, cast.manager_a, case)
    with app.test_request_context():
        archive_services.update_case(reload(cast.author), reload(case), {"summary": "A longer summary of the pilot."})
    assert texts(app, cast.member_b) == [f"“{PUBLIC}” was edited."]
    _, body = digest_of(app, outbox, cast.member_b)
    assert "Author A" not in body and f"“{PUBLIC}”已被编辑。" in body
    with app.app_context():
        assert "Author A" not in str(db.session.query(Notification.message, Notification.message_params).all())
        # a row stored before this rule still names the editor: only those who may see the organization read it
        for user in (cast.member_b, cast.manager_a):
            db.session.add(Notification(user_id=user.id, kind="case_edit", case_id=case.id,
                                        message_key="“{title}” was edited by {actor}.",
                                        message_params={"title": PUBLIC, "actor": "Author A"},
                                        message=f"“{PUBLIC}” was edited by Author A."))
        db.session.commit()
    assert texts(app, cast.member_b)[0] == f"“{PUBLIC}” was edited."
    assert texts(app, cast.manager_a)[0] == f"“{PUBLIC}” was edited by Author A."


def test_digests_carry_no_bidirectional_controls(app, cast, make_case, outbox):
    case = make_case(cast.author, title=PUBLIC)
    follow(app, cast.member_b, case)
    with app.test_request_context():
        # values typed before input was cleaned, or by a path that does not clean them
        reload(case).title = "Invoice \u202egpj.exe \u2066pilot\u2069"
        reload(cast.member_a).display_name = "Mallory \u202b\u202a\u202c\u202d"
        reload(cast.member_b).display_name = "Bob \u2067\u2068"
        db.session.commit()
        comment_services.create_comment(reload(cast.member_a), reload(case), {"body": "Same here."})
    subject, body = digest_of(app, outbox, cast.member_b)
    assert "Invoice gpj.exe pilot" in body and "Mallory" in body and "Bob" in body
    assert not BIDI.search(subject) and not BIDI.search(body)
