"""A real SMTP server for tests (aiosmtpd on 127.0.0.1): start it, stop it, slow it down,
make it refuse addresses, and read what it received."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler:
    def __init__(self, sink: SmtpSink):
        self.sink = sink

    async def _pause(self):
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        await self._pause()
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        await self._pause()
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await self._pause()
        if address.lower() in self.sink.refused:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        await self._pause()
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.sink.lock:
            self.sink.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted"


class SmtpSink:
    """`sink.start()` / `sink.stop()` (a stopped sink refuses connections, as a mail server
    that is down); `sink.delay` seconds before each answer; `sink.refused` addresses get 550;
    `sink.received` is a list of (recipients, email.message.EmailMessage)."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.delay = 0.0
        self.refused: set[str] = set()
        self.received: list = []
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> SmtpSink:
        if self._controller is None:
            self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
            self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list:
        with self.lock:
            return [m for rcpts, m in self.received if address.lower() in map(str.lower, rcpts)]

    def wait_for(self, count: int, timeout: float = 10.0) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        with self.lock:
            return list(self.received)

    def config(self) -> dict:
        """The app settings that send mail here."""
        return {
            "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": self.port,
            "MAIL_USE_TLS": False,
            "MAIL_USE_SSL": False,
            "MAIL_TIMEOUT": 5,
        }


def main() -> None:
    """`python -m tests.smtp PORT`: a sink in a process of its own (for benchmarks); on end of
    input it prints {"received": n, "distinct_recipients": n} and stops."""
    import json
    import sys

    sink = SmtpSink(int(sys.argv[1])).start()
    print("ready", flush=True)
    sys.stdin.read()
    recipients = [r for rcpts, _m in sink.received for r in rcpts]
    print(json.dumps({"received": len(sink.received), "distinct_recipients": len(set(recipients))}))
    sink.stop()


if __name__ == "__main__":
    main()
