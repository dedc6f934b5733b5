"""The audit log's hash chain: sealed at commit, verified by `manage.py audit_verify`,
and a row edited behind the append-only trigger's back is found."""

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, InternalError, connection, connections, transaction

from mesoclinic.core import audit, audit_chain
from mesoclinic.core.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)


def _write(n: int, label: str = "tester") -> None:
    for i in range(n):
        audit.record(action="view", actor_label=label, summary=f"row {i} | with; separators")


def test_rows_are_chained_in_commit_order_and_verify():
    _write(3)
    with transaction.atomic():
        audit.record(action="view", actor_label="in one transaction", summary="a")
        audit.record(action="change", actor_label="in one transaction", summary="b")
        # Not sealed until the transaction commits.
        assert AuditEvent.objects.filter(chain_seq__isnull=True).count() == 2
    rows = list(AuditEvent.objects.order_by("chain_seq"))
    assert [r.chain_seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == audit_chain.GENESIS
    for before, row in zip(rows, rows[1:], strict=False):
        assert row.prev_hash == before.row_hash
    result = audit_chain.verify()
    assert result.ok and result.rows == 5


def test_python_and_database_compute_the_same_hash():
    audit.record(action="view", actor_label="Zoë | ünïcode", summary="12:34 ; ✓")
    event = AuditEvent.objects.get()
    assert event.row_hash == audit_chain.row_hash(
        id=event.pk,
        at=event.at,
        actor_id=None,
        actor_label=event.actor_label,
        patient_id=None,
        action=event.action,
        object_type="",
        object_id="",
        summary=event.summary,
        ip_address=None,
        chain_seq=event.chain_seq,
        prev_hash=event.prev_hash,
    )


def test_verify_command_reports_success(capsys):
    _write(4)
    call_command("audit_verify")
    assert "Audit chain intact: 4 row(s) verified" in capsys.readouterr().out


def test_append_only_trigger_still_refuses_edits_of_sealed_rows():
    _write(1)
    event = AuditEvent.objects.get()
    with pytest.raises(InternalError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(summary="rewritten")
    with pytest.raises(InternalError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(row_hash="0" * 64)


def _as_superuser(sql: str, params=()) -> None:
    """What someone with the database owner's rights could do: switch the trigger off."""
    trigger = "core_auditevent_no_update_delete"
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE core_auditevent DISABLE TRIGGER {trigger}")
        cursor.execute(sql, params)
        cursor.execute(f"ALTER TABLE core_auditevent ENABLE TRIGGER {trigger}")


def test_a_row_edited_behind_the_trigger_is_reported():
    _write(6)
    target = AuditEvent.objects.order_by("chain_seq")[3]
    _as_superuser(
        "UPDATE core_auditevent SET summary = 'nothing to see' WHERE id = %s", [target.pk]
    )
    result = audit_chain.verify()
    assert not result.ok
    assert result.broken_id == target.pk and result.broken_seq == 4
    assert "changed" in result.reason
    with pytest.raises(CommandError, match=rf"broken at row id {target.pk} \(chain position 4\)"):
        call_command("audit_verify")


def test_recomputing_the_hash_after_an_edit_breaks_the_next_row():
    """A careful forger re-hashes the edited row: the next row's link still gives it away."""
    _write(5)
    rows = list(AuditEvent.objects.order_by("chain_seq"))
    target = rows[1]
    new_hash = audit_chain.row_hash(
        id=target.pk,
        at=target.at,
        actor_id=None,
        actor_label=target.actor_label,
        patient_id=None,
        action="change",
        object_type="",
        object_id="",
        summary=target.summary,
        ip_address=None,
        chain_seq=target.chain_seq,
        prev_hash=target.prev_hash,
    )
    _as_superuser(
        "UPDATE core_auditevent SET action = 'change', row_hash = %s WHERE id = %s",
        [new_hash, target.pk],
    )
    result = audit_chain.verify()
    assert result.broken_id == rows[2].pk
    assert "previous-row hash" in result.reason


def test_a_deleted_row_is_reported():
    _write(5)
    rows = list(AuditEvent.objects.order_by("chain_seq"))
    _as_superuser("DELETE FROM core_auditevent WHERE id = %s", [rows[2].pk])
    result = audit_chain.verify()
    assert result.broken_id == rows[3].pk
    assert "jumps from 2 to 4" in result.reason


def test_concurrent_writers_form_one_chain():
    errors = []

    def worker(n):
        try:
            for _ in range(10):
                with transaction.atomic():
                    audit.record(action="view", actor_label=f"thread {n}")
                    audit.record(action="change", actor_label=f"thread {n}")
        except Exception as exc:  # reported below; a thread cannot fail the test itself
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert AuditEvent.objects.filter(chain_seq__isnull=True).count() == 0
    result = audit_chain.verify()
    assert result.ok and result.rows == 80


def test_chain_positions_are_unique():
    _write(1)
    event = AuditEvent.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_no_update_delete"
        )
        cursor.execute(
            "INSERT INTO core_auditevent (at, actor_label, action, object_type, object_id, "
            "summary, chain_seq, prev_hash, row_hash) VALUES (now(), 'x', 'view', '', '', '', "
            "%s, '', '')",
            [event.chain_seq],
        )
