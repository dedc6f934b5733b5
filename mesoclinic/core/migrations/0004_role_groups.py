from django.db import migrations

ROLES = ("practitioner", "front desk", "manager")


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    """The three role groups. Their model permissions are attached after migrate
    by mesoclinic.core.roles.sync_groups, once every app's permissions exist."""

    dependencies = [
        ("core", "0003_audit_append_only"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
