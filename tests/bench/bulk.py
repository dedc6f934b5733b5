"""Fast inserts for the bench datasets: unsaved model instances through PostgreSQL COPY.

Several times faster than bulk_create for hundreds of thousands of rows (no SQL to
build, no parameters to bind); constraints and indexes are checked as usual. Every
concrete column is written from the instance (defaults were filled when it was made;
auto_now fields get the current time), so the table's constraints hold as for a save.
"""

from __future__ import annotations

import csv
import io
import json

from django.db import connection, models

# What COPY reads as NULL (an empty field stays an empty string).
NULL = r"\N"


def copy_insert(model, objs, *, chunk: int = 50_000) -> int:
    """Insert these unsaved instances of `model` (ids from the table's sequence)."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '{NULL}')"
    total = 0
    batch: list = []

    def flush():
        nonlocal total
        if not batch:
            return
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for obj in batch:
            writer.writerow([_cell(f, obj) for f in fields])
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.copy_expert(sql, buffer)
        total += len(batch)
        batch.clear()

    for obj in objs:
        batch.append(obj)
        if len(batch) >= chunk:
            flush()
    flush()
    return total


def _cell(field: models.Field, obj) -> object:
    value = field.pre_save(obj, add=True)
    if value is None:
        return NULL
    if isinstance(field, models.JSONField):
        return json.dumps(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    value = field.get_db_prep_save(value, connection)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
