"""The name search's trigram index with a 256-byte signature (docs/decisions.md L12).

Built beside the old index without locking the table (CONCURRENTLY, outside a
transaction), then the old one is dropped the same way: patient search and pages keep
working during a deploy on a large table.
"""

import django.contrib.postgres.indexes
from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("patients", "0007_screening_source_remote_consent"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="patient",
            index=django.contrib.postgres.indexes.GistIndex(
                fields=["search_name"],
                name="patient_search_name_sig256",
                opclasses=["gist_trgm_ops(siglen=256)"],
            ),
        ),
        RemoveIndexConcurrently(model_name="patient", name="patient_search_name_trgm"),
    ]
