"""Ranking statistics of the public share of the archive, so that hidden cases cannot move anyone's scores.

A score depends on the whole collection: how many documents hold a word (its idf), how many there are and
how long their fields are on average. Counted over every indexed document, a word that only a hidden case
holds would make the same public result score differently (0.855 against 0.894 in "find similar"), and a
visitor could read hidden words off the scores. So search and "find similar" score with statistics of the
*public*, live (not deleted) documents only: the same for every viewer, and computed from what everyone may
read. An admin's or a member's hidden cases are still found and ranked, by those same public figures.

A word's public document frequency is counted per index segment: its postings intersected with the segment's
public documents, read block by block (Whoosh's posting blocks are arrays, so the intersection runs in C),
then its deleted public documents taken off. Segments never change, so these counts are kept per process
across commits (a new searcher only counts the new segments); merged-away segments are forgotten. A segment's
deletions only grow, so the counts over its deleted documents are carried from one generation to the next
(_SegmentCounts.deleted_frequency). Every edit makes a generation with a new, small segment and a newly deleted
document, and "find similar" asks about ~3,000 (field, term) pairs: a small segment counts each field's terms
all at once (WHOLE_FIELD_MAX_DOCS), and a large one keeps which public documents hold each term it counted
(MAX_HELD_POSTINGS), so that a new generation costs each process dictionary look-ups and bisections, not a
look-up in Whoosh's term index per term and segment. A new generation's statistics also start from the
previous generation's (PublicStatistics.carry): the large segments' counts less what the newly deleted
documents held, and the text idfs and "find similar" vectors whose terms' counts did not move.
"""
import math
import threading
import weakref
from array import array
from bisect import bisect_left
from collections import Counter

import numpy as np
from whoosh import scoring
from whoosh.reading import TermNotFound

#: The visibility token public documents carry (zhigu.archive.permissions.visibility_tokens).
PUBLIC_TOKEN = "public"

#: Public statistics per segment, shared by the threads of a process. A segment never changes once written
#: (only which of its documents are deleted), so its counts stay valid across index generations: after a
#: commit only the new, small segments are counted. Keyed by (index directory, segment id).
_SEGMENTS: dict[tuple, "_SegmentCounts"] = {}
_SEGMENTS_LOCK = threading.Lock()
#: Cached counts per segment before they are dropped and counted afresh (bounds the memory a vocabulary takes).
MAX_CACHED_TERMS = 500_000
#: Pairs of generations whose difference in deleted documents a segment keeps (_SegmentCounts._deleted_since).
MAX_CACHED_GENERATIONS = 64
#: Newly deleted documents whose terms are read from their term vectors (where the field keeps them); past it,
#: from the term's postings.
MAX_VECTOR_READS = 64
#: Counting which of a set of documents hold a term: the term's postings are intersected with the set (in C,
#: block by block) when they hold fewer than this many times as many documents as the set; else the postings
#: skip to each document of the set (a Python step each). Skipping always, a park member's 1,000 visible
#: park cases took 70% of every "find similar" of theirs at 10,000 cases (a trends page: 8 s of CPU).
INTERSECT_RATIO = 40
#: Up to this many documents the postings are skipped through whatever the term (a few steps at most), without
#: looking its document frequency up: most often the one document an edit deleted.
SKIP_ALWAYS = 16

_STATISTICS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
#: The public statistics assembled last, per index directory: the next generation's start from them. Held here
#: (one per directory), since their searcher may be gone by the time the next generation's are assembled.
_LATEST: dict = {}
_CARRY_LOCK = threading.Lock()
#: Facet arrays (value_docs) a segment keeps, by facet and offset, before they are dropped and built afresh.
MAX_VALUE_DOCS = 64
#: A segment's forward index (which held terms each document holds) is built again once the terms it holds
#: grew by this share; the terms held since are looked up one by one meanwhile.
FORWARD_REBUILD_GROWTH = 0.25
#: Terms the warm-up (warm) counts ahead of requests: those held by at least this many documents of a segment.
#: Counting a term reads its postings, so these are the costly ones (a "find similar" of 200 common words
#: counted its way through 6.5 s of CPU on a cold process at 100,000 cases); a rarer term takes a few blocks
#: of postings per field when first asked for.
WARM_MIN_DF = 256
#: A new segment of at least this many documents has the warm-up (zhigu.search.warmup) count it ahead.
REWARM_MIN_DOCS = 2_000
#: A segment of up to this many documents counts the public document frequency of all the terms of a field at
#: once, when first asked about one (by reading its term index in order: no hashed look-up per term), so every
#: later question, a term it does not hold included, is a dictionary look-up. Each edit makes such a segment,
#: and counting the terms one by one in it was a quarter of a web process's CPU under bench/load.py.
WHOLE_FIELD_MAX_DOCS = 256
#: Once a generation's statistics were asked this many terms of a field, the small segments' counts of every term
#: of that field are added up into one dictionary (PublicStatistics._merge_small), so each later term is one
#: look-up instead of one per small segment. Every edit adds a small segment: "find similar" weighs ~5,000 terms
#: of its candidates in each field, and walking them through every segment was most of its CPU right after an
#: edit (bench/churn.py).
MERGE_SMALL_AFTER = 64
#: Per large segment, at most this many (term, public document) pairs are kept (4 bytes each: 96 MB) so that
#: whether a newly deleted document held a term is a bisection; past it, the term's postings are looked up again
#: in each generation (for the fields without term vectors), and the large segments' counts are not carried from
#: one generation to the next. A 1,000-case segment holds ~210,000 pairs in all its text fields, so this holds
#: every pair of a segment of up to ~110,000 cases. With a sixth of it, the 100,000-case archive of
#: bench/load.py (two 50,000-case segments) served 22 requests/s at 8 clients instead of 42, "find similar" cost
#: 200-500 ms instead of 40 after each edit, for 70-300 MB less in each process (bench/README.md); with a
#: twenty-fourth of it, an optimised 10,000-case index served 10-11 requests/s instead of 15.6.
MAX_HELD_POSTINGS = 24_000_000
#: Filter terms (facet values, visibility tokens: one per user, park and group asked about) whose documents a
#: segment keeps (term_docs) before it drops them all.
MAX_TERM_DOCS = 10_000


def public_statistics(searcher) -> "PublicStatistics":
    """The public statistics of this searcher's index, assembled once per searcher (per index generation),
    starting from those of the generation assembled last (PublicStatistics.carry)."""
    stats = _STATISTICS.get(searcher)
    if stats is None:
        stats = PublicStatistics(searcher)
        if stats.folder is not None:
            with _CARRY_LOCK:  # one after another, so each generation of a lineage follows the one before
                stats.carry(_LATEST.get(stats.folder))
                _LATEST[stats.folder] = stats
        stats = _STATISTICS.setdefault(searcher, stats)
    return stats


def warm(searcher, fieldnames) -> int:
    """Count the public document frequency of every term of `fieldnames` held by WARM_MIN_DF or more
    documents, in every segment that holds it, ahead of the requests that would otherwise pay for it; return
    how many (term, segment) counts were made. What this process counted before costs a dictionary look-up."""
    counted = 0
    leaves = [(reader, _segment_counts(reader)) for reader, _ in searcher.reader().leaf_readers()]
    whole = searcher.reader()
    for fieldname in fieldnames:
        if fieldname not in whole.schema:
            continue
        from_bytes = whole.schema[fieldname].from_bytes
        frequent = [from_bytes(btext) for btext, info in whole.iter_field(fieldname)
                    if info.doc_frequency() >= WARM_MIN_DF]
        counted += _count_unknown(leaves, fieldname, frequent)
    return counted


def warm_vocabulary(searcher, vector_fields, fieldnames) -> int:
    """Count the public document frequency of every term of `vector_fields` in each of `fieldnames`, in every
    segment, ahead of the requests; return how many (term, segment) counts were made.

    "find similar" weighs each candidate's title and summary terms by their largest frequency over the text fields
    (text_idf): rare ones too, which `warm` leaves out. Counted on first use, they were a tenth of a gunicorn
    worker's CPU in bench/load.py's first minute (6,649 terms: 0.9 s of CPU at 10,000 cases, 1.5 s at 100,000)."""
    whole = searcher.reader()
    leaves = [(reader, _segment_counts(reader)) for reader, _ in whole.leaf_readers()]
    terms = sorted({text for name in vector_fields if name in whole.schema for text in whole.field_terms(name)})
    return sum(_count_unknown(leaves, fieldname, terms) for fieldname in fieldnames if fieldname in whole.schema)


def _count_unknown(leaves, fieldname: str, terms) -> int:
    """Count each of `terms` in `fieldname` in every (segment reader, its counts) of `leaves` that does not know
    it yet; return how many counts were made."""
    counted = 0
    for text in terms:
        for reader, counts in leaves:
            if not counts.knows(fieldname, text):
                counts.doc_frequency(reader, fieldname, text)
                counted += 1
    return counted


def warm_term_docs(searcher, fieldnames) -> int:
    """Read each segment's documents of every term of `fieldnames` (the facets) and of the public token ahead of
    the requests (term_docs); return how many (term, segment) reads were made. At 100,000 cases a process's
    first search page read them for 3.3 s of CPU (zlib-compressed postings of every facet value)."""
    whole = searcher.reader()
    wanted = [("allowed", PUBLIC_TOKEN)] + [(fieldname, whole.schema[fieldname].from_bytes(btext))
                                            for fieldname in fieldnames if fieldname in whole.schema
                                            for btext in whole.lexicon(fieldname)]
    read = 0
    for reader, _ in whole.leaf_readers():
        counts = _segment_counts(reader)
        for fieldname, text in wanted:
            if (fieldname, text) not in counts.term_docs:
                term_docs(reader, fieldname, text)
                read += 1
    return read


def term_blocks(reader, fieldname: str, text: str):
    """Yield a segment's postings of a term as arrays of document numbers, deleted documents included (a set
    update per block runs in C; a matcher's next() per document does not)."""
    try:
        matcher = raw_postings(reader, fieldname, text)
    except TermNotFound:
        return
    yield from posting_blocks(matcher)


def known_terms(reader, fieldname: str) -> frozenset | None:
    """Every term of a segment's field (deleted documents' included) where it has been read (a small segment's,
    when a generation's statistics carried over it), else None: a term not among them needs no look-up."""
    counts = _SEGMENTS.get(segment_key(reader))
    return counts._vocabulary.get(fieldname) if counts is not None else None


def raw_postings(reader, fieldname: str, text: str):
    """A segment's postings of a term, deleted documents included; TermNotFound when it holds none.

    From the segment's terms reader, in one look-up of the term: SegmentReader.postings looks it up, then
    wraps the postings in a filter of the deleted documents that reads ahead to the first live one."""
    terms = getattr(reader, "_terms", None)
    if terms is None or fieldname not in reader.schema:
        matcher = reader.postings(fieldname, text)
        return getattr(matcher, "child", matcher) if type(matcher).__name__ == "FilterMatcher" else matcher
    return terms.matcher(fieldname, reader._text_to_bytes(fieldname, text), reader.schema[fieldname].format)


def posting_blocks(matcher):
    """Yield the document numbers of a posting list block by block (arrays), or all at once for other matchers."""
    if hasattr(matcher, "_next_block") and hasattr(matcher, "_read_ids"):  # Whoosh 3 codec block postings
        while matcher.is_active():
            if matcher._ids is None:
                matcher._read_ids()
            yield matcher._ids
            matcher._next_block()
    else:
        yield list(matcher.all_ids())


def _holding(reader, docs: list[int], members: frozenset[int], fieldname: str, text: str) -> int:
    """How many of a segment's documents `docs` (sorted; `members` is the same as a set) hold a term."""
    try:
        matcher = raw_postings(reader, fieldname, text)
    except TermNotFound:
        return 0
    if len(docs) > SKIP_ALWAYS and reader.doc_frequency(fieldname, text) < INTERSECT_RATIO * len(docs):
        return sum(len(members.intersection(block)) for block in posting_blocks(matcher))
    holding = 0
    for docnum in docs:
        if not matcher.is_active():
            break
        if matcher.id() < docnum:
            matcher.skip_to(docnum)
        if matcher.is_active() and matcher.id() == docnum:
            holding += 1
    return holding


class _SegmentCounts:
    """Counts over the public documents of one segment, its deleted documents included, and over its deleted
    public documents.

    Each edit makes a generation in which the old document of the case is deleted from its segment, and the
    statistics of a new generation take every term they are asked for off those deleted documents again:
    counted afresh each time, that was a third of a web process's CPU under bench/load.py. Deletions in a
    segment only grow, so a term's count over the deleted documents of an earlier generation is carried over
    and only the documents deleted since are looked at: through their term vectors where the field keeps them
    (one read a document, whatever the terms), else the term's postings.
    """

    def __init__(self, reader):
        public = set()
        for block in term_blocks(reader, "allowed", PUBLIC_TOKEN):
            public.update(block)
        self.public = frozenset(public)
        self.df: dict[tuple[str, str], int] = {}
        self.lengths: dict[str, int] = {}
        #: The deleted public documents last seen (so that every generation with the same ones shares the set)
        #: and, per term, the set its count over deleted documents was made for, and that count.
        self.deleted = frozenset()
        self.deleted_df: dict[tuple[str, str], tuple[frozenset, int]] = {}
        #: (deleted documents of an earlier generation, of a later one) -> those deleted in between.
        self.since: dict[tuple[frozenset, frozenset], frozenset | None] = {}
        #: Terms of a deleted document's field, read from its term vector: (docnum, fieldname) -> terms.
        self.vector_terms: dict[tuple[int, str], frozenset] = {}
        #: Fields whose every term is in `df` (a small segment's): a term missing there is held by no public document.
        self.whole_fields: set[str] = set()
        #: Those fields' counts by term, and by term over the live public documents for the last deleted set asked.
        self.field_df: dict[str, dict[str, int]] = {}
        self.live_field_df: dict[str, tuple[frozenset, dict[str, int]]] = {}
        self.small = reader.doc_count_all() <= WHOLE_FIELD_MAX_DOCS
        #: A large segment's public documents holding each term it counted (sorted), and how many that is in all;
        #: whether every term it counted with a public document is held; how often the counts were dropped.
        self.held: dict[tuple[str, str], array] = {}
        self.held_postings = 0
        self.all_held = True
        self.clears = 0
        self._forward: _ForwardIndex | None = None
        self._vocabulary: dict[str, frozenset] = {}
        #: Documents (deleted ones included) holding each filter term asked of this segment (term_docs), and
        #: each facet's values' documents as global numbers, by facet and the segment's offset (value_docs).
        self.term_docs: dict[tuple[str, str], array] = {}
        self.value_docs: dict[tuple[str, int], dict] = {}

    def same_deleted(self, gone: frozenset) -> frozenset:
        """`gone`, or the equal set seen last (counts made for it are then found by identity)."""
        if gone != self.deleted:
            self.deleted = gone
        return self.deleted

    def deleted_frequency(self, reader, gone: frozenset, fieldname: str, text: str) -> int:
        """How many of the deleted public documents `gone` hold a term."""
        key = (fieldname, text)
        known = self.deleted_df.get(key)
        if known is not None and known[0] is gone:
            return known[1]
        newly = self._deleted_since(known[0], gone) if known is not None else None
        if newly is not None:  # a later generation: only the newly deleted to look at
            count = known[1] + self._holding(reader, newly, fieldname, text)
        else:  # first asked, or an older searcher's generation
            count = self._holding(reader, gone, fieldname, text)
        if len(self.deleted_df) >= MAX_CACHED_TERMS:
            self.deleted_df.clear()
        self.deleted_df[key] = (gone, count)
        return count

    def _deleted_since(self, earlier: frozenset, gone: frozenset) -> frozenset | None:
        """The documents of `gone` not in `earlier`; None if `earlier` holds others (an older generation's searcher
        asking after a newer one's). Worked out once per pair of generations, not once per term: as deletions
        pile up between merges, comparing the sets for each term cost more than the rest of its count."""
        key = (earlier, gone)
        newly = self.since.get(key, False)
        if newly is False:
            if len(self.since) >= MAX_CACHED_GENERATIONS:
                self.since.clear()
            newly = self.since[key] = gone - earlier if earlier <= gone else None
        return newly

    def _holding(self, reader, docs: frozenset, fieldname: str, text: str) -> int:
        if not docs:
            return 0
        held = self.held.get((fieldname, text))
        if held is not None:  # a bisection a document (a Python step each) or one pass over the array (in C)
            if len(docs) * 32 < len(held):
                return sum(_contains(held, docnum) for docnum in docs)
            return len(docs.intersection(held))
        field = reader.schema[fieldname] if fieldname in reader.schema else None
        if field is not None and field.vector and len(docs) <= MAX_VECTOR_READS:
            terms = [self._vector_terms(reader, docnum, fieldname) for docnum in docs]
            if None not in terms:
                text = text.decode() if isinstance(text, bytes) else text
                return sum(text in held for held in terms)
        return _holding(reader, sorted(docs), docs, fieldname, text)

    def _vector_terms(self, reader, docnum: int, fieldname: str) -> frozenset | None:
        """The terms of a document's field from its term vector; None when it has none."""
        key = (docnum, fieldname)
        terms = self.vector_terms.get(key)
        if terms is None:
            if not reader.has_vector(docnum, fieldname):
                return None
            terms = self.vector_terms[key] = frozenset(
                term.decode() if isinstance(term, bytes) else term
                for term, _ in reader.vector_as("weight", docnum, fieldname))
        return terms

    def knows(self, fieldname: str, text: str) -> bool:
        """Whether a term's count is known without reading the segment."""
        return (fieldname, text) in self.df or fieldname in self.whole_fields

    def doc_frequency(self, reader, fieldname: str, text: str) -> int:
        """How many of the segment's public documents (deleted ones included) hold a term."""
        key = (fieldname, text)
        count = self.df.get(key)
        if count is None:
            if fieldname in self.whole_fields or (self.small and self._count_whole_field(reader, fieldname)):
                return self.df.get(key, 0)
            if len(self.df) >= MAX_CACHED_TERMS:
                self.whole_fields.clear()  # (first: another thread must not take a term missing for a 0)
                self.field_df.clear()
                self.live_field_df.clear()
                self.df.clear()
                self.held.clear()
                self.held_postings = 0
                self.all_held = True
                self.clears += 1
            count = self.df[key] = self._count(reader, fieldname, text)
        return count

    def _count(self, reader, fieldname: str, text: str) -> int:
        """Count a term's public documents, and keep which they are while MAX_HELD_POSTINGS allows; count
        those of the latest deleted documents too, as deleted_frequency would next."""
        if not self.public:
            return 0
        gone = self.deleted
        holding = [self.public.intersection(block) for block in term_blocks(reader, fieldname, text)]
        count = sum(len(docs) for docs in holding)
        if count and gone:
            self.deleted_df[(fieldname, text)] = (gone, sum(len(gone.intersection(docs)) for docs in holding))
        if count and not self.small:
            if self.held_postings + count <= MAX_HELD_POSTINGS:
                self.held[(fieldname, text)] = array("I", [docnum for docs in holding for docnum in sorted(docs)])
                self.held_postings += count
            else:
                self.all_held = False
        return count

    def vocabulary(self, reader, fieldnames, read: bool = True) -> set | None:
        """The terms of the segment in these fields (kept per field: a small segment's few); None where not kept
        and not to be `read`. An earlier generation's reader must not be read: its files may have been replaced
        since (a rebuild of a damaged index), and reading a mapped file that shrank kills the process (SIGBUS)."""
        terms = set()
        for fieldname in fieldnames:
            known = self._vocabulary.get(fieldname)
            if known is None:
                if not read:
                    return None
                known = self._vocabulary[fieldname] = frozenset(
                    btext.decode("utf-8", "replace") for btext in reader.lexicon(fieldname))
            terms |= known
        return terms

    def keys_holding(self, docs: frozenset) -> Counter:
        """How many of `docs` each held (field, term) of this large segment is held by: the terms whose counts
        deleting those documents changes, looked up in a forward index instead of in each term's postings."""
        keys = list(self.held)  # in the order they were held (dictionaries keep it; only clears remove)
        forward = self._forward
        if forward is None or forward.clears != self.clears or \
                len(keys) > forward.size * (1 + FORWARD_REBUILD_GROWTH):
            forward = self._forward = _ForwardIndex(keys, self.held, self.clears)
        found = Counter()
        for docnum in docs:
            found.update(forward.keys_of(docnum))
        for key in keys[forward.size:]:
            docnums = self.held[key]
            holding = sum(_contains(docnums, docnum) for docnum in docs)
            if holding:
                found[key] += holding
        return found

    def _count_whole_field(self, reader, fieldname: str) -> bool:
        """Count every term of a field at once, through the segment's term index in order; False where the
        segment is not read through a Whoosh 3 terms reader."""
        terms = getattr(reader, "_terms", None)
        if not hasattr(terms, "items_from") or fieldname not in reader.schema:
            return False
        counted = self._field_counts(reader, fieldname, self.public)
        for text, count in counted.items():
            self.df[(fieldname, text)] = count
        self.field_df[fieldname] = counted
        self.whole_fields.add(fieldname)
        return True

    def _field_counts(self, reader, fieldname: str, members: frozenset) -> dict[str, int]:
        """How many of `members` hold each term of a field (terms none holds left out), through the segment's
        term index in order."""
        terms, field, counted = reader._terms, reader.schema[fieldname], {}
        everyone = len(members) == reader.doc_count_all()
        if members and fieldname in terms.indexed_field_names():
            for (name, btext), info in terms.items_from(fieldname, b""):
                if name != fieldname:
                    break
                if everyone:
                    count = info.doc_frequency()
                else:
                    postings = terms._codec.postings_reader(terms._postfile, info, field.format)
                    count = sum(len(members.intersection(block)) for block in posting_blocks(postings))
                if count:
                    counted[field.from_bytes(btext)] = count
        return counted

    def live_field_counts(self, reader, fieldname: str, gone: frozenset) -> dict[str, int] | None:
        """A small segment's counts of every term of a field over its live public documents (`gone`: its deleted
        public ones); None where it cannot count a field whole. Callers must not change the dictionary."""
        if fieldname not in self.whole_fields and not self._count_whole_field(reader, fieldname):
            return None
        counted = self.field_df.get(fieldname)
        if counted is None:  # cleared by another thread meanwhile
            return None
        if not gone:
            return counted
        known = self.live_field_df.get(fieldname)
        if known is None or known[0] is not gone:
            known = self.live_field_df[fieldname] = (gone, self._field_counts(reader, fieldname, self.public - gone))
        return known[1]

    def field_length(self, reader, fieldname: str) -> int:
        total = self.lengths.get(fieldname)
        if total is None:
            if len(self.public) * 2 <= reader.doc_count_all():
                total = sum((reader.doc_field_length(docnum, fieldname, 0) or 0) for docnum in self.public)
            else:  # fewer documents to read on the other side
                others = set(range(reader.doc_count_all())) - self.public
                total = reader.field_length(fieldname) - sum((reader.doc_field_length(docnum, fieldname, 0) or 0)
                                                             for docnum in others)
            self.lengths[fieldname] = total
        return total


class _ForwardIndex:
    """The held terms of a large segment by document: its held postings sorted by document number (numpy)."""

    def __init__(self, keys: list, held: dict, clears: int):
        postings = [np.frombuffer(held[key], dtype=np.uint32) for key in keys]
        docs = np.concatenate(postings) if postings else np.empty(0, dtype=np.uint32)
        owners = np.repeat(np.arange(len(keys), dtype=np.int32), [len(docnums) for docnums in postings])
        order = np.argsort(docs, kind="stable")
        self.docs, self.owners = docs[order], owners[order]
        self.keys, self.size, self.clears = keys, len(keys), clears

    def keys_of(self, docnum: int) -> list:
        # looked for in the array's own type: given Python ints, numpy converted the whole array to int64 first
        # (1 ms at 10,000 cases, for every newly deleted document in every process: a tenth of carry's CPU)
        start, end = self.docs.searchsorted(np.array([docnum, docnum + 1], dtype=self.docs.dtype))
        return [self.keys[at] for at in self.owners[start:end].tolist()]


def term_docs(reader, fieldname: str, text: str) -> array:
    """A segment's documents (deleted ones included, in order) holding a term of a filter query (a facet's
    value, a visibility token): read once per segment and process, as the counts are, so that a new index
    generation reads the postings of its new segments only. Rebuilding the facets' document sets from every
    segment's postings took each process 0.5 s of CPU after every change at 100,000 cases (bench/README.md)."""
    counts = _segment_counts(reader)
    key = (fieldname, text)
    docs = counts.term_docs.get(key)
    if docs is None:
        found = set()
        for block in term_blocks(reader, fieldname, text):
            found.update(block)
        if len(counts.term_docs) >= MAX_TERM_DOCS:
            counts.term_docs.clear()
        docs = counts.term_docs[key] = array("I", sorted(found))
    return docs


def value_docs(reader, fieldname: str, offset: int) -> dict[str, np.ndarray]:
    """Each value of a field (a facet) the segment holds, with its documents (deleted ones included) as global
    document numbers of a searcher that places the segment at `offset`: kept with the segment's counts."""
    counts = _segment_counts(reader)
    key = (fieldname, offset)
    found = counts.value_docs.get(key)
    if found is None:
        values = (value.decode() if isinstance(value, bytes) else value for value in reader.lexicon(fieldname))
        found = {value: np.frombuffer(term_docs(reader, fieldname, value), dtype=np.uint32).astype(np.int64) + offset
                 for value in values}
        if len(counts.value_docs) >= MAX_VALUE_DOCS:
            counts.value_docs.clear()
        counts.value_docs[key] = found
    return found


def _contains(docs: array, docnum: int) -> bool:
    """Whether a sorted array holds a document number."""
    at = bisect_left(docs, docnum)
    return at < len(docs) and docs[at] == docnum


def index_folder(reader):
    """The index directory of a segment reader: a compound segment reads through an overlay of its own file
    on the directory (keyed by the overlay, every new searcher and every thread counted afresh)."""
    storage = reader.storage()
    return getattr(storage, "folder", None) or getattr(getattr(storage, "b", None), "folder", None) or id(storage)


def segment_key(reader) -> tuple:
    """(index directory, segment id): what a segment's counts and arrays are kept under, across searchers.
    Kept on the reader: posting arrays look it up for every term of a search (2% of a request's CPU)."""
    key = getattr(reader, "_zhigu_segment_key", None)
    if key is None:
        segment = reader.segment()
        key = reader._zhigu_segment_key = index_folder(reader), segment.segment_id() if segment else id(reader)
    return key


def _segment_counts(reader) -> "_SegmentCounts":
    key = segment_key(reader)
    counts = _SEGMENTS.get(key)
    if counts is None:
        counts = _SegmentCounts(reader)
        with _SEGMENTS_LOCK:
            counts = _SEGMENTS.setdefault(key, counts)
        if reader.doc_count_all() >= REWARM_MIN_DOCS:  # a merge's (or a rebuild's) segment: count it ahead
            from zhigu.search import warmup  # noqa: PLC0415 (warmup imports this module)
            warmup.again()
    return counts


def _live_frequency(leaves, fieldname: str, text: str) -> int:
    """How many public, live documents of these segments hold a term."""
    count = 0
    for reader, counts, deleted, gone in leaves:
        held = counts.doc_frequency(reader, fieldname, text)
        if held and deleted:  # (a term no public document holds is held by no deleted one)
            held -= counts.deleted_frequency(reader, gone, fieldname, text)
        count += held
    return count


def _forget_other_segments(folder, current: set) -> None:
    """Drop the counts of this index's segments that merges have since removed."""
    with _SEGMENTS_LOCK:
        for key in [key for key in _SEGMENTS if key[0] == folder and key not in current]:
            del _SEGMENTS[key]


class Lineage:
    """Generations of one index whose text idfs were carried each into the next (PublicStatistics.carry), with
    the same large segments in the same places: what callers work out from a text idf of one of them still
    holds in a later one if none of the terms it read changed weight in between (`unchanged_since`)."""

    def __init__(self):
        self.epoch = 0
        #: The latest generation (epoch) in which each term's text idf changed.
        self.changed_at: dict[str, int] = {}
        #: Callers' values (zhigu.search.similar's vectors of the large segments' documents), with their epochs.
        self.derived: dict = {}
        self._lock = threading.Lock()

    def advance(self, changed: set) -> int:
        """The next generation's epoch, in which the text idfs of `changed` changed."""
        with self._lock:
            self.epoch += 1
            for term in changed:
                self.changed_at[term] = self.epoch
            return self.epoch

    def unchanged_since(self, epoch: int, terms, now: int) -> bool:
        """Whether none of `terms` changed weight after generation `epoch`, up to generation `now` (a later
        change, seen from an older generation, counts as a change too)."""
        changed_at = self.changed_at
        return epoch <= now and all(changed_at.get(term, 0) <= epoch for term in terms)


class PublicStatistics:
    """Document count, document frequencies and average field lengths over public, live documents.

    Counts over the large segments are kept apart from the small segments' (which every edit adds to), so that
    the next generation can carry them (`carry`)."""

    def __init__(self, searcher):
        #: The searcher's reader, not the searcher: these statistics are kept in weak dictionaries keyed by the
        #: searcher (_STATISTICS, _VIEWERS), whose entries would never go if their values held on to it: every
        #: generation's statistics and segment readers stayed in memory, and in every full pass of the collector.
        self.reader = searcher.reader()
        self._searcher = weakref.ref(searcher)
        self.leaves = []
        self.folder = None
        keys = set()
        for reader, _ in searcher.reader().leaf_readers():
            counts = _segment_counts(reader)
            key = segment_key(reader)
            self.folder = key[0]
            keys.add(key)
            deleted = sorted(counts.public & reader.deleted_docs_set) if reader.has_deletions() else []
            self.leaves.append((reader, counts, deleted, counts.same_deleted(frozenset(deleted))))
        if self.folder is not None:
            _forget_other_segments(self.folder, keys)
        #: Public, live documents in the index.
        self.doc_count = sum(len(counts.public) - len(deleted) for _, counts, deleted, _ in self.leaves)
        self._df: dict[tuple[str, str], int] = {}
        self._large = [leaf for leaf in self.leaves if not leaf[1].small]
        self._small = [leaf for leaf in self.leaves if leaf[1].small]
        #: Per (field, term): the count over the large segments' public, live documents.
        self._large_df: dict[tuple[str, str], int] = {}
        self._large_at = [(segment_key(reader), offset, counts.clears) for (reader, offset), (_, counts, _, _)
                          in zip(searcher.reader().leaf_readers(), self.leaves) if not counts.small]
        #: Per field: terms asked of the small segments one by one, then (MERGE_SMALL_AFTER) their counts added up.
        self._small_asked: Counter = Counter()
        self._small_df: dict[str, dict[str, int] | None] = {}
        self._live: set[int] | None = None
        self._lengths: dict[str, float] = {}
        self._text_idfs: dict[tuple[str, tuple[str, ...]], float] = {}
        #: The field tuples `_text_idfs` holds idfs over (one or two): walking the idfs to list them cost each
        #: generation's carry 10 ms once the warm-up had weighed the candidates' ~20,000 terms.
        self._idf_fields: set[tuple[str, ...]] = set()
        #: What callers work out from these statistics (zhigu.search.similar's vectors), kept with them.
        self.derived: dict = {}
        #: The generations whose text idfs were carried one into the next (see Lineage), this one's place in it,
        #: and the global document numbers of its large segments (the same documents all along a lineage).
        self.lineage = Lineage()
        self.epoch = 0
        self._large_ranges = [(offset, offset + reader.doc_count_all())
                              for (reader, _, _, _), (_, offset, _) in zip(self._large, self._large_at)]

    def counts_for(self, searcher) -> bool:
        """Whether these are `searcher`'s statistics (that generation's documents)."""
        return self._searcher() is searcher

    def carry(self, earlier: "PublicStatistics | None") -> None:
        """Start from an earlier generation's statistics where they still hold: every edit makes a generation
        (a small segment, a deleted document), and counting afresh the ~5,000 terms of each field "find
        similar" weighs was half of its CPU right after an edit (bench/load.py).

        The large segments' counts carry over when they are the same segments (only more deleted documents):
        the newly deleted documents' terms come out of each segment's forward index of held terms. The text
        idfs carry over when the public document count is the same, except for those of the terms that those
        documents and every small segment added, removed or with new deletions hold and whose counts moved.
        What is carried is exactly what counting afresh gives.
        """
        if earlier is None or earlier.folder != self.folder or \
                [(key, clears) for key, _, clears in earlier._large_at] != \
                [(key, clears) for key, _, clears in self._large_at]:
            return
        newly = []
        for (_, counts, _, gone), (_, _, _, before) in zip(self._large, earlier._large):
            if gone is before or gone == before:
                continue
            if not before <= gone or not counts.all_held:
                return
            newly.append((counts, gone - before))
        large_df = dict(earlier._large_df)
        changed = set()
        for counts, docs in newly:
            for key, holding in counts.keys_holding(docs).items():
                if key in large_df:
                    large_df[key] -= holding
                changed.add(key[1].decode() if isinstance(key[1], bytes) else key[1])
        self._large_df = large_df
        if self.doc_count != earlier.doc_count:
            return
        before = {segment_key(reader): gone for reader, _, _, gone in earlier._small}
        now = {segment_key(reader): gone for reader, _, _, gone in self._small}
        fieldnames = {name for names in earlier._idf_fields for name in names}
        # this generation's new small segments are read now, so that their terms are known once merged away
        for leaves, others, current in ((self._small, before, True), (earlier._small, now, False)):
            for reader, counts, _, gone in leaves:
                if others.get(segment_key(reader)) != gone:
                    vocabulary = counts.vocabulary(reader, fieldnames, read=current)
                    if vocabulary is None:
                        return
                    changed.update(vocabulary)
        changed = self._reweighed(earlier, changed)
        carried = dict(earlier._text_idfs)
        carried.update(self._text_idfs)  # those _reweighed weighed afresh
        self._text_idfs = carried
        self._idf_fields |= earlier._idf_fields
        if self._large_ranges == earlier._large_ranges:
            self.lineage = earlier.lineage
            self.epoch = self.lineage.advance(changed)

    def _reweighed(self, earlier: "PublicStatistics", touched: set) -> set:
        """Of the terms the changed documents hold, those whose text idf differs from `earlier`'s (weighed
        afresh here): an edit deletes a case's document and adds it again, mostly with the same words, whose
        weights then stay as they were."""
        changed = set()
        fieldnames = earlier._idf_fields
        for fieldname in {name for names in fieldnames for name in names} - self._small_df.keys():
            if self._small:  # hundreds of terms to weigh: add the small segments' counts up at once
                self._small_df[fieldname] = self._merge_small(fieldname)
        for text in touched:
            for names in fieldnames:
                before = earlier._text_idfs.get((text, names))
                if before is not None and before != self.text_idf(text, names):
                    changed.add(text)
        return changed

    def in_large_segment(self, docnum: int) -> bool:
        """Whether a document is one of the large segments' (which name the same documents along a lineage)."""
        return any(start <= docnum < end for start, end in self._large_ranges)

    def live_documents(self) -> set[int]:
        """The public, live documents (global document numbers), worked out once per generation."""
        if self._live is None:
            live = set()
            for (reader, counts, deleted, _), (_, offset) in zip(self.leaves, self.reader.leaf_readers()):
                live.update(offset + docnum for docnum in counts.public)
                live.difference_update(offset + docnum for docnum in deleted)
            self._live = live
        return self._live

    def doc_frequency(self, fieldname: str, text: str) -> int:
        """How many public, live documents hold `text` in `fieldname`."""
        key = (fieldname, text)
        count = self._df.get(key)
        if count is None:
            count = self._df[key] = self._large_frequency(key) + self._small_frequency(fieldname, text)
        return count

    def _large_frequency(self, key: tuple[str, str]) -> int:
        count = self._large_df.get(key)
        if count is None:
            count = self._large_df[key] = _live_frequency(self._large, *key)
        return count

    def _small_frequency(self, fieldname: str, text: str) -> int:
        if not self._small:
            return 0
        merged = self._small_df.get(fieldname)
        if merged is None and fieldname not in self._small_df:
            self._small_asked[fieldname] += 1
            if self._small_asked[fieldname] >= MERGE_SMALL_AFTER:
                merged = self._small_df[fieldname] = self._merge_small(fieldname)
        if merged is not None:
            return merged.get(text, 0)
        return _live_frequency(self._small, fieldname, text)

    def _merge_small(self, fieldname: str) -> dict[str, int] | None:
        """Every term's count over the live public documents of the small segments, added up; None where one
        of them cannot count the field whole (then the segments are asked one by one)."""
        merged: dict[str, int] = {}
        for reader, counts, _, gone in self._small:
            counted = counts.live_field_counts(reader, fieldname, gone)
            if counted is None:
                return None
            if not merged:
                merged = dict(counted)
                continue
            for text, count in counted.items():
                merged[text] = merged.get(text, 0) + count
        return merged

    def idf(self, fieldname: str, text: str) -> float:
        """Whoosh's idf (as Searcher.idf), over the public documents."""
        return math.log(max(self.doc_count, 1) / (self.doc_frequency(fieldname, text) + 1)) + 1

    def text_idf(self, term: str, fieldnames: tuple[str, ...]) -> float:
        """log(1 + N / df) of a term, df being its largest public document frequency over `fieldnames`; 0 if
        no public document holds it (the measure of SearchIndex.idf, over the public documents).

        Kept per statistics object (one index generation): "find similar" weighs every term of a hundred
        candidates' vectors with it, 15% of its CPU at 10,000 cases before it was kept."""
        key = (term, fieldnames)
        idf = self._text_idfs.get(key)
        if idf is None:
            df = max(self.doc_frequency(name, term) for name in fieldnames)
            idf = self._text_idfs[key] = math.log(1 + max(self.doc_count, 1) / df) if df else 0.0
            self._idf_fields.add(fieldnames)
        return idf

    def avg_field_length(self, fieldname: str) -> float:
        """Mean length of the field over the public, live documents."""
        mean = self._lengths.get(fieldname)
        if mean is None:
            total = 0
            for reader, counts, deleted, _ in self.leaves:
                total += counts.field_length(reader, fieldname) - sum(
                    (reader.doc_field_length(docnum, fieldname, 0) or 0) for docnum in deleted)
            mean = self._lengths[fieldname] = total / self.doc_count if self.doc_count else 0.0
        return mean


class ViewerStatistics:
    """The public statistics plus the viewer's other visible documents (`extra`: global document numbers of
    live documents): what a member, a park manager or an author may open, and nothing else."""

    def __init__(self, public: PublicStatistics, extra: set[int]):
        self.public = public
        self.derived: dict = {}
        self.leaves = []
        for reader, offset in public.reader.leaf_readers():
            local = sorted(docnum - offset for docnum in extra if offset <= docnum < offset + reader.doc_count_all())
            if local:
                self.leaves.append((reader, local, frozenset(local)))
        self.doc_count = public.doc_count + len(extra)
        self._df: dict[tuple[str, str], int] = {}
        self._lengths: dict[str, float] = {}
        self._text_idfs: dict[tuple[str, tuple[str, ...]], float] = {}
        self._idf_fields: set[tuple[str, ...]] = set()  # as PublicStatistics's (text_idf adds to it)

    def counts_for(self, searcher) -> bool:
        return self.public.counts_for(searcher)

    def doc_frequency(self, fieldname: str, text: str) -> int:
        key = (fieldname, text)
        count = self._df.get(key)
        if count is None:
            count = self.public.doc_frequency(fieldname, text) + sum(
                _holding(reader, local, members, fieldname, text) for reader, local, members in self.leaves if key in reader)
            self._df[key] = count
        return count

    idf = PublicStatistics.idf
    text_idf = PublicStatistics.text_idf

    def avg_field_length(self, fieldname: str) -> float:
        mean = self._lengths.get(fieldname)
        if mean is None:
            total = self.public.avg_field_length(fieldname) * self.public.doc_count + sum(
                (reader.doc_field_length(docnum, fieldname, 0) or 0) for reader, local, _ in self.leaves for docnum in local)
            mean = self._lengths[fieldname] = total / self.doc_count if self.doc_count else 0.0
        return mean


class IndexStatistics:
    """Statistics of the whole index (Whoosh's own), for a viewer who may open every document.

    Kept per searcher as the viewers' statistics are, with each document frequency asked kept too: an admin's
    trends page asks one "find similar" per new case, each weighing a hundred candidates' terms, and Whoosh
    looks each up in every segment again (30 of them: 4.3-6.8 s at 10,000 cases after an edit, bench/README.md).
    The searcher is held weakly, as PublicStatistics holds it: the statistics are kept in a dictionary keyed by it.
    """

    def __init__(self, searcher):
        self._searcher = weakref.ref(searcher)
        self.derived: dict = {}
        self.doc_count = searcher.doc_count()
        self._df: dict[tuple[str, str], int] = {}
        self._text_idfs: dict[tuple[str, tuple[str, ...]], float] = {}
        self._idf_fields: set[tuple[str, ...]] = set()  # as PublicStatistics's (text_idf adds to it)

    def counts_for(self, searcher) -> bool:
        return self._searcher() is searcher

    def doc_frequency(self, fieldname: str, text: str) -> int:
        key = (fieldname, text)
        count = self._df.get(key)
        if count is None:
            count = self._df[key] = self._searcher().doc_frequency(fieldname, text)
        return count

    def idf(self, fieldname: str, text: str) -> float:
        return self._searcher().idf(fieldname, text)

    text_idf = PublicStatistics.text_idf

    def avg_field_length(self, fieldname: str) -> float:
        return self._searcher().avg_field_length(fieldname)


#: Statistics per searcher and viewer (by the key of their access filter), a few viewers per searcher.
_VIEWERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
MAX_VIEWERS = 32


def viewer_statistics(searcher, allowed: set[int] | None, key: str):
    """Statistics over what a viewer may open: `allowed` (global document numbers, live and published; None
    for a viewer who may open everything), `key` naming that set (the access filter's repr).

    A visitor gets the public statistics; others add their own visible documents to them, so scores move
    with what the viewer may open and never with anything else.
    """
    if allowed is not None:
        public = public_statistics(searcher)
        if len(allowed) == public.doc_count:  # every viewer may open the public documents: these are all they may
            return public
    viewers = _VIEWERS.setdefault(searcher, {})
    stats = viewers.get(key)
    if stats is None:
        if allowed is None:
            stats = IndexStatistics(searcher)
        else:
            extra = allowed - public.live_documents()
            stats = public if not extra else ViewerStatistics(public, extra)
        if len(viewers) >= MAX_VIEWERS:
            viewers.clear()
        viewers[key] = stats
    return stats


class PublicBM25F(scoring.BM25F):
    """BM25F (Whoosh's defaults) whose idf and average field lengths come from the given statistics."""

    use_final = False

    def __init__(self, stats, **kwargs):
        super().__init__(**kwargs)
        self.stats = stats

    def scorer(self, searcher, fieldname, text, qf=1):
        scorer = super().scorer(searcher, fieldname, text, qf=qf)
        if isinstance(scorer, scoring.BM25FScorer):
            scorer.idf = self.stats.idf(fieldname, text.decode() if isinstance(text, bytes) else text)
            scorer.avgfl = self.stats.avg_field_length(fieldname) or 1
            scorer.setup(searcher, fieldname, text)  # again: its best possible score is computed from them
        return scorer
