"""Security headers Django 5.2 does not set itself: a Content-Security-Policy without inline
scripts (the console's JavaScript is all in static files), a Permissions-Policy, and
`Cache-Control: no-store` on signed-in pages, so neither a cache nor the browser's
back-forward cache keeps a revealed value, a new token key, or a page after logout."""

from django.conf import settings
from django.utils.cache import add_never_cache_headers


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.SECRETS_CSP)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated
                and response.get("Content-Type", "").startswith("text/html")):
            add_never_cache_headers(response)
            response.headers["Cache-Control"] += ", no-store"
        return response
