"""The product's vocabularies: categories (R1.5), the configured profiles (R1.6, R22) and the
known credential keys grouped by service (R5.6, R7.5)."""

import re
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver

MASK = "********"

# Custom keys are any UPPER_SNAKE name: a capital letter, then capitals, digits, underscores.
# Anchored with \A and \Z (not ^ and $, which match before a final new line); callers use
# fullmatch (R17.10).
KEY_PATTERN = re.compile(r"\A[A-Z][A-Z0-9_]*\Z")
KEY_MAX_LENGTH = 255
NAME_MAX_LENGTH = 255


class SecretCategory(models.TextChoices):
    AWS = "AWS", "AWS"
    AZURE = "Azure", "Azure"
    GCP = "GCP", "GCP"
    DATABASE = "Database", "Database"
    SSH = "SSH", "SSH"
    CUSTOM = "Custom", "Custom"


class ValueFormat(models.TextChoices):
    """How an imported value was written, so the YAML export writes it back the same way
    (R22): TEXT a scalar; JSON a mapping or sequence, stored as JSON text; TEMPLATE a
    `{{ ... }}` template kept as written (`--templates keep`), exported for Mage to resolve."""

    TEXT = "text", "text"
    JSON = "json", "json"
    TEMPLATE = "template", "template"


# Profiles (R22): `default` always exists and is every lookup's fallback (R5.5); the others
# come from SECRETS_PROFILES. profiles() is the one home for "which profiles are configured".
DEFAULT_PROFILE = "default"
DEFAULT_PROFILES = "default,development,staging,production"
PROFILE_NAME_PATTERN = re.compile(r"\A[a-z0-9_-]{1,32}\Z")
PROFILE_MAX_LENGTH = 32


class SecretProfile(models.TextChoices):
    """The profiles of a default installation (R1.6), kept for their names only: what is
    configured is profiles()."""

    DEFAULT = "default", "default"
    DEVELOPMENT = "development", "development"
    STAGING = "staging", "staging"
    PRODUCTION = "production", "production"


def parse_profiles(raw) -> tuple[str, ...]:
    """SECRETS_PROFILES (comma-separated text, or a list) as a tuple, `default` first.
    Raise ImproperlyConfigured, naming the setting, on a bad or repeated name."""
    items = raw.split(",") if isinstance(raw, str) else list(raw or ())
    names = [str(item).strip() for item in items]
    if any(not name for name in names) and any(names):
        raise ImproperlyConfigured(
            f"SECRETS_PROFILES has an empty name in {raw!r}: list profile names separated by "
            "commas, for example default,dev,prod.")
    names = [name for name in names if name]
    bad = [name for name in names if not PROFILE_NAME_PATTERN.match(name)]
    if bad:
        raise ImproperlyConfigured(
            f"SECRETS_PROFILES: {', '.join(repr(name[:40]) for name in bad)} "
            f"{'is not a profile name' if len(bad) == 1 else 'are not profile names'}: use 1 to "
            f"{PROFILE_MAX_LENGTH} lowercase letters, digits, '-' or '_' (for example "
            "default,dev,prod).")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ImproperlyConfigured(
            f"SECRETS_PROFILES names {', '.join(repeated)} more than once: list each profile once.")
    if DEFAULT_PROFILE not in names:
        names.insert(0, DEFAULT_PROFILE)
    return tuple(names)


@cache
def profiles() -> tuple[str, ...]:
    """The configured profiles, in the setting's order, `default` included (R22)."""
    return parse_profiles(getattr(settings, "SECRETS_PROFILES", DEFAULT_PROFILES))


def profile_choices() -> list[tuple[str, str]]:
    """profiles() as form and serializer choices (a callable, so they follow the setting)."""
    return [(name, name) for name in profiles()]


def unknown_profile_message(profile: str, entries: int | None = None) -> str:
    """Why a profile is refused: it names the setting that would admit it, and where that
    is set. `entries`: an import's section of that profile, reported once for all of them."""
    held = f" ({entries} entries, none imported)" if entries else ""
    return (f"unknown profile '{str(profile)[:40]}'{held}: add it to SECRETS_PROFILES (in .env, "
            f"then restart), or use one of {', '.join(profiles())}")


@receiver(setting_changed)
def _forget_profiles_on_change(*, setting, **kwargs):
    if setting == "SECRETS_PROFILES":
        profiles.cache_clear()


def _keys(prefix: str, *suffixes: str) -> list[str]:
    return [f"{prefix}_{suffix}" for suffix in suffixes]


# Service group -> its keys, in the order the Catalog shows them: every service of Mage AI's
# io_config.yaml template and its ConfigKey list (mage_ai/io/config.py), plus SSH.
CONFIG_KEY_GROUPS: dict[str, list[str]] = {
    "AWS": _keys("AWS", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "REGION", "SESSION_TOKEN",
                 "ENDPOINT"),
    "Azure": _keys(
        "AZURE", "CLIENT_ID", "CLIENT_SECRET", "TENANT_ID", "STORAGE_ACCOUNT_NAME"
    ),
    "GCP": ["GOOGLE_SERVICE_ACC_KEY", "GOOGLE_SERVICE_ACC_KEY_FILEPATH", "GOOGLE_LOCATION"],
    "PostgreSQL": _keys(
        "POSTGRES", "HOST", "PORT", "DBNAME", "USER", "PASSWORD", "SCHEMA",
        "CONNECTION_METHOD", "CONNECT_TIMEOUT", "SSH_HOST", "SSH_PORT", "SSH_USERNAME",
        "SSH_PASSWORD", "SSH_PKEY",
    ),
    "MySQL": _keys("MYSQL", "HOST", "PORT", "DATABASE", "USER", "PASSWORD", "CONNECTION_METHOD"),
    "MSSQL": _keys("MSSQL", "HOST", "PORT", "DATABASE", "SCHEMA", "USER", "PASSWORD", "DRIVER"),
    "MongoDB": _keys(
        "MONGODB", "HOST", "PORT", "DATABASE", "USER", "PASSWORD", "CONNECTION_STRING",
        "COLLECTION",
    ),
    "Snowflake": _keys(
        "SNOWFLAKE", "ACCOUNT", "USER", "PASSWORD", "DEFAULT_DB", "DEFAULT_SCHEMA",
        "DEFAULT_WH", "ROLE", "PRIVATE_KEY_PATH", "PRIVATE_KEY_PASSPHRASE", "TIMEOUT",
    ),
    "BigQuery": _keys("BIGQUERY", "PROJECT_ID", "DATASET", "CREDENTIALS_PATH"),
    "Redshift": _keys(
        "REDSHIFT", "HOST", "PORT", "DBNAME", "DBUSER", "SCHEMA", "CLUSTER_ID",
        "IAM_PROFILE", "TEMP_CRED_USER", "TEMP_CRED_PASSWORD",
    ),
    "ClickHouse": _keys(
        "CLICKHOUSE", "HOST", "PORT", "DATABASE", "USERNAME", "PASSWORD", "INTERFACE"
    ),
    "Druid": _keys("DRUID", "HOST", "PORT", "PATH", "SCHEME", "USER", "PASSWORD"),
    "DuckDB": [*_keys("DUCKDB", "DATABASE", "SCHEMA"), "MOTHERDUCK_TOKEN"],
    "Oracle": _keys("ORACLEDB", "HOST", "PORT", "SERVICE", "USER", "PASSWORD", "MODE"),
    "Pinot": _keys("PINOT", "HOST", "PORT", "PATH", "SCHEME", "USER", "PASSWORD"),
    "Trino": _keys("TRINO", "HOST", "PORT", "CATALOG", "SCHEMA", "USER", "PASSWORD"),
    "Spark": _keys(
        "SPARK", "HOST", "PORT", "ENDPOINT", "METHOD", "DRIVER", "CLUSTER", "ORGANIZATION",
        "SCHEMA", "USER", "TOKEN", "SERVER_SIDE_PARAMETERS",
    ),
    "Elasticsearch": _keys("ELASTICSEARCH", "HOST", "PORT", "USERNAME", "PASSWORD", "API_KEY"),
    "OpenSearch": _keys("OPENSEARCH", "HOST", "PORT", "USERNAME", "PASSWORD"),
    "Chroma": _keys("CHROMA", "COLLECTION", "PATH"),
    "Qdrant": _keys("QDRANT", "COLLECTION", "PATH"),
    "Weaviate": _keys(
        "WEAVIATE", "ENDPOINT", "COLLECTION", "INSTANCE_API_KEY", "INFERENCE_API_KEY"
    ),
    "SSH": _keys("SSH", "HOST", "PORT", "USERNAME", "PASSWORD", "PRIVATE_KEY"),
}

# Which category a service group's secrets belong to.
GROUP_CATEGORY: dict[str, SecretCategory] = {
    "AWS": SecretCategory.AWS,
    "Azure": SecretCategory.AZURE,
    "GCP": SecretCategory.GCP,
    "BigQuery": SecretCategory.GCP,
    "SSH": SecretCategory.SSH,
    **{
        group: SecretCategory.DATABASE
        for group in (
            "PostgreSQL", "MySQL", "MSSQL", "MongoDB", "Snowflake", "Redshift", "ClickHouse",
            "Druid", "DuckDB", "Oracle", "Pinot", "Trino", "Spark", "Elasticsearch",
            "OpenSearch", "Chroma", "Qdrant", "Weaviate",
        )
    },
}

# The key prefixes that name each service (R17.14): a key is the service's when it starts
# with one, so POSTGRES_PASSWORD_0042 and POSTGRES_SSH_HOST are PostgreSQL's (Database).
GROUP_PREFIXES: dict[str, tuple[str, ...]] = {
    "AWS": ("AWS_",),
    "Azure": ("AZURE_",),
    "GCP": ("GOOGLE_", "GCP_"),
    "BigQuery": ("BIGQUERY_",),
    "PostgreSQL": ("POSTGRES_", "POSTGRESQL_"),
    "MySQL": ("MYSQL_",),
    "MSSQL": ("MSSQL_",),
    "MongoDB": ("MONGODB_", "MONGO_"),
    "Snowflake": ("SNOWFLAKE_",),
    "Redshift": ("REDSHIFT_",),
    "ClickHouse": ("CLICKHOUSE_",),
    "Druid": ("DRUID_",),
    "DuckDB": ("DUCKDB_", "MOTHERDUCK_"),
    "Oracle": ("ORACLEDB_", "ORACLE_"),
    "Pinot": ("PINOT_",),
    "Trino": ("TRINO_",),
    "Spark": ("SPARK_",),
    "Elasticsearch": ("ELASTICSEARCH_",),
    "OpenSearch": ("OPENSEARCH_",),
    "Chroma": ("CHROMA_",),
    "Qdrant": ("QDRANT_",),
    "Weaviate": ("WEAVIATE_",),
    "SSH": ("SSH_",),
}

ConfigKey = models.TextChoices(
    "ConfigKey", [(key, key) for keys in CONFIG_KEY_GROUPS.values() for key in keys]
)
ConfigKey.__doc__ = "Every known credential key; the value equals the name (R5.6)."

_GROUP_OF_KEY: dict[str, str] = {
    key: group for group, keys in CONFIG_KEY_GROUPS.items() for key in keys
}
# Longest first: the most specific prefix wins.
_PREFIXES: list[tuple[str, str]] = sorted(
    ((prefix, group) for group, prefixes in GROUP_PREFIXES.items() for prefix in prefixes),
    key=lambda item: -len(item[0]),
)


def group_of(key: str) -> str | None:
    """The service group of a key: a known key's group, else the group whose prefix the key
    starts with (the longest one wins), else None (a custom key)."""
    key = str(key)
    if key in _GROUP_OF_KEY:
        return _GROUP_OF_KEY[key]
    for prefix, group in _PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            return group
    return None


# A connector block's name (R22): `trino:`, `spark:`, ... a lowercase identifier whose
# value is a mapping, stored whole under its own name with the upper-cased key.
CONNECTOR_NAME = re.compile(r"\A[a-z][a-z0-9_]*\Z")


def category_for_connector(name: str) -> SecretCategory:
    """A connector block's category: the service whose key prefix is the upper-cased name
    (trino -> TRINO_ -> Database, postgres -> PostgreSQL, google -> GCP), else Custom."""
    prefix = f"{name.upper()}_"
    for group, prefixes in GROUP_PREFIXES.items():
        if prefix in prefixes:
            return GROUP_CATEGORY[group]
    return SecretCategory.CUSTOM


def category_for_key(key: str) -> SecretCategory:
    """The category a key implies (R1.5, R6.2, R17.14): its service group's, else Custom.
    Create (category omitted), the console's "automatic" choice and import all use it."""
    group = group_of(key)
    return GROUP_CATEGORY[group] if group else SecretCategory.CUSTOM
