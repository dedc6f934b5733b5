from django.contrib.postgres.operations import BtreeGistExtension, TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    """PostgreSQL extensions the schema relies on: trigram search and GiST exclusion constraints."""

    initial = True
    dependencies = []
    operations = [TrigramExtension(), BtreeGistExtension()]
