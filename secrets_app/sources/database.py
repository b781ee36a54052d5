"""Secrets stored in Kozmo itself: the first source asked."""

from django.db.models import Case, IntegerField, Value, When

from secrets_app.constants import DEFAULT_PROFILE
from secrets_app.fields import Sealed
from secrets_app.models import Secret
from secrets_app.sources.base import Answer, BaseCredentialLoader, profiles_to_try


def secret_for_key(key: str, profile: str) -> Secret | None:
    """The secret that answers for a key in a profile (then in `default`). Several secrets may
    share a key: the one named like the key wins, then the most recently changed."""
    for candidate in profiles_to_try(profile):
        secret = (
            Secret.objects.filter(key=key, profile=candidate)
            .annotate(
                named_like_key=Case(
                    When(name=key, then=Value(0)), default=Value(1), output_field=IntegerField()
                )
            )
            .order_by("named_like_key", "-updated_at")
            .first()
        )
        if secret is not None:
            return secret
    return None


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
