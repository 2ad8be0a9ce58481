"""Load test: gunicorn with four workers on PostgreSQL, `zhigu worker` running, a realistic mix at rising concurrency.

Run (from the project root; PostgreSQL on 127.0.0.1:5432 with trust auth):

    .venv/bin/python bench/load.py                        # set up zhigu_load (10,000 cases), then run
    .venv/bin/python bench/load.py --reuse                # the database and index are there: run only
    .venv/bin/python bench/load.py --concurrency 1,4 --duration 10 --cases 2000 --database zhigu_load_small

Setup (skipped with --reuse): drops and creates the database, `zhigu init-db`, writes --cases synthetic
cases (bench/speed.py's generator, same seed), `zhigu archive import`s them, creates an admin and an API
token (`zhigu auth create-user|create-token`), and `zhigu search rebuild --processes 2` into
<workdir>/index (which then stores every public case's nearest cases, where the code has them). Then it
starts `zhigu worker` (polling every --worker-interval seconds, 0.5 by default) and `gunicorn -w 4
"zhigu:create_app()"` (the sample gunicorn.conf.py, bound to 127.0.0.1:--port) with ZHIGU_DATABASE_URL
pointing at the database.

Each concurrency level runs that many client threads for --duration seconds; each thread sends requests
back to back (no think time), one connection per request, picking the kind at random with these weights:

    case page   GET /cases/<id>                          35%
    search page GET /search?q=<2-3 frequent words>       20%
    API search  GET /api/v1/cases?q=<2-3 words>          20%
    similar     POST /api/v1/similar (100-200 words)     15%
    edit        PATCH /api/v1/cases/<id> (lessons)       10%  (bearer token of an admin)

Per level and kind: requests, throughput (requests/s), p50/p95/p99 latency (ms, wall time from the client,
which shares the machine's CPUs with the server), errors (anything but a 200, or a failed connection), and
how often an edit waited for the outbox's PostgreSQL advisory lock (pg_locks sampled every 0.1 s). At the
end: seconds until `zhigu search check` passes with the worker running (writes have stopped), and the load
average, and the CPU time gunicorn (master and workers) and `zhigu worker` used per request at each level
(from /proc; the steadier figure on a shared machine), then each apart beside PostgreSQL's and the clients' own
(the four share the machine's CPUs). The database is ANALYZEd before the levels, as
autovacuum would have done on a production server. The exit status is 1 if any request failed or the check did not pass within 60 s.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from speed import Recombiner, percentile, write_cases  # noqa: E402

BIN = Path(sys.executable).parent
KINDS = [("case page", 35), ("search page", 20), ("API search", 20), ("similar", 15), ("edit", 10)]
ADMIN = "load-admin@example.org"


def archive_arguments(parser) -> None:
    """The options that name the archive (PostgreSQL database and work directory) `load.py` sets up: the other
    scripts that run on it take the same."""
    parser.add_argument("--database", default="zhigu_load")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/zhigu-load"), help="index, token and server logs")


def server_url(args) -> str:
    return f"postgresql+psycopg://postgres@{args.pg_host}:{args.pg_port}/{args.database}"


def zhigu_env(args, workdir: Path) -> dict:
    return dict(os.environ, ZHIGU_DATABASE_URL=server_url(args), ZHIGU_INDEX_DIR=str(workdir / "index"),
                ZHIGU_SECRET_KEY="load-test", ZHIGU_INSTANCE_PATH=str(workdir / "instance"),
                ZHIGU_LOG_LEVEL="WARNING", ZHIGU_REVIEW_REQUIRED="false", ZHIGU_RATELIMIT_ENABLED="false",
                PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


def zhigu(env, *argv, stdin: str | None = None) -> str:
    result = subprocess.run([str(BIN / "zhigu"), *argv], env=env, cwd=ROOT, input=stdin, capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise SystemExit(f"zhigu {' '.join(argv)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def setup(args, workdir: Path, env: dict) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(f"postgresql+psycopg://postgres@{args.pg_host}:{args.pg_port}/postgres",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{args.database}"'))
    admin.dispose()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    started = time.perf_counter()
    zhigu(env, "init-db")
    jsonl = workdir / "cases.jsonl"
    write_cases(jsonl, args.cases, args.seed, Recombiner())
    # no inline index write: the rebuild below indexes everything once
    print(zhigu(dict(env, ZHIGU_INDEX_INLINE_DRAIN="false"), "archive", "import", str(jsonl)).strip().splitlines()[-1],
          flush=True)
    zhigu(env, "auth", "create-user", ADMIN, "--role", "admin", "--password-stdin", stdin="load-test-password-1\n")
    token = zhigu(env, "auth", "create-token", ADMIN, "--name", "load test").strip().split()[-1]
    (workdir / "token").write_text(token)
    print(zhigu(env, "search", "rebuild", "--processes", "2").strip().splitlines()[-1], flush=True)
    print(f"setup done in {time.perf_counter() - started:.0f} s", flush=True)


class Server:
    """gunicorn and `zhigu worker` as child processes, stopped with SIGTERM."""

    def __init__(self, args, workdir: Path, env: dict):
        self.port = args.port
        self.logs = [open(workdir / "gunicorn.log", "w"), open(workdir / "worker.log", "w")]
        self.worker = subprocess.Popen([str(BIN / "zhigu"), "worker", "--interval", str(args.worker_interval)],
                                       env=env, cwd=ROOT, stdout=self.logs[1], stderr=subprocess.STDOUT)
        self.web = subprocess.Popen([str(BIN / "gunicorn"), "-w", str(args.workers), "-b", f"127.0.0.1:{args.port}",
                                     "zhigu:create_app()"], env=env, cwd=ROOT, stdout=self.logs[0],
                                    stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180  # each worker warms up first: slow on a loaded machine
        while True:
            try:
                if request("GET", self.port, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or self.web.poll() is not None:
                self.stop()
                raise SystemExit(f"gunicorn did not start; see {workdir / 'gunicorn.log'}")
            time.sleep(0.5)

    def stop(self) -> None:
        for process in (self.web, self.worker):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (self.web, self.worker):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self.logs:
            log.close()


def request(method: str, port: int, path: str, body: dict | None = None, token: str | None = None):
    """(status, body bytes) of one request on a new connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Accept": "application/json" if path.startswith("/api/") else "text/html"}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


class Mix:
    """The request kinds, with their inputs drawn at random."""

    def __init__(self, args, case_ids: list[int], token: str):
        recombiner = Recombiner()
        rng = random.Random(args.seed + 1)  # the same held-out stream as bench/speed.py
        self.searches = [recombiner.search_words(rng) for _ in range(300)]
        self.descriptions = [recombiner.description(rng) for _ in range(300)]
        self.case_ids = case_ids
        self.token = token
        self.edits = 0
        self.lock = threading.Lock()

    def call(self, kind: str, port: int, rng: random.Random):
        if kind == "case page":
            return request("GET", port, f"/cases/{rng.choice(self.case_ids)}")
        if kind == "search page":
            return request("GET", port, "/search?" + urlencode({"q": rng.choice(self.searches)}))
        if kind == "API search":
            return request("GET", port, "/api/v1/cases?" + urlencode({"q": rng.choice(self.searches)}))
        if kind == "similar":
            return request("POST", port, "/api/v1/similar", {"description": rng.choice(self.descriptions),
                                                              "limit": 10})
        with self.lock:
            self.edits += 1
            n = self.edits
        return request("PATCH", port, f"/api/v1/cases/{rng.choice(self.case_ids)}",
                       {"lessons": f"Load-test edit {n}: check the supplier's certificates before signing."},
                       token=self.token)


def lock_sampler(args, stop: threading.Event, samples: list[int]) -> None:
    """Count edits waiting for the outbox's advisory lock, every 0.1 s."""
    from sqlalchemy import create_engine, text

    engine = create_engine(server_url(args), pool_size=1)
    with engine.connect() as connection:
        while not stop.is_set():
            samples.append(connection.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).scalar())
            connection.rollback()
            stop.wait(0.1)
    engine.dispose()


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a live process has used, from /proc (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, command name) of every process (Linux)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, _, rest = stat.read_text().rpartition(")")
            found.append((int(stat.parent.name), int(rest.split()[1]), head.partition("(")[2]))
        except (OSError, ValueError):
            continue
    return found


def cpu_by_part(server) -> dict[str, float]:
    """CPU seconds used so far by each part of the machine's work (Linux): gunicorn's master and workers
    (`web`), `zhigu worker` (`worker`), every PostgreSQL process (`postgres`: the server may hold other
    databases' idle backends, which use next to nothing; a backend that ends during a level takes its share with
    it) and this benchmark's own clients (`clients`)."""
    processes = _processes()
    web = {server.web.pid} | {pid for pid, parent, _ in processes if parent == server.web.pid}
    return {"web": sum(map(process_cpu, web)), "worker": process_cpu(server.worker.pid),
            "postgres": sum(process_cpu(pid) for pid, _, name in processes if name.startswith("postgres")),
            "clients": process_cpu(os.getpid())}


def wait_until_idle(server, limit: float = 300.0) -> float:
    """Wait until gunicorn and `zhigu worker` use under a tenth of a CPU over a second: gunicorn answers once
    one worker has warmed up, the others may still be counting their statistics (seconds each at 10,000 cases),
    and the worker may be computing the lists the warm-up requests' edits dropped. Returns the seconds waited."""
    def busy() -> float:
        return sum(cpu_by_part(server)[part] for part in ("web", "worker"))

    started = time.monotonic()
    before = busy()
    while time.monotonic() - started < limit:
        time.sleep(1.0)
        now = busy()
        if now - before < 0.1:
            break
        before = now
    return time.monotonic() - started


def run_level(args, mix: Mix, concurrency: int, server=None) -> dict:
    weights = [w for _, w in KINDS]
    kinds = [k for k, _ in KINDS]
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    first_errors: dict[str, str] = {}
    record = threading.Lock()
    deadline = time.monotonic() + args.duration
    waits: list[int] = []
    stop = threading.Event()
    sampler = threading.Thread(target=lock_sampler, args=(args, stop, waits), daemon=True)
    sampler.start()
    cpu_before = cpu_by_part(server) if server else None

    def client(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            kind = rng.choices(kinds, weights)[0]
            started = time.perf_counter()
            try:
                status, body = mix.call(kind, args.port, rng)
                error = None if status == 200 else f"{status}: {body[:200]!r}"
            except OSError as exc:
                error = f"{type(exc).__name__}: {exc}"
            elapsed = (time.perf_counter() - started) * 1000
            with record:
                latencies[kind].append(elapsed)
                if error:
                    errors[kind] += 1
                    first_errors.setdefault(kind, error)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(args.seed * 1000 + concurrency * 100 + i,))
               for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()
    return {"concurrency": concurrency, "wall": wall, "latencies": dict(latencies), "errors": dict(errors),
            "first_errors": first_errors, "load": os.getloadavg()[0],
            "cpu": {part: used - cpu_before[part] for part, used in cpu_by_part(server).items()} if server else None,
            "lock_waiting": sum(1 for w in waits if w) / max(1, len(waits)), "lock_max": max(waits, default=0)}


def wait_for_check(env: dict, limit: float = 60.0) -> tuple[bool, float, str]:
    started = time.monotonic()
    while True:
        result = subprocess.run([str(BIN / "zhigu"), "search", "check"], env=env, cwd=ROOT, capture_output=True,
                                text=True)
        elapsed = time.monotonic() - started
        if result.returncode == 0 or elapsed > limit:
            return result.returncode == 0, elapsed, (result.stdout + result.stderr).strip()
        time.sleep(1)


def format_table(levels: list[dict]) -> str:
    lines = [f"{'clients':>7} {'request':<12} {'count':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
             f"{'errors':>6}"]
    for level in levels:
        total = 0
        for kind, _ in KINDS:
            values = sorted(level["latencies"].get(kind, []))
            total += len(values)
            if not values:
                continue
            lines.append(f"{level['concurrency']:>7} {kind:<12} {len(values):>6} {len(values) / level['wall']:>7.1f} "
                         f"{percentile(values, 50):>8.0f} {percentile(values, 95):>8.0f} "
                         f"{percentile(values, 99):>8.0f} {level['errors'].get(kind, 0):>6}")
        everything = sorted(v for values in level["latencies"].values() for v in values)
        lines.append(f"{level['concurrency']:>7} {'all':<12} {total:>6} {total / level['wall']:>7.1f} "
                     f"{percentile(everything, 50):>8.0f} {percentile(everything, 95):>8.0f} "
                     f"{percentile(everything, 99):>8.0f} {sum(level['errors'].values()):>6}   "
                     + (_cpu_line(level["cpu"], total) if level.get("cpu") is not None else "")
                     + f"load {level['load']:.1f}; advisory lock waited on in {level['lock_waiting']:.0%} of "
                     f"samples (max {level['lock_max']} waiting)")
    return "\n".join(lines)


def _cpu_line(cpu: dict[str, float], requests: int) -> str:
    """Server CPU (web + worker) per request, then each part's, in ms."""
    per = {part: 1000 * used / max(1, requests) for part, used in cpu.items()}
    parts = ", ".join(f"{part} {ms:.0f}" for part, ms in per.items())
    return f"server CPU {per['web'] + per['worker']:.0f} ms a request ({parts}); "


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    archive_arguments(parser)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--reuse", action="store_true", help="keep the database and index from an earlier setup")
    parser.add_argument("--setup-only", action="store_true", help="set up, then exit (run later with --reuse)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--concurrency", default="1,4,8,16", help="comma-separated client thread counts")
    parser.add_argument("--worker-interval", type=float, default=0.5,
                        help="seconds between `zhigu worker`'s polls (a poll with changes makes an index generation)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per concurrency level")
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args(argv)
    workdir = Path(args.workdir)
    env = zhigu_env(args, workdir)
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)",
          flush=True)
    if not args.reuse:
        setup(args, workdir, env)
    if args.setup_only:
        return 0

    from sqlalchemy import create_engine, text

    engine = create_engine(server_url(args), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        case_ids = list(connection.execute(text("SELECT id FROM failure_case WHERE status = 'published'")).scalars())
        outbox_before = connection.execute(text("SELECT coalesce(max(id), 0) FROM search_outbox")).scalar()
        # What autovacuum does on a production server: the planner's row counts after the setup's (and earlier
        # runs') writes. This machine's server runs with it off; with the counts of empty tables a case page
        # read its stored list through every case (36 ms instead of 0.3 at 10,000 cases).
        autovacuum = connection.execute(text("SHOW autovacuum")).scalar()
        connection.execute(text("ANALYZE"))
    engine.dispose()
    print(f"autovacuum is {autovacuum} on the server: ANALYZE run before the levels", flush=True)
    mix = Mix(args, case_ids, (workdir / "token").read_text().strip())
    print(f"{len(case_ids)} published cases; starting gunicorn -w {args.workers} and zhigu worker", flush=True)
    server = Server(args, workdir, env)
    levels = []
    try:
        rng = random.Random(args.seed)
        for kind, _ in KINDS:  # warm-up: every worker opens its searcher and loads jieba
            for _ in range(2 * args.workers):
                mix.call(kind, args.port, rng)
        settled = wait_until_idle(server)
        print(f"server idle {settled:.0f} s after the warm-up requests", flush=True)
        for concurrency in map(int, args.concurrency.split(",")):
            level = run_level(args, mix, concurrency, server)
            levels.append(level)
            done = sum(len(v) for v in level["latencies"].values())
            print(f"{concurrency} client(s): {done} requests in {level['wall']:.0f} s, "
                  f"{sum(level['errors'].values())} error(s), load {level['load']:.1f}", flush=True)
            for kind, error in level["first_errors"].items():
                print(f"  first {kind} error: {error}", flush=True)
        consistent, waited, report = wait_for_check(env)
    finally:
        server.stop()
    errors = sum(sum(level["errors"].values()) for level in levels)
    print()
    print(format_table(levels))
    print()
    print(f"edits sent: {mix.edits}; outbox rows before the run: {outbox_before}")
    print(f"zhigu search check with the worker running, after writes stopped: "
          f"{'passed' if consistent else 'FAILED'} after {waited:.1f} s ({report.splitlines()[-1] if report else ''})")
    print(f"errors: {errors}")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    return 0 if consistent and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
