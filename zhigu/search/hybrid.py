"""Hybrid "find similar": the lexical candidates fused with the nearest cases by sentence vector.

Used by zhigu.search.similar when the multilingual extra is installed and cases have vectors
(zhigu.search.dense); otherwise every function here hands the lexical ranking back unchanged.

A case found by its vector alone goes through the same access rule as a lexical match: it must be a
document of the index (published), in the viewer's allowed set of documents (the very set the lexical
query is filtered with), and not the case being compared; load_visible checks each result again.
"""
from __future__ import annotations

from zhigu.search import dense
from zhigu.search.services import SearchResult, load_visible

#: Nearest cases by vector added to the lexical candidates.
DENSE_DEPTH = 50
#: "weighted": (1 - W_DENSE) * text score / best text score + W_DENSE * rescaled cosine;
#: "rrf": reciprocal rank fusion, 1 / (RRF_K + lexical rank) + 1 / (RRF_K + vector rank).
#: Measured on bench/crosslang.py --concepts (bench/README.md): weighted at W_DENSE 0.7 kept the most of
#: both languages' own finds while bringing the other language in; RRF ranked below it.
FUSION = "weighted"
W_DENSE = 0.7
#: For a case in the other language than the description, CROSS_LANGUAGE_SHARE * its likeness stands in for
#: the text score when that is lower: its words could not match. At 1 it ranked a Chinese query's English
#: twin above the Chinese case itself (tests/search/test_quality_lock.py).
CROSS_LANGUAGE_SHARE = 0.5
RRF_K = 60
#: The likeness (dense.similarities) at or below the DENSE_DEPTH-th best counts 0, the TOP_RANK-th best (and
#: any above it) 1. The best alone set the scale before: a near-duplicate of the description (the case itself,
#: pasted; an incident reported twice) stands far above the rest (z-score ~10 against 2-4) and flattened every
#: other likeness to a fraction. bench/crosslang.py --concepts with the extra (pairs en->zh, zh->en, R@5):
#: best 0.567 / 0.700, 2nd 0.700 / 0.817, 3rd 0.717 / 0.817 with lower MRR; the one-line sets, which hold no
#: duplicate, moved by +0.017 to +0.033 (bench/README.md).
TOP_RANK = 2

#: `why` key of a result the vector side brought into the top of the list.
WHY_KEY = "similar_meaning"


def fuse(searcher, allowed_docs, exclude_id, title: str, description: str, candidates: list, limit: int,
         of_case: bool = False):
    """Fuse the lexical candidates (text score, case id, stored fields) with the nearest cases by vector.

    Returns the candidates (same shape, text scores on the lexical scale so the structured boosts weigh as
    before) and the ids the vector side carried: those in the top `limit` now but not by words alone.
    With `of_case` (the neighbours of case `exclude_id`), a case without its vector yet gets no vector side:
    embedding its whole text as a query took 0.2-0.5 s of CPU, and its list is computed again once the
    vector is stored (zhigu.search.neighbours).
    """
    if not dense.enabled():
        return candidates, set()
    vectors = dense.case_vectors()
    if not vectors.ids or (of_case and exclude_id not in vectors.row):
        return candidates, set()
    text = f"{title or ''}\n{description or ''}"
    cosines = dense.similarities(vectors, text, exclude_id)
    if cosines is None:
        return candidates, set()
    han = vectors.han[vectors.row[exclude_id]] if exclude_id in vectors.row else dense.han_text(text)
    return _fuse(searcher, allowed_docs, exclude_id, candidates, limit, vectors, cosines, bool(han))


def _fuse(searcher, allowed_docs, exclude_id, candidates, limit, vectors, cosines, han: bool):
    import numpy as np

    depth = min(DENSE_DEPTH, len(vectors.ids))
    order = np.argsort(-cosines, kind="stable")
    fields = {case_id: stored for _, case_id, stored in candidates}
    nearest = []
    for row in order:
        if len(nearest) >= depth:
            break
        case_id = vectors.ids[row]
        if case_id == exclude_id:
            continue
        if case_id not in fields:
            docnum = searcher.document_number(id=str(case_id))
            if docnum is None or (allowed_docs is not None and docnum not in allowed_docs):
                continue  # not in the index (unpublished) or not for this viewer: never a candidate
            fields[case_id] = searcher.stored_fields(docnum)
        nearest.append(case_id)
    if not nearest:
        return candidates, set()
    floor = float(cosines[vectors.row[nearest[-1]]]) if len(nearest) >= depth else 0.0
    top = float(cosines[vectors.row[nearest[min(TOP_RANK, len(nearest)) - 1]]])

    def meaning(case_id):
        if case_id not in vectors.row:
            return None
        return min(1.0, max(0.0, (float(cosines[vectors.row[case_id]]) - floor) / ((top - floor) or 1.0)))

    text = {case_id: score for score, case_id, _ in candidates}
    best = max(text.values(), default=0.0) or 1.0
    pool = list(dict.fromkeys([*text, *nearest]))
    if FUSION == "rrf":
        lexical_rank = {case_id: n for n, (_, case_id, _) in enumerate(sorted(candidates, key=lambda c: (-c[0], c[1])), 1)}
        dense_rank = {case_id: n for n, case_id in enumerate(nearest, 1)}
        raw = {case_id: (1 / (RRF_K + lexical_rank[case_id]) if case_id in lexical_rank else 0.0)
               + (1 / (RRF_K + dense_rank[case_id]) if case_id in dense_rank else 0.0) for case_id in pool}
        most = max(raw.values()) or 1.0
        fused = {case_id: best * value / most for case_id, value in raw.items()}
    else:
        fused = {}
        for case_id in pool:
            similarity = meaning(case_id)
            share = text.get(case_id, 0.0) / best
            if similarity is None:
                similarity = share
            elif bool(vectors.han[vectors.row[case_id]]) != han:
                # words rarely match across languages: the meaning stands in for part of the text score
                share = max(share, CROSS_LANGUAGE_SHARE * similarity)
            fused[case_id] = best * ((1 - W_DENSE) * share + W_DENSE * similarity)
    lexical_top = {case_id for _, case_id, _ in sorted(candidates, key=lambda c: (-c[0], c[1]))[:limit]}
    ranked = sorted(pool, key=lambda case_id: (-fused[case_id], case_id))
    carried = {case_id for case_id in ranked[:limit] if case_id not in lexical_top}
    return [(fused[case_id], case_id, fields[case_id]) for case_id in ranked], carried


def mark(why: dict, case_id: int, carried: set[int]) -> dict:
    """Name "similar meaning" in `why` when the vector side carried the result."""
    if case_id in carried:
        why[WHY_KEY] = True
    return why


def dense_only(viewer, searcher, allowed_docs, exclude_id, title: str, description: str, limit: int,
               of_case: bool = False):
    """Results when the words matched nothing (say, an English description in a Chinese archive): the
    nearest cases by vector the viewer may open, each marked "similar meaning"; none without the extra."""
    candidates, carried = fuse(searcher, allowed_docs, exclude_id, title, description, [], limit, of_case)
    ranked = [(score, case_id) for score, case_id, _ in candidates[:limit]]
    cases = load_visible(viewer, [case_id for _, case_id in ranked])
    empty = {"terms": [], "related_terms": [], "sector": None, "target_markets": [], "causes": [],
             "nearest_cause": None}
    return [SearchResult(case=cases[case_id], score=round(score, 4), why=mark(dict(empty), case_id, carried))
            for score, case_id in ranked if case_id in cases]
