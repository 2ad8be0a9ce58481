"""Full-text search and similar-case ranking over a Whoosh index derived from the database."""
from flask import Blueprint

bp = Blueprint("search", __name__)


def init_app(app) -> None:
    """Open the app's index, keep it in step with commits and catch up when it falls behind.

    Imported here, not at the top: this package runs before each of its modules, and importing the documents
    or a service must not install the session hooks or load the index and the vector code.
    """
    # hooks registers the session listeners, neighbours and dense their receivers of the outbox's signals
    from zhigu.search import catchup, dense, hooks, neighbours, warmup  # noqa: F401
    from zhigu.search.index import SearchIndex

    index = SearchIndex()
    index.init_app(app)
    catchup.init_app(app, index)
    app.before_request(lambda: warmup.start(app))
