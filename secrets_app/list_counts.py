"""List counts without a table scan per request: the count of each filtered list is kept in
the cache until the next change to any secret (or five minutes).

COUNT(*) is the one part of a list page that grows with the table (PostgreSQL counts rows,
it does not keep a total); the page itself comes from an index.

A cached count is found under a key made of the filter's SQL and two marks of "the latest
change", so a count is never served past a change:
- the database's own: the newest audit row of each action that changes what a list counts.
  Every create, update and delete (console, API, admin, import) writes one in its own
  transaction (R10.1), so this mark moves even when the cache could not be told: a write made
  while Redis was down is seen by every process as soon as Redis is back (R17.19). The hash
  of the row is part of the mark, so a rolled-back write's sequence number, reused by the
  next write, does not bring back a count made inside the rolled-back transaction.
- the cache's version number, bumped by secrets_changed(): for bulk paths that write no audit
  row per secret (benchmarks, tests).
The cache is only an optimisation: when it cannot be reached, counts come from the database
and writes go on (R17.19).
"""

import hashlib
import logging

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Subquery
from django.utils.functional import cached_property

from audit_app.models import AuditAction, AuditChainHead, AuditLog
from secrets_app.shared_cache import CACHE_ERRORS

logger = logging.getLogger(__name__)

VERSION_KEY = "kozmo:secrets:version"
COUNT_SECONDS = 300
# Actions whose rows mark a change to the set of secrets a filtered list counts (restores and
# rotations change values only; an import writes CREATE and UPDATE rows per secret).
COUNT_CHANGING_ACTIONS = (AuditAction.CREATE, AuditAction.UPDATE, AuditAction.DELETE)


def _bump() -> None:
    try:
        try:
            cache.incr(VERSION_KEY)
        except ValueError:
            cache.set(VERSION_KEY, 2, None)
    except CACHE_ERRORS as error:
        # The write goes on: the audit row it writes moves the database mark of every count.
        logger.warning("List count cache unreachable, version not bumped: %s", error)


def secrets_changed() -> None:
    """Call inside the writing transaction. Bumped now (this transaction's own reads) and
    again at commit: a count cached by another reader in between is never served after."""
    _bump()
    transaction.on_commit(_bump)


def last_change_mark() -> tuple | None:
    """The hash of the newest audit row of each count-changing action, in one query: three
    index lookups (audit_action_newest) as subqueries of the chain head's one row. None when
    nothing was ever audited. A hash names its row's place in the chain, so it also tells a
    row apart from one a rolled-back write had numbered the same."""
    newest = {
        action.lower(): Subquery(
            AuditLog.objects.filter(action=action).order_by("-sequence").values("entry_hash")[:1]
        )
        for action in COUNT_CHANGING_ACTIONS
    }
    return AuditChainHead.objects.annotate(**newest).values_list(*newest).first()


def cached_count(queryset) -> int:
    # The mark is read before counting, so a count is never older than the mark it is filed
    # under (a write committing in between only makes it newer).
    mark = last_change_mark()
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # a filter that can match nothing (e.g. `key IN ()`)
        return 0
    try:
        version = cache.get_or_set(VERSION_KEY, 1, None)
        digest = hashlib.sha256(f"{version}|{mark!r}|{sql}|{params!r}".encode()).hexdigest()
        key = f"kozmo:count:{digest}"
        count = cache.get(key)
    except CACHE_ERRORS as error:
        logger.warning("List count cache unreachable, counting in the database: %s", error)
        return queryset.count()
    if count is None:
        count = queryset.count()
        try:
            cache.set(key, count, COUNT_SECONDS)
        except CACHE_ERRORS as error:
            logger.warning("List count cache unreachable, count not kept: %s", error)
    return count


class CachedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        return cached_count(self.object_list)
