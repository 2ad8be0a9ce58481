import pytest


@pytest.fixture(autouse=True)
def _review_required(app):
    """Review before publishing is on, as in production (the shared conftest turns it off)."""
    app.config["REVIEW_REQUIRED"] = True
