"""`zhigu backup create|restore`."""
import os

import click
from flask.cli import AppGroup

from zhigu.backup import services

backup_cli = AppGroup("backup", help="Back up the whole database (plus a case export) and restore it.")


@backup_cli.command("create")
@click.argument("directory", type=click.Path(file_okay=False))
def create_command(directory):
    """Write a backup into DIRECTORY (new): the database's own backup, cases.jsonl and manifest.json."""
    try:
        manifest = services.create_backup(directory)
    except services.BackupError as err:
        raise click.ClickException(err.message) from None
    tables = manifest["tables"]
    click.echo(f"Backed up {_summary(tables)} ({sum(tables.values())} row(s) in {len(tables)} table(s)) "
               f"from {manifest['database']} to {directory}.")


@backup_cli.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database.")
@click.option("--processes", "-p", type=click.IntRange(min=0), default=1, show_default=True,
              help="Processes rebuilding this machine's index (0: one per CPU).")
def restore_command(directory, yes, processes):
    """Replace the whole database with the backup in DIRECTORY, then bring the search indexes up to date."""
    try:
        manifest = services.read_manifest(directory)
        if not yes:
            click.confirm(f"Replace every row of the database with the backup of {manifest['created_at']} "
                          f"({_summary(manifest['tables'])})?", abort=True)
        report = services.restore_backup(directory, processes=processes or os.cpu_count() or 1)
    except services.BackupError as err:
        raise click.ClickException(err.message) from None
    click.echo(f"Restored {_summary(report['tables'])}; every table holds the rows the backup lists.")
    click.echo(f"Search index rebuilt here ({report['indexed']} published case(s)); {report['queued']} case(s) "
               f"queued in the search outbox for the other machines' `zhigu worker`.")


def _summary(tables: dict) -> str:
    names = (("failure_case", "case(s)"), ("case_revision", "revision(s)"), ("comment", "comment(s)"),
             ("case_link", "link(s)"))
    return ", ".join(f"{tables.get(table, 0)} {label}" for table, label in names)
