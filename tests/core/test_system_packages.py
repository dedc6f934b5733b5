"""The system-package check that `make run/test/bench` and `.ci/run` go through.

The machine is never changed: each test builds a PATH of stub commands (a fake
`ldconfig -p`, `fc-list`, `apt-get`, ...) so that a library or the browser can be
"missing" while the real one stays installed.
"""

import io
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mesoclinic import system_packages

BASE_DIR = Path(__file__).resolve().parents[2]
ALL_LIBRARIES = ("libpango-1.0.so.0", "libpangoft2-1.0.so.0", "libharfbuzz-subset.so.0")


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture
def machine(tmp_path):
    """A PATH holding stubs for everything the `test` profile needs, and an apt-get that
    records its calls (and, on install, makes the packages' commands appear)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "apt-calls"
    for name in ("chromium", "pdftotext", "npm", "make"):
        _stub(bin_dir, name, "exit 0")
    libraries = "\\n".join(f"\\t{lib} (libc6,x86-64) => /usr/lib/{lib}" for lib in ALL_LIBRARIES)
    _stub(bin_dir, "ldconfig", f'printf "{libraries}\\n"')
    _stub(bin_dir, "fc-list", 'echo "DejaVu Sans"')
    _stub(
        bin_dir,
        "apt-get",
        f'echo "$*" >> {calls}\n'
        f'case "$*" in *install*chromium*) printf "#!/bin/sh\\nexit 0\\n" > {bin_dir}/chromium;'
        f" /bin/chmod +x {bin_dir}/chromium;; esac",
    )
    os.symlink(sys.executable, bin_dir / "python3")

    class Machine:
        path = str(bin_dir)
        environ = {"PATH": str(bin_dir), "PYTHON_BIN": "python3"}

        @staticmethod
        def remove(name: str) -> None:
            (bin_dir / name).unlink()

        @staticmethod
        def apt_calls() -> list[str]:
            return calls.read_text().splitlines() if calls.exists() else []

    return Machine()


def _ensure(profile, environ, *, root: bool, monkeypatch):
    monkeypatch.setattr(system_packages.os, "geteuid", lambda: 0 if root else 1000)
    out = io.StringIO()
    code = system_packages.ensure(profile, probe=system_packages.Probe(environ), out=out)
    return code, out.getvalue()


@pytest.mark.parametrize("root", [True, False])
def test_everything_present_makes_no_apt_call(machine, monkeypatch, root):
    code, output = _ensure("test", machine.environ, root=root, monkeypatch=monkeypatch)
    assert code == 0
    assert output == ""
    assert machine.apt_calls() == []


def test_missing_browser_as_a_user_stops_with_the_install_line(machine, monkeypatch):
    machine.remove("chromium")
    code, output = _ensure("test", machine.environ, root=False, monkeypatch=monkeypatch)
    assert code == system_packages.EXIT_MISSING
    assert (
        "sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium" in output
    )
    assert machine.apt_calls() == []


def test_missing_harfbuzz_subset_is_named(machine, monkeypatch, tmp_path):
    _stub(Path(machine.path), "ldconfig", 'printf "\\tlibpango-1.0.so.0 => x\\n"')
    code, output = _ensure("run", machine.environ, root=False, monkeypatch=monkeypatch)
    assert code == system_packages.EXIT_MISSING
    assert "libpangoft2-1.0-0 libharfbuzz-subset0" in output
    assert "chromium" not in output  # make run does not need the browser


def test_as_root_installs_only_what_is_missing_after_one_update(machine, monkeypatch):
    machine.remove("chromium")
    code, output = _ensure("test", machine.environ, root=True, monkeypatch=monkeypatch)
    assert code == 0, output
    calls = machine.apt_calls()
    assert [c.split()[-1] for c in calls if "update" in c] == ["update"]
    assert len(calls) == 2
    assert calls[1].endswith("install -y --no-install-recommends chromium")


def test_not_debian_says_so_and_stops(machine, monkeypatch):
    machine.remove("apt-get")
    machine.remove("pdftotext")
    code, output = _ensure("test", machine.environ, root=True, monkeypatch=monkeypatch)
    assert code == system_packages.EXIT_MISSING
    assert "not a Debian/Ubuntu system" in output
    assert "poppler-utils" in output


def test_profiles_share_one_list():
    assert "chromium" not in system_packages.packages_of(system_packages.PROFILES["run"])
    assert "libharfbuzz-subset0" in system_packages.packages_of(system_packages.PROFILES["run"])
    for profile in ("test", "ci"):
        packages = system_packages.packages_of(system_packages.PROFILES[profile])
        assert {"chromium", "poppler-utils", "libharfbuzz-subset0"} <= set(packages)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_test_stops_before_running_anything(machine, tmp_path):
    """`make test` without the browser, as a normal user would meet it: the check's
    exit stops make before the virtualenv, the assets or pytest are touched."""
    machine.remove("chromium")
    machine.remove("apt-get")  # an apt-get that cannot run: nothing may be installed
    ran = tmp_path / "ran"
    _stub(Path(machine.path), "recorder", f"/usr/bin/touch {ran}")
    real_make = shutil.which("make")
    env = machine.environ
    done = subprocess.run(
        [real_make, "--no-print-directory", "test", "PY=recorder", "MAKE=recorder"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "Chromium" in done.stdout
    assert not ran.exists()
