"""`zhigu auth ...` and `zhigu park ...`."""
import sys

import click
from flask.cli import AppGroup
from marshmallow import ValidationError

from zhigu.auth import services
from zhigu.auth.models import Role

auth_cli = AppGroup("auth", help="Users and API tokens.")
park_cli = AppGroup("park", help="Parks and incubators.")


def _errors(err: ValidationError) -> str:
    return "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in err.normalized_messages().items())


@auth_cli.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), default="member", show_default=True)
@click.option("--park", "park_slug", help="Slug of the user's park.")
@click.option("--name", "display_name", help="Display name (default: the part before @).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(email, role, park_slug, display_name, password_stdin):
    """Create a user; asks for the password unless --password-stdin."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = services.create_user(email, password, role=role, park_slug=park_slug, display_name=display_name)
    except ValidationError as err:
        raise click.ClickException(_errors(err)) from None
    click.echo(f"Created {user.role.value} {user.email} (id {user.id}).")


@auth_cli.command("create-token")
@click.argument("email")
@click.option("--name", default="CLI token", show_default=True)
def create_token(email, name):
    """Create an API token for a user and print it once."""
    user = services.find_user(email)
    if user is None:
        raise click.ClickException(f"No user with e-mail {email}.")
    _, secret = services.create_token(user, name)
    click.echo(secret)


@park_cli.command("create")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--region", help="Province/City, e.g. Zhejiang/Hangzhou.")
def create_park(slug, name, region):
    """Create a park or incubator."""
    try:
        park = services.create_park(None, {"slug": slug, "name": name, "region": region})
    except ValidationError as err:
        raise click.ClickException(_errors(err)) from None
    click.echo(f"Created park {park.slug} (id {park.id}).")
