"""`manage.py audit_verify`: recompute the audit log's hash chain; exit 1 at the first break."""

from django.core.management.base import BaseCommand, CommandError

from mesoclinic.core import audit_chain


class Command(BaseCommand):
    help = (
        "Recompute the audit log's hash chain and report the first row that was changed, "
        "removed or inserted around the chain. Exits with status 1 if the chain is broken."
    )

    def handle(self, *args, **options):
        result = audit_chain.verify()
        rate = result.rows / result.seconds if result.seconds else 0
        if result.broken_id is not None:
            raise CommandError(
                f"Audit chain broken at row id {result.broken_id} (chain position "
                f"{result.broken_seq}): {result.reason}. "
                f"{result.rows - 1} row(s) before it verified."
            )
        if result.unsealed:
            raise CommandError(f"Audit chain incomplete: {result.reason}.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact: {result.rows} row(s) verified in {result.seconds:.2f} s "
                f"({rate:,.0f} rows/s)."
            )
        )
