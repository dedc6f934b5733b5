"""`make bench`: build a realistic dataset, time the hot pages, write var/bench/latest.json.

Runs against its own database (tier M: mesoclinic_bench, or BENCH_DATABASE_URL; tier L:
mesoclinic_bench_l, or BENCH_DATABASE_URL with "_l" appended), so the dataset survives
between runs and is only topped up. Each suite module under tests/bench/ exposes
`NAME`, `generate(ctx)` and `measure(ctx) -> dict[str, number]`. Figures are printed and
merged into var/bench/latest.json (tier L: latest-L.json), a flat name: number object.

Before each suite that times staff pages, the floor (tests/bench/floor_urls.py: the
base layout, same middleware, session and user) is timed too; `floor_p95_ms` is the
p95 of all its samples and each page figure is also given as `<page>_ratio`, its p95
over the floor's.

    make bench                                   # every suite, tier M
    make bench BENCH_TIER=L                      # tier L (tests/bench/tiers.py)
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

from tests.bench import tiers  # noqa: E402 - needs the project on the path

SUITES = [
    "tests.bench.patients_bench",
    "tests.bench.reminders_bench",
    "tests.bench.sessions_bench",
    "tests.bench.online_bench",
    "tests.bench.pdf_bench",
    "tests.bench.billing_bench",
    "tests.bench.records_bench",
    "tests.bench.load_bench",
]
TIER = tiers.current()
OUT = BASE_DIR / "var" / "bench" / TIER.figures
# Suites that time staff pages: the floor is timed right before each of them.
PAGE_SUITES = {"patients", "sessions", "billing"}
FLOOR_SAMPLES = 100
# Each staff page figure and the name of its ratio to the floor.
RATIOS = {
    "patient_search_p95_ms": "patient_search_ratio",
    "patient_page_p95_ms": "patient_page_ratio",
    "calendar_week_p95_ms": "calendar_week_ratio",  # page + its event feed: two requests
    "patient_with_courses_page_p95_ms": "patient_with_courses_page_ratio",
    "quote_build_p95_ms": "quote_build_ratio",
}


def bench_database_url() -> str:
    if os.environ.get("BENCH_DATABASE_URL"):
        url = os.environ["BENCH_DATABASE_URL"]
        if TIER.name == "M":
            return url
        parts = urlsplit(url)
        return urlunsplit(parts._replace(path=f"{parts.path}_{TIER.name.lower()}"))
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{TIER.database}"))


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


def floor_samples(ctx: dict, count: int = FLOOR_SAMPLES) -> list[float]:
    """Server time of the floor page, ms (the same test client as the page suites)."""
    from django.test import Client

    from tests.bench.floor_urls import FLOOR_URL

    client = Client()
    client.force_login(ctx["practitioner"])
    client.get(FLOOR_URL)  # the first request warms the template
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(FLOOR_URL)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return times


def analyze() -> None:
    """Fresh planner statistics after a suite's bulk load, as autovacuum gives a
    production database soon after (a machine may run PostgreSQL with it off: then
    the planner judges the outbox and audit tables by their empty sizes)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


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
    # As in the tests: bench users are signed in without the second factor (a verified
    # session costs production one more query a page, to load the device).
    os.environ.setdefault("TWO_FACTOR_REQUIRED_ROLES", "")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()
    from django.conf import settings
    from django.urls import clear_url_caches

    settings.ROOT_URLCONF = "tests.bench.floor_urls"
    clear_url_caches()
    print(f"Tier {TIER.name}: database {url.rsplit('/', 1)[-1]}, figures {OUT}", flush=True)
    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    ctx: dict = {"percentile": percentile, "tier": TIER}
    # The machine's load when the run starts and ends: figures move with it.
    figures: dict[str, float] = {"load_average_start_1m": round(os.getloadavg()[0], 2)}
    floor: list[float] = []
    if SUITES[0] not in suites:
        # Every suite builds on the patient dataset.
        importlib.import_module(SUITES[0]).generate(ctx)
    for name in suites:
        suite = importlib.import_module(name)
        started = time.perf_counter()
        suite.generate(ctx)
        analyze()
        built = time.perf_counter() - started
        print(f"[{suite.NAME}] dataset ready in {built:.1f} s", flush=True)
        figures[f"build_{suite.NAME}_s"] = round(built, 1)
        if suite.NAME in PAGE_SUITES:
            floor += floor_samples(ctx)
        results = suite.measure(ctx)
        for key, value in results.items():
            print(f"  {key:32s} {value}")
        figures.update(results)
    if floor:
        figures["floor_p95_ms"] = round(percentile(floor, 95), 1)
        for page, ratio in RATIOS.items():
            if page in figures:
                figures[ratio] = round(figures[page] / figures["floor_p95_ms"], 2)
        for key in ["floor_p95_ms", *RATIOS.values()]:
            if key in figures:
                print(f"  {key:32s} {figures[key]}")
    figures["load_average_end_1m"] = round(os.getloadavg()[0], 2)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(OUT.read_text()) if OUT.exists() else {}
    OUT.write_text(json.dumps({**previous, **figures}, indent=2, sort_keys=True) + "\n")
    print(f"Figures written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
