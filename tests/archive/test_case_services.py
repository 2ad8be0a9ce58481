"""Case use cases: create, update (revisions), publish, retract, causes, and who may do each."""
import pytest
from flask_login import AnonymousUserMixin
from marshmallow import ValidationError
from sqlalchemy import select

from helpers import case_data
from zhigu.archive import services
from zhigu.archive.models import CaseRevision, Cause, FailureCase
from zhigu.archive.schemas import CaseOutSchema
from zhigu.errors import NotFound, PermissionDenied, ZhiguError
from zhigu.extensions import db
from zhigu.schemas import dump_for

pytestmark = pytest.mark.usefixtures("ctx")


@pytest.fixture
def park(make_park):
    return make_park("hangzhou-future", "Hangzhou Future Park")


@pytest.fixture
def curator(make_user, park):
    return make_user("curator", park)


def test_create_case_files_a_draft_of_the_authors_park(curator, park):
    case = services.create_case(curator, case_data(causes=["market.no_demand", "policy.political_risk_abroad"],
                                                   primary_cause="policy.political_risk_abroad"))

    assert case.id is not None
    assert case.status == "draft"
    assert case.published_at is None
    assert case.author_id == curator.id
    assert case.park_id == park.id
    assert [c.code for c in case.causes] == ["policy.political_risk_abroad", "market.no_demand"]
    assert case.primary_cause.code == "policy.political_risk_abroad"
    assert case.revisions == []


def test_first_cause_is_primary_when_none_is_marked(curator):
    case = services.create_case(curator, case_data(causes=["team.skills_gap", "money.cash_out"]))

    assert case.primary_cause.code == "team.skills_gap"


def test_create_case_with_publish_publishes_at_once(curator):
    case = services.create_case(curator, case_data(), publish=True)

    assert case.status == "published"
    assert case.published_at is not None


def test_publishing_on_create_needs_a_cause(curator):
    with pytest.raises(ValidationError) as error:
        services.create_case(curator, case_data(causes=[]), publish=True)

    assert "causes" in error.value.messages
    assert db.session.scalar(select(FailureCase.id)) is None


def test_language_is_detected_when_absent(curator):
    data = case_data(title="跨境电商海外仓项目失败", summary="在哈萨克斯坦建设海外仓，但当地需求不足，项目亏损后关闭。",
                     narrative="")
    del data["language"]

    case = services.create_case(curator, data)

    assert case.language == "zh"


def test_member_cannot_create_cases(make_user, park):
    member = make_user("member", park)

    with pytest.raises(PermissionDenied):
        services.create_case(member, case_data())
    assert db.session.scalar(select(FailureCase.id)) is None


def test_visitor_cannot_create_cases():
    with pytest.raises(PermissionDenied):
        services.create_case(AnonymousUserMixin(), case_data())


@pytest.mark.parametrize("role", ["curator", "manager", "admin"])
def test_editor_roles_can_create_cases(make_user, park, role):
    case = services.create_case(make_user(role, park), case_data())

    assert case.status == "draft"


def test_external_id_must_be_unique(curator):
    services.create_case(curator, case_data(external_id="ext-1"))

    with pytest.raises(ValidationError) as error:
        services.create_case(curator, case_data(external_id="ext-1", title="Another title"))

    assert "external_id" in error.value.messages


def test_unknown_cause_code_is_rejected(curator):
    with pytest.raises(ValidationError) as error:
        services.create_case(curator, case_data(causes=["market.no_demand", "market.bogus"]))

    assert error.value.messages == {"causes": ["Unknown cause code: market.bogus"]}


def test_retired_cause_cannot_be_chosen_but_stays_on_old_cases(curator, make_user):
    admin = make_user("admin")
    old = services.create_case(curator, case_data(causes=["money.cash_out"]), publish=True)
    cause = db.session.scalar(select(Cause).where(Cause.code == "money.cash_out"))
    services.update_cause(admin, cause, {"retired": True})

    with pytest.raises(ValidationError) as error:
        services.create_case(curator, case_data(causes=["money.cash_out"]))
    assert "causes" in error.value.messages

    services.update_case(curator, old, {"title": "Renamed after the cause was retired"})
    services.update_case(curator, old, {"causes": ["money.cash_out"]})
    assert [c.code for c in old.causes] == ["money.cash_out"]


# -- update and revisions ---------------------------------------------------------------------------

def test_editing_a_published_case_records_a_revision_of_the_changed_fields(curator):
    case = services.create_case(curator, case_data(), publish=True)
    revisions_before = len(case.revisions)

    services.update_case(curator, case, {"title": "Smart street lighting pilot in Astana",
                                         "target_markets": ["KZ", "UZ"], "summary": case.summary})

    assert len(case.revisions) == revisions_before + 1
    revision = case.revisions[0]
    assert revision.action == "edit"
    assert revision.editor_id == curator.id
    assert revision.created_at is not None
    assert revision.changes == {
        "title": {"old": "Smart street lighting pilot in Almaty", "new": "Smart street lighting pilot in Astana"},
        "target_markets": {"old": ["KZ"], "new": ["KZ", "UZ"]},
    }


def test_revision_records_cause_changes(curator):
    case = services.create_case(curator, case_data(causes=["market.no_demand"]), publish=True)

    services.update_case(curator, case, {"causes": ["partners.brand_damage", "market.no_demand"]})

    changes = case.revisions[0].changes
    assert changes["causes"] == {"old": ["market.no_demand"], "new": ["partners.brand_damage", "market.no_demand"]}
    assert changes["primary_cause"] == {"old": "market.no_demand", "new": "partners.brand_damage"}


def test_an_edit_that_changes_nothing_records_no_revision(curator):
    case = services.create_case(curator, case_data(), publish=True)
    count = db.session.query(CaseRevision).count()

    services.update_case(curator, case, {"title": case.title})

    assert db.session.query(CaseRevision).count() == count


def test_editing_a_draft_records_no_revision(curator):
    case = services.create_case(curator, case_data())

    services.update_case(curator, case, {"title": "A better draft title"})

    assert case.title == "A better draft title"
    assert case.revisions == []


def test_update_is_partial(curator):
    case = services.create_case(curator, case_data(sector="energy", tags=["solar"]))

    services.update_case(curator, case, {"lessons": "Talk to the grid operator first."})

    assert case.sector == "energy"
    assert case.tags == ["solar"]
    assert case.summary == case_data()["summary"]


def test_update_validates_dates_against_the_stored_ones(curator):
    case = services.create_case(curator, case_data(started_on="2021-03-01"))

    with pytest.raises(ValidationError) as error:
        services.update_case(curator, case, {"ended_on": "2020-01-01"})

    assert "ended_on" in error.value.messages
    db.session.rollback()
    assert db.session.get(FailureCase, case.id).ended_on is None


def test_update_of_money_lost_uses_the_stored_currency(curator):
    case = services.create_case(curator, case_data(money_lost="1000", currency="USD"))

    services.update_case(curator, case, {"money_lost": "2500.50"})

    assert str(case.money_lost) == "2500.50"
    assert case.currency == "USD"


def test_primary_cause_must_be_one_of_the_cases_causes_on_update(curator):
    case = services.create_case(curator, case_data(causes=["market.no_demand", "money.cash_out"]))

    services.update_case(curator, case, {"primary_cause": "money.cash_out"})
    assert case.primary_cause.code == "money.cash_out"

    with pytest.raises(ValidationError) as error:
        services.update_case(curator, case, {"primary_cause": "team.skills_gap"})
    assert "primary_cause" in error.value.messages


def test_a_published_case_keeps_at_least_one_cause(curator):
    case = services.create_case(curator, case_data(), publish=True)

    with pytest.raises(ValidationError) as error:
        services.update_case(curator, case, {"causes": []})

    assert "causes" in error.value.messages


def test_update_ignores_status_and_park(curator, make_park):
    other = make_park("other-park")
    case = services.create_case(curator, case_data())

    services.update_case(curator, case, {"status": "published", "park": other.slug})

    assert case.status == "draft"
    assert case.park_id == curator.park_id


# -- publish and retract ----------------------------------------------------------------------------

def test_publish_sets_status_and_records_a_revision(curator):
    case = services.create_case(curator, case_data())

    services.publish_case(curator, case)

    assert case.status == "published"
    assert case.published_at is not None
    assert case.revisions[0].action == "publish"
    assert case.revisions[0].changes == {"status": {"old": "draft", "new": "published"}}


def test_publish_needs_a_cause(curator):
    case = services.create_case(curator, case_data(causes=[]))

    with pytest.raises(ValidationError) as error:
        services.publish_case(curator, case)

    assert "causes" in error.value.messages
    assert case.status == "draft"


def test_publishing_twice_is_a_conflict(curator):
    case = services.create_case(curator, case_data(), publish=True)

    with pytest.raises(ZhiguError) as error:
        services.publish_case(curator, case)

    assert error.value.status_code == 409


def test_retract_needs_a_reason(curator):
    case = services.create_case(curator, case_data(), publish=True)

    for data in ({}, {"reason": ""}, {"reason": "bad"}):
        with pytest.raises(ValidationError) as error:
            services.retract_case(curator, case, data)
        assert "reason" in error.value.messages
    assert case.status == "published"


def test_retract_records_reason_time_and_revision(curator):
    case = services.create_case(curator, case_data(), publish=True)

    services.retract_case(curator, case, {"reason": "The organization disputed the figures."})

    assert case.status == "retracted"
    assert case.retraction_reason == "The organization disputed the figures."
    assert case.retracted_at is not None
    revision = case.revisions[0]
    assert revision.action == "retract"
    assert revision.editor_id == curator.id
    assert revision.changes["status"] == {"old": "published", "new": "retracted"}
    assert revision.changes["retraction_reason"]["new"] == "The organization disputed the figures."


def test_only_published_cases_can_be_retracted(curator):
    draft = services.create_case(curator, case_data())

    with pytest.raises(ZhiguError) as error:
        services.retract_case(curator, draft, {"reason": "Never mind this one."})

    assert error.value.status_code == 409
    assert draft.status == "draft"


def test_republishing_a_retracted_case_records_the_real_old_status(curator):
    case = services.create_case(curator, case_data(), publish=True)
    services.retract_case(curator, case, {"reason": "Figures under review."})

    services.publish_case(curator, case)

    assert case.status == "published"
    assert case.retraction_reason is None
    assert case.revisions[0].changes["status"] == {"old": "retracted", "new": "published"}


# -- permissions by role ----------------------------------------------------------------------------

EDIT_ALLOWED = {"author", "manager_a", "admin"}
ALL_USERS = ["visitor", "author", "member_a", "curator_a", "manager_a", "member_b", "curator_b", "manager_b",
             "admin"]


def _user(cast, name):
    return AnonymousUserMixin() if name == "visitor" else getattr(cast, name)


def _outcome(call) -> str:
    try:
        call()
    except PermissionDenied:
        return "denied"
    except NotFound:
        return "not found"
    return "ok"


def test_who_may_edit_and_retract_a_case(cast):
    cases = {who: services.create_case(cast.author, case_data(), publish=True) for who in ALL_USERS}

    edits = {who: _outcome(lambda: services.update_case(_user(cast, who), cases[who], {"lessons": f"By {who}."}))
             for who in ALL_USERS}
    retractions = {who: _outcome(lambda: services.retract_case(_user(cast, who), cases[who],
                                                               {"reason": f"Retracted by {who}."}))
                   for who in ALL_USERS}

    expected = {who: "ok" if who in EDIT_ALLOWED else "denied" for who in ALL_USERS}
    assert edits == expected
    assert retractions == expected
    db.session.rollback()
    for who, case in cases.items():
        case = db.session.get(FailureCase, case.id)
        assert (case.lessons == f"By {who}.") is (who in EDIT_ALLOWED)
        assert case.status == ("retracted" if who in EDIT_ALLOWED else "published")


VIEWERS = {
    # visibility: users who may open a published case of the author's park A
    "public": set(ALL_USERS),
    "park": {"author", "member_a", "curator_a", "manager_a", "admin"},
    "private": {"author", "manager_a", "admin"},
    "draft": {"author", "manager_a", "admin"},
}


@pytest.mark.parametrize("visibility", ["public", "park", "private", "draft"])
def test_who_may_open_a_case(cast, visibility):
    if visibility == "draft":
        case = services.create_case(cast.author, case_data(visibility="public"))
    else:
        case = services.create_case(cast.author, case_data(visibility=visibility), publish=True)

    outcomes = {who: _outcome(lambda: services.get_case(_user(cast, who), case.id)) for who in ALL_USERS}

    # nobody, visitors included, is told a hidden case exists
    assert outcomes == {who: "ok" if who in VIEWERS[visibility] else "not found" for who in ALL_USERS}


def test_get_case_of_missing_id_is_not_found(curator):
    with pytest.raises(NotFound):
        services.get_case(curator, 4242)


def test_manager_sees_and_edits_private_cases_of_their_park_only(cast):
    own = services.create_case(cast.author, case_data(visibility="private"), publish=True)
    other_author = cast.curator_b
    foreign = services.create_case(other_author, case_data(visibility="private", title="Private case of park B"),
                                   publish=True)

    assert services.get_case(cast.manager_a, own.id) is own
    services.update_case(cast.manager_a, own, {"lessons": "Reviewed by the park manager."})
    assert own.revisions[0].editor_id == cast.manager_a.id
    with pytest.raises(NotFound):
        services.get_case(cast.manager_a, foreign.id)


# -- organization anonymization ---------------------------------------------------------------------

def test_anonymized_org_name_is_shown_to_filer_and_park_managers_only(app, cast):
    case = services.create_case(cast.author, case_data(org_name="Huaxin Lighting Group", org_type="soe",
                                                       anonymize=True), publish=True)

    with app.test_request_context():
        shown = {who: dump_for(_user(cast, who), CaseOutSchema(), case) for who in ALL_USERS}

    assert {who: data["org_name"] for who, data in shown.items()} == {
        who: "Huaxin Lighting Group" if who in {"author", "manager_a", "admin"} else None for who in ALL_USERS}
    assert {data["org_type"] for data in shown.values()} == {"soe"}


def test_org_name_of_a_case_that_is_not_anonymized_is_shown_to_all(app, cast):
    case = services.create_case(cast.author, case_data(org_name="Huaxin Lighting Group"), publish=True)

    with app.test_request_context():
        assert dump_for(AnonymousUserMixin(), CaseOutSchema(), case)["org_name"] == "Huaxin Lighting Group"


# -- causes -----------------------------------------------------------------------------------------

def test_seed_taxonomy_covers_the_families_and_is_idempotent():
    causes = services.list_causes()

    assert 15 <= len(causes) <= 25
    assert {c.family for c in causes} == {"market", "product", "team", "money", "partners", "policy",
                                          "execution", "external"}
    codes = {c.code for c in causes}
    assert {"market.needs_mismatch", "policy.local_protectionism", "policy.political_risk_abroad",
            "partners.brand_damage"} <= codes
    assert all(c.label_en and c.label_zh for c in causes)
    assert services.seed_causes() == 0
    assert len(services.list_causes()) == len(causes)


def test_only_admins_manage_causes(make_user, curator):
    admin = make_user("admin")
    data = {"code": "market.fake_demand", "family": "market", "label_en": "Demand was faked",
            "label_zh": "虚假需求"}

    with pytest.raises(PermissionDenied):
        services.create_cause(curator, data)
    cause = services.create_cause(admin, data)
    assert cause.retired is False

    with pytest.raises(ValidationError) as error:
        services.create_cause(admin, data)
    assert "code" in error.value.messages


def test_renaming_a_cause_keeps_its_code(make_user):
    admin = make_user("admin")
    cause = db.session.scalar(select(Cause).where(Cause.code == "money.cash_out"))

    services.update_cause(admin, cause, {"code": "money.renamed", "label_en": "Cash ran out"})

    assert cause.code == "money.cash_out"
    assert cause.label_en == "Cash ran out"
    assert "money.cash_out" in {c.code for c in services.list_causes(include_retired=False)}


def test_retired_causes_are_left_out_of_choices(make_user):
    admin = make_user("admin")
    cause = db.session.scalar(select(Cause).where(Cause.code == "money.cash_out"))
    services.update_cause(admin, cause, {"retired": True})

    assert "money.cash_out" not in {c.code for c in services.list_causes(include_retired=False)}
    assert "money.cash_out" in {c.code for c in services.list_causes()}
