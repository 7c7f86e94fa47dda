"""Print the SQL that gives the runtime database role what CPMS needs and no more (README: How production runs).

    python manage.py db_roles --runtime cpms_app | psql "$OWNER_DATABASE_URL"

Production runs with two roles: the owner, which owns the tables and runs `migrate` (and so may alter them), and the
runtime role the web app and workers connect as. The runtime role reads and writes the application's tables, but on
the audit tables (django-auditlog's entries, the access log, the chain's links) it may only INSERT and SELECT: no
UPDATE, DELETE or TRUNCATE, and, not owning them, it cannot ALTER them or disable their triggers. Run it again after a
migration that adds tables (the default privileges cover tables the owner creates later, too).
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

AUDIT_TABLES = ("auditlog_logentry", "audit_accesslogentry", "audit_chainlink")


class Command(BaseCommand):
    help = "Print the GRANTs for the runtime database role (INSERT and SELECT only on the audit tables)."

    def add_arguments(self, parser):
        parser.add_argument("--runtime", required=True, help="the runtime role's name (it must exist)")

    def handle(self, *args, runtime: str, **options):
        if not runtime.replace("_", "").isalnum():
            raise CommandError("A role name is letters, digits and underscores.")
        if connection.vendor != "postgresql":
            raise CommandError("Database roles are for PostgreSQL (the embedded SQLite demo has none).")
        database = connection.settings_dict["NAME"]
        audit = ", ".join(AUDIT_TABLES)
        self.stdout.write("\n".join([
            f"GRANT CONNECT ON DATABASE {connection.ops.quote_name(database)} TO {runtime};",
            f"GRANT USAGE ON SCHEMA public TO {runtime};",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {runtime};",
            f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {runtime};",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {runtime};",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {runtime};",
            f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {audit} FROM {runtime};",
            "",
        ]))
