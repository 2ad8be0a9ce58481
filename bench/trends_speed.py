"""Time the trends dashboard on a large archive: page time and SQL statements issued.

Inserts N synthetic published cases with bulk INSERTs (causes, sectors, regions, markets, stages, dates and
money drawn at random, a fixed seed), spread over three parks and the three visibilities, then requests
`GET /api/v1/trends` (a bearer token) and the `/trends` page (a logged-in browser session) as a park manager
and as an admin, over a two-year window and a six-year one by market.

The bulk insert bypasses the search index, so the recurrence list (one similar search per new case, at most
RECURRENCE_CHECKED of them) finds nothing here; `--index` rebuilds the index first (slow at 100,000:
~300-400 cases/s) so that its cost is included. `--database-url` fills an empty database of your own instead of
a temporary SQLite file (PostgreSQL: create it first; the tables are created, and left, there). Each line gives the
median and max wall time and the median CPU time of this process (the database server's own is not counted).
The process warms up first, as a gunicorn worker does before it accepts requests (gunicorn.conf.py): without
it, the first request paid the process's first database statements (SQLAlchemy's mappers and compiled
statements, psycopg's connection), 1.65 s of CPU at 100,000 cases, and showed as the first line's max.

    .venv/bin/python bench/trends_speed.py --cases 100000
    .venv/bin/python bench/trends_speed.py --cases 10000 --index
    .venv/bin/python bench/trends_speed.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/zhigu_trends
"""
import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--index", action="store_true", help="rebuild the search index (recurrences measured)")
    parser.add_argument("--database-url", help="an empty database to fill instead of a temporary SQLite file, e.g. "
                                               "postgresql+psycopg://postgres@127.0.0.1:5432/zhigu_trends")
    args = parser.parse_args()

    from sqlalchemy import event, insert, select

    from zhigu import create_app
    from zhigu.archive.models import CaseCause, Cause, FailureCase
    from zhigu.archive.services import seed_causes
    from zhigu.archive.vocabulary import SECTORS, STAGES
    from zhigu.auth.models import Park, Role, User
    from zhigu.auth.services import create_token, start_session
    from zhigu.db import refresh_planner_statistics
    from zhigu.extensions import db
    from zhigu.search import outbox, warmup

    directory = tempfile.mkdtemp(prefix="zhigu-trends-")
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "DATABASE_URL": args.database_url or f"sqlite:///{directory}/bench.sqlite",
                      "INDEX_DIR": f"{directory}/index"})
    rng = random.Random(5)
    with app.app_context():
        db.create_all()
        seed_causes()
        parks = [Park(slug=f"p{i}", name=f"Park {i}", region=r) for i, r in
                 enumerate(["Zhejiang/Hangzhou", "Jiangsu/Suzhou", "Xinjiang/Khorgos"])]
        db.session.add_all(parks)
        db.session.flush()
        manager = User(email="m@example.org", display_name="M", password_hash="x", role=Role.manager,
                       park_id=parks[0].id)
        admin = User(email="a@example.org", display_name="A", password_hash="x", role=Role.admin)
        db.session.add_all([manager, admin])
        db.session.commit()
        causes = list(db.session.scalars(select(Cause.id)))
        started = time.perf_counter()
        batch, links = [], []
        for n in range(1, args.cases + 1):
            ended = date(2019, 1, 1) + timedelta(days=rng.randrange(6 * 365))
            batch.append({
                "id": n, "title": f"Synthetic case {n}", "summary": "A synthetic failure.", "narrative": "",
                "warning_signs": "", "lessons": "", "sector": rng.choice(SECTORS)[0],
                "region": rng.choice(["Zhejiang/Hangzhou", "Zhejiang/Ningbo", "Jiangsu/Suzhou", "Xinjiang/Khorgos"]),
                "target_markets": rng.sample(["KZ", "UZ", "KG", "PK", "RU", "MN"], rng.randrange(0, 3)),
                "stage_reached": rng.choice(STAGES)[0], "started_on": ended - timedelta(days=rng.randrange(30, 1500)),
                "ended_on": ended if rng.random() < 0.8 else None, "money_lost": rng.randrange(10_000, 50_000_000),
                "currency": rng.choice(["CNY", "CNY", "USD"]), "status": "published",
                "visibility": rng.choice(["public", "park", "private"]), "park_id": rng.choice(parks).id,
                "language": "en", "tags": [], "anonymize": False,
                "published_at": datetime.combine(ended, datetime.min.time()) + timedelta(days=30),
                "created_at": datetime(2025, 1, 1), "updated_at": datetime(2025, 1, 1)})
            links.append({"case_id": n, "cause_id": rng.choice(causes), "is_primary": True})
            if len(batch) == 5000:
                db.session.execute(insert(FailureCase), batch)
                db.session.execute(insert(CaseCause), links)
                batch, links = [], []
        if batch:
            db.session.execute(insert(FailureCase), batch)
            db.session.execute(insert(CaseCause), links)
        refresh_planner_statistics(db.session, FailureCase, CaseCause)  # as `zhigu archive import` does
        db.session.commit()
        print(f"{args.cases} cases inserted in {time.perf_counter() - started:.1f} s")
        if args.index:
            started = time.perf_counter()
            outbox.rebuild(app.extensions["zhigu.search"])
            print(f"index rebuilt in {time.perf_counter() - started:.1f} s")
        tokens = {name: create_token(user, "bench")[1] for name, user in (("manager", manager), ("admin", admin))}
        sessions = {name: f"{user.id}:{start_session(user)}" for name, user in (("manager", manager), ("admin", admin))}

    warmup.prepare_to_serve(app)  # what gunicorn's post_worker_init does
    statements = []
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda *a, **k: statements.append(1))
    for who in ("manager", "admin"):
        api = app.test_client()
        browser = app.test_client()
        with browser.session_transaction() as session:  # as the log-in form leaves it (Flask-Login's keys)
            session["_user_id"], session["_fresh"] = sessions[who], True
        for query in ("from=2023-01-01&to=2024-12-31", "from=2019-01-01&to=2024-12-31&by=market"):
            for client, path, headers in ((api, f"/api/v1/trends?{query}", {"Authorization": f"Bearer {tokens[who]}"}),
                                          (browser, f"/trends?{query}", {})):
                times, cpu = [], []
                for _ in range(args.runs):
                    statements.clear()
                    started, started_cpu = time.perf_counter(), time.process_time()
                    response = client.get(path, headers=headers)
                    times.append(time.perf_counter() - started)
                    cpu.append(time.process_time() - started_cpu)
                    assert response.status_code == 200, response.get_data(as_text=True)
                counted = f"counted {response.get_json()['total']:6d}" if path.startswith("/api") else " " * 14
                print(f"{who:8s} {path:58s} {counted}  median {statistics.median(times) * 1000:7.0f} ms  "
                      f"max {max(times) * 1000:7.0f} ms  CPU median {statistics.median(cpu) * 1000:5.0f} ms  "
                      f"{len(statements)} SQL statements")

if __name__ == "__main__":
    main()
