"""The console (HTMX). For now: the masked secrets table; the full console comes with issue 5."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from .models import Secret


@login_required
def secret_list(request):
    secrets = Secret.objects.only(
        "id", "name", "key", "category", "profile", "created_at"
    ).order_by("name", "profile")
    page = Paginator(secrets, 50).get_page(request.GET.get("page"))
    return render(request, "secrets/list.html", {"page": page})
