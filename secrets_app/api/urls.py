from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from secrets_app.api import views

router = SimpleRouter()
router.trailing_slash = "/?"  # every route with or without the trailing slash (R8)
router.register("secrets", views.SecretViewSet, basename="secret")
router.register("audit", views.AuditLogViewSet, basename="audit")
router.register("tokens", views.ApiTokenViewSet, basename="token")
router.register("grants", views.GrantViewSet, basename="grant")
router.register("service-tokens", views.ServiceTokenViewSet, basename="service-token")

# Included at api/: reverse("api:secret-list"), and the schema and its Swagger UI, which
# describe this API, are api:schema and api:docs.
app_name = "api"
urlpatterns = [
    path("v1/", include(router.urls)),
    re_path(r"^v1/credentials/?$", views.CredentialsView.as_view(), name="credentials"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script (CSP).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
