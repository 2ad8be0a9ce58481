"""The CPU time a search's budget counts: its thread's, less the cyclic garbage collector's.

A collection runs in whichever thread allocates when a threshold is crossed, and a full one walks every object
of the process: in a long-lived process that is a second or more, landing on an ordinary search, which was then
refused as too costly (SEARCH_CPU_LIMIT). The collector's time in each thread is measured through gc.callbacks.
"""
import gc
import threading
import time


class _Collections(threading.local):
    started: float | None = None
    spent = 0.0


_collections = _Collections()


def _measure(phase: str, info: dict) -> None:
    if phase == "start":
        _collections.started = time.thread_time()
    elif _collections.started is not None:
        _collections.spent += time.thread_time() - _collections.started
        _collections.started = None


gc.callbacks.append(_measure)


def own_cpu_time() -> float:
    """This thread's CPU seconds (time.thread_time) without those the garbage collector spent in it."""
    return time.thread_time() - _collections.spent
