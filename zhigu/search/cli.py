"""`zhigu search rebuild|check|export-judgments`."""
import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from zhigu.archive.services import case_count

search_cli = AppGroup("search", help="The full-text index.")


@search_cli.command("rebuild")
def rebuild():
    """Rewrite the index from the database; searches keep using the old index until it is done."""
    index = current_app.extensions["zhigu.search"]
    with click.progressbar(length=case_count(), label="Indexing", show_pos=True) as bar:
        count = index.rebuild(progress=bar.update)
    click.echo(f"Indexed {count} published case(s).")


@search_cli.command("check")
def check():
    """List cases missing from or stale in the index; exit 1 if any."""
    report = current_app.extensions["zhigu.search"].check()
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
    from zhigu.initiatives.services import verdict_judgments

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
