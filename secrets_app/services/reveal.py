"""Every way plaintext leaves the store: the decrypt gate (admins, readers of the profile and
service tokens in scope, R2.2, R18, R19; the R10.3 budget; refusals audited, R2.5) and the
reveals behind it (one secret, an SSH tunnel, exports and `run_with_secrets`, a resolved
credential)."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from audit_app import log
from audit_app.context import current as current_context
from audit_app.models import AuditAction, Channel
from secrets_app.access import ratelimit
from secrets_app.access.permissions import AdminRequired
from secrets_app.access.policy import Access, access_of
from secrets_app.constants import NAME_MAX_LENGTH
from secrets_app.crypto import DecryptionError
from secrets_app.models import Secret, SSHTunnel
from secrets_app.shared_cache import CACHE_ERRORS, CacheUnavailable
from secrets_app.sources.chain import (
    BadPort,
    SSHTunnelConfig,
    check_profile,
    resolve_ssh_tunnel,
)
from secrets_app.sources.database import secrets_for_keys

DECRYPT_FAILED = "Failed to decrypt secret"


RATE_LIMITED = "Rate limit exceeded. Try again later."


class DecryptFailed(Exception):
    """The stored value cannot be decrypted with the configured keys (audited)."""

    def __init__(self, message: str = DECRYPT_FAILED):
        super().__init__(message)


class RateLimited(Exception):
    """Too many decrypts (R10.3, R10.4); retry_after says when the window ends."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(RATE_LIMITED)


Scope = list[tuple[str, str | None]]  # (profile, key) pairs a reveal opens; key None: any


def _admit_decrypt(user, target: dict, scope: Scope | None, *,
                   uncounted_ok: bool = False) -> None:
    """The gate in front of every decrypt: the caller may read every (profile, key) of
    `scope` (admins, readers and editors of those profiles, a service token within its
    scope: R2.2, R18, R19; scope None: may write somewhere, the import's gate), within the
    rate limit (R10.3; a service token's budget is per request, charged when it
    authenticates). A refused attempt is audited (R2.5) and commits before the refusal is
    raised. When the shared cache that counts the limit cannot be reached, the decrypt is
    refused rather than let through uncounted (fail closed, R17.19), unless the caller is a
    write that must go on without the cache (`uncounted_ok`: a real import)."""
    reason = None
    retry_after = 0
    access = access_of(user)
    if not _in_scope(access, scope):
        reason = refusal_reason(access, scope)
    elif not access.service:
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
    raise _audited_refusal(reason)


def _audited_refusal(reason: str) -> AdminRequired:
    error = AdminRequired()
    error.audited = True  # the API's handler must not write a second row
    error.reason = reason  # for the command line's message; the API answers R2.2's words
    return error


def _in_scope(access: Access, scope: Scope | None) -> bool:
    if scope is None:
        return access.writes_anywhere
    return all(access.reads(profile, key) for profile, key in scope)


def refusal_reason(access: Access, scope: Scope | None) -> str:
    if access.service:
        return "outside the service token's scope"
    if not access.roles:
        return "not an admin"
    if scope is None:
        return "no editor grant"
    # str(): a refused profile may be any JSON a caller sent; the reason is text.
    profiles = sorted({str(profile)[:40] for profile, key in scope
                       if not access.reads(profile, key)})
    return f"no reader grant on {', '.join(profiles)}"


def admit_reveal(user, target: dict, scope: Scope | None, *,
                 uncounted_ok: bool = False) -> None:
    """The gate for plaintext used in bulk or compared (exports, run_with_secrets, resolve
    --reveal, every import, R17.2): the operator at the command line (no --as) holds the
    keys already and is not limited; a user passes the decrypt gate once per call: the
    caller may read all of `scope`, one decrypt of the R10.3 budget, a refusal audited,
    refused when the cache cannot count it (R17.19)."""
    if user is None and current_context().channel == Channel.CLI:
        return
    _admit_decrypt(user, target, scope, uncounted_ok=uncounted_ok)


@dataclass(frozen=True)
class Revealed:
    """What one decrypt opened: the secret, its plaintext and, when the caller asked for it
    and the secret has one, its tunnel. The API's DecryptedSecretSerializer shapes it (R8.6)."""

    secret: Secret
    value: str = field(repr=False)
    tunnel: dict | None = field(default=None, repr=False)  # as SSHTunnelConfig.revealed()


@sensitive_variables()
def decrypt_secret(secret: Secret, user) -> str:
    """The plaintext, for admins only (R2.1, R2.2) and within the rate limit (R10.3). Every
    attempt is audited (R2.5); the value is returned only once its audit row is written.
    Call it outside any outer transaction: a refusal's audit row commits before the error is
    raised, and an enclosing atomic block would roll it back. Only the value is opened: an
    SSH secret's tunnel stays sealed (the console shows the value alone)."""
    return _decrypt(secret, user, with_tunnel=False).value


@sensitive_variables()
def decrypt_with_tunnel(secret: Secret, user) -> Revealed:
    """The decrypt answer (R8.6): the value and, for SSH secrets, the tunnel with its
    password and private key (R7.3). As decrypt_secret otherwise."""
    return _decrypt(secret, user, with_tunnel=True)


@sensitive_variables()
def _decrypt(secret: Secret, user, *, with_tunnel: bool) -> Revealed:
    """One gate; everything asked for is opened before the one audit row, which says how it
    went (the same row whether or not the tunnel was asked for)."""
    target = {"secret_id": secret.pk, "secret_name": secret.name, "secret_profile": secret.profile}
    scope = [(secret.profile, secret.key)]
    if with_tunnel and _has_tunnel(secret):
        # A whole tunnel is several keys: a token limited to some keys cannot open one (as
        # on reveal_ssh_tunnel).
        scope.append((secret.profile, None))
    _admit_decrypt(user, target, scope)
    try:
        value = secret.value.reveal()
        tunnel = _open_tunnel(secret) if with_tunnel else None
    except DecryptionError:
        with transaction.atomic():
            log.record(
                AuditAction.DECRYPT, user=user,
                detail={"outcome": "failed", "reason": "no configured key opens the value"},
                **target,
            )
        raise DecryptFailed() from None
    log.record(AuditAction.DECRYPT, user=user, **target)  # its own transaction, committed
    return Revealed(secret, value, tunnel)


def _has_tunnel(secret: Secret) -> bool:
    try:  # loaded with the secret when the caller asked for it (select_related)
        return secret.ssh_tunnel is not None
    except SSHTunnel.DoesNotExist:
        return False


@sensitive_variables()
def _open_tunnel(secret: Secret) -> dict | None:
    try:  # loaded with the secret when the caller asked for it (select_related)
        tunnel = secret.ssh_tunnel
    except SSHTunnel.DoesNotExist:
        return None
    return SSHTunnelConfig(host=tunnel.host, port=tunnel.port, username=tunnel.username,
                           password=tunnel.password, private_key=tunnel.private_key).revealed()


@sensitive_variables()
def reveal_ssh_tunnel(user, profile: str, name: str | None = None) -> dict | None:
    """A whole decrypted tunnel config for a connector (R7.3), behind the decrypt gate, which
    runs before anything is read. None when the profile has no tunnel (audited too)."""
    # What a refusal records comes from the request: the audit writer stores it as bounded,
    # escaped text; the name itself is checked once the caller may ask at all.
    target = {"secret_name": name or "SSH tunnel", "secret_profile": profile}
    # A whole tunnel is several keys: a token limited to some keys cannot open one.
    _admit_decrypt(user, target, [(profile, None)])
    try:
        check_profile(profile)
    except ValueError as error:
        raise ValidationError({"profile": str(error)}) from None
    if name is not None and (not isinstance(name, str) or len(name) > NAME_MAX_LENGTH):
        raise ValidationError({"name": f"A secret's name: text of at most {NAME_MAX_LENGTH} "
                                       "characters."})
    try:
        tunnel = resolve_ssh_tunnel(profile, name)
        if tunnel is not None:  # made from `default`'s secrets: the caller must read those too
            _admit_stored_in(user, target, profile, tunnel.stored_in)
        revealed = tunnel.revealed() if tunnel else None
    except BadPort as error:  # the message holds no value; said only to who may read it
        _admit_stored_in(user, target, profile, error.stored_in)
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


def caller_access(user) -> Access:
    """The caller's rights; the operator at the command line (no --as) holds the keys."""
    if user is None and current_context().channel == Channel.CLI:
        return Access(admin=True)
    return access_of(user)


def _admit_stored_in(user, target: dict, asked: str, stored_in) -> None:
    """Refuse (audited, no second charge) a reveal whose stored parts come from a profile the
    caller may not read (a tunnel falling back to `default`'s, R5.5 under R18)."""
    if user is None and current_context().channel == Channel.CLI:
        return
    access = access_of(user)
    scope = [(profile, None) for profile in stored_in if profile != asked]
    if _in_scope(access, scope):
        return
    with transaction.atomic():
        reason = refusal_reason(access, scope)
        log.record(AuditAction.DECRYPT, user=user, allowed=False,
                   detail={"reason": reason}, **target)
    raise _audited_refusal(reason)


def profile_secrets(profile: str) -> list[Secret]:
    """A profile's secrets, one per key, as a program would see them: the profile's own, then
    `default`'s for keys the profile lacks (R5.5), each key's winner as the database source
    picks it."""
    return sorted(secrets_for_keys(None, profile).values(), key=lambda secret: secret.key)


@sensitive_variables()
def reveal_secrets(secrets: list[Secret], user, *, via: str) -> dict:
    """secret id -> plaintext, for exports and `run_with_secrets`, audited as one decrypt per
    secret (R16). Nothing is returned unless every value opens and every audit row is
    written. For a user the call is one attempt against the R10.3 budget."""
    profiles = sorted({secret.profile for secret in secrets})
    admit_reveal(user, {"secret_name": via,
                         "secret_profile": profiles[0] if len(profiles) == 1 else ""},
                 [(secret.profile, secret.key) for secret in secrets])
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
    secret = resolution.origin if isinstance(resolution.origin, Secret) else None
    # The profile asked and, on a fallback to `default` (any source), `default` too (R18).
    scope = [(str(resolution.profile), resolution.key)]
    if resolution.answered_in not in (None, resolution.profile):
        scope.append((resolution.answered_in, resolution.key))
    admit_reveal(user, {"secret_name": resolution.key,
                         "secret_profile": str(resolution.profile)[:32]}, scope)
    plaintext = resolution.value.reveal()
    with transaction.atomic():
        log.record(
            AuditAction.DECRYPT, user=user,
            secret_id=secret.pk if secret else None,
            secret_name=secret.name if secret else resolution.key,
            secret_profile=secret.profile if secret else resolution.profile,
            detail={"via": via, "source": resolution.source, "key": resolution.key},
        )
    return plaintext
