"""Service tokens (R19): create (the key shown once), authenticate, revoke. Audited.

A request made with one acts as a ServicePrincipal: not a user, holding no Django permission,
whose `service_token` the access policy reads. Its audit rows name the token and, as the
actor, the person who created it. Each token has its own request budget
(SECRETS_SERVICE_TOKEN_RATE, counted by django-ratelimit) instead of the people's decrypt
limit.
"""

import ipaddress
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_ratelimit import ALL
from django_ratelimit.core import get_usage

from audit_app import log
from audit_app.models import AuditAction
from secrets_app.access.models import ServiceToken
from secrets_app.access.ratelimit import parse_rate
from secrets_app.access.tokens import MAX_LIFETIME_DAYS, digest_of, revoke_once
from secrets_app.constants import KEY_MAX_LENGTH
from secrets_app.constants import profiles as configured_profiles
from secrets_app.shared_cache import CACHE_ERRORS, require_shared_cache

SERVICE_KEY_PREFIX = "kzsvc_"
DEFAULT_LIFETIME_DAYS = 90
MAX_PATTERNS = 50
MAX_NETWORKS = 50
RATE_GROUP = "kozmo.service-token"
REFUSED_GROUP = "kozmo.service-token.refused"
# Keys are UPPER_SNAKE; a pattern adds the wildcards * (any run) and ? (one character).
PATTERN_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_*?")


class ServicePrincipal(AnonymousUser):
    """The caller behind a service token. An AnonymousUser underneath (no id, no groups, no
    permissions, cannot sign in), but authenticated: DRF's IsAuthenticated lets it reach the
    views, and the access policy limits it to its scope."""

    def __init__(self, token: ServiceToken):
        self.service_token = token

    @property
    def is_anonymous(self):
        return False

    @property
    def is_authenticated(self):
        return True

    def get_username(self):
        return f"service token {self.service_token.name}"

    def __str__(self):
        return self.get_username()

    def __eq__(self, other):
        return isinstance(other, ServicePrincipal) and other.service_token == self.service_token

    def __hash__(self):
        return hash(("service", self.service_token.pk))

    def audit_as(self):
        """Who the audit row names (the creator) and what it adds (the token)."""
        token = self.service_token
        return token.created_by, {"service_token": token.name, "token": token.prefix}


class ServiceTokenThrottled(Exception):
    """The token's own request budget is spent (answered 429 with Retry-After)."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__("Rate limit exceeded. Try again later.")


class WrongNetwork(Exception):
    """The request comes from outside the token's allowed networks (answered 403)."""


# --- checking what is asked for ---------------------------------------------------------


def _clean_profiles(profiles) -> list[str]:
    if isinstance(profiles, str) or not isinstance(profiles, list | tuple) or not profiles:
        raise ValidationError({"profiles": "Choose at least one profile the token may read, "
                                           f"from {', '.join(configured_profiles())}."})
    configured = configured_profiles()
    unknown = [str(p)[:40] for p in profiles if p not in configured]
    if unknown:
        raise ValidationError({"profiles": f"Unknown profile {', '.join(map(repr, unknown))}: "
                                           f"add it to SECRETS_PROFILES, or use "
                                           f"{', '.join(configured)}."})
    return sorted(set(profiles), key=configured.index)


def _clean_patterns(patterns) -> list[str]:
    if patterns is None:
        return []
    if isinstance(patterns, str) or not isinstance(patterns, list | tuple):
        raise ValidationError({"keys": "A list of key patterns, e.g. [\"POSTGRES_*\"]."})
    if len(patterns) > MAX_PATTERNS:
        raise ValidationError({"keys": f"At most {MAX_PATTERNS} key patterns."})
    cleaned = []
    for pattern in patterns:
        if (not isinstance(pattern, str) or not pattern or len(pattern) > KEY_MAX_LENGTH
                or not set(pattern) <= PATTERN_CHARACTERS):
            raise ValidationError({"keys": (
                f"{str(pattern)[:60]!r} is not a key pattern: use capital letters, digits, "
                "underscores and the wildcards * and ?, e.g. POSTGRES_*.")})
        cleaned.append(pattern)
    return sorted(set(cleaned))


def _clean_networks(networks) -> list[str]:
    if networks is None:
        return []
    if isinstance(networks, str) or not isinstance(networks, list | tuple):
        raise ValidationError({"allowed_networks": "A list of networks, e.g. [\"10.0.0.0/8\"]."})
    if len(networks) > MAX_NETWORKS:
        raise ValidationError({"allowed_networks": f"At most {MAX_NETWORKS} networks."})
    cleaned = []
    for network in networks:
        try:
            parsed = ipaddress.ip_network(str(network).strip(), strict=False)
            if parsed.version == 6 and parsed.network_address.ipv4_mapped:
                # Clients are matched as IPv4 (middleware unmaps them): this would never match.
                raise ValidationError({"allowed_networks": (
                    f"{str(network)[:60]!r} is an IPv4 network written as IPv6: write it as "
                    "IPv4, e.g. 10.0.0.0/8.")})
            cleaned.append(str(parsed))
        except ValueError:
            raise ValidationError({"allowed_networks": (
                f"{str(network)[:60]!r} is not a network: write an address or a CIDR such as "
                "10.0.0.0/8 or 2001:db8::/32.")}) from None
    return sorted(set(cleaned))


def _clean_name(name) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        raise ValidationError({"name": "Give the token a name: the program using it."})
    if len(name) > 100:
        raise ValidationError({"name": "The name can be at most 100 characters."})
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ValidationError({"name": "The name cannot contain control characters."})
    return name


# --- the service ------------------------------------------------------------------------


def create_service_token(creator, *, name, profiles, keys=None, allowed_networks=None,
                         expires_in_days: int | None = DEFAULT_LIFETIME_DAYS,
                         not_after=None) -> tuple[ServiceToken, str]:
    """A new service token and its key (shown now or never). Admins only (the caller checks
    who asks: the API and console by permission, the command is the operator). `not_after`
    caps the expiry: a token made with an admin's expiring API token expires with it, so a
    leaked short-lived key cannot mint lasting access."""
    cleaned, errors = {}, {}
    # Every field is checked, so one answer names everything to fix.
    for field, clean, given in (("name", _clean_name, name),
                                ("profiles", _clean_profiles, profiles),
                                ("key_patterns", _clean_patterns, keys),
                                ("allowed_networks", _clean_networks, allowed_networks)):
        try:
            cleaned[field] = clean(given)
        except ValidationError as error:
            errors.update(error.message_dict)
    if expires_in_days is not None and (
            isinstance(expires_in_days, bool) or not isinstance(expires_in_days, int)
            or not 1 <= expires_in_days <= MAX_LIFETIME_DAYS):
        errors["expires_in_days"] = [
            f"Choose between 1 and {MAX_LIFETIME_DAYS} days, or none (null) for a token that "
            "never expires."]
    if errors:
        raise ValidationError(errors)
    key = SERVICE_KEY_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    expires_at = now + timedelta(days=expires_in_days) if expires_in_days else None
    if not_after is not None and (expires_at is None or expires_at > not_after):
        expires_at = not_after
    with transaction.atomic():
        token = ServiceToken.objects.create(
            **cleaned, prefix=key[:14], digest=digest_of(key), created_by=creator,
            created_at=now, expires_at=expires_at,
        )
        log.record(AuditAction.SERVICE_TOKEN_CREATE, user=creator, detail={
            "service_token": token.name, "token": token.prefix, "profiles": token.profiles,
            "keys": token.key_patterns, "allowed_networks": token.allowed_networks,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        })
    return token, key


def revoke_service_token(token: ServiceToken, user) -> bool:
    """Revoke it now; of two revokes at once one writes the audit row. Answers whether this
    call revoked it."""
    return revoke_once(token, AuditAction.SERVICE_TOKEN_REVOKE, user,
                       {"service_token": token.name, "token": token.prefix})


def is_service_key(key: str) -> bool:
    return key.startswith(SERVICE_KEY_PREFIX)


def authenticate_service_key(key: str) -> ServiceToken | None:
    """The usable token for this key, or None."""
    token = ServiceToken.objects.select_related("created_by").filter(
        digest=digest_of(key)).first()
    if token is None or not token.is_usable():
        return None
    return token


def check_network(token: ServiceToken, ip_address: str | None) -> None:
    """Raise WrongNetwork unless the client's address is in one of the token's networks."""
    if not token.allowed_networks:
        return
    try:
        address = ipaddress.ip_address(ip_address or "")
    except ValueError:
        raise WrongNetwork() from None
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    for network in token.allowed_networks:
        if address in ipaddress.ip_network(network, strict=False):
            return
    raise WrongNetwork()


def first_refusal_in_window(token: ServiceToken, seconds: int) -> bool:
    """True for the first request refused for a spent budget until the budget comes back:
    that one is audited (DENIED), the rest of a flood are not, so a leaked key cannot fill
    the append-only log. Without the cache, each refusal is audited."""
    try:
        return cache.add(f"kozmo:service-token:throttled:{token.pk}", 1, timeout=max(1, seconds))
    except CACHE_ERRORS:
        return True


def charge_request(token: ServiceToken, group: str = RATE_GROUP) -> None:
    """Count one request against the token's own budget; raise ServiceTokenThrottled past it.
    The shared cache must count it (fail closed, R17.19). Requests refused for their address
    count in a budget of their own (REFUSED_GROUP): a leaked key used from elsewhere can
    neither spend the program's budget nor flood the audit log."""
    rate = parse_rate(settings.SECRETS_SERVICE_TOKEN_RATE, setting="SECRETS_SERVICE_TOKEN_RATE")
    with require_shared_cache("A service token's request"):
        usage = get_usage(None, group=group, key=lambda group, request: str(token.pk),
                          rate=rate, method=ALL, increment=True)
    if usage is not None and usage["should_limit"]:
        raise ServiceTokenThrottled(max(1, usage["time_left"]))

