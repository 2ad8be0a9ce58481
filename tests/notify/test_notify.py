"""Subscriptions, in-app notifications and e-mail digests (sent to a real local SMTP server)."""
import threading
import time
from datetime import timedelta

import pytest
from marshmallow import ValidationError

from helpers import page as parsed, reload
from zhigu.archive import services as archive_services
from zhigu.comments import services as comment_services
from zhigu.db import now_utc
from zhigu.errors import NotFound, PermissionDenied
from zhigu.extensions import db
from zhigu.initiatives import services as initiative_services
from zhigu.notify import digests, inbox, scan, subscriptions
from zhigu.notify.models import Notification, Subscription


def kinds_of(user) -> list[tuple[str, int | None]]:
    return [(n.kind, n.case_id) for n in db.session.query(Notification).filter_by(user_id=user.id)
            .order_by(Notification.id)]


# -- subscriptions ------------------------------------------------------------------------------------

def test_subscribe_validates_each_kind(app, cast, make_case):
    hidden = make_case(cast.curator_b, visibility="private")
    case = make_case(cast.author)
    with app.test_request_context():
        member = reload(cast.member_a)
        good = [("case", str(case.id)), ("cause", "market.no_demand"), ("sector", "construction"),
                ("market", "kz"), ("search", "street lighting")]
        for kind, target in good:
            subscriptions.subscribe(member, {"kind": kind, "target": target})
        assert [s.target for s in subscriptions.subscriptions_of(member)][3] == "KZ"
        bad = [("case", str(hidden.id)), ("case", "abc"), ("cause", "no.such"), ("sector", "mining-on-mars"),
               ("market", "EU"), ("initiative", "999"), ("search", ""), ("planet", "x"), ("case", str(case.id))]
        for kind, target in bad:
            with pytest.raises(ValidationError):
                subscriptions.subscribe(member, {"kind": kind, "target": target})
        from flask_login import AnonymousUserMixin
        with pytest.raises(PermissionDenied):
            subscriptions.subscribe(AnonymousUserMixin(), {"kind": "sector", "target": "construction"})
        sub = subscriptions.subscriptions_of(member)[0]
        with pytest.raises(NotFound):
            subscriptions.get_subscription(reload(cast.member_b), sub.id)
        subscriptions.unsubscribe(member, sub)
        assert len(subscriptions.subscriptions_of(member)) == 4


def test_case_followers_hear_of_comments_edits_and_links(app, cast, make_case):
    case = make_case(cast.author)
    other = make_case(cast.author, title="Other pilot")
    with app.test_request_context():
        follower = reload(cast.member_b)
        subscriptions.subscribe(follower, {"kind": "case", "target": str(case.id)})
        comment_services.create_comment(reload(cast.member_a), reload(case), {"body": "I was there."})
        archive_services.update_case(reload(cast.author), reload(case), {"title": "Smart lighting pilot, Almaty"})
        from zhigu.links import services as link_services
        link_services.create_link(reload(cast.curator_a), reload(case), {"target_id": other.id, "type": "related"})
        assert kinds_of(follower) == [("comment", case.id), ("case_edit", case.id), ("link", case.id)]
        # the actor is not told of their own doing
        comment_services.create_comment(follower, reload(case), {"body": "Me too."})
        assert len(kinds_of(follower)) == 3


def test_notifications_respect_visibility(app, cast, make_case):
    case = make_case(cast.author, visibility="park")
    with app.test_request_context():
        subscriptions.subscribe(reload(cast.member_a), {"kind": "case", "target": str(case.id)})
        archive_services.update_case(reload(cast.author), reload(case), {"visibility": "private"})
        comment_services.create_comment(reload(cast.manager_a), reload(case), {"body": "Made private."})
        # the case is private by the time either is told: the member hears of neither
        assert kinds_of(reload(cast.member_a)) == []
        assert ("comment", case.id) in kinds_of(reload(cast.author))
        assert inbox.notifications_of(reload(cast.member_a)) == []  # no longer visible: not listed


def test_new_cases_reach_cause_sector_market_search_and_initiative_followers(app, cast, make_case):
    with app.test_request_context():
        member = reload(cast.member_a)
        for kind, target in [("cause", "market.no_demand"), ("sector", "agriculture"), ("market", "ID"),
                             ("search", "hydroponic")]:
            subscriptions.subscribe(member, {"kind": kind, "target": target})
        initiative = initiative_services.register_initiative(reload(cast.member_b), {
            "title": "Hydroponic container farm", "description": "Hydroponic lettuce farms in shipping containers "
            "for hotels in Dubai, with LED lighting and nutrient dosing.", "target_markets": ["AE"]})
        subscriptions.subscribe(reload(cast.member_b), {"kind": "initiative", "target": str(initiative.id)})
        with pytest.raises(ValidationError):
            subscriptions.subscribe(member, {"kind": "initiative", "target": str(initiative.id)})  # not theirs
    farm = make_case(cast.author, title="Hydroponic container farm in Dubai", sector="agriculture",
                     causes=["money.cash_out"], target_markets=["AE"],
                     summary="Hydroponic lettuce grown in shipping containers for Dubai hotels ran out of cash.")
    lights = make_case(cast.author, title="Street lights in Jakarta", target_markets=["ID"])
    private = make_case(cast.curator_b, title="Hydroponic private case", visibility="private", sector="agriculture")
    with app.test_request_context():
        assert scan.scan_new_cases() > 0
        member_kinds = kinds_of(reload(cast.member_a))
        assert ("new_case", farm.id) in member_kinds and ("new_case", lights.id) in member_kinds
        assert all(case_id != private.id for _, case_id in member_kinds)
        assert len([k for k in member_kinds if k[1] == farm.id]) == 1  # one per case, however many matches
        assert ("similar_case", farm.id) in kinds_of(reload(cast.member_b))
        assert scan.scan_new_cases() == 0  # each case once


def test_cases_published_before_a_subscription_are_not_announced(app, cast, make_case):
    make_case(cast.author)
    with app.test_request_context():
        subscriptions.subscribe(reload(cast.member_a), {"kind": "market", "target": "KZ"})
        assert scan.scan_new_cases() == 0


def test_mark_read_and_unread_count(app, cast, make_case):
    case = make_case(cast.author)
    with app.test_request_context():
        for n in range(3):
            comment_services.create_comment(reload(cast.member_a), reload(case), {"body": f"note {n}"})
        author = reload(cast.author)
        assert inbox.unread_count(author) == 3
        first = inbox.notifications_of(author)[-1]
        assert inbox.mark_read(author, {"ids": [first.id]}) == 1
        assert inbox.mark_read(reload(cast.member_b), {}) == 0  # not theirs
        assert inbox.unread_count(author) == 2
        with pytest.raises(ValidationError):
            inbox.mark_read(author, {"ids": ["x"]})
        assert inbox.mark_read(author, {}) == 2 and inbox.unread_count(author) == 0


# -- digests ------------------------------------------------------------------------------------------

def test_send_digests_through_smtp(app, cast, make_case, smtp_server, runner):
    case = make_case(cast.author, title="Smart lighting pilot in Almaty")
    private = make_case(cast.author, title="Secret pilot", visibility="park")
    with app.test_request_context():
        comment_services.create_comment(reload(cast.member_a), reload(case), {"body": "Same in Astana."})
        subscriptions.subscribe(reload(cast.member_a), {"kind": "case", "target": str(private.id)})
        comment_services.create_comment(reload(cast.manager_a), reload(private), {"body": "Note"})
        subscriptions.subscribe(reload(cast.member_a), {"kind": "case", "target": str(case.id)})
        comment_services.create_comment(reload(cast.member_b), reload(case), {"body": "And in Bishkek."})
        digests.set_digest_frequency(reload(cast.member_a), {"frequency": "weekly"})
        with pytest.raises(ValidationError):
            digests.set_digest_frequency(reload(cast.member_a), {"frequency": "hourly"})
        # the case became private after the notification: the digest leaves it out
        archive_services.update_case(reload(cast.author), reload(private), {"visibility": "private"})
    result = runner.invoke(args=["notify", "send-digests"])
    assert result.exit_code == 0, result.output
    assert "2 digest(s) sent" in result.output
    by_rcpt = {tuple(rcpt): message for rcpt, message in smtp_server.messages}
    author_mail = by_rcpt[(cast.author.email,)]
    assert author_mail["From"] == "zhigu@zhigu.test" and "daily digest" in author_mail["Subject"]
    body = author_mail.get_content()
    assert "commented on “Smart lighting pilot in Almaty”" in body and f"/cases/{case.id}" in body
    member_mail = by_rcpt[(cast.member_a.email,)]
    assert "weekly digest: 1 update" in member_mail["Subject"] and "Secret pilot" not in member_mail.get_content()
    # nothing new, nothing due: no second mail
    assert "0 digest(s) sent" in runner.invoke(args=["notify", "send-digests"]).output
    assert len(smtp_server.messages) == 2
    with app.test_request_context():
        comment_services.create_comment(reload(cast.member_b), reload(case), {"body": "Later comment."})
        assert digests.send_digests(now=now_utc() + timedelta(hours=2))["sent"] == 0  # a day has not passed
        assert digests.send_digests(now=now_utc() + timedelta(days=1))["sent"] == 1
        digests.set_digest_frequency(reload(cast.author), {"frequency": "never"})
        comment_services.create_comment(reload(cast.member_b), reload(case), {"body": "Even later."})
        assert digests.send_digests(now=now_utc() + timedelta(days=3))["sent"] == 0


def test_digest_failure_is_retried(app, cast, make_case, runner):
    case = make_case(cast.author)
    with app.test_request_context():
        comment_services.create_comment(reload(cast.member_a), reload(case), {"body": "Hello"})
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_TIMEOUT=2)  # nothing listens there
    result = runner.invoke(args=["notify", "send-digests"])
    assert result.exit_code == 1 and "1 failed" in result.output
    with app.app_context():
        assert db.session.query(Notification).filter(Notification.emailed_at.is_not(None)).count() == 0


class SlowSMTP:
    """An SMTP connection that takes its time over each message, so two runs overlap."""

    def __init__(self, outbox):
        self.outbox = outbox

    def send_message(self, message):
        time.sleep(0.3)
        self.outbox.append(message["To"])

    def quit(self):
        pass


def test_two_runs_at_once_scan_once_and_mail_each_digest_once(app, cast, make_case, monkeypatch):
    with app.test_request_context():
        subscriptions.subscribe(reload(cast.manager_a), {"kind": "sector", "target": "logistics"})
    case = make_case(cast.author, sector="logistics")  # not scanned yet: both runs scan it
    with app.test_request_context():
        comment_services.create_comment(reload(cast.member_a), reload(case), {"body": "Same in Astana."})
        subscriptions.subscribe(reload(cast.member_b), {"kind": "case", "target": str(case.id)})
        comment_services.create_comment(reload(cast.member_a), reload(case), {"body": "And in Bishkek."})
    outbox, results, start = [], [], threading.Barrier(2)
    monkeypatch.setattr(digests, "smtp_connection", lambda: SlowSMTP(outbox))

    def run():  # cron's `zhigu notify send-digests` and a worker's digest job, at the same moment
        with app.test_request_context():
            start.wait()
            results.append(digests.send_digests())
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outbox) == sorted([cast.author.email, cast.member_b.email, cast.manager_a.email])
    assert sum(result["sent"] for result in results) == 3 and all(r["failed"] == 0 for r in results)
    with app.app_context():
        assert kinds_of(reload(cast.manager_a)) == [("new_case", case.id)]
        assert db.session.query(Notification).filter(Notification.emailed_at.is_(None)).count() == 0


def test_of_two_runs_that_read_the_same_digest_setting_only_the_first_claims_it(app, cast):
    """The compare-and-set itself: each run reads the setting in its own session, then both claim it."""
    def read_settings():
        contexts = [app.app_context() for _ in range(2)]
        settings = []
        for context in contexts:
            with context:
                settings.append(digests.digest_setting(reload(cast.member_a)))
        return contexts, settings

    for _ in ("first digest (no setting row yet)", "a later one"):
        contexts, settings = read_settings()
        claims = []
        for context, setting in zip(contexts, settings):
            with context:
                claims.append(digests._claim_digest(setting, now_utc()))
                db.session.remove()
        assert claims == [True, False]


def test_a_failed_digest_is_sent_by_the_next_run(app, cast, make_case, monkeypatch):
    case = make_case(cast.author)
    with app.test_request_context():
        comment_services.create_comment(reload(cast.member_a), reload(case), {"body": "Hello"})
    outbox = []

    def refused():
        raise OSError("connection refused")

    monkeypatch.setattr(digests, "smtp_connection", refused)
    with app.test_request_context():
        assert digests.send_digests() == {"sent": 0, "failed": 1}
    monkeypatch.setattr(digests, "smtp_connection", lambda: SlowSMTP(outbox))
    with app.test_request_context():
        assert digests.send_digests() == {"sent": 1, "failed": 0}  # the failed claim was given back
    assert outbox == [cast.author.email]


# -- API ----------------------------------------------------------------------------------------------

def test_api_subscriptions_and_notifications(app, cast, make_case, api_as):
    case = make_case(cast.author)
    api = api_as(cast.member_a)
    created = api.post("/api/v1/subscriptions", json={"kind": "case", "target": str(case.id)})
    assert created.status_code == 201 and created.json["kind"] == "case"
    assert api.post("/api/v1/subscriptions", json={"kind": "case", "target": str(case.id)}).status_code == 422
    assert api.post("/api/v1/subscriptions", json={"kind": "weather"}).status_code == 422
    assert api.post("/api/v1/subscriptions", data="x").status_code == 400
    assert api_as(None).get("/api/v1/subscriptions").status_code == 401
    assert [s["id"] for s in api.get("/api/v1/subscriptions").json] == [created.json["id"]]
    assert api_as(cast.member_b).delete(f"/api/v1/subscriptions/{created.json['id']}").status_code == 404
    api_as(cast.member_b).post(f"/api/v1/cases/{case.id}/comments", json={"body": "Hi"})
    listed = api.get("/api/v1/notifications").json
    assert listed["unread"] == 1 and listed["results"][0]["kind"] == "comment"
    assert api.post("/api/v1/notifications/read", json={"ids": "x"}).status_code == 422
    read = api.post("/api/v1/notifications/read", json={"ids": [listed["results"][0]["id"]]})
    assert read.json == {"marked": 1, "unread": 0}
    assert api.get("/api/v1/notifications?unread=1").json["results"] == []
    assert api.post("/api/v1/notifications/read").json["marked"] == 0
    assert api_as(None).get("/api/v1/notifications").status_code == 401
    assert api.delete(f"/api/v1/subscriptions/{created.json['id']}").status_code == 204


# -- pages --------------------------------------------------------------------------------------------

def test_pages_follow_notifications_and_digest(app, cast, make_case, client, auth):
    case = make_case(cast.author)
    assert "Follow this case" not in client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert client.get("/notifications").status_code == 302  # to the login page
    auth.login(cast.member_a)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Follow this case" in page
    client.post("/subscriptions", data={"kind": "case", "target": str(case.id), "next": f"/cases/{case.id}"})
    assert "Unfollow this case" in client.get(f"/cases/{case.id}").get_data(as_text=True)
    bad = client.post("/subscriptions", data={"kind": "market", "target": "Atlantis"})
    assert bad.status_code == 422 and "field-errors" in bad.get_data(as_text=True)
    assert client.post("/notifications/digest", data={"frequency": "hourly"}).status_code == 422
    assert client.post("/notifications/digest", data={"frequency": "weekly"}).status_code == 302
    auth.logout()
    auth.login(cast.member_b)
    client.post(f"/cases/{case.id}/comments", data={"body": "A new comment"})
    auth.logout()
    auth.login(cast.member_a)
    bell = parsed(client.get("/")).select_one("a.site-nav__notifications")
    assert bell.select_one(".badge--count").get_text(" ", strip=True) == "1 unread"
    page = client.get("/notifications").get_data(as_text=True)
    assert "commented on" in page and '<label for="f-target">' in page and 'name="csrf_token"' in page
    client.post("/notifications/read")
    assert "badge--count" not in client.get("/").get_data(as_text=True)


def test_follow_a_search_and_an_initiative_from_their_pages(app, cast, make_case, client, auth):
    auth.login(cast.member_a)
    page = client.get("/search?q=lighting").get_data(as_text=True)
    assert "Follow this search" in page
    response = client.post("/subscriptions", data={"kind": "search", "target": "lighting",
                                                    "next": "/search?q=lighting"})
    assert response.headers["Location"].endswith("/search?q=lighting")
    assert "Unfollow this search" in client.get("/search?q=lighting").get_data(as_text=True)
    created = client.post("/initiatives/new", data={"title": "Solar kiosks", "description":
                                                    "Solar powered kiosks selling phone charging in rural Kenya."})
    page = client.get(created.headers["Location"]).get_data(as_text=True)
    assert "Tell me of new similar failures" in page
    auth.logout()
    assert "Follow this search" not in client.get("/search?q=lighting").get_data(as_text=True)


def test_mark_read_page_with_bad_ids(app, cast, client, auth):
    auth.login(cast.member_a)
    response = client.post("/notifications/read", data={"ids": "abc"})
    assert response.status_code == 302


def test_saved_search_with_filters(app, cast, make_case, client, auth):
    with app.test_request_context():
        member = reload(cast.member_a)
        sub = subscriptions.subscribe(member, {"kind": "search", "target": "?market=KZ&q=lighting&bogus=1"})
        assert sub.target == "q=lighting&market=KZ"
        assert subscriptions.describe(sub) == "matches your search “lighting”; market KZ"
        with pytest.raises(ValidationError):
            subscriptions.subscribe(member, {"kind": "search", "target": "bogus=1"})
    in_kz = make_case(cast.author, title="Street lighting in Almaty", target_markets=["KZ"])
    in_id = make_case(cast.author, title="Street lighting in Jakarta", target_markets=["ID"])
    with app.test_request_context():
        scan.scan_new_cases()
        assert kinds_of(reload(cast.member_a)) == [("new_case", in_kz.id)]
        assert in_id.id not in {case_id for _, case_id in kinds_of(reload(cast.member_a))}
    auth.login(cast.member_a)
    page = client.get("/search?q=lighting&market=KZ").get_data(as_text=True)
    assert "Unfollow this search" in page
    assert "Follow this search" in client.get("/search?market=ID").get_data(as_text=True)


def test_what_you_follow_reads_as_names_never_as_codes_or_ids(app, cast, make_case, client, auth):
    public = make_case(cast.author, title="Smart kettles for tea houses")
    private = make_case(cast.author, title="Secret pilot", visibility="private")
    with app.test_request_context():
        member = reload(cast.member_a)
        for kind, target in (("case", str(public.id)), ("cause", "market.no_demand"), ("sector", "energy"),
                             ("market", "KZ")):
            subscriptions.subscribe(member, {"kind": kind, "target": target})
        author = reload(cast.author)
        subscriptions.subscribe(author, {"kind": "case", "target": str(private.id)})

    auth.login(cast.member_a)
    followed = parsed(client.get("/notifications")).select_one("ul.subscription-list").get_text(" ")

    assert "“Smart kettles for tea houses”" in followed
    assert "“Energy and new energy”" in followed and "“Kazakhstan”" in followed
    assert "market.no_demand" not in followed and " KZ" not in followed
    with app.test_request_context():
        sub = db.session.scalar(db.select(Subscription).where(Subscription.kind == "case",
                                                              Subscription.target == str(private.id)))
        assert "Secret pilot" in subscriptions.describe(sub)  # its author may open it
        sub.user = reload(cast.member_b)  # a reader who may not: the number, not the title
        assert "Secret pilot" not in subscriptions.describe(sub) and str(private.id) in subscriptions.describe(sub)
        db.session.rollback()


def test_causes_sectors_and_markets_are_followed_by_picking_a_name(app, cast, client, auth):
    auth.login(cast.member_a)
    tree = parsed(client.get("/notifications"))

    causes = {o["value"]: o.get_text(strip=True) for o in tree.select("#f-pick-cause option") if o["value"]}
    markets = {o["value"]: o.get_text(strip=True) for o in tree.select("#f-pick-market option") if o["value"]}
    sectors = {o["value"]: o.get_text(strip=True) for o in tree.select("#f-pick-sector option") if o["value"]}
    response = client.post("/subscriptions", data={"kind": "market", "target": "KZ"})
    followed = parsed(client.get("/notifications")).select_one("ul.subscription-list").get_text(" ")
    chinese = parsed(client.get("/notifications", headers={"Accept-Language": "zh"}))

    assert causes["market.no_demand"] != "market.no_demand" and markets["KZ"] == "Kazakhstan"
    assert sectors["energy"] == "Energy and new energy"
    assert response.status_code == 302 and "“Kazakhstan”" in followed
    assert chinese.select_one("#f-pick-market option[value=KZ]").get_text(strip=True) == "哈萨克斯坦"


def test_the_notifications_page_follows_search_words_without_asking_for_codes(app, cast, client, auth):
    auth.login(cast.member_a)
    tree = parsed(client.get("/notifications"))
    form = tree.select_one("#f-target").find_parent("form")
    fields = {field["name"]: field.get("value", "") for field in form.select("input[type=hidden]")}

    response = client.post(form["action"], data=dict(fields, target="cold chain Khorgos"))
    empty = client.post(form["action"], data=dict(fields, target=" "))

    assert fields["kind"] == "search" and "market.no_demand" not in tree.get_text()
    assert response.status_code == 302
    assert "cold chain Khorgos" in parsed(client.get("/notifications")).select_one("ul.subscription-list").get_text()
    assert empty.status_code == 422 and parsed(empty).select_one("#f-target-errors") is not None
