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
    try:
        cache.set("kozmo:healthz", "ok", 10)
        checks["cache"] = "ok" if cache.get("kozmo:healthz") == "ok" else "unreachable"
    except Exception:
        logger.exception("health check: cache unreachable")
        checks["cache"] = "unreachable"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "unavailable", **checks},
                        status=200 if healthy else 503)
