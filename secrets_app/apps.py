from django.apps import AppConfig


class SecretsAppConfig(AppConfig):
    name = "secrets_app"
    verbose_name = "Secrets"

    def ready(self):
        from kozmo_secrets import checks  # noqa: F401 - registers the deployment checks
        from secrets_app import checks as data_checks  # noqa: F401 - registers the data checks
        from secrets_app import signals  # noqa: F401 - connects their receivers
        from secrets_app.access import (  # noqa: F401 - connects their receivers
            credentials,
            reauth,
            signin,
        )
        from secrets_app.startup import check_configuration_at_startup

        # R10.6: refuse to start (manage.py and WSGI alike) without usable keys.
        check_configuration_at_startup()
