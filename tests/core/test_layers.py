"""The layers hold (import-linter, contracts in pyproject.toml), and a wrong import fails.

The second test copies the code to a temporary folder, adds one import that breaks a
contract, and runs the same `lint-imports` CI runs: it must fail and name the import.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

BASE = Path(settings.BASE_DIR)
LINT = str(Path(sys.executable).with_name("lint-imports"))
PACKAGES = ("mesoclinic", "billing", "sessions", "patients", "protocols")


def lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LINT, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_every_contract_is_kept():
    result = lint(BASE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # Scheduling charging a session itself instead of through a hook.
        (
            "sessions/scheduling/services.py",
            "from billing import services as billing",
            "sessions is not allowed to import billing",
        ),
        # Scheduling reaching into charting.
        (
            "sessions/scheduling/selectors.py",
            "from sessions.charting import selectors as charting",
            "sessions.scheduling is not allowed to import sessions.charting",
        ),
        # The shared library importing an app.
        (
            "mesoclinic/core/audit.py",
            "from patients.models import Patient",
            "mesoclinic.core is not allowed to import patients",
        ),
        # Protocols reading patients (the questionnaire lives in protocols now).
        (
            "protocols/selectors.py",
            "from patients import selectors as patient_selectors",
            "protocols is not allowed to import patients",
        ),
        # A pure rule module touching the ORM.
        ("billing/pricing.py", "from django.db import models", "billing.pricing -> django"),
    ],
)
def test_a_wrong_import_breaks_a_contract(tmp_path, module, line, broken):
    for package in PACKAGES:
        shutil.copytree(
            BASE / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(BASE / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}  # deliberately wrong\n")
    result = lint(tmp_path)
    assert result.returncode == 1
    assert broken in " ".join(result.stdout.split()), result.stdout
