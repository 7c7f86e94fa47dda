"""Append-only for the application, enforced by PostgreSQL: UPDATE and DELETE on the audit tables fail.

A database superuser can still get around it (session_replication_role = replica, or dropping the trigger);
`manage.py verify_audit` detects what such a change did. TRUNCATE is not trapped, because Django's test
flush uses it; the production database role should not hold the TRUNCATE privilege on these tables.
"""

from django.db import migrations

TABLES = ["auditlog_logentry", "audit_accesslogentry", "audit_chainlink"]

FORWARD = """
CREATE OR REPLACE FUNCTION cpms_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit table %% is append-only: %% refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
""" + "".join(
    f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} FOR EACH ROW EXECUTE FUNCTION cpms_audit_append_only();\n"
    for t in TABLES
)
BACKWARD = "".join(f"DROP TRIGGER IF EXISTS {t}_append_only ON {t};\n" for t in TABLES) + \
    "DROP FUNCTION IF EXISTS cpms_audit_append_only();"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial"), ("auditlog", "__latest__")]
    operations = [migrations.RunPython(forward, backward)]
