"""The cross-language stage of "find similar": the description's distinctive terms translated to the other
language (the hand glossary first, then the general dictionary: zhigu.search.dictionary), weighted by
their idf, run as a second, small query over the cases written in that language; its hits are fused with
the same-language candidates (fuse) and say so in `why` ("other_language": true).

The second query is filtered with the very set of documents the first one is (what the viewer may open,
never the case compared), and every result then goes through load_visible like any other candidate.
"""
from __future__ import annotations

import math

from whoosh.query import And, Or, Term

from zhigu.search.analysis import analyse, is_han
from zhigu.search.dictionary import translate

#: Translated terms queried at most (fewer in a large archive): each costs its postings in two fields.
CROSS_MAX_TERMS = 10
CROSS_MAX_TERMS_LARGE = 6
#: Cases of the other language the second query returns.
CROSS_DEPTH = 20
#: Fields of the second query and their weights (the narrative is left out, as in the first stage).
CROSS_FIELD_WEIGHTS = {"title": 2.0, "summary": 2.0}
#: The best other-language hit takes CROSS_SHARE of the best same-language text score, the others
#: CROSS_SHARE * (their score / the best hit's) ** CROSS_DECAY of it: the best enters the first few results
#: without the rest pushing the same-language matches out (tuned on bench/crosslang.py --concepts:
#: bench/README.md, "The cross-language stage without the extra").
CROSS_SHARE = 0.6
CROSS_DECAY = 3.0
#: `why` key of a result the cross-language stage found.
WHY_KEY = "other_language"


def other_language(text: str) -> str:
    """The language code of the cases a text of this script is matched against: "en" for Chinese text."""
    han = sum(len(term) for term, *_ in analyse(text, bigrams=False) if is_han(term))
    latin = sum(len(term) for term, *_ in analyse(text, bigrams=False) if not is_han(term))
    return "en" if han > latin else "zh"


def translated_terms(searcher, text: str, weight, usable_idf, limit: int) -> dict[str, float]:
    """The `limit` heaviest other-language equivalents of the text's terms: weight(source term) (its
    distinctiveness; 0 leaves it untranslated) * share of the equivalent * sqrt(usable_idf(equivalent))."""
    sources = [term for term, *_ in analyse(text, bigrams=False)]
    found: dict[str, float] = {}
    for source, equivalents in translate(sources).items():
        if not (source_weight := weight(source)):
            continue  # a word too common to be queried is not translated either
        for term, share in equivalents.items():
            if idf := usable_idf(searcher, term):
                found[term] = max(found.get(term, 0.0), source_weight * share * math.sqrt(idf))
    return dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])


def build_cross_query(terms: dict[str, float], language: str | None):
    """An OR of the translated terms over the title and summary, limited to one language's cases."""
    if not terms:
        return None
    clauses = Or([Term(name, term, boost=weight * field_weight)
                  for term, weight in terms.items() for name, field_weight in CROSS_FIELD_WEIGHTS.items()])
    return And([Term("language", language), clauses]).normalize() if language else clauses.normalize()


def fuse(candidates: list, cross_hits) -> tuple[list, set[int]]:
    """Add the other-language hits to the (text score, case id, stored fields) candidates.

    The best hit scores CROSS_SHARE times the best candidate's text score, the others less (CROSS_DECAY);
    a case that is already a candidate (found through the glossary or the causes) keeps
    the higher of its two scores. Returns the candidates and the ids of the other-language hits.
    """
    if not cross_hits:
        return candidates, set()
    best_text = max((score for score, _, _ in candidates), default=0.0) or 1.0
    best_cross = cross_hits[0].score or 1.0
    scores = {int(hit["id"]): (CROSS_SHARE * best_text * (hit.score / best_cross) ** CROSS_DECAY, hit)
              for hit in cross_hits}
    fused = [(max(score, scores[case_id][0]) if case_id in scores else score, case_id, fields)
             for score, case_id, fields in candidates]
    known = {case_id for _, case_id, _ in candidates}
    fused += [(score, case_id, hit.fields()) for case_id, (score, hit) in scores.items() if case_id not in known]
    return fused, set(scores)
