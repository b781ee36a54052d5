"""Credentials for programs (R20): many keys in one request, each resolved through the R5 chain
(database, environment, config file, AWS) in the caller's scope, as one decrypt and one audit
row. The API's /credentials and `manage.py resolve_credential --format` both ask here.

The server's own configuration (DJANGO_*, SECRETS_*, KOZMO_*, DATABASE_URL, REDIS_URL) is never
served, whatever source holds a key of that name: asking for one is a clear error, and the
every-key answer leaves such keys out.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from audit_app import log
from audit_app.models import AuditAction
from secrets_app.access.permissions import AdminRequired
from secrets_app.access.policy import Access
from secrets_app.child_env import is_server_configuration
from secrets_app.constants import (
    DEFAULT_PROFILE,
    KEY_MAX_LENGTH,
    KEY_PATTERN,
    profiles,
    unknown_profile_message,
)
from secrets_app.crypto import DecryptionError
from secrets_app.models import Secret
from secrets_app.services.reveal import (
    DECRYPT_FAILED,
    DecryptFailed,
    admit_reveal,
    caller_access,
    refusal_reason,
)
from secrets_app.sources.chain import Resolution, resolve_many
from secrets_app.sources.database import secrets_for_keys

MAX_KEYS = 500
VIA = "credentials"
SERVER_CONFIGURATION = (
    "the server's own configuration, never served (DJANGO_*, SECRETS_*, KOZMO_*, DATABASE_URL, "
    "REDIS_URL): store the program's value under another name, e.g. APP_DATABASE_URL"
)


class CredentialsRefused(AdminRequired):
    """The R2.2 refusal, audited, naming what was outside the caller's scope: the caller's own
    question, so saying which part was refused tells it nothing it could not try."""

    audited = True

    def __init__(self, refused: list[dict], reason: str):
        super().__init__()
        self.refused = refused
        self.reason = reason


@dataclass(frozen=True)
class Credentials:
    profile: str
    resolutions: dict = field(repr=False)  # key -> Resolution, for the keys served
    values: dict = field(repr=False)  # key -> plaintext
    missing: list = field(default_factory=list)
    fallback: bool = True  # whether `default`'s entries answered for keys the profile lacks

    def as_dict(self) -> dict:
        """The answer's shape, for the API and the command alike."""
        return {
            "profile": self.profile,
            "credentials": {
                key: {"value": self.values[key], "source": resolution.source,
                      "profile": resolution.answered_in or DEFAULT_PROFILE}
                for key, resolution in self.resolutions.items()
            },
            "missing": list(self.missing),
            "fallback": self.fallback,
        }


def check_request(profile, keys) -> None:
    """ValidationError naming the field at fault: the profile, and each key asked for."""
    if not isinstance(profile, str) or profile not in profiles():
        raise ValidationError({"profile": [f"{unknown_profile_message(str(profile)[:40])}."]})
    if keys is None:
        return
    if not keys:
        raise ValidationError({"keys": ["Name at least one key (keys=A,B), or leave keys out "
                                        "for every key you may read in the profile."]})
    if len(keys) > MAX_KEYS:
        raise ValidationError({"keys": [f"At most {MAX_KEYS} keys in one request; "
                                        f"{len(keys)} were asked for."]})
    problems = []
    not_names = [key for key in keys
                 if not KEY_PATTERN.match(key) or len(key) > KEY_MAX_LENGTH]
    if not_names:
        shown = ", ".join(repr(key[:40]) for key in not_names[:5])
        problems.append(f"Not key names: {shown}. A key is an UPPER_SNAKE name (a capital "
                        "letter, then capitals, digits or underscores) of at most "
                        f"{KEY_MAX_LENGTH} characters.")
    server_own = [key for key in keys if KEY_PATTERN.match(key) and is_server_configuration(key)]
    if server_own:
        problems.append(f"{', '.join(server_own[:5])}: {SERVER_CONFIGURATION}.")
    if problems:
        raise ValidationError({"keys": problems})


@sensitive_variables()
def fetch_credentials(user, profile: str = DEFAULT_PROFILE, keys=None) -> Credentials:
    """The credentials `keys` (None: every key stored for the profile, `default`'s for keys it
    lacks, that the caller may read) resolve to in `profile`.

    Refused, audited, before any value is read: a key or profile outside the caller's scope
    (grants; a service token's profiles and key patterns, R18, R19). A caller who may not
    read `default` gets no fallback: only the profile's own entries answer, so the answer
    cannot tell it what `default` or the server's environment hold. The request is one
    decrypt of a person's R10.3 budget (a service token's is charged per request when it
    signs in). One audit row names every key served and its source; the filter by secret
    finds the row by any stored secret it read."""
    if keys is not None:
        keys = list(dict.fromkeys(keys))
    access = caller_access(user)
    target = {"secret_name": VIA, "secret_profile": str(profile)[:32]}
    _check_or_record(user, profile, keys, target)
    fallback = access.falls_back
    if keys is None:
        if not (access.admin or profile in access.roles):
            _refuse(user, access, [{"profile": profile}], target)
        stored = secrets_for_keys(None, profile)
        keys = sorted(key for key, secret in stored.items()
                      if not is_server_configuration(key)
                      and access.reads(profile, key) and access.reads(secret.profile, key))
    outside = [{"key": key, "profile": profile} for key in keys
               if not access.reads(profile, key)]
    if outside:
        _refuse(user, access, outside, target)
    admit_reveal(user, target, [(profile, key) for key in keys])
    resolutions = resolve_many(keys, profile, fallback=fallback)
    served = {key: r for key, r in resolutions.items() if r.found}
    values = {}
    for key, resolution in served.items():
        try:
            values[key] = resolution.value.reveal()
        except DecryptionError:
            with transaction.atomic():
                log.record(AuditAction.DECRYPT, user=user, detail={
                    "via": VIA, "outcome": "failed", "key": key, "source": resolution.source,
                    "reason": "no configured key opens the value"}, **target)
            raise DecryptFailed(f"{DECRYPT_FAILED}: {key} ({resolution.source}) cannot be "
                                "opened with the configured keys") from None
    missing = [key for key, resolution in resolutions.items() if not resolution.found]
    _record(user, profile, served, missing)
    return Credentials(profile, served, values, missing, fallback)


def _check_or_record(user, profile, keys, target: dict) -> None:
    """check_request; asking for the server's own configuration is also audited (a DENIED
    row): the most telling probe there is leaves a trace."""
    try:
        check_request(profile, keys)
    except ValidationError:
        server_own = [key for key in keys or () if KEY_PATTERN.match(key)
                      and is_server_configuration(key)]
        if server_own:
            with transaction.atomic():
                log.record(AuditAction.DENIED, user=_actor(user), allowed=False, detail={
                    "attempted": VIA, "reason": "asked for the server's own configuration",
                    "keys": server_own[:50]}, **target)
        raise


def _actor(user):
    return user if user is not None and user.is_authenticated else None


def _record(user, profile: str, served: dict[str, Resolution], missing: list[str]) -> None:
    stored = {key: r.origin.pk for key, r in served.items() if isinstance(r.origin, Secret)}
    detail = {"via": VIA, "served": {key: r.source for key, r in served.items()}}
    inherited = sorted(key for key, r in served.items() if r.answered_in not in (None, profile))
    if inherited:
        detail["from_default"] = inherited
    if missing:
        detail["missing"] = missing
    if stored:
        detail["secret_ids"] = [str(pk) for pk in stored.values()]
    # Its own transaction, committed (record() opens it): an outer atomic block here would
    # only add a savepoint and its release, two more round trips on every request.
    # detail.secret_ids is indexed for the audit filter by secret (audit_app/log.py).
    log.record(AuditAction.DECRYPT, user=user, secret_name=_row_name(served, missing),
               secret_profile=profile, detail=detail)


def _row_name(served: dict, missing: list) -> str:
    """What the audit list shows in its secret column: the keys served, as far as they fit."""
    keys = list(served) or missing
    name = f"{VIA}: {', '.join(keys)}" if keys else f"{VIA}: none"
    return name if len(name) <= 255 else name[:254] + "…"


def _refuse(user, access: Access, refused: list[dict], target: dict) -> None:
    reason = refusal_reason(access, [(item["profile"], item.get("key")) for item in refused])
    keys = [item["key"] for item in refused if "key" in item]
    detail = {"reason": reason, "via": VIA}
    if keys:  # the first 50 by name, and how many there were
        detail["keys"] = keys[:50]
        detail["keys_refused"] = len(keys)
    with transaction.atomic():
        log.record(AuditAction.DECRYPT, user=_actor(user), allowed=False, detail=detail,
                   **target)
    raise CredentialsRefused(refused[:50], reason)
