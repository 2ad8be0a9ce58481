"""`zhigu archive import|export`."""
import click
from flask.cli import AppGroup
from marshmallow import ValidationError

from zhigu.archive import transfer
from zhigu.archive.models import CaseCause, FailureCase
from zhigu.db import refresh_planner_statistics
from zhigu.errors import ZhiguError
from zhigu.extensions import db
from zhigu.files import atomic_write

archive_cli = AppGroup("archive", help="Import and export cases as JSON lines.")


def _messages(messages, prefix: str = "") -> list[str]:
    """Flatten marshmallow messages ({field: [...]}, {field: {0: [...]}}) into "field: message" strings."""
    if isinstance(messages, dict):
        return [line for key, value in messages.items()
                for line in _messages(value, f"{prefix}[{key}]" if isinstance(key, int) else
                                      f"{prefix}.{key}" if prefix else str(key))]
    if isinstance(messages, (list, tuple)):
        return [line for value in messages for line in _messages(value, prefix)]
    return [f"{prefix}: {messages}" if prefix else str(messages)]


@archive_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--park", "park_slug", help="Park of cases whose line names none.")
def import_command(path, park_slug):
    """Import cases from a JSON-lines file; all lines are written, or none."""
    # the BOM some Windows tools write is skipped; bytes that are not UTF-8 become a line's error, not a traceback
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline=None) as source:
        lines = source.readlines()
    with click.progressbar(length=len(lines), label="Importing", show_pos=True) as bar:
        try:
            counts = transfer.import_cases(lines, park_slug, progress=bar.update)
        except transfer.ImportFailed as failed:
            for number, errors in sorted(failed.errors.items())[:50]:
                click.secho(f"line {number}: {'; '.join(_messages(errors))}", fg="red", err=True)
            raise click.ClickException(failed.message) from None
        except ZhiguError as err:
            raise click.ClickException(err.message) from None
        except ValidationError as err:  # a value a column cannot hold that no line check caught
            raise click.ClickException(f"Nothing was imported: {'; '.join(_messages(err.messages))}") from None
    if counts["created"] or counts["updated"]:
        refresh_planner_statistics(db.session, FailureCase, CaseCause)
        db.session.commit()
    click.echo(f"Imported {counts['created']} new and {counts['updated']} updated case(s); "
               f"{counts['unchanged']} unchanged.")


@archive_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def export_command(path):
    """Write every case to a JSON-lines file in the import format (complete, or not at all)."""
    count = 0
    try:
        with atomic_write(path) as out:
            for line in transfer.export_cases():
                out.write(line + "\n")
                count += 1
    except ZhiguError as err:
        raise click.ClickException(f"Nothing was exported: {err.message}") from None
    except (OSError, UnicodeError) as err:
        raise click.ClickException(f"Nothing was exported: {err}") from None
    click.echo(f"Exported {count} case(s) to {path}.")
