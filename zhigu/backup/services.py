"""Create and restore backups (see zhigu.backup for what a backup directory holds)."""
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from flask import current_app
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from zhigu.archive.transfer import ExportFailed, export_cases
from zhigu.errors import ZhiguError
from zhigu.extensions import db
from zhigu.search import outbox
from zhigu.search.index import current_index

FORMAT = "zhigu-backup/1"
MANIFEST = "manifest.json"
CASES_FILE = "cases.jsonl"
DATABASE_FILES = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}


class BackupError(ZhiguError):
    """A backup could not be made or restored; the message says why and what to do."""


# -- creating ---------------------------------------------------------------------------------------------

def create_backup(directory) -> dict:
    """Write a backup into `directory`, which must not exist yet; return its manifest.

    The files are written to a hidden sibling directory renamed into place at the end, so an interrupted
    backup never looks complete.
    """
    target = Path(directory)
    if target.exists():
        raise BackupError(f"{target} already exists; give a new directory for each backup.")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        dialect = db.engine.dialect.name
        if dialect == "sqlite":
            manifest = _create_sqlite(partial)
        elif dialect == "postgresql":
            manifest = _create_postgresql(partial)
        else:
            raise BackupError(f"Backups of {dialect} databases are not supported; use `zhigu archive export`.")
        manifest["created_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        manifest["files"] = {name: _sha256(partial / name) for name in sorted(os.listdir(partial))}
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        _fsync_directory(partial)
        os.rename(partial, target)
        _fsync_directory(target.parent, files=False)  # the rename itself reaches the disk
    except BaseException as err:
        shutil.rmtree(partial, ignore_errors=True)
        if isinstance(err, OSError):  # a full disk, a read-only directory: a message, not a traceback
            raise BackupError(f"No backup was made: {err}") from None
        raise
    return manifest


def _create_sqlite(partial: Path) -> dict:
    source_path = _sqlite_path()
    if not source_path.exists():
        raise BackupError(f"There is no database at {source_path}.")
    copy = partial / DATABASE_FILES["sqlite"]
    source = sqlite3.connect(source_path, timeout=30)
    destination = sqlite3.connect(copy)
    try:
        source.backup(destination)  # one read transaction: a consistent copy, writers carry on meanwhile
    finally:
        destination.close()
        source.close()
    engine = create_engine(f"sqlite:///{copy}")
    try:
        with Session(engine) as session:
            return _describe(session, partial, "sqlite")
    finally:
        engine.dispose()


def _create_postgresql(partial: Path) -> dict:
    dump = partial / DATABASE_FILES["postgresql"]
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            # pg_dump reads the snapshot of this transaction, which also counts the rows and exports the
            # cases, so the three agree however many writes land meanwhile
            snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
            _run_pg("pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={dump}")
            with Session(bind=connection) as session:
                return _describe(session, partial, "postgresql")


def _describe(session, partial: Path, dialect: str) -> dict:
    """Count the rows of every table and write the case export, both from `session`'s view."""
    tables = {}
    present = set(inspect(session.connection()).get_table_names())
    for table in db.metadata.sorted_tables:
        if table.name in present:
            tables[table.name] = session.scalar(select(func.count()).select_from(table))
    cases = 0
    try:
        with open(partial / CASES_FILE, "w", encoding="utf-8") as out:
            for line in export_cases(session):
                out.write(line + "\n")
                cases += 1
    except ExportFailed as err:  # create_backup removes the partial directory: no half backup is left
        raise BackupError(f"No backup was made: {err.message}") from None
    return {"format": FORMAT, "database": dialect, "database_file": DATABASE_FILES[dialect],
            "schema_revision": _schema_revision(session), "tables": tables,
            "cases_export": {"file": CASES_FILE, "cases": cases}}


def _schema_revision(session) -> str | None:
    if "alembic_version" not in inspect(session.connection()).get_table_names():
        return None
    return session.scalar(text("SELECT version_num FROM alembic_version"))


# -- restoring --------------------------------------------------------------------------------------------

def read_manifest(directory) -> dict:
    """Load and check a backup's manifest and the checksums of its files, before anything is replaced."""
    directory = Path(directory)
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{directory} holds no {MANIFEST}: it is not a Zhigu backup.") from None
    except ValueError as err:
        raise BackupError(f"{directory / MANIFEST} is damaged: {err}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{directory} is a backup of an unknown format {manifest.get('format')!r}.")
    for name, checksum in manifest["files"].items():
        path = directory / name
        if not path.is_file():
            raise BackupError(f"The backup's file {name} is missing.")
        if _sha256(path) != checksum:
            raise BackupError(f"The backup's file {name} is damaged (its checksum differs from the manifest's).")
    return manifest


def restore_backup(directory, processes: int = 1) -> dict:
    """Replace the database with the backup in `directory`, then bring the search indexes up to date.

    `processes` builds this machine's index in that many processes (as `zhigu search rebuild --processes`).

    Returns counts: `tables` (rows per table, as in the manifest), `queued` (outbox rows written for the
    indexes of other machines) and `indexed` (published cases in this machine's rebuilt index).
    """
    directory = Path(directory)
    manifest = read_manifest(directory)
    dialect = db.engine.dialect.name
    if manifest["database"] != dialect:
        raise BackupError(
            f"This is a backup of a {manifest['database']} database and the app uses {dialect}. To move the "
            f"cases to another kind of database, import them: zhigu archive import {directory / CASES_FILE}")
    if dialect == "sqlite":
        _sqlite_path().parent.mkdir(parents=True, exist_ok=True)  # a new machine may have no instance folder yet
    before_restore = outbox.snapshot(db.engine)
    db.session.remove()
    db.engine.dispose()  # no pooled connection of this process holds the tables the restore replaces
    backup_file = directory / manifest["database_file"]
    if dialect == "sqlite":
        _restore_sqlite(backup_file)
    else:
        _run_pg("pg_restore", "--clean", "--if-exists", "--no-owner", "--no-acl", "--single-transaction",
                "--exit-on-error", str(backup_file))
    db.engine.dispose()
    counts = _count_rows(manifest["tables"])
    wrong = {name: (counts.get(name), expected) for name, expected in manifest["tables"].items()
             if counts.get(name) != expected}
    if wrong:
        details = ", ".join(f"{name}: {got} row(s), expected {expected}" for name, (got, expected) in wrong.items())
        raise BackupError(f"The restored database does not match the backup's manifest ({details}).")
    queued = outbox.requeue_every_case(db.engine, before_restore)
    indexed = outbox.rebuild(current_index(), db.engine, processes=processes)
    return {"tables": counts, "queued": queued, "indexed": indexed, "manifest": manifest}


def _restore_sqlite(backup_file: Path) -> None:
    live_path = _sqlite_path()
    source = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    destination = sqlite3.connect(live_path, timeout=30)
    try:
        source.backup(destination)  # writes every page under one lock: readers see the old or the new database
    finally:
        destination.close()
        source.close()


def _count_rows(names) -> dict[str, int]:
    present = set(inspect(db.engine).get_table_names())
    with Session(db.engine) as session:
        return {table.name: session.scalar(select(func.count()).select_from(table))
                for table in db.metadata.sorted_tables if table.name in present and table.name in names}


# -- the database's own tools -----------------------------------------------------------------------------

def _sqlite_path() -> Path:
    database = make_url(current_app.config["DATABASE_URL"]).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("Only a SQLite database in a file can be backed up this way.")
    return Path(database).resolve()


def _run_pg(program: str, *args: str) -> None:
    """Run pg_dump or pg_restore on the app's database; the password goes through the environment."""
    url = make_url(current_app.config["DATABASE_URL"])
    directory = current_app.config.get("PG_BIN_DIR")
    executable = str(Path(directory) / program) if directory else shutil.which(program)
    if not executable or not Path(executable).exists():
        raise BackupError(f"{program} was not found; install the PostgreSQL client tools of the server's "
                          f"version, or set ZHIGU_PG_BIN_DIR to their directory.")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    libpq_url = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    result = subprocess.run([executable, *args, f"--dbname={libpq_url}"], env=env, capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise BackupError(f"{program} failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_directory(directory: Path, files: bool = True) -> None:
    """Flush the directory's files (unless `files` is False), then the directory's own entries."""
    if files:
        for path in directory.iterdir():
            with open(path, "rb") as data:
                os.fsync(data.fileno())
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
