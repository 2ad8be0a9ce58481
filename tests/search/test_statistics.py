"""The statistics a member's scores use (zhigu.search.statistics) count exactly the documents they may open,
whichever way a term's postings are matched against a set of documents (intersected or skipped through)."""
import pytest

from helpers import reload
from zhigu.archive import services as archive_services
from zhigu.search import statistics
from zhigu.search.services import current_index, visible_statistics

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
