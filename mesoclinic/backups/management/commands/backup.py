import getpass
import time

from django.core.management.base import BaseCommand, CommandError

from mesoclinic.backups import archive, services


class Command(BaseCommand):
    help = (
        "Write an encrypted, compressed archive of the database and the private files "
        "(BACKUP_DIR), with a manifest of checksums; keep the newest BACKUP_KEEP."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output-dir", help="Folder for the archive (default BACKUP_DIR).")
        parser.add_argument("--keep", type=int, help="Archives to keep (default BACKUP_KEEP).")
        parser.add_argument(
            "--new-key",
            action="store_true",
            help="Print a new BACKUP_KEY and exit. Keep a copy away from the backups.",
        )

    def handle(self, *args, **options):
        if options["new_key"]:
            self.stdout.write(archive.new_key())
            return
        if options["keep"] is not None and options["keep"] < 1:
            raise CommandError("--keep must be at least 1.")
        started = time.monotonic()
        try:
            result, removed = services.backup_run(
                actor_label=f"backup command ({getpass.getuser()})",
                out_dir=options["output_dir"],
                keep=options["keep"],
            )
        except archive.BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Backup written: {result.path} ({result.size / 1_000_000:.1f} MB, "
                f"{result.tables} tables, {result.rows} rows, {result.files} files) "
                f"in {time.monotonic() - started:.1f} s."
            )
        )
        for path in removed:
            self.stdout.write(f"Removed old backup {path.name}")
