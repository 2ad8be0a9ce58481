"""The SMTP connection of the MAIL_* settings, shared by the e-mail digests and the password-reset mail."""
import smtplib

from flask import current_app


def smtp_connection() -> smtplib.SMTP:
    """Connect to MAIL_SERVER:MAIL_PORT, with STARTTLS and a log-in when the settings ask for them."""
    config = current_app.config
    host, port = config.get("MAIL_SERVER", "localhost"), int(config.get("MAIL_PORT", 25))
    smtp = smtplib.SMTP(host, port, timeout=float(config.get("MAIL_TIMEOUT", 30)))
    if config.get("MAIL_USE_TLS"):
        smtp.starttls()
    if config.get("MAIL_USERNAME"):
        smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    return smtp
