"""The audit log and the outbox refer to patients by a plain id: core imports no app.

Data-preserving: the `patient_id` columns and their indexes stay as they are; only the
model state changes (a foreign key becomes an integer field) and the foreign-key
constraints are dropped here, to be added back by the app that owns the relation
(patients 0005). Migration 0002 and 0005 still name patients.Patient: that is history.
"""

from django.db import migrations, models

TABLES = ("core_auditevent", "core_outboundmessage")


def drop_patient_constraints(apps, schema_editor):
    for model_name in ("auditevent", "outboundmessage"):
        model = apps.get_model("core", model_name)
        for name in schema_editor._constraint_names(model, ["patient_id"], foreign_key=True):
            schema_editor.execute(schema_editor._delete_fk_sql(model, name))


def restore_patient_constraints(apps, schema_editor):
    """Back to 0005's state: the foreign keys as Django made them (deferred to commit)."""
    for table in TABLES:
        schema_editor.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {table}_patient_id_fk FOREIGN KEY (patient_id) "
            "REFERENCES patients_patient (id) DEFERRABLE INITIALLY DEFERRED"
        )


class Migration(migrations.Migration):
    dependencies = [("core", "0006_audit_staff_actions")]

    operations = [
        migrations.RunPython(drop_patient_constraints, restore_patient_constraints),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="auditevent", name="audit_patient_at"),
                migrations.RemoveField(model_name="auditevent", name="patient"),
                migrations.AddField(
                    model_name="auditevent",
                    name="patient_id",
                    field=models.BigIntegerField(blank=True, db_index=True, null=True),
                ),
                migrations.AddIndex(
                    model_name="auditevent",
                    index=models.Index(fields=["patient_id", "-at"], name="audit_patient_at"),
                ),
                migrations.RemoveIndex(model_name="outboundmessage", name="outbox_patient"),
                migrations.RemoveField(model_name="outboundmessage", name="patient"),
                migrations.AddField(
                    model_name="outboundmessage",
                    name="patient_id",
                    field=models.BigIntegerField(blank=True, db_index=True, null=True),
                ),
                migrations.AddIndex(
                    model_name="outboundmessage",
                    index=models.Index(fields=["patient_id", "-due_at"], name="outbox_patient"),
                ),
            ],
            database_operations=[],
        ),
    ]
