"""The outbox: schedule, claim, send and recover patient messages.

Apps register a builder per message kind (`@outbox.builder("booking_confirmation")`).
A builder gets the OutboundMessage and returns the email to send, or None when the
message no longer applies (the appointment was cancelled, the patient withdrew
consent to messages); the row is then cancelled rather than sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.mail import EmailMessage, get_connection
from django.db import connection, models, transaction
from django.db.models import Count, F, Max, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from mesoclinic.core import nested, outbox_rules
from mesoclinic.core.models import OutboundMessage

logger = logging.getLogger(__name__)
State = OutboundMessage.State
Builder = Callable[[OutboundMessage], EmailMessage | None]
# (subject ids) -> {id: subject}: what a kind's builder reads, for a whole batch at once.
SubjectLoader = Callable[[list[int]], dict]
_builders: dict[str, Builder] = {}
_subject_loaders: dict[str, SubjectLoader] = {}

# A row left in "sending" this long is taken to belong to a worker that died.
STUCK_AFTER = timedelta(minutes=10)
CLAIM_BATCH = 100
# A row handed to the broker is not handed over again for this long: beat's dispatcher
# runs every minute, and while workers are behind (or down) the rows wait in the queue
# once, not once per minute. Past the lease the broker is taken to have lost them.
QUEUED_LEASE = timedelta(minutes=10)


def builder(kind: str, *, subjects: SubjectLoader | None = None) -> Callable[[Builder], Builder]:
    """Register the builder of a kind. `subjects`: loads the subjects of a whole batch
    in one query; the builder then gets each from `subject_of` instead of a query."""

    def register(func: Builder) -> Builder:
        _builders[kind] = func
        if subjects is not None:
            _subject_loaders[kind] = subjects
        return func

    return register


def subject_of(message: OutboundMessage, load_one: Callable[[int], object]):
    """The message's subject as loaded for its batch, or `load_one(subject_id)`."""
    if hasattr(message, "_batch_subject"):
        return message._batch_subject
    return load_one(message.subject_id)


def _load_subjects(messages: list[OutboundMessage]) -> None:
    by_kind: dict[str, list[OutboundMessage]] = {}
    for message in messages:
        if message.kind in _subject_loaders:
            by_kind.setdefault(message.kind, []).append(message)
    for kind, group in by_kind.items():
        found = _subject_loaders[kind]([m.subject_id for m in group])
        for message in group:
            message._batch_subject = found.get(message.subject_id)


def _quiet_hours():
    return outbox_rules.parse_quiet_hours(settings.CLINIC_QUIET_HOURS)


def message_schedule(
    *,
    kind: str,
    subject: models.Model,
    due_at: datetime,
    recipient: str,
    patient=None,
    offset_key: str = "",
    respect_quiet_hours: bool = True,
) -> OutboundMessage:
    """Create the message, or re-time it if it is still waiting. Idempotent.

    Call inside the transaction that makes the change, so the row exists exactly
    when the change does.
    """
    if respect_quiet_hours:
        due_at = outbox_rules.defer_past_quiet_hours(
            due_at, zone=timezone.get_default_timezone(), quiet=_quiet_hours()
        )
    subject_type = ContentType.objects.get_for_model(subject)
    message, created = OutboundMessage.objects.get_or_create(
        subject_type=subject_type,
        subject_id=subject.pk,
        kind=kind,
        offset_key=offset_key,
        defaults={
            "due_at": due_at,
            "recipient": recipient,
            "patient_id": getattr(patient, "pk", None),
        },
    )
    if not created:
        _retime(message, due_at=due_at, recipient=recipient)
    return message


def _retime(message: OutboundMessage, *, due_at: datetime, recipient: str) -> None:
    """A message scheduled again: one still waiting, or cancelled, waits for the new time."""
    if message.state not in (State.PENDING, State.CANCELLED):
        return
    message.due_at = due_at
    message.recipient = recipient
    message.state = State.PENDING
    message.attempts = 0
    message.last_error = ""
    message.queued_at = None
    message.save(
        update_fields=[
            "due_at",
            "recipient",
            "state",
            "attempts",
            "last_error",
            "queued_at",
            "updated_at",
        ]
    )


@dataclass(frozen=True)
class Planned:
    """One message for `messages_schedule`: the arguments of `message_schedule`."""

    kind: str
    subject: models.Model
    due_at: datetime
    recipient: str
    patient: object = None
    offset_key: str = ""
    respect_quiet_hours: bool = True


def messages_schedule(planned: Iterable[Planned]) -> None:
    """`message_schedule` for many messages in two queries: one read of those that
    exist, one INSERT of the rest; one still waiting (or cancelled) is re-timed as
    `message_schedule` does (a row each). Idempotent. Call inside the transaction that
    makes the change."""
    quiet = _quiet_hours()
    zone = timezone.get_default_timezone()
    wanted: dict[tuple[int, int, str, str], OutboundMessage] = {}
    for p in planned:
        due_at = p.due_at
        if p.respect_quiet_hours:
            due_at = outbox_rules.defer_past_quiet_hours(due_at, zone=zone, quiet=quiet)
        subject_type = ContentType.objects.get_for_model(p.subject)
        wanted[(subject_type.pk, p.subject.pk, p.kind, p.offset_key)] = OutboundMessage(
            subject_type=subject_type,
            subject_id=p.subject.pk,
            kind=p.kind,
            offset_key=p.offset_key,
            due_at=due_at,
            recipient=p.recipient,
            patient_id=getattr(p.patient, "pk", None),
        )
    if not wanted:
        return
    ids_by_type: dict[int, set[int]] = {}
    for type_id, subject_id, _, _ in wanted:
        ids_by_type.setdefault(type_id, set()).add(subject_id)
    # By subject only (the unique index's first columns): every row of these subjects,
    # those not wanted skipped below. A filter on the kinds too can lead the planner to
    # the index on kind, which reads every row of those kinds.
    of_subjects = Q()
    for type_id, subject_ids in ids_by_type.items():
        of_subjects |= Q(subject_type_id=type_id, subject_id__in=sorted(subject_ids))
    for message in OutboundMessage.objects.filter(of_subjects):
        new = wanted.pop(
            (message.subject_type_id, message.subject_id, message.kind, message.offset_key), None
        )
        if new is not None:
            _retime(message, due_at=new.due_at, recipient=new.recipient)
    # A row another transaction made meanwhile is the same message: it stays as it is.
    OutboundMessage.objects.bulk_create(wanted.values(), ignore_conflicts=True)


def messages_cancel(*, subject: models.Model, kinds: Iterable[str] | None = None) -> int:
    """Cancel the subject's messages that have not gone out yet."""
    rows = OutboundMessage.objects.filter(
        subject_type=ContentType.objects.get_for_model(subject),
        subject_id=subject.pk,
        state=State.PENDING,
    )
    if kinds is not None:
        rows = rows.filter(kind__in=list(kinds))
    return rows.update(
        state=State.CANCELLED, last_error="No longer needed", updated_at=timezone.now()
    )


def message_resend(*, message: OutboundMessage) -> OutboundMessage:
    """Staff asked to send a failed, cancelled or sent message again, now.

    A deliberate re-send is a new email (its Message-ID carries the next generation),
    so the patient's mail system does not drop it as a copy of the first.
    """
    if message.state in (State.PENDING, State.SENDING):
        return message
    message.state = State.PENDING
    message.due_at = timezone.now()
    message.attempts = 0
    message.last_error = ""
    message.queued_at = None
    message.generation += 1
    message.save(
        update_fields=[
            "state",
            "due_at",
            "attempts",
            "last_error",
            "queued_at",
            "generation",
            "updated_at",
        ]
    )
    return message


def due_message_ids(*, now: datetime, limit: int = 50_000) -> list[int]:
    return list(
        OutboundMessage.objects.filter(state=State.PENDING, due_at__lte=now)
        .order_by("due_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def mark_queued(*, now: datetime, limit: int = 50_000) -> list[int]:
    """Due, waiting rows that are not already in the broker: mark them queued, return ids.

    Rows queued less than QUEUED_LEASE ago, and rows a worker holds ("sending"), are
    left alone, so the dispatcher never queues an id twice while it waits or is in
    flight. Commits before returning (its own transaction): a worker handed the ids
    must find the rows unlocked.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE core_outboundmessage SET queued_at = %s
            WHERE id IN (
                SELECT id FROM core_outboundmessage
                WHERE state = %s AND due_at <= %s
                  AND (queued_at IS NULL OR queued_at <= %s)
                ORDER BY due_at, id
                LIMIT %s
                FOR UPDATE SKIP LOCKED
            )
            RETURNING id, due_at
            """,
            [now, State.PENDING, now, now - QUEUED_LEASE, limit],
        )
        return [row[0] for row in sorted(cursor.fetchall(), key=lambda r: (r[1], r[0]))]


def unmark_queued(*, ids: Iterable[int]) -> int:
    """The broker did not take these: let the next dispatch queue them."""
    return OutboundMessage.objects.filter(pk__in=list(ids), state=State.PENDING).update(
        queued_at=None
    )


def claim(*, ids: Iterable[int], now: datetime) -> list[int]:
    """Move due, waiting rows among `ids` to "sending"; rows another worker holds are skipped."""
    ids = list(ids)
    if not ids:
        return []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE core_outboundmessage SET state = %s, claimed_at = %s, updated_at = %s
            WHERE id IN (
                SELECT id FROM core_outboundmessage
                WHERE id = ANY(%s) AND state = %s AND due_at <= %s
                ORDER BY id
                FOR UPDATE SKIP LOCKED
            )
            RETURNING id
            """,
            [State.SENDING, now, now, ids, State.PENDING, now],
        )
        return sorted(row[0] for row in cursor.fetchall())


def _finish(message_id: int, **fields) -> None:
    """Record a send's outcome. One small UPDATE per message (plain SQL: the ORM's
    compile cost was a third of a reminder's)."""
    fields["updated_at"] = timezone.now()
    columns = sorted(fields)
    assignments = ", ".join(f"{OutboundMessage._meta.get_field(c).column} = %s" for c in columns)
    with connection.cursor() as cursor:
        # Only the claimant may finish a row: it must still be "sending".
        cursor.execute(
            f"UPDATE core_outboundmessage SET {assignments} WHERE id = %s AND state = %s",
            [fields[c] for c in columns] + [message_id, State.SENDING],
        )


def _send_one(message: OutboundMessage, smtp) -> str:
    """Build and send one claimed message; record the outcome on its row."""
    try:
        build = _builders.get(message.kind)
        if build is None:
            raise LookupError(f"No builder for message kind {message.kind!r}")
        email = build(message)
        if email is None:
            _finish(message.pk, state=State.CANCELLED, last_error="No longer applies")
            return "cancelled"
        email.extra_headers["X-Mesoclinic-Message"] = str(message.pk)
        email.extra_headers["Message-ID"] = outbox_rules.message_id(
            row_id=message.pk,
            kind=message.kind,
            generation=message.generation,
            domain=outbox_rules.sender_domain(settings.DEFAULT_FROM_EMAIL),
        )
        email.connection = smtp
        email.send()
    except Exception as exc:  # one bad message must not stop the batch
        logger.warning("Message %s failed: %s", message.pk, exc)
        attempts = message.attempts + 1
        delay = outbox_rules.retry_delay(attempts)
        error = f"{exc.__class__.__name__}: {exc}"[:500]
        if delay is None:
            _finish(message.pk, state=State.FAILED, attempts=attempts, last_error=error)
            return "failed"
        retry_at = timezone.now() + delay
        _finish(
            message.pk,
            state=State.PENDING,
            attempts=attempts,
            last_error=error,
            due_at=retry_at,
            queued_at=None,
        )
        return "retry"
    # The window for a duplicate: the server has accepted the email, and a crash
    # before this update leaves the row "sending", to be recovered and sent again.
    _finish(
        message.pk,
        state=State.SENT,
        sent_at=timezone.now(),
        attempts=message.attempts + 1,
        email_subject=email.subject[:255],
        recipient=", ".join(email.to)[:254],
    )
    return "sent"


def deliver(*, ids: Iterable[int]) -> dict[str, int]:
    """Claim and send these messages over one SMTP connection. Safe to run anywhere, twice."""
    counts = {"sent": 0, "cancelled": 0, "retry": 0, "failed": 0}
    claimed = claim(ids=ids, now=timezone.now())
    if not claimed:
        return counts
    messages = list(OutboundMessage.objects.filter(pk__in=claimed).order_by("id"))
    _load_subjects(messages)
    smtp = get_connection()
    try:
        smtp.open()
    except OSError as exc:
        # Each send tries again and records the error on its own message.
        logger.warning("Mail server unavailable: %s", exc)
    try:
        for message in messages:
            counts[_send_one(message, smtp)] += 1
    finally:
        smtp.close()
    return counts


RECENT_ON_PATIENT_PAGE = 15
RECENT_PER_KIND = 10


@dataclass(frozen=True)
class MessageCounts:
    """All of a patient's messages at a glance (not only the recent ones listed)."""

    by_state: dict[str, int]  # state -> how many, every state present
    last_sent_at: datetime | None

    @property
    def total(self) -> int:
        return sum(self.by_state.values())

    @property
    def failed(self) -> int:
        return self.by_state.get(State.FAILED, 0)

    def labelled(self) -> list[tuple[str, str, int]]:
        """(state, label, count) for the states the patient has, in the model's order."""
        return [(s.value, s.label, self.by_state[s]) for s in State if self.by_state.get(s)]


@dataclass(frozen=True)
class PatientMessages:
    recent: list[OutboundMessage]  # the newest by due time
    by_kind: dict[str, list[OutboundMessage]]  # per kind, the newest created first
    counts: MessageCounts


def patient_messages(patient) -> PatientMessages:
    """A patient's messages for their page in one query (read once per page): the
    newest RECENT_ON_PATIENT_PAGE by due time, and the newest RECENT_PER_KIND of each
    kind by creation (e.g. the patient's reschedule requests); each row also carries
    the counts over all the patient's messages (window aggregates, computed before the
    filter), so the page's summary costs no query."""

    per_state = {f"n_{state.value}": Window(Count("id", filter=Q(state=state))) for state in State}

    def read() -> PatientMessages:
        rows = list(
            OutboundMessage.objects.filter(patient_id=patient.pk)
            .annotate(
                **per_state,
                last_sent=Window(Max("sent_at")),
                overall=Window(RowNumber(), order_by=[F("due_at").desc(), F("id").desc()]),
                in_kind=Window(
                    RowNumber(),
                    partition_by=[F("kind")],
                    order_by=[F("created_at").desc(), F("id").desc()],
                ),
            )
            .filter(Q(overall__lte=RECENT_ON_PATIENT_PAGE) | Q(in_kind__lte=RECENT_PER_KIND))
        )
        recent = sorted(
            (m for m in rows if m.overall <= RECENT_ON_PATIENT_PAGE), key=lambda m: m.overall
        )
        by_kind: dict[str, list[OutboundMessage]] = {}
        for m in sorted(rows, key=lambda m: m.in_kind):
            if m.in_kind <= RECENT_PER_KIND:
                by_kind.setdefault(m.kind, []).append(m)
        first = rows[0] if rows else None
        counts = MessageCounts(
            by_state={s.value: getattr(first, f"n_{s.value}", 0) for s in State},
            last_sent_at=first.last_sent if first else None,
        )
        return PatientMessages(recent=recent, by_kind=by_kind, counts=counts)

    return nested.once(patient, "core.patient_messages", read)


def recover_stuck(*, now: datetime, older_than: timedelta = STUCK_AFTER) -> int:
    """Give rows whose worker died mid-send back to the queue."""
    return OutboundMessage.objects.filter(
        state=State.SENDING, claimed_at__lt=now - older_than
    ).update(state=State.PENDING, claimed_at=None, queued_at=None, updated_at=now)
