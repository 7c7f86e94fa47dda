import os
import threading

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpms.settings.base")
application = get_wsgi_application()


def _warm_up() -> None:
    from cpms.core.pdf import warm_up

    warm_up()


# The first A-File print of a process waited 2-3 s for WeasyPrint to import and load its fonts: a web process does it
# in the background as it starts (cpms.core.pdf.warm_up), before anyone asks for a print.
threading.Thread(target=_warm_up, name="warm-pdf-renderer", daemon=True).start()
