"""Who may read and change what (R2, R18, R19): the one rule every way in asks.

- Admins (superusers and the `Secrets administrators` group) may do everything everywhere.
- A person with a grant on a profile: `reader` decrypts and fetches there; `editor` also
  creates, updates, deletes, imports and restores there.
- A service token (a program) reads within its scope (profiles, key patterns) and nothing else.
- Everyone signed in lists every secret, masked (R4.1); a service token lists its scope only.

A refusal is the R2.2 answer (AdminRequired, "Admin privileges required"). The `require_*`
helpers write the DENIED audit row themselves, before raising, so the console, the API and
the commands all leave the same trace.
"""

from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from django.db import transaction

from audit_app import log
from audit_app.models import AuditAction
from kozmo_secrets.escaping import printable
from secrets_app.access.models import ProfileGrant, Role
from secrets_app.access.permissions import AdminRequired, is_secrets_admin
from secrets_app.constants import DEFAULT_PROFILE


@dataclass(frozen=True)
class Access:
    """What one caller may do. Built once per request or call by `access_of`."""

    admin: bool = False
    roles: dict = field(default_factory=dict)  # profile -> Role
    service: bool = False  # a service token: reads only, within key_patterns
    key_patterns: tuple = ()  # empty: every key

    def reads(self, profile: str, key: str | None = None) -> bool:
        """May decrypt (and fetch) in `profile`; `key` None asks for every key there."""
        if self.admin:
            return True
        if not isinstance(profile, str) or profile not in self.roles:  # hostile JSON too
            return False
        return self.covers_key(key)

    def covers_key(self, key: str | None) -> bool:
        """The key is within the key patterns (a service token's; people have none). None
        (every key) only without patterns."""
        if not self.key_patterns:
            return True
        return key is not None and any(fnmatchcase(key, p) for p in self.key_patterns)

    def writes(self, profile: str) -> bool:
        if self.admin:
            return True
        return (isinstance(profile, str) and not self.service
                and self.roles.get(profile) == Role.EDITOR)

    def lists(self, profile: str, key: str) -> bool:
        """Sees the secret (masked) in lists: people see all; a token its scope only."""
        return not self.service or self.reads(profile, key)

    @property
    def falls_back(self) -> bool:
        """May be answered from `default` when a profile lacks a key (R5.5), and from the
        server's environment, which counts as `default`: admins and holders of a role on
        `default` (key patterns still apply per key). For anyone else only the profile's own
        entries answer, so no answer tells what `default` holds (R20)."""
        return self.admin or DEFAULT_PROFILE in self.roles

    @property
    def writes_anywhere(self) -> bool:
        return self.admin or (Role.EDITOR in self.roles.values() and not self.service)

    @property
    def reads_anywhere(self) -> bool:
        return self.admin or bool(self.roles)

    def writable_profiles(self, profiles) -> list[str]:
        return [profile for profile in profiles if self.writes(profile)]


NOBODY = Access()


def access_of(user) -> Access:
    """The caller's rights: one query for a person's grants (theirs and their groups')."""
    service_token = getattr(user, "service_token", None)
    if service_token is not None:
        return Access(roles=dict.fromkeys(service_token.profiles, Role.READER), service=True,
                      key_patterns=tuple(service_token.key_patterns or ()))
    if user is None or not user.is_authenticated or not user.is_active:
        return NOBODY
    if is_secrets_admin(user):
        return Access(admin=True)
    roles: dict = {}
    for profile, role in ProfileGrant.objects.of_user(user).values_list("profile", "role"):
        if roles.get(profile) != Role.EDITOR:  # a user's and a group's grant: the larger
            roles[profile] = role
    return Access(roles=roles)


def refuse(user, attempted: str, reason: str, **target) -> AdminRequired:
    """Write the DENIED row (committed on its own) and answer the R2.2 error to raise."""
    with transaction.atomic():
        log.record(AuditAction.DENIED, user=_actor(user), allowed=False,
                   detail={"attempted": attempted, "reason": reason}, **target)
    error = AdminRequired()
    error.audited = True
    error.reason = reason  # for the command line's message; the API answers R2.2's words
    return error


def record_refusal(request, user, reason: str, **target) -> None:
    """The DENIED row for a request refused before any service ran (a permission class, a
    service token's network or budget): what was asked (method and path), by whom, why."""
    attempted = f"{request.method} {printable(request.path, keep_newlines=False)[:200]}"
    with transaction.atomic():
        log.record(AuditAction.DENIED, user=_actor(user), allowed=False,
                   detail={"attempted": attempted, "reason": reason}, **target)


def require_write(user, profile: str, attempted: str, **target) -> Access:
    """Refuse (audited) unless the caller may change secrets in `profile`."""
    access = access_of(user)
    if not access.writes(profile):
        raise refuse(user, attempted, f"no editor grant on {profile}",
                     secret_profile=profile, **target)
    return access


def _actor(user):
    return user if user is not None and user.is_authenticated else None
