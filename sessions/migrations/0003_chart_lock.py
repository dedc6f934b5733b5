from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION clinic_sessions_chart_locked() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.signed_at IS NOT NULL THEN
            RAISE EXCEPTION 'session chart % is signed and cannot be deleted', OLD.id;
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.signed_at IS NOT NULL THEN
        RAISE EXCEPTION 'session chart % is signed: add an amendment instead', OLD.id;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER clinic_sessions_chart_locked
    BEFORE UPDATE OR DELETE ON clinic_sessions_sessionchart
    FOR EACH ROW EXECUTE FUNCTION clinic_sessions_chart_locked();

-- Lines of a signed chart (products, spins, areas, adverse events) never change either.
CREATE OR REPLACE FUNCTION clinic_sessions_chart_line_locked() RETURNS trigger AS $$
DECLARE
    parent_id bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        parent_id := NEW.chart_id;
    ELSE
        parent_id := OLD.chart_id;
    END IF;
    IF EXISTS (SELECT 1 FROM clinic_sessions_sessionchart
               WHERE id = parent_id AND signed_at IS NOT NULL) THEN
        RAISE EXCEPTION 'session chart % is signed: add an amendment instead', parent_id;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER clinic_sessions_chartproduct_locked
    BEFORE INSERT OR UPDATE OR DELETE ON clinic_sessions_chartproduct
    FOR EACH ROW EXECUTE FUNCTION clinic_sessions_chart_line_locked();
CREATE TRIGGER clinic_sessions_chartspin_locked
    BEFORE INSERT OR UPDATE OR DELETE ON clinic_sessions_chartspin
    FOR EACH ROW EXECUTE FUNCTION clinic_sessions_chart_line_locked();
CREATE TRIGGER clinic_sessions_chartarea_locked
    BEFORE INSERT OR UPDATE OR DELETE ON clinic_sessions_chartarea
    FOR EACH ROW EXECUTE FUNCTION clinic_sessions_chart_line_locked();
CREATE TRIGGER clinic_sessions_adverseevent_locked
    BEFORE INSERT OR UPDATE OR DELETE ON clinic_sessions_adverseevent
    FOR EACH ROW EXECUTE FUNCTION clinic_sessions_chart_line_locked();

CREATE OR REPLACE FUNCTION clinic_sessions_amendment_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'a chart amendment cannot be changed or deleted';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER clinic_sessions_chartamendment_append_only
    BEFORE UPDATE OR DELETE ON clinic_sessions_chartamendment
    FOR EACH ROW EXECUTE FUNCTION clinic_sessions_amendment_append_only();
"""

ALLOW = """
DROP TRIGGER IF EXISTS clinic_sessions_chartamendment_append_only ON clinic_sessions_chartamendment;
DROP FUNCTION IF EXISTS clinic_sessions_amendment_append_only();
DROP TRIGGER IF EXISTS clinic_sessions_adverseevent_locked ON clinic_sessions_adverseevent;
DROP TRIGGER IF EXISTS clinic_sessions_chartarea_locked ON clinic_sessions_chartarea;
DROP TRIGGER IF EXISTS clinic_sessions_chartspin_locked ON clinic_sessions_chartspin;
DROP TRIGGER IF EXISTS clinic_sessions_chartproduct_locked ON clinic_sessions_chartproduct;
DROP FUNCTION IF EXISTS clinic_sessions_chart_line_locked();
DROP TRIGGER IF EXISTS clinic_sessions_chart_locked ON clinic_sessions_sessionchart;
DROP FUNCTION IF EXISTS clinic_sessions_chart_locked();
"""


class Migration(migrations.Migration):
    """A signed chart and its lines never change; amendments are append-only."""

    dependencies = [("clinic_sessions", "0002_charting")]
    operations = [migrations.RunSQL(FORBID, ALLOW)]
