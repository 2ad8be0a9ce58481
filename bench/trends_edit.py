"""A park manager's and an admin's `/trends` page after edits that may move an old case, with and without a
poll of `zhigu worker` between the edit and the visit.

Their recurrences read nearest-case lists stored when trends first read them ("manager:<park>", "all"). An edit
that may move a case (its title here) makes the lists of every case published since wrong; they are marked
pending, and the worker computes those of the thirty newest cases (an unfiltered trends page's) again first.
Without the worker's poll, the visit computes them itself: that was every such visit before.

Runs on the database and index `load.py --setup-only` left (PostgreSQL, 10,000 cases: restore a copy between
runs, this edits them). It makes the newest --private cases private cases of a new park, so both viewers'
new cases are restricted ones, then alternates the two kinds of round:

    .venv/bin/python bench/trends_edit.py --database zhigu_load10k --workdir /tmp/zhigu-load10k --rounds 3

Prints, per round and viewer: the worker's poll (wall s, lists computed), then the visit's wall and CPU ms and
the "find similar" searches it ran.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from load import archive_arguments, zhigu_env  # noqa: E402  (bench/ is not a package)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    archive_arguments(parser)
    parser.add_argument("--private", type=int, default=300, help="newest cases made private cases of one park")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each kind (alternated)")
    args = parser.parse_args()
    os.environ.update({key: value for key, value in zhigu_env(args, args.workdir).items() if key.startswith("ZHIGU_")})
    # as beside `zhigu worker` (gunicorn.conf.py): the rounds poll it, or not, themselves
    os.environ.update(ZHIGU_INDEX_INLINE_DRAIN="false", ZHIGU_EMBED_AT_DRAIN="0",
                      ZHIGU_NEIGHBOURS_PENDING_AT_DRAIN="false")
    from sqlalchemy import select

    from zhigu import create_app
    from zhigu.archive.models import CaseStatus, FailureCase, Visibility
    from zhigu.auth.models import Park, Role, User
    from zhigu.auth.services import start_session
    from zhigu.extensions import db
    from zhigu.search import neighbours, outbox, warmup

    app = create_app()
    index = app.extensions["zhigu.search"]

    def drain() -> None:
        with app.app_context():
            outbox.drain(index, db.engine)

    with app.app_context():
        park = Park(slug="bench-trends-edit", name="Trends edit bench", region="Zhejiang/Hangzhou")
        db.session.add(park)
        db.session.flush()
        viewers = {"manager": User(email="trends-manager@example.org", display_name="M", password_hash="x",
                                   role=Role.manager, park_id=park.id),
                   "admin": User(email="trends-admin@example.org", display_name="A", password_hash="x",
                                 role=Role.admin)}
        db.session.add_all(viewers.values())
        published = (select(FailureCase).where(FailureCase.status == CaseStatus.published))
        for case in db.session.scalars(published.order_by(FailureCase.published_at.desc(), FailureCase.id.desc())
                                       .limit(args.private)):
            case.park_id, case.visibility = park.id, Visibility.private
        db.session.commit()
        old_ids = db.session.scalars(select(FailureCase.id).where(FailureCase.status == CaseStatus.published)
                                     .order_by(FailureCase.published_at, FailureCase.id).limit(4 * args.rounds)).all()
        titles = dict(db.session.execute(select(FailureCase.id, FailureCase.title)
                                         .where(FailureCase.id.in_(old_ids))).all())
        sessions = {who: f"{user.id}:{start_session(user)}" for who, user in viewers.items()}
    drain()
    with app.app_context():
        neighbours.compute_missing()  # the eager lists of the cases just made private
    warmup.warm_now(app)
    clients = {}
    for who, session_id in sessions.items():
        clients[who] = app.test_client()
        with clients[who].session_transaction() as session:  # as the log-in form leaves it (Flask-Login's keys)
            session["_user_id"], session["_fresh"] = session_id, True

    searches = []
    original = neighbours.similar_to_case
    neighbours.similar_to_case = lambda viewer, case, **kwargs: searches.append(1) or original(viewer, case, **kwargs)

    def visit(who: str, label: str) -> None:
        searches.clear()
        started, started_cpu = time.perf_counter(), time.process_time()
        response = clients[who].get("/trends")
        wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
        assert response.status_code == 200, response.status_code
        print(f"{label:34s} {who:8s} {wall * 1000:8.0f} {cpu * 1000:8.0f} {len(searches):9d}", flush=True)

    print(f"{'round':34s} {'viewer':8s} {'wall ms':>8s} {'CPU ms':>8s} {'searches':>9s}")
    for who in clients:
        visit(who, "first visit (lists stored)")
        visit(who, "again, same generation")
    edits = iter(old_ids)
    for round_ in range(1, args.rounds + 1):
        for with_worker in (False, True):
            for who in clients:  # an edit before each viewer's visit: the other's lists are wrong again too
                case_id = next(edits)
                with app.app_context():
                    case = db.session.get(FailureCase, case_id)
                    case.title = f"{titles[case_id]} (edited in round {round_})"
                    db.session.commit()
                drain()
                label = f"round {round_}, visit after the edit"
                if with_worker:
                    started = time.perf_counter()
                    with app.app_context():
                        stored = neighbours.compute_missing(neighbours.WORKER_BATCH)
                    label = f"round {round_}, worker {time.perf_counter() - started:4.1f} s ({stored:2d} lists)"
                visit(who, label)
    return 0


if __name__ == "__main__":
    sys.exit(main())
