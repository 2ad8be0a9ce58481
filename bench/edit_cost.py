"""What an edit costs the process that applies it, over an archive `speed.py --keep` left: CPU of PATCHes of a case's
lessons through the API as an admin, each drained into the index in the request (Whoosh's commit and its merges),
no nearest-case lists computed. Edits change the archive: run it on a copy (`cp -a DIR COPY`).

    .venv/bin/python bench/edit_cost.py COPY                    # 150 edits, the app's merge policy (merge_tiers)
    .venv/bin/python bench/edit_cost.py COPY --merge whoosh     # Whoosh's MERGE_SMALL instead, for comparison
    .venv/bin/python bench/edit_cost.py COPY --merge none --profile

Prints mean, p50 and p95 CPU ms of the edits and the index's segment sizes at the end; `--profile`, the call tree
of all the edits (pyinstrument).
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from churn import editing_app  # noqa: E402  (bench/ is not a package)
from profile_pages import p  # noqa: E402

ADMIN = "edit-cost-admin@example.org"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path, help="a copy of a directory speed.py --keep left")
    parser.add_argument("--edits", type=int, default=150)
    parser.add_argument("--merge", choices=("tiers", "whoosh", "none"), default="tiers",
                        help="merge policy of the commits: the app's, Whoosh's MERGE_SMALL, or none")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    from whoosh import writing as whoosh_writing

    from zhigu.search import index as search_index
    from zhigu.search import warmup

    if args.merge != "tiers":  # SearchIndex.writing passes merge_tiers unless told otherwise
        policy = whoosh_writing.MERGE_SMALL if args.merge == "whoosh" else whoosh_writing.NO_MERGE
        search_index.merge_tiers = policy
    app, case_ids, token = editing_app(args.directory, ADMIN)
    warmup.warm_up(app)
    client, rng, times = app.test_client(), random.Random(3), []
    profiler = None
    if args.profile:
        from pyinstrument import Profiler
        profiler = Profiler(interval=0.001)
    for n in range(args.edits):
        case_id = rng.choice(case_ids)
        if profiler:
            profiler.start()
        started = time.process_time()
        response = client.patch(f"/api/v1/cases/{case_id}", headers={"Authorization": f"Bearer {token}"},
                                json={"lessons": f"Edit {n}: check the supplier's certificates first."})
        times.append((time.process_time() - started) * 1000)
        if profiler:
            profiler.stop()
        if response.status_code != 200:
            sys.exit(f"edit failed: {response.status_code} {response.get_data(as_text=True)[:300]}")
    with app.app_context():
        sizes = sorted(segment.doc_count_all() for segment in app.extensions["zhigu.search"].index._segments())
    print(f"{args.edits} edits, merge {args.merge}: CPU ms mean {sum(times) / len(times):.1f}, "
          f"p50 {p(times, .5):.1f}, p95 {p(times, .95):.1f}; segments at the end: {sizes}")
    if profiler:
        from pyinstrument.renderers import ConsoleRenderer
        print(ConsoleRenderer(unicode=False, color=False, short_mode=True).render(profiler.last_session))
    return 0


if __name__ == "__main__":
    sys.exit(main())
