"""The product's fixed vocabularies: categories (R1.5), profiles (R1.6) and the known
credential keys grouped by service (R5.6, R7.5)."""

import re

from django.db import models

MASK = "********"

# Custom keys are any UPPER_SNAKE name: a capital letter, then capitals, digits, underscores.
KEY_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]*$")


class SecretCategory(models.TextChoices):
    AWS = "AWS", "AWS"
    AZURE = "Azure", "Azure"
    GCP = "GCP", "GCP"
    DATABASE = "Database", "Database"
    SSH = "SSH", "SSH"
    CUSTOM = "Custom", "Custom"


class SecretProfile(models.TextChoices):
    DEFAULT = "default", "default"
    DEVELOPMENT = "development", "development"
    STAGING = "staging", "staging"
    PRODUCTION = "production", "production"


def _keys(prefix: str, *suffixes: str) -> list[str]:
    return [f"{prefix}_{suffix}" for suffix in suffixes]


# Service group -> its keys, in the order the Catalog shows them.
CONFIG_KEY_GROUPS: dict[str, list[str]] = {
    "AWS": _keys("AWS", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "REGION", "SESSION_TOKEN"),
    "Azure": _keys(
        "AZURE", "CLIENT_ID", "CLIENT_SECRET", "TENANT_ID", "STORAGE_ACCOUNT_NAME"
    ),
    "GCP": ["GOOGLE_SERVICE_ACC_KEY", "GOOGLE_SERVICE_ACC_KEY_FILEPATH", "GOOGLE_LOCATION"],
    "PostgreSQL": _keys(
        "POSTGRES", "HOST", "PORT", "DBNAME", "USER", "PASSWORD", "SCHEMA",
        "CONNECTION_METHOD", "CONNECT_TIMEOUT",
    ),
    "MySQL": _keys("MYSQL", "HOST", "PORT", "DATABASE", "USER", "PASSWORD", "CONNECTION_METHOD"),
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
    "SSH": _keys("SSH", "HOST", "PORT", "USERNAME", "PASSWORD", "PRIVATE_KEY"),
}

# Which category a service group's secrets belong to.
GROUP_CATEGORY: dict[str, SecretCategory] = {
    "AWS": SecretCategory.AWS,
    "Azure": SecretCategory.AZURE,
    "GCP": SecretCategory.GCP,
    "BigQuery": SecretCategory.GCP,
    "PostgreSQL": SecretCategory.DATABASE,
    "MySQL": SecretCategory.DATABASE,
    "MongoDB": SecretCategory.DATABASE,
    "Snowflake": SecretCategory.DATABASE,
    "Redshift": SecretCategory.DATABASE,
    "SSH": SecretCategory.SSH,
}

ConfigKey = models.TextChoices(
    "ConfigKey", [(key, key) for keys in CONFIG_KEY_GROUPS.values() for key in keys]
)
ConfigKey.__doc__ = "Every known credential key; the value equals the name (R5.6)."

_GROUP_OF_KEY: dict[str, str] = {
    key: group for group, keys in CONFIG_KEY_GROUPS.items() for key in keys
}


def group_of(key: str) -> str | None:
    """The service group a known key belongs to, or None for a custom key."""
    return _GROUP_OF_KEY.get(str(key))


def category_for_key(key: str) -> SecretCategory:
    """The category a key implies: its service group's, else Custom."""
    group = group_of(key)
    return GROUP_CATEGORY[group] if group else SecretCategory.CUSTOM
