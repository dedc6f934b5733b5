"""A hold and an appointment never overlap for one practitioner or one room.

Holds exclude each other by their own exclusion constraints (0005). Across the two
tables a constraint cannot reach, so two triggers do it: writing a live appointment
refuses a time overlapping an unreleased hold (as the holds' own constraint, it reads
no clock: an expired hold is released within a minute by the periodic task, and at
once by the online booking services when a new hold or the verification needs it), and writing a hold
refuses a time overlapping a live appointment. Both first take the same transaction
advisory locks, one per practitioner and one per room, so of two transactions racing
for one time the second waits for the first to commit and then sees its row. The
errors carry a constraint name, which the services turn into a message.
"""

from django.db import migrations

GUARD = """
CREATE OR REPLACE FUNCTION clinic_sessions_slot_lock(practitioner bigint, room bigint)
RETURNS void AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7301, (practitioner % 2147483647)::int);
    IF room IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(7302, (room % 2147483647)::int);
    END IF;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION clinic_sessions_appointment_not_held() RETURNS trigger AS $$
BEGIN
    PERFORM clinic_sessions_slot_lock(NEW.practitioner_id, NEW.room_id);
    IF EXISTS (
        SELECT 1 FROM clinic_sessions_hold h
        WHERE h.released_at IS NULL
          AND (h.practitioner_id = NEW.practitioner_id
               OR (NEW.room_id IS NOT NULL AND h.room_id = NEW.room_id))
          AND tstzrange(h.starts_at, h.ends_at) && tstzrange(NEW.starts_at, NEW.ends_at)
    ) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'exclusion_violation',
            CONSTRAINT = 'appointment_no_hold_overlap',
            MESSAGE = 'That time is held for an online booking.';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER clinic_sessions_appointment_not_held
    BEFORE INSERT OR UPDATE OF starts_at, ends_at, practitioner_id, room_id, status
    ON clinic_sessions_appointment
    FOR EACH ROW WHEN (NEW.status <> 'cancelled')
    EXECUTE FUNCTION clinic_sessions_appointment_not_held();

CREATE OR REPLACE FUNCTION clinic_sessions_hold_not_booked() RETURNS trigger AS $$
BEGIN
    PERFORM clinic_sessions_slot_lock(NEW.practitioner_id, NEW.room_id);
    IF EXISTS (
        SELECT 1 FROM clinic_sessions_appointment a
        WHERE a.status <> 'cancelled'
          AND (a.practitioner_id = NEW.practitioner_id
               OR (NEW.room_id IS NOT NULL AND a.room_id = NEW.room_id))
          AND a.starts_at < NEW.ends_at AND a.ends_at > NEW.starts_at
          AND a.starts_at > NEW.starts_at - interval '8 hours'
    ) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'exclusion_violation',
            CONSTRAINT = 'hold_no_appointment_overlap',
            MESSAGE = 'That time is already booked.';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER clinic_sessions_hold_not_booked
    BEFORE INSERT ON clinic_sessions_hold
    FOR EACH ROW EXECUTE FUNCTION clinic_sessions_hold_not_booked();
"""

DROP = """
DROP TRIGGER IF EXISTS clinic_sessions_hold_not_booked ON clinic_sessions_hold;
DROP FUNCTION IF EXISTS clinic_sessions_hold_not_booked();
DROP TRIGGER IF EXISTS clinic_sessions_appointment_not_held ON clinic_sessions_appointment;
DROP FUNCTION IF EXISTS clinic_sessions_appointment_not_held();
DROP FUNCTION IF EXISTS clinic_sessions_slot_lock(bigint, bigint);
"""


class Migration(migrations.Migration):
    dependencies = [("clinic_sessions", "0005_online_booking")]
    operations = [migrations.RunSQL(GUARD, DROP)]
