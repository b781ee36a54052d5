"""Benchmark settings: the product's own, plus a bare endpoint to compare against, and the
decrypt rate limit lifted (the bench measures work, not the limiter)."""

from kozmo_secrets.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls"
SECRETS_DECRYPT_RATE = "100000000/m"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["*"]
SECURE_SSL_REDIRECT = False
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "root": {"handlers": [], "level": "ERROR"}}
