"""Secrets stored in Kozmo itself: the first source asked."""

from collections.abc import Iterable

from secrets_app.constants import DEFAULT_PROFILE
from secrets_app.fields import Sealed
from secrets_app.models import Secret
from secrets_app.sources.base import Answer, BaseCredentialLoader, profiles_to_try


def secret_for_key(key: str, profile: str) -> Secret | None:
    """The secret that answers for a key in a profile (then in `default`): secrets_for_keys'
    rule, one key."""
    return secrets_for_keys([key], profile).get(key)


def secrets_for_keys(keys: Iterable[str] | None, profile: str) -> dict[str, Secret]:
    """The secret that answers for each key, in one query (keys None: every key stored in the
    profile or in `default`). Several secrets may share a key: the profile's own before
    `default`'s, then the one named like the key, then the most recently changed."""
    order = {candidate: rank for rank, candidate in enumerate(profiles_to_try(profile))}
    # Ranked below, in Python. The (key, profile) order only steers the database to the
    # (key, profile) index: with the model's (name, profile) order, SQLite walks the whole
    # name index (every row of the table) to skip a sort; with none, once ANALYZE has seen
    # many secrets share a few keys, it reads every row of the profiles asked.
    candidates = Secret.objects.filter(profile__in=order).order_by("key", "profile")
    if keys is not None:
        wanted = set(keys)
        if not wanted:
            return {}
        candidates = candidates.filter(key__in=wanted)
    ranked = sorted(candidates, key=lambda secret: (
        order[secret.profile], secret.name != secret.key, -secret.updated_at.timestamp(),
        secret.name))
    chosen: dict[str, Secret] = {}
    for secret in ranked:
        chosen.setdefault(secret.key, secret)
    return chosen


class DatabaseLoader(BaseCredentialLoader):
    source = "database"

    def get(self, key: str, profile: str = DEFAULT_PROFILE) -> Sealed | None:
        secret = secret_for_key(key, profile)
        return secret.value if secret else None

    def origin(self, key: str, profile: str = DEFAULT_PROFILE) -> Secret | None:
        return secret_for_key(key, profile)

    def lookup(self, key: str, profile: str = DEFAULT_PROFILE) -> Answer | None:
        secret = secret_for_key(key, profile)
        return Answer(secret.value, secret, secret.profile) if secret else None

    def lookup_many(self, keys, profile: str = DEFAULT_PROFILE) -> dict[str, Answer]:
        return {key: Answer(secret.value, secret, secret.profile)
                for key, secret in secrets_for_keys(keys, profile).items()}
