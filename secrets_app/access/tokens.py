"""API tokens (R14): create (the key shown once), authenticate, revoke. Audited."""

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit_app import log
from audit_app.models import AuditAction
from secrets_app.access.models import ApiToken

KEY_PREFIX = "kzs_"
MAX_LIFETIME_DAYS = 3650
# A token minted with a password alone (HTTP Basic) lives at most this long: a stolen
# password must not buy access that outlasts the password (R17.7).
PASSWORD_MINTED_MAX_DAYS = 90
LAST_USED_PRECISION = timedelta(minutes=1)  # at most one write per token per minute


def digest_of(key: str) -> str:
    # Keys are 256 random bits: a plain hash is enough, and stays valid if Django's
    # SECRET_KEY is rotated.
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(
    user, name: str, expires_in_days: int | None = 90, not_after=None,
    minted_with_password: bool = False,
) -> tuple[ApiToken, str]:
    """A new token and its key. The key is not stored: show it now or never. `not_after`
    caps the expiry (a token creating a token passes its own); a token minted with a
    password alone expires within PASSWORD_MINTED_MAX_DAYS, whatever it asks for."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the token a name, e.g. the program using it."})
    if len(name) > 100:
        raise ValidationError({"name": "The name can be at most 100 characters."})
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_LIFETIME_DAYS:
        raise ValidationError(
            {"expires_in_days": f"Choose between 1 and {MAX_LIFETIME_DAYS} days, or none."}
        )
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    expires_at = now + timedelta(days=expires_in_days) if expires_in_days else None
    if minted_with_password:
        password_deadline = now + timedelta(days=PASSWORD_MINTED_MAX_DAYS)
        not_after = min(not_after or password_deadline, password_deadline)
    if not_after is not None and (expires_at is None or expires_at > not_after):
        expires_at = not_after
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, prefix=key[:12], digest=digest_of(key), created_at=now,
            expires_at=expires_at,
        )
        log.record(AuditAction.TOKEN_CREATE, user=user,
                   detail={"token": token.prefix, "name": name})
    return token, key


def authenticate_key(key: str) -> ApiToken | None:
    """The usable token for this key (its user active), or None. Notes when it was used."""
    token = (
        ApiToken.objects.select_related("user").filter(digest=digest_of(key)).first()
        if key.startswith(KEY_PREFIX) else None
    )
    if token is None or not token.is_usable() or not token.user.is_active:
        return None
    note_use(token)
    return token


def note_use(token) -> None:
    """Record when a token (a person's or a service token) was last used, at most once a
    minute: one write per token per minute, not per request."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        type(token).objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def revoke_once(token, action: str, user, detail: dict) -> bool:
    """Set revoked_at on a token (a person's or a service token) unless it already is, with
    its audit row. Conditional: of two revokes at once, one changes the row and writes the
    row. Answers whether this call revoked it."""
    with transaction.atomic():
        now = timezone.now()
        revoked = type(token).objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now)
        token.revoked_at = token.revoked_at or now
        if revoked:
            log.record(action, user=user, detail=detail)
    return bool(revoked)


def revoke_token(token: ApiToken, user) -> None:
    """`user` revokes the token: their own (API, console), or anyone's (Django admin, whose
    audit row then names the owner too). Idempotent."""
    if token.revoked_at is not None:
        return
    detail = {"token": token.prefix, "name": token.name}
    if token.user_id != getattr(user, "pk", None):
        detail["owner"] = token.user.get_username()
    revoke_once(token, AuditAction.TOKEN_REVOKE, user, detail)


def revoke_all_tokens(user, reason: str) -> int:
    """Revoke every live token of this user, one TOKEN_REVOKE row each saying why (a password
    change, a deactivation). Answers how many were revoked."""
    with transaction.atomic():
        tokens = list(
            ApiToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True)
        )
        if not tokens:
            return 0
        now = timezone.now()
        ApiToken.objects.filter(pk__in=[token.pk for token in tokens]).update(revoked_at=now)
        log.record_many(
            log.Entry(AuditAction.TOKEN_REVOKE, detail={
                "token": token.prefix, "name": token.name, "owner": user.get_username(),
                "reason": reason,
            })
            for token in tokens
        )
    return len(tokens)
