from django.urls import path

from . import views

app_name = "secrets"

urlpatterns = [
    path("secrets/", views.secret_list, name="list"),
]
