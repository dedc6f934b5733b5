import getpass
import time

from django.core.management.base import BaseCommand, CommandError

from mesoclinic.backups import archive, services


class Command(BaseCommand):
    help = (
        "Restore an archive made by `backup` into an EMPTY database and an EMPTY files "
        "folder, then verify row counts table by table and every file's checksum."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="The .tar.gz.age file.")
        parser.add_argument(
            "--database-url", help="Restore into this database instead of DATABASE_URL."
        )
        parser.add_argument(
            "--files-dir", help="Restore the files here instead of PRIVATE_MEDIA_ROOT."
        )

    def handle(self, *args, **options):
        started = time.monotonic()
        try:
            result = services.restore_run(
                archive_path=options["archive"],
                actor_label=f"restore command ({getpass.getuser()})",
                database_url=options["database_url"],
                files_root=options["files_dir"],
            )
        except archive.BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored the backup made {result.created_at}: {result.tables} tables, "
                f"{result.rows} rows and {result.files} files, all matching the manifest "
                f"({time.monotonic() - started:.1f} s)."
            )
        )
