"""`zhigu search rebuild|check`."""
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
