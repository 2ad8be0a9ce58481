"""`zhigu auth ...` and `zhigu park ...`."""
import sys

import click
from flask.cli import AppGroup
from marshmallow import ValidationError

from zhigu.auth import services
from zhigu.auth.models import Role
from zhigu.guilds import services as guild_services  # the command line only: auth's services never import guilds

auth_cli = AppGroup("auth", help="Users and API tokens.")
park_cli = AppGroup("park", help="Parks and incubators.")


def _errors(err: ValidationError) -> str:
    return "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in err.normalized_messages().items())


#: The per-guild reviewer role (zhigu.guilds): a member of the site who reviews for the guilds named by --guild.
GUILD_REVIEWER = "guild_reviewer"


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@auth_cli.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice([*(r.value for r in Role), GUILD_REVIEWER]), default="member",
              show_default=True, help=f"{GUILD_REVIEWER}: a member who reviews for the --guild guilds.")
@click.option("--park", "park_slug", help="Slug of the user's park.")
@click.option("--guild", "guild_slugs", multiple=True,
              help="Slug of a guild the user reviews for (repeatable; needed with --role guild_reviewer).")
@click.option("--name", "display_name", help="Display name (default: the part before @).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(email, role, park_slug, guild_slugs, display_name, password_stdin):
    """Create a user; asks for the password unless --password-stdin."""
    if role == GUILD_REVIEWER and not guild_slugs:
        raise click.UsageError(f"--role {GUILD_REVIEWER} needs --guild SLUG (the guild the user reviews for).")
    # every guild is checked before the user is created, so a typo leaves nothing half made
    if missing := [slug for slug in guild_slugs if guild_services.guild_by_slug(slug) is None]:
        raise click.ClickException(f"No guild with slug {', '.join(missing)} (see zhigu guild create).")
    password = _read_password(password_stdin)
    global_role = Role.member if role == GUILD_REVIEWER else Role(role)
    try:
        user = services.create_user(email, password, role=global_role, park_slug=park_slug,
                                    display_name=display_name)
    except ValidationError as err:
        raise click.ClickException(_errors(err)) from None
    for slug in dict.fromkeys(guild_slugs):
        guild_services.add_reviewer(None, {"guild": slug, "email": user.email})
    reviews = f"; reviews for {', '.join(dict.fromkeys(guild_slugs))}" if guild_slugs else ""
    click.echo(f"Created {user.role.value} {user.email} (id {user.id}){reviews}.")


@auth_cli.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def set_password(email, password_stdin):
    """Set a user's password (same policy as sign-up) and end all their sessions."""
    user = services.find_user(email)
    if user is None:
        raise click.ClickException(f"No user with e-mail {email}.")
    password = _read_password(password_stdin)
    try:
        services.set_password(user, {"password": password})
    except ValidationError as err:
        raise click.ClickException(_errors(err)) from None
    click.echo(f"Set the password of {user.email}; they were logged out everywhere.")


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
