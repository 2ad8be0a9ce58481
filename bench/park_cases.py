"""Make some cases of an archive `speed.py --keep` left park-visible for one park, so that a park member's pages
(`profile_pages.py DIR --viewer member`) have restricted cases to rank.

    .venv/bin/python bench/speed.py --sizes 10000 --keep --tmp /work/benchdata   # once: builds DIR
    PYTHONPATH=. .venv/bin/python bench/park_cases.py DIR --cases 1000           # then: 1,000 cases of one park

The archive `speed.py` builds has no parks and only public cases. This creates the park (`--park`, if it does
not exist yet), moves `--cases` published public cases drawn at random (`--seed`) into it as `park` cases,
through the ORM (the outbox records them as any edit would) and applies the outbox to the index. The stored
nearest cases the changes make wrong are dropped; none are computed here (NEIGHBOURS_AT_DRAIN 0). Running it
again adds `--cases` more (`--cases 0`: none).

`--store-lists N` then stores N missing nearest-case lists of the visitors' audience and N of the park's members'
(zhigu.search.neighbours), and prints what a list costs in each: CPU, rows and bytes (the `why` JSON, and the
database file's growth), to scale to every list of an archive.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path, help="a directory speed.py --keep left (zhigu.sqlite, index/)")
    parser.add_argument("--cases", type=int, default=1000, help="public cases made park-visible")
    parser.add_argument("--park", default="bench-park", help="the park's slug")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--store-lists", type=int, default=0, metavar="N",
                        help="then store N missing lists of each audience, timed")
    args = parser.parse_args()
    from sqlalchemy import select

    from zhigu import create_app
    from zhigu.archive.models import CaseStatus, FailureCase, Visibility
    from zhigu.auth import services as auth
    from zhigu.extensions import db
    from zhigu.search import outbox

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SEARCH_WARM_UP": False, "NEIGHBOURS_AT_DRAIN": 0,
                      "DATABASE_URL": f"sqlite:///{args.directory / 'zhigu.sqlite'}",
                      "INDEX_DIR": str(args.directory / "index")})
    with app.app_context():
        park = auth.find_park(args.park) or auth.create_park(None, {"slug": args.park, "name": "Bench park"})
        db.session.commit()
        public = list(db.session.scalars(select(FailureCase.id).where(
            FailureCase.status == CaseStatus.published, FailureCase.visibility == Visibility.public)
            .order_by(FailureCase.id)))
        chosen = random.Random(args.seed).sample(public, min(args.cases, len(public)))
        started, started_cpu = time.perf_counter(), time.process_time()
        for case in db.session.scalars(select(FailureCase).where(FailureCase.id.in_(chosen))):
            case.visibility, case.park_id = Visibility.park, park.id
        db.session.commit()
        index = app.extensions["zhigu.search"]
        outbox.drain(index)  # what the commit's own drain (the embedded default) left, if any
        left = outbox.pending_count(db.engine, index.directory)
        park_cases = db.session.scalar(select(db.func.count()).where(FailureCase.park_id == park.id,
                                                                      FailureCase.visibility == Visibility.park))
        print(f"{len(chosen)} cases made park-visible for park {park.slug!r} (id {park.id}; it holds "
              f"{park_cases} park cases) and indexed in {time.perf_counter() - started:.1f} s "
              f"({time.process_time() - started_cpu:.1f} s CPU); {left} outbox rows left unapplied")
        if args.store_lists:
            store_lists(args.directory / "zhigu.sqlite", park.id, args.store_lists)
    return 0


def store_lists(database: Path, park_id: int, n: int) -> None:
    """Store `n` missing lists of the visitors' audience and of the park's; print each's cost per list."""
    from sqlalchemy import func, select

    from zhigu.extensions import db
    from zhigu.search import neighbours
    from zhigu.search.models import CaseNeighbour, NeighbourList

    audiences = {neighbours.PUBLIC: "visitors", neighbours.park_audience(park_id): "park members"}
    missing = neighbours.missing()
    for audience, who in audiences.items():
        pairs = [pair for pair in missing if pair[1] == audience][:n]
        size, started, started_cpu = database.stat().st_size, time.perf_counter(), time.process_time()
        stored = neighbours.compute_lists(pairs)
        cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
        rows, why_bytes = db.session.execute(select(func.count(), func.sum(func.length(CaseNeighbour.why)))
                                             .where(CaseNeighbour.audience == audience)).one()
        lists = db.session.scalar(select(func.count()).where(NeighbourList.audience == audience))
        left = len([pair for pair in neighbours.missing() if pair[1] == audience])
        print(f"{who} ({audience}): {stored} lists stored in {cpu:.1f} s CPU ({1000 * cpu / max(stored, 1):.0f} ms "
              f"a list; {wall:.1f} s wall); the audience has {lists} lists, {rows} rows, "
              f"{(why_bytes or 0) / max(rows, 1):.0f} bytes of `why` a row; the database grew "
              f"{(database.stat().st_size - size) / max(stored, 1) / 1024:.1f} KB a list; {left} lists missing")


if __name__ == "__main__":
    sys.exit(main())
