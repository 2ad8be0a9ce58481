"""CPU of each request kind of `load.py`'s mix in one process, with index generations arriving as under load: the
steadier figure on a noisy machine, and one to profile. Runs on the database and index `load.py --setup-only`
(or a run) left; edits change them, so restore a copy between runs to compare two versions of the code.

    .venv/bin/python bench/mix_cpu.py --database zhigu_load10k --workdir /tmp/zhigu-load10k
    .venv/bin/python bench/mix_cpu.py ... --kind similar --requests 200 --per-generation 2 --profile

Each round makes one index generation (--edits PATCHes of a case's lessons through the API, drained into the
index as `zhigu worker` would drain them) and then sends --per-generation requests drawn from load.py's mix
(or all of --kind); the edits and the drain are timed apart from the requests. Prints the mean, p50 and p95 CPU
ms per kind and the mean per request of the mix (edits included, as load.py's 10% of them); `--profile`,
cProfile's top functions of the requests by cumulative time (`--profile-sort tottime`: by own time;
`--profile-file`: kept). `--per-generation 0`: no edits, one index generation all along (the steady pages).
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from load import KINDS, Mix, archive_arguments, server_url, zhigu_env  # noqa: E402  (bench/ is not a package)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    archive_arguments(parser)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--kind", choices=[kind for kind, _ in KINDS if kind != "edit"],
                        help="send only this kind (default: the mix without its edits)")
    parser.add_argument("--requests", type=int, default=360, help="requests in all (edits not counted)")
    parser.add_argument("--per-generation", type=int, default=9,
                        help="requests per index generation (0: no edits); load.py's 8 clients gave each gunicorn "
                             "worker about 9 a generation")
    parser.add_argument("--edits", type=int, default=3, help="edits per generation")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-sort", default="cumulative", help="pstats sort key of --profile (e.g. tottime)")
    parser.add_argument("--profile-file", type=Path, help="also write --profile's stats to this file")
    args = parser.parse_args()
    os.environ.update({key: value for key, value in zhigu_env(args, args.workdir).items() if key.startswith("ZHIGU_")})
    os.environ.update(ZHIGU_INDEX_INLINE_DRAIN="false", ZHIGU_NEIGHBOURS_AT_DRAIN="0", ZHIGU_EMBED_AT_DRAIN="0")
    from sqlalchemy import select

    from zhigu import create_app
    from zhigu.archive.models import CaseStatus, FailureCase
    from zhigu.extensions import db
    from zhigu.search import outbox, warmup

    app = create_app()
    warmup.warm_now(app)
    with app.app_context():
        case_ids = db.session.scalars(select(FailureCase.id).where(FailureCase.status == CaseStatus.published)
                                      .order_by(FailureCase.id)).all()
    print(f"{len(case_ids)} published cases in {server_url(args)}", flush=True)
    token = (args.workdir / "token").read_text().strip()
    inputs = Mix(args, case_ids, token)  # load.py's searches and descriptions
    rng = random.Random(args.seed + 2)
    client = app.test_client()
    edits = 0

    def send(kind: str) -> None:
        nonlocal edits
        if kind == "case page":
            response = client.get(f"/cases/{rng.choice(case_ids)}")
        elif kind == "search page":
            response = client.get("/search", query_string={"q": rng.choice(inputs.searches)})
        elif kind == "API search":
            response = client.get("/api/v1/cases", query_string={"q": rng.choice(inputs.searches)})
        elif kind == "similar":
            response = client.post("/api/v1/similar",
                                   json={"description": rng.choice(inputs.descriptions), "limit": 10})
        else:
            edits += 1
            response = client.patch(f"/api/v1/cases/{rng.choice(case_ids)}",
                                    headers={"Authorization": f"Bearer {token}"},
                                    json={"lessons": f"mix_cpu edit {edits}: check the supplier's certificates."})
        if response.status_code != 200:
            raise SystemExit(f"{kind}: {response.status_code} {response.get_data(as_text=True)[:300]}")

    mix = [(kind, weight) for kind, weight in KINDS if kind != "edit" and kind == (args.kind or kind)]
    for kind, _ in mix:
        send(kind)  # first requests of each kind: not counted
    cpu: dict[str, list[float]] = defaultdict(list)
    profiler = cProfile.Profile() if args.profile else None
    index = app.extensions["zhigu.search"]
    for n in range(args.requests):
        if args.per_generation and n % args.per_generation == 0:
            for _ in range(args.edits):
                started = time.thread_time()
                send("edit")
                cpu["edit"].append(time.thread_time() - started)
            started = time.thread_time()
            with app.app_context():
                outbox.drain(index, db.engine)
            cpu["drain (worker)"].append(time.thread_time() - started)
        kind = rng.choices([kind for kind, _ in mix], [weight for _, weight in mix])[0]
        started = time.thread_time()
        if profiler:
            profiler.enable()
        send(kind)
        if profiler:
            profiler.disable()
        cpu[kind].append(time.thread_time() - started)

    print(f"{'kind':16} {'count':>6} {'mean ms':>8} {'p50 ms':>8} {'p95 ms':>8}")
    for kind, times in cpu.items():
        p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
        print(f"{kind:16} {len(times):6} {1000 * statistics.mean(times):8.1f} {1000 * statistics.median(times):8.1f} "
              f"{1000 * p95:8.1f}")
    if not args.kind:  # load.py's weights, edits included
        weights = dict(KINDS)
        mean = sum(weights[kind] * statistics.mean(times) for kind, times in cpu.items() if kind in weights)
        print(f"mix (load.py's weights): {1000 * mean / sum(weights.values()):.1f} ms CPU a request")
    if profiler:
        if args.profile_file:
            profiler.dump_stats(args.profile_file)
        pstats.Stats(profiler).sort_stats(args.profile_sort).print_stats(40)
    return 0


if __name__ == "__main__":
    sys.exit(main())
