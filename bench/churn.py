"""What a new index generation costs the next request of each kind, in one process, over an archive `speed.py --keep`
left: the gap between the load mix alone (about 32 ms of CPU a request at 10,000 cases) and under `load.py` (about
130 ms), where every edit makes a generation that each web process meets on its next requests.

    .venv/bin/python bench/churn.py DIR                       # every kind, 30 requests each way
    .venv/bin/python bench/churn.py DIR --kinds similar --profile 12

For each kind of `load.py`'s mix (case page, search page, API search, "find similar"): CPU p50/p95 of requests in
a steady index (one edit, three requests to warm up, then no edits), then of requests that each follow an edit
(PATCH of a case's lessons through the API as an admin, applied to the index in the same process, timed apart as
`edit`), and the difference: what one generation costs a process's first request of that kind. `--profile N`: the
top N frames (own time, pyinstrument) of both sets of requests; `--tree`, their call trees too. Edits change the
archive: run it on a copy (`cp -a DIR COPY`) if the figures of another benchmark must stay comparable.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).parent))

from profile_pages import p, top_frames  # noqa: E402  (bench/ is not a package)
from speed import Recombiner  # noqa: E402

KINDS = ("case", "search", "search_api", "similar")
#: Cases whose nearest cases are stored (and kept stored after edits); case pages open these.
LISTED = 200
ADMIN = "churn-admin@example.org"


def one_request(kind: str, client, case_ids: list[int], rng: random.Random, recombiner: Recombiner):
    """A zero-argument callable sending one request of `kind`, as load.py's mix does."""
    if kind == "case":
        case_id = rng.choice(case_ids)
        return lambda: client.get(f"/cases/{case_id}")
    if kind in ("search", "search_api"):
        path = "/search?" if kind == "search" else "/api/v1/cases?"
        query = urlencode({"q": recombiner.search_words(rng)})
        return lambda: client.get(path + query)
    text = recombiner.description(rng)
    return lambda: client.post("/api/v1/similar", json={"description": text, "limit": 10})


def store_missing_lists(app, ids: list[int]) -> None:
    """Store the nearest cases of those of `ids` whose list is missing (edits drop lists), as `zhigu worker` does."""
    from zhigu.search import neighbours

    with app.app_context():
        neighbours.compute(sorted(set(ids) & set(neighbours.missing_ids())))


def editing_app(directory: Path, admin_email: str):
    """(app over the archive in `directory`, its published case ids, an admin's API token): the app as the
    benchmarks that edit run it (no warm-up, no lists or vectors computed at drain, no rate limits)."""
    from sqlalchemy import select

    from zhigu import create_app
    from zhigu.archive.models import FailureCase
    from zhigu.auth import services as auth
    from zhigu.auth.models import User
    from zhigu.extensions import db

    app = create_app({"SECRET_KEY": "bench", "RATELIMIT_ENABLED": False, "SEARCH_WARM_UP": False,
                      "NEIGHBOURS_AT_DRAIN": 0, "EMBED_AT_DRAIN": 0, "REVIEW_REQUIRED": False, "LOG_LEVEL": "WARNING",
                      "DATABASE_URL": f"sqlite:///{directory / 'zhigu.sqlite'}", "INDEX_DIR": str(directory / "index")})
    with app.app_context():
        case_ids = list(db.session.scalars(select(FailureCase.id).where(FailureCase.status == "published")))
        admin = db.session.scalar(select(User).where(User.email == admin_email)) or auth.create_user(
            admin_email, "bench-password-1", role="admin", display_name="Bench admin")
        _, token = auth.create_token(admin, "bench")
    return app, case_ids, token


def cpu_ms(call) -> float:
    started = time.process_time()
    response = call()
    if response.status_code not in (200, 400):  # 400: a search the CPU limit refused, as in load.py
        sys.exit(f"request failed: {response.status_code} {response.get_data(as_text=True)[:300]}")
    return (time.process_time() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path, help="a directory speed.py --keep left (zhigu.sqlite, index/)")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated, of {', '.join(KINDS)}")
    parser.add_argument("--requests", type=int, default=30, help="requests per kind, steady and after an edit")
    parser.add_argument("--profile", type=int, default=0,
                        help="list this many top frames of the requests, steady and after an edit")
    parser.add_argument("--tree", action="store_true", help="with --profile, also print the call trees")
    args = parser.parse_args()
    from zhigu.search import warmup

    app, case_ids, token = editing_app(args.directory, ADMIN)
    warmup.warm_up(app)
    client, rng, recombiner = app.test_client(), random.Random(11), Recombiner()
    edits: list[float] = []

    # Case pages open cases whose nearest cases are stored, as `zhigu worker` keeps them (after every edit too).
    listed = rng.sample(case_ids, min(len(case_ids), LISTED))
    store_missing_lists(app, listed)

    def edit() -> None:
        case_id, n = rng.choice(case_ids), len(edits) + 1

        def patch():
            return client.patch(f"/api/v1/cases/{case_id}", headers={"Authorization": f"Bearer {token}"},
                                json={"lessons": f"Churn edit {n}: check the supplier's certificates first."})

        edits.append(cpu_ms(patch))
        store_missing_lists(app, listed)

    profiler = Profiler = None
    if args.profile:
        from pyinstrument import Profiler
        profiler = Profiler(interval=0.001)
    print(f"{len(case_ids)} published cases in {args.directory}; {args.requests} requests per kind each way "
          "(CPU ms, p50 / p95)")
    print(f"{'kind':12} {'steady':>15} {'after an edit':>15} {'difference p50':>15}")
    for kind in [name.strip() for name in args.kinds.split(",") if name.strip()]:
        if kind not in KINDS:
            sys.exit(f"unknown kind {kind!r}: one of {', '.join(KINDS)}")
        edit()  # each kind starts in a generation of its own, warmed by three requests only
        for _ in range(3):
            one_request(kind, client, listed, rng, recombiner)()
        steady, after, sessions = [], [], {}
        for label, times, edited in (("steady", steady, False), ("after an edit", after, True)):
            if profiler:
                profiler = Profiler(interval=0.001)
            for _ in range(args.requests):
                if edited:
                    edit()
                call = one_request(kind, client, listed, rng, recombiner)
                if profiler:
                    profiler.start()
                times.append(cpu_ms(call))
                if profiler:
                    profiler.stop()
            if profiler:
                sessions[label] = profiler.last_session
        print(f"{kind:12} {p(steady, .5):6.1f} / {p(steady, .95):6.1f} {p(after, .5):6.1f} / {p(after, .95):6.1f} "
              f"{p(after, .5) - p(steady, .5):15.1f}")
        for label, session in sessions.items():
            print(f"  {label}:")
            for share, frame in top_frames(session, args.profile):
                print(f"    {share:6.1%}  {frame}")
            if args.tree:
                from pyinstrument.renderers import ConsoleRenderer
                print(ConsoleRenderer(unicode=False, color=False, short_mode=True).render(session))
    print(f"{'edit':12} {p(edits, .5):6.1f} / {p(edits, .95):6.1f}   ({len(edits)} edits, each applied to the index "
          "in this process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
