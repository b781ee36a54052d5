"""Kozmo Secrets settings: one file, every value from the environment (a `.env` file is read
if present). The embedded default is SQLite + local-memory cache; production sets
DATABASE_URL (PostgreSQL) and REDIS_URL (Redis).

The encryption keys are only parsed here; `secrets_app` validates them at start-up so a
missing, short or malformed key stops `manage.py` and the WSGI app alike.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import dotenv_values, load_dotenv

from kozmo_secrets.deployment import cache_prefix, create_private_file

BASE_DIR = Path(__file__).resolve().parent.parent

# Real environment variables win over .env; tests set KOZMO_IGNORE_DOTENV to stay hermetic.
# DOTENV_FILE is the file actually read (a system check warns when others can read it).
# DOTENV_ONLY_NAMES: names that only .env put into os.environ: they are server configuration,
# so child processes (secrets_app.child_env) must not inherit them.
DOTENV_FILE = None
DOTENV_ONLY_NAMES: frozenset[str] = frozenset()
if os.environ.get("KOZMO_IGNORE_DOTENV") != "1":
    if (BASE_DIR / ".env").is_file():
        DOTENV_FILE = str(BASE_DIR / ".env")
    # A process this one starts again (runserver's autoreloader) inherits .env's values as
    # plain variables: KOZMO_DOTENV_NAMES tells it which they were (KOZMO_* is itself server
    # configuration: never served, never passed to a child).
    inherited = frozenset(filter(None, os.environ.get("KOZMO_DOTENV_NAMES", "").split(",")))
    DOTENV_ONLY_NAMES = (
        frozenset(dotenv_values(BASE_DIR / ".env")) - frozenset(os.environ)) | inherited
    load_dotenv(BASE_DIR / ".env", override=False)
    os.environ["KOZMO_DOTENV_NAMES"] = ",".join(sorted(DOTENV_ONLY_NAMES))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = env_str(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
# Empty means "not configured": secrets_app refuses to start without it (see apps.py).
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
CSRF_FAILURE_VIEW = "kozmo_secrets.errors.csrf_failure"  # says "reload", not "forbidden"

INSTALLED_APPS = [
    "kozmo_secrets.apps.KozmoAdminConfig",  # django.contrib.admin, throttled site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",  # Django's widget templates, for FORM_RENDERER below
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "audit_app",
    "secrets_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "audit_app.middleware.AuditContextMiddleware",
    # Outside ApiNotFoundMiddleware: its JSON 404s get the security headers too.
    "kozmo_secrets.middleware.SecurityHeadersMiddleware",
    "secrets_app.api.middleware.ApiNotFoundMiddleware",
    "kozmo_secrets.middleware.ServiceUnavailableMiddleware",
    # Innermost: its 400s still get the security headers; no view sees a NUL (R17.8).
    "kozmo_secrets.control_characters.ControlCharacterMiddleware",
]

ROOT_URLCONF = "kozmo_secrets.urls"
WSGI_APPLICATION = "kozmo_secrets.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "secrets_app.console.context_processors.console",
                "audit_app.context_processors.audit",
            ],
        },
    },
]
FORM_RENDERER = "kozmo_secrets.forms.FormRenderer"

DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", "sqlite:///db.sqlite3"))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    db_name = Path(DATABASES["default"]["NAME"])
    if not db_name.is_absolute() and str(db_name) != ":memory:":
        DATABASES["default"]["NAME"] = str(BASE_DIR / db_name)
    if str(db_name) != ":memory:":
        # Created 0600 before SQLite creates it 0644: it holds the encrypted values and the
        # audit log, and SQLite gives its journal and WAL files the same mode (R17.20).
        create_private_file(DATABASES["default"]["NAME"])
    # BEGIN IMMEDIATE: a transaction takes the write lock up front, so the audit hash chain
    # (one writer at a time) never fails halfway with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# A Redis that is down or black-holed must not hang workers (R17.19): every cache call gives
# up after this many seconds and the caller carries on without the cache, or fails closed.
SECRETS_CACHE_TIMEOUT_SECONDS = env_int("SECRETS_CACHE_TIMEOUT_SECONDS", 3)
if SECRETS_CACHE_TIMEOUT_SECONDS < 1:
    raise ImproperlyConfigured("SECRETS_CACHE_TIMEOUT_SECONDS must be 1 or more.")
if REDIS_URL:
    CACHES["default"]["OPTIONS"] = {
        "socket_connect_timeout": SECRETS_CACHE_TIMEOUT_SECONDS,
        "socket_timeout": SECRETS_CACHE_TIMEOUT_SECONDS,
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Every way to sign in (console, /admin/login/, HTTP Basic) passes this backend's throttle.
AUTHENTICATION_BACKENDS = ["secrets_app.access.signin.ThrottledModelBackend"]
# django-ratelimit counts sign-ins in the default cache and never lets one through uncounted;
# a cache that cannot be reached raises instead (a 503 naming REDIS_URL).
RATELIMIT_USE_CACHE = "default"
RATELIMIT_FAIL_OPEN = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes a missing login a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "secrets_app.access.authentication.TokenAuthentication",
        # The console's session, under its re-authentication rule (R21.1).
        "secrets_app.access.authentication.FreshSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["secrets_app.api.permissions.SignedIn"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Request bodies are JSON (a form body answers 415), except the import's upload, whose
    # view names its own parsers (issue 13).
    "DEFAULT_PARSER_CLASSES": ["secrets_app.api.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "secrets_app.api.pagination.PageNumberPagination",
    # Readable operation ids, error schemas, Retry-After (issue 13).
    "DEFAULT_SCHEMA_CLASS": "secrets_app.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "secrets_app.api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Kozmo Secrets API",
    "DESCRIPTION": (
        "Encrypted secrets for a data/AI platform team. Authenticate with "
        "`Authorization: Token <key>` (or `Bearer <key>`): a person's API token or a service "
        "token. Request bodies are JSON (the import also takes a file). Values are always "
        "masked except in decrypt answers. Errors answer `{\"detail\": ...}`, or the fields "
        "at fault on a 400; 429 and 503 say when to try again in `Retry-After`."
    ),
    # The groups of operations (each path's first part), in this order, with what they hold.
    "TAGS": [
        {"name": "secrets", "description": "Secrets: list, read masked, change, decrypt, "
                                           "import, history."},
        {"name": "credentials", "description": "Many keys at once, through every source, "
                                               "for programs."},
        {"name": "tokens", "description": "Your own API tokens."},
        {"name": "service-tokens", "description": "Tokens for programs (admins)."},
        {"name": "grants", "description": "Roles on profiles (admins)."},
        {"name": "audit", "description": "The audit log."},
    ],
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # An enum's values speak for themselves; "* `default` - default" lines only add noise.
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
}

# --- Security: strict unless DEBUG; `manage.py check --deploy` passes with no warnings. ---
SECURE_CONTENT_TYPE_NOSNIFF = True
# Not "no-referrer": with it browsers send `Origin: null` on POSTs and Django's CSRF check
# refuses every form and htmx request. "same-origin" still sends nothing to other sites.
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_ENGINE = "kozmo_secrets.sessions"  # database sessions; malformed keys read as none
if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)

# No inline scripts or styles anywhere: the console's JavaScript and CSS are static files.
SECRETS_CSP = env_str(
    "SECRETS_CSP",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'",
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
}

# --- Kozmo Secrets ---
# SECRETS_ENCRYPTION_KEYS (comma-separated, first encrypts) wins over SECRETS_ENCRYPTION_KEY.
# The name of the variable used travels along so start-up errors can name it.
SECRETS_ENCRYPTION_KEY = os.environ.get("SECRETS_ENCRYPTION_KEY")
SECRETS_ENCRYPTION_KEYS = os.environ.get("SECRETS_ENCRYPTION_KEYS")
# Profiles (R22): comma-separated names; `default` is always there (added when missing).
# Checked at start-up (secrets_app.startup); read through secrets_app.constants.profiles().
SECRETS_PROFILES = env_str("SECRETS_PROFILES") or "default,development,staging,production"
SECRETS_DECRYPT_RATE = env_str("SECRETS_DECRYPT_RATE", "10/m")
SECRETS_LOGIN_RATE_PER_USER = env_str("SECRETS_LOGIN_RATE_PER_USER", "5/15m")
SECRETS_LOGIN_RATE_PER_IP = env_str("SECRETS_LOGIN_RATE_PER_IP", "20/15m")
# Every request made with one service token (R19), counted per token; not the decrypt limit.
SECRETS_SERVICE_TOKEN_RATE = env_str("SECRETS_SERVICE_TOKEN_RATE", "600/m")
SECRETS_REVEAL_SECONDS = env_int("SECRETS_REVEAL_SECONDS", 30)
# Re-authentication (R21.1): reveals, restores, deletes and changes in these profiles ask for
# the password again once it was last entered more than SECRETS_REAUTH_SECONDS ago (0: every
# time). Unset: `production` when it is a configured profile; empty: no configured profile
# (a retired one holding secrets always asks). Checked at start-up (secrets_app.access.reauth).
SECRETS_REAUTH_PROFILES = os.environ.get("SECRETS_REAUTH_PROFILES")
SECRETS_REAUTH_SECONDS = env_int("SECRETS_REAUTH_SECONDS", 600)
SECRETS_MAX_VALUE_BYTES = env_int("SECRETS_MAX_VALUE_BYTES", 65_536)
SECRETS_CONFIG_FILE = env_str("SECRETS_CONFIG_FILE")
SECRETS_AWS_REGION = env_str("SECRETS_AWS_REGION")
SECRETS_AWS_ENDPOINT_URL = env_str("SECRETS_AWS_ENDPOINT_URL")
SECRETS_AWS_PREFIX = env_str("SECRETS_AWS_PREFIX")
SECRETS_TRUSTED_PROXIES = env_list("SECRETS_TRUSTED_PROXIES")
SECRETS_IMPORT_MAX_BYTES = env_int("SECRETS_IMPORT_MAX_BYTES", 5_000_000)
SECRETS_AWS_CACHE_SECONDS = env_int("SECRETS_AWS_CACHE_SECONDS", 60)
SECRETS_AWS_TIMEOUT_SECONDS = env_int("SECRETS_AWS_TIMEOUT_SECONDS", 2)
SECRETS_AWS_MAX_ATTEMPTS = env_int("SECRETS_AWS_MAX_ATTEMPTS", 2)

# Every cache key carries the installation's name, derived from its database unless
# SECRETS_CACHE_PREFIX says otherwise: two installations (say a restored copy) sharing one
# Redis database never read each other's counts or rate-limit counters (R17.22).
SECRETS_CACHE_PREFIX = env_str("SECRETS_CACHE_PREFIX") or cache_prefix(DATABASES["default"])
CACHES["default"]["KEY_PREFIX"] = SECRETS_CACHE_PREFIX
