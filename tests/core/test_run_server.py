"""`make run` serves with a bounded number of database connections whatever the traffic.

The launcher's web server (the same command `make run` starts) is run against the test
database; a few hundred requests that each use the database go to it, many at once,
and PostgreSQL's pg_stat_activity counts the server's connections as they arrive. With
runserver's thread per request and persistent connections the count climbed with every
request until PostgreSQL refused clients; the walk stops as soon as the count passes
the bound, so a regression cannot exhaust a shared server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.db import connection

from mesoclinic import launcher
from tests.support.worker import database_url_for_tests

pytestmark = pytest.mark.django_db(transaction=True)

REQUESTS = 300
AT_ONCE = 16
BOUND = launcher.WEB_WORKERS * launcher.WEB_THREADS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


# The server's connections carry this name, so others on the same database (a live
# server of an earlier test in this process) are not counted.
APPLICATION_NAME = "mesoclinic-make-run-test"


def server_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            [APPLICATION_NAME],
        )
        return cursor.fetchone()[0]


@pytest.fixture
def web_server():
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"{database_url_for_tests()}?application_name={APPLICATION_NAME}",
        "DEBUG": "1",  # as `make run` has it: static files served from the finders
        "SECRET_KEY": settings.SECRET_KEY,
        "SECURE_SSL_REDIRECT": "0",
    }
    env.pop("CONN_MAX_AGE", None)  # the default: persistent connections
    process = subprocess.Popen(
        launcher.web_command(port=port),
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if get(f"{base}/healthz") == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, "the web server stopped"
            assert time.monotonic() < deadline, "the web server did not answer in 60 s"
            time.sleep(0.25)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_make_run_serves_with_a_bounded_number_of_database_connections(web_server):
    """`/healthz` runs a query on every request; 300 of them, 16 at a time."""
    statuses: list[int] = []
    peak = 0
    with ThreadPoolExecutor(AT_ONCE) as pool:
        for start in range(0, REQUESTS, AT_ONCE * 2):
            batch = min(AT_ONCE * 2, REQUESTS - start)
            statuses += pool.map(get, [f"{web_server}/healthz"] * batch)
            peak = max(peak, server_connections())
            if peak > BOUND:
                break  # leaking: stop before the shared server runs out of connections
    assert peak <= BOUND, f"{peak} connections after {len(statuses)} requests; the bound is {BOUND}"
    assert len(statuses) == REQUESTS and set(statuses) == {200}
    # Static files are still served in development (WhiteNoise from the finders).
    assert get(f"{web_server}/static/css/app.css") == 200
