"""The process environment (R5.1). It has no profiles: the same answer for every profile.
The server's own configuration (keys, database and cache URLs, DJANGO_*/SECRETS_*/KOZMO_*) is
never a credential, so this source does not see it (the same rule as child processes, R17.1).
Nor, while the AWS source is on, the AWS keys the server signs in to AWS with: they would open
every profile's secrets there, whatever the caller's grants (R18, R20)."""

import os

from django.conf import settings

from secrets_app.child_env import is_server_configuration
from secrets_app.constants import DEFAULT_PROFILE
from secrets_app.fields import Sealed
from secrets_app.sources.base import BaseCredentialLoader

# What boto3 signs in with from the environment (the AWS source's own credentials).
AWS_SIGN_IN = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                         "AWS_SECURITY_TOKEN"})


class EnvironmentLoader(BaseCredentialLoader):
    source = "environment"

    def __init__(self, environ=None):
        self.environ = os.environ if environ is None else environ

    def contains(self, key: str, profile: str = DEFAULT_PROFILE) -> bool:
        return (key in self.environ and not is_server_configuration(key)
                and not (key in AWS_SIGN_IN and settings.SECRETS_AWS_REGION))

    # lookup(): the base's. The environment answers every profile alike: the server's base
    # layer, so its answers count as `default`'s (R18), not any one profile's.

    def get(self, key: str, profile: str = DEFAULT_PROFILE) -> Sealed | None:
        if not self.contains(key, profile):
            return None
        return Sealed.encrypt(self.environ[key])
