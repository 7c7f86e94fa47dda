"""Generate the scale data set in PostgreSQL, in SQL (generate_series), in a database of its own.

At scale 1.0: 5,000 users, 100,000 people and cases, 1,000,000 queries, 100,000 partner requests with their
ICTS cases, 10,000,000 disclosure records, and the object grants the workflow would have made for all of it
(each case's officer and the supervisors' group; each ICTS case's analyst or the analysts' pool, and the
reviewers' group; OBIM's group on transmitted packages).

The accounting rows reference packages and outbox messages that are not generated (10M of each would only
measure the generator): the load runs with session_replication_role=replica, which skips foreign-key checks
and the append-only triggers for this database only. Unique indexes still hold.

    python bench/scale_data.py [--scale 1.0] [--force]

The database is reused when it already holds this scale (table bench_meta); --force rebuilds it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_SCALE_DB", "cpms_scale")
DB_URL = f"{PG}/{DB_NAME}"

ROLE_SHARES = [  # of 5,000 users
    ("officer", 0.80), ("supervisor", 0.04), ("icts_analyst", 0.08), ("icts_reviewer", 0.02), ("obim_analyst", 0.02),
    ("fdns_analyst", 0.02), ("privacy_officer", 0.01), ("admin", 0.01),
]


def sizes(scale: float) -> dict[str, int]:
    return {"users": max(int(5_000 * scale), 100), "cases": max(int(100_000 * scale), 1_000),
            "queries": max(int(1_000_000 * scale), 10_000), "requests": max(int(100_000 * scale), 1_000),
            "disclosures": max(int(10_000_000 * scale), 100_000)}


def migrate() -> None:
    env = os.environ | {"DATABASE_URL": DB_URL, "CPMS_ALLOW_INSECURE_KEY": "1", "DJANGO_SETTINGS_MODULE": "cpms.settings.base"}
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], check=True, env=env, cwd=ROOT)


def existing_scale() -> float | None:
    try:
        with psycopg.connect(DB_URL, autocommit=True) as conn:
            row = conn.execute("SELECT scale FROM bench_meta").fetchone()
            return row[0] if row else None
    except psycopg.Error:
        return None


def recreate_database() -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def step(conn, label: str, sql: str, params: dict | None = None) -> None:
    t0 = time.perf_counter()
    for statement in sql.split(";"):  # one statement per execute (server-side parameters)
        if statement.strip():
            conn.execute(statement, params or {})
    print(f"  {label:<42} {time.perf_counter() - t0:7.1f} s", flush=True)


def perm_id(conn, app: str, codename: str) -> int:
    return conn.execute("SELECT p.id FROM auth_permission p JOIN django_content_type c ON c.id = p.content_type_id "
                        "WHERE c.app_label = %s AND p.codename = %s", (app, codename)).fetchone()[0]


def generate(scale: float) -> dict[str, int]:
    n = sizes(scale)
    with psycopg.connect(DB_URL, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET synchronous_commit = off")
        # The grants' sort keys, as BenefitCase.grant_sort_key and IctsCase.grant_sort_key compute them.
        conn.execute("""CREATE OR REPLACE FUNCTION core_case_sort_key(is_open boolean, created_at timestamptz) RETURNS bigint
                        LANGUAGE sql IMMUTABLE AS $$ SELECT (CASE WHEN is_open THEN 4398046511104 ELSE 0 END)
                        + floor(extract(epoch FROM created_at) * 1000)::bigint $$""")
        conn.execute("""CREATE OR REPLACE FUNCTION icts_case_sort_key(priority_rank smallint, due_at timestamptz) RETURNS bigint
                        LANGUAGE sql IMMUTABLE AS $$ SELECT (priority_rank::bigint << 42)
                        + floor(extract(epoch FROM due_at) * 1000)::bigint $$""")
        # Roles as groups, and the users of each role, in blocks of consecutive ids.
        bounds, start = {}, 1
        for role, share in ROLE_SHARES:
            count = max(int(n["users"] * share), 2)
            bounds[role] = (start, start + count - 1)
            start += count
        n["users"] = start - 1
        step(conn, "groups", "INSERT INTO auth_group (name) SELECT unnest(%(names)s::text[]) ON CONFLICT DO NOTHING",
             {"names": [r for r, _ in ROLE_SHARES]})
        groups = dict(conn.execute("SELECT name, id FROM auth_group").fetchall())
        step(conn, f"users ({n['users']:,})", """
            INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
            SELECT i, '!', false, 'u' || i, 'User', 'N' || i, 'u' || i || '@uscis.example.gov', false, true, now()
            FROM generate_series(1, %(n)s::int) i""", {"n": n["users"]})
        for role, (lo, hi) in bounds.items():
            conn.execute("INSERT INTO auth_user_groups (user_id, group_id) SELECT i, %(g)s FROM generate_series(%(lo)s::int, %(hi)s::int) i",
                         {"g": groups[role], "lo": lo, "hi": hi})
        conn.execute("SELECT setval(pg_get_serial_sequence('auth_user', 'id'), %(n)s)", {"n": n["users"]})
        conn.execute("INSERT INTO core_partner (code, name) VALUES ('CAN', 'Canada'), ('AUS', 'Australia') ON CONFLICT DO NOTHING")
        conn.execute("""INSERT INTO core_agreement (title, appendix_a_ref, version, status, change_note, effective_from, is_active,
                        allows_uscis_queries, allows_partner_requests, authorised_data_elements, authorised_attachment_kinds,
                        asylum_disclosure_authorised, legal_authority, partner_id)
                        VALUES ('Bench agreement', 'A-1', 1, 'published', '', '2020-01-01', true, true, true, '[]', '[]', false,
                                'bench', 'CAN')""")
        agreement = conn.execute("SELECT id FROM core_agreement LIMIT 1").fetchone()[0]

        step(conn, f"people ({n['cases']:,})", """
            INSERT INTO core_person (id, a_number, fin, family_name, given_names, aliases, dob_year, dob_month, dob_day,
                                     country_of_birth, citizenships, gender, retain_until, created_at, updated_at)
            SELECT i, 'A' || lpad(i::text, 9, '0'), 'FIN' || lpad(i::text, 10, '0'), 'Family' || (i %% 5000), 'Given',
                   '[]', 1960 + i %% 40, 1 + i %% 12, 1 + i %% 28, 'SYR', '["SYR"]', 'female',
                   make_date(2060 + i %% 40, 1, 1), now(), now()
            FROM generate_series(1, %(n)s::int) i""", {"n": n["cases"]})
        step(conn, "name keys (two per person)", """
            INSERT INTO core_personnamekey (person_id, key)
            SELECT i, 'family' || (i %% 5000) || ' given' FROM generate_series(1, %(n)s::int) i
            UNION ALL SELECT i, 'given family' || (i %% 5000) FROM generate_series(1, %(n)s::int) i""", {"n": n["cases"]})
        off_lo, off_hi = bounds["officer"]
        officers = off_hi - off_lo + 1
        step(conn, f"cases ({n['cases']:,})", """
            INSERT INTO core_benefitcase (id, receipt_number, kind, is_open, created_at, person_id)
            SELECT i, 'ZAR' || lpad(i::text, 10, '0'), 'asylum', i %% 10 <> 0,
                   now() - make_interval(mins => (%(n)s - i)), i
            FROM generate_series(1, %(n)s::int) i""", {"n": n["cases"]})
        step(conn, "case assignments", """
            INSERT INTO core_benefitcase_assigned_officers (benefitcase_id, user_id)
            SELECT i, %(lo)s + (i::bigint * 7919) %% %(k)s FROM generate_series(1, %(n)s::int) i""",
             {"n": n["cases"], "lo": off_lo, "k": officers})
        view_case = perm_id(conn, "core", "view_benefitcase")
        step(conn, "case grants (officer, supervisors' group)", """
            INSERT INTO core_benefitcaseuserobjectpermission (content_object_id, permission_id, user_id, sort_key)
            SELECT a.benefitcase_id, %(p)s, a.user_id, core_case_sort_key(c.is_open, c.created_at)
            FROM core_benefitcase_assigned_officers a JOIN core_benefitcase c ON c.id = a.benefitcase_id;
            INSERT INTO core_benefitcasegroupobjectpermission (content_object_id, permission_id, group_id, sort_key)
            SELECT c.id, %(p)s, %(g)s, core_case_sort_key(c.is_open, c.created_at) FROM core_benefitcase c""",
             {"p": view_case, "g": groups["supervisor"]})

        per_case = max(n["queries"] // n["cases"], 1)
        step(conn, f"queries ({n['queries']:,})", """
            INSERT INTO queries_internationalquery (query_ref, reason, priority, encounter_id, status, overdue_since, created_at,
                                                    updated_at, agreement_id, case_id, partner_id, person_id, requestor_id)
            SELECT 'Q-' || i, 'asylum_claimant', 'medium', '', (ARRAY['responded','closed','awaiting_round2','no_match'])[1 + i %% 4],
                   CASE WHEN i %% 100 = 2 THEN now() END,  -- one in a hundred overdue (awaiting round 2)
                   now() - make_interval(secs => (%(n)s - i) * 6), now() - make_interval(secs => (%(n)s - i) * 6), %(a)s,
                   1 + (i - 1) / %(per)s, 'CAN', 1 + (i - 1) / %(per)s, %(lo)s + ((1 + (i - 1) / %(per)s)::bigint * 7919) %% %(k)s
            FROM generate_series(1, %(n)s::int) i""",
             {"n": n["cases"] * per_case, "a": agreement, "per": per_case, "lo": off_lo, "k": officers})

        an_lo, an_hi = bounds["icts_analyst"]
        analysts = an_hi - an_lo + 1
        step(conn, f"partner requests ({n['requests']:,})", """
            INSERT INTO partner_requests_partnerrequest (id, request_ref, template, subject_as_received, subject, requestor,
                requested_at, reason, priority, fin, encounter_id, requested_items, status, cis_attempts, received_at, updated_at,
                inbound_message_id, partner_id, person_id)
            SELECT i, 'CAN-R-' || i, 'uniform-v1', '{}', '{}', '{}', now(), 'refugee_claimant',
                   (ARRAY['high','medium','low'])[1 + i %% 3], 'FIN' || lpad(i::text, 10, '0'), 'E', '[]', 'in_icts', 1,
                   now() - make_interval(mins => (%(n)s - i)), now(), i, 'CAN', 1 + i %% %(people)s
            FROM generate_series(1, %(n)s::int) i""", {"n": n["requests"], "people": n["cases"]})
        # 80% assigned (spread over the analysts), 20% open in the pool; of all, 20% transmitted and 10% in review.
        step(conn, "ICTS cases", """
            INSERT INTO icts_ictscase (id, case_number, priority, priority_rank, due_at, received_at, status, blocked_reason,
                                       created_at, updated_at, assigned_analyst_id, partner_request_id)
            SELECT i, 'ICTS-' || i, (ARRAY['high','medium','low'])[1 + i %% 3], i %% 3,
                   now() + make_interval(mins => (i * 37) %% 20000 - 5000), now() - make_interval(mins => (%(n)s - i)),
                   CASE WHEN i %% 5 = 0 THEN 'open' WHEN i %% 10 < 3 THEN 'transmitted' WHEN i %% 10 = 3 THEN 'in_review'
                        ELSE 'preparing' END, '', now(), now(),
                   CASE WHEN i %% 5 = 0 THEN NULL ELSE %(lo)s + (i::bigint * 104729) %% %(k)s END, i
            FROM generate_series(1, %(n)s::int) i""", {"n": n["requests"], "lo": an_lo, "k": analysts})
        view_icts = perm_id(conn, "icts", "view_ictscase")
        view_pkg = perm_id(conn, "icts", "view_transmitted_package")
        step(conn, "ICTS grants (analyst or pool, reviewers, OBIM)", """
            INSERT INTO icts_ictscaseuserobjectpermission (content_object_id, permission_id, user_id, sort_key)
            SELECT id, %(p)s, assigned_analyst_id, icts_case_sort_key(priority_rank, due_at) FROM icts_ictscase
            WHERE assigned_analyst_id IS NOT NULL;
            INSERT INTO icts_ictscasegroupobjectpermission (content_object_id, permission_id, group_id, sort_key)
            SELECT id, %(p)s, %(pool)s, icts_case_sort_key(priority_rank, due_at) FROM icts_ictscase WHERE assigned_analyst_id IS NULL
            UNION ALL
            SELECT id, %(p)s, %(rev)s, icts_case_sort_key(priority_rank, due_at) FROM icts_ictscase
            UNION ALL
            SELECT id, %(pkg)s, %(obim)s, floor(extract(epoch FROM updated_at) * 1000)::bigint FROM icts_ictscase
            WHERE status = 'transmitted'""",
             {"p": view_icts, "pkg": view_pkg, "pool": groups["icts_analyst"], "rev": groups["icts_reviewer"],
                  "obim": groups["obim_analyst"]})

        # Accounting: person 1 has 10,000 disclosures (the heaviest report); the rest spread over everyone.
        step(conn, f"disclosure records ({n['disclosures']:,})", """
            INSERT INTO disclosure_disclosurerecord (message_type, reference, disclosed_at, nature, data_elements, attachments,
                purpose, recipient, legal_authority, law_enforcement_request, retain_until, agreement_id, outbox_message_id,
                package_id, partner_id, person_id)
            SELECT 'request.reply', 'CAN-R-' || i, now() - make_interval(mins => i %% 500000), 'Response to the partner''s request',
                   '["family_name","given_names","date_of_birth"]', '[]', 'Partner''s request', 'Canada (IRCC) through DHS IDENT',
                   'Bench agreement', i %% 7 = 0, '2090-01-01', %(a)s, i, i, 'CAN',
                   CASE WHEN i <= 10000 THEN 1 ELSE 2 + (i::bigint * 7919) %% (%(people)s - 1) END
            FROM generate_series(1, %(n)s::int) i""", {"n": n["disclosures"], "a": agreement, "people": n["cases"]})
        # Person 1's other events: 2,000 reads of partner data and 500 protected-status decisions (the timeline mixes them).
        step(conn, "person 1's reads and decisions", """
            INSERT INTO audit_accesslogentry (at, action, object_type, object_id, path, method, context, person_id, user_id)
            SELECT now() - make_interval(mins => i * 7), 'view', 'queries.internationalquery', i::text, '', 'GET',
                   '{"purpose": "case_adjudication", "reference": "Q-1"}', 1, 1
            FROM generate_series(1, 2000) i;
            INSERT INTO disclosure_decision (direction, stage, outcome, reasons, decided_at, justification, person_id, partner_id,
                                             partner_request_id)
            SELECT 'reply', 'intake', 'share', '[]', now() - make_interval(mins => i * 11), '', 1, 'CAN', i
            FROM generate_series(1, 500) i""")
        for seq_table in ("core_person", "core_benefitcase", "partner_requests_partnerrequest", "icts_ictscase"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{seq_table}', 'id'), (SELECT max(id) FROM {seq_table}))")
        step(conn, "ANALYZE", "ANALYZE")
        conn.execute("CREATE TABLE bench_meta (scale double precision)")
        conn.execute("INSERT INTO bench_meta VALUES (%s)", (scale,))
    n["bounds"] = bounds
    return n


def ensure(scale: float, *, force: bool = False) -> None:
    if not force and existing_scale() == scale:
        print(f"scale data: reusing database {DB_NAME} (scale {scale})", flush=True)
        migrate()  # any new migration, and the roles' permissions as the code now defines them (post_migrate)
        return
    print(f"scale data: building database {DB_NAME} at scale {scale} {sizes(scale)}", flush=True)
    t0 = time.perf_counter()
    recreate_database()
    migrate()
    generate(scale)
    print(f"scale data: built in {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    ensure(args.scale, force=args.force)


def signed_in(client, user):
    """A benchmark's client signed in as `user` with the second factor done (a confirmed device in the session)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user)
    device, _ = TOTPDevice.objects.get_or_create(user=user, name="bench", defaults={"confirmed": True})
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session["system_use_accepted_at"] = "2026-12-05T00:00:00Z"
    session.save()
    return client
