"""Dataset sizes of `make bench` (tier M, the default) and `make bench BENCH_TIER=L`.

M: one clinic business of 10 locations; L: a clinic group of 25 locations over 10
years on one database. Each tier has its own database (kept between runs, only topped
up) and its own figures file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Tier:
    name: str
    patients: int
    appointments: int  # the sessions suite's, over `years`
    years: int
    locations: int
    practitioners: int
    courses_per_practitioner: int  # 3-session courses, one every 9 days
    invoices: int
    outbox_history: int  # messages already sent, before the reminders suite's 10,000
    database: str
    figures: str


TIERS = {
    "M": Tier(
        name="M",
        patients=60_000,
        appointments=170_000,
        years=5,
        locations=10,
        practitioners=60,
        courses_per_practitioner=195,
        invoices=20_000,
        outbox_history=50_000,
        database="mesoclinic_bench",
        figures="latest.json",
    ),
    "L": Tier(
        name="L",
        patients=250_000,
        appointments=700_000,
        years=10,
        locations=25,
        practitioners=150,
        courses_per_practitioner=390,
        invoices=80_000,
        outbox_history=190_000,  # + the reminders suite's 10,000 = 200,000 rows
        database="mesoclinic_bench_l",
        figures="latest-L.json",
    ),
}


def current() -> Tier:
    name = os.environ.get("BENCH_TIER", "M").strip().upper() or "M"
    if name not in TIERS:
        raise SystemExit(f"BENCH_TIER must be one of {', '.join(TIERS)}, not {name!r}.")
    return TIERS[name]
