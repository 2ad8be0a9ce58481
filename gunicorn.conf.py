"""Sample gunicorn settings for Zhigu; gunicorn reads ./gunicorn.conf.py by itself.

    ZHIGU_DATABASE_URL=postgresql+psycopg://zhigu@db-host/zhigu gunicorn "zhigu:create_app()"

Each worker opens its own database pool and index searchers; index writes go through the outbox and one
writer at a time (see README, "Serving in production"), so any number of workers is safe.
"""
import os

bind = os.environ.get("ZHIGU_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# Not preloaded: a database pool or an open index must not be shared across fork().
preload_app = False
timeout = 60
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then (jieba and Whoosh caches grow with use).
max_requests = 5000
max_requests_jitter = 500
# The app logs each request as JSON with its request id (logger zhigu.access); gunicorn logs only errors.
accesslog = None
errorlog = "-"
# Behind a TLS-terminating proxy on the same host, let gunicorn trust its X-Forwarded-* headers, and set
# ZHIGU_PROXY_FIX_HOPS=1 so the app sees HTTPS (Secure cookies, HSTS).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# `zhigu worker` runs beside gunicorn (README, "Serving in production") and embeds every changed case's text
# (multilingual extra): web workers embedding after their own drains as well took 13% of their CPU under
# bench/load.py. Set ZHIGU_EMBED_AT_DRAIN to have them embed anyway (say, with no worker).
os.environ.setdefault("ZHIGU_EMBED_AT_DRAIN", "0")
# The same worker computes again the nearest-case lists an edit dropped: an edit's request computing its own
# list made saving a case take 297 ms (p50, one client) instead of 59 ms under bench/load.py at 10,000 cases
# (bench/README.md). A page that needs a list first computes it. Set ZHIGU_NEIGHBOURS_AT_DRAIN with no worker.
os.environ.setdefault("ZHIGU_NEIGHBOURS_AT_DRAIN", "0")
os.environ.setdefault("ZHIGU_NEIGHBOURS_PENDING_AT_DRAIN", "false")  # the worker computes the pending lists too
# The same worker applies the search outbox: each poll puts every change of the last second into one index
# commit, so a burst of edits makes one index generation instead of one each, which each web worker must open
# and count its statistics and facets for. Under bench/load.py at 10,000 cases (2026-12-06): 20.7 to 35.3
# requests/s at 8 clients, 83 to 51 ms of CPU a request; an edit searchable within about two seconds instead
# of at once. A web worker still applies rows that waited over ZHIGU_INDEX_WORKER_GRACE (10 s: no worker running).
os.environ.setdefault("ZHIGU_INDEX_INLINE_DRAIN", "false")


def post_worker_init(worker):
    """Warm the search up (jieba, the index, the common words' statistics, the facets' documents, the case
    vectors) before the worker accepts its first request, so that no request pays for it (about 2.5 s at 10,000
    cases, 15 s at 100,000, bench/first_request.py: within `timeout`); then keep what it loaded out of the
    garbage collector's passes (warmup.prepare_to_serve)."""
    from zhigu.search import warmup

    warmup.prepare_to_serve(worker.wsgi)
