"""`zhigu notify send-digests` and `zhigu notify scan`."""
import click
from flask.cli import with_appcontext

from zhigu.notify.digests import send_digests
from zhigu.notify.scan import scan_new_cases


@click.group("notify")
def notify_cli():
    """Notifications and e-mail digests."""


@notify_cli.command("scan")
@with_appcontext
def scan_command():
    """Tell subscribers about newly published cases (run often, e.g. every few minutes)."""
    click.echo(f"{scan_new_cases()} notification(s) added.")


@notify_cli.command("send-digests")
@with_appcontext
def send_digests_command():
    """Scan new cases, then e-mail the digests that are due (run hourly or daily from cron)."""
    result = send_digests()
    click.echo(f"{result['sent']} digest(s) sent, {result['failed']} failed.")
    if result["failed"]:
        raise SystemExit(1)
