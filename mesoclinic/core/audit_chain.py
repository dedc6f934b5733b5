"""Checking the audit log's hash chain (see AuditEvent and core migration 0009).

The database seals each audit row when its transaction commits: `chain_seq` (1, 2, 3...
in commit order), `prev_hash` (the row before's `row_hash`; 64 zeros for the first) and
`row_hash` = SHA-256 of `canonical(...)`. `verify` recomputes every hash from the row's
stored fields, in `chain_seq` order, in one query (the canonical text written out here,
not taken from the database's own functions), and reports the first row where the
chain breaks: a field edited after the fact (its hash no longer matches), a row deleted
(a gap in the sequence, or a `prev_hash` that names another row), or rows moved.
`canonical`/`row_hash` are the same definition in Python (tests check they agree).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC

from django.db import connection

GENESIS = "0" * 64
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


def _f(expression: str) -> str:
    """One field of the canonical text, written inline (not through the migration's
    stored function, which someone able to switch triggers off could also replace)."""
    value = f"coalesce(({expression})::text, '')"
    return f"length({value}) || ':' || {value}"


_CANONICAL = " || ".join(
    _f(e)
    for e in (
        "id",
        "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')",
        "actor_id",
        "actor_label",
        "patient_id",
        "action",
        "object_type",
        "object_id",
        "summary",
        "host(ip_address)",
        "chain_seq",
        "prev_hash",
    )
)

# Every sealed row's hash is recomputed in the database (SHA-256 in C, a few hundred
# thousand rows a second) and compared with the stored one, its link with the row
# before, and its position with the one before; the first row that fails is returned.
_QUERY = f"""
    WITH chain AS (
        SELECT id, chain_seq, prev_hash, row_hash,
               encode(sha256(convert_to({_CANONICAL}, 'UTF8')), 'hex') AS recomputed,
               lag(row_hash) OVER (ORDER BY chain_seq) AS hash_before,
               lag(chain_seq) OVER (ORDER BY chain_seq) AS seq_before
        FROM core_auditevent
        WHERE chain_seq IS NOT NULL
    )
    SELECT id, chain_seq, coalesce(seq_before, 0),
           recomputed <> row_hash,
           prev_hash <> coalesce(hash_before, '{GENESIS}')
    FROM chain
    WHERE chain_seq <> coalesce(seq_before, 0) + 1
       OR prev_hash <> coalesce(hash_before, '{GENESIS}')
       OR recomputed <> row_hash
    ORDER BY chain_seq
    LIMIT 1
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
        with raw.cursor() as cursor:
            cursor.execute(_QUERY)
            first = cursor.fetchone()
            if first is None:
                cursor.execute("SELECT count(*) FROM core_auditevent WHERE chain_seq IS NOT NULL")
                count, broken = cursor.fetchone()[0], None
            else:
                count, broken = _explain(first)
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


def _explain(row) -> tuple[int, dict]:
    rid, seq, seq_before, _hash_differs, link_differs = row
    if seq != seq_before + 1:
        reason = (
            f"the sequence jumps from {seq_before} to {seq} "
            "(rows deleted, or inserted around the chain)"
        )
    elif link_differs:
        reason = "its previous-row hash does not match the row before it"
    else:
        reason = "its fields do not match its hash (the row was changed)"
    # Rows before the broken one verified; `rows` counts up to and including it.
    return seq, {"broken_id": rid, "broken_seq": seq, "reason": reason}
