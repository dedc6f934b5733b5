"""Backup and restore runs, audited. The command and the nightly task call these."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.files.storage import storages
from django.utils import timezone

from mesoclinic import audit
from mesoclinic.backups import archive
from mesoclinic.backups.archive import BackupError, BackupResult, Database, RestoreResult

__all__ = ["BackupError", "backup_run", "restore_run", "private_files_root"]


def private_files_root() -> Path:
    return Path(storages["default"].location)


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def backup_run(
    *, actor_label: str, out_dir: Path | None = None, keep: int | None = None
) -> tuple[BackupResult, list[Path]]:
    """Write an archive, keep the newest `keep` (BACKUP_KEEP), audit the run either way."""
    out_dir = Path(out_dir or settings.BACKUP_DIR)
    keep = keep or settings.BACKUP_KEEP
    try:
        result = archive.backup_create(
            database=Database.from_settings(settings.DATABASES["default"]),
            files_root=private_files_root(),
            out_dir=out_dir,
            key=settings.BACKUP_KEY,
            now=timezone.now(),
        )
        removed = archive.prune(out_dir, keep)
    except BackupError as exc:
        audit.record(
            actor_label=actor_label, action=audit.Action.BACKUP, summary=f"Backup failed: {exc}"
        )
        raise
    audit.record(
        actor_label=actor_label,
        action=audit.Action.BACKUP,
        summary=(
            f"Backup {result.path.name}: {_mb(result.size)}, {result.tables} tables, "
            f"{result.rows} rows, {result.files} files; {len(removed)} older removed"
        ),
    )
    return result, removed


def restore_run(
    *,
    archive_path: Path,
    actor_label: str,
    database_url: str | None = None,
    files_root: Path | None = None,
) -> RestoreResult:
    database = (
        Database.from_url(database_url)
        if database_url
        else Database.from_settings(settings.DATABASES["default"])
    )
    result = archive.backup_restore(
        archive=Path(archive_path),
        database=database,
        files_root=Path(files_root or private_files_root()),
        key=settings.BACKUP_KEY,
    )
    # The restored database records its own restore (after the verification, so the
    # counts compared are the archive's).
    conn = database.connect()
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute(
                "INSERT INTO core_auditevent (at, actor_label, action, object_type, object_id, "
                "summary) VALUES (now(), %s, %s, '', '', %s)",
                [
                    actor_label[:150],
                    audit.Action.BACKUP_RESTORE.value,
                    (
                        f"Restored from {Path(archive_path).name} (made {result.created_at}): "
                        f"{result.tables} tables, {result.rows} rows, {result.files} files "
                        "verified"
                    )[:255],
                ],
            )
    finally:
        conn.close()
    return result
