"""Calendar arithmetic shared by scheduling (maintenance due) and billing (instalments)."""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's last day (31 Jan + 1 → 28/29 Feb)."""
    return day + relativedelta(months=months)
