"""The statistics a member's scores use (zhigu.search.statistics) count exactly the documents they may open,
whichever way a term's postings are matched against a set of documents (intersected or skipped through)."""
import gc
import weakref

import pytest
from flask_login import AnonymousUserMixin

from helpers import reload
from zhigu.archive import services as archive_services
from zhigu.search import similar, statistics
from zhigu.search.services import current_index, visible_statistics
from zhigu.search.similar import TEXT_FIELDS

SOLAR = dict(title="Solar kettles for clinics", summary="Solar kettles boiled water for rural clinics.",
             lessons="Check the grid plans of the clinics first.")
WORDS = [("title", "solar"), ("summary", "kettl"), ("summary", "clinic"), ("title", "pump"), ("body", "grid")]


def brute_force_frequency(searcher, allowed: set[int], fieldname: str, text: str) -> int:
    """Live documents the viewer may open that hold the term, read one by one."""
    if (fieldname, text) not in searcher.reader():
        return 0
    return len(allowed & set(searcher.reader().postings(fieldname, text).all_ids()))


@pytest.mark.parametrize("ratio", [0, 10**9], ids=["skipped-through", "intersected"])
def test_a_members_document_frequencies_count_what_they_may_open(ctx, cast, make_case, monkeypatch, ratio):
    for n in range(4):
        make_case(cast.author, **dict(SOLAR, title=f"Solar kettles for clinics {n}"))
    for n in range(3):
        make_case(cast.curator_b, **dict(SOLAR, title=f"Solar pumps for farms {n}", visibility="park"))
    make_case(cast.curator_a, **dict(SOLAR, title="Solar pumps in Osh", visibility="park"))  # park A's
    edited = make_case(cast.author, **dict(SOLAR, title="Solar pumps for clinics"))
    archive_services.update_case(reload(cast.author), reload(edited), {"title": "Kettles for clinics"})  # a deletion
    monkeypatch.setattr(statistics, "INTERSECT_RATIO", ratio)
    monkeypatch.setattr(statistics, "SKIP_ALWAYS", 0)
    statistics._VIEWERS.clear()
    statistics._STATISTICS.clear()

    searcher = current_index().searcher()
    stats, allowed = visible_statistics(searcher, reload(cast.member_b))

    assert stats.doc_count == len(allowed) == 4 + 3 + 1
    for fieldname, text in WORDS:
        assert stats.doc_frequency(fieldname, text) == brute_force_frequency(searcher, allowed, fieldname, text), text
    assert stats.doc_frequency("title", "pump") == 3  # park B's three, not park A's nor the edited case's old one
    public = statistics.public_statistics(searcher)
    assert public.live_documents() == allowed - set(searcher.document_numbers(allowed=f"park:{cast.member_b.park_id}"))
    stats, allowed = visible_statistics(searcher, AnonymousUserMixin())  # a visitor: the public documents only
    assert stats is public and stats.doc_count == len(allowed) == 4 + 1


def public_brute_force(searcher, fieldname: str, text: str) -> int:
    public = {docnum for docnum in searcher.document_numbers(allowed=statistics.PUBLIC_TOKEN)}
    return brute_force_frequency(searcher, public, fieldname, text)


@pytest.mark.parametrize("vector_reads", [statistics.MAX_VECTOR_READS, 0], ids=["term-vectors", "postings"])
def test_public_frequencies_stay_exact_as_each_edit_deletes_another_document(ctx, cast, make_case, monkeypatch,
                                                                              vector_reads):
    """The counts over a segment's deleted documents are carried from one generation to the next (only the
    newly deleted are looked at); a searcher of an older generation still gets its own counts."""
    monkeypatch.setattr(statistics, "MAX_VECTOR_READS", vector_reads)
    cases = [make_case(cast.author, **dict(SOLAR, title=f"Solar kettles for clinics {n}")) for n in range(4)]
    make_case(cast.curator_b, **dict(SOLAR, title="Solar pumps for farms", visibility="park"))
    current_index().index.optimize()  # one segment, whose documents the edits below delete one by one
    words = [*WORDS, ("body", "plan"), ("body", "teacher"), ("summary", "water"), ("title", "lamp")]
    searchers = []
    for n, case in enumerate(cases):
        searcher = current_index().searcher()
        searchers.append(searcher)
        stats = statistics.public_statistics(searcher)
        for fieldname, text in words:
            assert stats.doc_frequency(fieldname, text) == public_brute_force(searcher, fieldname, text), (n, text)
        archive_services.update_case(reload(cast.author), reload(case),
                                     {"title": f"Solar lamps for schools {n}", "lessons": "Ask the teachers."})

    statistics._STATISTICS.clear()  # the first generation's searcher again, after the later ones were counted
    oldest = statistics.public_statistics(searchers[0])
    assert [oldest.doc_frequency(fieldname, text) for fieldname, text in words] == [
        public_brute_force(searchers[0], fieldname, text) for fieldname, text in words]
    last = statistics.public_statistics(current_index().searcher())
    assert last.doc_frequency("title", "kettl") == 0 and last.doc_frequency("title", "lamp") == 4


def every_term(searcher) -> list[tuple[str, str]]:
    """Every (field, term) of the text fields, and a word no document holds."""
    reader = searcher.reader()
    return [*((name, text) for name in TEXT_FIELDS for text in reader.field_terms(name)), ("body", "zebra")]


def fresh_public_statistics(searcher) -> statistics.PublicStatistics:
    """The public statistics of a searcher, counted from nothing (no counts this process kept)."""
    saved = dict(statistics._SEGMENTS)
    statistics._SEGMENTS.clear()
    try:
        return statistics.PublicStatistics(searcher)
    finally:
        statistics._SEGMENTS.clear()
        statistics._SEGMENTS.update(saved)


def weighed_from_scratch(searcher, stats, docnum: int) -> tuple[dict[str, float], bool]:
    """A document's "find similar" vector read from its stored term vectors and weighed by `stats`."""
    return similar._weighed(stats, similar._term_weights(searcher, docnum))


@pytest.mark.parametrize(("whole_field_max_docs", "held_postings", "merge_small_after"),
                         [(3, 10**6, 10**6), (3, 10**6, 0), (0, 0, 0)],
                         ids=["whole-fields-and-held-postings", "small-segments-added-up", "term-by-term"])
def test_public_frequencies_across_generations_match_a_count_from_scratch(ctx, cast, make_case, monkeypatch,
                                                                          whole_field_max_docs, held_postings,
                                                                          merge_small_after):
    """Small segments counted whole (asked one by one, or added up into one count per term), held postings of
    large ones and the counts carried over deletions give what a count from scratch gives, generation after
    generation: edits, a case made private, a retraction, a segment of public and hidden documents, merges."""
    monkeypatch.setattr(statistics, "WHOLE_FIELD_MAX_DOCS", whole_field_max_docs)
    monkeypatch.setattr(statistics, "MAX_HELD_POSTINGS", held_postings)
    monkeypatch.setattr(statistics, "MERGE_SMALL_AFTER", merge_small_after)
    monkeypatch.setattr(statistics, "_SEGMENTS", {})
    cases = [make_case(cast.author, **dict(SOLAR, title=f"Solar kettles for clinics {n}")) for n in range(4)]
    hidden = make_case(cast.curator_b, **dict(SOLAR, title="Solar pumps for farms", visibility="park"))
    shared = make_case(cast.curator_b, **dict(SOLAR, title="Wind pumps for farms", body="Grid teachers."))
    make_case(cast.author, title="Bakery ovens in Almaty", summary="Bread ovens overheated in a small bakery.",
              lessons="Service the ovens.")  # words no step below changes: their weights carry over
    current_index().index.optimize()  # one segment of seven documents: "large" for the first parametrizations
    steps = [
        lambda: archive_services.update_case(reload(cast.author), reload(cases[0]),
                                             {"title": "Solar lamps for schools", "lessons": "Ask the teachers."}),
        lambda: archive_services.update_case(reload(cast.author), reload(cases[0]), {"title": "Solar lamps again"}),
        lambda: archive_services.update_case(reload(cast.curator_b), reload(shared), {"visibility": "park"}),
        lambda: archive_services.retract_case(reload(cast.author), reload(cases[1]), {"reason": "A duplicate entry."}),
        lambda: current_index().update_cases([cases[2].id, hidden.id]),  # one segment, public and hidden
        lambda: archive_services.update_case(reload(cast.author), reload(cases[2]), {"summary": "Pumps broke."}),
        lambda: current_index().index.optimize(),
        lambda: archive_services.update_case(reload(cast.author), reload(cases[3]), {"title": "Kettles for zebras"}),
    ]
    monkeypatch.setattr(statistics, "_LATEST", {})
    carried = carried_vectors = 0
    for n, step in enumerate([lambda: None, *steps]):
        step()
        searcher = current_index().searcher()
        stats, scratch = statistics.public_statistics(searcher), fresh_public_statistics(searcher)
        carried += stats.epoch > 0
        assert stats.doc_count == scratch.doc_count, n
        for fieldname, text in every_term(searcher):
            expected = public_brute_force(searcher, fieldname, text)
            assert stats.doc_frequency(fieldname, text) == expected == scratch.doc_frequency(fieldname, text), (
                n, fieldname, text)
        for text in sorted({text for _, text in every_term(searcher)}):  # "find similar"'s weights, carried or not
            assert stats.text_idf(text, TEXT_FIELDS) == scratch.text_idf(text, TEXT_FIELDS), (n, text)
        kept_along = stats.lineage.derived.get("vectors", {})
        for docnum in sorted(stats.live_documents()):
            carried_vectors += docnum in kept_along and stats.lineage.unchanged_since(
                kept_along[docnum][2], kept_along[docnum][0], stats.epoch)
            assert similar._kept_case(searcher, docnum) == weighed_from_scratch(searcher, scratch, docnum), (n, docnum)
    assert statistics.public_statistics(current_index().searcher()).doc_frequency("title", "zebra") == 1
    # the edits and the retraction carry the counts forward; every held posting of them is what that takes
    assert carried >= (4 if held_postings else 0) and carried_vectors >= (4 if held_postings else 0)


def test_a_vector_whose_words_changed_weight_is_weighed_again_without_reading_its_stored_vector(ctx, cast, make_case,
                                                                                                monkeypatch):
    monkeypatch.setattr(statistics, "WHOLE_FIELD_MAX_DOCS", 2)  # the three cases' segment is a large one
    monkeypatch.setattr(statistics, "MAX_HELD_POSTINGS", 10**6)
    monkeypatch.setattr(statistics, "_SEGMENTS", {})
    monkeypatch.setattr(statistics, "_LATEST", {})
    kettles = make_case(cast.author, title="Solar kettles for clinics", summary="Kettles boiled water.")
    lamps = make_case(cast.author, title="Solar lamps for schools", summary="Lamps lit the rooms.")
    make_case(cast.author, title="Bakery ovens in Almaty", summary="Bread ovens overheated.")
    current_index().index.optimize()
    similar.warm_vectors(current_index().searcher())
    # the lamps case now holds "kettles" in its summary as well: the kettles case's vector weighs it less
    archive_services.update_case(reload(cast.author), reload(lamps), {"summary": "Lamps and kettles lit the rooms."})
    searcher = current_index().searcher()
    stats = statistics.public_statistics(searcher)
    docnum = next(iter(searcher.document_numbers(id=str(kettles.id))))
    read = []
    reading = similar._term_weights
    monkeypatch.setattr(similar, "_term_weights", lambda *args: read.append(args[1]) or reading(*args))

    vector, _ = similar._kept_case(searcher, docnum)

    assert stats.epoch > 0 and stats.in_large_segment(docnum)
    assert not read  # weighed from the term weights kept along the lineage
    assert not stats.lineage.unchanged_since(0, vector, stats.epoch)  # it was weighed again, not carried
    assert (vector, False) == weighed_from_scratch(searcher, fresh_public_statistics(searcher), docnum)


def test_carrying_never_reads_an_earlier_generations_segments(ctx, cast, make_case, monkeypatch):
    """Their files may have been replaced since (a rebuild of a damaged index): reading a mapped file that shrank
    killed the process with SIGBUS."""
    monkeypatch.setattr(statistics, "WHOLE_FIELD_MAX_DOCS", 3)
    monkeypatch.setattr(statistics, "_SEGMENTS", {})
    monkeypatch.setattr(statistics, "_LATEST", {})
    cases = [make_case(cast.author, **dict(SOLAR, title=f"Solar kettles for clinics {n}")) for n in range(4)]
    current_index().index.optimize()  # one large segment
    archive_services.update_case(reload(cast.author), reload(cases[0]), {"title": "Solar lamps for schools"})
    earlier = statistics.public_statistics(current_index().searcher())  # the large segment and a small one
    earlier.text_idf("lamp", TEXT_FIELDS)
    # deletes the case's document from the small segment
    archive_services.update_case(reload(cast.author), reload(cases[0]), {"title": "Solar lamps again"})
    asked = []
    vocabulary = statistics._SegmentCounts.vocabulary

    def recorded(self, reader, fieldnames, read=True):
        asked.append((reader, read))
        return vocabulary(self, reader, fieldnames, read)
    monkeypatch.setattr(statistics._SegmentCounts, "vocabulary", recorded)

    searcher = current_index().searcher()
    later = statistics.public_statistics(searcher)

    earlier_readers = [reader for reader, _, _, _ in earlier._small]
    assert later.epoch == earlier.epoch + 1 and any(reader in earlier_readers for reader, _ in asked)
    assert all(not read for reader, read in asked if reader in earlier_readers)
    assert later.text_idf("lamp", TEXT_FIELDS) == fresh_public_statistics(searcher).text_idf("lamp", TEXT_FIELDS)


def test_a_generations_statistics_let_its_searcher_go_and_still_carry_into_the_next(ctx, cast, make_case,
                                                                                     monkeypatch):
    """The statistics are kept per searcher in weak dictionaries: when they held on to their searcher, no entry
    ever went, and every generation's searcher, readers and counts stayed in memory (a process grew from 430 MB
    to 1.5 GB over 150 generations at 10,000 cases, bench/mix_cpu.py). The last generation's still start the
    next one's once its searcher is gone."""
    monkeypatch.setattr(statistics, "_LATEST", {})
    case = make_case(cast.author, **SOLAR)
    make_case(cast.curator_b, **dict(SOLAR, title="Solar pumps for farms", visibility="park"))
    searcher = current_index().searcher()
    visible_statistics(searcher, reload(cast.member_b))  # a member's, over the public ones
    visible_statistics(searcher, reload(cast.admin))  # an admin's, over every document
    lineage, epoch = statistics.public_statistics(searcher).lineage, statistics.public_statistics(searcher).epoch
    gone = weakref.ref(searcher)
    del searcher

    archive_services.update_case(reload(cast.author), reload(case), {"lessons": "Ask the clinics first."})
    later = statistics.public_statistics(current_index().searcher())
    gc.collect()

    assert gone() is None
    assert later.lineage is lineage and later.epoch == epoch + 1


def test_an_admins_statistics_are_kept_per_searcher_with_every_frequency_asked(ctx, cast, make_case, monkeypatch):
    """An admin's statistics (every document) were made again for each search, and asked Whoosh for each
    document frequency in every segment again: an admin's trends page (thirty live "find similar") took 4-10 s
    at 10,000 cases after an edit."""
    make_case(cast.author, **SOLAR)
    make_case(cast.curator_b, **dict(SOLAR, title="Solar pumps for farms", visibility="private"))
    searcher = current_index().searcher()
    stats, allowed = visible_statistics(searcher, reload(cast.admin))
    asked = []
    whoosh_frequency = searcher.doc_frequency
    monkeypatch.setattr(searcher, "doc_frequency", lambda *term: asked.append(term) or whoosh_frequency(*term))

    assert allowed is None and visible_statistics(searcher, reload(cast.admin))[0] is stats
    assert stats.doc_frequency("title", "solar") == 2  # the private case too
    assert stats.doc_frequency("title", "solar") == 2 and asked == [("title", "solar")]
    assert stats.doc_frequency("title", "pump") == 1


def test_a_documents_term_weights_are_read_once_whoever_asks(ctx, cast, make_case, monkeypatch):
    """A document's title and summary term weights are kept by segment: the same for every viewer and every
    generation that keeps the segment (an admin's statistics have no lineage to keep them along)."""
    make_case(cast.author, **SOLAR)
    make_case(cast.author, **dict(SOLAR, title="Solar pumps for farms"))
    searcher = current_index().searcher()
    monkeypatch.setattr(similar, "_TERM_WEIGHTS", {})
    reads = []
    read = similar._term_weights
    monkeypatch.setattr(similar, "_term_weights", lambda s, docnum: reads.append(docnum) or read(s, docnum))
    last = searcher.doc_count_all() - 1

    weights = [similar._raw_weights(searcher, docnum) for docnum in (0, last, 0, last)]

    assert weights[0] == read(searcher, 0) and weights[1] == read(searcher, last) and weights[0] != weights[1]
    assert weights[2:] == weights[:2] and reads == [0, last]
