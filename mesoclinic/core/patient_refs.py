"""Patients as the shared library sees them: a plain id, resolved by the patients app.

The audit log and the outbox record which patient a row is about as `patient_id`
(an integer, no foreign key: this package imports no app, and its migrations depend
on none). The patients app registers a `Directory` in its `AppConfig.ready()`, which the
core's pages use to show a name with a link and to filter by name. The database still
guards the reference: the patients app's migration adds the foreign-key constraint.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PatientRef:
    id: int
    name: str
    url: str


class Directory(Protocol):
    def refs(self, ids: Iterable[int]) -> dict[int, PatientRef]:
        """One query: the patients with these ids that exist."""

    def ids_matching(self, text: str):
        """A query of the ids of patients whose name contains `text` (usable as a subquery)."""


_directory: Directory | None = None


def register(directory: Directory) -> None:
    global _directory
    _directory = directory


def refs(ids: Iterable[int | None]) -> dict[int, PatientRef]:
    wanted = {i for i in ids if i is not None}
    if not wanted or _directory is None:
        return {}
    return _directory.refs(wanted)


def ids_matching(text: str):
    if _directory is None:
        return []
    return _directory.ids_matching(text)


def attach(rows: Iterable, attr: str = "patient_ref") -> None:
    """Set `row.patient_ref` (a PatientRef or None) on each row that has a `patient_id`."""
    rows = list(rows)
    found = refs(r.patient_id for r in rows)
    for row in rows:
        setattr(row, attr, found.get(row.patient_id))
