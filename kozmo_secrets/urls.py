from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views import defaults
from django.views.generic import RedirectView

from kozmo_secrets.health import healthz
from secrets_app.access.forms import SignInForm
from secrets_app.api.exceptions import api_server_error

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="secrets:list", permanent=False), name="home"),
    path("accounts/login/",
         auth_views.LoginView.as_view(authentication_form=SignInForm),
         name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("secrets_app.api.urls")),  # api/v1/, api/schema/, api/docs/
    path("healthz", healthz, name="healthz"),
    path("", include("secrets_app.console.urls")),
    path("audit/", include("audit_app.urls")),
]


handler403 = "kozmo_secrets.errors.permission_denied"


def handler500(request):
    if request.path.startswith("/api/"):
        return api_server_error(request)
    return defaults.server_error(request)
