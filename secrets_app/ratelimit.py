"""The decrypt rate limit (R10.3, R10.4): N per period per user, counted in Django's cache, so
it holds across processes when the cache is Redis and is shared by API, console and commands.

Fixed windows aligned to the period (as django-ratelimit counts), kept in the service layer
rather than on views so that every way to decrypt shares one budget and a refused attempt can
be audited with the rest.
"""

import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\w*\s*$")


def parse_rate(rate: str) -> tuple[int, int]:
    """'10/m' -> (10, 60); '100/5m' -> (100, 300)."""
    match = RATE.match(rate or "")
    if not match:
        raise ImproperlyConfigured(
            f"SECRETS_DECRYPT_RATE must look like 10/m, 100/h or 5/30s, not {rate!r}."
        )
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * UNITS[unit]


def now() -> float:
    """The clock, separate so tests can move it."""
    return time.time()


@dataclass(frozen=True)
class Usage:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # seconds until the window ends


def hit(scope: str, user_id) -> Usage:
    """Count one attempt for this user and say whether it is within the limit."""
    limit, period = parse_rate(settings.SECRETS_DECRYPT_RATE)
    moment = now()
    window = int(moment // period)
    key = f"kozmo:rate:{scope}:{user_id}:{period}:{window}"
    cache.add(key, 0, timeout=period + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: this is the window's first hit
        cache.add(key, 1, timeout=period + 1)
        count = 1
    retry_after = max(1, int((window + 1) * period - moment + 0.999))
    return Usage(count <= limit, count, limit, retry_after)
