"""Where each page of issue 13's table spends its time: pyinstrument profiles over an archive `speed.py --keep` built.

    .venv/bin/python bench/speed.py --sizes 10000 --keep --tmp /work/benchdata   # once: builds DIR
    .venv/bin/python bench/profile_pages.py DIR                                  # the top frames of every page
    .venv/bin/python bench/profile_pages.py DIR --pages similar --html out/      # one page, and HTML profiles

The process warms up first as a served one does (zhigu.search.warmup, timed apart). For each page (case page,
trends, search page, search API, "find similar"), the process's first request is timed apart (what a first view
after an index change costs: the per-process caches are empty), two more warm the page's caches; then the requests are
timed (p50/p95 wall and CPU, not profiled), and as many others run under pyinstrument, whose frames with the
most time of their own are listed as a share of the total. The requests are those `speed.py` sends (the same
recombined descriptions and words), as a visitor, or with `--viewer member` as a member of the park with the
most restricted cases. Case pages open cases whose nearest cases are stored, and
the newest cases (those trends' recurrences read) have theirs stored, as `zhigu worker` leaves them (`--cold`:
not stored, the live fallback). `park_cases.py` gives a park restricted cases first.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).parent))

from speed import Recombiner  # noqa: E402  (bench/ is not a package)

PAGES = ("case", "trends", "search", "search_api", "similar")


def requests_for(page: str, client, case_ids: list[int], rng: random.Random, recombiner: Recombiner, n: int):
    """`n` zero-argument callables, each sending one request of `page`."""
    if page == "case":
        return [lambda case_id=rng.choice(case_ids): client.get(f"/cases/{case_id}") for _ in range(n)]
    if page == "trends":
        today = date.today()
        windows = [{"from": (today - timedelta(days=365 + rng.randrange(3000))).isoformat(), "to": today.isoformat()}
                   for _ in range(n)]
        return [lambda window=window: client.get("/trends?" + urlencode(window)) for window in windows]
    if page in ("search", "search_api"):
        path = "/search?" if page == "search" else "/api/v1/cases?"
        return [lambda words=recombiner.search_words(rng): client.get(path + urlencode({"q": words}))
                for _ in range(n)]
    return [lambda text=recombiner.description(rng): client.post("/api/v1/similar", json={"description": text,
                                                                                          "limit": 10})
            for _ in range(n)]


def top_frames(session, limit: int) -> list[tuple[float, str]]:
    """(share of the total, 'function  file:line') of the frames with the most time of their own."""
    own: dict[str, float] = {}

    def walk(frame):
        key = f"{frame.function}  {Path(frame.file_path or '?').name}:{frame.line_no}"
        for child in frame.children:
            if child.is_synthetic_leaf:  # pyinstrument's "[self]": time spent in `frame` itself
                own[key] = own.get(key, 0.0) + child.time
            else:
                walk(child)

    root = session.root_frame()
    if root is None:
        return []
    walk(root)
    ranked = sorted(own.items(), key=lambda item: item[1], reverse=True)[:limit]
    return [(seconds / root.time if root.time else 0.0, key) for key, seconds in ranked]


def timed(calls) -> tuple[list[float], list[float], set[int]]:
    """Wall and CPU milliseconds of each call, and the statuses seen."""
    wall, cpu, statuses = [], [], set()
    for call in calls:
        started, started_cpu = time.perf_counter(), time.process_time()
        statuses.add(call().status_code)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return wall, cpu, statuses


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path, help="a directory speed.py --keep left (zhigu.sqlite, index/)")
    parser.add_argument("--pages", default=",".join(PAGES), help=f"comma-separated, of {', '.join(PAGES)}")
    parser.add_argument("--requests", type=int, default=20, help="profiled requests per page")
    parser.add_argument("--top", type=int, default=12, help="frames listed per page")
    parser.add_argument("--viewer", choices=("visitor", "member"), default="visitor")
    parser.add_argument("--cold", action="store_true",
                        help="case pages of cases whose nearest cases are not stored (the live fallback)")
    parser.add_argument("--tree", action="store_true", help="also print each page's call tree (pyinstrument's text)")
    parser.add_argument("--html", type=Path, help="also write each page's profile as HTML into this directory")
    args = parser.parse_args()
    try:
        from pyinstrument import Profiler
    except ImportError:
        sys.exit("pyinstrument is not installed: pip install -e '.[bench]'")
    from sqlalchemy import select

    from zhigu import create_app
    from zhigu.archive.models import FailureCase
    from zhigu.extensions import db

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                      "SEARCH_WARM_UP": False,
                      "DATABASE_URL": f"sqlite:///{args.directory / 'zhigu.sqlite'}",
                      "INDEX_DIR": str(args.directory / "index")})
    with app.app_context():
        case_ids = list(db.session.scalars(select(FailureCase.id).where(FailureCase.status == "published")))
    # What a process does at start (gunicorn's post_worker_init, or its first request), timed apart.
    from zhigu.search import warmup

    started = time.process_time()
    counted = warmup.warm_up(app)
    print(f"warm-up: {counted} terms counted in {time.process_time() - started:.1f} s of CPU")
    client = app.test_client()
    if args.viewer == "member":
        client = _member_client(app, client)
    recombiner, rng = Recombiner(), random.Random(7)
    print(f"{len(case_ids)} published cases in {args.directory}; {args.requests} requests per page, "
          f"as a {args.viewer}")
    for page in [name.strip() for name in args.pages.split(",") if name.strip()]:
        if page not in PAGES:
            sys.exit(f"unknown page {page!r}: one of {', '.join(PAGES)}")
        if page == "case" and not args.cold:
            _store_neighbours(app, case_ids, rng, 3 + 2 * args.requests)
        if page == "trends" and not args.cold:
            _store_newest(app)
        first_wall, first_cpu, _ = timed(requests_for(page, client, case_ids, rng, recombiner, 1))
        for call in requests_for(page, client, case_ids, rng, recombiner, 2):
            call()  # warm up
        wall, cpu, statuses = timed(requests_for(page, client, case_ids, rng, recombiner, args.requests))
        profiler = Profiler(interval=0.001)
        profiler.start()
        timed(requests_for(page, client, case_ids, rng, recombiner, args.requests))
        profiler.stop()
        print(f"\n== {page}: p50 / p95 {p(wall, .5):.1f} / {p(wall, .95):.1f} ms wall, "
              f"{p(cpu, .5):.1f} / {p(cpu, .95):.1f} ms CPU (not profiled); statuses {sorted(statuses)}; "
              f"the process's first: {first_wall[0]:.1f} ms wall, {first_cpu[0]:.1f} ms CPU")
        for share, frame in top_frames(profiler.last_session, args.top):
            print(f"  {share:6.1%}  {frame}")
        if args.tree:
            print(profiler.output_text(unicode=False, color=False, short_mode=True))
        if args.html:
            args.html.mkdir(parents=True, exist_ok=True)
            (args.html / f"{page}.html").write_text(profiler.output_html(), encoding="utf-8")
    return 0


def _store_neighbours(app, case_ids: list[int], rng: random.Random, draws: int) -> None:
    """Store the nearest cases of the cases the case pages will open (as `zhigu worker` would have), by drawing
    from a copy of `rng`: the same choices the requests make next."""
    from zhigu.search import neighbours

    ahead = random.Random()
    ahead.setstate(rng.getstate())
    wanted = {ahead.choice(case_ids) for _ in range(draws)}
    with app.app_context():
        missing = sorted(wanted & set(neighbours.missing_ids()))
        neighbours.compute(missing)


def _store_newest(app) -> None:
    """Store the nearest cases of the newest published cases, those trends' recurrences read (as `zhigu worker`
    would have)."""
    from sqlalchemy import select

    from zhigu.archive.models import FailureCase
    from zhigu.extensions import db
    from zhigu.search import neighbours
    from zhigu.trends.services import RECURRENCE_CHECKED

    with app.app_context():
        newest = db.session.scalars(select(FailureCase.id).where(FailureCase.status == "published")
                                    .order_by(FailureCase.published_at.desc(), FailureCase.id.desc())
                                    .limit(2 * RECURRENCE_CHECKED))
        neighbours.compute(sorted(set(newest) & set(neighbours.missing_ids())))


def _member_client(app, client):
    """Log `client` in as a new member of the park that holds the most restricted cases."""
    from sqlalchemy import func, select

    from zhigu.archive.models import FailureCase, Visibility
    from zhigu.auth import services as auth
    from zhigu.auth.models import Park, User
    from zhigu.extensions import db

    with app.app_context():
        park_id = db.session.scalar(select(FailureCase.park_id).where(FailureCase.visibility != Visibility.public,
                                                                       FailureCase.park_id.is_not(None))
                                    .group_by(FailureCase.park_id).order_by(func.count().desc()).limit(1))
        park = db.session.get(Park, park_id) if park_id else db.session.scalars(select(Park).limit(1)).first()
        email = "profile-member@example.org"
        if db.session.scalar(select(User.id).where(User.email == email)) is None:
            auth.create_user(email, "profile-password-1", role="member", park_slug=park.slug if park else None,
                             display_name="Profile member")
    response = client.post("/login", data={"email": email, "password": "profile-password-1"})
    if response.status_code not in (302, 303):
        sys.exit(f"could not log the member in: {response.status_code}")
    return client


if __name__ == "__main__":
    sys.exit(main())
