"""Backup and restore time: `zhigu backup create` and `zhigu backup restore` on a synthetic archive.

Run (from the project root):

    .venv/bin/python bench/backup.py --cases 2000                            # quick check, SQLite
    .venv/bin/python bench/backup.py --cases 10000 --database both          # SQLite and PostgreSQL

The archive is bench/speed.py's synthetic one (N English cases, same seed), imported with `import_cases`
(not timed) into a SQLite file or a new PostgreSQL database on --postgres (dropped at the end). Then, each
timed on the wall clock with the CPU of this process and its children (pg_dump, pg_restore): a backup, and
a restore of it over the same database, split into the database part and the rebuild of the index that
ends it. Sizes of the backup's files are printed; load average at the start and the end (a shared machine
moves wall times).
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
import uuid
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from speed import Recombiner, write_cases  # noqa: E402


def cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run(kind: str, n: int, workdir: Path, postgres: str, processes: int) -> None:
    from sqlalchemy import create_engine, text

    from zhigu import create_app
    from zhigu.archive.services import seed_causes
    from zhigu.archive.transfer import import_cases
    from zhigu.backup import services
    from zhigu.extensions import db
    from zhigu.search import outbox

    admin = None
    if kind == "postgresql":
        name = f"zhigu_bench_backup_{uuid.uuid4().hex[:8]}"
        admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin.url.set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{workdir / 'zhigu.sqlite'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url,
                      "INDEX_DIR": str(workdir / f"index-{kind}"), "INDEX_INLINE_DRAIN": False})
    try:
        with app.app_context():
            db.create_all()
            seed_causes()
            with open(workdir / "cases.jsonl", encoding="utf-8") as lines:
                while batch := list(islice(lines, 10_000)):
                    import_cases(batch)
                    db.session.remove()
            target = workdir / f"backup-{kind}"
            wall, used = time.perf_counter(), cpu()
            manifest = services.create_backup(target)
            create_s, create_cpu = time.perf_counter() - wall, cpu() - used
            sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in sorted(target.iterdir()))

            rebuild = {"s": 0.0}
            real_rebuild = outbox.rebuild

            def timed_rebuild(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return real_rebuild(*args, **kwargs)
                finally:
                    rebuild["s"] = time.perf_counter() - started

            outbox.rebuild = timed_rebuild
            wall, used = time.perf_counter(), cpu()
            report = services.restore_backup(target, processes=processes)
            restore_s, restore_cpu = time.perf_counter() - wall, cpu() - used
            outbox.rebuild = real_rebuild
        rows = sum(manifest["tables"].values())
        print(f"{kind}: {manifest['tables']['failure_case']} cases, {rows} rows; {sizes}")
        print(f"  backup create:  {create_s:6.1f} s wall, {create_cpu:6.1f} s CPU (with pg_dump)")
        print(f"  backup restore: {restore_s:6.1f} s wall, {restore_cpu:6.1f} s CPU: database "
              f"{restore_s - rebuild['s']:.1f} s, index rebuild {rebuild['s']:.1f} s "
              f"({report['indexed']} cases, {processes} process(es)), {report['queued']} cases queued for other machines")
    finally:
        with app.app_context():
            db.engine.dispose()
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--processes", type=int, default=1, help="Processes rebuilding the index at the restore.")
    args = parser.parse_args()
    os.environ.setdefault("ZHIGU_LOG_FORMAT", "none")
    workdir = Path(tempfile.mkdtemp(prefix=f"zhigu-backup-{args.cases}-"))
    try:
        print(f"load average at start: {os.getloadavg()[0]:.2f}")
        write_cases(workdir / "cases.jsonl", args.cases, args.seed, Recombiner())
        kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
        for kind in kinds:
            run(kind, args.cases, workdir, args.postgres, args.processes)
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
