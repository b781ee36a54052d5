"""ASGI entry point. Start-up fails on a bad encryption key, as for WSGI."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kozmo_secrets.settings")

application = get_asgi_application()
