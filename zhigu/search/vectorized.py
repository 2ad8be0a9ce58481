"""Ranked search over posting arrays: the words of a search or a "find similar" matched and scored a posting list
at a time (numpy), not a document at a time through Whoosh's matchers.

Whoosh scores a search by moving a tree of matchers through the postings one document at a time, a few Python
calls per posting and matcher: 74% of a search's CPU at 10,000 cases, and the search page's p95 was 543 ms at
100,000 (bench/README.md). Here each term's postings are read once per segment as arrays of document numbers and
term frequencies (kept per process, bounded: MAX_CACHED_POSTINGS), and scored as Whoosh's scorers would score
them (PublicBM25F's BM25F and statistics where the field keeps lengths, the posting's weight elsewhere, times the
boosts), then intersected (And), summed (Or) and ranked in arrays.

Only queries of words are evaluated here: And and Or (without a coordination bonus) of Terms. Anything else
(NOT, ranges, `*`) returns None and the caller searches with Whoosh. Same matches, same scores (up to the order of
floating-point additions) and the same order (score, then document number), which tests/search/test_vectorized.py
checks against Whoosh.
"""
import threading
import time
from collections import OrderedDict

import numpy as np
from whoosh import scoring
from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.query import And, Or, Term
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

from zhigu.search.cpu import own_cpu_time
from zhigu.search.index import current_index
from zhigu.search.statistics import known_terms, raw_postings, segment_key

#: Postings (document, frequency) kept decoded per process, across index generations (a segment never changes):
#: 8 bytes each, 32 MB. The least recently used terms go first. A term a segment does not hold is kept too, as
#: one posting: most words of a "find similar" description are in no title or summary, and looking each up
#: again in the segment's term table was 240 look-ups a request of bench/load.py's mix.
MAX_CACHED_POSTINGS = 4_000_000
#: What the cache keeps for a term a segment does not hold.
_ABSENT = (np.zeros(0, dtype=np.int64), np.zeros(0))
#: A field length as Whoosh stores it (one byte, lossy) -> the length Whoosh scores with.
_LENGTHS = np.array([byte_to_length(code) for code in range(256)], dtype=np.float64)

_cache_lock = threading.Lock()
_postings: "OrderedDict[tuple, tuple[np.ndarray, np.ndarray]]" = OrderedDict()
_held = [0]
_field_lengths: dict[tuple, np.ndarray] = {}


class TooCostly(Exception):
    """The search spent its CPU budget."""


def supported(query) -> bool:
    """Whether `query` is made only of And, Or (no coordination bonus) and Terms of text."""
    if isinstance(query, Term):
        return not isinstance(query.text, bytes)
    if isinstance(query, And) or isinstance(query, Or) and not query.scale and not query.minmatch:
        return bool(query.subqueries) and all(supported(sub) for sub in query.subqueries)
    return False


class Ranked:
    """The matches of one search: global document numbers and scores, best first (ties: lower number first),
    and the (field, term) pairs of the query the index holds."""

    def __init__(self, docnums: np.ndarray, scores: np.ndarray, terms: set[tuple[str, str]]):
        order = np.lexsort((docnums, -scores))
        self.docnums = docnums[order]
        self.scores = scores[order]
        self.terms = terms

    def words(self, fieldname: str) -> frozenset[str]:
        return frozenset(text for name, text in self.terms if name == fieldname)


def search(searcher, query, weighting: scoring.BM25F, allowed_mask: np.ndarray | None,
           cpu_limit: float) -> Ranked | None:
    """Match and score `query` (see `supported`; None when it is not) over the live documents `allowed_mask`
    allows (booleans by global document number, as mask_of gives them; None: every live one). Raises TooCostly
    past `cpu_limit` CPU seconds."""
    if not supported(query):
        return None
    # a thread's CPU time grows no faster than the clock: the CPU clock is read only once the wall clock is past
    # the limit (reading it for every term of a query was 8% of the web workers' time under bench/load.py)
    deadline = (time.perf_counter() + cpu_limit, own_cpu_time() + cpu_limit)
    found_docs, found_scores, terms = [], [], set()
    for reader, offset in searcher.reader().leaf_readers():
        matched = _evaluate(query, reader, weighting, 1.0, terms, deadline)
        if matched is None:
            continue
        docs, scores = matched
        if reader.has_deletions():
            live = ~np.isin(docs, np.fromiter(reader.deleted_docs_set, dtype=np.int64))
            docs, scores = docs[live], scores[live]
        docs = docs.astype(np.int64) + offset
        if allowed_mask is not None:
            keep = allowed_mask[docs]
            docs, scores = docs[keep], scores[keep]
        found_docs.append(docs)
        found_scores.append(scores)
    if not found_docs:
        return Ranked(np.zeros(0, dtype=np.int64), np.zeros(0), terms)
    return Ranked(np.concatenate(found_docs), np.concatenate(found_scores), terms)


class Hit:
    """A ranked document, read as a Whoosh hit is: hit.docnum, hit.score, hit["id"], hit.fields()."""

    __slots__ = ("searcher", "docnum", "score", "_fields")

    def __init__(self, searcher, docnum: int, score: float):
        self.searcher, self.docnum, self.score, self._fields = searcher, docnum, score, None

    def fields(self) -> dict:
        if self._fields is None:
            self._fields = self.searcher.stored_fields(self.docnum)
        return self._fields

    def __getitem__(self, name: str):
        return self.fields()[name]


def top_hits(searcher, query, weighting: scoring.BM25F, limit: int, allowed: set[int] | None = None,
             excluded: set[int] = frozenset()) -> list[Hit] | None:
    """The `limit` best documents of `query` (see `search`) not in `excluded`, as Whoosh's TopCollector ranks
    them (score, then document number); None when the query is not one `search` evaluates."""
    ranked = search(searcher, query, weighting, kept_mask(searcher, allowed), float("inf"))
    if ranked is None:
        return None
    hits = []
    for docnum, score in zip(ranked.docnums.tolist(), ranked.scores.tolist()):
        if docnum not in excluded:
            hits.append(Hit(searcher, docnum, score))
            if len(hits) == limit:
                break
    return hits


def matched_terms(searcher, query, docnums: list[int]) -> dict[int, set[tuple[str, str]]] | None:
    """For each of a few live documents that matches `query` (see `supported`; None when it is not), the terms of
    the query it matched, as Whoosh's `Hit.matched_terms()` of a search collecting terms gives them: the terms
    it holds under every And and Or that matches it."""
    if not supported(query):
        return None
    wanted = np.array(sorted(docnums), dtype=np.int64)
    holding: dict[tuple[str, str], set[int]] = {}
    for reader, offset in searcher.reader().leaf_readers():
        local = wanted[(wanted >= offset) & (wanted < offset + reader.doc_count_all())] - offset
        if not len(local):
            continue
        for term in {(leaf.fieldname, leaf.text) for leaf in query.leaves()}:
            postings = _read_postings(reader, *term) if term[0] in reader.schema else None
            if postings is not None:
                present = local[np.isin(local, postings[0], assume_unique=True)]
                holding.setdefault(term, set()).update((present + offset).tolist())
    found = {}
    for docnum in docnums:
        terms = _terms_at(query, docnum, holding)
        if terms is not None:
            found[docnum] = terms
    return found


def _terms_at(query, docnum: int, holding: dict) -> set[tuple[str, str]] | None:
    """The terms a document matched under `query`, or None when it does not match it."""
    if isinstance(query, Term):
        term = (query.fieldname, query.text)
        return {term} if docnum in holding.get(term, ()) else None
    parts = [_terms_at(sub, docnum, holding) for sub in query.subqueries]
    if isinstance(query, And) and any(part is None for part in parts):
        return None
    matched = [part for part in parts if part is not None]
    return set().union(*matched) if matched else None


def term_documents(searcher, fieldname: str, text: str) -> list[int]:
    """Global numbers of the live documents holding a rare term (an id), as Searcher.document_numbers lists them."""
    found = []
    for reader, offset in searcher.reader().leaf_readers():
        postings = _read_postings(reader, fieldname, text) if fieldname in reader.schema else None
        if postings is not None:
            found += [docnum + offset for docnum in postings[0].tolist() if not reader.is_deleted(docnum)]
    return found


def kept_mask(searcher, docs: set[int] | None) -> np.ndarray | None:
    """`docs` as booleans by document number, kept until the index changes: for a set kept as long (the viewer's
    access set, index.docset), not one made per request."""
    if docs is None:
        return None
    count = searcher.doc_count_all()
    kept = current_index().derived(searcher, ("mask", id(docs)), lambda: (docs, mask_of(docs, count)))
    return kept[1] if kept[0] is docs else mask_of(docs, count)


def mask_of(docs: set[int], count: int) -> np.ndarray:
    """Booleans by document number (0 to `count` - 1): whether each is in `docs`."""
    mask = np.zeros(count, dtype=bool)
    numbers = np.fromiter(docs, dtype=np.int64, count=len(docs))
    mask[numbers[(numbers >= 0) & (numbers < count)]] = True
    return mask


def _evaluate(query, reader, weighting, boost: float, terms: set, deadline: tuple[float, float]):
    """(local document numbers, sorted; their scores) of a query in one segment, or None where nothing matches;
    TooCostly once past the (wall clock, thread CPU clock) `deadline`."""
    boost *= query.boost
    if isinstance(query, Term):
        if time.perf_counter() > deadline[0] and own_cpu_time() > deadline[1]:
            raise TooCostly()
        return _term(query.fieldname, query.text, reader, weighting, boost, terms)
    parts = [_evaluate(sub, reader, weighting, boost, terms, deadline) for sub in query.subqueries]
    if isinstance(query, And):
        if any(part is None for part in parts):
            return None
        docs, scores = parts[0]
        for other_docs, other_scores in parts[1:]:
            docs, mine, theirs = np.intersect1d(docs, other_docs, assume_unique=True, return_indices=True)
            scores = scores[mine] + other_scores[theirs]
            if not len(docs):
                return None
        return docs, scores
    parts = [part for part in parts if part is not None]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    docs, at = np.unique(np.concatenate([docs for docs, _ in parts]), return_inverse=True)
    return docs, np.bincount(at, weights=np.concatenate([scores for _, scores in parts]), minlength=len(docs))


def _term(fieldname: str, text: str, reader, weighting, boost: float, terms: set):
    """Scores of a term's documents in one segment, as Whoosh's scorers compute them (BM25F in a field that keeps
    lengths, else the posting's weight), times `boost`."""
    field = reader.schema[fieldname] if fieldname in reader.schema else None
    if field is None:
        return None
    postings = _read_postings(reader, fieldname, text)
    if postings is None:
        return None
    docs, frequencies = postings
    terms.add((fieldname, text))
    if not field.scorable:
        return docs, frequencies * boost
    stats = weighting.stats
    idf = stats.idf(fieldname, text)
    average = stats.avg_field_length(fieldname) or 1
    b = weighting._field_B.get(fieldname, weighting.B)
    k1 = weighting.K1
    lengths = _LENGTHS[_length_codes(reader, fieldname)[docs]]
    scores = idf * ((frequencies * (k1 + 1)) / (frequencies + k1 * ((1 - b) + b * lengths / average)))
    return docs, scores * boost if boost != 1.0 else scores


def _read_postings(reader, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray] | None:
    """A segment's postings of a term (deleted documents included) as sorted document numbers and frequencies."""
    key = (*segment_key(reader), fieldname, text)
    with _cache_lock:
        found = _postings.get(key)
        if found is not None:
            _postings.move_to_end(key)
            return None if found is _ABSENT else found
    terms = known_terms(reader, fieldname)
    if terms is not None and text not in terms:  # a new small segment's, read by the statistics
        _keep(key, _ABSENT)
        return None
    try:
        matcher = raw_postings(reader, fieldname, text)
    except TermNotFound:
        _keep(key, _ABSENT)
        return None
    docs, frequencies = [], []
    if hasattr(matcher, "_read_data") and hasattr(matcher, "_next_block") and not matcher._byteids:
        while matcher.is_active():  # Whoosh 3 block postings, a block at a time (its deltas summed in C)
            matcher._read_data()
            deltas, weights = matcher._data[0], matcher._data[1]
            docs.append(np.cumsum(np.asarray(deltas), dtype=np.int64))
            count = len(docs[-1])
            frequencies.append(np.ones(count) if weights is None else np.full(count, float(weights))
                               if isinstance(weights, float) else np.asarray(weights, dtype=np.float64))
            matcher._next_block()
    else:  # inlined postings (a rare term's, a few documents) and others
        ids, weights = [], []
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            matcher.next()
        docs.append(np.array(ids, dtype=np.int64))
        frequencies.append(np.array(weights, dtype=np.float64))
    found = np.concatenate(docs), np.concatenate(frequencies)
    if not len(found[0]):
        _keep(key, _ABSENT)
        return None
    _keep(key, found)
    return found


def _keep(key: tuple, postings: tuple[np.ndarray, np.ndarray]) -> None:
    """Keep a term's postings in a segment (or _ABSENT), the least recently used let go past the budget."""
    with _cache_lock:
        if key not in _postings:
            _postings[key] = postings
            _held[0] += max(1, len(postings[0]))
            while _held[0] > MAX_CACHED_POSTINGS and len(_postings) > 1:
                _, (old, _) = _postings.popitem(last=False)
                _held[0] -= max(1, len(old))


def _length_codes(reader, fieldname: str) -> np.ndarray:
    """Each document's length byte of a field in one segment (Whoosh's lengths column), read whole once."""
    key = (*segment_key(reader), fieldname)
    codes = _field_lengths.get(key)
    if codes is None:
        count = reader.doc_count_all()
        codes = np.ones(count, dtype=np.uint8)  # Whoosh's default length (1) where a segment keeps none
        perdoc = getattr(reader, "_perdoc", None)
        column = perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN) if perdoc is not None else None
        if column is not None:
            stored = np.frombuffer(column._dbfile.get(column._basepos, column._count), dtype=np.uint8)
            codes = np.zeros(count, dtype=np.uint8)
            codes[:len(stored)] = stored[:count]
        with _cache_lock:
            if len(_field_lengths) > 4096:
                _field_lengths.clear()
            _field_lengths[key] = codes
    return codes

