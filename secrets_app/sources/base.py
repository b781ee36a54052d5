"""What every credential source answers: does it hold a key for a profile, and its value."""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from secrets_app.constants import DEFAULT_PROFILE
from secrets_app.fields import Sealed


@dataclass(frozen=True)
class Answer:
    value: Sealed = field(repr=False)
    origin: object = None  # e.g. the Secret that answered
    profile: str = DEFAULT_PROFILE  # the profile whose entry answered


class BaseCredentialLoader(ABC):
    #: The name shown as the answering source: database, environment, config_file, aws.
    source: str = ""

    def contains(self, key: str, profile: str = DEFAULT_PROFILE) -> bool:
        return self.get(key, profile) is not None

    @abstractmethod
    def get(self, key: str, profile: str = DEFAULT_PROFILE) -> Sealed | None:
        """The value as a Sealed, or None when this source does not hold the key."""

    def origin(self, key: str, profile: str = DEFAULT_PROFILE):
        """What exactly answered, for the audit log (the database names its Secret)."""
        return None

    def lookup(self, key: str, profile: str = DEFAULT_PROFILE) -> Answer | None:
        """The value, what answered, and the profile whose entry answered (the one asked, or
        `default` when this source fell back to it, R5.5), all from ONE lookup, so the value
        and its profile cannot disagree. Whoever reads the value must be allowed to read
        that profile (R18). This default asks get() and, not knowing where the value came
        from, says `default` (the stricter answer); the sources say better."""
        value = self.get(key, profile)
        if value is None:
            return None
        return Answer(value, self.origin(key, profile), DEFAULT_PROFILE)

    def lookup_many(self, keys, profile: str = DEFAULT_PROFILE) -> dict:
        """lookup() for several keys: key -> Answer for the keys this source holds. Sources
        that can ask for many keys at once (the database: one query) do better."""
        answers = {}
        for key in keys:
            answer = self.lookup(key, profile)
            if answer is not None:
                answers[key] = answer
        return answers


def profiles_to_try(profile: str, fallback: bool = True) -> list[str]:
    """A profile first, then `default` (R5.5): a profile without a key uses the default's.
    fallback=False (a caller who may not read `default`, R20): the profile alone."""
    if profile == DEFAULT_PROFILE or not fallback:
        return [profile]
    return [profile, DEFAULT_PROFILE]
