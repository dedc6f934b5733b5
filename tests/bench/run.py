"""`make bench`: build a realistic dataset, time the hot pages, write var/bench/latest.json.

Runs against its own database (mesoclinic_bench, or BENCH_DATABASE_URL), so the
dataset survives between runs and is only topped up. Each suite module under
tests/bench/ exposes `NAME`, `generate(ctx)` and `measure(ctx) -> dict[str, number]`.
Figures are printed and merged into var/bench/latest.json (a flat name: number object).

    make bench                                   # every suite
    make bench BENCH_ARGS="sessions_bench"       # only the named suites (the patient
                                                 # dataset they build on is still made)
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import environ

BASE_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(BASE_DIR))
SUITES = [
    "tests.bench.patients_bench",
    "tests.bench.reminders_bench",
    "tests.bench.sessions_bench",
    "tests.bench.online_bench",
    "tests.bench.pdf_bench",
    "tests.bench.billing_bench",
]
OUT = BASE_DIR / "var" / "bench" / "latest.json"


def bench_database_url() -> str:
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/mesoclinic_bench"))


def ensure_database(url: str) -> None:
    import psycopg2

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    cfg = environ.Env.db_url_config(admin_url)
    conn = psycopg2.connect(
        dbname=cfg["NAME"],
        user=cfg["USER"],
        host=unquote(cfg["HOST"] or "") or None,
        port=cfg["PORT"] or None,
        password=cfg["PASSWORD"] or None,
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def chosen_suites(names: list[str]) -> list[str]:
    if not names:
        return SUITES
    known = {name.rsplit(".", 1)[1]: name for name in SUITES}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"Unknown suite(s) {', '.join(unknown)}; choose from {', '.join(known)}.")
    return [known[n] for n in names]


def main(argv: list[str]) -> int:
    suites = chosen_suites(argv)
    url = bench_database_url()
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesoclinic.settings")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    ctx: dict = {"percentile": percentile}
    figures: dict[str, float] = {}
    if SUITES[0] not in suites:
        # Every suite builds on the patient dataset.
        importlib.import_module(SUITES[0]).generate(ctx)
    for name in suites:
        suite = importlib.import_module(name)
        started = time.perf_counter()
        suite.generate(ctx)
        print(f"[{suite.NAME}] dataset ready in {time.perf_counter() - started:.1f} s", flush=True)
        results = suite.measure(ctx)
        for key, value in results.items():
            print(f"  {key:32s} {value}")
        figures.update(results)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(OUT.read_text()) if OUT.exists() else {}
    OUT.write_text(json.dumps({**previous, **figures}, indent=2, sort_keys=True) + "\n")
    print(f"Figures written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
