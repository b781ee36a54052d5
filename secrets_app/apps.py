from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretsAppConfig(AppConfig):
    name = "secrets_app"
    verbose_name = "Secrets"

    def ready(self):
        from . import signals  # noqa: F401 - connects the audit receivers
        from .crypto import get_encryption_service

        # R10.6: refuse to start (manage.py and WSGI alike) without usable keys.
        get_encryption_service()
        try:
            settings.SECRET_KEY  # noqa: B018 - Django raises when it is empty
        except ImproperlyConfigured:
            raise ImproperlyConfigured(
                "DJANGO_SECRET_KEY is not set. Set it to a long random string "
                "(`make run` writes one into .env for development)."
            ) from None
