"""The process environment (R5.1). It has no profiles: the same answer for every profile."""

import os

from ..constants import SecretProfile
from ..fields import Sealed
from .base import BaseCredentialLoader


class EnvironmentLoader(BaseCredentialLoader):
    source = "environment"

    def __init__(self, environ=None):
        self.environ = os.environ if environ is None else environ

    def contains(self, key: str, profile: str = SecretProfile.DEFAULT) -> bool:
        return key in self.environ

    def get(self, key: str, profile: str = SecretProfile.DEFAULT) -> Sealed | None:
        value = self.environ.get(key)
        return None if value is None else Sealed.encrypt(value)
