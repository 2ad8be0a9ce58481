"""The search page's cases in the other language: an English search also shows Chinese cases on the same
subject, and the other way round.

Two bridges: the words' equivalents (the hand glossary, then the general dictionary: zhigu.search.dictionary;
"cold chain" finds 冷链, "refrigerated" 冷藏) always, and with the multilingual
extra the cases nearest in meaning (zhigu.search.dense), kept only when clearly closer than that language's
cases on the whole (MIN_LIKENESS standard deviations above their mean). Both go through the search page's own
filter of the documents the viewer may open (and the filters chosen), then load_visible.

The equivalents are ranked as the search page ranks words: over posting arrays (zhigu.search.vectorized), with
the statistics of what the viewer may open, so a case they may not open cannot move the order. Through Whoosh's
matchers, with its statistics over every document, they were a third of a search page's CPU under bench/load.py.
"""
from __future__ import annotations

from whoosh.query import And, Or, Term

from zhigu.search import dense, vectorized
from zhigu.search.analysis import analyse
from zhigu.search.dictionary import translate
from zhigu.search.glossary import strongest
from zhigu.search.index import current_index
from zhigu.search.services import SearchResult, _allowed_docs, load_visible, visible_statistics
from zhigu.search.statistics import PublicBM25F

#: Cases of the other language shown under the results.
LIMIT = 5
#: A case found by meaning alone is shown when its likeness (dense.similarities, a z-score within its
#: language) is at least this. Measured on bench/crosslang_eval's one-line queries: the relevant case's median
#: is 2.6-3.0, but queries about nothing in the archive ("weather tomorrow") reach 2.6-3.5 too, so the bar is
#: high and few cases pass it: a stricter bar shows less, never something unrelated as often.
MIN_LIKENESS = 3.0
#: Characters of a search translated, and equivalents queried at most: a search is a few words, and each
#: equivalent costs its postings.
MAX_TEXT = 500
MAX_EQUIVALENTS = 24


def other_language_cases(viewer, text: str, filters: dict[str, list[str]] | None = None,
                         shown: set[int] | frozenset = frozenset(),
                         searcher=None) -> tuple[str | None, list[SearchResult]]:
    """The language ("zh" or "en") of the cases that are in the other language than `text`, and up to LIMIT of
    them the viewer may open, not among `shown`: by the words' equivalents first, then by meaning; in the index
    generation `searcher` (the search page's; default: the newest)."""
    text = (text or "").strip()
    if not text:
        return None, []
    language = "en" if dense.han_text(text) else "zh"
    searcher = current_index().searcher() if searcher is None else searcher
    allowed, allowed_mask = _allowed_docs(searcher, viewer, filters)  # never empty: {-1} when nothing may be opened
    ranked: dict[int, bool] = {}  # case id -> found by meaning
    equivalents = equivalent_terms(text)
    if equivalents:
        query = And([Term("language", language), Or([Term(field, term, boost=share) for term, share in equivalents.items()
                                                     for field in ("title", "summary")])]).normalize()
        stats, _ = visible_statistics(searcher, viewer)
        found = vectorized.search(searcher, query, PublicBM25F(stats), allowed_mask, float("inf"))
        for docnum in found.docnums[:4 * LIMIT].tolist():
            ranked.setdefault(int(searcher.stored_fields(docnum)["id"]), False)
    if dense.enabled():
        for case_id in _nearest_in(language, text, searcher, allowed):
            ranked.setdefault(case_id, True)
    ids = [case_id for case_id in ranked if case_id not in shown]
    cases = load_visible(viewer, ids)
    results = [SearchResult(case=cases[case_id], score=0.0, why={"similar_meaning": ranked[case_id]})
               for case_id in ids if case_id in cases and cases[case_id].language == language]
    return language, results[:LIMIT]


def equivalent_terms(text: str) -> dict[str, float]:
    """The other language's terms for the words of `text`, each with its largest share (dictionary.translate);
    at most MAX_EQUIVALENTS of them, the words of a short search being few."""
    found = strongest(translate([term for term, *_ in analyse(text[:MAX_TEXT], bigrams=False)]))
    return dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_EQUIVALENTS])


def _nearest_in(language: str, text: str, searcher, allowed) -> list[int]:
    vectors = dense.case_vectors()
    if not vectors.ids:
        return []
    likeness = dense.similarities(vectors, text)
    wanted = vectors.han if language == "zh" else ~vectors.han
    found = []
    for row in (-likeness).argsort(kind="stable"):
        if likeness[row] < MIN_LIKENESS or len(found) >= LIMIT:
            break
        if not wanted[row]:
            continue
        docnum = searcher.document_number(id=str(vectors.ids[row]))
        if docnum is not None and (allowed is None or docnum in allowed):
            found.append(vectors.ids[row])
    return found
