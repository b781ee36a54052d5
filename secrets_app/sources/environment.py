"""The process environment (R5.1). It has no profiles: the same answer for every profile.
The server's own configuration (keys, database and cache URLs, DJANGO_*/SECRETS_*/KOZMO_*) is
never a credential, so this source does not see it (the same rule as child processes, R17.1).
Nor what the server signs in with from its environment: while the AWS source is on, the AWS keys
(they would open every profile's secrets there, whatever the caller's grants, R18, R20), and
on PostgreSQL libpq's PG* variables (PGPASSWORD may be the server's database password)."""

import os

from django.conf import settings

from secrets_app.child_env import is_server_configuration
from secrets_app.constants import DEFAULT_PROFILE
from secrets_app.fields import Sealed
from secrets_app.sources.base import BaseCredentialLoader

# What boto3 signs in with from the environment (the AWS source's own credentials).
AWS_SIGN_IN = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                         "AWS_SECURITY_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"})


# What libpq (psycopg) reads from the environment to reach and sign in to PostgreSQL.
LIBPQ_SIGN_IN = frozenset({
    "PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGPASSFILE",
    "PGSERVICE", "PGSERVICEFILE", "PGSSLKEY", "PGSSLCERT", "PGSSLROOTCERT", "PGSSLPASSWORD",
    "PGOPTIONS",
})


def is_server_sign_in(name: str) -> bool:
    """The server's own sign-in material in its environment: AWS keys while the AWS source
    is on, libpq's variables while the database is PostgreSQL."""
    if name in AWS_SIGN_IN:
        return bool(settings.SECRETS_AWS_REGION)
    if name in LIBPQ_SIGN_IN:
        return "postgresql" in settings.DATABASES["default"]["ENGINE"]
    return False


class EnvironmentLoader(BaseCredentialLoader):
    source = "environment"

    def __init__(self, environ=None):
        self.environ = os.environ if environ is None else environ

    def contains(self, key: str, profile: str = DEFAULT_PROFILE) -> bool:
        return (key in self.environ and not is_server_configuration(key)
                and not is_server_sign_in(key))

    # lookup(): the base's. The environment answers every profile alike: the server's base
    # layer, so its answers count as `default`'s (R18), not any one profile's.

    def get(self, key: str, profile: str = DEFAULT_PROFILE) -> Sealed | None:
        if not self.contains(key, profile):
            return None
        return Sealed.encrypt(self.environ[key])
