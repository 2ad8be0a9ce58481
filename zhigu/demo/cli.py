"""`zhigu demo`: parks, one user of each role per park, the demo cases and the activity around them (guilds and
listings, follows, comments, links, cases in review, initiatives and their outcomes); safe to run again."""
import json
import secrets
from contextlib import contextmanager
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from zhigu.archive.models import FailureCase
from zhigu.archive.services import seed_causes
from zhigu.archive.transfer import import_cases
from zhigu.auth import services as auth
from zhigu.auth.models import Role
from zhigu.demo import activity
from zhigu.extensions import db
from zhigu.search import dense, neighbours, outbox

DATA = Path(__file__).with_name("data")
PARKS = [
    ("hangzhou-future-park", "杭州未来科技园 Hangzhou Future Park", "Zhejiang/Hangzhou"),
    ("suzhou-sino-park", "苏州中外合作产业园 Suzhou Sino-Foreign Park", "Jiangsu/Suzhou"),
    ("khorgos-gateway-park", "霍尔果斯国际门户园区 Khorgos Gateway Park", "Xinjiang/Khorgos"),
]
#: (e-mail, display name, role, park slug)
USERS = [
    ("admin@zhigu.example", "Admin 管理员", Role.admin, None),
    ("manager@hangzhou.example", "Chen Jing 陈静", Role.manager, "hangzhou-future-park"),
    ("curator@hangzhou.example", "Li Wei 李伟", Role.curator, "hangzhou-future-park"),
    ("curator@suzhou.example", "Sarah Okafor", Role.curator, "suzhou-sino-park"),
    ("manager@khorgos.example", "Aigerim Nurlanovna", Role.manager, "khorgos-gateway-park"),
    ("founder@hangzhou.example", "Zhang Min 张敏", Role.member, "hangzhou-future-park"),
    ("founder@suzhou.example", "Tom Becker", Role.member, "suzhou-sino-park"),
]


@click.command("demo")
@with_appcontext
def demo_command():
    """Load the demo archive: parks, users (passwords printed once), realistic failure cases and their activity."""
    db.create_all()
    seed_causes()
    for slug, name, region in PARKS:
        if auth.find_park(slug) is None:
            auth.create_park(None, {"slug": slug, "name": name, "region": region})
    more, ideas = activity.load()
    for email, name, role, park in USERS:
        _create_user(email, name, role.value, role, park)
    for user in more["users"]:
        label = "guild_reviewer" if user.get("guilds") else user["role"]
        note = (f"reviews for {', '.join(user['guilds'])}" if user.get("guilds")
                else f"speaks for {user['speaks_for']}" if user.get("speaks_for") else "")
        _create_user(user["email"], user["name"], label, Role(user["role"]), user["park"], note)
    lines = (DATA / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    with _no_embedding_threads(), _indexed_once():
        counts = import_cases(lines)
        _assign_curators()
    click.echo(f"Demo cases: {counts['created']} new, {counts['updated']} updated, {counts['unchanged']} unchanged.")
    with _no_embedding_threads(), _indexed_once():  # the initiatives' similar cases need the cases indexed first
        added = activity.populate(more, ideas)
    details = ", ".join(f"{n} {kind}" for kind, n in added.items() if n)
    click.echo(f"Demo activity: {sum(added.values())} new" + (f" ({details})." if details else "."))
    if current_app.config["INDEX_INLINE_DRAIN"]:
        # The first visit of the trends page or a case page would otherwise compute them (seconds on a
        # small machine); with a worker running, it does.
        stored = neighbours.compute_missing()
        click.echo(f"Nearest cases stored for {stored} case(s).")
    if dense.available():
        click.echo("Sentence vectors: run `zhigu search embed` (or `zhigu worker`) to embed the demo cases.")


@contextmanager
def _indexed_once():
    """Apply the search outbox once when the block ends, not after each of its commits: the demo commits about
    a hundred times (each comment changes its case's document, assigning curators changes every case), and one
    index write for them all gives the same index several seconds sooner."""
    app = current_app
    inline = app.config["INDEX_INLINE_DRAIN"]
    app.config["INDEX_INLINE_DRAIN"] = False
    try:
        yield
    finally:
        app.config["INDEX_INLINE_DRAIN"] = inline
    if inline:  # otherwise `zhigu worker` applies it, as any other change
        outbox.drain(app.extensions["zhigu.search"])


@contextmanager
def _no_embedding_threads():
    """Leave the demo cases' sentence vectors to `zhigu search embed` or the worker: the threads a drain starts
    would die with this command, and the few cases they embedded first made every other case's nearest-cases
    list embed that case's text as a query (0.2 s each) in `compute_missing`."""
    app = current_app
    limit = app.config["EMBED_AT_DRAIN"]
    app.config["EMBED_AT_DRAIN"] = 0
    try:
        yield
    finally:
        app.config["EMBED_AT_DRAIN"] = limit


def _create_user(email: str, name: str, label: str, role: Role, park: str | None, note: str = "") -> None:
    """Create a demo user unless it exists, printing its password once; `label` names its role as people know it."""
    note = f"  ({note})" if note else ""
    if auth.find_user(email) is not None:
        click.echo(f"  {label:14} {email} (exists; password unchanged){note}")
        return
    password = secrets.token_urlsafe(9)
    auth.create_user(email, password, role=role, park_slug=park, display_name=name)
    click.echo(f"  {label:14} {email:30} password: {password}{note}")


def _assign_curators() -> None:
    """Give each demo case its park's curator as author, so editing rights look like real use."""
    curators = {}
    for email, _, role, park in USERS:
        if role in (Role.curator, Role.manager) and park and park not in curators:
            curators[park] = auth.find_user(email)
    ids = [json.loads(line)["external_id"] for line in (DATA / "cases.jsonl").read_text("utf-8").splitlines() if line]
    for case in db.session.scalars(select(FailureCase).where(FailureCase.external_id.in_(ids))):
        if case.author_id is None and case.park is not None:
            case.author = curators.get(case.park.slug)
    db.session.commit()
