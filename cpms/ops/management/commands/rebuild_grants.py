"""`manage.py rebuild_grants`: make every object grant what the workflow would have made, from the state of
the cases, ICTS cases and FDNS referrals. Idempotent; grants nobody should hold any more are removed.

For a database that predates the grants (run once after `migrate`), and as a repair after restoring part of
a database. The workflow keeps the grants current by itself; this is not a periodic job.
"""

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from cpms.core.models import BenefitCase
from cpms.core.permissions import case_grants_sync
from cpms.queries.models import FdnsReferral
from cpms.queries.permissions import referral_grant, referral_revoke_grant
from icts.models import IctsCase
from icts.permissions import case_grants_rebuild

CHUNK = 500


class Command(BaseCommand):
    help = "Rebuild every object grant from the workflow's state (cases, ICTS cases, FDNS referrals). Idempotent."

    def handle(self, *args, **options):
        counts = {"cases": 0, "icts": 0, "referrals": 0}
        for pk in BenefitCase.objects.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=CHUNK):
            with transaction.atomic():
                case_grants_sync(BenefitCase.objects.select_for_update().get(pk=pk))
            counts["cases"] += 1
        for pk in IctsCase.objects.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=CHUNK):
            with transaction.atomic():
                case_grants_rebuild(IctsCase.objects.select_for_update(of=("self",)).select_related("assigned_analyst").get(pk=pk))
            counts["icts"] += 1
        now = timezone.now()
        for referral in FdnsReferral.objects.select_related("query", "analyst").order_by("pk").iterator(chunk_size=CHUNK):
            with transaction.atomic():
                if referral.revoked_at is None and referral.expires_at > now:
                    referral_grant(referral)
                else:
                    referral_revoke_grant(referral)
            counts["referrals"] += 1
        self.stdout.write(self.style.SUCCESS(
            f"Grants rebuilt for {counts['cases']} cases, {counts['icts']} ICTS cases and {counts['referrals']} FDNS referrals."))
