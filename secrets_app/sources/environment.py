"""The process environment (R5.1). It has no profiles: the same answer for every profile.
What the server keeps for itself is never a credential, so this source does not see it
(child_env.withheld): its configuration (keys, database and cache URLs, DJANGO_*/SECRETS_*/
KOZMO_*), what only `.env` set, and what it signs in with: its proxy, the AWS keys while the AWS
source is on (they would open every profile's secrets there, whatever the caller's grants), and
libpq's PG* variables on PostgreSQL (R17.1, R20.3)."""

import os

from secrets_app.child_env import withheld
from secrets_app.constants import DEFAULT_PROFILE
from secrets_app.fields import Sealed
from secrets_app.sources.base import BaseCredentialLoader


class EnvironmentLoader(BaseCredentialLoader):
    source = "environment"

    def __init__(self, environ=None):
        self.environ = os.environ if environ is None else environ

    def contains(self, key: str, profile: str = DEFAULT_PROFILE) -> bool:
        return key in self.environ and not withheld(key)

    # lookup(): the base's. The environment answers every profile alike: the server's base
    # layer, so its answers count as `default`'s (R18), not any one profile's.

    def get(self, key: str, profile: str = DEFAULT_PROFILE) -> Sealed | None:
        if not self.contains(key, profile):
            return None
        return Sealed.encrypt(self.environ[key])
