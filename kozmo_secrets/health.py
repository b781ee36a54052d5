"""`/healthz` for load balancers: the database and the cache answer. No auth, no data."""

import logging

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

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
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "unavailable", **checks},
                        status=200 if healthy else 503)
