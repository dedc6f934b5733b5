from django.db import migrations

MODELS = (
    "Protocol",
    "CentrifugeSpin",
    "CocktailIngredient",
    "ProtocolContraindication",
    "CareInstruction",
    "ConsentVersion",
)


def seed(apps, schema_editor):
    from protocols.catalogue import seed as seed_catalogue

    seed_catalogue({name: apps.get_model("protocols", name) for name in MODELS})


class Migration(migrations.Migration):
    dependencies = [("protocols", "0002_consent_lock")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
