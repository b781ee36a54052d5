"""The operations on secrets. Console views, API viewsets and commands all call these.

Each operation checks the admin rule, validates, and runs in one transaction with its audit row
(written by the Secret signals or explicitly here): if the audit row cannot be written, the
operation does not happen (R10.1). Every writing transaction takes the audit chain's lock
before any secret row, so writers (imports included) queue instead of deadlocking.
"""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from audit_app import log
from audit_app.context import audit_context
from audit_app.context import current as current_context
from audit_app.models import AuditAction, Channel

from . import ratelimit
from .constants import SecretProfile, category_for_key
from .crypto import DecryptionError
from .fields import Sealed
from .loaders.resolver import check_profile, resolve_ssh_tunnel
from .models import Secret, SecretVersion, SSHTunnel
from .permissions import ADMIN_REQUIRED, is_secrets_admin
from .shared_cache import CACHE_ERRORS, CacheUnavailable
from .validation import (
    DUPLICATE_NAME,
    check_name_and_key,
    check_unique_name,
    check_value,
    look_alike,
    require_value,
)

DECRYPT_FAILED = "Failed to decrypt secret"
RATE_LIMITED = "Rate limit exceeded. Try again later."
EDITABLE_FIELDS = ("name", "key", "category", "profile", "description")


class AdminRequired(PermissionDenied):
    def __init__(self, message: str = ADMIN_REQUIRED):
        super().__init__(message)


class DecryptFailed(Exception):
    """The stored value cannot be decrypted with the configured keys (audited)."""

    def __init__(self, message: str = DECRYPT_FAILED):
        super().__init__(message)


class VersionNotFound(LookupError):
    pass


class RateLimited(Exception):
    """Too many decrypts (R10.3, R10.4); retry_after says when the window ends."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(RATE_LIMITED)


@dataclass
class SSHTunnelData:
    """Tunnel settings as given by a form or API call. For password and private_key,
    None means "keep what is stored" on update (and "none" on create)."""

    host: str
    username: str
    port: int = 22
    password: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)


def require_admin(user) -> None:
    if not is_secrets_admin(user):
        raise AdminRequired()


def require_admin_or_operator(user) -> None:
    """Admins, or the operator at the command line (user None on channel `cli`): whoever runs
    manage.py already holds the encryption keys."""
    if user is None and current_context().channel == Channel.CLI:
        return
    require_admin(user)


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
def _value_errors(value, *, category: str, has_tunnel: bool) -> dict:
    try:
        require_value(value, category=category, has_tunnel=has_tunnel)
        check_value(value)
    except ValidationError as error:
        return error.message_dict
    return {}


def _is_duplicate(secret: Secret) -> bool:
    return look_alike(secret.name, secret.profile, exclude_pk=secret.pk) is not None


@sensitive_variables()
def create_secret(
    user,
    *,
    name: str,
    key: str,
    value: str | None = None,
    category: str | None = None,
    profile: str = SecretProfile.DEFAULT,
    description: str = "",
    ssh: SSHTunnelData | None = None,
) -> Secret:
    """Create a secret (R3) and its first version; category defaults to the key's service.
    The key is taken as given: surrounding spaces or a new line make it invalid (R17.10)."""
    require_admin(user)
    key = key or ""
    category = category or category_for_key(key)
    value_errors = _value_errors(value, category=category, has_tunnel=ssh is not None)
    secret = Secret(
        name=(name or "").strip(),
        key=key,
        value=None if value_errors else value,  # a bad value is never encrypted
        category=category,
        profile=profile or SecretProfile.DEFAULT,
        description=(description or "").strip(),
        created_by=user,
        updated_by=user,
    )
    try:
        _validate(secret)
    except ValidationError as error:  # every field's problems in one answer
        raise ValidationError({**value_errors, **error.message_dict}) from None
    if value_errors:
        raise ValidationError(value_errors)
    if ssh is not None:
        _validate_tunnel(secret, ssh)
    try:
        with transaction.atomic(), audit_context(user=user):
            log.lock_chain()  # the one lock order: chain first, then rows (no deadlocks)
            secret.save(force_insert=True)
            SecretVersion.objects.create(
                secret=secret, number=1, value=secret.value, created_by=user
            )
            if ssh is not None:
                _save_tunnel(secret, ssh)
    except IntegrityError:
        # A concurrent create won the race for (name, profile): the constraint decided.
        if _is_duplicate(secret):
            raise ValidationError({"name": DUPLICATE_NAME}) from None
        raise
    return secret


_UNSET = object()


def _locked(secret: Secret) -> Secret:
    """The stored row, locked until the transaction ends: changes apply to what is stored
    now, never to a caller's stale copy (which could revert a concurrent edit or rotation)."""
    return Secret.objects.select_for_update().get(pk=secret.pk)


@sensitive_variables()
def update_secret(secret: Secret, user, *, value: str | None = None, ssh=_UNSET, **changes):
    """Apply changes (R3.2) and return the updated secret. value None keeps the stored value;
    a value given is re-encrypted and kept as a new version, even the stored one (R17.2: the
    answer must not tell whether a guess was right). ssh None removes the tunnel. Nothing
    changed means nothing is written. Raises Secret.DoesNotExist if it was deleted."""
    require_admin(user)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Cannot update {', '.join(sorted(unknown))}.")
    if value is not None:
        check_value(value)
    try:
        with transaction.atomic(), audit_context(user=user):
            log.lock_chain()
            current = _locked(secret)
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
            current._audit_detail = {"changed": sorted(set(changed))}
            columns = [name for name in changed if name != "ssh_tunnel"]
            current.save(update_fields=[*columns, "updated_at", "updated_by"])
            del current._audit_detail
            if "value" in changed:
                _add_version(current, user)
            if ssh is not _UNSET and ssh is not None:
                _save_tunnel(current, ssh)
            elif drop_tunnel:
                SSHTunnel.objects.filter(secret=current).delete()
    except IntegrityError:
        if _is_duplicate(current):
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
    return changed


def _add_version(secret: Secret, user, restored_from: int | None = None) -> SecretVersion:
    latest = secret.versions.aggregate(latest=Max("number"))["latest"] or 0
    return SecretVersion.objects.create(
        secret=secret,
        number=latest + 1,
        value=secret.value,
        created_by=user,
        restored_from=restored_from,
    )


def delete_secret(secret: Secret, user) -> None:
    """Delete a secret with its versions and tunnel (R3.3); audited."""
    require_admin(user)
    with transaction.atomic(), audit_context(user=user):
        log.lock_chain()
        _locked(secret).delete()


def _admit_decrypt(user, target: dict, *, uncounted_ok: bool = False) -> None:
    """The gate in front of every decrypt: admins only (R2.2), within the rate limit (R10.3).
    A refused attempt is audited (R2.5) and commits before the refusal is raised. When the
    shared cache that counts the limit cannot be reached, the decrypt is refused rather than
    let through uncounted (fail closed, R17.19), unless the caller is a write that must go on
    without the cache (`uncounted_ok`: a real import)."""
    reason = None
    retry_after = 0
    if not is_secrets_admin(user):
        reason = "not an admin"
    else:
        try:
            usage = ratelimit.hit("decrypt", user.pk)
        except CACHE_ERRORS:
            if uncounted_ok:
                return
            reason = "cache unavailable"
        else:
            if not usage.allowed:
                reason, retry_after = "rate limited", usage.retry_after
    if reason is None:
        return
    with transaction.atomic():
        log.record(
            AuditAction.DECRYPT, user=user if user and user.is_authenticated else None,
            allowed=False, detail={"reason": reason}, **target,
        )
    if retry_after:
        raise RateLimited(retry_after)
    if reason == "cache unavailable":
        raise CacheUnavailable("Decrypting")
    raise AdminRequired()


def admit_reveal(user, target: dict, *, uncounted_ok: bool = False) -> None:
    """The gate for plaintext used in bulk or compared (exports, run_with_secrets, resolve
    --reveal, every import, R17.2): the operator at the command line (no --as) holds the
    keys already and is not limited; a user passes the decrypt gate once per call: admins only,
    one decrypt of the R10.3 budget, a refusal audited, refused when the cache cannot count it
    (R17.19)."""
    if user is None and current_context().channel == Channel.CLI:
        return
    _admit_decrypt(user, target, uncounted_ok=uncounted_ok)


@sensitive_variables()
def decrypt_secret(secret: Secret, user) -> str:
    """The plaintext, for admins only (R2.1, R2.2) and within the rate limit (R10.3). Every
    attempt is audited (R2.5); the value is returned only once its audit row is written.
    Call it outside any outer transaction: a refusal's audit row commits before the error is
    raised, and an enclosing atomic block would roll it back."""
    return decrypt_with_tunnel(secret, user)["value"]


@sensitive_variables()
def decrypt_with_tunnel(secret: Secret, user) -> dict:
    """The decrypt answer (R8.6): the value and, for SSH secrets, the tunnel with its
    password and private key (R7.3). One gate; everything is opened before the one audit
    row, which says how it went."""
    target = {"secret_id": secret.pk, "secret_name": secret.name, "secret_profile": secret.profile}
    _admit_decrypt(user, target)
    try:  # loaded with the secret when the caller asked for it (select_related)
        tunnel = secret.ssh_tunnel
    except SSHTunnel.DoesNotExist:
        tunnel = None
    try:
        answer = {"id": secret.pk, "name": secret.name, "key": secret.key,
                  "profile": secret.profile, "value": secret.value.reveal()}
        if tunnel is not None:
            answer["ssh_tunnel"] = {
                "host": tunnel.host, "port": tunnel.port, "username": tunnel.username,
                "password": tunnel.password.reveal() if tunnel.password else None,
                "private_key": tunnel.private_key.reveal() if tunnel.private_key else None,
            }
    except DecryptionError:
        with transaction.atomic():
            log.record(
                AuditAction.DECRYPT, user=user,
                detail={"outcome": "failed", "reason": "no configured key opens the value"},
                **target,
            )
        raise DecryptFailed() from None
    log.record(AuditAction.DECRYPT, user=user, **target)  # its own transaction, committed
    return answer


@sensitive_variables()
def reveal_ssh_tunnel(user, profile: str, name: str | None = None) -> dict | None:
    """A whole decrypted tunnel config for a connector (R7.3), behind the decrypt gate, which
    runs before anything is read. None when the profile has no tunnel (audited too)."""
    target = {"secret_name": name or "SSH tunnel", "secret_profile": str(profile)[:32]}
    _admit_decrypt(user, target)
    try:
        check_profile(profile)
    except ValueError as error:
        raise ValidationError({"profile": str(error)}) from None
    try:
        tunnel = resolve_ssh_tunnel(profile, name)
        revealed = tunnel.revealed() if tunnel else None
    except ValueError as error:  # SSH_PORT not a number; the message holds no value
        raise ValidationError({"ssh": str(error)}) from None
    except DecryptionError:
        raise DecryptFailed() from None
    with transaction.atomic():
        log.record(
            AuditAction.DECRYPT, user=user,
            detail={"via": "ssh_tunnel", "outcome": "found" if tunnel else "no tunnel",
                    **({"source": tunnel.source} if tunnel else {})},
            secret_name=tunnel.secret_name if tunnel and tunnel.secret_name else target[
                "secret_name"],
            secret_profile=profile,
        )
    return revealed


def restore_version(secret: Secret, number: int, user) -> Secret:
    """Make an earlier version's value current again, as a new version (R13); audited.
    Returns the updated secret."""
    require_admin(user)
    with transaction.atomic(), audit_context(user=user):
        log.lock_chain()
        current = _locked(secret)
        version = current.versions.filter(number=number).first()
        if version is None:
            raise VersionNotFound(f"Version {number} of this secret does not exist.")
        current.value = Sealed(version.value.token)
        current.updated_at = timezone.now()
        current.updated_by = user
        new_version = _add_version(current, user, restored_from=number)
        current._audit_action = AuditAction.RESTORE
        current._audit_detail = {"restored_version": number, "new_version": new_version.number}
        current.save(update_fields=["value", "updated_at", "updated_by"])
        del current._audit_action, current._audit_detail
    return current


def profile_secrets(profile: str) -> list[Secret]:
    """A profile's secrets, one per key, as a program would see them: the profile's own, then
    `default`'s for keys the profile lacks (R5.5). Several secrets with one key: the one named
    like the key wins, then the most recently changed (the database loader's rule)."""
    candidates = Secret.objects.filter(profile__in={profile, SecretProfile.DEFAULT})
    chosen: dict[str, Secret] = {}
    ranked = sorted(
        candidates,
        key=lambda s: (s.profile != profile, s.name != s.key, -s.updated_at.timestamp()),
    )
    for secret in ranked:
        chosen.setdefault(secret.key, secret)
    return sorted(chosen.values(), key=lambda s: s.key)


@sensitive_variables()
def reveal_secrets(secrets: list[Secret], user, *, via: str) -> dict:
    """secret id -> plaintext, for exports and `run_with_secrets`, audited as one decrypt per
    secret (R16). Nothing is returned unless every value opens and every audit row is
    written. For a user the call is one attempt against the R10.3 budget."""
    profiles = sorted({secret.profile for secret in secrets})
    admit_reveal(user, {"secret_name": via,
                         "secret_profile": profiles[0] if len(profiles) == 1 else ""})
    values = {}
    for secret in secrets:
        try:
            values[secret.pk] = secret.value.reveal()
        except DecryptionError:
            raise DecryptFailed(
                f"{DECRYPT_FAILED}: {secret.name} ({secret.profile}) cannot be opened with the "
                "configured keys"
            ) from None
    with transaction.atomic():
        log.record_many([
            log.Entry(AuditAction.DECRYPT, secret_id=secret.pk, secret_name=secret.name,
                      secret_profile=secret.profile, detail={"via": via}, user=user)
            for secret in secrets
        ])
    return values


@sensitive_variables()
def reveal_resolution(resolution, user, *, via: str = "resolve_credential") -> str:
    """The plaintext of a resolved credential, audited as a decrypt (R15 --reveal); when the
    database answered, the row names that secret. For a user the call is one attempt
    against the R10.3 budget."""
    admit_reveal(user, {"secret_name": resolution.key,
                         "secret_profile": str(resolution.profile)[:32]})
    plaintext = resolution.value.reveal()
    secret = resolution.origin if isinstance(resolution.origin, Secret) else None
    with transaction.atomic():
        log.record(
            AuditAction.DECRYPT, user=user,
            secret_id=secret.pk if secret else None,
            secret_name=secret.name if secret else resolution.key,
            secret_profile=secret.profile if secret else resolution.profile,
            detail={"via": via, "source": resolution.source, "key": resolution.key},
        )
    return plaintext
