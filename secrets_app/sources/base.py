"""What every credential source answers: does it hold a key for a profile, and its value."""

from abc import ABC, abstractmethod

from secrets_app.constants import SecretProfile
from secrets_app.fields import Sealed


class BaseCredentialLoader(ABC):
    #: The name shown as the answering source: database, environment, config_file, aws.
    source: str = ""

    def contains(self, key: str, profile: str = SecretProfile.DEFAULT) -> bool:
        return self.get(key, profile) is not None

    @abstractmethod
    def get(self, key: str, profile: str = SecretProfile.DEFAULT) -> Sealed | None:
        """The value as a Sealed, or None when this source does not hold the key."""

    def origin(self, key: str, profile: str = SecretProfile.DEFAULT):
        """What exactly answered, for the audit log (the database names its Secret)."""
        return None

    def answered_in(self, key: str, profile: str = SecretProfile.DEFAULT) -> str | None:
        """The profile whose entry answered: the one asked, or `default` when this source fell
        back to it (R5.5); the environment, which has no profiles, counts as `default`.
        Whoever reads the value must be allowed to read that profile (R18). A source that
        does not say is taken to have fallen back: `default`."""
        return SecretProfile.DEFAULT


def profiles_to_try(profile: str) -> list[str]:
    """A profile first, then `default` (R5.5): a profile without a key uses the default's."""
    return [profile] if profile == SecretProfile.DEFAULT else [profile, SecretProfile.DEFAULT]
