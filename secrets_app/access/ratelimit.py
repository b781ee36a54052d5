"""The decrypt rate limit (R10.3, R10.4): at most N decrypts by a user in any period (10 in
any 60 s by default), counted in Django's cache so it holds across processes when the cache
is Redis, and shared by API, console and commands.

A sliding window of one-second buckets: the attempt increments its second's counter (an atomic
cache incr), then the other buckets of the window are read with one get_many. Counting the
extra bucket makes the limit strict: no span of `period` seconds ever holds more than N
granted decrypts. Kept in the service layer rather than on views so every way to decrypt
shares one budget and a refused attempt is audited with the rest.

The cache's connection errors are not caught here: a window that cannot be counted is not
"within the limit", so the caller refuses (services._admit_decrypt, R17.19).
"""

import math
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\w*\s*$")
MAX_BUCKETS = 120  # longer periods count in coarser buckets: one get_many stays small


def parse_rate(rate: str, setting: str = "SECRETS_DECRYPT_RATE") -> tuple[int, int]:
    """'10/m' -> (10, 60); '100/5m' -> (100, 300). `setting` names where the rate came from."""
    match = RATE.match(rate or "")
    if not match:
        raise ImproperlyConfigured(
            f"{setting} must look like 10/m, 100/h or 5/30s, not {rate!r}."
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
    retry_after: int  # seconds until an attempt would be allowed again


# Sign-ins use django-ratelimit (access/signin.py); the decrypt limit keeps this strict sliding
# window because R10.3 promises at most N decrypts in ANY span of the period, which a fixed
# window like django-ratelimit's breaks at each window's edge (up to 2N in a short span).
def hit(scope: str, user_id, rate: str | None = None) -> Usage:
    """Count one attempt for this user (or any key) and say whether it is within the limit
    (SECRETS_DECRYPT_RATE unless `rate` is given). Refused attempts count too, so hammering
    does not shorten the wait."""
    return _window(scope, user_id, rate or settings.SECRETS_DECRYPT_RATE)


def _window(scope: str, user_id, rate: str) -> Usage:
    limit, period = parse_rate(rate)
    width = max(1, -(-period // MAX_BUCKETS))  # seconds per bucket
    buckets = period // width + 1
    moment = now()
    current = int(moment // width)
    prefix = f"kozmo:rate:{scope}:{user_id}:{period}"
    # incr answers this attempt's own place in the current bucket, so concurrent attempts
    # (other processes included) each get a distinct count: exactly `limit` are granted.
    key = f"{prefix}:{current}"
    cache.add(key, 0, timeout=period + 2 * width)
    try:
        own = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=period + 2 * width)
        own = 1
    # The other buckets are read AFTER this attempt is counted, the next one too: of two
    # attempts in different buckets, the later to count always sees the earlier (read
    # first, both could miss each other at a bucket's edge and both pass).
    earlier = [f"{prefix}:{bucket}" for bucket in range(current - buckets + 1, current)]
    following = f"{prefix}:{current + 1}"
    found = cache.get_many([*earlier, following])
    counts = [int(found.get(name, 0)) for name in earlier]
    counts.append(own + int(found.get(following, 0)))
    total = sum(counts)
    if total <= limit:
        return Usage(True, total, limit, 0)
    # Wait until enough of the oldest buckets have left the window: dropping the oldest
    # `dropped` buckets happens when the bucket index reaches current + dropped.
    remaining, dropped = total, 0
    for count in counts:
        remaining -= count
        dropped += 1
        if remaining < limit:
            break
    retry_after = math.ceil((current + dropped) * width - moment)
    return Usage(False, total, limit, max(1, retry_after))
