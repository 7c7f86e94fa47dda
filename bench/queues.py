"""Work queues with permission filtering at scale, and one person's accounting report.

On the scale data set (bench/scale_data.py: 5k users, 100k cases, 1M queries, 100k ICTS cases, 10M
disclosure records, and every object grant), each page is requested in-process through Django's test
client (server time: middleware, view, SQL, template) as a typical user of each role, and compared with:

- unfiltered: the same page with the permission filter taken out, on its best index: what a superuser
  would see under guardian's default `with_superuser=True` (the baseline of the ratio);
- filter: the list's queryset filtered by `granted_filter` (IN over the user's own grants, or EXISTS probes
  when a group holds grants), then ORDER BY ... LIMIT: the shape the API lists use;
- guardian: guardian's own `get_objects_for_user(..., accept_global_perms=False, with_superuser=False)`.

    python bench/queues.py [--scale 1.0] [--requests 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import scale_data  # noqa: E402  (bench/ is on sys.path when run as a script)


def setup_django() -> None:
    os.environ.update({"DATABASE_URL": scale_data.DB_URL, "CPMS_ALLOW_INSECURE_KEY": "1", "ALLOWED_HOSTS": "testserver",
                       "DJANGO_SETTINGS_MODULE": "cpms.settings.base", "LOG_LEVEL": "WARNING"})
    import django

    django.setup()


def timed(client, url: str, n: int) -> tuple[float, float, bytes]:
    body = b""
    for _ in range(3):
        resp = client.get(url)
        assert resp.status_code == 200, (url, resp.status_code)
        body = resp.content
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        resp = client.get(url)
        samples.append((time.perf_counter() - t0) * 1000)
        assert resp.status_code == 200
    samples.sort()
    return statistics.median(samples), samples[max(int(len(samples) * 0.95) - 1, 0)], body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "1.0")))
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    scale_data.ensure(args.scale)
    setup_django()

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.models import Q
    from django.test import Client
    from guardian.shortcuts import get_objects_for_user

    from cpms.queries import selectors as core_selectors
    from cpms.core.models import BenefitCase
    from cpms.core.permissions import GrantPage
    from icts import selectors as icts_selectors
    from icts.models import IctsCase

    with connection.cursor() as cur:  # the unfiltered baseline's best index (not needed by CPMS itself)
        cur.execute("CREATE INDEX IF NOT EXISTS bench_case_order_idx ON core_benefitcase (is_open DESC, created_at DESC, id DESC)")
        cur.execute("ANALYZE core_benefitcase")

    User = get_user_model()

    def first_of(role: str):
        return User.objects.filter(groups__name=role).order_by("id").first()

    def client_for(user) -> Client:
        return scale_data.signed_in(Client(), user)

    def page_of(qs, per_page):
        rows = list(qs[: per_page + 1])
        return GrantPage(rows[:per_page], number=1, has_next=len(rows) > per_page)

    # The alternatives, each as a drop-in for the selector the view calls.
    def cases_unfiltered(user, *, search="", show="", number=1, per_page=50):
        qs = BenefitCase.objects.filter(core_selectors._case_where(search, show) or Q())
        return page_of(core_selectors._with_counts(qs).prefetch_related("assigned_officers")
                       .order_by("-is_open", "-created_at", "-id"), per_page)

    def cases_exists(user, *, search="", show="", number=1, per_page=50):
        return page_of(core_selectors.my_cases(user, search=search).filter(core_selectors._case_where(show=show) or Q())
                       .prefetch_related("assigned_officers"), per_page)

    def cases_guardian(user, *, search="", show="", number=1, per_page=50):
        qs = get_objects_for_user(user, "core.view_benefitcase", BenefitCase, accept_global_perms=False, with_superuser=False)
        qs = qs.filter(core_selectors._case_where(search, show) or Q())
        return page_of(core_selectors._with_counts(qs).prefetch_related("assigned_officers")
                       .order_by("-is_open", "-created_at", "-id"), per_page)

    def queue_unfiltered(user, *, number=1, per_page=50, sort="priority", **filters):
        qs = IctsCase.objects.filter(icts_selectors._queue_filter(user, **filters)).select_related(*icts_selectors._QUEUE_RELATED)
        return page_of(qs.order_by(*icts_selectors.SORTS[sort]), per_page)

    def queue_exists(user, *, number=1, per_page=50, sort="priority", **filters):
        return page_of(icts_selectors.work_queue(user, sort=sort, **filters), per_page)

    def queue_guardian(user, *, number=1, per_page=50, sort="priority", **filters):
        qs = get_objects_for_user(user, "icts.view_ictscase", IctsCase, accept_global_perms=False, with_superuser=False)
        qs = qs.filter(icts_selectors._queue_filter(user, **filters)).select_related(*icts_selectors._QUEUE_RELATED)
        return page_of(qs.order_by(*icts_selectors.SORTS[sort]), per_page)

    @contextmanager
    def using(target: str, replacement):
        if replacement is None:
            yield
            return
        with mock.patch(target, replacement):
            yield

    cases = ("cpms.queries.views.my_cases_page", cases_unfiltered, cases_exists, cases_guardian)
    queue = ("icts.views.work_queue_page", queue_unfiltered, queue_exists, queue_guardian)
    pages = [
        ("my cases", "/cases/", "officer", *cases),
        ("my cases", "/cases/?show=waiting", "officer", *cases),
        ("team cases", "/cases/", "supervisor", *cases),
        ("team cases", "/cases/?show=waiting", "supervisor", *cases),
        ("team cases", "/cases/?show=overdue", "supervisor", *cases),
        ("ICTS queue", "/icts/?status=", "icts_analyst", *queue),
        ("ICTS queue", "/icts/?status=&mine=on", "icts_analyst", *queue),
        ("ICTS queue", "/icts/?status=&sort=due", "icts_analyst", *queue),
        ("ICTS queue", "/icts/?status=in_review", "icts_reviewer", *queue),
        ("ICTS queue", "/icts/?status=", "icts_reviewer", *queue),
        ("ICTS queue", "/icts/?status=&sort=-received", "icts_reviewer", *queue),
        ("ICTS queue", "/icts/?status=&due_soon=on", "icts_reviewer", *queue),
    ]
    print(f"\nWork queues, first page of 25, {args.requests} requests each, server time in ms (p50 / p95); "
          "ratio = against the unfiltered page (no permission filter, same filters and order); target <= 1.3x:")
    header = f"{'page':<11} {'url':<32} {'as':<14} {'visible':>8} {'CPMS (grants)':>15} {'unfiltered':>13} {'ratio':>6} " \
             f"{'filter':>13} {'ratio':>7} {'guardian':>13} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    p50s = {}
    for title, url, role, target, unfiltered, exists, guardian in pages:
        user = first_of(role)
        client = client_for(user)
        if "cases" in url:
            visible = core_selectors.my_cases(user).count()
        else:
            visible = icts_selectors.work_queue(user).count()
        results = {}
        for label, replacement in (("cpms", None), ("unfiltered", unfiltered), ("exists", exists), ("guardian", guardian)):
            with using(target, replacement):
                results[label] = timed(client, url, args.requests)
        base = results["unfiltered"][0]
        p50s[(url, role)] = results["cpms"][0]
        cells = []
        for label in ("cpms", "unfiltered", "exists", "guardian"):
            p50, p95, _ = results[label]
            cells.append(f"{p50:6.1f} / {p95:6.1f}")
        print(f"{title:<11} {url:<32} {role:<14} {visible:>8,} {cells[0]:>15} {cells[1]:>13} {results['cpms'][0] / base:5.2f}x "
              f"{cells[2]:>13} {results['exists'][0] / base:6.2f}x {cells[3]:>13} {results['guardian'][0] / base:6.2f}x", flush=True)
    reviewer, analyst = p50s[("/icts/?status=", "icts_reviewer")], p50s[("/icts/?status=", "icts_analyst")]
    print(f"\nReviewer's queue against the analyst's (all active cases), same run: {reviewer:.1f} / {analyst:.1f} ms "
          f"= {reviewer / analyst:.2f}x (target <= 1.5x)")

    print(f"\nHome pages (every count capped at 1,000), {args.requests} requests each, server time in ms (p50 / p95):")
    for role in ("officer", "supervisor", "icts_analyst", "icts_reviewer", "obim_analyst", "fdns_analyst", "privacy_officer",
                 "admin"):
        p50, p95, _ = timed(client_for(first_of(role)), "/", args.requests)
        print(f"  /  as {role:<16} {p50:7.1f} / {p95:7.1f}", flush=True)

    print(f"\nOther lists, first page, {args.requests} requests each, server time in ms (p50 / p95):")
    for role, url in (("obim_analyst", "/obim/"), ("officer", "/api/v1/cases/"), ("supervisor", "/api/v1/cases/"),
                      ("officer", "/api/v1/queries/"), ("supervisor", "/api/v1/queries/"),
                      ("icts_analyst", "/api/v1/icts/cases/"), ("icts_reviewer", "/api/v1/icts/cases/"),
                      ("obim_analyst", "/api/v1/obim/packages/")):
        p50, p95, _ = timed(client_for(first_of(role)), url, args.requests)
        print(f"  {url:<24} as {role:<14} {p50:7.1f} / {p95:7.1f}", flush=True)

    from cpms.disclosure.models import DisclosureRecord

    privacy = client_for(first_of("privacy_officer"))
    heavy = 1
    typical = DisclosureRecord.objects.filter(person_id__gt=1).values_list("person_id", flat=True).first()
    print(f"\nAccounting of disclosures for one person ({DisclosureRecord.objects.count():,} records in all), ms (p50 / p95):")
    for label, pk in (("heaviest person", heavy), ("typical person", typical)):
        rows = DisclosureRecord.objects.filter(person_id=pk).count()
        for fmt, suffix in (("page", ""), ("CSV", "report.csv")):
            p50, p95, _ = timed(privacy, f"/privacy/accounting/{pk}/{suffix}", max(args.requests // 4, 5))
            print(f"  {label:<16} {rows:>7,} disclosures  {fmt:<4} {p50:7.1f} / {p95:7.1f}", flush=True)


if __name__ == "__main__":
    main()
