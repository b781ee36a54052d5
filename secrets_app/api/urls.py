from django.urls import include, path
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.routers import SimpleRouter

from audit_app import api as audit_api
from secrets_app.api import views


# audit_app knows nothing of this package; here its viewset gets the house error responses.
@extend_schema_view(
    list=extend_schema(responses={200: audit_api.AuditLogSerializer(many=True),
                                  **views.errors(400, 401, 403, 404)}),
    retrieve=extend_schema(responses={200: audit_api.AuditLogSerializer,
                                      **views.errors(401, 403, 404)}),
)
class AuditLogViewSet(audit_api.AuditLogViewSet):
    pass


router = SimpleRouter()
router.trailing_slash = "/?"  # every route with or without the trailing slash (R8)
router.register("secrets", views.SecretViewSet, basename="secret")
router.register("audit", AuditLogViewSet, basename="audit")
router.register("tokens", views.ApiTokenViewSet, basename="token")

urlpatterns = [path("", include(router.urls))]
