#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpms.settings.base")
    if sys.argv[1:2] == ["makemigrations"]:
        # Writing (or checking) migrations reads the models only: it signs nothing and serves nothing, so it
        # needs no SECRET_KEY or IDENT secret. Everything else still refuses to start without them.
        os.environ.setdefault("CPMS_ALLOW_INSECURE_KEY", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
