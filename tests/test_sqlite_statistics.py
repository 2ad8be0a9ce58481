"""An SQLite archive that grows through the web, with no import to run ANALYZE, still gets the planner's
statistics: each process runs `PRAGMA optimize` now and then (zhigu.db.SQLiteOptimizer)."""
import logging
import sqlite3
import time

import pytest
from sqlalchemy import text

import databases
from zhigu.db import SQLiteOptimizer
from zhigu.extensions import db


@pytest.fixture
def optimize_every(monkeypatch, request):
    """The `app` fixture's app on SQLite, with `PRAGMA optimize` at most every `request.param` seconds."""
    if databases.suite_url():
        pytest.skip("SQLite only: PostgreSQL's autovacuum keeps its statistics")
    monkeypatch.setenv("ZHIGU_SQLITE_OPTIMIZE_INTERVAL", str(request.param))
    return request.param


def analysed_tables() -> set[str]:
    if not db.session.scalar(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")):
        return set()
    return set(db.session.scalars(text("SELECT DISTINCT tbl FROM sqlite_stat1")))


@pytest.mark.parametrize(("optimize_every", "analysed"), [(0.05, True), (0, False)], indirect=["optimize_every"],
                         ids=["every-50-ms", "off"])
def test_a_process_keeps_sqlite_planner_statistics_of_the_tables_it_reads(optimize_every, analysed, app, cast,
                                                                           make_case, client):
    """Off, nothing else analyses them (no import ran here)."""
    for n in range(3):
        make_case(cast.author, title=f"Cold-chain warehouse {n}", sector="agriculture")

    assert client.get("/trends").status_code == 200  # reads failure_case through its indexes
    time.sleep(0.1)
    assert client.get("/trends").status_code == 200  # its connection, handed back: optimized

    with app.app_context():
        assert ("failure_case" in analysed_tables()) is analysed


def test_a_database_another_connection_writes_is_optimized_later_without_waiting(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="zhigu.db")
    reader = sqlite3.connect(tmp_path / "archive.sqlite", timeout=5)
    reader.executescript("CREATE TABLE failure_case (id INTEGER PRIMARY KEY, sector TEXT);"
                         "CREATE INDEX ix_sector ON failure_case (sector);")
    reader.executemany("INSERT INTO failure_case (sector) VALUES (?)", [("agriculture",), ("energy",)] * 500)
    reader.commit()
    reader.execute("SELECT id FROM failure_case WHERE sector = 'energy'").fetchall()  # through its index
    optimize = SQLiteOptimizer(interval=0)
    writer = sqlite3.connect(tmp_path / "archive.sqlite")
    writer.execute("BEGIN IMMEDIATE")  # holds the write lock ANALYZE needs

    started = time.monotonic()
    optimize(reader, None)

    assert time.monotonic() - started < 2  # not the connection's 5 s busy timeout
    assert "PRAGMA optimize skipped" in caplog.text
    assert reader.execute("PRAGMA busy_timeout").fetchone()[0] == 5000  # as it was
    writer.rollback()
    optimize(reader, None)
    assert reader.execute("SELECT tbl, idx FROM sqlite_stat1").fetchall() == [("failure_case", "ix_sector")]


def test_an_invalidated_connection_handed_back_is_passed_over():
    """The pool hands its `checkin` listeners None for a connection invalidated on its way back."""
    optimize = SQLiteOptimizer(interval=0)

    optimize(None, None)

    assert optimize._next <= time.monotonic()  # still due: the next connection handed back is optimized
