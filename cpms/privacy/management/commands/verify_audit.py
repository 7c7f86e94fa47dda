from django.core.management.base import BaseCommand

from cpms.privacy.services import chain_verify


class Command(BaseCommand):
    help = "Verify the audit chain: detects changed, removed, inserted or reordered audit and access-log entries."

    def handle(self, *args, **options):
        report = chain_verify(triggered_by="manage.py verify_audit")
        if report.intact:
            self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.links} entries verified."))
            return
        for problem in report.problems:
            self.stdout.write(self.style.ERROR(problem))
        self.stdout.write(self.style.ERROR(f"Audit chain BROKEN: {len(report.problems)} problem(s) in {report.links} entries."))
        raise SystemExit(1)
