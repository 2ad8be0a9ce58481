"""A real local SMTP server for the password-reset mails (as tests/notify has for the digests)."""
import socket
import time

import pytest


class Inbox:
    """Messages a real local SMTP server (aiosmtpd) received."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes
        from email.policy import default

        message = message_from_bytes(envelope.original_content or envelope.content, policy=default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10.0) -> list:
        """The messages once `count` have arrived (the app sends from a background thread)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.messages) >= count, f"expected {count} message(s), got {len(self.messages)}"
        return self.messages


@pytest.fixture
def smtp_server(app):
    """Start an SMTP server on a free local port and point the app's MAIL_* settings at it."""
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_FROM="accounts@zhigu.test",
                      BASE_URL="https://zhigu.example")
    yield inbox
    controller.stop()
