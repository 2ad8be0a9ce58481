"""Find similar: rank the published cases the viewer may open by likeness to a description.

Two stages (see similar_cases): a first-stage OR query of the description's distinctive terms and its
structured signals (and a second one of their translations over the other language's cases:
zhigu.search.crosslingual), then a re-ranking of the best candidates by cosine, feedback and the causes of
the nearest cases. It shares the search page's access rules and row loading (zhigu.search.services).
"""
import contextvars
import math
from array import array
from collections import Counter
from dataclasses import dataclass, replace
from functools import partial

from whoosh import collectors
from whoosh.query import And, Or, Term

from zhigu.archive.models import FailureCase
from zhigu.search import crosslingual, hybrid, vectorized
from zhigu.search.analysis import analyse, is_han
from zhigu.search.glossary import translations
from zhigu.search.index import current_index
from zhigu.search.semantic import reranker
from zhigu.search.services import SearchResult, load_visible, visible_statistics
from zhigu.search.statistics import PublicBM25F, public_statistics, segment_key

#: Text fields whose document frequency sets a term's idf.
TEXT_FIELDS = ("title", "summary", "body", "causes_text")
#: Field weights of the first stage of "find similar". The narrative (body) is left out: twice as slow for
#: little recall (figures in bench/README.md, "Why the ranking constants are what they are").
SIMILAR_FIELD_WEIGHTS = {"title": 2.0, "summary": 2.0, "causes_text": 0.5}
#: Distinctive terms kept from a description; in an archive of more than LARGE_ARCHIVE cases, fewer terms
#: keep the query fast at a small price in recall (bench/README.md).
SIMILAR_MAX_TERMS = 24
#: Characters of a description that are compared (a few pages). The request may carry more; analysing and
#: weighing 20,000 characters cost up to 0.75 s of CPU at 10,000 cases (bench/query_cost.py), and the terms
#: that make a description distinctive are already in its first pages.
SIMILAR_MAX_CHARS = 5_000
SIMILAR_MAX_TERMS_LARGE = 12
LARGE_ARCHIVE = 5_000
#: Terms in more than this share of the archive (and in at least COMMON_TERM_MIN_DF cases) are left out
#: of the first stage: they cost the most postings to score and say little about the case.
COMMON_TERM_SHARE = 0.01
COMMON_TERM_MIN_DF = 500
#: Boosts of the structured signals, added to the text score when they match.
SECTOR_BOOST = 1.5
MARKET_BOOST = 1.0
CAUSE_BOOST = 1.5
#: How many first-stage results the second stage re-ranks, and the weights of its score (see similar_cases).
RERANK_DEPTH = 50
W_COSINE = 0.7
W_FIRST_STAGE = 0.3
W_SECTOR = 0.2
W_MARKET = 0.05
W_CAUSE = 0.1
W_CAUSE_FEEDBACK = 0.4
#: Share of the text score given to the optional sentence-embedding similarity (zhigu.search.semantic).
W_SEMANTIC = 0.5
CAUSE_FEEDBACK_DEPTH = 10
#: Pseudo-relevance feedback (_feedback): the FEEDBACK_TERMS heaviest terms of the FEEDBACK_DOCS best
#: first-stage matches (0 turns it off) fetch more candidates, the heaviest weighted FEEDBACK_WEIGHT times
#: the description's heaviest term; in an archive of more than LARGE_ARCHIVE cases only FEEDBACK_TERMS_LARGE
#: terms are added (what it gains and costs: bench/README.md).
FEEDBACK_DOCS = 5
FEEDBACK_TERMS = 20
FEEDBACK_TERMS_LARGE = 5
FEEDBACK_WEIGHT = 0.4
#: Share of the re-ranking cosine taken by the feedback centroid instead of the description.
FEEDBACK_COSINE = 0.4
#: Weight of a glossary equivalent relative to a word of the description, and how many are added at most.
GLOSSARY_WEIGHT = 0.5
#: Shared terms a result's `why` lists, strongest first.
WHY_MAX_TERMS = 12
#: `why` names only words held by at most this share of the cases (in an archive of WHY_MIN_CASES or more):
#: the words every other case uses ("plan", "money", "sell") matched, but say nothing about why.
WHY_MAX_SHARE = 0.15
WHY_MIN_CASES = 20
GLOSSARY_MAX_TERMS = 12

#: Title-and-summary vectors (_case_vector) kept with each statistics object (its `derived`), i.e. per index
#: generation and viewer set, at most this many each (then emptied): reading a candidate's stored term vectors
#: and weighing them were a quarter of a "find similar" at 10,000 cases, and the same cases come back as
#: candidates. The large segments' documents' vectors are kept along the public statistics' lineage as well
#: (statistics.Lineage), for the later generations in which none of their terms changed weight.
MAX_CACHED_VECTORS = 20_000
#: Documents whose term weights (_term_weights) this process keeps by segment (_raw_weights), then emptied.
MAX_KEPT_TERM_WEIGHTS = 10_000
#: (index directory, segment id, document number in the segment) -> _term_weights: a segment never changes, so
#: they hold across index generations and for every viewer, unlike the weighed vectors. The statistics of an
#: admin (who may open every case) have no lineage: after each edit, their trends page read the stored vectors
#: of ninety candidates again for each of its thirty live "find similar" (bench/README.md).
_TERM_WEIGHTS: dict[tuple, tuple[tuple[str, ...], array]] = {}
#: How many of the large segments' vectors the warm-up weighs (warm_vectors): half the room, so that the
#: candidates of the first requests do not empty it at once.
WARM_VECTORS = MAX_CACHED_VECTORS // 2

#: The ranking statistics of the "find similar" running in this context (see _statistics).
_STATISTICS = contextvars.ContextVar("zhigu.search.statistics", default=None)


def _statistics(searcher):
    """Statistics over what the current viewer may open (set by similar_cases), else over
    the public documents: scores and term choices never depend on documents the viewer may not open."""
    stats = _STATISTICS.get()
    if stats is None or not stats.counts_for(searcher):
        return public_statistics(searcher)
    return stats



@dataclass
class SimilarQuery:
    """A description turned into weighted distinctive terms plus structured signals."""

    terms: dict[str, float]
    #: How the description writes each term (None for a glossary equivalent it does not contain).
    surface: dict[str, str | None]
    sector: str | None = None
    markets: tuple[str, ...] = ()
    causes: tuple[str, ...] = ()
    #: Terms added by pseudo-relevance feedback (feedback_terms), shown apart in `why`, and the ids of the
    #: closest cases they came from.
    related: frozenset[str] = frozenset()
    nearest: frozenset[int] = frozenset()


def usable_idf(searcher, term: str) -> float:
    """idf of a term worth querying: 0 for unseen terms, those in half the cases, and very common ones."""
    stats = _statistics(searcher)
    total = stats.doc_count
    idf = stats.text_idf(term, TEXT_FIELDS)
    common = max(COMMON_TERM_SHARE * total, COMMON_TERM_MIN_DF)
    if idf == 0.0 or total > 20 and idf < math.log(3) or math.log(1 + total / common) > idf:
        return 0.0
    return idf


def distinctive_terms(searcher, title: str, description: str, limit: int | None = None):
    """Weight each term of the text by (1 + log tf) * sqrt(idf) and keep the `limit` heaviest.

    `limit` defaults to SIMILAR_MAX_TERMS, or SIMILAR_MAX_TERMS_LARGE in a large archive.

    BM25 already multiplies each matching term by its idf; the extra sqrt(idf) here favours the rare,
    distinctive words of a long description without letting one rare name drown the rest (measured:
    idf^0.5 beat idf^0 and idf^1 on bench/quality.py). Terms the index has never seen cannot match and
    are dropped, as are terms in more than half the documents of a non-trivial index. Glossary
    equivalents in the other language (zhigu.search.glossary) are added with GLOSSARY_WEIGHT times
    their own sqrt(idf), up to GLOSSARY_MAX_TERMS of them.
    """
    text = f"{title or ''}\n{description or ''}"
    counts = Counter(term for term, *_ in analyse(text))
    # what `why` may show: words as written, not the character bigrams of Chinese text
    surface = {term: original for term, original, _, _ in analyse(text, bigrams=False)}
    if limit is None:
        large = _statistics(searcher).doc_count > LARGE_ARCHIVE
        limit = SIMILAR_MAX_TERMS_LARGE if large else SIMILAR_MAX_TERMS
    weights = {}
    for term, tf in counts.items():
        if idf := usable_idf(searcher, term):
            weights[term] = (1 + math.log(tf)) * math.sqrt(idf)
    top = dict(sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])
    bridged = {}
    for term, share in translations(set(counts)).items():
        if idf := usable_idf(searcher, term):
            bridged[term] = GLOSSARY_WEIGHT * share * math.sqrt(idf)
    for term, weight in sorted(bridged.items(), key=lambda kv: (-kv[1], kv[0]))[:GLOSSARY_MAX_TERMS]:
        top.setdefault(term, weight)
        surface.setdefault(term, None)  # not in the description: `why` shows it as the case writes it
    return top, {term: surface[term] for term in top if term in surface}


def query_vector(searcher, title: str, description: str) -> dict[str, float]:
    """Unit (1 + log tf) * idf vector of a description (title counted twice), glossary equivalents included."""
    counts = Counter(term for term, *_ in analyse(f"{title}\n{title}\n{description}"))
    for term, share in translations(set(counts)).items():
        counts[term] = GLOSSARY_WEIGHT * share
    stats = _statistics(searcher)
    return _unit({term: (1 + math.log(tf) if tf >= 1 else tf) * stats.text_idf(term, TEXT_FIELDS)
                  for term, tf in counts.items()})


def build_similar_query(similar: SimilarQuery):
    """First-stage score = sum over kept terms t and fields f of w_t * W_f * BM25F(t, f)
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


def _unit(vector: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in vector.values())) or 1.0
    return {term: w / norm for term, w in vector.items()}


def _case_vector(searcher, docnum: int) -> dict[str, float]:
    """Unit (1 + log tf) * idf vector of a document's title and summary, read from the stored term vectors.

    Kept with the statistics it was weighed by (MAX_CACHED_VECTORS): those belong to one searcher, so a
    document number never outlives the index generation it names. Callers must not change the vector.
    """
    return _kept_case(searcher, docnum)[0]


def _case_is_han(searcher, docnum: int) -> bool:
    """_mostly_han of the document's vector, kept with it."""
    return _kept_case(searcher, docnum)[1]


def _kept_case(searcher, docnum: int) -> tuple[dict[str, float], bool]:
    stats = _statistics(searcher)
    cache = stats.derived.setdefault("vectors", {})
    kept = cache.get(docnum)
    if kept is None:
        lineage = getattr(stats, "lineage", None)  # the public statistics': a large segment's documents
        kept_along = lineage.derived.setdefault("vectors", {}) if lineage and stats.in_large_segment(docnum) else None
        found = kept_along.get(docnum) if kept_along is not None else None
        if found is not None and lineage.unchanged_since(found[2], found[0], stats.epoch):
            kept = found[:2]
        else:  # weighed again from the term weights kept with it: reading the stored vector was two thirds
            raw = found[3] if found is not None else _raw_weights(searcher, docnum)
            kept = _weighed(stats, raw)
            if kept_along is not None:
                if len(kept_along) >= MAX_CACHED_VECTORS:
                    kept_along.clear()
                kept_along[docnum] = (*kept, stats.epoch, raw)
        if len(cache) >= MAX_CACHED_VECTORS:
            cache.clear()
        cache[docnum] = kept
    return kept


def warm_vectors(searcher, limit: int = WARM_VECTORS) -> int:
    """Weigh the vectors of up to `limit` public documents of the large segments ahead of the requests, kept
    along the public statistics' lineage as _kept_case keeps them; return how many were weighed.

    A new process weighed every candidate the first time it met it (and gunicorn recycles its workers:
    max_requests): under bench/load.py at 10,000 cases weighing was a tenth of the web workers' CPU and a fifth
    of `zhigu worker`'s, then half that with the warm-up (py-spy); the rest is weighing again the vectors whose
    words changed weight."""
    stats = public_statistics(searcher)
    kept_along = stats.lineage.derived.setdefault("vectors", {})
    weighed = 0
    for docnum in sorted(stats.live_documents()):
        if len(kept_along) >= limit:
            break
        if docnum not in kept_along and stats.in_large_segment(docnum):
            raw = _term_weights(searcher, docnum)
            kept_along[docnum] = (*_weighed(stats, raw), stats.epoch, raw)
            weighed += 1
    return weighed


def _term_weights(searcher, docnum: int) -> tuple[tuple[str, ...], array]:
    """The terms of a document's title and summary and their 1 + log tf, from the stored term vectors (about
    1 KB for 55 terms: kept along a lineage for every candidate)."""
    counts = Counter()
    for name in ("title", "summary"):
        if searcher.has_vector(docnum, name):
            for term, weight in searcher.vector_as("weight", docnum, name):
                counts[term] += weight
    held = [(term, n) for term, n in counts.items() if n > 0]
    return tuple(term for term, _ in held), array("d", [1 + math.log(n) for _, n in held])


def _raw_weights(searcher, docnum: int) -> tuple[tuple[str, ...], array]:
    """_term_weights, kept by segment and document (_TERM_WEIGHTS)."""
    for reader, offset in reversed(searcher.reader().leaf_readers()):
        if docnum >= offset:
            break
    key = (*segment_key(reader), docnum - offset)
    raw = _TERM_WEIGHTS.get(key)
    if raw is None:
        raw = _term_weights(searcher, docnum)
        if len(_TERM_WEIGHTS) >= MAX_KEPT_TERM_WEIGHTS:
            _TERM_WEIGHTS.clear()
        _TERM_WEIGHTS[key] = raw
    return raw


def _weighed(stats, raw: tuple[tuple[str, ...], array]) -> tuple[dict[str, float], bool]:
    """A document's vector and _mostly_han, from its term weights (_term_weights) and `stats`."""
    terms, weights = raw
    vector = _unit({term: weight * stats.text_idf(term, TEXT_FIELDS) for term, weight in zip(terms, weights)})
    return vector, _mostly_han(vector)


def _feedback(searcher, similar: SimilarQuery, hits, plain: dict[str, float], vectors, search):
    """Pseudo-relevance feedback from the FEEDBACK_DOCS best first-stage hits.

    Returns the query with the related terms of those cases added (feedback_terms), the description's
    vector blended with their centroid (1 - FEEDBACK_COSINE to FEEDBACK_COSINE), and the hits of a second
    query of the related terms alone, run by `search` (cheaper than the whole query again: 42 against
    48 ms CPU p95 at 10,000 cases, for the same quality). The centroid takes in the glossary equivalents
    of its words, so the feedback of Chinese cases also asks for English words and back.
    """
    nearest = sorted(hits, key=lambda hit: (-hit.score, int(hit["id"])))[:FEEDBACK_DOCS]  # ties: not by docnum
    total = Counter()
    for hit in nearest:
        total.update(vectors(hit.docnum))
    centroid = {term: weight / len(nearest) for term, weight in total.items()}
    heaviest = max(centroid.values(), default=0.0)
    for term, share in translations(set(centroid)).items():
        centroid.setdefault(term, share * heaviest)
    wanted = _unit({term: (1 - FEEDBACK_COSINE) * plain.get(term, 0.0) + FEEDBACK_COSINE * centroid.get(term, 0.0)
                    for term in plain.keys() | centroid.keys()})
    related = feedback_terms(searcher, centroid, similar.terms)
    if not related:
        return similar, wanted, []
    similar = replace(similar, terms={**similar.terms, **related}, related=frozenset(related),
                      nearest=frozenset(int(hit["id"]) for hit in nearest))
    return similar, wanted, search(build_similar_query(SimilarQuery(related, {})))


def _text_candidates(hits, fed_hits, plain: dict[str, float], wanted: dict[str, float], vectors, is_han):
    """(text score, case id, stored fields) of each candidate of the first stage and of the feedback query.

    The text score is W_COSINE * cos(description, case) + W_FIRST_STAGE * first-stage score / best. With
    feedback (`wanted` is not `plain`), the candidates written in the description's script are then
    re-ordered by the same score computed with the blended vector and the first-stage scores of both
    queries added, in the places they held between them; the others (found through the glossary or the
    causes) keep their places, as without feedback. Blending them all lost the cross-language twins
    (bench/crosslang.py R@5 0.20 -> 0.07). `vectors(docnum)` is the case's vector, `is_han(docnum)` whether
    it is mostly Han terms.
    """
    first = {hit.docnum: hit.score / (hits[0].score or 1.0) for hit in hits}
    both = Counter({hit.docnum: hit.score for hit in hits})
    both.update({hit.docnum: hit.score for hit in fed_hits})
    best = max(both.values(), default=0.0) or 1.0
    stored = {}
    for hit in [*hits, *fed_hits]:
        if hit.docnum not in stored:  # read a case found by both queries once
            stored[hit.docnum] = hit.fields()
    chinese = _mostly_han(plain)
    candidates, fed = [], {}
    for docnum, fields in stored.items():
        case_vector = vectors(docnum)
        case_id = int(fields["id"])
        candidates.append((W_COSINE * _dot(plain, case_vector) + W_FIRST_STAGE * first.get(docnum, 0.0),
                           case_id, fields))
        if wanted is not plain and is_han(docnum) == chinese:
            fed[case_id] = W_COSINE * _dot(wanted, case_vector) + W_FIRST_STAGE * both[docnum] / best
    return _reorder_in_slots(candidates, fed) if fed else candidates


def feedback_terms(searcher, centroid: dict[str, float], terms: dict[str, float]) -> dict[str, float]:
    """The heaviest centroid terms not already asked for, weighted against the description's heaviest term.

    FEEDBACK_TERMS of them (FEEDBACK_TERMS_LARGE in a large archive), skipping the terms the first stage
    would not query either (usable_idf): very common ones made the second query six times slower.
    """
    budget = FEEDBACK_TERMS if _statistics(searcher).doc_count <= LARGE_ARCHIVE else FEEDBACK_TERMS_LARGE
    fresh = sorted(((weight, term) for term, weight in centroid.items()
                    if term not in terms and usable_idf(searcher, term)), reverse=True)[:budget]
    if not fresh or not terms:
        return {}
    heaviest, strongest = max(terms.values()), fresh[0][0]
    return {term: FEEDBACK_WEIGHT * heaviest * weight / strongest for weight, term in fresh}


def _top_documents(searcher, query, limit: int, allow=None, restrict=None):
    """Run a large OR query fast: over posting arrays (zhigu.search.vectorized) when it is made of words, else
    through Whoosh without block-quality pruning and matcher replacement.

    Whoosh's default collector keeps rebuilding the matcher tree of a many-term OR as the minimum score
    rises, which made "find similar" ten times slower (measured: 58 ms against 5.5 ms per query).
    """
    weighting = PublicBM25F(_statistics(searcher))  # scores only what the viewer may open can move
    excluded = set(searcher.docs_for_query(restrict)) if restrict is not None else frozenset()
    hits = vectorized.top_hits(searcher, query, weighting, limit, allow, excluded)
    if hits is not None:
        return hits
    collector = collectors.TopCollector(limit, usequality=False, replace=0)
    if allow is not None or restrict is not None:
        collector = collectors.FilterCollector(collector, allow=allow, restrict=restrict)
    searcher.search_with_collector(query, collector, context=searcher.context(weighting=weighting))
    return collector.results()


def similar_cases(viewer, description: str, title: str = "", sector: str | None = None,
                  markets: list[str] | tuple = (), causes: list[str] | tuple = (),
                  exclude_id: int | None = None, limit: int = 10, of_case: bool = False) -> list[SearchResult]:
    """Rank the published cases the viewer may open by similarity to a description, saying why each matched.

    Two stages. The index returns the RERANK_DEPTH best by the first-stage score (build_similar_query).
    With pseudo-relevance feedback on (FEEDBACK_DOCS > 0), the heaviest terms of its FEEDBACK_DOCS best
    matches fetch more candidates (_feedback; `why["related_terms"]` lists those a result matched), and
    the candidates in the description's script are ordered with q blended with the centroid of those
    matches (_text_candidates): a one-line description also finds what its nearest cases resemble.
    The candidates are re-ranked by

        score = W_COSINE * cos(q, d) + W_FIRST_STAGE * first_stage(d) / best_first_stage
              + W_SECTOR * [same sector] + W_MARKET * shared markets / query markets
              + W_CAUSE * shared causes / query causes + W_CAUSE_FEEDBACK * votes(primary cause of d)

    The description's distinctive terms translated to the other language (zhigu.search.crosslingual) run as
    a second query over that language's cases, filtered like the first; its hits join the candidates a little
    below the best same-language match (crosslingual.fuse; `why["other_language"]`).

    With the optional semantic re-ranker on (SEMANTIC_RERANK) and an English description, the English
    candidates are re-ordered among themselves by (1 - W_SEMANTIC) * text part + W_SEMANTIC * the cosine of
    their sentence embeddings (`why["meaning"]`) before the cause votes are counted (_reorder_by_meaning).

    cos is the cosine of (1 + log tf) * idf vectors of the description and of the case's title and summary:
    it favours cases about the same thing over long cases that merely share many words. votes(c) is the
    share of the CAUSE_FEEDBACK_DEPTH best text matches whose primary cause is c: the causes the nearest
    cases failed of, which carry no language, so a case that failed the same way ranks up even when it
    shares few words (pseudo-relevance feedback on the taxonomy; `why["nearest_cause"]` names it when it
    scored). Weights are tuned on bench/quality.py and bench/crosslang.py.

    `of_case`: the description is case `exclude_id`'s own text (similar_to_case), so the vector side compares
    that case's stored vector, or is left out while it has none (hybrid.fuse).
    """
    searcher = current_index().searcher()
    stats, allowed_docs = visible_statistics(searcher, viewer)
    token = _STATISTICS.set(stats)
    try:
        return _similar_cases(viewer, searcher, allowed_docs, description, title, sector, markets, causes,
                              exclude_id, limit, of_case)
    finally:
        _STATISTICS.reset(token)


def _similar_cases(viewer, searcher, allowed_docs, description, title, sector, markets, causes, exclude_id,
                   limit, of_case) -> list[SearchResult]:
    description = (description or "")[:SIMILAR_MAX_CHARS]
    terms, surface = distinctive_terms(searcher, title, description)
    similar = SimilarQuery(terms=terms, surface=surface, sector=sector, markets=tuple(markets or ()),
                           causes=tuple(causes or ()))
    query = build_similar_query(similar)
    if allowed_docs is not None and not allowed_docs:
        return []  # an empty filter set would mean no filter to Whoosh
    mask = Term("id", str(exclude_id)) if exclude_id is not None else None
    search = lambda q, depth: _top_documents(searcher, q, depth, allow=allowed_docs, restrict=mask)  # noqa: E731
    cross_terms, cross_query = _cross_language_query(searcher, f"{title or ''}\n{description}", terms)
    cross_hits = search(cross_query, crosslingual.CROSS_DEPTH) if cross_query is not None else []
    hits = search(query, max(limit, RERANK_DEPTH)) if query is not None else []
    if not hits and not cross_hits:
        return hybrid.dense_only(viewer, searcher, allowed_docs, exclude_id, title, description, limit, of_case)
    candidates, fed_hits = [], []
    if hits:
        plain = wanted = query_vector(searcher, title, description)
        vectors = partial(_case_vector, searcher)
        if FEEDBACK_DOCS:
            similar, wanted, fed_hits = _feedback(searcher, similar, hits, plain, vectors,
                                                  lambda related: search(related, max(limit, RERANK_DEPTH)))
            if similar.related:  # `why` names the related terms a result matched
                query = build_similar_query(similar)
        candidates = _text_candidates(hits, fed_hits, plain, wanted, vectors, partial(_case_is_han, searcher))
    candidates, crossed = crosslingual.fuse(candidates, cross_hits)
    if cross_query is not None:  # `why` names the translated terms a result matched, as the case writes them
        query = Or([query, cross_query]) if query is not None else cross_query
        similar = replace(similar, terms={**cross_terms, **similar.terms},
                          surface={**dict.fromkeys(cross_terms), **similar.surface})
    candidates, carried = hybrid.fuse(searcher, allowed_docs, exclude_id, title, description, candidates, limit,
                                      of_case)
    meaning = _semantic_similarities(title, description, candidates)
    if meaning:
        candidates = _reorder_by_meaning(candidates, meaning)
    candidates.sort(key=lambda candidate: (-candidate[0], candidate[1]))  # ties by id: same order whatever the segments
    votes = Counter(fields.get("primary_cause") for _, _, fields in candidates[:CAUSE_FEEDBACK_DEPTH])
    votes.pop(None, None)
    voters = sum(votes.values()) or 1
    scored = []
    for text_score, case_id, fields in candidates:
        case_markets = set(_split(fields.get("market")))
        case_causes = set(_split(fields.get("cause")))
        score = (text_score
                 + (W_SECTOR if similar.sector and fields.get("sector") == similar.sector else 0.0)
                 + W_MARKET * _share(similar.markets, case_markets)
                 + W_CAUSE * _share(similar.causes, case_causes)
                 + W_CAUSE_FEEDBACK * votes.get(fields.get("primary_cause"), 0) / voters)
        scored.append((score, case_id, fields.get("primary_cause") if votes.get(fields.get("primary_cause")) else None))
    scored.sort(key=lambda entry: (-entry[0], entry[1]))
    cases = load_visible(viewer, [case_id for _, case_id, _ in scored[:limit]])
    top = [(score, cases[case_id], pattern) for score, case_id, pattern in scored[:limit] if case_id in cases]
    known = {int(hit["id"]): hit.docnum for some in (hits, fed_hits, cross_hits) for hit in some}
    why = _why_for(searcher, query, similar, [case for _, case, _ in top], known)
    return [SearchResult(case=case, score=round(score, 4), why=_with_language(hybrid.mark(_with_meaning(
        dict(why[case.id], nearest_cause=pattern), meaning.get(case.id)), case.id, carried), case.id in crossed))
            for score, case, pattern in top]


def _cross_language_query(searcher, text: str, terms: dict[str, float]):
    """The translated terms of the text (zhigu.search.crosslingual) and their query over the cases of the
    other language, or ({}, None) when none is usable. Words the index has never seen count with the
    weight of the lightest kept term: in an archive of the other language only, they are all unseen."""
    stats = _statistics(searcher)
    limit = crosslingual.CROSS_MAX_TERMS_LARGE if stats.doc_count > LARGE_ARCHIVE else crosslingual.CROSS_MAX_TERMS
    lightest = min(terms.values(), default=1.0)

    def weight(term: str) -> float:
        if term in terms:
            return terms[term]
        return lightest if stats.text_idf(term, TEXT_FIELDS) == 0.0 else 0.0

    cross_terms = crosslingual.translated_terms(searcher, text, weight, usable_idf, limit)
    return cross_terms, crosslingual.build_cross_query(cross_terms, crosslingual.other_language(text))


def _with_language(why: dict, other_language: bool) -> dict:
    if other_language:
        why[crosslingual.WHY_KEY] = True
    return why


def _semantic_similarities(title: str, description: str, candidates) -> dict[int, float]:
    """Sentence-embedding cosines of the candidates when the optional re-ranker is on (else none)."""
    semantic = reranker()
    if semantic is None:
        return {}
    return semantic.similarities(f"{title}\n{description}".strip(),
                                 [(case_id, fields.get("stamp", "")) for _, case_id, fields in candidates])


def _reorder_by_meaning(candidates, meaning: dict[int, float]):
    """Re-order the candidates the model read by (1 - W_SEMANTIC) * text score + W_SEMANTIC * meaning.

    They take over the text scores they held between them, best first, so the candidates the model could
    not read (Chinese cases found through the glossary) keep their places: mixing the scores directly
    pushed every English case above them (bench/crosslang.py R@5 0.20 -> 0.13).
    """
    return _reorder_in_slots(candidates, {case_id: (1 - W_SEMANTIC) * text_score + W_SEMANTIC * meaning[case_id]
                                          for text_score, case_id, _ in candidates if case_id in meaning})


def _reorder_in_slots(candidates, scores: dict[int, float]):
    """Re-order the candidates that have a new score by it, in the places (text scores) they held between
    them; the others keep theirs."""
    chosen = [candidate for candidate in candidates if candidate[1] in scores]
    slots = sorted((text_score for text_score, _, _ in chosen), reverse=True)
    chosen.sort(key=lambda candidate: (-scores[candidate[1]], candidate[1]))
    return ([(slot, case_id, fields) for slot, (_, case_id, fields) in zip(slots, chosen)]
            + [candidate for candidate in candidates if candidate[1] not in scores])


def _dot(a: dict[str, float], b: dict[str, float]) -> float:
    """Dot product of two sparse vectors, walking the shorter (a case's few terms, not a long description's)."""
    if len(a) > len(b):
        a, b = b, a
    return sum(weight * b.get(term, 0.0) for term, weight in a.items())


def _mostly_han(vector: dict[str, float]) -> bool:
    """Whether most of a term vector's weight is on Han terms (a Chinese text)."""
    han = sum(weight for term, weight in vector.items() if is_han(term))
    return han > 0.5 * sum(vector.values())


def _with_meaning(why: dict, similarity: float | None) -> dict:
    if similarity is not None:
        why["meaning"] = round(similarity, 3)
    return why


def _split(value: str | None) -> list[str]:
    return [part for part in (value or "").split(",") if part]


def _share(wanted, found: set[str]) -> float:
    return len(found.intersection(wanted)) / len(wanted) if wanted else 0.0


def _why_for(searcher, query, similar: SimilarQuery, cases: list[FailureCase],
             known: dict[int, int] | None = None) -> dict[int, dict]:
    """Matched terms of the final few results only: collecting terms over every match is slow.

    `known`: document numbers by case id, of cases the searches returned; the others are looked up in the index
    (a query of ids through Whoosh's matchers: a tenth of `zhigu worker`'s CPU under bench/load.py when every
    result was looked up so)."""
    if not cases:
        return {}
    known = known or {}
    docnums = {known[case.id]: case.id for case in cases if case.id in known}
    others = [case.id for case in cases if case.id not in known]
    if others:
        docnums.update({docnum: int(searcher.stored_fields(docnum)["id"]) for docnum in
                        searcher.docs_for_query(Or([Term("id", str(case_id)) for case_id in others]))})
    matched = vectorized.matched_terms(searcher, query, list(docnums))
    if matched is not None:
        hits = {docnums[docnum]: terms for docnum, terms in matched.items()}
    else:
        only = Or([Term("id", str(case.id)) for case in cases])
        hits = {int(hit["id"]): hit.matched_terms()
                for hit in searcher.search(And([only, query]), limit=len(cases), terms=True)}
    stats = _statistics(searcher)
    telling = None if stats.doc_count < WHY_MIN_CASES else \
        (lambda term: stats.text_idf(term, TEXT_FIELDS) >= math.log(1 + 1 / WHY_MAX_SHARE))
    return {case.id: _why(hits[case.id], similar, case, telling) if case.id in hits else
            {"terms": [], "related_terms": [], "sector": None, "target_markets": [], "causes": []} for case in cases}


def _why(matched_terms, similar: SimilarQuery, case: FailureCase, telling=None) -> dict:
    """Name the signals that scored for a case, from the (field, term) pairs it matched: shared terms
    (strongest first; as the description writes them, and a glossary equivalent as the case does, never as its
    stem: one the case does not write in its title or summary is left out), the words of the closest cases it
    shares (feedback_terms, as the case writes them: words, not the character bigrams of Chinese text; none for
    those cases themselves, whose own words they are), sector, markets, causes. `telling(term)` keeps only words
    that say something about the substance (zhigu.search.similar.WHY_MAX_SHARE): "plan" or "money" matched, but
    explain nothing."""
    matched = {(name, text.decode() if isinstance(text, bytes) else text) for name, text in matched_terms}
    texts = {text for name, text in matched if name in SIMILAR_FIELD_WEIGHTS and (telling is None or telling(text))}
    by_weight = sorted(texts, key=lambda term: (-similar.terms.get(term, 0), term))  # ties: same order every run
    related = [term for term in by_weight if term in similar.related and case.id not in similar.nearest]
    written = {term: original for term, original, _, _ in analyse(f"{case.title}\n{case.summary}", bigrams=False)}
    shared = [similar.surface[term] or written[term] for term in by_weight
              if term in similar.surface and (similar.surface[term] or term in written)]
    return {
        "terms": shared[:WHY_MAX_TERMS],
        "related_terms": [written[term] for term in related if term in written][:WHY_MAX_TERMS],
        "sector": similar.sector if ("sector", similar.sector) in matched else None,
        "target_markets": [m for m in similar.markets if ("market", m) in matched],
        "causes": [c for c in similar.causes if ("cause", c) in matched],
    }


def similar_to_case(viewer, case: FailureCase, limit: int = 10) -> list[SearchResult]:
    """Cases similar to a case, found from its title, summary and lessons and its structured fields."""
    return similar_cases(viewer, description=" ".join([case.summary, case.warning_signs, case.lessons]),
                         title=case.title, sector=case.sector, markets=case.target_markets,
                         causes=[c.code for c in case.causes], exclude_id=case.id, limit=limit, of_case=True)
