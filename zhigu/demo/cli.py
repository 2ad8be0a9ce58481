"""`zhigu demo`: parks, one user of each role per park, and the demo cases; safe to run again."""
import json
import secrets
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from zhigu.archive.models import FailureCase
from zhigu.archive.services import seed_causes
from zhigu.archive.transfer import import_cases
from zhigu.auth import services as auth
from zhigu.auth.models import Role
from zhigu.extensions import db

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
    """Load the demo archive: parks, users (passwords printed once) and realistic failure cases."""
    db.create_all()
    seed_causes()
    for slug, name, region in PARKS:
        if auth.find_park(slug) is None:
            auth.create_park(None, {"slug": slug, "name": name, "region": region})
    for email, name, role, park in USERS:
        if auth.find_user(email) is not None:
            click.echo(f"  {role.value:8} {email} (exists; password unchanged)")
            continue
        password = secrets.token_urlsafe(9)
        auth.create_user(email, password, role=role, park_slug=park, display_name=name)
        click.echo(f"  {role.value:8} {email:28} password: {password}")
    lines = (DATA / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    counts = import_cases(lines)
    _assign_curators()
    click.echo(f"Demo cases: {counts['created']} new, {counts['updated']} updated.")


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
