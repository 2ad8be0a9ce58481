"""The search page: query, facets, highlighted snippets, pagination and sort."""
from flask import render_template, request
from flask_login import current_user

from zhigu.archive.services import list_causes
from zhigu.search import bp
from zhigu.search.documents import FACETS
from zhigu.search.other_language import other_language_cases
from zhigu.search.services import SORTS, BadQuery, search_cases
from zhigu.search.neighbours import neighbours_for
from zhigu.validation import db_id


@bp.app_template_global()
def similar_cases_of(case) -> list:
    """The published cases most like a published `case` that the reader may open (none for other cases); the
    stored list when there is one for this reader (zhigu.search.neighbours)."""
    return neighbours_for(case, current_user)


@bp.route("/search")
def search():
    query = request.args.get("q", "")
    filters = {name: request.args.getlist(name) for name in FACETS if request.args.getlist(name)}
    sort = request.args.get("sort", "relevance")
    page_number = db_id(request.args.get("page", "1")) or 1
    page_number = page_number if page_number < 10_000 else 1
    # Facets and filters name causes by code; the page shows their labels.
    causes = {cause.code: cause for cause in list_causes()}
    try:
        page = search_cases(current_user, query, filters, page=page_number,
                            sort=sort if sort in SORTS else "relevance")
    except BadQuery as err:
        return render_template("search/search.html", query=query, filters=filters, sort=sort, page=None,
                               error=err.message, syntax_error=err.syntax, causes=causes), err.status_code
    other_language, others = None, []
    if query and page.page == 1:
        other_language, others = other_language_cases(current_user, query, filters,
                                                      shown={result.case.id for result in page.results},
                                                      searcher=page.searcher)
    return render_template("search/search.html", query=query, filters=filters, sort=sort, page=page, error=None,
                           causes=causes, other_language=other_language, others=others)
