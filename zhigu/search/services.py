"""Full-text search and "find similar", over the cases the searcher may open.

Both go through the index with an access filter built from the viewer (documents carry who may see them),
then load the rows from the database in ranked order and check `can()` once more, so a stale document can
never show a case its viewer may not open.
"""
import math
from collections import Counter
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from whoosh import highlight, sorting
from whoosh.qparser import MultifieldParser, OrGroup
from whoosh.qparser.plugins import FuzzyTermPlugin
from whoosh.query import And, Every, Or, Term

from zhigu.archive.models import CaseCause, FailureCase
from zhigu.auth.permissions import can, viewer_tokens
from zhigu.errors import ZhiguError
from zhigu.extensions import db
from zhigu.search.analysis import analyse
from zhigu.search.documents import FACETS

#: Field weights of the search page: title and summary count above the narrative.
SEARCH_FIELD_WEIGHTS = {"title": 3.0, "summary": 2.0, "body": 1.0, "causes_text": 1.0}
#: Field weights of "find similar" (tuned on bench/quality.py).
SIMILAR_FIELD_WEIGHTS = {"title": 2.0, "summary": 2.0, "body": 1.0, "causes_text": 0.5}
#: Distinctive terms kept from a description; more terms find little more and cost time.
SIMILAR_MAX_TERMS = 24
#: Boosts of the structured signals, added to the text score when they match.
SECTOR_BOOST = 1.5
MARKET_BOOST = 1.0
CAUSE_BOOST = 1.5
SORTS = ("relevance", "newest", "oldest")


class BadQuery(ZhiguError):
    status_code = 400


@dataclass
class SearchResult:
    case: FailureCase
    score: float
    snippet: str = ""
    why: dict = field(default_factory=dict)


@dataclass
class SearchPage:
    results: list[SearchResult]
    total: int
    page: int
    pages: int
    facets: dict[str, list[tuple[str, int]]]


def _index():
    return current_app.extensions["zhigu.search"]


def access_filter(viewer):
    """Query matching the documents the viewer may open; None for admins, who see all."""
    tokens = viewer_tokens(viewer)
    if tokens is None:
        return None
    return Or([Term("allowed", token) for token in tokens])


def _combine(*queries):
    parts = [q for q in queries if q is not None]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else And(parts)


def _load_visible(viewer, ids: list[int]) -> dict[int, FailureCase]:
    """Load cases by id, keeping only those the viewer may open."""
    if not ids:
        return {}
    query = (select(FailureCase).where(FailureCase.id.in_(ids))
             .options(selectinload(FailureCase.case_causes).joinedload(CaseCause.cause)))
    return {case.id: case for case in db.session.scalars(query)
            if case.status == "published" and can(viewer, "case.view", case)}


# -- search page ----------------------------------------------------------------------------------

def parse_query(text: str):
    """Parse what a user typed (AND of words, with quotes, OR, NOT, field:value and fuzzy~)."""
    parser = MultifieldParser(list(SEARCH_FIELD_WEIGHTS), schema=_index().index.schema,
                              fieldboosts=SEARCH_FIELD_WEIGHTS)
    parser.add_plugin(FuzzyTermPlugin())
    try:
        return parser.parse(text).normalize()
    except Exception as exc:  # the parser raises many kinds of errors on odd syntax
        raise BadQuery("The search could not be understood; try plain words without special characters.") from exc


def search_cases(viewer, text: str = "", filters: dict[str, list[str]] | None = None, page: int = 1,
                 per_page: int = 20, sort: str = "relevance") -> SearchPage:
    """Search published cases the viewer may open, with facet counts over the same set."""
    if sort not in SORTS:
        raise BadQuery(f"Unknown sort {sort!r}; use one of {', '.join(SORTS)}.")
    text = (text or "").strip()
    if len(text) > 1000:
        raise BadQuery("The search is too long; use at most 1000 characters.")
    query = parse_query(text) if text else Every()
    facet_filters = [Or([Term(name, value) for value in values])
                     for name, values in (filters or {}).items() if name in FACETS and values]
    filter_query = _combine(access_filter(viewer), *facet_filters)
    searcher = _index().searcher()
    sortedby, reverse = None, False
    if sort != "relevance" or not text:
        sortedby, reverse = "published", sort != "oldest"
    groupedby = {name: sorting.FieldFacet(name, allow_overlap=multi) for name, multi in FACETS.items()}
    page = max(1, page)
    hits = searcher.search_page(query, page, pagelen=per_page, filter=filter_query, groupedby=groupedby,
                                sortedby=sortedby, reverse=reverse, terms=bool(text))
    hits.results.fragmenter = highlight.ContextFragmenter(maxchars=300, surround=60)
    hits.results.formatter = highlight.HtmlFormatter(tagname="mark", classname="hl", termclass="t")
    ids = [int(hit["id"]) for hit in hits]
    cases = _load_visible(viewer, ids)
    results = []
    for hit in hits:
        case = cases.get(int(hit["id"]))
        if case is None:
            continue
        snippet = ""
        if text:
            snippet = (hit.highlights("summary", text=case.summary, top=2)
                       or hit.highlights("body", text="\n".join([case.narrative, case.lessons]), top=2))
        results.append(SearchResult(case=case, score=round(hit.score or 0.0, 4), snippet=snippet))
    facets = {}
    for name in FACETS:
        groups = hits.results.groups(name)
        counts = {(key.decode() if isinstance(key, bytes) else key): len(value) for key, value in groups.items()}
        facets[name] = sorted(((k, v) for k, v in counts.items() if k), key=lambda kv: (-kv[1], kv[0]))
    total = hits.total
    return SearchPage(results=results, total=total, page=page,
                      pages=max(1, math.ceil(total / per_page)), facets=facets)


# -- find similar ---------------------------------------------------------------------------------

@dataclass
class SimilarQuery:
    """A description turned into weighted distinctive terms plus structured signals."""

    terms: dict[str, float]
    surface: dict[str, str]
    sector: str | None = None
    markets: tuple[str, ...] = ()
    causes: tuple[str, ...] = ()


def distinctive_terms(searcher, title: str, description: str, limit: int = SIMILAR_MAX_TERMS):
    """Weight each term of the text by (1 + log tf) * idf, title terms counted twice; keep the top ones.

    idf = log(N / df) with df the term's largest document frequency over the text fields, so a term that
    is common anywhere counts for little; terms the index has never seen cannot match and are dropped.
    """
    counts, surface = Counter(), {}
    for weight, text in ((2, title), (1, description)):
        for term, original, _, _ in analyse(text or ""):
            counts[term] += weight
            surface.setdefault(term, original)
    total = max(searcher.doc_count(), 1)
    weights = {}
    for term, tf in counts.items():
        df = max(searcher.doc_frequency(name, term) for name in SIMILAR_FIELD_WEIGHTS)
        if df == 0 or df >= total * 0.5 and total > 20:
            continue
        weights[term] = (1 + math.log(tf)) * math.log(1 + total / df)
    top = dict(sorted(weights.items(), key=lambda kv: -kv[1])[:limit])
    return top, {term: surface[term] for term in top}


def build_similar_query(similar: SimilarQuery):
    """Score = sum over kept terms t and fields f of w_t * W_f * BM25F(t, f)
    + SECTOR_BOOST * [same sector] + MARKET_BOOST * [shared market] + CAUSE_BOOST * [shared cause].

    w_t is the term's distinctiveness (distinctive_terms), W_f the field weight (SIMILAR_FIELD_WEIGHTS);
    the structured boosts are BM25F scores of keyword terms scaled by their boost.
    """
    clauses = [Term(name, term, boost=weight * field_weight)
               for term, weight in similar.terms.items()
               for name, field_weight in SIMILAR_FIELD_WEIGHTS.items()]
    if similar.sector:
        clauses.append(Term("sector", similar.sector, boost=SECTOR_BOOST))
    clauses += [Term("market", market, boost=MARKET_BOOST) for market in similar.markets]
    clauses += [Term("cause", cause, boost=CAUSE_BOOST) for cause in similar.causes]
    return Or(clauses).normalize() if clauses else None


def similar_cases(viewer, description: str, title: str = "", sector: str | None = None,
                  markets: list[str] | tuple = (), causes: list[str] | tuple = (),
                  exclude_id: int | None = None, limit: int = 10) -> list[SearchResult]:
    """Rank the published cases the viewer may open by similarity to a description, saying why each matched."""
    searcher = _index().searcher()
    terms, surface = distinctive_terms(searcher, title, description)
    similar = SimilarQuery(terms=terms, surface=surface, sector=sector, markets=tuple(markets or ()),
                           causes=tuple(causes or ()))
    query = build_similar_query(similar)
    if query is None:
        return []
    mask = Term("id", str(exclude_id)) if exclude_id is not None else None
    hits = searcher.search(query, limit=limit, filter=access_filter(viewer), mask=mask, terms=True)
    cases = _load_visible(viewer, [int(hit["id"]) for hit in hits])
    results = []
    for hit in hits:
        case = cases.get(int(hit["id"]))
        if case is not None:
            results.append(SearchResult(case=case, score=round(hit.score, 4), why=_why(hit, similar)))
    return results


def _why(hit, similar: SimilarQuery) -> dict:
    """Name the signals that scored for this hit: shared terms (strongest first), sector, markets, causes."""
    matched = {(name, text.decode() if isinstance(text, bytes) else text) for name, text in hit.matched_terms()}
    shared_terms = sorted({text for name, text in matched if name in SIMILAR_FIELD_WEIGHTS},
                          key=lambda term: -similar.terms.get(term, 0))
    return {
        "terms": [similar.surface.get(term, term) for term in shared_terms[:8]],
        "sector": similar.sector if ("sector", similar.sector) in matched else None,
        "target_markets": [m for m in similar.markets if ("market", m) in matched],
        "causes": [c for c in similar.causes if ("cause", c) in matched],
    }


def similar_to_case(viewer, case: FailureCase, limit: int = 10) -> list[SearchResult]:
    """Cases similar to a case, found from its title, summary and lessons and its structured fields."""
    return similar_cases(viewer, description=" ".join([case.summary, case.warning_signs, case.lessons]),
                         title=case.title, sector=case.sector, markets=case.target_markets,
                         causes=[c.code for c in case.causes], exclude_id=case.id, limit=limit)
