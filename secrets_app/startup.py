"""Start-up configuration checks (R10.6), run by the app registry (WSGI, ASGI, every command)
and by manage.py before the command starts, so that even `runserver`, whose auto-reloader
would swallow the error and keep waiting, stops at once with the message."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from secrets_app.access.ratelimit import parse_rate
from secrets_app.access.reauth import check_reauth_settings
from secrets_app.constants import parse_profiles
from secrets_app.crypto import get_encryption_service
from secrets_app.keycheck import check_stored_data_opens

_check_skipped = False


def skip_configuration_check() -> None:
    """For this process only: manage.py calls it for --help and keyless commands
    (generate_encryption_key), which must run before any key exists (R17.17)."""
    global _check_skipped
    _check_skipped = True


def check_configuration_at_startup() -> None:
    """The app registry's start-up check, unless manage.py said the command needs no keys."""
    if not _check_skipped:
        check_configuration()


RATE_SETTINGS = ("SECRETS_DECRYPT_RATE", "SECRETS_LOGIN_RATE_PER_USER",
                 "SECRETS_LOGIN_RATE_PER_IP", "SECRETS_SERVICE_TOKEN_RATE")


def check_configuration() -> None:
    """Raise ImproperlyConfigured, naming the variable, unless the keys are usable and every
    rate reads (a rate that does not would otherwise fail each request that counts it), and
    SECRETS_PROFILES names valid profiles (R22), and re-authentication's settings read (R21.1:
    its profiles among them)."""
    get_encryption_service()  # validates every configured encryption key
    parse_profiles(settings.SECRETS_PROFILES)
    check_reauth_settings()
    for setting in RATE_SETTINGS:
        parse_rate(getattr(settings, setting), setting=setting)
    try:
        settings.SECRET_KEY  # noqa: B018 - Django raises when it is empty
    except ImproperlyConfigured:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random string "
            "(`make run` writes one into .env for development)."
        ) from None


def check_stored_keys() -> None:
    """After the app registry is ready (manage.py, the WSGI app): raise ImproperlyConfigured
    when the configured keys do not open the stored data (R17.21). One query; a database
    that is unreachable or not migrated yet does not block start-up."""
    check_stored_data_opens()
