"""Full-text search over the cases the searcher may open ("find similar" is zhigu.search.similar).

A search goes through the index with an access filter built from the viewer (documents carry who may see
them), then loads the rows from the database in ranked order and checks `can()` once more, so a stale
document can never show a case its viewer may not open. "Find similar" shares these steps.
"""
import fnmatch
import math
import re
from dataclasses import dataclass, field
from functools import cache
from itertools import islice

import numpy as np
from flask import current_app, has_app_context
from sqlalchemy import bindparam, select
from sqlalchemy.orm import selectinload
from whoosh import collectors, highlight
from whoosh.qparser import MultifieldParser
from whoosh.qparser.plugins import FuzzyTermPlugin
from whoosh.query import And, Every, FuzzyTerm, MultiTerm, Not, NullQuery, NumericRange, Or, Phrase, Prefix, \
    Term, TermRange, Wildcard
from whoosh.support.levenshtein import distance

from zhigu.archive.models import CaseCause, CaseStatus, FailureCase
from zhigu.archive.permissions import viewer_tokens
from zhigu.auth.permissions import can
from zhigu.errors import ZhiguError
from zhigu.extensions import db
from zhigu.i18n import N_
from zhigu.search import highlighting, outbox, vectorized
from zhigu.search.analysis import analyse
from zhigu.search.documents import FACETS
from zhigu.search.cpu import own_cpu_time
from zhigu.search.index import current_index
from zhigu.search.statistics import PublicBM25F, term_blocks, value_docs, viewer_statistics

#: Field weights of the search page: title and summary count above the narrative.
SEARCH_FIELD_WEIGHTS = {"title": 3.0, "summary": 2.0, "body": 1.0, "causes_text": 1.0, "comments": 0.5}
SORTS = ("relevance", "newest", "oldest")
#: Facets listed newest value first rather than by count (a list of years read in any other order is a puzzle).
CHRONOLOGICAL_FACETS = {"year"}
#: What one search may cost. Fuzzy words (kettle~), wildcards (sol*, s?lar) and ranges each stand for every
#: index term they match: unbounded, 28 fuzzy words took 59 s of CPU on 360 cases and `*x*` read the whole
#: lexicon of every field. Measured with bench/query_cost.py (worst queries we could build, CPU per request).
MAX_QUERY_CHARS = 1000
#: Distinct words (after analysis: a Chinese text counts its words and character pairs) in one search.
MAX_QUERY_WORDS = 100
#: Fuzzy words, wildcards and ranges in one search, each expanded to at most MAX_EXPANSIONS index terms per
#: field (the closest fuzzy matches; the first in index order for the others, read from at most MAX_SCANNED
#: terms), and MAX_EXPANDED_TERMS over the whole search.
MAX_PATTERNS = 4
#: Words after NOT in one search: Whoosh checks every candidate against each excluded word in turn, so a
#: chain of a hundred NOTs cost 4.8 s of CPU at 100,000 cases (bench/query_cost.py).
MAX_NEGATED_WORDS = 5
MAX_EXPANSIONS = 50
MAX_SCANNED = 5000
MAX_EXPANDED_TERMS = 400
#: Letters a wildcard starts with before its first * or ? (a leading wildcard reads every term of the index).
PATTERN_PREFIX = 2
#: Fuzzy words: at most this many edits, the first FUZZY_PREFIX letters kept, words of FUZZY_MIN_LENGTH letters
#: or more (shorter ones are searched as written).
MAX_FUZZY_DISTANCE = 2
FUZZY_PREFIX = 1
FUZZY_MIN_LENGTH = 4
#: CPU seconds a search with words may spend collecting matches (config SEARCH_CPU_LIMIT overrides it); past
#: it the search is refused with a message rather than holding a worker.
SEARCH_CPU_LIMIT = 0.5
#: Unknown words the spelling corrector looks at in one search.
SPELL_MAX_WORDS = 3


class BadQuery(ZhiguError):
    status_code = 400
    #: Whether the text could not be parsed (the page then shows hints about quotes and brackets).
    syntax = False


class QuerySyntaxError(BadQuery):
    syntax = True


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
    #: The query with misspelled words corrected, when a correction finds cases the viewer may open.
    did_you_mean: str | None = None
    #: The index generation searched, for the rest of the page: a newer one opened mid-request had its statistics
    #: carried over again (3% of the web workers' CPU under bench/load.py's edits).
    searcher: object = field(default=None, repr=False, compare=False)



def visible_statistics(searcher, viewer):
    """Statistics over the documents `viewer` may open, and that set (None for an admin): searches score
    with them, so cases the viewer may not open cannot move the ranking."""
    access = access_filter(viewer)
    allowed = current_index().docset(searcher, access) if access is not None else None
    return viewer_statistics(searcher, allowed, repr(access)), allowed


def access_filter(viewer):
    """Query matching the documents the viewer may open; None for admins, who see all."""
    tokens = viewer_tokens(viewer)
    if tokens is None:
        return None
    return Or([Term("allowed", token) for token in tokens])



def load_visible(viewer, ids: list[int]) -> dict[int, FailureCase]:
    """Load cases by id, keeping only those the viewer may open."""
    if not ids:
        return {}
    return {case.id: case for case in db.session.scalars(_cases_by_id(), {"ids": ids})
            if case.status == CaseStatus.published and can(viewer, "case.view", case)}


@cache
def _cases_by_id():
    """The cases of a list of ids, with their causes: one statement for the process, whose cache key SQLAlchemy
    then works out once (building both for each call was a fifth of loading a page's cases)."""
    return (select(FailureCase).where(FailureCase.id.in_(bindparam("ids", expanding=True)))
            .options(selectinload(FailureCase.case_causes).joinedload(CaseCause.cause)))


# -- search page ----------------------------------------------------------------------------------

def parse_query(text: str, schema):
    """Parse what a user typed (AND of words, with quotes, OR, NOT, field:value and fuzzy~) with `schema`: the
    searcher's, read with its generation. The index's own `schema` reads the newest table of contents from
    disk, which a commit in another process can delete between listing and opening it (a 500 under load)."""
    parser = MultifieldParser(list(SEARCH_FIELD_WEIGHTS), schema=schema, fieldboosts=SEARCH_FIELD_WEIGHTS)
    parser.add_plugin(FuzzyTermPlugin())
    try:
        return parser.parse(text).accept(_phrase_as_words).normalize()
    except Exception as exc:  # the parser raises many kinds of errors on odd syntax
        raise QuerySyntaxError(
            N_("The search could not be understood; try plain words without special characters.")) from exc


def bound_query(query, searcher):
    """Refuse a parsed query past the limits on words and patterns, and expand its fuzzy words, wildcards and
    ranges into at most MAX_EXPANSIONS index terms each (MAX_EXPANDED_TERMS in all), so that what a search
    costs no longer grows with the index's vocabulary.

    `*` and `field:*` become "every document" (Whoosh would read every term of the field to find them).
    """
    words, patterns = set(), set()
    for leaf in query.leaves():
        if isinstance(leaf, (MultiTerm, NumericRange)):
            patterns.add((type(leaf).__name__, str(getattr(leaf, "text", leaf))))
        elif isinstance(leaf, Term):
            words.add(leaf.text)
    if len(words) + len(patterns) > MAX_QUERY_WORDS:
        raise BadQuery(N_("The search has too many words; use at most {limit}.").format(limit=MAX_QUERY_WORDS))
    if len(patterns) > MAX_PATTERNS:
        raise BadQuery(N_("The search has too many fuzzy words, wildcards or ranges; use at most {limit}.")
                       .format(limit=MAX_PATTERNS))
    if _negated_words(query) > MAX_NEGATED_WORDS:
        raise BadQuery(N_("The search excludes too many words; use NOT before at most {limit}.")
                       .format(limit=MAX_NEGATED_WORDS))
    budget = [MAX_EXPANDED_TERMS]

    def bound(node):
        if isinstance(node, Every):
            return Every()
        if isinstance(node, MultiTerm):
            return _expand(node, searcher, budget)
        if node.is_leaf():
            return node
        return node.apply(bound)

    return bound(query).normalize()


def _negated_words(query) -> int:
    """Distinct words and patterns under a NOT (a word searched in several fields counts once)."""
    if isinstance(query, Not):
        return len({getattr(leaf, "text", repr(leaf)) for leaf in query.leaves()})
    return 0 if query.is_leaf() else sum(_negated_words(child) for child in query.children())


def _expand(query, searcher, budget: list[int]):
    """Or of the index terms a fuzzy word, wildcard, prefix or term range stands for, within the bounds."""
    fieldname = query.fieldname
    if fieldname not in searcher.schema:
        return NullQuery
    reader = searcher.reader()
    texts: list[str] = []
    if isinstance(query, FuzzyTerm):
        # the index holds stems: "kettels~" looks around "kettel", one edit from "kettl" (kettle, kettles)
        word = next((term for term, *_ in analyse(query.text)), query.text.lower())
        if len(word) < FUZZY_MIN_LENGTH:
            return Term(fieldname, word, boost=query.boost)
        maxdist, prefix = min(query.maxdist, MAX_FUZZY_DISTANCE), max(query.prefixlength, FUZZY_PREFIX)
        if prefix >= len(word):  # nothing left to vary (and Whoosh's automaton fails on it: an IndexError)
            return Term(fieldname, word, boost=query.boost)
        near = {word}
        for leaf, _ in reader.leaf_readers():  # a segment finds them with an automaton; the whole index can not
            near.update(islice(leaf.terms_within(fieldname, word, maxdist, prefix=prefix), MAX_SCANNED))
        texts = sorted(near, key=lambda t: (distance(t, word), t))  # the closest first, ties alphabetically
    elif isinstance(query, (Prefix, Wildcard)):
        text = query.text.lower()
        start = query._find_prefix(text) if isinstance(query, Wildcard) else text
        if len(start) < PATTERN_PREFIX:
            raise BadQuery(N_("Put at least {count} letters before a wildcard (* or ?), as in sol*.")
                           .format(count=PATTERN_PREFIX))
        pattern = re.compile(fnmatch.translate(text)) if isinstance(query, Wildcard) else None
        field_ = searcher.schema[fieldname]
        for btext in islice(reader.expand_prefix(fieldname, start), MAX_SCANNED):
            term = field_.from_bytes(btext)
            if pattern is None or pattern.match(term):
                texts.append(term)
                if len(texts) >= MAX_EXPANSIONS:
                    break
    elif isinstance(query, TermRange):
        field_ = searcher.schema[fieldname]
        texts = [field_.from_bytes(b) if isinstance(b, bytes) else b
                 for b in islice(query._btexts(reader), MAX_EXPANSIONS)]
    else:  # regular expressions and the like: the parser does not make them
        raise QuerySyntaxError(N_("The search could not be understood; try plain words without special characters."))
    texts = texts[:min(MAX_EXPANSIONS, budget[0])]
    budget[0] -= len(texts)
    if not texts:
        return NullQuery
    return Or([Term(fieldname, text, boost=query.boost) for text in texts])


#: Markdown syntax a snippet should not show: emphasis, headings, quotes, code marks; links keep their text.
#: The lookahead names every character a mark can start with: other positions fail at once instead of trying
#: each alternative (half of the time on narratives).
MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
MARKDOWN_MARKS = re.compile(r"(?m)(?=[\s#>*+\-\d`~_])"
                            r"(?:^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+|\d+\.\s+)"
                            r"|\*{1,3}|`+|~~|(?<!\w)_{1,3}|_{1,3}(?!\w))")


def plain_text(markdown: str) -> str:
    """Markdown without its markup, for snippets."""
    return MARKDOWN_MARKS.sub("", MARKDOWN_LINK.sub(r"\1", markdown or ""))


def _phrase_as_words(query):
    """Match a quoted phrase as all of its words: the index keeps no positions (smaller, faster)."""
    if isinstance(query, Phrase):
        return And([Term(query.fieldname, word, boost=query.boost) for word in query.words])
    return query


def search_cases(viewer, text: str = "", filters: dict[str, list[str]] | None = None, page: int = 1,
                 per_page: int = 20, sort: str = "relevance") -> SearchPage:
    """Search published cases the viewer may open, with facet counts over the same set.

    Scores use the statistics of public documents (zhigu.search.statistics), so hidden cases cannot move them.
    :raise BadQuery: on text that cannot be parsed or is past the limits (bound_query), or a search that
        would cost more than SEARCH_CPU_LIMIT.
    """
    if sort not in SORTS:
        raise BadQuery(N_("Unknown sort {sort}; use one of {sorts}.").format(sort=repr(sort), sorts=", ".join(SORTS)))
    text = (text or "").strip()
    if len(text) > MAX_QUERY_CHARS:
        raise BadQuery(N_("The search is too long; use at most 1000 characters."))
    index = current_index()
    unsettled = outbox.unsettled_case_ids(db.engine, index.directory)  # before the searcher (see there)
    searcher = index.searcher()
    query = bound_query(parse_query(text, searcher.schema), searcher) if text else Every()
    allowed, allowed_mask = _allowed_docs(searcher, viewer, filters)
    sortedby, reverse = None, False
    if sort != "relevance" or not text:
        sortedby, reverse = "published", sort != "oldest"
    page = max(1, page)
    # A ranked search of words lists every match and scores it over posting arrays (zhigu.search.vectorized);
    # Whoosh runs the others.
    keep_all = bool(text) and sortedby is None and not isinstance(query, Every)
    stats, _ = visible_statistics(searcher, viewer)
    weighting = PublicBM25F(stats)  # scores only what the viewer may open can move
    try:
        ranked = vectorized.search(searcher, query, weighting, allowed_mask, _cpu_limit()) if keep_all else None
        if ranked is not None:
            results, matched = _ranked_page(viewer, searcher, ranked, page, per_page)
        else:
            results, matched = _whoosh_page(viewer, searcher, query, weighting, allowed, text, page, per_page,
                                            keep_all, sortedby, reverse)
    except (collectors.TimeLimit, vectorized.TooCostly):
        raise BadQuery(N_("This search would take too long; use fewer or more specific words.")) from None
    facets = {}
    hidden = _hidden_stale(viewer, searcher, matched, unsettled)  # not counted in the total or the facets
    matched = matched - hidden if hidden else matched
    in_matched = np.zeros(searcher.doc_count_all(), dtype=bool)
    in_matched[np.fromiter(matched, dtype=np.int64, count=len(matched))] = True
    for name in FACETS:
        counts = {value: int(np.count_nonzero(in_matched[docs])) for value, docs in _value_docs(searcher, name).items()}
        order = (lambda kv: kv[0]) if name in CHRONOLOGICAL_FACETS else (lambda kv: (-kv[1], kv[0]))
        facets[name] = sorted(((k, v) for k, v in counts.items() if k and v), key=order,
                              reverse=name in CHRONOLOGICAL_FACETS)
    total = len(matched)
    return SearchPage(results=results, total=total, page=page, pages=max(1, math.ceil(total / per_page)),
                      facets=facets, did_you_mean=suggest_spelling(searcher, text, allowed), searcher=searcher)


def _ranked_page(viewer, searcher, ranked: "vectorized.Ranked", page: int,
                 per_page: int) -> tuple[list[SearchResult], set[int]]:
    """The page's results of a search ranked over posting arrays, and every matched document."""
    start = (page - 1) * per_page
    shown = [(int(docnum), float(score)) for docnum, score in
             zip(ranked.docnums[start:start + per_page], ranked.scores[start:start + per_page])]
    ids = {docnum: int(searcher.stored_fields(docnum)["id"]) for docnum, _ in shown}
    cases = load_visible(viewer, list(ids.values()))
    highlighter = _highlighter()
    results = []
    for docnum, score in shown:
        case = cases.get(ids[docnum])
        if case is None:
            continue
        snippet = _snippet(case, lambda name, text: highlighting.highlighted(text, ranked.words(name), highlighter))
        results.append(SearchResult(case=case, score=round(score, 4), snippet=snippet))
    return results, set(ranked.docnums.tolist())


def _whoosh_page(viewer, searcher, query, weighting, allowed, text: str, page: int, per_page: int, keep_all: bool,
                 sortedby, reverse: bool) -> tuple[list[SearchResult], set[int]]:
    """The page's results of a search Whoosh runs (browsing, sorted by date, NOT, ranges, `*`), and every matched
    document."""
    # A ranked search keeps every match in its one pass (Whoosh's top-N collector skips the low-scoring ones,
    # then lists the matches for the total and the facets by running the query again: 28% of a search page's
    # time, and a second pass that made costly searches reach the CPU limit). `*` lists its matches for free.
    collector = searcher.collector(limit=None if keep_all else page * per_page, sortedby=sortedby,
                                   reverse=reverse, terms=bool(text))
    if text:  # browsing (every case, newest first) costs what the archive's size costs, and is not refused
        collector = CpuBudgetCollector(collector, _cpu_limit())
    collector = collectors.FilterCollector(collector, allow=allowed)
    searcher.search_with_collector(query, collector, context=searcher.context(weighting=weighting))
    found = collector.results()
    found.fragmenter, found.formatter = _fragmenter(), _formatter()
    hits = [found[n] for n in range((page - 1) * per_page, min(page * per_page, found.scored_length()))]
    cases = load_visible(viewer, [int(hit["id"]) for hit in hits])
    results = []
    for hit in hits:
        case = cases.get(int(hit["id"]))
        if case is None:
            continue
        snippet = _snippet(case, lambda name, text: hit.highlights(name, text=text, top=2)) if text else ""
        results.append(SearchResult(case=case, score=round(hit.score or 0.0, 4), snippet=snippet))
    # the matched documents, not len(found): Whoosh's count skips the allow filter when it collects terms
    return results, found.docs()


def _snippet(case: FailureCase, highlighted) -> str:
    """The marked fragments of the case's summary, else of its narrative and lessons; `highlighted(field, text)`
    marks the search's words in one field's text."""
    return highlighted("summary", case.summary) or highlighted("body", plain_text(f"{case.narrative}\n{case.lessons}"))


def _fragmenter():
    return SentenceStartFragmenter(maxchars=300, surround=60)


def _formatter():
    return highlight.HtmlFormatter(tagname="mark", classname="hl", termclass="t")


def _highlighter() -> highlight.Highlighter:
    """One per search page (its formatter numbers the words it marks)."""
    return highlight.Highlighter(fragmenter=_fragmenter(), formatter=_formatter())


class SentenceStartFragmenter(highlight.ContextFragmenter):
    """Snippets that start where the sentence of their first matched word starts (highlighting.sentence_start)."""

    def fragment_tokens(self, text, tokens):
        for fragment in super().fragment_tokens(text, tokens):
            yield highlighting.sentence_start(text, fragment)


def _hidden_stale(viewer, searcher, matched, unsettled) -> set[int]:
    """Matched documents not yet re-indexed after a change whose case the viewer may not open now.

    Totals and facets must not count them (a case just made private). Only cases with outbox rows the index
    has not applied yet are looked up in the database: none once the index is up to date.
    """
    stale = _unsettled_docs(searcher, matched, unsettled)
    ids = sorted(set(stale.values()))
    visible = {}
    for start in range(0, len(ids), 1000):
        visible.update(load_visible(viewer, ids[start:start + 1000]))
    return {docnum for docnum, case_id in stale.items() if case_id not in visible}


def _unsettled_docs(searcher, docs, unsettled: set[int] | None) -> dict[int, int]:
    """{document number: case id} of the documents in `docs` whose case is in `unsettled` (all when None). A case's
    documents come from the kept posting arrays of its id: through Whoosh's matchers, a search under load.py's
    edits spent 2.5% of its time here."""
    if unsettled is None:
        return {docnum: int(searcher.stored_fields(docnum)["id"]) for docnum in docs}
    return {docnum: case_id for case_id in unsettled
            for docnum in vectorized.term_documents(searcher, "id", str(case_id)) if docnum in docs}


def _allowed_docs(searcher, viewer, filters: dict[str, list[str]] | None) -> tuple[set[int] | None, np.ndarray | None]:
    """Document numbers the viewer may open that pass the facet filters (None for an admin without filters), and
    the same as booleans by document number (vectorized.search): the viewer's, without filters, kept until the
    index changes."""
    index = current_index()
    access = access_filter(viewer)
    allowed = index.docset(searcher, access) if access is not None else None
    filtered = False
    for name, values in (filters or {}).items():
        if name in FACETS and values:
            docs = set(searcher.docs_for_query(Or([Term(name, value) for value in values])))
            allowed = docs if allowed is None else allowed & docs
            filtered = True
    if allowed is None:
        return None, None
    if filtered:
        mask = vectorized.mask_of(allowed, searcher.doc_count_all())
    else:
        mask = vectorized.kept_mask(searcher, allowed)
    return allowed or {-1}, mask  # an empty set would mean no filter to Whoosh


def _cpu_limit() -> float:
    return float(current_app.config.get("SEARCH_CPU_LIMIT", SEARCH_CPU_LIMIT)) if has_app_context() \
        else SEARCH_CPU_LIMIT


class CpuBudgetCollector(collectors.WrappingCollector):
    """Stop collecting (raise whoosh.collectors.TimeLimit) once the thread has spent `limit` CPU seconds.

    CPU time of this thread, not wall time, less the garbage collector's (zhigu.search.cpu): a busy machine or a
    full collection does not cut ordinary searches short, and the bound holds whatever else runs. Checked every
    CHECK_EVERY matches (a clock read costs about 1 µs).
    """

    CHECK_EVERY = 256

    def __init__(self, child, limit: float):
        super().__init__(child)
        self.deadline = own_cpu_time() + limit

    def matches(self):
        count = 0
        for sub_docnum in self.child.matches():
            count += 1
            if not count % self.CHECK_EVERY and own_cpu_time() > self.deadline:
                raise collectors.TimeLimit()
            yield sub_docnum


def _value_docs(searcher, name: str) -> dict[str, np.ndarray]:
    """Each value of a facet with its documents (an array of document numbers, deleted ones included: they are
    never among the matched), worked out once per index generation from each segment's documents of the value,
    which are kept across generations (statistics.value_docs).

    Whoosh counts a facet while collecting, one call per matched document and facet (an overlapping facet
    also builds every document's value list over the whole index: 805 ms of CPU per search page at 100,000
    cases); counting a value's documents in an array of the matched ones costs a few nanoseconds a document.
    Built from sets of live documents, these arrays were a quarter of the search's CPU under bench/load.py; built
    from every segment's documents of every value, they were the first search's 15 ms after each edit at 10,000
    cases: each segment's arrays are kept with it (statistics.value_docs), and a value only the large segment
    holds keeps its array from generation to generation. Callers must not change the arrays.
    """
    def build():
        parts: dict[str, list[np.ndarray]] = {}
        for reader, offset in searcher.reader().leaf_readers():
            for value, docs in value_docs(reader, name, offset).items():
                parts.setdefault(value, []).append(docs)
        return {value: docs[0] if len(docs) == 1 else np.concatenate(docs) for value, docs in parts.items()}

    return current_index().derived(searcher, ("facet", name), build)


#: Words the spelling corrector looks at: Latin-script words of four letters or more, outside field:syntax.
SPELLABLE = re.compile(r"(?<![\w:])([^\W\d_]{4,})(?![\w:])")


def suggest_spelling(searcher, text: str, allowed: set[int] | None = None) -> str | None:
    """Return `text` with unknown words replaced by the closest known ones, or None if nothing changes.

    Known means held by a case the viewer may open (`allowed`: document numbers, None for admins), for the
    word typed and for its replacement alike, and the replacements are ranked by what those cases hold: a
    word only hidden cases contain is unknown (and corrected like any other), is never suggested, and
    never pushes a visible replacement out. At most SPELL_MAX_WORDS words are looked at.
    """
    changed, looked_at = False, 0

    def fix(match):
        nonlocal changed, looked_at
        word = match.group(1)
        lowered = word.lower()
        if not lowered.isascii() or looked_at >= SPELL_MAX_WORDS or _visible_count(searcher, lowered, allowed, 1):
            return word
        looked_at += 1
        near = set()
        for leaf, _ in searcher.reader().leaf_readers():
            near.update(islice(leaf.terms_within("spell", lowered, 2, prefix=1), MAX_SCANNED))
        ranked = sorted(((distance(lowered, candidate), -_visible_count(searcher, candidate, allowed, 1000), candidate)
                         for candidate in near if candidate != lowered), key=lambda entry: entry)
        for _, count, candidate in ranked:
            if count:
                changed = True
                return candidate
        return word

    corrected = SPELLABLE.sub(fix, text)
    return corrected if changed else None


def _visible_count(searcher, word: str, allowed: set[int] | None, enough: int | None = None) -> int:
    """How many documents the viewer may open (`allowed`; None: all) hold `word` as a spelling word, counting
    up to `enough`."""
    if allowed is None:
        return searcher.doc_frequency("spell", word)
    count = 0
    # segment by segment, a block of postings at a time: Whoosh's postings over the whole index read every
    # segment's list first (7% of a search's CPU, for the two or three words of a query that are all known)
    for reader, offset in searcher.reader().leaf_readers():
        for block in term_blocks(reader, "spell", word):  # deleted documents too: `allowed` holds live ones
            for docnum in block:
                if docnum + offset in allowed:
                    count += 1
                    if enough is not None and count >= enough:
                        return count
    return count
