"""ASGI entry point. Start-up fails on a bad encryption key, as for WSGI."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kozmo_secrets.settings")

application = get_asgi_application()

from kozmo_secrets.checks import log_start_up_warnings  # noqa: E402 - needs the settings
from secrets_app.startup import check_stored_keys  # noqa: E402 - needs the app registry

log_start_up_warnings()  # R17.15, R17.20: what `check` would say, for servers run by hand
check_stored_keys()  # R17.21: a valid key that does not open the stored data stops it too
