"""List counts without a table scan per request: the count of each filtered list is kept in
the cache until the next change to any secret (or five minutes).

COUNT(*) is the one part of a list page that grows with the table (PostgreSQL counts rows,
it does not keep a total); the page itself comes from an index. Every write bumps a version
number (when made and again when committed), so a count is never served past a change made
through the application.
"""

import hashlib

from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import transaction
from django.utils.functional import cached_property

VERSION_KEY = "kozmo:secrets:version"
COUNT_SECONDS = 300


def _bump() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 2, None)


def secrets_changed() -> None:
    """Call inside the writing transaction. Bumped now (this transaction's own reads) and
    again at commit: a count cached by another reader in between is never served after."""
    _bump()
    transaction.on_commit(_bump)


def cached_count(queryset) -> int:
    version = cache.get_or_set(VERSION_KEY, 1, None)
    sql, params = queryset.query.sql_with_params()
    digest = hashlib.sha256(f"{version}|{sql}|{params!r}".encode()).hexdigest()
    key = f"kozmo:count:{digest}"
    count = cache.get(key)
    if count is None:
        count = queryset.count()
        cache.set(key, count, COUNT_SECONDS)
    return count


class CachedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        return cached_count(self.object_list)
