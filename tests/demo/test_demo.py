"""`zhigu demo` fills every page: guilds and listings (one under appeal), follows and notifications, comments,
links of each kind, cases in review and a draft, initiatives with verdicts, outcomes and a second attempt;
in both languages, and a second run changes nothing.

The demo takes seconds, so it runs once per test run (tests/seeding.py); each test process copies that archive to
an app of its own (module-scoped, on its own SQLite file), runs the demo a second time there, and every test reads it.
"""
import re

import pytest
from sqlalchemy import func, select

import seeding
from helpers import log_in_session, main_text, page, text
from zhigu import create_app
from zhigu.archive.models import CaseStatus, FailureCase
from zhigu.attempts import services as attempts
from zhigu.attempts.models import InitiativeOutcome, SecondAttempt
from zhigu.audit.models import AuditRecord
from zhigu.auth import services as auth
from zhigu.auth.models import Park, Role, User
from zhigu.comments import services as comments
from zhigu.comments.models import Comment
from zhigu.extensions import db
from zhigu.guilds import services as guilds
from zhigu.guilds.models import Guild, GuildReviewer, Listing, ListingEvent, Organization
from zhigu.initiatives import services as initiatives
from zhigu.initiatives.models import Initiative, Suggestion
from zhigu.links import services as links
from zhigu.links.models import CaseLink
from zhigu.notify import inbox, subscriptions
from zhigu.notify.models import Notification, Subscription
from zhigu.reviews import services as reviews
from zhigu.reviews.models import ReviewEvent
from zhigu.search import dense, neighbours
from zhigu.search.models import CaseEmbedding

#: Every table the demo writes to: a second run must leave each count as it was.
MODELS = (User, FailureCase, Guild, GuildReviewer, Organization, Listing, ListingEvent, Subscription, Notification,
          Comment, CaseLink, ReviewEvent, AuditRecord, Initiative, Suggestion, InitiativeOutcome, SecondAttempt)
CJK = re.compile(r"[\u4e00-\u9fff]")
ZH = {"Accept-Language": "zh-CN"}


def counts() -> dict[str, int]:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in MODELS}


def copied_demo(request, target) -> tuple:
    """An app over a copy of the run's demo archive (tests/seeding.py) in `target`, and that run's output."""
    seed = seeding.seeded(seeding.seed_directory(request.config)) / seeding.DEMO
    root = seeding.copy_archive(seed, target)
    app = create_app({"DATABASE_URL": f"sqlite:///{root}/{seeding.DATABASE}", "INDEX_DIR": str(root / seeding.INDEX),
                      "TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    return app, (seed / seeding.DEMO_OUTPUT).read_text()


@pytest.fixture(scope="module")
def demo(request, tmp_path_factory):
    """An app after `zhigu demo` ran twice: .app, .first and .second (outputs), .before and .after (row counts).

    The first run is the run's shared demo archive, copied; the second runs here."""
    app, first = copied_demo(request, tmp_path_factory.mktemp("demo"))
    with app.app_context():
        before = counts()
    second = app.test_cli_runner().invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    with app.app_context():
        after = counts()
    yield type("Demo", (), {"app": app, "first": first, "second": second.output, "before": before, "after": after})
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def demo_app(request, database_url, tmp_path):
    """An app after `zhigu demo`, for a test to change: on SQLite a copy of the run's demo archive; on
    PostgreSQL (`database_url`, the suite's database) the suite's app, where the demo runs first."""
    if not database_url.startswith("sqlite"):
        app = request.getfixturevalue("app")
        result = app.test_cli_runner().invoke(args=["demo"])
        assert result.exit_code == 0, result.output
        yield app
        return
    app, _ = copied_demo(request, tmp_path / "demo")
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def ctx(demo):
    with demo.app.app_context():
        yield


def user(email: str) -> User:
    found = auth.find_user(email)
    assert found is not None, f"the demo has no user {email}"
    return found


def case(external_id: str) -> FailureCase:
    found = db.session.scalar(select(FailureCase).where(FailureCase.external_id == external_id))
    assert found is not None, f"the demo has no case {external_id}"
    return found


def get(demo, url: str, email: str | None = None, headers=None):
    client = demo.app.test_client()
    if email:
        with demo.app.app_context():
            log_in_session(client, user(email))
    response = client.get(url, headers=headers or {})
    assert response.status_code == 200, url
    return response


# -- the run --------------------------------------------------------------------------------------------

def test_first_run_prints_every_account_once_with_the_new_roles(demo):
    assert demo.first.count("password:") == 13
    assert re.search(r"guild_reviewer +wang\.fang@guilds\.example +password: \S+ +\(reviews for ", demo.first)
    assert re.search(r"member +yerlan@steppegrain\.example +password: \S+ +\(speaks for Kostanay", demo.first)
    assert re.search(r"curator +curator@khorgos\.example +password: ", demo.first)
    assert re.search(r"Demo activity: \d{2,} new \(", demo.first)


def test_the_archive_is_realistic_in_both_languages_with_every_role(demo, ctx):
    cases = db.session.scalars(select(FailureCase)).all()
    assert len(cases) >= 30
    assert {c.language for c in cases} >= {"zh", "en"}
    assert len({c.sector for c in cases}) >= 5
    assert len({m for c in cases for m in c.target_markets}) >= 5
    assert len({cause.family for c in cases for cause in c.causes}) >= 5
    assert all(c.causes for c in cases if c.status == CaseStatus.published)
    assert "lorem" not in " ".join(c.summary + c.narrative for c in cases).lower()
    assert {u.role for u in db.session.scalars(select(User))} == set(Role)
    assert db.session.scalar(select(func.count()).select_from(Park)) >= 2
    assert demo.app.test_client().get("/api/v1/cases").get_json()["total"] >= 1


def test_the_demo_leaves_every_public_case_its_stored_nearest_cases(demo):
    """Else the first trends page or case page computes them (12 s for a manager's trends on a busy machine)."""
    assert re.search(r"Nearest cases stored for [1-9]\d* case\(s\)\.", demo.first)
    with demo.app.app_context():
        assert neighbours.missing_ids() == []


def test_the_demo_leaves_sentence_vectors_to_zhigu_search_embed(demo):
    """Threads started by the demo's drains would die with the command, half done: it starts none, and says how
    to embed the cases when the multilingual extra is installed."""
    with demo.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CaseEmbedding)) == 0
    assert ("zhigu search embed" in demo.first) == dense.available()


def test_second_run_changes_nothing(demo):
    assert "password:" not in demo.second
    assert "Demo cases: 0 new" in demo.second
    assert "Demo activity: 0 new." in demo.second
    assert demo.after == demo.before
    assert all(demo.before[name] > 0 for name in demo.before), demo.before


def test_search_index_matches_the_database(demo, ctx):
    assert demo.app.extensions["zhigu.search"].check() == {"missing": [], "stale": [], "extra": []}


# -- guilds -----------------------------------------------------------------------------------------------

def test_guilds_have_reviewers_and_organizations(ctx):
    all_guilds = guilds.list_guilds()
    assert len(all_guilds) >= 2
    assert all(len(g.reviewers) >= 3 for g in all_guilds)  # a proposer, a confirmer, and one to judge appeals
    assert guilds.guilds_of(user("liu.yang@guilds.example"))
    orgs = guilds.list_organizations()
    assert len(orgs) >= 5 and any(CJK.search(o.name) for o in orgs)
    assert sum(o.representative is not None for o in orgs) >= 2


def test_listings_on_both_lists_with_a_reply_a_proposal_and_one_suspended_by_its_appeal(ctx):
    current = guilds.current_listings()
    assert {listing.list_name for listing in current} == {"red", "black"}
    assert any(listing.reply for listing in current)
    assert all(listing.confirmer_id not in (None, listing.proposer_id) for listing in current)

    suspended = guilds.suspended_listings()
    assert [listing.organization.name for listing in suspended] == ["Kostanay Steppe Grain LLP"]
    appealed = suspended[0]
    assert appealed.appeal_reason and appealed not in current
    assert appealed not in guilds.current_listings("black")
    # its proposer and confirmer may not judge the appeal; the third reviewer may, and has it waiting
    assert not guilds.may_judge_appeal(appealed.proposer, appealed)
    assert not guilds.may_judge_appeal(appealed.confirmer, appealed)
    judge = user("liu.yang@guilds.example")
    assert guilds.may_judge_appeal(judge, appealed)
    waiting = guilds.pending_listings(judge)
    assert appealed in waiting
    assert any(listing.status == "proposed" for listing in waiting)
    assert [e.action for e in guilds.listing_audit(judge, appealed)][::-1] == ["propose", "confirm", "appeal"]


# -- follows, comments, links, reviews -------------------------------------------------------------------

def test_demo_users_follow_things_and_have_notifications(ctx):
    for email in ("founder@hangzhou.example", "founder@suzhou.example"):
        assert len({s.kind for s in subscriptions.subscriptions_of(user(email))}) >= 3
    assert inbox.notifications_of(user("founder@suzhou.example"))  # replies to his comments, links on what he follows
    assert any(n.kind == "review_submitted" for n in inbox.notifications_of(user("manager@hangzhou.example")))
    assert any(n.kind == "listing" for n in inbox.notifications_of(user("liu.yang@guilds.example")))
    assert any(n.kind == "listing" for n in inbox.notifications_of(user("yerlan@steppegrain.example")))


def test_several_cases_have_comments_and_replies_in_both_languages(ctx):
    reader = user("admin@zhigu.example")
    commented = [c for c in db.session.scalars(select(FailureCase)) if comments.list_comments(reader, c)]
    assert len(commented) >= 5
    threads = [comment for c in commented for comment in comments.list_comments(reader, c)]
    bodies = [comment.body for comment in threads] + [r.body for comment in threads for r in comment.replies]
    assert any(comment.replies for comment in threads)
    assert any(CJK.search(body) for body in bodies) and any(not CJK.search(body) for body in bodies)
    hidden = [comment for comment in threads if comment.is_hidden]
    assert len(hidden) == 1 and hidden[0].hidden_reason and hidden[0].case.anonymize


def test_links_of_every_kind(ctx):
    admin = user("admin@zhigu.example")
    found = {link.type for c in db.session.scalars(select(FailureCase)) for link in links.links_of(admin, c)}
    assert found >= {"same_root_cause", "second_attempt_of", "duplicate_of", "related"}


def test_cases_wait_for_park_managers_beside_a_draft_and_one_sent_back(ctx):
    hangzhou = [item.case.external_id for item in reviews.review_queue(user("manager@hangzhou.example"))]
    khorgos = [item.case.external_id for item in reviews.review_queue(user("manager@khorgos.example"))]
    assert "demo-r01" in hangzhou and "demo-r02" in khorgos
    assert case("demo-r03").status == CaseStatus.draft
    sent_back = case("demo-r04")
    assert sent_back.status == CaseStatus.changes_requested
    history = reviews.history(user("curator@hangzhou.example"), sent_back)
    assert [e.action for e in history] == ["submitted", "changes_requested"] and history[-1].comment
    # the near copy waiting in Khorgos is already linked to the case it duplicates
    assert any(link.type == "duplicate_of" and link.other(case("demo-r02").id).external_id == "demo-024"
               for link in links.links_of(user("manager@khorgos.example"), case("demo-r02")))


# -- initiatives ------------------------------------------------------------------------------------------

def test_initiatives_have_verdicts_outcomes_and_second_attempts(ctx):
    founders = ("founder@hangzhou.example", "founder@suzhou.example", "curator@hangzhou.example",
                "curator@suzhou.example")
    mine = {email: initiatives.initiatives_of(user(email)) for email in founders}
    assert all(mine.values())
    every = [i for found in mine.values() for i in found]
    verdicts = [s for i in every for s in i.suggestions if s.verdict]
    assert {s.verdict for s in verdicts} == {"relevant", "not_relevant"}
    assert any(s.note for s in verdicts)
    outcomes = {step.outcome for i in every for step in attempts.history(i)}
    assert outcomes >= {"planned", "launched", "succeeded", "failed", "abandoned"}
    assert all(step.note or step.outcome == "planned" for i in every for step in attempts.history(i))
    second = [i for i in every if attempts.attempt_links(i)]
    assert {attempts.current_outcome(i).outcome for i in second} == {"succeeded", "failed"}
    post_mortem = next(attempts.post_mortem_of(i) for i in second if attempts.post_mortem_of(i))
    assert post_mortem.status == CaseStatus.draft
    assert [c.external_id for c in attempts.second_attempt_of(post_mortem)] == ["demo-010"]


# -- pages, in English and Chinese ------------------------------------------------------------------------

@pytest.mark.parametrize("headers, lists, suspended", [({}, ("Honour roll", "Warning list"), "Suspended"),
                                                       (ZH, ("红榜", "黑榜"), "暂停")])
def test_lists_page_shows_both_lists_and_the_suspended_listing(demo, headers, lists, suspended):
    shown = main_text(get(demo, "/lists", headers=headers))
    assert all(name in shown for name in lists)
    assert "Lahore Brightline Distributors" in shown and "苏州工业园区企业出海法律服务中心" in shown
    assert "Kostanay Steppe Grain LLP" in shown and suspended in shown


@pytest.mark.parametrize("headers, heading", [({}, "Linked cases"), (ZH, "关联案例")])
def test_case_page_shows_its_comments_and_links(demo, headers, heading):
    with demo.app.app_context():
        case_id = case("demo-039").id
    tree = page(get(demo, f"/cases/{case_id}", "founder@suzhou.example", headers))
    assert "parts-stocking clause" in text(tree.main) and "follow-on tender" in text(tree.main)
    assert tree.select(".link-list li") and heading in text(tree.main)


@pytest.mark.parametrize("headers", [{}, ZH])
def test_review_queue_and_initiatives_and_notifications_pages_are_filled(demo, headers):
    assert "园区共享中试平台" in main_text(get(demo, "/reviews", "manager@hangzhou.example", headers))
    assert "Khorgos cold-chain" in main_text(get(demo, "/reviews", "manager@khorgos.example", headers))
    assert "哈萨克斯坦冬季蔬菜智能温室项目" in main_text(get(demo, "/my/initiatives", "founder@hangzhou.example",
                                                               headers))
    with demo.app.app_context():
        initiative = next(i for i in initiatives.initiatives_of(user("curator@suzhou.example")))
    shown = main_text(get(demo, f"/initiatives/{initiative.id}", "curator@suzhou.example", headers))
    assert "Two zones pay per tenant" in shown  # what became of it
    assert "Price per tenant, not per park" in shown  # a verdict's note
    assert "Aigerim Nurlanovna" in main_text(get(demo, "/notifications", "founder@suzhou.example", headers))


# -- after people used the demo ---------------------------------------------------------------------------

def test_running_again_after_people_acted_on_the_demo_neither_fails_nor_undoes_them(demo_app):
    """`make run` runs the demo at every start: what users did since (an appeal judged, a case approved, a
    duplicate merged, a proposal withdrawn, a comment deleted) stays as they left it."""
    app, runner = demo_app, demo_app.test_cli_runner()
    with app.app_context():
        judge = user("liu.yang@guilds.example")
        appealed = guilds.suspended_listings()[0]
        appealed_id = appealed.id
        guilds.confirm_listing(judge, appealed, {"reason": "The bank records show one prepayment still unreturned."})
        proposal = next(listing for listing in guilds.pending_listings(judge) if listing.status == "proposed")
        guilds.withdraw_listing(user("wang.fang@guilds.example"), proposal, {"reason": "One case is not enough."})
        reviews.review_case(user("manager@hangzhou.example"), case("demo-r01"), {"decision": "approve"})
        links.merge_case(user("manager@khorgos.example"), case("demo-r02"), {"kept_id": case("demo-024").id})
        founder = user("founder@hangzhou.example")
        comments.delete_comment(founder, next(c for c in comments.list_comments(founder, case("demo-024"))
                                              if c.author_id == founder.id))
        before = counts()

    again = runner.invoke(args=["demo"])

    assert again.exit_code == 0, again.output
    assert "Demo activity: 0 new." in again.output
    with app.app_context():
        assert counts() == before
        assert guilds.suspended_listings() == [] and appealed_id in {l.id for l in guilds.current_listings()}
        assert case("demo-r01").status == CaseStatus.published
        assert case("demo-r02").status == CaseStatus.retracted
