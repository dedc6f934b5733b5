"""Checking the audit log's hash chain (see AuditEvent and core migration 0009).

The database seals each audit row when its transaction commits: `chain_seq` (1, 2, 3...
in commit order), `prev_hash` (the row before's `row_hash`; 64 zeros for the first) and
`row_hash` = SHA-256 of `canonical(...)`. This module recomputes every hash from the
row's stored fields, in `chain_seq` order, and reports the first row where the chain
breaks: a field edited after the fact (its hash no longer matches), a row deleted (a gap
in the sequence, or a `prev_hash` that names another row), or rows moved.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC

from django.db import connection

GENESIS = "0" * 64
# Rows are read from a server-side cursor in batches of this size.
BATCH = 20_000
# A row still unsealed this long after it was written means the chain trigger did not
# run for it (the trigger was switched off, or the row was inserted around it).
UNSEALED_GRACE_SECONDS = 600


def _field(value) -> str:
    text = "" if value is None else str(value)
    return f"{len(text)}:{text}"


def canonical(
    *,
    id: int,
    at,
    actor_id: int | None,
    actor_label: str,
    patient_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    summary: str,
    ip_address: str | None,
    chain_seq: int,
    prev_hash: str,
) -> str:
    """The text a row's hash is taken over; the same as the SQL in migration 0009."""
    stamp = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return "".join(
        _field(v)
        for v in (
            id,
            stamp,
            actor_id,
            actor_label,
            patient_id,
            action,
            object_type,
            object_id,
            summary,
            ip_address,
            chain_seq,
            prev_hash,
        )
    )


def row_hash(**fields) -> str:
    return hashlib.sha256(canonical(**fields).encode()).hexdigest()


@dataclass(frozen=True)
class Result:
    rows: int
    seconds: float
    broken_id: int | None = None
    broken_seq: int | None = None
    reason: str = ""
    unsealed: int = 0

    @property
    def ok(self) -> bool:
        return self.broken_id is None and not self.unsealed


_QUERY = """
    SELECT id, at, actor_id, actor_label, patient_id, action, object_type, object_id,
           summary, host(ip_address), chain_seq, prev_hash, row_hash
    FROM core_auditevent WHERE chain_seq IS NOT NULL ORDER BY chain_seq
"""


def verify() -> Result:
    """Recompute the whole chain. Outside a transaction it reads in one snapshot
    (REPEATABLE READ, read-only) so rows sealed while it runs do not disturb it."""
    started = time.perf_counter()
    connection.ensure_connection()
    raw = connection.connection
    own_transaction = not connection.in_atomic_block
    if own_transaction:
        raw.autocommit = False
    try:
        with raw.cursor() as setup:
            if own_transaction:
                setup.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            setup.execute("SET LOCAL timezone = 'UTC'")
        cursor = raw.cursor(name="audit_verify")
        cursor.itersize = BATCH
        cursor.execute(_QUERY)
        try:
            count, broken = _walk(cursor)
        finally:
            cursor.close()
        if broken:
            return Result(rows=count, seconds=time.perf_counter() - started, **broken)
        with raw.cursor() as tail:
            tail.execute(
                "SELECT count(*) FROM core_auditevent WHERE chain_seq IS NULL "
                "AND at < now() - make_interval(secs => %s)",
                [UNSEALED_GRACE_SECONDS],
            )
            unsealed = tail.fetchone()[0]
    finally:
        if own_transaction:
            raw.rollback()
            raw.autocommit = True
    return Result(
        rows=count,
        seconds=time.perf_counter() - started,
        unsealed=unsealed,
        reason=f"{unsealed} row(s) older than {UNSEALED_GRACE_SECONDS // 60} minutes were "
        "never sealed into the chain"
        if unsealed
        else "",
    )


def _walk(cursor) -> tuple[int, dict | None]:
    expected_prev = GENESIS
    expected_seq = 1
    count = 0
    sha256 = hashlib.sha256
    field = _field
    for row in cursor:
        rid, at, actor_id, label, patient_id, action, otype, oid, summary, ip, seq, prev, h = row
        count += 1
        if seq != expected_seq:
            return count, {
                "broken_id": rid,
                "broken_seq": seq,
                "reason": f"the sequence jumps from {expected_seq - 1} to {seq} "
                "(rows deleted, or inserted around the chain)",
            }
        if prev != expected_prev:
            return count, {
                "broken_id": rid,
                "broken_seq": seq,
                "reason": "its previous-row hash does not match the row before it",
            }
        stamp = at.strftime("%Y-%m-%d %H:%M:%S.%f")
        text = (
            f"{field(rid)}{len(stamp)}:{stamp}{field(actor_id)}{field(label)}"
            f"{field(patient_id)}{field(action)}{field(otype)}{field(oid)}{field(summary)}"
            f"{field(ip)}{field(seq)}{field(prev)}"
        )
        if sha256(text.encode()).hexdigest() != h:
            return count, {
                "broken_id": rid,
                "broken_seq": seq,
                "reason": "its fields do not match its hash (the row was changed)",
            }
        expected_prev = h
        expected_seq += 1
    return count, None
