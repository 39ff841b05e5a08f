"""Real Celery worker processes and private Redis servers, for the tests that need them
(and for bench/notifications.py).

A worker is ``celery -A cbportal worker`` in its own process group, logging to a file; it
sees the test database through ``DATABASE_URL`` (so only PostgreSQL will do: the tests that
use one are ``django_db(transaction=True)``, their writes committed) and consumes its queue
on the broker it is given. ``Workers`` (the ``workers`` fixture) stops every worker it
started, prints their logs (pytest shows them when the test failed) and kills whatever does
not stop. ``RedisServer`` (the ``private_redis`` fixture) is a throw-away ``redis-server``
on a free port that a test may kill, freeze and restart on the same port. Test modules
import the fixtures they use (``from tests.workers import workers_fixture``).
``publishing_to(url)`` points this process's Celery app at another broker for a while.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.smtp import HOST, free_port

ROOT = Path(__file__).resolve().parents[1]
READY_SECONDS = 60.0  # a worker on a busy two-core machine takes 5-10 s to start
_names = count(1)


def _tied_to_this_process(command: list[str]) -> list[str]:
    """``command``, killed by the kernel should this process die (Linux ``setpriv
    --pdeathsig``, when installed): a test run killed outright leaves no worker or Redis
    behind to consume a queue for ever."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--", *command] if setpriv else command


def wait_until(
    predicate: Callable[[], bool],
    timeout: float,
    what: str,
    details: Callable[[], str] = lambda: "",
    interval: float = 0.1,
) -> None:
    """Poll ``predicate`` until it holds; fail saying ``what`` did not happen (and the
    ``details``, e.g. worker logs) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s\n{details()}")
        time.sleep(interval)


# --- what a worker needs ---------------------------------------------------------------


def database_url(settings_dict: dict[str, Any]) -> str:
    """The ``DATABASE_URL`` of a Django PostgreSQL connection (the test database once
    pytest-django has set it up)."""
    user = quote(str(settings_dict.get("USER") or ""), safe="")
    password = quote(str(settings_dict.get("PASSWORD") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


def require_postgresql() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: set DATABASE_URL (e.g. "
            "postgres://cbportal:cbportal@127.0.0.1:5432/cbportal) so that a worker process "
            "can see the test database"
        )


def require_redis_url() -> str:
    from django.conf import settings

    if not settings.REDIS_URL:
        pytest.skip(
            "needs Redis: set REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run a real worker"
        )
    return str(settings.REDIS_URL)


def require_redis_server() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs the redis-server program (apt install redis-server) for a private Redis")
    return binary


# --- a private Redis -------------------------------------------------------------------


class RedisServer:
    """``redis-server`` on 127.0.0.1, a free port, no persistence: ``start()`` (again on
    the same port after ``kill()``), ``freeze()``/``thaw()`` (SIGSTOP/SIGCONT: it accepts
    connections and never answers), ``stop()``."""

    def __init__(self, log_path: Path, binary: str = "redis-server") -> None:
        self.binary = binary
        self.log_path = log_path
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.frozen = False

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def ping(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=0.5) as sock:
                sock.settimeout(0.5)
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self, timeout: float = 10.0) -> RedisServer:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                _tied_to_this_process(
                    [
                        self.binary,
                        "--port",
                        str(self.port),
                        "--bind",
                        HOST,
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--daemonize",
                        "no",
                    ]
                ),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        proc = self.proc
        wait_until(
            lambda: proc.poll() is not None or self.ping(),
            timeout,
            f"redis-server on port {self.port} answering PING",
            self.log,
        )
        if proc.poll() is not None:
            raise AssertionError(f"redis-server exited ({proc.returncode}):\n{self.log()}")
        return self

    def kill(self) -> None:
        """Gone at once, as after a crash (SIGKILL); its data with it."""
        if self.proc is not None and self.proc.poll() is None:
            if self.frozen:
                self.thaw()
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.frozen = False

    def freeze(self) -> None:
        assert self.proc is not None and self.proc.poll() is None
        self.proc.send_signal(signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
        self.frozen = False

    stop = kill


@pytest.fixture(name="private_redis")
def private_redis_fixture(tmp_path: Path) -> Iterator[RedisServer]:
    """``private_redis``: a started private ``RedisServer`` (killed after the test)."""
    server = RedisServer(tmp_path / "redis.log", require_redis_server())
    try:
        yield server.start()
    finally:
        server.stop()


# --- this process's Celery app -------------------------------------------------------------


def _drop_broker_connections(app: Any) -> None:
    # The app builds its connection pool (app.pool) and producer pool (app.amqp.
    # producer_pool) once, from broker_url, and keeps them; kombu's registry keeps them
    # too, by URL. Forcing a pool closed empties it for good (acquiring from it then waits
    # for ever), so it must not be handed out again: kombu.pools.reset() closes every pool
    # and forgets them all, as Celery does after a fork. The next publish builds new ones
    # from the current broker_url.
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def publishing_to(url: str) -> Iterator[None]:
    """Tasks queued by this process go to the broker ``url`` until the block ends."""
    from cbportal.celery import app

    previous = app.conf.broker_url
    _drop_broker_connections(app)
    app.conf.broker_url = url
    try:
        yield
    finally:
        _drop_broker_connections(app)
        app.conf.broker_url = previous


def purge_queue() -> None:
    """Drop what earlier runs left in this process's default queue on its broker."""
    from cbportal.celery import app

    app.control.purge()


# --- worker processes --------------------------------------------------------------------------


class Worker:
    """One ``celery worker`` process (and, with prefork, its children: one process group)."""

    def __init__(self, name: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
        self.name = name
        self.proc = proc
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def describe(self) -> str:
        state = "running" if self.alive else f"exited with {self.proc.returncode}"
        return f"--- worker {self.name} ({state}), log {self.log_path}:\n{self.log()}"

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, timeout: float = READY_SECONDS) -> Worker:
        wait_until(
            lambda: not self.alive or " ready." in self.log(),
            timeout,
            f"worker {self.name} ready",
            self.describe,
            interval=0.2,
        )
        if not self.alive:
            raise AssertionError(
                f"worker {self.name} exited before it was ready\n{self.describe()}"
            )
        return self

    def _signal_group(self, sig: int) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL, as when the machine loses the process: no warm shutdown, no ack."""
        self._signal_group(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> None:
        if self.alive:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._signal_group(signal.SIGKILL)  # prefork children left behind, if any


def worker_environment(
    *, database_url: str, broker_url: str, queue: str, email_url: str, **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_CORE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="cbportal.settings.base",
        DATABASE_URL=database_url,
        REDIS_URL=broker_url,
        CELERY_QUEUE=queue,
        EMAIL_URL=email_url,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def start_worker(
    *,
    log_path: Path,
    env: dict[str, str],
    pool: str = "solo",
    concurrency: int = 1,
    name: str | None = None,
    loglevel: str = "INFO",
) -> Worker:
    """Start a worker (without waiting for it: ``Worker.wait_ready``)."""
    name = name or f"cbtest{os.getpid()}-{next(_names)}"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "cbportal",
        "worker",
        f"--pool={pool}",
        f"--loglevel={loglevel}",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--hostname",
        f"{name}@%h",
    ]
    if pool != "solo":
        command.append(f"--concurrency={concurrency}")
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            _tied_to_this_process(command),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: prefork children die with it
        )
    return Worker(name, proc, log_path)


class Workers:
    """Starts workers on the test database; ``stop_all()`` stops them and prints their logs."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[Worker] = []

    def start(
        self,
        *,
        email_url: str,
        broker_url: str | None = None,
        wait: bool = True,
        pool: str = "solo",
        **extra_env: str,
    ) -> Worker:
        from django.conf import settings
        from django.db import connection

        require_postgresql()
        name = f"cbtest{os.getpid()}-{next(_names)}"
        env = worker_environment(
            database_url=database_url(connection.settings_dict),
            broker_url=broker_url or require_redis_url(),
            queue=settings.CELERY_TASK_DEFAULT_QUEUE,
            email_url=email_url,
            SITE_URL=settings.SITE_URL,
            **extra_env,
        )
        worker = start_worker(
            log_path=self.directory / f"{name}.log", env=env, pool=pool, name=name
        )
        self.started.append(worker)
        return worker.wait_ready() if wait else worker

    def logs(self) -> str:
        return "\n".join(w.describe() for w in self.started)

    def stop_all(self) -> None:
        for worker in self.started:
            with suppress(subprocess.TimeoutExpired):  # the others are still stopped
                worker.stop()
        if self.started:
            print(self.logs())  # shown by pytest when the test failed


@pytest.fixture(name="workers")
def workers_fixture(tmp_path: Path) -> Iterator[Workers]:
    """``workers.start(email_url=..., broker_url=None → REDIS_URL, **env)``; every worker
    is stopped (killed if need be) after the test, and its log printed."""
    started = Workers(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()
