"""WSGI entry point: `gunicorn kozmo_secrets.wsgi`. Start-up fails on a bad encryption key."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kozmo_secrets.settings")

application = get_wsgi_application()
