from django.core.management.base import BaseCommand

from cpms.privacy.services import chain_verify


class Command(BaseCommand):
    help = ("Verify the audit chain: detects changed, removed, inserted or reordered audit and access-log entries, and (against "
            "the anchors in AUDIT_ANCHOR_FILE) entries removed from its end. Exits 1 when anything is wrong, or when no anchor "
            "vouches for the end of the chain.")

    def add_arguments(self, parser):
        parser.add_argument("--allow-unanchored", action="store_true",
                            help="accept a chain whose end no anchor vouches for (development, or the very first verification "
                                 "of a new installation); the end is then not verified")

    def handle(self, *args, allow_unanchored=False, **options):
        report = chain_verify(triggered_by="manage.py verify_audit", allow_unanchored=allow_unanchored)
        if report.intact:
            self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.links} entries verified."))
            if not report.anchored:
                self.stdout.write(self.style.WARNING("No anchor was found, so the end of the chain was not verified "
                                                     "(accepted with --allow-unanchored). An anchor has now been written."))
            return
        for problem in report.problems:
            self.stdout.write(self.style.ERROR(problem))
        self.stdout.write(self.style.ERROR(f"Audit chain BROKEN or unverifiable: {len(report.problems)} problem(s) in "
                                           f"{report.links} entries."))
        raise SystemExit(1)
