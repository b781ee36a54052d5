"""`/healthz` for load balancers: the database and the cache answer, the configured keys open
what is stored. No auth, no data. `cache_scope` says whether the rate limits hold across
processes ("shared") or count per process ("per-process": no REDIS_URL); it is information,
not a failure."""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from kozmo_secrets.deployment import cache_scope
from secrets_app.keycheck import WRONG_KEY, key_status

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request):
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:  # any failure means "not healthy"; the detail goes to the log only
        logger.exception("health check: database unreachable")
        checks["database"] = "unreachable"
    # The client reconnects on its own (and gives up after SECRETS_CACHE_TIMEOUT_SECONDS), so
    # this says "ok" again as soon as Redis is back, with no restart (R17.19).
    try:
        cache.set("kozmo:healthz", "ok", 10)
        checks["cache"] = "ok" if cache.get("kozmo:healthz") == "ok" else "unreachable"
    except Exception as error:  # any failure means "not healthy"
        # One line per probe, not a traceback: load balancers probe every few seconds.
        logger.warning("health check: cache unreachable: %s", error)
        checks["cache"] = "unreachable"
    # The keys open what is stored ("ok" too when nothing is stored yet), or "wrong key".
    if checks["database"] == "ok":
        checks["keys"] = "wrong key" if key_status() == WRONG_KEY else "ok"
    else:
        checks["keys"] = "unknown"
    healthy = all(value == "ok" for value in checks.values())
    checks["cache_scope"] = cache_scope(settings.CACHES["default"])
    return JsonResponse({"status": "ok" if healthy else "unavailable", **checks},
                        status=200 if healthy else 503)
