"""One person's timeline and accounting of disclosures, at 1M and at 10M disclosure rows.

The scale data set (bench/scale_data.py) is built twice, in databases of its own: scale 0.1 (1,000,000 disclosure
records) and scale 1.0 (10,000,000). Person 1 has 10,000 disclosures, 2,000 reads and 500 decisions (12,500
events); a typical person has one or two. Each page is requested in-process through Django's test client as a
privacy officer (server time: middleware, view, SQL, template):

- the timeline's first page, a page 40 pages deep (cursor), a filtered page (disclosures to CAN) for person 1;
- the timeline of a typical person;
- the accounting page (first 500 rows and the count) for person 1.

Targets (issue 9): the 10M figure at most 1.5x the 1M figure; a typical person under 50 ms.

    python bench/timeline.py [--requests 30] [--scales 0.1,1.0]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))


def measure(requests: int) -> dict:
    import scale_data

    os.environ.update({"DATABASE_URL": scale_data.DB_URL, "CPMS_ALLOW_INSECURE_KEY": "1", "ALLOWED_HOSTS": "testserver",
                       "DJANGO_SETTINGS_MODULE": "cpms.settings.base", "LOG_LEVEL": "WARNING"})
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from cpms.privacy import timeline

    officer = get_user_model().objects.filter(groups__name="privacy_officer").order_by("pk").first()
    client = scale_data.signed_in(Client(), officer)

    def timed(url: str) -> float:
        for _ in range(3):
            assert client.get(url).status_code == 200, url
        samples = []
        for _ in range(requests):
            t0 = time.perf_counter()
            resp = client.get(url)
            samples.append((time.perf_counter() - t0) * 1000)
            assert resp.status_code == 200
        return statistics.median(samples)

    from cpms.core.models import Person

    heavy = Person.objects.get(pk=1)
    cursor = None
    for _ in range(40):
        _, cursor = timeline.person_timeline(heavy, cursor=cursor, limit=50)
    typical = Person.objects.get(pk=4242)
    person_url = reverse("privacy-person", args=[heavy.pk])
    return {
        "disclosures": scale_data.sizes(float(os.environ["BENCH_SCALE"]))["disclosures"],
        "timeline, first page": timed(person_url),
        "timeline, 40 pages deep": timed(f"{person_url}?after={cursor.token()}"),
        "timeline, disclosures to CAN": timed(f"{person_url}?kind=disclosure&partner=CAN"),
        "timeline, typical person": timed(reverse("privacy-person", args=[typical.pk])),
        "accounting page (500 rows + count)": timed(reverse("privacy-accounting", args=[heavy.pk])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--scales", default="0.1,1.0")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print("RESULT " + json.dumps(measure(args.requests)), flush=True)
        return
    results = {}
    for scale in [float(s) for s in args.scales.split(",")]:
        env = os.environ | {"BENCH_SCALE_DB": f"cpms_scale_{str(scale).replace('.', '_')}", "BENCH_SCALE": str(scale)}
        subprocess.run([sys.executable, str(HERE / "scale_data.py"), "--scale", str(scale)], check=True, env=env, cwd=ROOT)
        out = subprocess.run([sys.executable, __file__, "--measure", "--requests", str(args.requests)], check=True, env=env,
                             cwd=ROOT, capture_output=True, text=True)
        results[scale] = json.loads(next(line for line in out.stdout.splitlines() if line.startswith("RESULT "))[7:])
    scales = sorted(results)
    print(f"\n{'p50 server time, ms':40}" + "".join(f"{results[s]['disclosures']:>14,} rows" for s in scales)
          + ("   ratio" if len(scales) == 2 else ""))
    for name in results[scales[0]]:
        if name == "disclosures":
            continue
        row = f"{name:40}" + "".join(f"{results[s][name]:>19.1f}" for s in scales)
        if len(scales) == 2:
            row += f"   {results[scales[1]][name] / results[scales[0]][name]:5.2f}x"
        print(row)
    print("\ntargets: ratio at most 1.5x; a typical person under 50 ms")


if __name__ == "__main__":
    main()
