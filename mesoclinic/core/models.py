from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEvent(models.Model):
    """Who viewed or changed which patient's clinical record, and who signed in, changed
    a staff account or ran a backup or restore. Append-only.

    A database trigger (migration 0003) refuses UPDATE and DELETE on this table,
    so not even a bug or a shell session can rewrite history. And in case someone
    with the rights to switch that trigger off does, the rows form a hash chain
    (migration 0009): when a transaction that wrote audit rows commits, a deferred
    trigger gives each row the next `chain_seq`, the previous row's hash and its own
    hash over its fields and that previous hash. `manage.py audit_verify`
    (`mesoclinic.core.audit_chain`) recomputes the chain and names the first row that
    does not match.
    """

    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        CREATE = "create", "Created"
        CHANGE = "change", "Changed"
        ARCHIVE = "archive", "Archived"
        RESTORE = "restore", "Restored"
        SIGN = "sign", "Signed"
        AMEND = "amend", "Amended"
        ACKNOWLEDGE = "acknowledge", "Acknowledged"
        DOWNLOAD = "download", "Downloaded"
        EMAIL = "email", "Emailed"
        # Staff accounts and operations (mesoclinic.core.accounts, mesoclinic.core.backups).
        SIGN_IN = "sign_in", "Signed in"
        SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
        SIGN_OUT = "sign_out", "Signed out"
        UNLOCK = "unlock", "Unlocked"
        DEACTIVATE = "deactivate", "Deactivated"
        REACTIVATE = "reactivate", "Reactivated"
        PASSWORD = "password", "Password set or reset"
        TWO_FACTOR_ENROL = "2fa_enrol", "Two-factor enrolled"
        TWO_FACTOR_RESET = "2fa_reset", "Two-factor reset"
        BACKUP = "backup", "Backup made"
        BACKUP_RESTORE = "backup_restore", "Restored from backup"
        # Data rights (mesoclinic.records).
        EXPORT = "export", "Exported"
        API_READ = "api_read", "Read through the FHIR API"
        ERASURE = "erasure", "Erasure request"
        RETENTION = "retention", "Retention applied"
        REVOKE = "revoke", "Revoked"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Kept as text too, so the log still reads right if a username changes.
    actor_label = models.CharField(max_length=150)
    # The patient the row is about (core imports no app: a plain id, see patient_refs;
    # the patients app's migration 0005 keeps the database's foreign-key constraint).
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    # The hash chain, filled by the database when the row's transaction commits (in
    # commit order, under a lock); blank until then. Never written by the application.
    chain_seq = models.BigIntegerField(null=True, blank=True, unique=True, editable=False)
    prev_hash = models.CharField(max_length=64, blank=True, db_default="", editable=False)
    row_hash = models.CharField(max_length=64, blank=True, db_default="", editable=False)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["patient_id", "-at"], name="audit_patient_at"),
            models.Index(fields=["actor", "-at"], name="audit_actor_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type}"


class OutboundMessage(models.Model):
    """One email to send, or sent: the outbox. The database, not the broker, is the record.

    Rows are created in the same transaction as the change that calls for them
    (a booking, a completed session). Beat finds due rows; a worker claims them with
    SELECT ... FOR UPDATE SKIP LOCKED, sends, and marks them sent, so two workers
    never send the same row and losing the broker delays messages but loses none.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Waiting"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=40, db_index=True)
    # What the message is about (an appointment, a quote, an instalment...).
    subject_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.PROTECT, related_name="+"
    )
    subject_id = models.BigIntegerField()
    # Distinguishes several messages of one kind about one subject ("48h", "3h").
    offset_key = models.CharField(max_length=20, blank=True, default="")
    # The patient it goes to, as a plain id (see AuditEvent.patient_id).
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    recipient = models.EmailField(max_length=254, blank=True)
    due_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Set when the dispatcher hands the row to the broker, cleared when the row waits
    # again (retry, recovery, re-timing); a queued row is not queued again before
    # outbox.QUEUED_LEASE has passed (the broker may have lost it).
    queued_at = models.DateTimeField(null=True, blank=True)
    # Bumped when staff send the message again on purpose: part of its Message-ID.
    generation = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    email_subject = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-due_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject_type", "subject_id", "kind", "offset_key"],
                name="one_message_per_subject_kind_offset",
            )
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                name="outbox_pending_due",
                condition=models.Q(state="pending"),
            ),
            models.Index(
                fields=["claimed_at"],
                name="outbox_sending_claimed",
                condition=models.Q(state="sending"),
            ),
            models.Index(fields=["patient_id", "-due_at"], name="outbox_patient"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient or '?'} ({self.state})"


class MessageSetting(models.Model):
    """A manager's switch and timing for one kind of patient message."""

    kind = models.CharField(max_length=40, unique=True)
    enabled = models.BooleanField(default=True)
    # Hours before (negative) or after (positive) the subject's reference time;
    # a kind with several offsets sends one message per offset.
    offsets_hours = models.JSONField(default=list, blank=True)
    respects_quiet_hours = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return f"{self.kind} ({'on' if self.enabled else 'off'})"
