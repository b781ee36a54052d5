"""Test environment, set before Django loads its settings.

Tests never read the developer's .env and use their own throwaway keys. DATABASE_URL and
REDIS_URL pass through, so the same suite runs on SQLite and on PostgreSQL + Redis.
"""

import os

os.environ["KOZMO_IGNORE_DOTENV"] = "1"
os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
if not (os.environ.get("SECRETS_ENCRYPTION_KEY") or os.environ.get("SECRETS_ENCRYPTION_KEYS")):
    os.environ["SECRETS_ENCRYPTION_KEY"] = "test-encryption-key-0123456789-abcdefghij"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kozmo_secrets.settings")


# pytest-django could not load the settings before this file ran (the environment above was
# not set yet), so finish Django's set-up here; it completes the rest in its pytest_configure.
import django

django.setup()
