"""E-mail digests: each user's choice of how often, and the mail of their unread, un-mailed notifications.

Nobody is mailed about a case they may not see: visibility is checked again when a digest is sent.
"""
import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app, has_request_context, url_for
from flask_babel import force_locale, gettext, ngettext
from sqlalchemy import inspect, select, update
from sqlalchemy.exc import IntegrityError

from zhigu.auth.models import User
from zhigu.auth.permissions import can, require
from zhigu.db import now_utc
from zhigu.extensions import db
from zhigu.mail import smtp_connection
from zhigu.notify.models import DigestSetting, Notification
from zhigu.notify.scan import naive, scan_new_cases
from zhigu.notify.schemas import DigestSettingSchema
from zhigu.validation import strip_bidi

log = logging.getLogger(__name__)
DIGEST_PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
#: A digest counts as due a little early, so a daily cron job at a fixed hour never skips a day.
DIGEST_SLACK = timedelta(hours=1)


def digest_setting(user) -> DigestSetting:
    setting = db.session.get(DigestSetting, user.id)
    return setting or DigestSetting(user_id=user.id, frequency="daily")


def set_digest_frequency(actor, data: dict) -> DigestSetting:
    require(actor, "notify.subscribe")
    values = DigestSettingSchema().load(data)
    setting = db.session.get(DigestSetting, actor.id)
    if setting is None:
        setting = DigestSetting(user_id=actor.id)
        db.session.add(setting)
    setting.frequency = values["frequency"]
    db.session.commit()
    return setting


def _due(setting: DigestSetting, now) -> bool:
    period = DIGEST_PERIODS.get(setting.frequency)
    if period is None:
        return False
    return setting.last_sent_at is None or naive(now) - naive(setting.last_sent_at) >= period - DIGEST_SLACK


def _digest_message(user: User, items: list[Notification], frequency: str) -> EmailMessage:
    """The digest e-mail, in Simplified Chinese and in English (users have no stored language yet)."""
    message = EmailMessage()
    subjects, bodies = [], []
    for language in ("en", "zh"):
        with force_locale(language):
            subject, body = _digest_text(user, items, frequency)
        subjects.append(subject)
        bodies.append(body)
    message["Subject"] = strip_bidi(" / ".join(subjects))
    message["From"] = current_app.config.get("MAIL_FROM", "zhigu@localhost")
    message["To"] = user.email
    message.set_content(strip_bidi("\n\n----\n\n".join(reversed(bodies))))
    return message


def _digest_text(user: User, items: list[Notification], frequency: str) -> tuple[str, str]:
    """Subject and body of a digest in the current locale."""
    if frequency == "weekly":
        subject = ngettext("Zhigu weekly digest: %(num)d update", "Zhigu weekly digest: %(num)d updates", len(items))
    else:
        subject = ngettext("Zhigu daily digest: %(num)d update", "Zhigu daily digest: %(num)d updates", len(items))
    lines = [gettext("Hello %(name)s,", name=user.display_name), "",
             gettext("What happened in the archive since your last digest:"), ""]
    for n in items:
        lines.append(f"- {n.text}")
        if n.case_id:
            lines.append(f"  {url_for('archive.detail', case_id=n.case_id, _external=True)}")
    lines += ["", gettext("Change how often you get this e-mail: %(url)s",
                          url=url_for("notify.notifications", _external=True))]
    return subject, "\n".join(lines)


def send_digests(now=None) -> dict:
    """Scan new cases, then e-mail each user whose digest is due the notifications not mailed yet.

    Only notifications about cases the user may still see go out. Each user's digest is claimed first
    (_claim_digest), so two runs at once (cron and `zhigu worker`, or overlapping crons) mail it once. A
    user whose mail fails is retried on the next run (the claim is given back, nothing is marked as sent).
    Returns counts of sent and failed digests.
    """
    if not has_request_context():  # the command line: links in the mail need the site's address
        with current_app.test_request_context(base_url=current_app.config.get("BASE_URL", "http://localhost:5000")):
            return send_digests(now)
    now = now or now_utc()
    scan_new_cases()
    user_ids = list(db.session.scalars(select(Notification.user_id).where(
        Notification.emailed_at.is_(None), Notification.read_at.is_(None)).distinct()))
    sent = failed = 0
    smtp = None
    try:
        for user_id in sorted(user_ids):
            user = db.session.get(User, user_id)
            setting = digest_setting(user)
            if not user.is_active or not _due(setting, now):
                continue
            previous = setting.last_sent_at
            pending = db.session.scalars(select(Notification).where(
                Notification.user_id == user.id, Notification.emailed_at.is_(None),
                Notification.read_at.is_(None)).order_by(Notification.id)).all()
            items = [n for n in pending if n.case is None or can(user, "case.view", n.case)]
            # read after the setting: a run that mailed these since has moved last_sent_at, and the claim fails
            if not items or not _claim_digest(setting, now):
                continue
            try:
                smtp = smtp or smtp_connection()
                smtp.send_message(_digest_message(user, items, setting.frequency))
            except (smtplib.SMTPException, OSError):
                log.exception("Digest for user %s could not be sent", user.id)
                db.session.rollback()
                _release_digest(user.id, now, previous)
                failed += 1
                smtp = None
                continue
            for n in items:
                n.emailed_at = now
            db.session.commit()
            sent += 1
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
    return {"sent": sent, "failed": failed}


def _claim_digest(setting: DigestSetting, now) -> bool:
    """Move the user's `last_sent_at` to `now` if no other run has since it was read; True when this run won.

    A compare-and-set the database lets one transaction win (the first digest inserts the setting row,
    which only one run can do). A run that dies between the claim and the mail delays that digest by one
    period; it does not lose it, as its notifications stay unmailed.
    """
    if inspect(setting).transient:  # digest_setting's default: the user never chose nor got a digest
        setting.last_sent_at = now
        db.session.add(setting)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            return False
        return True
    won = db.session.execute(update(DigestSetting).where(
        DigestSetting.user_id == setting.user_id, DigestSetting.last_sent_at.is_not_distinct_from(setting.last_sent_at))
        .values(last_sent_at=now)).rowcount == 1
    db.session.commit()
    return won


def _release_digest(user_id: int, now, previous) -> None:
    """Give back the claim of a digest whose mail failed, so the next run sends it."""
    db.session.execute(update(DigestSetting).where(DigestSetting.user_id == user_id, DigestSetting.last_sent_at == now)
                       .values(last_sent_at=previous))
    db.session.commit()
