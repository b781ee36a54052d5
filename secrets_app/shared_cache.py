"""When the shared cache (Redis) cannot be reached (R17.19).

Redis holds only counters and cached counts, so reads and writes go on without it. What needs
the shared counters to be safe fails closed instead: decrypts (the R10.3 limit) and sign-ins
(the sign-in throttle) raise CacheUnavailable, which the API and the console answer with a 503
that names the cache.
"""

from contextlib import contextmanager

from redis.exceptions import RedisError

# Django's Redis backend raises redis-py's errors; a refused or reset socket can surface as
# OSError. The local-memory cache never fails.
CACHE_ERRORS = (RedisError, OSError)


class CacheUnavailable(Exception):
    """A limit that must be counted in the shared cache cannot be: refuse, do not guess."""

    def __init__(self, what: str):
        self.what = what
        super().__init__(
            f"{what} is unavailable: the shared cache (REDIS_URL) cannot be reached, so its "
            "limit cannot be enforced. Try again when the cache is back."
        )


@contextmanager
def require_shared_cache(what: str):
    """Turn the cache backend's connection errors into CacheUnavailable(what)."""
    try:
        yield
    except CACHE_ERRORS as error:
        raise CacheUnavailable(what) from error
