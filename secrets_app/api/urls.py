from django.urls import include, path
from rest_framework.routers import SimpleRouter

from secrets_app.api import views

router = SimpleRouter()
router.trailing_slash = "/?"  # every route with or without the trailing slash (R8)
router.register("secrets", views.SecretViewSet, basename="secret")
router.register("audit", views.AuditLogViewSet, basename="audit")
router.register("tokens", views.ApiTokenViewSet, basename="token")

urlpatterns = [path("", include(router.urls))]
