"""zhigu.views: domain errors of HTML actions become one flash and a redirect; refusals reach the error handlers."""
import pytest
from flask import Flask, url_for
from flask_babel import Babel
from marshmallow import ValidationError

from zhigu.errors import NotFound, PermissionDenied, ZhiguError
from zhigu.i18n import N_
from zhigu.views import error_message, flash_errors


@pytest.fixture
def probe():
    """A throwaway view that raises whatever the test hands it, decorated like the app's actions."""
    raised = {}
    test_app = Flask(__name__)
    test_app.config.update(SECRET_KEY="test", TESTING=True)
    Babel(test_app)

    @test_app.post("/things/<int:thing_id>/act")
    @flash_errors(to=lambda thing_id: url_for("page", thing_id=thing_id))
    def act(thing_id: int):
        if "error" in raised:
            raise raised["error"]
        return "done"

    @test_app.get("/things/<int:thing_id>")
    def page(thing_id: int):
        return "page"

    def probe(error=None):
        raised.clear()
        if error is not None:
            raised["error"] = error
        client = test_app.test_client()
        response = client.post("/things/7/act")
        with client.session_transaction() as session:
            return response, session.get("_flashes", [])

    return probe


def test_the_view_answers_when_nothing_goes_wrong(probe):
    response, flashes = probe()

    assert response.get_data(as_text=True) == "done" and flashes == []


def test_a_conflict_is_flashed_and_redirected_back(probe):
    response, flashes = probe(ZhiguError(N_("This case is already published."), 409))

    assert response.status_code == 302 and response.headers["Location"] == "/things/7"
    assert flashes == [("error", "This case is already published.")]


def test_form_errors_are_flashed_as_one_line_including_nested_ones(probe):
    error = ValidationError({"causes": ["Choose at least one cause before publishing."],
                             "second_attempt_of": {0: ["No such published case."]}})

    response, flashes = probe(error)

    assert response.status_code == 302
    assert flashes == [("error", "Choose at least one cause before publishing. No such published case.")]


@pytest.mark.parametrize("refusal", [PermissionDenied(N_("Please log in first.")), NotFound(N_("No such case."))])
def test_refusals_are_not_flashed_but_reach_the_error_handlers(probe, refusal):
    with pytest.raises(type(refusal)):
        probe(refusal)


def test_error_message_is_in_the_page_language(app):
    with app.test_request_context(headers={"Accept-Language": "zh"}):
        assert error_message(ZhiguError(N_("This case is already published."))) != "This case is already published."
