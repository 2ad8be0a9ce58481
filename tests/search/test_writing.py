"""zhigu.search.writing.IndexWriter writes what Whoosh's own SegmentWriter writes, only with less CPU."""
import random

import pytest
from whoosh import index as whoosh_index
from whoosh.fields import TEXT
from whoosh.qparser import QueryParser
from whoosh.writing import SegmentWriter

from zhigu.search.documents import build_schema
from zhigu.search import writing
from zhigu.search.writing import IndexWriter, merge_tiers

WORDS = ("solar kettle clinic grid pump rental farmer dust season spare parts insurer sensor tea house buyer "
         "market launch pilot failed cold chain 冷链 物流 跨境电商 平台 supplier contract").split()


def _documents(count: int) -> list[dict]:
    rng = random.Random(5)
    text = lambda n: " ".join(rng.choice(WORDS) for _ in range(n))  # noqa: E731
    return [{"id": str(n), "stamp": f"s{n}", "title": text(5), "summary": text(30), "body": text(rng.randint(0, 120)),
             "spell": text(40), "cause": ",".join(rng.sample(["a", "b", "c"], 2)), "allowed": "public",
             "sector": rng.choice(["energy", "retail"])} for n in range(count)]


def _segments(folder) -> list[dict]:
    """Each segment's files (by name without the segment's random id), document count and deleted documents."""
    ix = whoosh_index.open_dir(str(folder))
    segments = []
    for segment in ix._read_toc().segments:
        prefix = f"{segment.segment_id()}."
        files = {path.name[len(prefix):]: path.read_bytes() for path in folder.iterdir() if path.name.startswith(prefix)}
        segments.append({"files": files, "docs": segment.doc_count_all(),
                         "deleted": sorted(docnum for docnum in range(segment.doc_count_all())
                                           if segment.is_deleted(docnum))})
    ix.close()
    return segments


@pytest.mark.parametrize("limitmb", [128, 0.05], ids=["in-memory", "spilled-runs"])
def test_the_segments_are_those_whooshs_own_writer_writes_byte_for_byte(tmp_path, limitmb):
    documents = _documents(400)
    written = []
    for writer_class in (SegmentWriter, IndexWriter):
        folder = tmp_path / writer_class.__name__
        folder.mkdir()
        ix = whoosh_index.create_in(str(folder), build_schema())
        for start in range(0, len(documents), 100):
            writer = writer_class(ix, limitmb=limitmb, compound=False)
            for document in documents[start:start + 100]:
                writer.add_document(**document)
            if start:
                writer.delete_by_term("id", str(start - 7))
            writer.commit(optimize=start == 200)  # a merge of segments with deletions, then a new segment
        written.append(_segments(folder))

    assert [segment["docs"] for segment in written[1]] == [298, 100]  # posting lists of more than one block
    assert {"pst", "trm", "vps", "_stored.col", "_body_len.col"} <= set(written[1][0]["files"])
    assert written[1] == written[0]


def test_a_cancelled_writer_leaves_the_index_and_no_runs(tmp_path):
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    writer = IndexWriter(ix, limitmb=0.05)
    for document in _documents(40):
        writer.add_document(**document)
    assert writer.pool.runs  # some postings were spilled to disk

    writer.cancel()

    assert whoosh_index.open_dir(str(tmp_path)).doc_count() == 0
    assert not list(tmp_path.glob("*.tmp"))


def test_counted_text_fields_index_what_whooshs_frequency_format_would(tmp_path):
    """text_field (TermCounts, index_terms, one analysis for a field and its vector) against plain TEXT fields."""
    documents = _documents(60) + [{"id": "mixed", "title": "EV电池工厂 in Hà Nội", "summary": "SaaS平台的 3D printers, "
                                   "don't stop: the the THE 2024 pilots’ “quotes” İstanbul", "body": "跨境电商平台倒闭了。"}]
    plain = build_schema()
    for name in ("title", "summary", "body", "comments", "causes_text"):
        vector = bool(plain[name].vector)
        analyzer = plain[name].analyzer
        plain.remove(name)
        plain.add(name, TEXT(analyzer=analyzer, phrase=False, vector=vector))
    written = []
    for schema in (plain, build_schema()):
        folder = tmp_path / str(len(written))
        folder.mkdir()
        writer = IndexWriter(whoosh_index.create_in(str(folder), schema), compound=False)
        for document in documents:
            writer.add_document(**{name: value for name, value in document.items() if name != "spell"})
        writer.commit()
        written.append(_segments(folder))

    assert written[1] == written[0]


def test_the_spelling_field_holds_each_word_of_three_letters_or_more_once(tmp_path):
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    writer = IndexWriter(ix)
    writer.add_document(id="1", spell="Kettles kettles KETTLES of the grid_plan 4G Ünïcode wörds ab")
    writer.commit()

    with ix.searcher() as searcher:
        words = {word.decode() for word in searcher.lexicon("spell")}
        assert words == {"kettles", "the", "grid", "plan", "ünïcode", "wörds"}
        assert searcher.doc_frequency("spell", "kettles") == 1
        assert [hit["id"] for hit in searcher.search(QueryParser("spell", ix.schema).parse("KETTLES"))] == ["1"]


def test_writers_of_a_parallel_rebuild_spill_to_the_same_directory_without_clashing(tmp_path):
    """A parallel rebuild's children each write a segment of one index (zhigu.search.rebuild): the same
    temporary directory receives both pools' runs."""
    documents = _documents(120)
    reference, shared = tmp_path / "reference", tmp_path / "shared"
    for folder in (reference, shared):
        folder.mkdir()
        whoosh_index.create_in(str(folder), build_schema())
    alone = IndexWriter(whoosh_index.open_dir(str(reference)), limitmb=0.05, compound=False)
    first, second = (IndexWriter(whoosh_index.open_dir(str(shared)), _lk=False, limitmb=0.05, compound=False)
                     for _ in range(2))
    for document in documents:
        alone.add_document(**document)
        first.add_document(**document)
        second.add_document(**document)  # spills at the same moments as `first`
    assert alone.pool.runs and first.pool.runs and second.pool.runs

    segments = [writer._finalize_segment() for writer in (alone, first, second)]

    def files(folder, segment):
        prefix = f"{segment.segment_id()}."
        return {path.name[len(prefix):]: path.read_bytes() for path in folder.iterdir() if path.name.startswith(prefix)}

    expected = files(reference, segments[0])
    assert "pst" in expected
    assert files(shared, segments[1]) == expected
    assert files(shared, segments[2]) == expected


@pytest.mark.parametrize("limitmb", [128, 0.05], ids=["in-memory", "spilled-runs"])
def test_merging_by_size_tiers_writes_what_whooshs_own_writer_writes(tmp_path, limitmb):
    """Segments merged by merge_tiers, with and without deleted documents, are written byte for byte as Whoosh's
    writer writes them, and each size tier is merged once it holds MERGE_FAN_IN segments."""
    documents = _documents(27)
    written = []
    for writer_class in (SegmentWriter, IndexWriter):
        folder = tmp_path / writer_class.__name__
        folder.mkdir()
        ix = whoosh_index.create_in(str(folder), build_schema())
        for n, document in enumerate(documents[:26]):  # one edit's commit: a segment of one document
            writer = writer_class(ix, limitmb=limitmb, compound=False)
            writer.add_document(**document)
            if n == 13:
                writer.add_document(**documents[26])
            if n == 15:  # one of the two documents of a segment the next merge takes
                writer.delete_by_term("id", "13")
            writer.commit(mergetype=merge_tiers)
        written.append(_segments(folder))
        ix.close()

    # the first merge took ten segments without deletions, the second one with a deleted document
    assert sorted(segment["docs"] for segment in written[1]) == [1, 1, 1, 1, 11, 11]
    assert sum(len(segment["deleted"]) for segment in written[1]) == 0
    assert written[1] == written[0]
    ix = whoosh_index.open_dir(str(tmp_path / "IndexWriter"))
    with ix.searcher() as searcher:
        assert sorted(int(fields["id"]) for fields in searcher.all_stored_fields()) == sorted(set(range(27)) - {13})


def test_merging_by_size_tiers_leaves_large_segments_alone(tmp_path, monkeypatch):
    """Ten segments of MERGE_MAX_DOCS documents or more stay as they are; ten smaller ones of a tier are merged."""
    monkeypatch.setattr(writing, "MERGE_MAX_DOCS", 3)
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    documents = iter(_documents(45))
    for size in [3] * 10 + [1] * 11:  # ten "large" segments of three documents, then eleven commits of one
        writer = IndexWriter(ix)
        for _ in range(size):
            writer.add_document(**next(documents))
        writer.commit(mergetype=merge_tiers)

    assert sorted(segment.doc_count_all() for segment in ix._segments()) == [3] * 10 + [11]
