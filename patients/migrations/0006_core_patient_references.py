"""The database keeps guarding the patient ids the audit log and the outbox store.

core (the shared library) holds them as plain integers and depends on no app
(core 0007 dropped its foreign keys); the relation belongs to the patients app, so
its constraints are added here, as Django would have made them (deferred to commit).
"""

from django.db import migrations

REFERENCES = (
    ("core_auditevent", "core_auditevent_patient_fk"),
    ("core_outboundmessage", "core_outboundmessage_patient_fk"),
)

ADD = "\n".join(
    f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY (patient_id) "
    f"REFERENCES patients_patient (id) DEFERRABLE INITIALLY DEFERRED;"
    for table, name in REFERENCES
)
DROP = "\n".join(f"ALTER TABLE {table} DROP CONSTRAINT {name};" for table, name in REFERENCES)


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0005_screening_answered_by"),
        ("core", "0007_patient_id"),
    ]

    operations = [migrations.RunSQL(ADD, DROP)]
