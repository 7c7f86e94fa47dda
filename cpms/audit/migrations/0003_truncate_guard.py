"""No TRUNCATE of the audit tables: the append-only triggers of 0002 see rows (UPDATE, DELETE), and TRUNCATE removes
rows without firing them. A statement-level BEFORE TRUNCATE trigger refuses it, for the table owner too.

The one exception is a session that says so: `SET cpms.audit_truncate = 'allow'`. Only the test settings say it (for
every test connection: Django's flush between transactional tests truncates every table); no production setting or
code path does, and the runtime role has no TRUNCATE privilege anyway (manage.py db_roles). An owner who sets it, or
drops the trigger, still meets the anchors: `verify_audit` reports the emptied chain (docs/audit.md).
"""

from django.db import migrations

TABLES = ["auditlog_logentry", "audit_accesslogentry", "audit_chainlink", "audit_chainhead"]

FORWARD = """
CREATE OR REPLACE FUNCTION cpms_audit_no_truncate() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('cpms.audit_truncate', true), '') = 'allow' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit table %% cannot be emptied: TRUNCATE refused', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
""" + "".join(
    f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} FOR EACH STATEMENT EXECUTE FUNCTION cpms_audit_no_truncate();\n"
    for t in TABLES
)
BACKWARD = "".join(f"DROP TRIGGER IF EXISTS {t}_no_truncate ON {t};\n" for t in TABLES) + \
    "DROP FUNCTION IF EXISTS cpms_audit_no_truncate();"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]
    operations = [migrations.RunPython(forward, backward)]
