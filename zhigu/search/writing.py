"""A Whoosh segment writer that spends less CPU per posting: the same segment files, written faster.

Whoosh's SegmentWriter puts every posting in its PostingPool as a (field, term, document, weight, value) tuple,
sorts them all, pickles them one by one to temporary run files past 128 MB (estimated) and merges those runs
back with a heap; then, writing the segment, it reads each posting's field length from the per-document file
one posting at a time. Profiled on bench/speed.py's cases those steps were about a third of the CPU of
indexing a case. Here postings are gathered per term instead, in the order documents are added, which is
their document number order (new documents, then those of the segments a commit merges), so only the
distinct terms are sorted; a term's postings are one flat list (document, weight, value, document, ...: no
tuple per posting, about a third of the memory, so runs are spilled to disk a third as often: once in a
10,000-case rebuild); a run spilled to disk holds whole posting lists, pickled in chunks; and the field
lengths are read once per field. The files written are the same as Whoosh's (figures in bench/README.md).
"""
import pickle
from heapq import merge
from itertools import chain, groupby
from operator import itemgetter

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.reading import SegmentReader
from whoosh.system import pack_uint
from whoosh.util import random_name
from whoosh.util.numeric import byte_to_length
from whoosh.writing import SegmentWriter

from zhigu.search.analysis import TermCounts

#: Estimated bytes a posting (three slots of a flat list, its share of the list's spare room and of its
#: document number) and a new term (dict entries, a list) hold in memory: what the pool counts against the
#: writer's `limitmb`.
POSTING_BYTES = 40
TERM_BYTES = 200
#: Distinct (field, value) postings of keyword and id fields a writer keeps (IndexWriter._index_items).
KEPT_VALUES = 10_000
#: Posting lists pickled together in a spilled run: big enough that pickling costs little per posting.
RUN_CHUNK_POSTINGS = 50_000
#: Segments of a size tier (1-9 documents, 10-99, 100-999...: powers of MERGE_FAN_IN) that a commit merges
#: into one once there are this many of them (merge_tiers).
MERGE_FAN_IN = 10
#: Segments of this many documents or more are never merged by a commit (a rebuild or an optimize does): an
#: import drained in batches of 20,000 would otherwise merge ten of them, 200,000 documents, inside one commit.
MERGE_MAX_DOCS = 10_000


class TermPostings:
    """What Whoosh's PostingPool does for a SegmentWriter, keeping each term's postings together.

    `add` takes Whoosh's (fieldname, term bytes, docnum, weight, value bytes) items; `iter_postings` gives them
    back sorted by field, term and document number, as the segment's field writer needs them.
    """

    def __init__(self, tempstore, limitmb: float = 128):
        self.tempstore = tempstore
        self.limit = limitmb * 2**20
        self.size = 0
        #: {fieldname: {term bytes: [docnum, weight, value bytes, docnum, ...]}}, documents in increasing order
        self.fields: dict[str, dict[bytes, list]] = {}
        self.runs: list[str] = []
        # weights and values repeat (term frequencies): one object each, not one per posting
        self._weights: dict = {}
        self._values: dict = {}

    def add(self, item) -> None:
        fieldname, term, docnum, weight, value = item
        terms = self.fields.get(fieldname)
        if terms is None:
            terms = self.fields[fieldname] = {}
        postings = terms.get(term)
        if postings is None:
            postings = terms[term] = []
            self.size += TERM_BYTES + len(term)
        if value is None:
            value = b""
        postings += (docnum, self._weights.setdefault(weight, weight), self._values.setdefault(value, value))
        self.size += POSTING_BYTES
        if self.size > self.limit:
            self.save()

    def add_field(self, fieldname: str, docnum: int, items, boost: float) -> int:
        """`add` for every posting of one document's field at once (Whoosh's (term bytes, frequency, weight,
        value bytes) items, weights times `boost`); return the sum of the frequencies (the field's length).

        One call per field instead of one per posting: adding a document costs ~12% less CPU (bench/README.md).
        """
        terms = self.fields.get(fieldname)
        if terms is None:
            terms = self.fields[fieldname] = {}
        weights, values = self._weights, self._values
        length = postings_added = new_term_bytes = 0
        for term, frequency, weight, value in items:
            weight *= boost
            if value is None:
                value = b""
            posting = (docnum, weights.setdefault(weight, weight), values.setdefault(value, value))
            postings = terms.get(term)
            if postings is None:
                terms[term] = list(posting)
                new_term_bytes += TERM_BYTES + len(term)
            else:
                postings += posting
            length += frequency
            postings_added += 1
        self.size += new_term_bytes + POSTING_BYTES * postings_added
        if self.size > self.limit:
            self.save()
        return length

    def add_counts(self, fieldname: str, docnum: int, counts: dict[str, int], format_boost: float,
                   boost: float) -> int:
        """`add_field` for a TermCounts field, from its analyzer's {term: count}: what Whoosh's field.index
        would give (term as UTF-8, weight count * format_boost, value pack_uint(count)) without a tuple and a
        generator step per posting in between. Returns the field's length."""
        terms = self.fields.get(fieldname)
        if terms is None:
            terms = self.fields[fieldname] = {}
        weights, values = self._weights, self._values
        length = new_term_bytes = 0
        for term, count in counts.items():
            weight = count * format_boost * boost  # as add_field: (count * format_boost) * boost
            value = values.get(count)
            if value is None:
                value = values[count] = pack_uint(count)
            posting = (docnum, weights.setdefault(weight, weight), value)
            key = term.encode("utf-8")
            postings = terms.get(key)
            if postings is None:
                terms[key] = list(posting)
                new_term_bytes += TERM_BYTES + len(key)
            else:
                postings += posting
            length += count
        self.size += new_term_bytes + POSTING_BYTES * len(counts)
        if self.size > self.limit:
            self.save()
        return length

    def add_list(self, fieldname: str, term: bytes, postings: list) -> None:
        """Append flat (document, weight, value, ...) postings of a term, documents in increasing order and after
        any the pool holds for it (those of a segment a commit merges)."""
        terms = self.fields.get(fieldname)
        if terms is None:
            terms = self.fields[fieldname] = {}
        held = terms.get(term)
        if held is None:
            terms[term] = postings
            self.size += TERM_BYTES + len(term)
        else:
            held += postings
        self.size += POSTING_BYTES * (len(postings) // 3)
        if self.size > self.limit:
            self.save()

    def _sorted_lists(self):
        """(fieldname, term, postings) of what is in memory, in field and term order."""
        for fieldname in sorted(self.fields):
            terms = self.fields[fieldname]
            for term in sorted(terms):
                yield fieldname, term, terms[term]

    def save(self) -> None:
        """Spill what is in memory to a run file (field and term order) and start again."""
        if not self.fields:
            return
        name = f"{random_name()}.postings"  # the writers of a parallel rebuild share the temporary directory
        with self.tempstore.create_file(name).raw_file() as run:
            chunk, size = [], 0
            for entry in self._sorted_lists():
                chunk.append(entry)
                size += len(entry[2]) // 3
                if size >= RUN_CHUNK_POSTINGS:
                    pickle.dump(chunk, run, pickle.HIGHEST_PROTOCOL)
                    chunk, size = [], 0
            if chunk:
                pickle.dump(chunk, run, pickle.HIGHEST_PROTOCOL)
        self.runs.append(name)
        self.fields, self.size, self._weights, self._values = {}, 0, {}, {}

    def _read_run(self, number: int, name: str):
        with self.tempstore.open_file(name).raw_file() as run:
            while True:
                try:
                    chunk = pickle.load(run)
                except EOFError:
                    break
                for fieldname, term, postings in chunk:
                    yield fieldname, term, number, postings
        self.tempstore.delete_file(name)

    def iter_lists(self):
        """(fieldname, term, postings) in field and term order, each term's flat postings in document order."""
        if not self.runs:
            yield from self._sorted_lists()
            return
        # a term's lists come in run order, and the runs in the order their documents were added; what is
        # still in memory came last, and is merged from there rather than spilled and read back
        streams = [self._read_run(number, name) for number, name in enumerate(self.runs)]
        last = len(self.runs)
        streams.append((fieldname, term, last, postings) for fieldname, term, postings in self._sorted_lists())
        for (fieldname, term), parts in groupby(merge(*streams), key=itemgetter(0, 1)):
            parts = [postings for _, _, _, postings in parts]
            yield fieldname, term, parts[0] if len(parts) == 1 else list(chain.from_iterable(parts))

    def iter_postings(self):
        """Whoosh's interface: (fieldname, term, docnum, weight, value) in order."""
        for fieldname, term, postings in self.iter_lists():
            triples = iter(postings)
            for docnum, weight, value in zip(triples, triples, triples):
                yield fieldname, term, docnum, weight, value

    def cleanup(self) -> None:
        """Delete the runs left on disk (those read to the end are gone already)."""
        for name in self.runs:
            try:
                self.tempstore.delete_file(name)
            except OSError:
                pass
        self.runs, self.fields = [], {}


class FieldLengths:
    """Each document's length of each scored field, read from the new segment once per field."""

    def __init__(self, reader):
        self.reader = reader
        self.tables: dict[str, list] = {}

    def table(self, fieldname: str) -> list:
        table = self.tables.get(fieldname)
        if table is None:
            column = self.reader._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            # as the codec's doc_field_length: None for a stored 0, 0 without a column (the same to add_posting)
            table = self.tables[fieldname] = [byte_to_length(b) if b else None for b in column] \
                if column is not None else []
        return table

    def close(self) -> None:
        self.reader.close()


class IndexWriter(SegmentWriter):
    """Whoosh's SegmentWriter with TermPostings as its pool and the segment's postings written term by term.

    `schema` replaces the index's own, for a writer that replaces every segment (a rebuild): Whoosh keeps
    the schema an index was created with, so a change to a field's analysis would otherwise never arrive.
    """

    def __init__(self, ix, schema=None, **kwargs):
        super().__init__(ix, **kwargs)
        if schema is not None:
            self.schema = schema
        self.pool = TermPostings(self._tempstorage, kwargs.get("limitmb", 128))
        self._separate_spelling = any(field.separate_spelling() for _, field in self.schema.items())
        self._kept_items: dict[tuple[str, str], list] = {}

    def add_document(self, **fields):
        """Whoosh's SegmentWriter.add_document, giving the pool each field's postings in one call (add_field).

        A schema with a field that keeps a separate spelling word list (none of the app's) goes through Whoosh's.
        """
        if self._separate_spelling:
            return super().add_document(**fields)
        self._check_state()
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        docboost = self._doc_boost(fields)
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)
        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields.get(fieldname)
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                counts = _term_counts(field, value)
                if field.indexed:
                    fieldboost = self._field_boost(fields, fieldname, docboost)
                    if counts is not None:
                        frequencies = self.pool.add_counts(fieldname, docnum, counts, field.format.field_boost,
                                                           fieldboost)
                    else:
                        frequencies = self.pool.add_field(fieldname, docnum, self._index_items(field, fieldname, value),
                                                          fieldboost)
                    if field.scorable:
                        length = frequencies
                if field.vector:
                    if counts is not None and field.vector is field.format:
                        boost = field.format.field_boost
                        vitems = sorted((text, count * boost, pack_uint(count)) for text, count in counts.items())
                    else:
                        vitems = sorted((text, weight, vbytes) for text, _, weight, vbytes in
                                        field.vector.word_values(value, field.analyzer, mode="index"))
                    perdocwriter.add_vector_items(fieldname, field, vitems)
                stored = fields.get(f"_stored_{fieldname}", value)
                perdocwriter.add_field(fieldname, field, stored if field.stored else None, length)
                if field.column_type and stored is not None:
                    perdocwriter.add_column_value(fieldname, field.column_type, field.to_column_value(stored))
        except Exception:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    def _index_items(self, field, fieldname: str, value):
        """What `field.index(value)` gives, kept per (field, value) for a text value of a field that is not
        unique: keyword and id fields repeat their values ("public", a cause's code) from document to document,
        and Whoosh's tokenizers cost more than looking them up (at most KEPT_VALUES, then emptied)."""
        if field.unique or not isinstance(value, str):
            return field.index(value)
        key = (fieldname, value)
        items = self._kept_items.get(key)
        if items is None:
            if len(self._kept_items) >= KEPT_VALUES:
                self._kept_items.clear()
            items = self._kept_items[key] = list(field.index(value))
        return items

    def add_postings_to_pool(self, reader, startdoc, docmap):
        """Whoosh's, for a segment a commit merges, a posting list at a time instead of a posting at a time.

        Whoosh reads every posting through its matcher (a few method calls each) and adds it to the pool as a
        tuple: merging a hundred documents' segments took an edit's commit 0.5 s of CPU. Here each term's
        postings are read a block at a time and appended to its list. The segment written is the same
        (tests/search/test_writing.py). `docmap`: old to new document numbers when the segment has deletions
        (deleted documents have none), else the documents are numbered on from `startdoc`.
        """
        terms = getattr(reader, "_terms", None)
        if not hasattr(terms, "items_from") or not hasattr(reader, "is_deleted"):
            return super().add_postings_to_pool(reader, startdoc, docmap)
        for fieldname in sorted(reader.indexed_field_names()):
            if fieldname not in self.schema:
                continue
            field_format = reader.schema[fieldname].format
            for (name, btext), info in terms.items_from(fieldname, b""):
                if name != fieldname:
                    break
                matcher = terms._codec.postings_reader(terms._postfile, info, field_format)
                postings = _merged_postings(_posting_blocks(matcher), startdoc, docmap)
                if postings:
                    self.pool.add_list(fieldname, btext, postings)

    def _flush_segment(self):
        self.perdocwriter.close()
        lengths = FieldLengths(self.per_document_reader()) if self.codec.length_stats else None
        writer = self.fieldwriter
        try:
            for fieldname, lists in groupby(self.pool.iter_lists(), key=itemgetter(0)):
                table = lengths.table(fieldname) if lengths else []
                writer.start_field(fieldname, self.schema[fieldname])
                for _, term, postings in lists:
                    writer.start_term(term)
                    add_postings(writer._postwriter, postings, table)
                    writer.finish_term()
                writer.finish_field()
            writer.close()
        finally:
            if lengths:
                lengths.close()


def _merged_postings(blocks, startdoc: int, docmap: dict | None) -> list:
    """Flat (new document, weight, value, ...) postings of a term of a merged segment, from its (ids, weights,
    values) blocks, its deleted documents left out: what Whoosh's iter_postings and _process_posts give one tuple
    at a time (weights 1.0 and values b"" where the postings keep none)."""
    flat = []
    for ids, weights, values in blocks:
        count = len(ids)
        weights = weights if weights else [1.0] * count
        values = [value if value is not None else b"" for value in values] if values else [b""] * count
        if docmap is None:
            block = [None] * (3 * count)
            block[0::3] = [startdoc + docnum for docnum in ids]
            block[1::3] = weights
            block[2::3] = values
            flat += block
        else:
            for docnum, weight, value in zip(ids, weights, values):
                new = docmap.get(docnum)
                if new is not None:
                    flat += (new, weight, value)
    return flat


def _posting_blocks(matcher):
    """(ids, weights, values) of a posting list a block at a time (Whoosh 3's block postings), or all at once
    (postings inlined in the term's info)."""
    if hasattr(matcher, "_next_block") and hasattr(matcher, "_read_values"):
        while matcher.is_active():
            matcher._read_ids()
            matcher._read_weights()
            matcher._read_values()
            yield matcher._ids, matcher._weights, matcher._values
            matcher._next_block()
    else:
        yield list(matcher._ids), matcher._weights, matcher._values


def _term_counts(field, value) -> dict[str, int] | None:
    """{term: count} of a text value of a field whose TermCounts format counts it through its analyzer (the
    app's text fields), else None (Whoosh's own field.index then)."""
    if isinstance(field.format, TermCounts) and isinstance(value, str) and hasattr(field.analyzer, "term_counts"):
        return field.analyzer.term_counts(value)
    return None


def add_postings(postwriter, postings: list, lengths: list) -> None:
    """Add a term's postings to the whoosh3 codec's postings writer a block at a time.

    What W3PostingsWriter.add_posting does one posting at a time (a block is written when full and another
    posting comes; block statistics: the largest weight, the smallest and largest non-zero length), with list
    operations over a block: the segment's files are the same byte for byte (tests/search/test_writing.py).
    `postings`: flat (document, weight, value, ...) as TermPostings keeps them; `lengths`: each document's
    length in the term's field (none past its end).
    """
    known = len(lengths)
    limit = postwriter._blocklimit
    start, count = 0, len(postings) // 3
    while start < count:
        room = limit - len(postwriter._ids)
        if room <= 0:
            postwriter._write_block()
            continue
        block = postings[3 * start:3 * (start + room)]
        start += room
        docnums = block[0::3]
        weights = block[1::3]
        postwriter._ids.extend(docnums)
        postwriter._weights.extend(weights)
        postwriter._values.extend(filter(None, block[2::3]))
        heaviest = max(weights)
        if heaviest > postwriter._maxweight:
            postwriter._maxweight = heaviest
        sizes = [size for size in (lengths[docnum] for docnum in docnums if docnum < known) if size]
        if sizes:
            shortest, longest = min(sizes), max(sizes)
            if postwriter._minlength is None or shortest < postwriter._minlength:
                postwriter._minlength = shortest
            if longest > postwriter._maxlength:
                postwriter._maxlength = longest


def merge_tiers(writer, segments):
    """Whoosh merge policy for the commits of edits: merge the segments of the lowest size tier that holds
    MERGE_FAN_IN of them (tiers: 1-9 documents, 10-99, 100-999..., powers of MERGE_FAN_IN), with those of the
    tiers below, into one; return the segments kept as they are. Segments of MERGE_MAX_DOCS documents or more
    are left alone.

    Every edit commits a segment of one document. Whoosh's MERGE_SMALL merges the small segments again at nearly
    every commit (its tiers grow as the Fibonacci numbers), so each document was written again about once per
    1.6-fold growth: three fifths of an edit's CPU went to merges (bench/README.md). Here each document is
    written again once per tenfold growth, at the price of a few more small segments between merges.
    """
    def tier(segment) -> int:
        count, level = segment.doc_count_all(), 0
        while count >= MERGE_FAN_IN:
            count //= MERGE_FAN_IN
            level += 1
        return level

    tiers: dict[int, list] = {}
    for segment in segments:
        if segment.doc_count_all() < MERGE_MAX_DOCS:
            tiers.setdefault(tier(segment), []).append(segment)
    full = [level for level, members in tiers.items() if len(members) >= MERGE_FAN_IN]
    if not full:
        return segments
    top = min(full)
    merged = [segment for level, members in tiers.items() if level <= top for segment in members]
    for segment in merged:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    return [segment for segment in segments if segment not in merged]
