"""`zhigu guild create SLUG --name NAME` and `zhigu guild add-reviewer SLUG EMAIL`."""
import click
from marshmallow import ValidationError

from zhigu.guilds import bp, services


@bp.cli.command("create")
@click.argument("slug")
@click.option("--name", required=True)
def create(slug: str, name: str):
    """Create a guild."""
    try:
        guild = services.create_guild(None, {"slug": slug, "name": name})
    except ValidationError as err:
        raise click.ClickException(str(err.normalized_messages())) from None
    click.echo(f"Created guild {guild.slug}.")


@bp.cli.command("add-reviewer")
@click.argument("slug")
@click.argument("email")
def add_reviewer(slug: str, email: str):
    """Make the user with EMAIL a guild_reviewer of the guild SLUG."""
    try:
        services.add_reviewer(None, {"guild": slug, "email": email})
    except ValidationError as err:
        raise click.ClickException(str(err.normalized_messages())) from None
    click.echo(f"{email} now reviews for {slug}.")
