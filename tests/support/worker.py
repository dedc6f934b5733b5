"""Start a real Celery worker process against the test database and a broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.db import connection


def database_url_for_tests() -> str:
    """A DATABASE_URL naming the database this process uses (the test or bench database)."""
    db = connection.settings_dict
    host = db["HOST"] or ""
    from urllib.parse import quote

    return f"postgres://{db['USER']}@{quote(host, safe='')}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    def __init__(self, *, broker_url: str | None, smtp_port: int, extra_env: dict | None = None):
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url_for_tests(),
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "CONN_MAX_AGE": "0",
            **(extra_env or {}),
        }
        if broker_url:
            self.env["REDIS_URL"] = broker_url
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "mesoclinic",
                "worker",
                "--include",
                "tests.support.outbox_kinds",
                "--concurrency",
                "1",
                "--pool",
                "solo",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=settings.BASE_DIR,
            env=self.env,
        )
        return self

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
