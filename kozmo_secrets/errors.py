"""Refusal pages that say the real reason (R17.18): a CSRF failure is an expired form or
blocked cookies, not a missing privilege. JSON under /api/; the console's 403 page and its
htmx toast (the X-Error-Message header) show the message of the refusal."""

from django.http import JsonResponse
from django.shortcuts import render

from secrets_app.access.permissions import ADMIN_REQUIRED

CSRF_FAILED = "Your form expired or cookies are blocked: reload the page and try again."
NOT_ALLOWED = "You are not allowed to do this."


def refusal(request, message: str, heading: str, admins_only: bool = False):
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=403)
    else:
        response = render(request, "403.html", {
            "heading": heading, "message": message,
            "admin_required": message == ADMIN_REQUIRED, "admins_only": admins_only,
        }, status=403)
    if message.isascii():
        response["X-Error-Message"] = message  # read by static/js/app.js for htmx requests
    return response


def csrf_failure(request, reason=""):
    """settings.CSRF_FAILURE_VIEW. Django's `reason` is for developers; this is for users."""
    return refusal(request, CSRF_FAILED, "Form expired")


def permission_denied(request, exception=None):
    """handler403: the page says the refusal's own message."""
    message = str(exception or "") or NOT_ALLOWED
    heading = message if message == ADMIN_REQUIRED else "Not allowed"
    # A page for admins only (Settings → Access, → Service tokens): no role would open it.
    return refusal(request, message, heading,
                   admins_only=getattr(exception, "admins_only", False))
