"""A fix to whoosh-reloaded 2.7.5 (its last release): a new searcher no longer copies every segment file whole.

Whoosh reads a compound segment through a memory map, each file inside it as a `BufferFile` over a slice of
the map. `BufferFile.__init__` also wraps that slice in a `BytesIO` for the reads that seek (a terms file's
header, a posting list's), and a `BytesIO` copies a memoryview it is given: every file of every segment,
whole, for every new searcher. A new searcher opens after every index change, in every thread of every
process: under bench/load.py at 10,000 cases the copies were 18% of the web workers' CPU (py-spy,
bench/README.md), and each searcher held its own copy of the index in memory.

`apply()` gives a BufferFile over a memoryview a buffered reader of the view instead, which copies only the
few kilobytes around each read. (A BytesIO over `bytes` shares them: that case is left as it was.)
zhigu.search.index applies it on import.
"""
import io

from whoosh.filedb.structfile import BufferFile

#: Bytes a seek-and-read takes from the map at a time (headers and lengths are a few bytes each).
READ_CHUNK = 4096


class _ViewReader(io.RawIOBase):
    """A read-only, seekable file over a memoryview, copying only what is read."""

    def __init__(self, view: memoryview):
        super().__init__()
        self._view = view
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._view[self._position:self._position + len(buffer)]  # empty past the end
        buffer[:len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        start = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._view)}[whence]
        self._position = max(0, start + offset)
        return self._position

    def tell(self) -> int:
        return self._position


def _init(self, buf, name=None, onclose=None):
    """BufferFile.__init__, with a stream that does not copy a memoryview."""
    self._buf = buf
    self._name = name
    self.file = (io.BufferedReader(_ViewReader(buf), READ_CHUNK) if isinstance(buf, memoryview)
                 else io.BytesIO(buf))
    self.onclose = onclose
    self.is_real = False
    self.is_closed = False


def apply() -> None:
    """Patch BufferFile (once per process; idempotent)."""
    BufferFile.__init__ = _init
