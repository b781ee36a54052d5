from django.urls import path

from secrets_app.console import views

app_name = "secrets"

urlpatterns = [
    path("secrets/", views.secret_list, name="list"),
    path("secrets/new/", views.secret_create, name="create"),
    path("secrets/import/", views.secret_import, name="import"),
    path("secrets/<uuid:pk>/edit/", views.secret_edit, name="edit"),
    path("secrets/<uuid:pk>/delete/", views.secret_delete, name="delete"),
    path("secrets/<uuid:pk>/decrypt/", views.secret_decrypt, name="decrypt"),
    path("secrets/<uuid:pk>/masked/", views.secret_masked, name="masked"),
    path("secrets/<uuid:pk>/versions/", views.secret_versions, name="versions"),
    path("secrets/<uuid:pk>/versions/<int:number>/restore/", views.secret_restore,
         name="restore"),
]
