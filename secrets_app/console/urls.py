"""The console's routes. The secrets pages are named in the "secrets" namespace
(secrets:list, ...); catalog, settings and token-revoke keep their un-namespaced names, as
before they moved here from the project's urls.py."""

from django.urls import include, path

from secrets_app.console import views

secret_patterns = [
    path("secrets/", views.secret_list, name="list"),
    path("secrets/new/", views.secret_create, name="create"),
    path("secrets/import/", views.secret_import, name="import"),
    path("secrets/<uuid:pk>/edit/", views.secret_edit, name="edit"),
    path("secrets/<uuid:pk>/delete/", views.secret_delete, name="delete"),
    path("secrets/<uuid:pk>/decrypt/", views.secret_decrypt, name="decrypt"),
    path("secrets/<uuid:pk>/masked/", views.secret_masked, name="masked"),
    path("secrets/<uuid:pk>/versions/", views.secret_versions_dialog, name="versions"),
    path("secrets/<uuid:pk>/versions/<int:number>/restore/", views.secret_restore,
         name="restore"),
    # Settings for admins (R18, R19), named with the secrets pages: access is about them.
    path("settings/access/", views.access_page, name="access"),
    path("settings/access/<int:pk>/remove/", views.access_remove, name="access-remove"),
    path("settings/service-tokens/", views.service_tokens_page, name="service-tokens"),
    path("settings/service-tokens/<int:pk>/revoke/", views.service_token_revoke,
         name="service-token-revoke"),
]

urlpatterns = [
    path("", include((secret_patterns, "secrets"))),
    path("catalog/", views.catalog, name="catalog"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
]
