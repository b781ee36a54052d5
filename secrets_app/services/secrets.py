"""The operations on secrets. Console views, API viewsets and commands all call these.

Each operation checks who may (access/policy.py: admins, editors of the profile), validates,
and runs in one transaction with its audit row (written by the Secret signals or explicitly
here): if the audit row cannot be written, the operation does not happen (R10.1). Every
writing transaction takes the audit chain's lock before any secret row, so writers (imports
included) queue instead of deadlocking.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from audit_app import log
from audit_app.context import audit_context
from audit_app.models import AuditAction
from secrets_app.access.policy import access_of, refuse, require_write
from secrets_app.audit import recorded_as
from secrets_app.constants import DEFAULT_PROFILE, NAME_MAX_LENGTH, ValueFormat
from secrets_app.fields import Sealed
from secrets_app.models import Secret, SecretVersion, SSHTunnel
from secrets_app.services.rules import (
    FIRST_VERSION,
    check_unique_name,
    infer_category,
    is_duplicate,
    next_version_number,
    value_errors,
)
from secrets_app.validation import (
    DUPLICATE_NAME,
    check_name_and_key,
    check_profile,
    check_value,
    profile_problems,
    require_value,
)

EDITABLE_FIELDS = ("name", "key", "category", "profile", "description")


class VersionNotFound(LookupError):
    pass


@dataclass
class SSHTunnelData:
    """Tunnel settings as given by a form or API call. For password and private_key,
    None means "keep what is stored" on update (and "none" on create)."""

    host: str
    username: str
    port: int = 22
    password: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)


def _validate(secret: Secret) -> None:
    """The rules of validation.py (name, key, look-alike names), then the model's own field
    checks (choices, lengths) for the rest; every field's problems in one error."""
    errors = {}
    try:
        check_name_and_key(secret.name, secret.key)
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        secret.full_clean(exclude=["name", "key", "value", "name_skeleton"],
                          validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    check_unique_name(secret.name, secret.profile, exclude_pk=secret.pk)


@sensitive_variables()
def _validate_tunnel(secret: Secret, data: SSHTunnelData) -> None:
    if secret.category != "SSH":
        raise ValidationError({"category": "SSH tunnel settings need the category SSH."})
    for name in ("password", "private_key"):
        if getattr(data, name) is not None:
            check_value(getattr(data, name), name)
    SSHTunnel(secret=secret, host=data.host, port=data.port, username=data.username).full_clean(
        exclude=["secret", "password", "private_key"]
    )


@sensitive_variables()
def _save_tunnel(secret: Secret, data: SSHTunnelData) -> None:
    tunnel = SSHTunnel.objects.filter(secret=secret).first() or SSHTunnel(secret=secret)
    tunnel.host, tunnel.port, tunnel.username = data.host, data.port, data.username
    if data.password is not None:
        tunnel.password = data.password or None
    if data.private_key is not None:
        tunnel.private_key = data.private_key or None
    tunnel.save()


@sensitive_variables()
def create_secret(
    user,
    *,
    name: str,
    key: str,
    value: str | None = None,
    category: str | None = None,
    profile: str = DEFAULT_PROFILE,
    description: str = "",
    ssh: SSHTunnelData | None = None,
) -> Secret:
    """Create a secret (R3) and its first version; category defaults to the key's service.
    The key is taken as given: surrounding spaces or a new line make it invalid (R17.10)."""
    profile = profile or DEFAULT_PROFILE
    require_write(user, profile, "create", secret_name=str(name or "")[:NAME_MAX_LENGTH])
    key = key or ""
    category = infer_category(category, key)
    problems = {**value_errors(value, category=category, has_tunnel=ssh is not None),
                **profile_problems(profile)}
    secret = Secret(
        name=(name or "").strip(),
        key=key,
        value=None if problems else value,  # a bad value is never encrypted
        category=category,
        profile=profile,
        description=(description or "").strip(),
        created_by=user,
        updated_by=user,
    )
    try:
        _validate(secret)
    except ValidationError as error:  # every field's problems in one answer
        raise ValidationError({**problems, **error.message_dict}) from None
    if problems:
        raise ValidationError(problems)
    if ssh is not None:
        _validate_tunnel(secret, ssh)
    try:
        with transaction.atomic(), audit_context(user=user):
            log.lock_chain()  # the one lock order: chain first, then rows (no deadlocks)
            secret.save(force_insert=True)
            SecretVersion.objects.create(
                secret=secret, number=FIRST_VERSION, value=secret.value, created_by=user,
                profile=secret.profile,
            )
            if ssh is not None:
                _save_tunnel(secret, ssh)
    except IntegrityError:
        # A concurrent create won the race for (name, profile): the constraint decided.
        if is_duplicate(secret):
            raise ValidationError({"name": DUPLICATE_NAME}) from None
        raise
    return secret


_UNSET = object()


def _locked(secret: Secret) -> Secret:
    """The stored row, locked until the transaction ends: changes apply to what is stored
    now, never to a caller's stale copy (which could revert a concurrent edit or rotation)."""
    return Secret.objects.select_for_update().get(pk=secret.pk)


class _MovedAway(Exception):
    def __init__(self, profile: str):
        self.profile = profile


@contextmanager
def _writing(secret: Secret, user, attempted: str):
    """A write's transaction (audit chain lock first), yielding the stored row locked. The
    caller checked the profile of its copy; if the secret was moved meanwhile to a profile
    the caller may not write, the write is refused (audited) rather than applied there."""
    try:
        with transaction.atomic(), audit_context(user=user):
            log.lock_chain()
            current = _locked(secret)
            if current.profile != secret.profile and not access_of(user).writes(
                    current.profile):
                raise _MovedAway(current.profile)
            yield current
    except _MovedAway as moved:  # outside the rolled-back transaction: the row commits
        raise refuse(user, attempted, f"no editor grant on {moved.profile}",
                     secret_profile=moved.profile, **_target(secret)) from None


@sensitive_variables()
def update_secret(secret: Secret, user, *, value: str | None = None, ssh=_UNSET, **changes):
    """Apply changes (R3.2) and return the updated secret. value None keeps the stored value;
    a value given is re-encrypted and kept as a new version, even the stored one (R17.2: the
    answer must not tell whether a guess was right). ssh None removes the tunnel; category
    None means "from the key", as on create. Nothing changed means nothing is written.
    Raises Secret.DoesNotExist if it was deleted. Moving a secret to another profile needs
    an editor's rights on both."""
    for profile in {secret.profile, changes.get("profile") or secret.profile}:
        require_write(user, profile, "update", **_target(secret))
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Cannot update {', '.join(sorted(unknown))}.")
    if value is not None:
        check_value(value)
    if changes.get("profile") and changes["profile"] != secret.profile:
        check_profile(changes["profile"])  # staying in an unconfigured profile is fine
    try:
        with _writing(secret, user, "update") as current:
            if "category" in changes:
                changes["category"] = infer_category(
                    changes["category"], changes.get("key", current.key))
            if value is not None:
                has_tunnel = (ssh is not None if ssh is not _UNSET
                              else SSHTunnel.objects.filter(secret=current).exists())
                require_value(value, category=changes.get("category") or current.category,
                              has_tunnel=has_tunnel)
            changed = _apply_changes(current, changes, value)
            _validate(current)
            if ssh is not _UNSET and ssh is not None:
                _validate_tunnel(current, ssh)
                changed.append("ssh_tunnel")
            drop_tunnel = ssh is None or current.category != "SSH"
            if drop_tunnel and SSHTunnel.objects.filter(secret=current).exists():
                changed.append("ssh_tunnel")
            if not changed:
                return current
            current.updated_at = timezone.now()
            current.updated_by = user
            columns = [name for name in changed if name != "ssh_tunnel"]
            # The row's "changed" is the instance's changed fields, plus the tunnel's table.
            with recorded_as(also_changed=[name for name in changed if name == "ssh_tunnel"]):
                current.save(update_fields=[*columns, "updated_at", "updated_by"])
            if "value" in changed:
                _add_version(current, user)
            if ssh is not _UNSET and ssh is not None:
                _save_tunnel(current, ssh)
            elif drop_tunnel:
                SSHTunnel.objects.filter(secret=current).delete()
    except IntegrityError:
        if is_duplicate(current):
            raise ValidationError({"name": DUPLICATE_NAME}) from None
        raise
    return current


@sensitive_variables()
def _apply_changes(secret: Secret, changes: dict, value: str | None) -> list[str]:
    """Set the fields that differ; return their names."""
    changed = []
    for name, new in changes.items():
        if name == "key":
            new = new or ""  # as given, like on create: validation says what is wrong
        elif name != "category":
            new = (new or "").strip()
        if new != getattr(secret, name):
            setattr(secret, name, new)
            changed.append(name)
    if value is not None:
        # A value given is a value set, even the stored one: never comparing means an update's
        # answer (a new version or not) cannot confirm a guessed value (R17.2).
        secret.value = value
        changed.append("value")
        if secret.value_format == ValueFormat.TEMPLATE:
            # A value typed in is no longer the template a file kept: the export writes it
            # as text (a `{{` in it marked !literal). A JSON value stays JSON while it is
            # JSON (the export falls back to text when it is not).
            secret.value_format = ValueFormat.TEXT
            changed.append("value_format")
    return changed


def _add_version(secret: Secret, user, restored_from: int | None = None) -> SecretVersion:
    return SecretVersion.objects.create(
        secret=secret,
        number=next_version_number(secret),
        value=secret.value,
        created_by=user,
        restored_from=restored_from,
        profile=secret.profile,
    )


def listed_to(user, secrets):
    """The secrets `user` sees (masked) in lists: all of them for people (R4.1); a service
    token's scope only (R19)."""
    if getattr(user, "service_token", None) is None:  # a person: no query needed
        return secrets
    access = access_of(user)
    scoped = secrets.filter(profile__in=list(access.roles))
    if access.key_patterns:
        # Matched here with fnmatch (linear time), not as a database regex: SQLite's runs in
        # Python's backtracking engine, where a pattern like *A*A*A*B takes seconds a row.
        keys = {key for key in scoped.values_list("key", flat=True).distinct()
                if access.covers_key(key)}
        scoped = scoped.filter(key__in=keys)
    return scoped


def require_listed(user, secret: Secret, attempted: str) -> None:
    """Refuse (audited) a service token asking for a secret outside its scope."""
    if not access_of(user).lists(secret.profile, secret.key):
        raise refuse(user, attempted, "outside the service token's scope",
                     secret_profile=secret.profile, **_target(secret))


def secret_versions(secret: Secret, user):
    """A secret's versions, newest first (R13): who changed it when, never a value. For
    those who may restore them: editors of its profile and admins."""
    require_write(user, secret.profile, "versions", **_target(secret))
    return secret.versions.select_related("created_by").order_by("-number")


def _target(secret: Secret) -> dict:
    """What a refusal's audit row names (the name, not a value; the profile is added by the
    check)."""
    return {"secret_id": secret.pk, "secret_name": secret.name}


def delete_secret(secret: Secret, user) -> None:
    """Delete a secret with its versions and tunnel (R3.3); audited."""
    require_write(user, secret.profile, "delete", **_target(secret))
    with _writing(secret, user, "delete") as current:
        current.delete()


def restore_version(secret: Secret, number: int, user) -> Secret:
    """Make an earlier version's value current again, as a new version (R13); audited.
    Returns the updated secret."""
    require_write(user, secret.profile, "restore", **_target(secret))
    version = secret.versions.filter(number=number).first()
    if version is not None and not access_of(user).reads(version.profile, secret.key):
        # Set while the secret was in another profile (or where is not known: a version from
        # before grants existed): restoring it here would hand that value to this profile's
        # readers (R18).
        where = f"was set in {version.profile}" if version.profile else "predates grants"
        raise refuse(user, "restore", f"version {number} {where}",
                     secret_profile=secret.profile, **_target(secret))
    with _writing(secret, user, "restore") as current:
        version = current.versions.filter(number=number).first()
        if version is None:
            raise VersionNotFound(f"Version {number} of this secret does not exist.")
        current.value = Sealed(version.value.token)
        current.value_format = ValueFormat.TEXT  # how the old value was written is not kept
        current.updated_at = timezone.now()
        current.updated_by = user
        new_version = _add_version(current, user, restored_from=number)
        with recorded_as(action=AuditAction.RESTORE,
                         detail={"restored_version": number, "new_version": new_version.number}):
            current.save(update_fields=["value", "value_format", "updated_at", "updated_by"])
    return current


