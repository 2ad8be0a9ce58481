"""SearchIndex: the one place that opens, writes and reads the Whoosh index on disk.

Writers wait for Whoosh's file lock (another process may hold it) up to INDEX_WRITER_TIMEOUT seconds.
Searchers are not thread-safe, so each thread keeps its own and refreshes it before use, which costs
almost nothing when the index has not changed.

It knows Whoosh only: the outbox (zhigu.search.outbox) owns the directory's lock and its position in the
log, and rewriting the whole index from the database is zhigu.search.rebuild.
"""
import gc
import logging
import math
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from whoosh import index as whoosh_index
from whoosh.query import Or, Term

from zhigu.archive.models import CaseCause, CaseStatus, FailureCase
from zhigu.extensions import db
from zhigu.search import buffers
from zhigu.search.documents import build_schema, case_documents, should_index, stamp
from zhigu.search.statistics import term_docs
from zhigu.search.writing import IndexWriter, merge_tiers

log = logging.getLogger(__name__)
BATCH = 500

buffers.apply()  # before any searcher opens a segment


def current_index() -> "SearchIndex":
    """The app's index (SearchIndex.init_app)."""
    return current_app.extensions["zhigu.search"]


def _matching_docs(searcher, query) -> set[int]:
    """Live documents matching a query; a term, or an OR of terms, from each segment's documents of each term,
    kept across index generations (statistics.term_docs).

    Whoosh's docs_for_query moves through postings one document at a time: building the facets' document
    sets of 100,000 cases that way took 0.6 s of CPU after every change to the index.
    """
    terms = [query] if isinstance(query, Term) else list(query.subqueries) if isinstance(query, Or) else None
    if terms is None or not all(isinstance(term, Term) and not isinstance(term.text, bytes) for term in terms):
        return set(searcher.docs_for_query(query))
    docs = set()
    for reader, offset in searcher.reader().leaf_readers():
        found = set()
        for term in terms:
            found.update(term_docs(reader, term.fieldname, term.text))
        if found and reader.has_deletions():
            found.difference_update(reader.deleted_docs_set)
        docs.update(map(offset.__add__, found) if offset else found)
    return docs


class SearchIndex:
    def __init__(self):
        self.directory: Path | None = None
        self.writer_timeout = 30.0
        self._index = None
        self._open_lock = threading.Lock()
        self._local = threading.local()

    def init_app(self, app) -> None:
        self.directory = Path(app.config["INDEX_DIR"])
        self.writer_timeout = float(app.config["INDEX_WRITER_TIMEOUT"])
        app.extensions["zhigu.search"] = self

    # -- opening --------------------------------------------------------------------------------------

    @property
    def index(self):
        """Open the index, creating an empty one on first use."""
        if self._index is None:
            with self._open_lock:
                if self._index is None:
                    self.directory.mkdir(parents=True, exist_ok=True)
                    if whoosh_index.exists_in(str(self.directory)):
                        self._index = _with_new_fields(whoosh_index.open_dir(str(self.directory)))
                    else:
                        self._index = whoosh_index.create_in(str(self.directory), build_schema())
        return self._index

    def forget_open_index(self) -> None:
        """Drop the open index and this thread's searcher, so that the next use opens files of its own: for a
        forked child, whose inherited file handles share their read positions with the parent's."""
        self._index = None
        self._open_lock = threading.Lock()
        self._local = threading.local()

    def searcher(self):
        """Return this thread's searcher, reopened when another commit has changed the index.

        Not `Searcher.refresh()`: in whoosh-reloaded 2.7.5 it reuses the old segment readers, so a
        refreshed searcher keeps deleted documents and counts merged segments twice (tests/search).
        """
        searcher = getattr(self._local, "searcher", None)
        if searcher is None or not searcher.up_to_date():
            searcher = self._local.searcher = self.index.searcher()
            self._local.idf = {}
            self._local.docsets = {}
            self._local.derived = {}
        return searcher

    def derived(self, searcher, key, build):
        """`build()`, a value worked out from `searcher`, kept until the index changes when `searcher` is this
        thread's current one (a request holding an older searcher gets its own, not kept)."""
        if getattr(self._local, "searcher", None) is not searcher:
            return build()
        found = self._local.derived.get(key)
        if found is None:
            found = self._local.derived[key] = build()
        return found

    def docset(self, searcher, query) -> set[int]:
        """Document numbers matching `query` (an access filter), cached until the index changes.

        Whoosh turns a filter query into a set of every matching document on each search: for a visitor
        that is the whole public archive, rebuilt for every "find similar" call.
        """
        if getattr(self._local, "searcher", None) is not searcher:
            return _matching_docs(searcher, query)
        key = repr(query)
        docs = self._local.docsets.get(key)
        if docs is None:
            docs = self._local.docsets[key] = _matching_docs(searcher, query)
        return docs

    def idf(self, searcher, term: str, fields: tuple[str, ...]) -> float:
        """log(1 + N / df) of a term, df being its largest document frequency over `fields`; 0 if unseen.

        `searcher` is this thread's current searcher (from `searcher()`), whose refresh resets the cache:
        "find similar" asks for the idf of every term of every candidate it re-ranks.
        """
        cache = self._local.idf
        value = cache.get(term)
        if value is None:
            df = max(searcher.doc_frequency(name, term) for name in fields)
            value = cache[term] = math.log(1 + max(searcher.doc_count(), 1) / df) if df else 0.0
        return value

    def writer(self, timeout: float | None = None, schema=None):
        """A writer, waiting up to `timeout` (at most INDEX_WRITER_TIMEOUT) seconds for Whoosh's lock.

        `schema`: the schema of the index it commits, for a writer that replaces every document (IndexWriter).
        """
        timeout = self.writer_timeout if timeout is None else min(timeout, self.writer_timeout)
        return IndexWriter(self.index, schema=schema, timeout=timeout)

    def writing(self, timeout: float | None = None, schema=None, **commit_args):
        """A writer of this index committed at the end of the block, or abandoned when anything fails; small
        segments are merged by size tiers (merge_tiers) unless `commit_args` say otherwise."""
        commit_args.setdefault("mergetype", merge_tiers)
        return committing(self.writer(timeout, schema), **commit_args)

    # -- writing --------------------------------------------------------------------------------------

    def update_cases(self, ids: Iterable[int], bind=None, raise_errors: bool = False,
                     timeout: float | None = None) -> bool:
        """Re-read the cases from the database and index or unindex each; safe to repeat. False on failure.

        Changes reach the index through the outbox (zhigu.search.outbox.drain); call this directly only to
        repair. With `raise_errors` a failure raises instead of being logged. `timeout`: see `writer`.
        """
        ids = sorted(set(ids))
        if not ids:
            return True
        try:
            with Session(bind or db.engine) as session, self.writing(timeout) as writer:
                for start in range(0, len(ids), BATCH):
                    chunk = ids[start:start + BATCH]
                    indexed = [case for case in session.scalars(case_query().where(FailureCase.id.in_(chunk)))
                               if should_index(case)]
                    for document in case_documents(session, indexed):
                        writer.update_document(**document)
                    for case_id in set(chunk) - {case.id for case in indexed}:
                        writer.delete_by_term("id", str(case_id))
            return True
        except Exception:
            if raise_errors:
                raise
            log.exception("Search index update failed for %d case(s); run `zhigu search rebuild`", len(ids))
            return False

    def check(self, bind=None) -> dict[str, list[int]]:
        """Compare the index with the database: published cases missing or stale, and documents to remove."""
        indexed = {int(fields["id"]): fields["stamp"] for fields in self.searcher().all_stored_fields()}
        expected = {}
        with Session(bind or db.engine) as session:
            for case in session.scalars(select(FailureCase).where(FailureCase.status == CaseStatus.published)):
                expected[case.id] = stamp(case)
        return {
            "missing": sorted(set(expected) - set(indexed)),
            "stale": sorted(i for i in set(expected) & set(indexed) if expected[i] != indexed[i]),
            "extra": sorted(set(indexed) - set(expected)),
        }

    # -- the directory's health ----------------------------------------------------------------------------

    def readable(self) -> bool:
        """Whether the directory holds an index that opens and reads (a fresh handle, not the cached one).

        Whoosh leaves the files of an index it fails to open unclosed: they are collected here, quietly (not
        thread-safe: for the worker and rebuilds, not for request threads). A directory without a table of
        contents holds no index and opens nothing, so it skips the collection (a full `gc.collect`, 0.4 s in
        a large process).
        """
        if not self.directory.is_dir() or not any(self.directory.glob("*.toc")):
            return False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            readable = self._readable()
            if not readable:
                gc.collect()
        return readable

    def _readable(self) -> bool:
        try:
            if not whoosh_index.exists_in(str(self.directory)):
                return False
            ix = whoosh_index.open_dir(str(self.directory))
            with ix.searcher() as searcher:
                searcher.doc_count()
                for _ in searcher.all_stored_fields():
                    pass
            ix.close()
            return True
        except Exception as error:  # noqa: BLE001 - any failure to read means the directory needs a rebuild
            # the message only: a record holding the exception would keep Whoosh's open files alive
            log.warning("Search index at %s is unreadable: %s: %s", self.directory, type(error).__name__,
                        str(error))
            return False

    def reset_if_unreadable(self, keep: Iterable[str] = ()) -> bool:
        """Replace a missing or unreadable index with an empty one (a rebuild fills it); True if it did.

        Every file of the directory goes except those named in `keep` (a lock its caller holds).
        """
        if self.readable():
            return False
        with self._open_lock:
            self._index = None
            self._local = threading.local()
            self.directory.mkdir(parents=True, exist_ok=True)
            for path in self.directory.iterdir():
                if path.name not in keep and path.is_file():
                    path.unlink()
            self._index = whoosh_index.create_in(str(self.directory), build_schema())
        return True

    def document_count(self) -> int:
        return self.searcher().doc_count()

    def delete_ids(self, ids: Iterable[int]) -> None:
        with self.writing() as writer:
            for case_id in ids:
                writer.delete_by_term("id", str(case_id))


def _with_new_fields(ix):
    """Add fields the schema gained since the index was created (e.g. `comments`); rebuild fills them."""
    missing = [(name, field) for name, field in build_schema().items() if name not in ix.schema]
    if missing:
        with committing(ix.writer(timeout=30.0)) as writer:
            for name, field in missing:
                writer.add_field(name, field)
        ix = whoosh_index.open_dir(ix.storage.folder)
    return ix


@contextmanager
def committing(writer, **commit_args):
    """Commit `writer` at the end of the block, or abandon it when the block or the commit fails.

    Whoosh's own `with writer:` cancels only when the block fails: a commit that raised kept the write lock
    until garbage collection, and every later index write waited INDEX_WRITER_TIMEOUT for it.
    """
    try:
        yield writer
        writer.commit(**commit_args)
    except BaseException:
        abandon(writer)
        raise


def abandon(writer) -> None:
    """Cancel a failed writer; release its write lock even when cancelling fails as well."""
    try:
        if not writer.is_closed:
            writer.cancel()
    except Exception:  # noqa: BLE001 - the lock matters more than a half-closed segment's files
        log.exception("Cancelling a failed index writer failed; releasing its lock")
    finally:
        lock = getattr(writer, "writelock", None)
        if getattr(lock, "fd", None) is not None:  # whoosh's file lock: an open descriptor while held
            lock.release()


def case_query():
    """Cases with what their documents need (causes) loaded up front."""
    return select(FailureCase).options(selectinload(FailureCase.case_causes).joinedload(CaseCause.cause))
