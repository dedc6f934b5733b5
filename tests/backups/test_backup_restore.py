"""Issue 15: a backup of a seeded database restores into a fresh database with the same
rows, table by table, and the same files; a damaged archive is refused."""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
from pathlib import Path

import psycopg2
import pyrage
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management import CommandError, call_command
from django.db import connection

from mesoclinic.backups import archive
from mesoclinic.models import AuditEvent
from tests.factories import PatientFactory, ScreeningFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _admin_connection():
    settings_dict = connection.settings_dict
    conn = psycopg2.connect(
        dbname="postgres",
        user=settings_dict["USER"] or None,
        password=settings_dict["PASSWORD"] or None,
        host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None,
    )
    conn.autocommit = True
    return conn


@pytest.fixture
def fresh_database():
    """An empty database on the same server, dropped afterwards."""
    made = []

    def make(suffix: str) -> str:
        name = f"{connection.settings_dict['NAME']}_{suffix}"
        conn = _admin_connection()
        with conn.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        made.append(name)
        s = connection.settings_dict
        from urllib.parse import quote

        host = quote(s["HOST"] or "", safe="")
        return f"postgres://{s['USER']}@{host}:{s['PORT'] or 5432}/{name}"

    yield make
    conn = _admin_connection()
    with conn.cursor() as cursor:
        for name in made:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@pytest.fixture
def backup_settings(settings, tmp_path):
    settings.BACKUP_KEY = archive.new_key()
    settings.BACKUP_DIR = str(tmp_path / "backups")
    settings.BACKUP_KEEP = 3
    return settings


def seed(catalogue, monkeypatch):
    """Patients with screenings, a signed consent with its real PDF, a photo, a
    session document and audit rows."""
    from patients import tasks as patient_tasks
    from tests.charting.helpers import sample_session_document, sign_consent

    monkeypatch.setattr(
        patient_tasks.signed_consent_pdf,
        "delay",
        lambda pk: patient_tasks.signed_consent_pdf.apply(args=[pk]),
    )
    patients = [PatientFactory() for _ in range(5)]
    for p in patients:
        ScreeningFactory(patient=p)
    protocol = catalogue["PRP face rejuvenation"]
    sign_consent(patients[0], protocol)
    sample_session_document(patients[1], protocol)
    storages["default"].save("photos/2026/before.jpg", ContentFile(b"\xff\xd8" + b"x" * 5000))
    for p in patients:
        AuditEvent.objects.create(actor_label="seed", action="view", patient=p)


def table_counts(cursor) -> dict[str, int]:
    return archive._table_counts(cursor)


def file_hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def test_backup_restores_into_a_fresh_database_table_by_table(
    backup_settings, catalogue, monkeypatch, fresh_database, tmp_path, capsys
):
    seed(catalogue, monkeypatch)
    files_root = Path(storages["default"].location)
    with connection.cursor() as cursor:
        before = table_counts(cursor.cursor)
    originals = file_hashes(files_root)
    assert any(name.endswith(".pdf") for name in originals), originals  # the consent PDF

    started = time.monotonic()
    call_command("backup")
    backup_seconds = time.monotonic() - started
    archives = list(Path(backup_settings.BACKUP_DIR).glob("*.tar.gz.age"))
    assert len(archives) == 1
    made = archives[0]
    assert b"PGDMP" not in made.read_bytes()  # encrypted, not a plain dump
    run = AuditEvent.objects.get(action="backup", summary__startswith=f"Backup {made.name}")
    assert run.actor is None and run.actor_label.startswith("backup command")

    target = fresh_database("restore")
    restored_files = tmp_path / "restored-files"
    started = time.monotonic()
    call_command("restore", str(made), database_url=target, files_dir=str(restored_files))
    restore_seconds = time.monotonic() - started

    conn = archive.Database.from_url(target).connect()
    try:
        with conn.cursor() as cursor:
            after = table_counts(cursor)
            cursor.execute(
                "SELECT actor_label, summary FROM core_auditevent WHERE action = 'backup_restore'"
            )
            restore_rows = cursor.fetchall()
    finally:
        conn.close()
    # Every table, row for row; the restore adds its own audit row and nothing else.
    after["core_auditevent"] -= 1
    assert after == before
    assert before["patients_patient"] == 5 and before["core_auditevent"] >= 5
    assert file_hashes(restored_files) == originals
    assert len(restore_rows) == 1 and restore_rows[0][1].startswith(f"Restored from {made.name}")
    print(
        f"\nbackup {backup_seconds:.2f} s, restore {restore_seconds:.2f} s, archive "
        f"{made.stat().st_size} bytes, {len(before)} tables, {sum(before.values())} rows, "
        f"{len(originals)} files"
    )


def test_a_damaged_archive_is_refused_and_nothing_is_restored(
    backup_settings, catalogue, monkeypatch, fresh_database, tmp_path
):
    seed(catalogue, monkeypatch)
    call_command("backup")
    made = next(Path(backup_settings.BACKUP_DIR).glob("*.tar.gz.age"))
    damaged = tmp_path / made.name
    data = bytearray(made.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    target = fresh_database("damaged")
    with pytest.raises(CommandError, match="cannot be decrypted: it is damaged or incomplete"):
        call_command("restore", str(damaged), database_url=target, files_dir=str(tmp_path / "f"))
    truncated = tmp_path / "truncated.tar.gz.age"
    truncated.write_bytes(made.read_bytes()[:-100])
    with pytest.raises(CommandError, match="damaged or incomplete"):
        call_command("restore", str(truncated), database_url=target, files_dir=str(tmp_path / "f"))
    conn = archive.Database.from_url(target).connect()
    with conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert cursor.fetchone()[0] == 0
    conn.close()
    assert not (tmp_path / "f").exists() or not any((tmp_path / "f").iterdir())


def test_an_archive_that_does_not_match_its_manifest_is_refused(
    backup_settings, catalogue, monkeypatch, fresh_database, tmp_path
):
    """Re-encrypted with the right key but with a file swapped: the checksums catch it."""
    seed(catalogue, monkeypatch)
    call_command("backup")
    made = next(Path(backup_settings.BACKUP_DIR).glob("*.tar.gz.age"))
    identity = archive.identity_from(backup_settings.BACKUP_KEY)
    plain = pyrage.decrypt(made.read_bytes(), [identity])
    out = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(plain), mode="r:gz") as src,
        tarfile.open(fileobj=out, mode="w:gz") as dst,
    ):
        for member in src.getmembers():
            content = src.extractfile(member).read()
            if member.name.endswith(".jpg"):
                content = content[:-1] + b"!"
            dst.addfile(member, io.BytesIO(content))
    forged = tmp_path / "forged.tar.gz.age"
    forged.write_bytes(pyrage.encrypt(out.getvalue(), [identity.to_public()]))
    target = fresh_database("forged")
    with pytest.raises(CommandError, match="does not match its manifest.*before.jpg"):
        call_command("restore", str(forged), database_url=target, files_dir=str(tmp_path / "f"))


def test_wrong_key_missing_key_and_non_empty_targets_are_refused(
    backup_settings, catalogue, monkeypatch, fresh_database, tmp_path
):
    seed(catalogue, monkeypatch)
    call_command("backup")
    made = next(Path(backup_settings.BACKUP_DIR).glob("*.tar.gz.age"))
    target = fresh_database("refused")
    # Restoring over a database that has tables (the live one) is refused.
    with pytest.raises(CommandError, match="is not empty"):
        call_command("restore", str(made), files_dir=str(tmp_path / "f"))
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "something").write_text("x")
    with pytest.raises(CommandError, match="files folder .* is not empty"):
        call_command("restore", str(made), database_url=target, files_dir=str(busy))
    backup_settings.BACKUP_KEY = archive.new_key()
    with pytest.raises(CommandError, match="not made with this BACKUP_KEY"):
        call_command("restore", str(made), database_url=target, files_dir=str(tmp_path / "f"))
    backup_settings.BACKUP_KEY = ""
    with pytest.raises(CommandError, match="BACKUP_KEY is not set"):
        call_command("backup")
    failed = AuditEvent.objects.filter(action="backup", summary__startswith="Backup failed")
    assert failed.count() == 1 and "BACKUP_KEY is not set" in failed.get().summary


def test_retention_keeps_the_newest(backup_settings, tmp_path):
    folder = Path(backup_settings.BACKUP_DIR)
    folder.mkdir(parents=True)
    names = [f"mesoclinic-202611{day:02d}T023000Z.tar.gz.age" for day in range(1, 8)]
    for name in names:
        (folder / name).write_bytes(b"x")
    (folder / "notes.txt").write_text("kept")
    removed = archive.prune(folder, 3)
    assert [p.name for p in removed] == names[:4]
    assert sorted(p.name for p in folder.iterdir()) == sorted([*names[4:], "notes.txt"])


def test_tools_match_the_server_version():
    with connection.cursor() as cursor:
        major = archive.server_major(cursor.cursor)
    for tool in ("pg_dump", "pg_restore"):
        assert archive._tool_major(archive.pg_tool(tool, major)) == major
    with pytest.raises(archive.BackupError, match="no pg_dump 9 was found"):
        archive.pg_tool("pg_dump", 9)
