"""Whoosh's BufferFile over a memory map reads through a view, not a copy of the file (zhigu.search.buffers)."""
import io
import pickle

from whoosh.filedb.structfile import BufferFile

from zhigu.search import buffers
from zhigu.search.index import current_index

DATA = b"header\n" + pickle.dumps({"terms": 3}) + bytes(range(256)) * 40


def test_a_buffer_file_over_a_view_reads_and_seeks_as_over_a_copy():
    buffers.apply()
    view, copy = BufferFile(memoryview(bytearray(DATA))), BufferFile(DATA)

    assert isinstance(view.file, io.BufferedReader) and isinstance(copy.file, io.BytesIO)
    for stream in (view, copy):
        assert stream.readline() == b"header\n"
        assert stream.read_pickle() == {"terms": 3}
    assert view.tell() == copy.tell()
    for offset, whence in [(5000, io.SEEK_SET), (-7, io.SEEK_END), (3, io.SEEK_CUR), (len(DATA) + 9, io.SEEK_SET)]:
        assert view.seek(offset, whence) == copy.seek(offset, whence)
        assert view.read(10) == copy.read(10)
    view.seek(100)
    assert view.read() == DATA[100:] and view.get(10, 5) == DATA[10:15]
    view.close()
    assert view.is_closed


def test_a_searchers_segment_files_are_read_through_the_memory_map(ctx, cast, make_case):
    make_case(cast.author, title="Solar kettles for clinics", summary="The kettles boiled water.")

    reader = current_index().searcher().reader()
    terms_file = next(leaf for leaf, _ in reader.leaf_readers())._terms._tindex.dbfile

    assert isinstance(terms_file, BufferFile) and isinstance(terms_file.file, io.BufferedReader)
    assert reader.doc_frequency("title", "kettl") == 1
