"""A real SMTP server on loopback (aiosmtpd) that keeps what it accepts, for tests and
benchmarks that need email to leave Django for real.

    from tests.smtp import smtp_server_fixture  # the fixture ``smtp_server``

    def test_it(smtp_server, settings):
        smtp_server.use_for_django(settings)      # in-process sending (eager Celery)
        ...                                       # or EMAIL_URL=smtp_server.url for a worker
        (received,) = smtp_server.wait_for(1)

A message counts as received only once the server has accepted it (the reply to DATA). A
test can hold the next message at that point (``hold_next``), so that its sender is
mid-send; a sender that disappears while held has not delivered it (aiosmtpd cancels the
session when the client goes away, and the message is counted as abandoned).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import cached_property
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller

HOST = "127.0.0.1"
# aiosmtpd logs every SMTP command at INFO; a failing test's output should show the test's.
logging.getLogger("mail.log").setLevel(logging.WARNING)


def free_port(host: str = HOST) -> int:
    """A TCP port nothing listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    at: float  # time.monotonic() when it was accepted

    @cached_property
    def message(self) -> EmailMessage:
        return cast(EmailMessage, message_from_bytes(self.data, policy=policy.default))

    def _body(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        if part is None or part.get_content_subtype() != subtype:
            raise AssertionError(
                f"no text/{subtype} part in {self.message.get_content_type()} message:\n"
                f"{self.data.decode(errors='replace')[:2000]}"
            )
        # SMTP carries CRLF line ends; the text as written has LF.
        return str(cast(EmailMessage, part).get_content()).replace("\r\n", "\n")

    @property
    def text(self) -> str:
        return self._body("plain")

    @property
    def html(self) -> str:
        return self._body("html")


@dataclass
class Hold:
    """The next message waits, unanswered, until ``release()``; ``arrived`` is set once its
    whole content has reached the server."""

    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        hold = self.server._take_hold()
        if hold is not None:
            hold.arrived.set()
            try:
                while not hold.released.is_set():
                    await asyncio.sleep(0.02)
            except asyncio.CancelledError:  # the client went away before the answer
                self.server._abandon()
                raise
        self.server._accept(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                data=bytes(envelope.original_content or envelope.content),
                at=time.monotonic(),
            )
        )
        return "250 Message accepted for delivery"


class SmtpServer:
    """An aiosmtpd server on ``127.0.0.1:<free port>``, started by ``start()`` (or ``with``)."""

    def __init__(self, host: str = HOST) -> None:
        self.host = host
        self.port = 0
        self._controller: Controller | None = None
        self._lock = threading.Condition()
        self._messages: list[Received] = []
        self._holds: list[Hold] = []
        self._all_holds: list[Hold] = []
        self.abandoned = 0

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> SmtpServer:
        for _attempt in range(5):  # the free port may be taken between choosing and binding
            port = free_port(self.host)
            controller = Controller(
                _Handler(self), hostname=self.host, port=port, server_hostname="smtp.test"
            )
            try:
                controller.start()
            except (OSError, RuntimeError):
                continue
            self._controller, self.port = controller, port
            return self
        raise RuntimeError("could not start the test SMTP server on a free port")

    def stop(self) -> None:
        for hold in self._all_holds:
            hold.release()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``EMAIL_URL`` for a process that should send here."""
        return f"smtp://{self.host}:{self.port}"

    def django_settings(self) -> dict[str, Any]:
        """The Django settings that send email here (for ``override_settings``)."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": self.host,
            "EMAIL_PORT": self.port,
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "EMAIL_USE_TLS": False,
            "EMAIL_USE_SSL": False,
        }

    def use_for_django(self, settings: Any) -> None:
        """Point Django's email at this server (``settings``: pytest-django's fixture)."""
        for name, value in self.django_settings().items():
            setattr(settings, name, value)

    # --- what arrived --------------------------------------------------------------------

    def _accept(self, received: Received) -> None:
        with self._lock:
            self._messages.append(received)
            self._lock.notify_all()

    def _abandon(self) -> None:
        with self._lock:
            self.abandoned += 1
            self._lock.notify_all()

    def _take_hold(self) -> Hold | None:
        with self._lock:
            return self._holds.pop(0) if self._holds else None

    @property
    def messages(self) -> list[Received]:
        with self._lock:
            return list(self._messages)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
            self.abandoned = 0

    def hold_next(self) -> Hold:
        """Hold the next message before accepting it (see ``Hold``)."""
        hold = Hold()
        with self._lock:
            self._holds.append(hold)
            self._all_holds.append(hold)
        return hold

    def wait_for(self, count: int, timeout: float = 30.0, *, why: str = "") -> list[Received]:
        """Wait until at least ``count`` messages arrived; all of them. Fails with what did
        arrive (and ``why``, e.g. a worker's log) when they do not come in time."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{len(self._messages)} message(s) reached the SMTP server in "
                        f"{timeout:.0f} s, expected {count}: "
                        f"{[m.message['Subject'] for m in self._messages]}\n{why}"
                    )
                self._lock.wait(min(left, 0.5))
            return list(self._messages)

    def quiet_for(self, seconds: float) -> list[Received]:
        """Wait ``seconds`` (for anything late or doubled to arrive); everything received."""
        time.sleep(seconds)
        return self.messages


@pytest.fixture(name="smtp_server")
def smtp_server_fixture() -> Iterator[SmtpServer]:
    """``smtp_server``: a started ``SmtpServer`` (stopped, every hold released, after the
    test). Import it into the test module: ``from tests.smtp import smtp_server_fixture``."""
    with SmtpServer() as server:
        yield server
