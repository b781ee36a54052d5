"""WSGI entry point: `gunicorn kozmo_secrets.wsgi`. Start-up fails on a bad encryption key,
and on a valid key that does not open the stored data (R17.21)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kozmo_secrets.settings")

application = get_wsgi_application()

from secrets_app.startup import check_stored_keys  # noqa: E402 - needs the app registry

check_stored_keys()
