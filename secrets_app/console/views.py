"""The console (HTMX, R3.4 to R4.6, R2.3, R2.4, R6.5, R13 to R15). Thin views over services.

Full URLs render whole pages; htmx requests get a named partial of the same template. Invalid
forms re-render inside their dialog with status 200 (htmx 2 does not swap 4xx answers); a
successful change answers 204 with HX-Trigger events that close the dialog and refresh the
table.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_cache_control
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from kozmo_secrets.htmx import render_page_or_partial
from secrets_app.access.models import ApiToken
from secrets_app.access.permissions import is_secrets_admin
from secrets_app.access.tokens import create_token, revoke_token
from secrets_app.console.forms import ImportForm, SecretForm, TokenForm
from secrets_app.constants import CONFIG_KEY_GROUPS, ConfigKey, SecretProfile
from secrets_app.filters import SecretFilter
from secrets_app.formats.entries import InvalidImport
from secrets_app.keycheck import KeyCheckFailed
from secrets_app.list_counts import CachedCountPaginator
from secrets_app.models import Secret
from secrets_app.services.bulk import IMPORT_RATE_LIMITED, ImportConflict, import_file
from secrets_app.services.reveal import DecryptFailed, RateLimited, decrypt_secret
from secrets_app.services.secrets import (
    VersionNotFound,
    create_secret,
    delete_secret,
    restore_version,
    update_secret,
)
from secrets_app.shared_cache import CacheUnavailable
from secrets_app.sources.chain import configured_sources, locate_all

PAGE_SIZE = 50


def admin_only(view):
    """Non-admins are refused by the server, whatever the page showed them (R3.6, R2.2)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_secrets_admin(request.user):
            raise PermissionDenied("Admin privileges required")
        return view(request, *args, **kwargs)

    return wrapper


def changed(response: HttpResponse, message: str) -> HttpResponse:
    """Tell the page: refresh the table and show a note, then close the dialog. (In this
    order: the events start at the element that asked, which closing removes.)"""
    trigger_client_event(response, "secrets-changed", {"message": message})
    trigger_client_event(response, "close-dialog")
    return response


def _secret(pk) -> Secret:
    return get_object_or_404(Secret.objects.select_related("ssh_tunnel"), pk=pk)


# --- the table ------------------------------------------------------------------------------


@login_required
@require_GET
def secret_list(request):
    filters = SecretFilter(
        request.GET, queryset=Secret.objects.select_related("ssh_tunnel").order_by(
            "name", "profile")
    )
    page = CachedCountPaginator(filters.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page, "filters": filters.form, "query": query.urlencode(),
        "filtered": any(request.GET.get(name) for name in ("search", "category", "profile")),
    }
    return render_page_or_partial(request, "secrets/list.html", "rows", context)


@login_required
@require_GET
def secret_masked(request, pk):
    """The masked cell, which the revealed value swaps itself back into (R2.4)."""
    return render(request, "secrets/list.html#masked", {"secret": _secret(pk)})


@login_required
@require_POST
def secret_decrypt(request, pk):
    """The value in the row for SECRETS_REVEAL_SECONDS, then it removes itself (R2.3, R2.4)."""
    secret = _secret(pk)
    context = {"secret": secret, "reveal_seconds": settings.SECRETS_REVEAL_SECONDS}
    try:
        context["plaintext"] = decrypt_secret(secret, request.user)
    except RateLimited as error:
        context["problem"] = f"Rate limit reached: try again in {error.retry_after} s."
    except (CacheUnavailable, KeyCheckFailed) as error:
        # In the row, like the rate limit: htmx 2 would not swap a 503 into the page.
        context["problem"] = str(error)
    except DecryptFailed:
        context["problem"] = "Failed to decrypt secret (the key that wrote it is missing)."
    response = render(request, "secrets/list.html#revealed", context)
    patch_cache_control(response, no_store=True)
    return response


# --- dialogs: create, edit, delete, import, versions ----------------------------------------


def _form_dialog(request, form, secret=None):
    return render(request, "secrets/dialogs.html#secret-form", {
        "form": form, "secret": secret, "config_keys": ConfigKey.values,
    })


@sensitive_variables("form")
@sensitive_post_parameters("value", "ssh_password", "ssh_private_key")
@login_required
@admin_only
def secret_create(request):
    if request.method != "POST":
        return _form_dialog(request, SecretForm())
    form = SecretForm(request.POST)
    if form.is_valid():
        try:
            secret = create_secret(request.user, **form.service_fields())
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return changed(HttpResponse(status=204), f"Created {secret.name}.")
    return _form_dialog(request, form)


@sensitive_variables("form")
@sensitive_post_parameters("value", "ssh_password", "ssh_private_key")
@login_required
@admin_only
def secret_edit(request, pk):
    secret = _secret(pk)
    if request.method != "POST":
        return _form_dialog(request, SecretForm.for_secret(secret), secret)
    form = SecretForm(request.POST, editing=True)
    if form.is_valid():
        fields = form.service_fields()
        try:
            update_secret(secret, request.user, **fields)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return changed(HttpResponse(status=204), f"Saved {fields['name']}.")
    return _form_dialog(request, form, secret)


def _add_errors(form, error: ValidationError) -> None:
    for field, messages in error.message_dict.items():
        target = field if field in form.fields else (
            f"ssh_{field}" if f"ssh_{field}" in form.fields else None)
        for message in messages:
            form.add_error(target, message)


@login_required
@admin_only
def secret_delete(request, pk):
    secret = _secret(pk)
    if request.method != "POST":
        return render(request, "secrets/dialogs.html#delete", {"secret": secret})
    delete_secret(secret, request.user)
    return changed(HttpResponse(status=204), f"Deleted {secret.name} ({secret.profile}).")


@login_required
@admin_only
def secret_import(request):
    if request.method != "POST":
        return render(request, "secrets/dialogs.html#import", {"form": ImportForm()})
    form = ImportForm(request.POST, request.FILES)
    context = {"form": form}
    if form.is_valid():
        try:
            context["summary"] = import_file(
                form.cleaned_data["file"], user=request.user,
                profile=form.cleaned_data["profile"] or None,
                dry_run=form.cleaned_data["dry_run"],
                filename=form.cleaned_data["file"].name,
            )
        except (InvalidImport, ImportConflict) as error:
            form.add_error("file", str(error))
        except RateLimited as error:
            form.add_error(None, IMPORT_RATE_LIMITED.format(seconds=error.retry_after))
    response = render(request, "secrets/dialogs.html#import", context)
    if "summary" in context and not context["summary"].dry_run:
        trigger_client_event(response, "secrets-changed", {"message": "Import finished."})
    return response


@login_required
@admin_only
def secret_versions(request, pk):
    secret = _secret(pk)
    versions = secret.versions.select_related("created_by").order_by("-number")
    return render(request, "secrets/dialogs.html#versions",
                  {"secret": secret, "versions": versions})


@login_required
@admin_only
@require_POST
def secret_restore(request, pk, number):
    secret = _secret(pk)
    try:
        restore_version(secret, number, request.user)
    except VersionNotFound as error:
        return HttpResponse(str(error), status=404)
    return changed(HttpResponse(status=204), f"Restored version {number} of {secret.name}.")


# --- catalog and settings -------------------------------------------------------------------


@login_required
@require_GET
def catalog(request):
    """Every known key by service and, per profile, which source answers — never a value."""
    profiles = SecretProfile.values
    sources = locate_all(ConfigKey.values, profiles)
    labels = {None: "missing", "config_file": "config file"}
    groups = [
        (group, [
            (key, [(sources[(key, p)] or "missing", labels.get(sources[(key, p)],
                                                             sources[(key, p)]))
                   for p in profiles])
            for key in keys
        ])
        for group, keys in CONFIG_KEY_GROUPS.items()
    ]
    return render(request, "catalog/catalog.html", {
        "groups": groups, "profiles": profiles, "sources": configured_sources(),
    })


@login_required
def settings_page(request):
    """The user's API tokens (R14): create (the key shown once), list, revoke."""
    context = {"form": TokenForm()}
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            try:
                context["new_token"], context["new_key"] = create_token(
                    request.user, form.cleaned_data["name"],
                    form.cleaned_data["expires_in_days"],
                )
            except ValidationError as error:
                for message in error.messages:
                    form.add_error(None, message)
                context["form"] = form
        else:
            context["form"] = form
    context["tokens"] = ApiToken.objects.of_user(request.user)
    response = render_page_or_partial(request, "settings/settings.html", "tokens", context)
    if "new_key" in context:
        patch_cache_control(response, no_store=True)
    return response


@login_required
@require_POST
def token_revoke(request, pk):
    revoke_token(get_object_or_404(ApiToken, pk=pk, user=request.user), request.user)
    tokens = ApiToken.objects.of_user(request.user)
    return render(request, "settings/settings.html#tokens",
                  {"tokens": tokens, "form": TokenForm()})
