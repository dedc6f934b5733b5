from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION protocols_consentversion_locked() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.locked_at IS NOT NULL THEN
            RAISE EXCEPTION 'consent version % has been signed and cannot be deleted', OLD.id;
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.locked_at IS NOT NULL AND (
        NEW.text IS DISTINCT FROM OLD.text
        OR NEW.text_sha256 IS DISTINCT FROM OLD.text_sha256
        OR NEW.number IS DISTINCT FROM OLD.number
        OR NEW.protocol_id IS DISTINCT FROM OLD.protocol_id
        OR NEW.locked_at IS DISTINCT FROM OLD.locked_at
    ) THEN
        RAISE EXCEPTION 'consent version % has been signed and cannot be changed', OLD.id;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER protocols_consentversion_immutable_when_locked
    BEFORE UPDATE OR DELETE ON protocols_consentversion
    FOR EACH ROW EXECUTE FUNCTION protocols_consentversion_locked();
"""

ALLOW = """
DROP TRIGGER IF EXISTS protocols_consentversion_immutable_when_locked ON protocols_consentversion;
DROP FUNCTION IF EXISTS protocols_consentversion_locked();
"""


class Migration(migrations.Migration):
    """A signed (locked) consent version can never change or disappear, whatever the code does."""

    dependencies = [("protocols", "0001_initial")]
    operations = [migrations.RunSQL(FORBID, ALLOW)]
