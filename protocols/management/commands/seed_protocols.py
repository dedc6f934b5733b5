from django.core.management.base import BaseCommand

from protocols.catalogue import real_models, seed


class Command(BaseCommand):
    help = "Create the default protocols that are missing (never changes existing ones)."

    def handle(self, *args, **options):
        created = seed(real_models())
        self.stdout.write(self.style.SUCCESS(f"{created} protocol(s) created."))
