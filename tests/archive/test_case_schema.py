"""FailureCaseSchema: the one validation contract of the case form, the JSON API and imports."""
from datetime import date
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from helpers import case_data
from zhigu.archive.schemas import FailureCaseSchema, RetractSchema


def load(**overrides):
    return FailureCaseSchema().load(case_data(**overrides))


def errors_of(data, **kwargs):
    with pytest.raises(ValidationError) as error:
        FailureCaseSchema(**kwargs).load(data)
    return error.value.normalized_messages()


def test_valid_case_loads_with_defaults():
    values = FailureCaseSchema().load({"title": "Solar kiosks in Kenya", "summary": "The kiosks were stolen."})

    assert values["title"] == "Solar kiosks in Kenya"
    assert values["causes"] == []
    assert values["tags"] == []
    assert values["visibility"] == "public"
    assert values["anonymize"] is False
    assert values["primary_cause"] is None


@pytest.mark.parametrize("field", ["title", "summary"])
def test_title_and_summary_are_required(field):
    data = case_data()
    del data[field]

    assert errors_of(data) == {field: ["Missing data for required field."]}


def test_blank_inputs_count_as_missing():
    errors = errors_of(case_data(title="   ", summary=""))

    assert set(errors) == {"title", "summary"}


@pytest.mark.parametrize("field, value", [
    ("title", "ab"), ("title", "x" * 201), ("summary", "too short"), ("sector", "mining"),
    ("stage_reached", "dead"), ("visibility", "secret"), ("org_type", "cooperative"), ("team_size", -1),
    ("money_lost", "-5"), ("source_url", "ftp://example.org/case"), ("source_url", "not a url"),
    ("language", "English"), ("started_on", "2021-13-01"), ("started_on", "yesterday"), ("tags", ["x" * 41]),
    ("tags", [f"tag{i}" for i in range(21)]), ("anonymize", "perhaps"), ("title", 123),
])
def test_bad_field_values_are_reported_on_their_field(field, value):
    errors = errors_of(case_data(**{field: value, "currency": "CNY"}))

    assert field in errors
    assert all(isinstance(message, str) for message in _flatten(errors[field]))


def _flatten(messages):
    if isinstance(messages, dict):
        for value in messages.values():
            yield from _flatten(value)
    elif isinstance(messages, list):
        for value in messages:
            yield from _flatten(value)
    else:
        yield messages


def test_end_date_before_start_date_is_rejected():
    errors = errors_of(case_data(started_on="2022-05-01", ended_on="2021-05-01"))

    assert errors == {"ended_on": ["The end date is before the start date."]}


def test_same_start_and_end_date_is_fine():
    values = load(started_on="2022-05-01", ended_on="2022-05-01")

    assert values["started_on"] == values["ended_on"] == date(2022, 5, 1)


@pytest.mark.parametrize("code", ["XY", "KAZ", "K", "12", ""])
def test_bad_country_codes_are_rejected(code):
    errors = errors_of(case_data(target_markets=["KZ", code] if code else ["KZ", 7]))

    assert "target_markets" in errors


def test_territories_that_are_not_countries_are_rejected():
    for code in ("ZZ", "EU", "UN", "EZ", "QO"):
        assert "target_markets" in errors_of(case_data(target_markets=[code])), code


def test_country_codes_are_uppercased_and_deduplicated():
    assert load(target_markets=["kz", "ID", "KZ"])["target_markets"] == ["KZ", "ID"]


def test_country_codes_may_come_as_one_comma_separated_string():
    assert load(target_markets="kz, uz,ID")["target_markets"] == ["KZ", "UZ", "ID"]


@pytest.mark.parametrize("currency", ["XYZ", "US", "dollars"])
def test_bad_currency_codes_are_rejected(currency):
    errors = errors_of(case_data(money_lost="100", currency=currency))

    assert errors == {"currency": ["Not an ISO 4217 currency code."]}


def test_currency_is_uppercased_and_money_kept_exact():
    values = load(money_lost="1250000.5", currency="cny")

    assert values["currency"] == "CNY"
    assert values["money_lost"] == Decimal("1250000.50")


def test_money_lost_needs_a_currency():
    assert errors_of(case_data(money_lost="100")) == {"currency": ["Give the currency of the money lost."]}


def test_primary_cause_must_be_among_the_causes():
    errors = errors_of(case_data(causes=["market.no_demand"], primary_cause="money.cash_out"))

    assert errors == {"primary_cause": ["The primary cause must be one of the chosen causes."]}


def test_causes_and_tags_are_deduplicated_tags_keep_their_first_spelling():
    values = load(causes=["money.cash_out", "money.cash_out", "team.skills_gap"],
                  tags=["IoT", "iot", " Solar ", "Khorgos", "KHORGOS", "跨境"])

    assert values["causes"] == ["money.cash_out", "team.skills_gap"]
    assert values["tags"] == ["IoT", "Solar", "Khorgos", "跨境"]


def test_unknown_fields_are_ignored():
    values = load(author_id=99, id=5, retraction_reason="sneaky")

    assert "author_id" not in values
    assert "id" not in values
    assert "retraction_reason" not in values


def test_partial_load_leaves_missing_fields_out():
    values = FailureCaseSchema(partial=True).load({"lessons": "Start smaller."})

    assert values == {"lessons": "Start smaller."}


def test_null_causes_is_an_error_not_a_crash():
    assert "causes" in errors_of(case_data(causes=None))


def test_several_errors_are_reported_together():
    errors = errors_of({"title": "x", "sector": "mining", "target_markets": ["XY"]})

    assert {"title", "summary", "sector", "target_markets"} <= set(errors)


def test_retract_schema_needs_a_reason_of_some_length():
    assert RetractSchema().load({"reason": "Duplicate of case 12."}) == {"reason": "Duplicate of case 12."}
    with pytest.raises(ValidationError) as error:
        RetractSchema().load({"reason": "   "})
    assert "reason" in error.value.messages
