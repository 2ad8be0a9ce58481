"""`zhigu archive import|export`."""
import click
from flask.cli import AppGroup

from zhigu.archive import services

archive_cli = AppGroup("archive", help="Import and export cases as JSON lines.")


@archive_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--park", "park_slug", help="Park of cases whose line names none.")
def import_command(path, park_slug):
    """Import cases from a JSON-lines file; all lines are written, or none."""
    with open(path, encoding="utf-8-sig") as source:  # tolerate the BOM some Windows tools write
        lines = source.readlines()
    with click.progressbar(length=len(lines), label="Importing", show_pos=True) as bar:
        try:
            counts = services.import_cases(lines, park_slug, progress=bar.update)
        except services.ImportFailed as failed:
            for number, errors in sorted(failed.errors.items())[:50]:
                details = "; ".join(f"{field}: {msgs}" for field, msgs in errors.items())
                click.secho(f"line {number}: {details}", fg="red", err=True)
            raise click.ClickException(failed.message) from None
        except services.ZhiguError as err:
            raise click.ClickException(err.message) from None
    click.echo(f"Imported {counts['created']} new and {counts['updated']} updated case(s).")


@archive_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def export_command(path):
    """Write every case to a JSON-lines file in the import format."""
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        for line in services.export_cases():
            out.write(line + "\n")
            count += 1
    click.echo(f"Exported {count} case(s) to {path}.")
