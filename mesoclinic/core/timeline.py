"""The patient timeline: what each app contributes, and how the entries are merged.

Each app owns a small selector `timeline_entries_for(patient, *, roles, limit)` that
returns its own `TimelineEntry` rows (one or two queries, newest `limit` rows per
query) and decides what each role may read, and registers it in its `AppConfig.ready()`
(`timeline.SOURCES.append(...)`). `patients.selectors.patient_timeline` merges them
newest first. Apps never import each other for this, and this module imports none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

# Each: a callable (patient, *, roles, limit) -> list[TimelineEntry], appended by the
# app that owns the entries in its AppConfig.ready(). The patients app's own entries
# (patients.timeline) are added by patient_timeline itself.
Source = Callable[..., "list[TimelineEntry]"]
SOURCES: list[Source] = []

# How many of the newest entries the patient page shows before "Show all".
PAGE_LIMIT = 30


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    title: str
    detail: str = ""
    icon: str = "dot"
    url: str = ""
    # "", "success", "warning" or "danger": how the page colours the entry.
    tone: str = ""


@dataclass(frozen=True)
class Timeline:
    entries: list[TimelineEntry]
    # More entries exist than were shown (the page offers "Show all").
    truncated: bool

    def __iter__(self):
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def sources() -> list[Source]:
    return list(SOURCES)


def merge(groups: Iterable[list[TimelineEntry]], *, limit: int | None) -> Timeline:
    """Newest first; at most `limit` entries (None: all).

    Sources fetch their newest `limit + 1` rows each, so the newest `limit` entries of
    the union are always among them, and an extra one tells us there are more.
    """
    entries = sorted(
        (e for group in groups for e in group), key=lambda e: (e.at, e.kind), reverse=True
    )
    if limit is None or len(entries) <= limit:
        return Timeline(entries, truncated=False)
    return Timeline(entries[:limit], truncated=True)
