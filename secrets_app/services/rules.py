"""The secret rules that need the database, each decided here once; the pure ones are in
validation.py. create/update/restore (services/secrets.py) and the import upsert (bulk.py)
both ask these, so a name clash, a version number or "did the value change" cannot differ
between one secret and a file of them.
"""

from django.core.exceptions import ValidationError
from django.db.models import Max
from django.views.decorators.debug import sensitive_variables

from secrets_app.constants import category_for_key
from secrets_app.crypto import DecryptionError
from secrets_app.models import Secret, SecretVersion
from secrets_app.validation import DUPLICATE_NAME, check_value, require_value, skeleton_digest

BATCH = 500
FIRST_VERSION = 1


# --- names (R3.1, R17.11) ----------------------------------------------------------------


def look_alike(name: str, profile: str, exclude_pk=None) -> Secret | None:
    """The secret in `profile` whose name looks the same as `name` (same skeleton), if any."""
    clashes = Secret.objects.filter(profile=profile, name_skeleton=skeleton_digest(name))
    if exclude_pk is not None:
        clashes = clashes.exclude(pk=exclude_pk)
    return clashes.only("pk", "name", "profile").first()


def look_alikes(profile: str, names) -> dict[str, str]:
    """For many names at once: {skeleton digest: stored name} of the secrets in `profile` that
    look like any of them."""
    digests = [skeleton_digest(name) for name in names]
    taken = {}
    for start in range(0, len(digests), BATCH):
        batch = digests[start:start + BATCH]
        rows = Secret.objects.filter(profile=profile, name_skeleton__in=batch)
        taken.update({digest: name for name, digest in rows.values_list("name", "name_skeleton")})
    return taken


def check_unique_name(name: str, profile: str, exclude_pk=None) -> None:
    """One name per profile (R3.1), comparing what people see (R17.11): a look-alike of an
    existing name is a duplicate. The database constraint decides races."""
    if look_alike(name, profile, exclude_pk) is not None:
        raise ValidationError({"name": DUPLICATE_NAME}, code="unique")


def is_duplicate(secret: Secret) -> bool:
    """After an IntegrityError: was it the name (a concurrent create or rename won)?"""
    return look_alike(secret.name, secret.profile, exclude_pk=secret.pk) is not None


# --- values (R17.9, R17.18) ---------------------------------------------------------------


def infer_category(category: str | None, key: str) -> str:
    """The category given, or the key's service when none is (R3: "From the key")."""
    return category or category_for_key(key or "")


@sensitive_variables()
def value_errors(value, *, category: str, has_tunnel: bool) -> dict:
    """Is a value required here, and is this one storable: {field: messages}, empty when it
    is. The console form and the API serializer leave both questions to this."""
    try:
        require_value(value, category=category, has_tunnel=has_tunnel)
        check_value(value)
    except ValidationError as error:
        return error.message_dict
    return {}


@sensitive_variables()
def same_value(secret: Secret, value: str) -> bool:
    """Does the stored value equal `value`? Only the import asks (its "unchanged"): an update
    never compares, so its answer cannot confirm a guessed value (R17.2)."""
    try:
        return secret.value.reveal() == value
    except DecryptionError:
        return False  # unreadable under the current keys: the import replaces it


# --- versions (R13) -----------------------------------------------------------------------


def next_version_numbers(secret_ids) -> dict:
    """{secret id: the number its next version gets}: one more than its highest; a secret
    without versions is missing here and starts at FIRST_VERSION."""
    ids = list(secret_ids)
    latest = {}
    for start in range(0, len(ids), BATCH):
        rows = (SecretVersion.objects.filter(secret_id__in=ids[start:start + BATCH])
                .values("secret_id").annotate(latest=Max("number")))
        latest.update({row["secret_id"]: row["latest"] + 1 for row in rows})
    return latest


def next_version_number(secret: Secret) -> int:
    return next_version_numbers([secret.pk]).get(secret.pk, FIRST_VERSION)
