"""Guild-reviewed red and black lists: due process in the services, the API, the pages, and denials per role."""
import re
from datetime import timedelta
from html import unescape
from types import SimpleNamespace

import pytest
from marshmallow import ValidationError
from sqlalchemy import select

from helpers import in_app, page, reload, text
from zhigu.errors import PermissionDenied, ZhiguError
from zhigu.extensions import db
from zhigu.guilds import services
from zhigu.guilds.models import Listing, ListingEvent
from zhigu.notify.models import Notification

JUSTIFICATION = "Paid every supplier late for two years running, per court records."


@pytest.fixture
def guild(app, cast, make_user):
    """A guild with reviewers r1, r2, r3 (and outsider of another guild), an organization with a representative."""
    r1, r2, other = make_user("member", display_name="Reviewer One"), make_user("member"), make_user("member")
    rep = make_user("curator", display_name="Rep")
    r3 = make_user("member", display_name="Reviewer Three")
    with in_app(app):
        admin = reload(cast.admin)
        g = services.create_guild(admin, {"slug": "solar", "name": "Solar Guild"})
        services.create_guild(admin, {"slug": "water", "name": "Water Guild"})
        for email, slug in ((r1.email, "solar"), (r2.email, "solar"), (r3.email, "solar"), (other.email, "water")):
            services.add_reviewer(admin, {"guild": slug, "email": email})
        org = services.create_organization(admin, {"name": "Sunny Panels Ltd", "type": "enterprise",
                                                   "region": "Zhejiang/Hangzhou", "representative": rep.email})
        return SimpleNamespace(id=g.id, slug=g.slug, org_id=org.id, r1=r1, r2=r2, r3=r3, other=other, rep=rep)


def propose(guild, **overrides):
    data = {"organization": "Sunny Panels Ltd", "list": "black", "justification": JUSTIFICATION,
            "evidence": ["https://court.example.cn/ruling/123"]}
    data.update(overrides)
    return services.propose_listing(reload(guild.r1), data)


def published(app, guild, **overrides):
    with in_app(app):
        listing = propose(guild, **overrides)
        services.confirm_listing(reload(guild.r2), listing)
        return listing.id


def test_proposal_needs_a_second_reviewer_of_the_same_guild(app, guild, ctx):
    listing = propose(guild)
    assert listing.status == "proposed" and services.current_listings() == []
    for who in (guild.r1, guild.other, guild.rep):  # the proposer, another guild's reviewer, the organization
        with pytest.raises(PermissionDenied):
            services.confirm_listing(reload(who), reload(listing))
    services.confirm_listing(reload(guild.r2), reload(listing))
    assert listing.status == "published" and listing.confirmer_id == guild.r2.id
    assert listing.expires_on == services.today() + timedelta(days=365)
    assert [l.id for l in services.current_listings("black")] == [listing.id] and services.current_listings("red") == []
    note = db.session.scalar(select(Notification).where(Notification.user_id == guild.rep.id))
    assert "warning list of Solar Guild" in note.message and note.case_id is None
    with pytest.raises(ZhiguError) as err:
        services.confirm_listing(reload(guild.r2), reload(listing))
    assert err.value.status_code == 409


def test_only_reviewers_of_a_guild_propose(app, cast, guild, ctx):
    for who in (cast.member_a, cast.manager_a, cast.admin, guild.rep):
        with pytest.raises(PermissionDenied):
            services.propose_listing(reload(who), {"guild": "solar", "organization": "Sunny Panels Ltd",
                                                   "list": "red", "justification": JUSTIFICATION,
                                                   "evidence": ["https://example.org/a"]})
    with pytest.raises(PermissionDenied):  # a reviewer of another guild
        services.propose_listing(reload(guild.other), {"guild": "solar", "organization": "Sunny Panels Ltd",
                                                       "list": "red", "justification": JUSTIFICATION,
                                                       "evidence": ["https://example.org/a"]})


def test_evidence_must_be_public_published_and_not_anonymized(app, cast, guild, make_case, ctx):
    anonymized = make_case(cast.author, title="Anonymized failure", anonymize=True, org_name="Sunny Panels Ltd")
    private = make_case(cast.author, title="Private failure", visibility="private")
    draft = make_case(cast.author, title="A draft", status="draft")
    retracted = make_case(cast.author, title="Retracted", status="retracted")
    public = make_case(cast.author, title="Public failure")
    for bad in (anonymized.id, private.id, draft.id, retracted.id, 99999, "not a url", "ftp://x.example/y"):
        with pytest.raises(ValidationError) as err:
            propose(guild, evidence=[public.id, bad])
        assert list(err.value.messages["evidence"]) == [1]
    listing = propose(guild, evidence=f"{public.id}\ncase:{public.id}\nhttps://news.example.com/x")
    assert sorted((e.case_id or 0, e.url or "") for e in listing.evidence) == [
        (0, "https://news.example.com/x"), (public.id, "")]
    for field, data in (("list", {"list": "grey"}), ("justification", {"justification": "short"}),
                        ("evidence", {"evidence": []}), ("organization", {"organization": "Nobody Inc"})):
        with pytest.raises(ValidationError) as err:
            propose(guild, **data)
        assert field in err.value.messages


def test_never_listed_on_own_post_mortems_alone(app, cast, guild, make_case, ctx):
    by_rep = make_case(guild.rep, title="Our own failure")  # filed by the organization's representative
    naming = make_case(cast.author, title="Sunny Panels' post-mortem", org_name="sunny panels ltd")
    for evidence in ([by_rep.id], [naming.id], [by_rep.id, naming.id]):
        with pytest.raises(ValidationError) as err:
            propose(guild, evidence=evidence)
        assert "own post-mortems" in err.value.messages["evidence"][0]
    listing = propose(guild, evidence=[by_rep.id, "https://court.example.cn/ruling/9"])
    assert len(listing.evidence) == 2


def test_reply_appeal_and_review_again(app, cast, guild):
    listing_id = published(app, guild)
    with app.app_context():
        listing = db.session.get(Listing, listing_id)
        for who in (guild.r1, cast.member_a, cast.admin):
            with pytest.raises(PermissionDenied):
                services.reply_to_listing(reload(who), listing, {"reply": "Not true."})
        services.reply_to_listing(reload(guild.rep), listing, {"reply": "We paid all suppliers in 2025."})
        with pytest.raises(ValidationError):
            services.appeal_listing(reload(guild.rep), listing, {"reason": "no"})
        services.appeal_listing(reload(guild.rep), listing, {"reason": "The ruling was overturned on appeal."})
        assert listing.status == "appealed" and services.pending_listings(reload(guild.r2)) == [listing]
        assert services.pending_listings(reload(guild.other)) == []
        with pytest.raises(ZhiguError):  # no second appeal while one is open
            services.appeal_listing(reload(guild.rep), listing, {"reason": "The ruling was overturned on appeal."})
        for party in (guild.r1, guild.r2):  # nobody judges their own decision: the proposer, the confirmer
            for judge in (lambda who: services.confirm_listing(who, listing, {"reason": "The ruling still stands."}),
                          lambda who: services.withdraw_listing(who, listing, {"reason": "Ruling overturned."})):
                with pytest.raises(PermissionDenied):
                    judge(reload(party))
        services.withdraw_listing(reload(guild.r3), listing, {"reason": "Ruling overturned."})
        assert services.current_listings() == []
        actions = [e.action for e in db.session.scalars(select(ListingEvent).order_by(ListingEvent.id))]
        assert actions == ["propose", "confirm", "reply", "appeal", "withdraw"]
        assert [e.action for e in services.listing_audit(reload(cast.admin), listing)][0] == "withdraw"
        for who in (guild.rep, guild.other, cast.manager_a):
            with pytest.raises(PermissionDenied):
                services.listing_audit(reload(who), listing)


def test_expiry_and_renewal_with_fresh_evidence_only(app, guild, monkeypatch):
    listing_id = published(app, guild)
    with app.app_context():
        listing = db.session.get(Listing, listing_id)
        first_expiry = listing.expires_on
        with pytest.raises(ValidationError) as err:
            services.renew_listing(reload(guild.r1), listing, {"evidence": ["https://court.example.cn/ruling/123"]})
        assert "fresh evidence" in err.value.messages["evidence"][0]
        with pytest.raises(PermissionDenied):
            services.renew_listing(reload(guild.rep), listing, {"evidence": ["https://example.org/new"]})
        services.renew_listing(reload(guild.r1), listing, {"evidence": ["https://example.org/new"]})
        assert listing.expires_on == first_expiry + timedelta(days=365)
        monkeypatch.setattr(services, "today", lambda: listing.expires_on + timedelta(days=1))
        assert services.current_listings() == []


def test_api_listing_process(app, cast, guild, api_as, make_case):
    anonymized = make_case(cast.author, title="Anonymized failure", anonymize=True)
    body = {"organization": str(guild.org_id), "list": "red", "justification": JUSTIFICATION,
            "evidence": [{"url": "https://award.example.org/2025"}]}
    assert api_as(None).post("/api/v1/listings", json=body).status_code == 401
    assert api_as(cast.member_a).post("/api/v1/listings", json=body).status_code == 403
    bad = api_as(guild.r1).post("/api/v1/listings", json={**body, "evidence": [anonymized.id], "list": "pink"})
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"list"}
    bad = api_as(guild.r1).post("/api/v1/listings", json={**body, "evidence": [anonymized.id]})
    assert bad.status_code == 422 and "0" in bad.get_json()["errors"]["evidence"]
    created = api_as(guild.r1).post("/api/v1/listings", json=body)
    assert created.status_code == 201, created.get_json()
    listing = created.get_json()
    assert listing["status"] == "proposed" and listing["audit"][0]["action"] == "propose"
    path = f"/api/v1/listings/{listing['id']}"
    assert api_as(None).get(path).status_code == 404  # unpublished: hidden looks missing, to visitors too
    assert api_as(cast.member_a).get(path).status_code == 404
    assert api_as(None).get("/api/v1/listings?list=red").get_json() == []
    assert api_as(guild.r1).post(path + "/confirm").status_code == 403
    assert api_as(guild.other).post(path + "/confirm").status_code == 404
    confirmed = api_as(guild.r2).post(path + "/confirm")
    assert confirmed.status_code == 200 and confirmed.get_json()["expires_on"]
    public = api_as(None).get("/api/v1/listings?list=red").get_json()
    assert [l["id"] for l in public] == [listing["id"]] and "audit" not in public[0]
    assert public[0]["evidence"] == [{"url": "https://award.example.org/2025"}]
    assert api_as(None).get("/api/v1/listings?list=black").get_json() == []
    assert api_as(None).get("/api/v1/listings?list=grey").status_code == 400
    assert api_as(cast.admin).post(path + "/reply", json={"reply": "x"}).status_code == 403
    assert api_as(guild.rep).post(path + "/reply", json={}).status_code == 422
    reply = api_as(guild.rep).post(path + "/reply", json={"reply": "Thank you."})
    assert reply.status_code == 200 and reply.get_json()["reply"] == "Thank you."
    assert api_as(guild.r1).post(path + "/appeal", json={"reason": "Wrong company."}).status_code == 403
    appeal = api_as(guild.rep).post(path + "/appeal", json={"reason": "Please review this again."})
    assert appeal.status_code == 200 and appeal.get_json()["status"] == "appealed"
    assert api_as(None).post("/api/v1/listings/999/confirm").status_code in (401, 404)
    assert api_as(guild.r2).post("/api/v1/listings/999/confirm").status_code == 404
    orgs = api_as(None).get("/api/v1/organizations").get_json()
    assert orgs == [{"id": guild.org_id, "name": "Sunny Panels Ltd", "type": "enterprise",
                     "region": "Zhejiang/Hangzhou", "has_representative": True}]


def test_public_pages_show_reason_evidence_reply_and_expiry(app, client, auth, guild):
    listing_id = published(app, guild)
    with app.app_context():
        listing = db.session.get(Listing, listing_id)
        services.reply_to_listing(reload(guild.rep), listing, {"reply": "We dispute the ruling."})
        expires = listing.expires_on.isoformat()
    page = client.get("/lists").get_data(as_text=True)
    assert "Sunny Panels Ltd" in page and "We dispute the ruling." in page and expires in page
    detail = client.get(f"/lists/{listing_id}").get_data(as_text=True)
    assert JUSTIFICATION in detail and "https://court.example.cn/ruling/123" in detail and expires in detail
    assert "Audit log" not in detail and "Post reply" not in detail
    auth.login(guild.rep)
    detail = client.get(f"/lists/{listing_id}").get_data(as_text=True)
    assert "Post reply" in detail and "Appeal" in detail and "Audit log" not in detail
    response = client.post(f"/lists/{listing_id}/appeal", data={"reason": ""})
    assert response.status_code == 422 and "field-errors" in response.get_data(as_text=True)
    auth.logout()
    auth.login(guild.r2)
    detail = client.get(f"/lists/{listing_id}").get_data(as_text=True)
    assert "Audit log" in detail and "Renew" in detail and "Post reply" not in detail


def test_propose_page_and_admin_pages(app, client, auth, cast, guild):
    auth.login(cast.member_a)
    assert client.get("/lists/propose").status_code == 403
    assert client.get("/admin/guilds").status_code == 403
    assert client.post("/admin/guilds/guild", data={"slug": "x1", "name": "X guild"}).status_code == 403
    auth.logout()
    auth.login(guild.r1)
    page = client.get("/lists/propose")
    assert page.status_code == 200 and 'name="csrf_token"' in page.get_data(as_text=True)
    bad = client.post("/lists/propose", data={"guild": "solar", "organization": str(guild.org_id), "list": "black",
                                              "justification": JUSTIFICATION, "evidence": "no url"})
    assert bad.status_code == 422 and "Give a case id or an http(s) URL." in bad.get_data(as_text=True)
    ok = client.post("/lists/propose", data={"guild": "solar", "organization": str(guild.org_id), "list": "black",
                                             "justification": JUSTIFICATION, "evidence": "https://example.org/r"})
    assert ok.status_code == 302
    auth.logout()
    auth.login(cast.admin)
    assert client.get("/admin/guilds").status_code == 200
    assert client.get("/admin/organizations").status_code == 200
    assert client.post("/admin/guilds/guild", data={"slug": "Bad Slug", "name": "X"}).status_code == 422
    assert client.post("/admin/guilds/guild", data={"slug": "wind", "name": "Wind Guild"}).status_code == 302
    added = client.post("/admin/guilds/reviewer", data={"guild": "wind", "email": cast.member_b.email})
    assert added.status_code == 302
    assert client.post("/admin/guilds/organization", data={"name": "Windy Co", "type": "startup"}).status_code == 302
    bad = client.post("/admin/guilds/organization", data={"name": "Windy Co", "type": "startup"})
    assert bad.status_code == 422 and "exists" in bad.get_data(as_text=True)
    with app.app_context():
        assert [g.slug for g in services.guilds_of(reload(cast.member_b))] == ["wind"]


def test_cli_creates_guilds_and_reviewers(app, runner, cast):
    result = runner.invoke(args=["guild", "create", "rail", "--name", "Rail Guild"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["guild", "add-reviewer", "rail", cast.member_a.email])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["guild", "create", "rail", "--name", "Rail Guild"]).exit_code != 0
    with app.app_context():
        assert [g.slug for g in services.guilds_of(reload(cast.member_a))] == ["rail"]


def test_page_denials_per_role(app, client, auth, cast, guild):
    with app.app_context():
        proposal_id = propose(guild).id
    assert client.get(f"/lists/{proposal_id}").status_code == 404  # hidden looks missing, to visitors too
    assert client.post(f"/lists/{proposal_id}/confirm").status_code == 302
    auth.login(cast.manager_a)
    assert client.get(f"/lists/{proposal_id}").status_code == 404  # a proposal is not public
    auth.logout()
    auth.login(guild.r1)
    page = client.get(f"/lists/{proposal_id}").get_data(as_text=True)
    assert "Confirm and publish" not in page and "Audit log" in page  # the proposer cannot confirm
    assert client.post(f"/lists/{proposal_id}/confirm").status_code == 403
    auth.logout()
    auth.login(guild.r2)
    assert "Confirm and publish" in client.get(f"/lists/{proposal_id}").get_data(as_text=True)
    assert client.post(f"/lists/{proposal_id}/confirm").status_code == 302
    with app.app_context():
        assert db.session.get(Listing, proposal_id).status == "published"
    auth.logout()
    auth.login(cast.admin)
    assert client.post(f"/lists/{proposal_id}/withdraw", data={"reason": ""}).status_code == 422
    assert client.post(f"/lists/{proposal_id}/withdraw", data={"reason": "Entered by mistake."}).status_code == 302
    auth.logout()
    assert client.get(f"/lists/{proposal_id}").status_code == 404


# -- the pages, flash messages and API messages in Chinese ---------------------------------------------

ZH = {"Accept-Language": "zh-CN"}


def main_text(response) -> str:
    """The words a reader sees in the page's <main>: flash messages and content, without tags."""
    page = response.get_data(as_text=True)
    main = page[page.index("<main"):page.index("</main>")]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", main)).split())


def english_words(text: str, *data: str) -> set[str]:
    """Latin-script words of `text` that are not part of the test's own data (names, URLs, e-mails, reasons)."""
    allowed = {word.lower() for item in data for word in re.findall(r"[A-Za-z]+", item)}
    allowed.update({"http", "s"})  # "http(s) 链接" in help texts
    return {word for word in re.findall(r"[A-Za-z]+", text) if word.lower() not in allowed}


def test_guild_labels_cover_every_code():
    from zhigu.guilds.models import (LIST_LABELS, LISTING_ACTION_LABELS, LISTING_STATUS_LABELS, LISTING_STATUSES,
                                     ORG_TYPE_LABELS)
    from zhigu.guilds.schemas import ORG_TYPES

    assert tuple(code for code, _en, _zh in LISTING_STATUS_LABELS) == LISTING_STATUSES
    assert tuple(code for code, _en, _zh in ORG_TYPE_LABELS) == ORG_TYPES
    assert {code for code, _en, _zh in LISTING_ACTION_LABELS} == {"propose", "confirm", "uphold", "reply", "appeal",
                                                                   "renew", "withdraw"}
    assert tuple(code for code, _en, _zh in LIST_LABELS) == ("red", "black")
    for code, english, chinese in (*LIST_LABELS, *LISTING_STATUS_LABELS, *ORG_TYPE_LABELS, *LISTING_ACTION_LABELS):
        assert english and re.search(r"[\u4e00-\u9fff]", chinese), code


def test_guild_pages_in_chinese_show_no_english(app, client, auth, cast, guild):
    listing_id = published(app, guild)
    with app.app_context():
        listing = db.session.get(Listing, listing_id)
        services.reply_to_listing(reload(guild.rep), listing, {"reply": "We dispute the ruling."})
        services.appeal_listing(reload(guild.rep), listing, {"reason": "The ruling was overturned on appeal."})
        data = ("Sunny Panels Ltd", "Solar Guild", "Water Guild", "solar", "water", "Zhejiang/Hangzhou",
                JUSTIFICATION, "https://court.example.cn/ruling/123", "We dispute the ruling.",
                "The ruling was overturned on appeal.",
                *(f"{reload(u).display_name} {u.email}" for u in (guild.r1, guild.r2, guild.r3, guild.other, guild.rep)))
    public = main_text(client.get("/lists", headers=ZH))
    assert "申诉中" in public and "under appeal" not in public
    assert english_words(public, *data) == set()

    auth.login(guild.r2)
    index = main_text(client.get("/lists", headers=ZH))
    assert "黑榜 · Solar Guild · 已暂停：申诉中" in index  # awaiting review: the list and the status, in words
    assert english_words(index, *data) == set()
    detail = main_text(client.get(f"/lists/{listing_id}", headers=ZH))
    assert "企业 · 浙江/杭州" in detail and "申诉中" in detail
    for action in ("提议上榜", "确认并发布", "回应", "申诉"):  # the audit log
        assert action in detail
    assert english_words(detail, *data) == set()
    assert "enterprise" not in detail.lower() and "propose" not in detail
    propose_page = main_text(client.get("/lists/propose", headers=ZH))
    assert "提议上榜" in propose_page and english_words(propose_page, *data) == set()

    auth.logout()
    auth.login(cast.admin)
    for path in ("/admin/guilds", "/admin/organizations"):
        text = main_text(client.get(path, headers=ZH))
        assert english_words(text, *data, cast.admin.email) == set(), path
    english = main_text(client.get(f"/lists/{listing_id}"))
    assert "Enterprise · Zhejiang/Hangzhou" in english and "under appeal" in english and "企业" not in english


def test_admin_organization_types_are_labelled_and_keep_their_codes(app, client, auth, cast, guild):
    auth.login(cast.admin)
    page = client.get("/admin/organizations", headers=ZH).get_data(as_text=True)
    assert '<option value="startup">初创企业</option>' in page and '<option value="ngo">非政府组织</option>' in page
    assert "<td>企业</td>" in page and ">enterprise<" not in page and ">startup<" not in page
    english = client.get("/admin/organizations").get_data(as_text=True)
    assert '<option value="startup">Startup</option>' in english and "<td>Enterprise</td>" in english
    created = client.post("/admin/guilds/organization", data={"name": "Windy Co", "type": "startup"}, headers=ZH,
                          follow_redirects=True)
    text = main_text(created)
    assert "机构已创建。" in text and "The organization was created." not in text
    assert "<td>初创企业</td>" in created.get_data(as_text=True)
    text = main_text(client.post("/admin/guilds/guild", data={"slug": "wind", "name": "Wind Guild"}, headers=ZH,
                                 follow_redirects=True))
    assert "行业协会已创建。" in text and "The guild was created." not in text
    text = main_text(client.post("/admin/guilds/reviewer", data={"guild": "wind", "email": cast.member_b.email},
                                 headers=ZH, follow_redirects=True))
    assert "审核人已添加。" in text and "The reviewer was added." not in text


def test_listing_steps_flash_in_chinese(app, client, auth, guild):
    auth.login(guild.r1)
    proposed = client.post("/lists/propose", headers=ZH, follow_redirects=True,
                           data={"guild": "solar", "organization": str(guild.org_id), "list": "black",
                                 "justification": JUSTIFICATION, "evidence": "https://court.example.cn/ruling/1"})
    text = main_text(proposed)
    assert "已提议。须经协会的另一位审核人确认后才会发布。" in text and "待确认" in text
    assert "Proposed." not in text and "proposed" not in text
    with app.app_context():
        listing_id = db.session.scalar(select(Listing.id))
    auth.logout()
    auth.login(guild.r2)
    step = f"/lists/{listing_id}/"
    text = main_text(client.post(step + "confirm", headers=ZH, follow_redirects=True))
    assert "名单条目已发布。" in text and "The listing is published." not in text
    text = main_text(client.post(step + "confirm", headers=ZH, follow_redirects=True))  # fails: 409, flashed
    assert "此名单条目已发布，无需确认。" in text and "already published" not in text
    failed = client.post(step + "renew", data={"evidence": "https://court.example.cn/ruling/1"}, headers=ZH)
    assert failed.status_code == 422
    assert "续期需要该名单条目尚未有的新证据。" in main_text(failed) and "fresh evidence" not in main_text(failed)
    text = main_text(client.post(step + "renew", data={"evidence": "https://news.example.com/2"}, headers=ZH,
                                 follow_redirects=True))
    assert "名单条目已续期。" in text and "续期" in text and "renewed" not in text
    text = main_text(client.post(step + "withdraw", data={"reason": "Entered by mistake."}, headers=ZH,
                                 follow_redirects=True))
    assert "名单条目已撤销。" in text and "已撤销" in text and "The listing was withdrawn." not in text
    text = main_text(client.post(step + "confirm", headers=ZH, follow_redirects=True))
    assert "此名单条目已撤销，无需确认。" in text and "withdrawn" not in text
    english = main_text(client.post(step + "confirm", follow_redirects=True))
    assert "This listing was withdrawn; there is nothing to confirm." in english


def test_representative_steps_flash_in_chinese(app, client, auth, guild):
    listing_id = published(app, guild)
    auth.login(guild.rep)
    text = main_text(client.post(f"/lists/{listing_id}/reply", data={"reply": "We paid."}, headers=ZH,
                                 follow_redirects=True))
    assert "你的回应已显示在名单条目旁。" in text and "Your reply is shown" not in text
    text = main_text(client.post(f"/lists/{listing_id}/appeal", data={"reason": "The ruling was overturned."},
                                 headers=ZH, follow_redirects=True))
    assert "你的申诉已提交，审核已重新开启。" in text and "申诉中" in text and "Your appeal" not in text


def test_api_messages_follow_accept_language_and_values_stay_codes(app, guild, api_as, client):
    listing_id = published(app, guild)
    api = api_as(guild.r2)
    chinese = api.post(f"/api/v1/listings/{listing_id}/confirm", headers=ZH)
    english = api.post(f"/api/v1/listings/{listing_id}/confirm")
    assert chinese.status_code == english.status_code == 409
    assert chinese.get_json() == {"error": "此名单条目已发布，无需确认。"}
    assert english.get_json() == {"error": "This listing is already published; there is nothing to confirm."}
    body = api.get(f"/api/v1/listings/{listing_id}", headers=ZH).get_json()
    assert body["status"] == "published" and body["list"] == "black" and body["organization"]["type"] == "enterprise"
    assert {e["action"] for e in body["audit"]} == {"propose", "confirm"}
    bad = client.get("/api/v1/listings?list=grey", headers=ZH)
    assert bad.status_code == 400 and bad.get_json() == {"error": "参数 list 须为 red 或 black。", "code": 400}
    assert client.get("/api/v1/listings?list=grey").get_json()["error"] == "list must be red or black."


# -- due process: reasons, impartial judges, suspension during an appeal (issue 14) ----------------------

def appealed(app, guild) -> int:
    listing_id = published(app, guild)
    with in_app(app):
        services.appeal_listing(reload(guild.rep), db.session.get(Listing, listing_id),
                                {"reason": "The ruling was overturned on appeal."})
    return listing_id


def test_upholding_an_appeal_needs_a_written_reason(app, client, guild):
    listing_id = appealed(app, guild)
    with app.app_context():
        listing = db.session.get(Listing, listing_id)
        for data in (None, {}, {"reason": "   "}, {"reason": "Stands."}):
            with pytest.raises(ValidationError) as err:
                services.confirm_listing(reload(guild.r3), listing, data)
            assert list(err.value.messages) == ["reason"]
        assert listing.status == "appealed"
        services.confirm_listing(reload(guild.r3), listing, {"reason": "The higher court upheld the 2024 ruling."})
        assert listing.status == "published" and listing.confirmer_id == guild.r2.id  # who confirmed stays
        assert listing.events[0].action == "uphold"
        assert listing.events[0].details["reason"] == "The higher court upheld the 2024 ruling."
        note = db.session.scalar(select(Notification).where(Notification.user_id == guild.rep.id)
                                 .order_by(Notification.id.desc()))
        assert "was not granted" in note.message and "The higher court upheld the 2024 ruling." in note.message
    detail = main_text(client.get(f"/lists/{listing_id}"))  # a visitor reads the decision and its reason
    assert "Appeal not granted" in detail and "The higher court upheld the 2024 ruling." in detail


def test_nobody_judges_their_own_decision(app, cast, guild):
    listing_id = appealed(app, guild)
    with app.app_context():
        listing = db.session.get(Listing, listing_id)
        assert [services.may_judge_appeal(reload(u), listing) for u in (guild.r1, guild.r2, guild.r3)] == [
            False, False, True]
        services.confirm_listing(reload(guild.r3), listing, {"reason": "The higher court upheld the ruling."})
        services.appeal_listing(reload(guild.rep), listing, {"reason": "New facts: the debts were all settled."})
        # r3 upheld it once: the second appeal goes to someone else, here an admin who took no part
        for judge in (lambda who: services.confirm_listing(who, listing, {"reason": "Still stands, as before."}),
                      lambda who: services.withdraw_listing(who, listing, {"reason": "Debts were settled."})):
            with pytest.raises(PermissionDenied):
                judge(reload(guild.r3))
        services.withdraw_listing(reload(cast.admin), listing, {"reason": "Debts were settled in full."})
        assert listing.status == "withdrawn"
        # withdrawing a published listing is not judging an appeal: its confirmer may
        other = published(app, guild, organization=str(guild.org_id))
        services.withdraw_listing(reload(guild.r2), db.session.get(Listing, other), {"reason": "Entered by mistake."})


def test_a_listing_under_appeal_is_suspended_not_listed(app, client, auth, guild):
    listing_id = appealed(app, guild)
    with app.app_context():
        assert services.current_listings("black") == []
        assert [l.id for l in services.suspended_listings()] == [listing_id]
        assert db.session.get(Listing, listing_id).is_current(services.today()) is False
    tree = page(client.get("/lists"))
    black_table = tree.select_one("#black-heading").find_parent("section")
    assert "Sunny Panels Ltd" not in text(black_table) and "Nobody is on this list." in text(black_table)
    suspended = tree.select_one("#suspended")
    assert "Sunny Panels Ltd" in text(suspended) and "suspended: under appeal" in text(suspended)
    detail = page(client.get(f"/lists/{listing_id}"))
    assert "Suspended while the organization's appeal is judged" in text(detail.select_one("#suspended-notice"))


def test_the_appeal_verdict_buttons_differ_and_need_a_reason(app, client, auth, guild):
    listing_id = appealed(app, guild)
    auth.login(guild.r3)
    judge = page(client.get(f"/lists/{listing_id}")).select_one("#judge-appeal")
    uphold, withdraw = judge.select("button[type=submit]")
    assert text(uphold) == "Uphold: keep the listing" and "button--danger-outline" not in uphold.get("class", [])
    assert text(withdraw) == "Withdraw: grant the appeal" and "button--danger-outline" in withdraw["class"]
    assert withdraw["formaction"].endswith(f"/lists/{listing_id}/withdraw")
    assert judge.select_one("form")["action"].endswith(f"/lists/{listing_id}/confirm")
    assert judge.select_one("textarea[name=reason]") is not None

    refused = client.post(f"/lists/{listing_id}/confirm", data={"reason": ""})
    assert refused.status_code == 422
    assert "Say why the listing is upheld" in text(page(refused).select_one("#f-decision-reason-field"))
    done = client.post(f"/lists/{listing_id}/confirm", data={"reason": "The ruling was confirmed in 2026."},
                       follow_redirects=True)
    assert "The listing stands: the appeal was not granted." in main_text(done)

    auth.login(guild.r2)  # the confirmer sees why they cannot judge, and no buttons
    with app.app_context():
        services.appeal_listing(reload(guild.rep), db.session.get(Listing, listing_id),
                                {"reason": "New facts about the ruling."})
    judge = page(client.get(f"/lists/{listing_id}")).select_one("#judge-appeal")
    assert judge.select("button") == [] and "another reviewer of the guild judges the appeal" in text(judge)


def test_list_names_read_as_english_readers_understand(app, client, auth, guild):
    published(app, guild, list="red")
    english = main_text(client.get("/lists"))
    assert "Honour roll" in english and "Warning list" in english
    assert "Red list" not in english and "Black list" not in english and "red list" not in english.lower()
    chinese = main_text(client.get("/lists", headers=ZH))
    assert "红榜" in chinese and "黑榜" in chinese
    auth.login(guild.r1)
    form = page(client.get("/lists/propose"))
    assert [radio["value"] for radio in form.select("input[name=list]")] == ["red", "black"]  # codes unchanged
    assert "Honour roll" in text(form.main) and "Warning list" in text(form.main)
