"""JSON for every 404 under /api/, also when DEBUG would render Django's HTML page."""

from secrets_app.api.exceptions import api_not_found


class ApiNotFoundMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 404
            and request.path.startswith("/api/")
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return api_not_found(request)
        return response
