"""`manage.py redraw_stored_images`: draw again from their pixels alone the images stored before issue 16 (an image
then kept its metadata: a JPEG's comment, a TIFF's XMP). Run once after `migrate` on a database that predates it;
idempotent.

- analysts' uploads of every package not yet sent (icts.services.package_attachments_redraw); what was sent stays on
  record as IDENT received it;
- partners' images (cpms.queries.services.response_attachments_redraw); their originals stay in the raw inbound
  messages, the evidence.
The files they replace stay in storage (content-addressed, possibly shared) until removed by hand.
"""

from django.core.management.base import BaseCommand

from cpms.queries.services import response_attachments_redraw
from icts.services import package_attachments_redraw


class Command(BaseCommand):
    help = "Redraw stored images from their pixels alone (uploads of packages not yet sent, partners' images). Idempotent."

    def handle(self, *args, **options):
        lines = package_attachments_redraw() + response_attachments_redraw()
        for line in lines:
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"{len(lines)} stored images changed or reported."))
