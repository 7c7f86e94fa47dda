"""The inbound path with auditing on, next to auditing off.

A partner's request goes through the whole inbound path in-process, on PostgreSQL: the door (POST
/ident/v1/messages: signature, ICD validation, the stored message), processing (the partner request kept and
normalised, its first history row), the protected-status check against the local CIS index (the decision row, the
ICTS case, its grants) and the analysts' notification. Tasks run in-process (no Redis), so the time is the
database's and Python's, not the broker's. Half the requests are for a person CIS clears (an ICTS case opens), half
for one who is protected (answered "no match"; the reply waits in the outbox: IDENT is not running).

- auditing on: as production runs: django-auditlog writes a LogEntry for every audited row, and each joins the
  HMAC chain (cpms.audit.chain: one locked head row per entry);
- auditing off: the same with django-auditlog disabled (auditlog.context.disable_auditlog), so neither the log
  entries nor their chain links are written.

Target (issue 9): auditing on at least 0.75x the rate of auditing off.

    python bench/audit_overhead.py [--messages 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_AUDIT_DB", "cpms_bench_audit")


def setup() -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    os.environ.update({"DATABASE_URL": f"{PG}/{DB_NAME}", "CPMS_ALLOW_INSECURE_KEY": "1", "ALLOWED_HOSTS": "testserver",
                       "DJANGO_SETTINGS_MODULE": "cpms.settings.base", "LOG_LEVEL": "ERROR", "REDIS_URL": "",
                       "IDENT_URL": "http://127.0.0.1:9/ident/v1", "IDENT_TIMEOUT_SECONDS": "0.2"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def world() -> None:
    from datetime import date

    from cpms.cis.models import CisClassEntry, CisRecord
    from cpms.core.models import Agreement, Partner, Person

    can = Partner.objects.create(code="CAN", name="Canada")
    Agreement.objects.create(partner=can, title="Bench", appendix_a_ref="6", status="published", effective_from=date(2015, 1, 1),
                             allows_uscis_queries=True, allows_partner_requests=True, asylum_disclosure_authorised=True,
                             authorised_data_elements=["family_name"], authorised_attachment_kinds=[])
    for n, protected in ((1, False), (2, True)):
        person = Person.objects.create(fin=f"FIN100000000{n}", a_number=f"A20100000{n}", family_name="Haddad", given_names="Amal",
                                       dob_year=1985, dob_month=4, dob_day=12)
        record = CisRecord.objects.create(a_number=person.a_number, complete=True)
        if protected:
            CisClassEntry.objects.create(record=record, protected_class="T", application_status="granted")


def message(i: int) -> dict:
    from ident_bridge import icd

    return icd.envelope("request.received", "CAN", {
        "request_ref": f"CAN-BENCH-{i}", "template": "uniform-v1",
        "requestor": {"name": "J. Citizen", "organization": "IRCC"}, "requested_at": "2026-11-25T14:00:00Z",
        "reason": "refugee_claimant", "priority": "high", "fin": f"FIN100000000{1 + i % 2}", "encounter_id": "CAN-FP-1",
        "subject": {"family_name": "Haddad", "given_names": "Amal", "date_of_birth": "1985-04-12"},
        "requested_items": ["biographic"],
    })


def run(client, start: int, count: int, *, audited: bool) -> float:
    from auditlog.context import disable_auditlog
    from django.conf import settings

    from ident_bridge import icd

    bodies = [icd.canonical_bytes(message(start + i)) for i in range(count)]
    t0 = time.perf_counter()
    for raw in bodies:
        headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in icd.signed_headers(raw, settings.IDENT_SHARED_SECRET).items()}
        if audited:
            resp = client.post("/ident/v1/messages", raw, content_type="application/json", **headers)
        else:
            with disable_auditlog():
                resp = client.post("/ident/v1/messages", raw, content_type="application/json", **headers)
        assert resp.status_code in (200, 202), (resp.status_code, resp.content[:300])
    return count / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    setup()
    world()
    from auditlog.models import LogEntry
    from django.test import Client

    from cpms.audit.models import ChainLink
    from cpms.partner_requests.models import PartnerRequest

    client = Client()
    run(client, 10_000_000, 20, audited=True)  # warm-up
    rates = {"auditing on": [], "auditing off": []}
    entries = {"auditing on": 0, "auditing off": 0}
    start = 0
    for _ in range(args.rounds):
        for mode in ("auditing off", "auditing on"):  # alternate, so neither gets the warmer caches
            before = LogEntry.objects.count()
            rates[mode].append(run(client, start, args.messages, audited=mode == "auditing on"))
            entries[mode] += LogEntry.objects.count() - before
            start += args.messages
    processed = PartnerRequest.objects.exclude(status="received").count()
    print(f"\n{args.rounds} rounds x {args.messages} partner requests per mode, in-process on PostgreSQL "
          f"({processed:,} requests processed, {ChainLink.objects.count():,} chain links)")
    for mode, values in rates.items():
        print(f"  {mode:13} {statistics.median(values):7.1f} requests/s (median of {len(values)}; "
              f"{entries[mode] / (args.rounds * args.messages):.1f} audit log entries per request)")
    ratio = statistics.median(rates["auditing on"]) / statistics.median(rates["auditing off"])
    print(f"  ratio auditing on / off: {ratio:.2f}x (target at least 0.75x)")


if __name__ == "__main__":
    main()
