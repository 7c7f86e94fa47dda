from django.core.management.base import BaseCommand

from cpms.core.reference_data import load_reference_data


class Command(BaseCommand):
    help = "Load the partners and agreements of the PIA's Appendix A (idempotent)."

    def handle(self, *args, **options):
        load_reference_data()
        self.stdout.write(self.style.SUCCESS("Partners and agreements are loaded."))
