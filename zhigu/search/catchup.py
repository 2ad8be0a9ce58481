"""Catching up: the web process applies outbox rows that its drain right after a commit had to leave behind.

A drain after a commit gives up when another process holds the index directory's lock (or Whoosh's writer
lock) for longer than INDEX_INLINE_DRAIN_TIMEOUT, and a process killed between its commit and its drain
leaves its rows behind too. Without a `zhigu worker` those rows used to wait for the next write. Now:

- a drain that gave up (busy, or failed) starts this process's catch-up thread, which retries with a
  growing pause (CATCH_UP_FIRST_DELAY up to CATCH_UP_MAX_DELAY seconds) until the outbox is applied;
- every request checks, at most once per INDEX_POLL_INTERVAL seconds per process, whether this machine's
  index is behind the outbox (one indexed count) and starts the thread if so. The first request of a
  process checks at once, so rows left by a crash (`kill -9`), another process or a CLI command are
  applied as soon as a process serves again, without blocking its start.

Any number of processes (gunicorn -w 4) may do this at once: they take turns on the directory's lock, and
the ones that find nothing left stop. With INDEX_INLINE_DRAIN=false (a separate `zhigu worker` applies the
outbox) a process catches up only on rows that waited longer than INDEX_WORKER_GRACE seconds, and warns:
the worker is down or cannot keep up, and changes would otherwise never be searched. The thread uses its own
database connection and closes it after each attempt.
"""
import atexit
import logging
import os
import threading
import time
import weakref

from flask import current_app
from whoosh.index import LockError

from zhigu.extensions import db
from zhigu.search import outbox

log = logging.getLogger(__name__)

#: app.extensions key of the app's CatchUp.
EXTENSION = "zhigu.search.catch_up"

#: Seconds before the first retry, doubled after each busy or failed attempt up to CATCH_UP_MAX_DELAY.
CATCH_UP_FIRST_DELAY = 1.0
CATCH_UP_MAX_DELAY = 4.0
#: Seconds the interpreter waits at exit for a catch-up thread to finish its attempt (a drain is crash-safe).
EXIT_WAIT = 2.0

_running: "weakref.WeakSet[CatchUp]" = weakref.WeakSet()


def init_app(app, index) -> None:
    """Give the app's index a catch-up, and have each request check whether the index is behind."""
    catch_up = app.extensions[EXTENSION] = CatchUp(index)
    catch_up.poll_interval = float(app.config["INDEX_POLL_INTERVAL"])
    app.before_request(_catch_up_on_request)


def _catch_up_on_request() -> None:
    """Before each request: catch up if this machine's index is behind the outbox (checked once a poll), or
    with a separate worker, behind by rows it left waiting past their grace."""
    app = current_app._get_current_object()
    grace = 0.0 if app.config["INDEX_INLINE_DRAIN"] else float(app.config["INDEX_WORKER_GRACE"])
    app.extensions[EXTENSION].poll(app, db.engine, grace)


def drain_after_commit(bind, timeout: float) -> bool:
    """Apply the outbox after a commit: never raise. On failure the rows stay in the outbox and this
    process's catch-up thread retries until they are applied; False then.

    Both waits (the directory's lock and Whoosh's writer lock) are bounded by `timeout`, so a busy index
    delays the request by at most about that long.
    """
    catch_up = current_app.extensions[EXTENSION]
    try:
        outbox.drain(catch_up.index, bind, timeout)
        return True
    except outbox.Busy:
        log.debug("Index %s busy; the outbox is applied by the process holding it or caught up later",
                  catch_up.index.directory)
    except Exception:
        log.error("Applying the search outbox to %s failed; the changes stay in the outbox and are retried "
                  "(`zhigu search rebuild` repairs the index)", catch_up.index.directory, exc_info=True)
    try:
        catch_up.schedule(current_app._get_current_object(), bind)
    except Exception:  # noqa: BLE001 - e.g. no thread to be had: the next request's check retries
        log.exception("Could not start the search index catch-up for %s", catch_up.index.directory)
    return False


class CatchUp:
    """One process's retries of the outbox drain for one index directory."""

    def __init__(self, index):
        self.index = index
        self.poll_interval = 1.0
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()  # after a fork the parent's thread is not ours
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wanted = False
        self._stop = threading.Event()
        self._polled_at: float | None = None

    def _own(self) -> None:
        if self._pid != os.getpid():
            self._reset()

    # -- starting ---------------------------------------------------------------------------------------

    def schedule(self, app, bind) -> None:
        """Have this process's thread apply the outbox soon; return at once."""
        self._own()
        with self._lock:
            self._wanted = True
            if self._thread is None:
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, args=(app, bind), daemon=True,
                                                name=f"zhigu-index-catch-up-{self.index.directory.name}")
                _running.add(self)
                try:
                    self._thread.start()
                except BaseException:
                    self._thread = None
                    _running.discard(self)
                    raise

    def poll(self, app, bind, grace: float = 0.0) -> None:
        """Schedule a catch-up when the index is behind the outbox by a row older than `grace` seconds; checks
        once per poll_interval (requests)."""
        self._own()
        now = time.monotonic()
        if self._polled_at is not None and now - self._polled_at < self.poll_interval:
            return
        self._polled_at = now
        if self._thread is not None:
            return  # already catching up
        try:
            if outbox.pending_count(bind, self.index.directory, older_than=grace) > 0:
                if grace:
                    log.warning("Search outbox rows have waited over %g s for `zhigu worker` at %s: is it running? "
                                "Applying them here", grace, self.index.directory)
                else:
                    log.debug("Search index at %s is behind the outbox: catching up", self.index.directory)
                self.schedule(app, bind)
        except Exception as error:  # noqa: BLE001 - a request never fails over the index (e.g. no database)
            log.debug("Could not compare the index at %s with the outbox: %s", self.index.directory, error)

    # -- the thread -------------------------------------------------------------------------------------

    def _run(self, app, bind) -> None:
        delay, failures = CATCH_UP_FIRST_DELAY, 0
        try:
            while not self._stop.wait(delay):
                with self._lock:
                    self._wanted = False
                if self._attempt(app, bind, timeout=delay, failures=failures):
                    with self._lock:
                        if not self._wanted:  # decided under the lock: a later schedule() starts a new thread
                            self._thread = None
                            return
                    delay, failures = CATCH_UP_FIRST_DELAY, 0
                else:
                    delay, failures = min(delay * 2, CATCH_UP_MAX_DELAY), failures + 1
        finally:
            with self._lock:
                if self._thread is threading.current_thread():
                    self._thread = None
            _running.discard(self)

    def _attempt(self, app, bind, timeout: float, failures: int) -> bool:
        """Apply the outbox once; True when nothing is left (or another process has it all in hand)."""
        try:
            with app.app_context(), bind.connect() as connection:
                try:
                    if outbox.applied_change(self.index.directory) is not None \
                            and outbox.pending_count(connection, self.index.directory) == 0:
                        return True
                    applied = outbox.drain(self.index, connection, timeout)
                finally:
                    # a connection of its own, closed now: the thread may outlive the pool's owner
                    connection.invalidate()
            if applied:
                log.info("Caught up: applied %d outbox change(s) to %s", applied, self.index.directory)
            return True
        except (outbox.Busy, LockError):
            log.debug("Index %s still busy; retrying in up to %g s", self.index.directory, timeout * 2)
        except Exception:  # noqa: BLE001 - retried; the rows stay in the outbox meanwhile
            log.log(logging.WARNING if failures == 0 else logging.DEBUG,
                    "Catching up with the search outbox at %s failed; retrying", self.index.directory,
                    exc_info=True)
        return False

    # -- stopping ---------------------------------------------------------------------------------------

    def stop(self, timeout: float = EXIT_WAIT) -> None:
        """Stop the thread after its current attempt, waiting up to `timeout` seconds for it."""
        thread = self._thread
        self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def join(self, timeout: float) -> bool:
        """Wait until the thread has nothing left to do; True if it ended (tests)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self._thread is None


@atexit.register
def _stop_all() -> None:
    for catch_up in list(_running):
        catch_up.stop()
