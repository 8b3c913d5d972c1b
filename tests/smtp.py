"""A real SMTP server for tests (aiosmtpd), recording what it receives."""

from __future__ import annotations

import socket
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class _Recorder:
    def __init__(self):
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


class RecordingSMTPServer:
    host = "127.0.0.1"

    def __init__(self):
        with socket.socket() as s:
            s.bind((self.host, 0))
            self.port = s.getsockname()[1]
        self._recorder = _Recorder()
        self._controller = Controller(self._recorder, hostname=self.host, port=self.port)

    @property
    def messages(self) -> list[EmailMessage]:
        return self._recorder.messages

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[EmailMessage]:
        """The messages received once there are at least ``count`` (delivery is asynchronous)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
