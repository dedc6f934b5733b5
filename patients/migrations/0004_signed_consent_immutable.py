from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION patients_signedconsent_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'signed consent % cannot be deleted', OLD.id;
    END IF;
    -- The only change ever allowed: storing the PDF once, when it is first generated.
    IF (to_jsonb(NEW) - 'pdf' - 'pdf_sha256') IS DISTINCT FROM (to_jsonb(OLD) - 'pdf' - 'pdf_sha256')
       OR (OLD.pdf <> '' AND (NEW.pdf IS DISTINCT FROM OLD.pdf
                              OR NEW.pdf_sha256 IS DISTINCT FROM OLD.pdf_sha256)) THEN
        RAISE EXCEPTION 'signed consent % cannot be changed', OLD.id;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER patients_signedconsent_immutable
    BEFORE UPDATE OR DELETE ON patients_signedconsent
    FOR EACH ROW EXECUTE FUNCTION patients_signedconsent_immutable();

CREATE OR REPLACE FUNCTION patients_consentwithdrawal_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'a consent withdrawal cannot be changed or deleted';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER patients_consentwithdrawal_append_only
    BEFORE UPDATE OR DELETE ON patients_consentwithdrawal
    FOR EACH ROW EXECUTE FUNCTION patients_consentwithdrawal_append_only();
"""

ALLOW = """
DROP TRIGGER IF EXISTS patients_signedconsent_immutable ON patients_signedconsent;
DROP FUNCTION IF EXISTS patients_signedconsent_immutable();
DROP TRIGGER IF EXISTS patients_consentwithdrawal_append_only ON patients_consentwithdrawal;
DROP FUNCTION IF EXISTS patients_consentwithdrawal_append_only();
"""


class Migration(migrations.Migration):
    """A signed consent never changes (only its PDF is filled in, once) and never disappears."""

    dependencies = [("patients", "0003_signed_consent")]
    operations = [migrations.RunSQL(FORBID, ALLOW)]
