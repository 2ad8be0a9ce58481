"""Safe defaults only. Secrets and deployment settings come from instance/config.py or ZHIGU_* variables."""

#: Results per page on the archive and search pages.
PAGE_SIZE = 20
#: Most similar cases an initiative or case page shows.
SIMILAR_LIMIT = 10
#: Seconds an index writer waits for the lock held by another process before giving up.
INDEX_WRITER_TIMEOUT = 30.0
#: Apply the search outbox in the web process right after a commit that changed cases (the embedded
#: default); with `zhigu worker` running this only makes changes searchable sooner.
INDEX_INLINE_DRAIN = True
#: Seconds a request waits for another process applying the outbox before leaving it to that process.
INDEX_INLINE_DRAIN_TIMEOUT = 2.0
#: Seconds `zhigu worker` sleeps between outbox polls.
INDEX_POLL_INTERVAL = 1.0
#: With INDEX_INLINE_DRAIN off: seconds an outbox row may wait for `zhigu worker` before a web process applies
#: the outbox itself (and logs that no worker seems to keep up), so a server started without its worker still
#: gets its changes searched.
INDEX_WORKER_GRACE = 10.0
#: Load jieba and the index and count the archive's common words in a background thread when a process
#: starts serving (zhigu.search.warmup), so that no search pays for them.
SEARCH_WARM_UP = True
#: Stored nearest-case lists (zhigu.search.neighbours) the outbox drain computes after applying changes: the
#: first changed cases' (a public case has one for visitors and one for each park with park cases); the rest
#: fill in on their next read or in `zhigu worker`, so a 10,000-case import is not held up by 10,000 similar
#: searches. 0 leaves them all to those.
NEIGHBOURS_AT_DRAIN = 10
#: After a drain that left lists pending (zhigu.search.neighbours: those a manager's or an admin's trends page
#: reads of the newest cases, made wrong by a change), compute them in a background thread of the process that
#: applied it, as `zhigu worker` does in its polls: the embedded default has no worker. The sample
#: gunicorn.conf.py (beside a worker) and `zhigu worker` itself turn it off.
NEIGHBOURS_PENDING_AT_DRAIN = True
#: With the multilingual extra: changed cases the process that applied a drain embeds in a background thread
#: of its own (the embedded default has no worker); `zhigu worker` and `zhigu search embed` do the rest.
EMBED_AT_DRAIN = 20
#: Seconds applied search outbox rows are kept (7 days); an index whose position falls behind this rebuilds.
OUTBOX_RETENTION = 7 * 24 * 3600
#: Seconds between `zhigu worker`'s prunings of the search outbox.
OUTBOX_PRUNE_INTERVAL = 3600
#: Re-rank English "find similar" results with a sentence-embedding model (needs the `semantic` extra).
SEMANTIC_RERANK = False
#: Case embeddings each process keeps in memory for the semantic re-ranker (384 floats each).
SEMANTIC_CACHE_SIZE = 50_000
#: Fuse "find similar" with the cases' sentence vectors when the `multilingual` extra is installed and
#: the cases are embedded (zhigu.search.dense, zhigu.search.hybrid); False ranks by words alone.
DENSE_RANKING = True
#: Seconds between the notification scans `zhigu worker` runs (one machine per interval); 0: never.
NOTIFY_SCAN_INTERVAL = 300
#: Seconds between the e-mail digest runs `zhigu worker` makes (each user's own frequency still applies);
#: 0 leaves digests to `zhigu notify send-digests` from cron.
DIGEST_INTERVAL = 3600
#: Readiness fails when this many outbox rows wait to be applied to the index.
READY_MAX_PENDING = 500
#: Curators submit drafts for review by a manager of their park; False lets them publish directly.
REVIEW_REQUIRED = True
#: SMTP server of `zhigu notify send-digests` (MAIL_USERNAME / MAIL_PASSWORD from instance config or env).
MAIL_SERVER = "localhost"
MAIL_PORT = 25
MAIL_USE_TLS = False
MAIL_FROM = "zhigu@localhost"
#: Address of the site, for links in e-mails sent outside a request (digests from the command line).
BASE_URL = "http://localhost:5000"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_HTTPONLY = True
REMEMBER_COOKIE_SAMESITE = "Lax"
#: Log format of the `zhigu` loggers outside tests: "json" (one object per line), "text" or "none".
LOG_FORMAT = "json"
LOG_LEVEL = "INFO"
#: Trusted proxies in front of the app (X-Forwarded-For/Proto/Host); 0 trusts none.
PROXY_FIX_HOPS = 0
MAX_CONTENT_LENGTH = 16 * 1024 * 1024
JSON_SORT_KEYS = False
#: SQLite: seconds between a process's `PRAGMA optimize` runs (zhigu.db.SQLiteOptimizer), which keep the planner's
#: statistics current in an archive that grows through the web; 0 turns them off.
SQLITE_OPTIMIZE_INTERVAL = 600
#: Test each pooled connection as it is handed out, so one that died while idle (a database restart, a
#: terminated backend) is replaced instead of failing a request.
SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
