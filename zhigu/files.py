"""Files written whole or not at all: exports never leave a truncated file behind."""
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_write(path, encoding: str = "utf-8"):
    """Open a temporary text file beside `path`; on success it replaces `path`, on any error it is removed.

    The temporary file lives in the same directory, so the final os.replace is atomic: readers see the old
    file (or none) until the new one is complete and on disk. A new file is readable by its owner only (an
    export holds every private case); a replaced file keeps its mode.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    handle = tempfile.NamedTemporaryFile("w", encoding=encoding, dir=directory, prefix=f".{target.name}.",
                                         suffix=".partial", delete=False)
    temporary = Path(handle.name)
    try:
        if target.exists():
            shutil.copymode(target, temporary)
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        handle.close()
        temporary.unlink(missing_ok=True)
        raise
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)  # the rename itself reaches the disk
    finally:
        os.close(fd)
