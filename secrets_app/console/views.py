"""The console (HTMX, R3.4 to R4.6, R2.3, R2.4, R6.5, R13 to R15, R18, R19, R21.1). Thin views
over services.

Full URLs render whole pages; htmx requests get a named partial of the same template. Invalid
forms re-render inside their dialog with status 200 (htmx 2 does not swap 4xx answers); a
successful change answers 204 with HX-Trigger events that close the dialog and refresh the
table.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_cache_control
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from kozmo_secrets.htmx import render_page_or_partial, wants_partial
from secrets_app.access.grants import add_grant, all_grants, find_subject, remove_grant
from secrets_app.access.models import ApiToken, ProfileGrant, ServiceToken
from secrets_app.access.permissions import AdminRequired
from secrets_app.access.policy import record_refusal
from secrets_app.access.reauth import (
    confirm_password,
    needs_reauth,
    needs_reauth_any,
    reaches_protected,
    session_is_stale,
)
from secrets_app.access.service_tokens import create_service_token, revoke_service_token
from secrets_app.access.signin import LoginThrottled
from secrets_app.access.tokens import create_token, revoke_token
from secrets_app.console.context_processors import request_access
from secrets_app.console.forms import (
    GrantForm,
    ImportForm,
    SecretForm,
    ServiceTokenForm,
    TokenForm,
)
from secrets_app.console.password_again import (
    FIELD,
    PASSWORD_MISSING,
    REAUTH_REFUSED,
    ask_password,
    check_password,
    throttled,
)
from secrets_app.constants import CONFIG_KEY_GROUPS, ConfigKey, profiles
from secrets_app.filters import SecretFilter, profile_menu
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
    secret_versions,
    update_secret,
)
from secrets_app.shared_cache import CacheUnavailable
from secrets_app.sources.chain import configured_sources, locate_all

PAGE_SIZE = 50
SUGGESTIONS = 500  # names offered in the grant form's lists (typing any name works)


def refuse_unless(request, allowed: bool, reason: str, **target) -> None:
    """Refuse (R2.2, audited as DENIED once) what the page would not have offered. The views
    guard what they can know before reading the form (the page, the dialog, the secret's
    own profile); the services refuse what depends on what was sent (the target profile,
    an import's entries), with their own audit row."""
    if not allowed:
        record_refusal(request, request.user, reason, **target)
        error = AdminRequired()
        error.audited = True
        raise error


def admin_only(view):
    """Settings pages for admins only (R18, R19): others get 403, audited."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            refuse_unless(request, request_access(request).admin, "not an admin")
        except AdminRequired as error:
            error.admins_only = True  # the 403 page: no role opens these pages
            raise
        return view(request, *args, **kwargs)

    return wrapper


def writer_of_some_profile(view):
    """Create and import: for admins and editors of some profile (R18)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        refuse_unless(request, request_access(request).writes_anywhere, "no editor grant")
        return view(request, *args, **kwargs)

    return wrapper


def _writable_secret(request, pk) -> Secret:
    """The secret, if the caller may change it where it is (admins, editors of its profile)."""
    secret = _secret(pk)
    refuse_unless(request, request_access(request).writes(secret.profile),
                  f"no editor grant on {secret.profile}", secret_id=secret.pk,
                  secret_name=secret.name, secret_profile=secret.profile)
    return secret


def _writable_profiles(request) -> list[str]:
    return request_access(request).writable_profiles(profiles())


def changed(response: HttpResponse, message: str) -> HttpResponse:
    """Tell the page: refresh the table and show a note, then close the dialog. (In this
    order: the events start at the element that asked, which closing removes.)"""
    trigger_client_event(response, "secrets-changed", {"message": message})
    trigger_client_event(response, "close-dialog")
    return response


def _secret(pk) -> Secret:
    return get_object_or_404(Secret.objects.select_related("ssh_tunnel"), pk=pk)


@sensitive_variables("password")
def _reauth_gate(request, secret: Secret, action: str, *, target: str,
                 swap: str = "innerHTML", also=()) -> HttpResponse | None:
    """Re-authentication before a protected action (R21.1, access/reauth.py): None when the
    action may go on in this response, else the password dialog (in #dialog, whatever the
    action's own target), which posts the same action again with the password to `target`.
    A wrong password shows the dialog again; past the sign-in limit, 429 with its message."""
    if not needs_reauth_any(request, (secret.profile, *also)):
        return None
    password = request.POST.get("password", "")
    problem = ""
    if password:
        try:
            if confirm_password(request, password, action, secret):
                return None
        except LoginThrottled as error:
            return throttled(error)
        except CacheUnavailable as error:
            problem = str(error)
        else:
            problem = REAUTH_REFUSED
    elif "password" in request.POST:
        problem = PASSWORD_MISSING
    response = render(request, "secrets/dialogs.html#reauth", {
        "secret": secret, "action": action, "action_url": request.path, "problem": problem,
        "reauth_target": target, "reauth_swap": swap,
    })
    patch_cache_control(response, no_store=True)
    return retarget(reswap(response, "innerHTML"), "#dialog")


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
        # A callable: the menu's query runs only when the page (not the rows) is drawn.
        "profile_menu": profile_menu,
        "filtered": any(request.GET.get(name) for name in ("search", "category", "profile")),
    }
    return render_page_or_partial(request, "secrets/list.html", "rows", context)


@login_required
@require_GET
def secret_masked(request, pk):
    """The masked cell, which the revealed value swaps itself back into (R2.4)."""
    return render(request, "secrets/list.html#masked", {"secret": _secret(pk)})


@sensitive_post_parameters("password")
@login_required
@require_POST
def secret_decrypt(request, pk):
    """The value in the row for SECRETS_REVEAL_SECONDS, then it removes itself (R2.3, R2.4).
    In a protected profile, after the password again when it is stale (R21.1); someone who
    may not read the secret is refused by the service, never asked."""
    secret = _secret(pk)
    asked = "password" in request.POST
    if request_access(request).reads(secret.profile, secret.key):
        gate = _reauth_gate(request, secret, "decrypt", target=f"#value-{secret.pk}",
                            swap="outerHTML")
        if gate is not None:
            return gate
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
    if asked:  # from the password dialog: close it once the value is in the row
        trigger_client_event(response, "close-dialog", after="swap")
    return response


# --- dialogs: create, edit, delete, import, versions ----------------------------------------


def _opens_on(form, name: str):
    """The dialog opens on this field (R21: keyboard users start typing at once)."""
    form.fields[name].widget.attrs["autofocus"] = True
    return form


def _form_dialog(request, form, secret=None):
    # Sent back for the password alone, the dialog opens on it.
    _opens_on(form, FIELD if list(form.errors) == [FIELD] else "name")
    return render(request, "secrets/dialogs.html#secret-form", {
        "form": form, "secret": secret, "config_keys": ConfigKey.values,
    })


@sensitive_variables("form")
@sensitive_post_parameters("value", "ssh_password", "ssh_private_key", FIELD)
@login_required
@writer_of_some_profile
def secret_create(request):
    """Into a protected profile from a stale session, after the password in the same form
    (R21.1)."""
    writable = _writable_profiles(request)
    if request.method != "POST":
        form = SecretForm(writable=writable)
        return _form_dialog(request, ask_password(
            form, needs_reauth(request, form.fields["profile"].initial)))
    form = SecretForm(request.POST, writable=writable)
    # A profile this user may not write is refused by the form, never asked for.
    chosen = request.POST.get("profile", "")
    ask_password(form, chosen in writable and needs_reauth(request, chosen))
    refused = check_password(request, form, "create")
    if refused is not None:
        return refused
    if form.is_valid():
        try:
            secret = create_secret(request.user, **form.service_fields())
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return changed(HttpResponse(status=204), f"Created {secret.name} ({secret.profile}).")
    return _form_dialog(request, form)


@sensitive_variables("form")
@sensitive_post_parameters("value", "ssh_password", "ssh_private_key", FIELD)
@login_required
def secret_edit(request, pk):
    """Out of, into or within a protected profile from a stale session, after the password
    in the same form (R21.1): moving a value out would let it be revealed unasked, and
    overwriting one (a host, a webhook) is as destructive as a restore."""
    secret = _writable_secret(request, pk)
    writable = _writable_profiles(request)
    if request.method != "POST":
        form = SecretForm.for_secret(secret, writable)
        return _form_dialog(request, ask_password(form, needs_reauth(request, secret.profile)),
                            secret)
    form = SecretForm(request.POST, editing=True, writable=writable,
                      current_profile=secret.profile)
    chosen = request.POST.get("profile", "")
    ask_password(form, needs_reauth_any(
        request, (secret.profile, *([chosen] if chosen in writable else []))))
    refused = check_password(request, form, "edit", secret)
    if refused is not None:
        return refused
    if form.is_valid():
        fields = form.service_fields()
        try:
            update_secret(secret, request.user, **fields)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            message = f"Saved {fields['name']} ({fields['profile']})."
            return changed(HttpResponse(status=204), message)
    return _form_dialog(request, form, secret)


def _add_errors(form, error: ValidationError) -> None:
    for field, messages in error.message_dict.items():
        target = field if field in form.fields else (
            f"ssh_{field}" if f"ssh_{field}" in form.fields else None)
        for message in messages:
            form.add_error(target, message)


@sensitive_post_parameters("password")
@login_required
def secret_delete(request, pk):
    secret = _writable_secret(request, pk)
    if request.method != "POST":
        return render(request, "secrets/dialogs.html#delete", {"secret": secret})
    gate = _reauth_gate(request, secret, "delete", target="#dialog")
    if gate is not None:
        return gate
    delete_secret(secret, request.user)
    return changed(HttpResponse(status=204), f"Deleted {secret.name} ({secret.profile}).")


@sensitive_post_parameters(FIELD)
@login_required
@writer_of_some_profile
def secret_import(request):
    """An editor's import touches their profiles only: the service fails the other entries,
    one by one, with the reason (R18); the summary lists them. From a stale session, an
    import that may write a protected profile asks for the password in the same form, before
    the file is read (R21.1)."""
    writable = _writable_profiles(request)
    may_protected = needs_reauth_any(request, writable)
    if request.method != "POST":
        form = ask_password(ImportForm(writable=writable), may_protected)
        return render(request, "secrets/dialogs.html#import", {"form": _opens_on(form, "file")})
    form = _opens_on(ImportForm(request.POST, request.FILES, writable=writable), "file")
    chosen = request.POST.get("profile", "")
    ask_password(form, needs_reauth(request, chosen) if chosen else may_protected)
    refused = check_password(request, form, "import")
    if refused is not None:
        return refused
    context = {"form": form}
    if form.is_valid():
        try:
            context["summary"] = import_file(
                form.cleaned_data["file"], user=request.user,
                profile=form.cleaned_data["profile"] or None,
                dry_run=form.cleaned_data["dry_run"],
                templates=form.cleaned_data["templates"] or "fail",
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
def secret_versions_dialog(request, pk):
    secret = _writable_secret(request, pk)
    return render(request, "secrets/dialogs.html#versions",
                  {"secret": secret, "versions": secret_versions(secret, request.user)})


@sensitive_post_parameters("password")
@login_required
@require_POST
def secret_restore(request, pk, number):
    secret = _writable_secret(request, pk)
    # The value to restore was set in the profile of its version (R18): one set in production
    # asks as production does, wherever the secret is now. A version from before that was
    # recorded has no profile, and asks too.
    set_in = secret.versions.filter(number=number).values_list("profile", flat=True)
    gate = _reauth_gate(request, secret, "restore", target="#dialog", also=set_in)
    if gate is not None:
        return gate
    try:
        restore_version(secret, number, request.user)
    except VersionNotFound as error:
        return HttpResponse(str(error), status=404)
    message = f"Restored version {number} of {secret.name} ({secret.profile})."
    return changed(HttpResponse(status=204), message)


# --- catalog and settings -------------------------------------------------------------------


def _catalog_cell(where) -> tuple[str, str, str]:
    """A Catalog cell: (css source, label, a tooltip or ""). A profile without its own entry
    says whose answered: "database · default". The environment has no profiles, so it never
    says so."""
    if not where.found:
        return "missing", "missing", ""
    label = "config file" if where.source == "config_file" else where.source
    inherited = where.source != "environment" and where.answered_in != where.profile
    if inherited:
        note = f"No entry of its own in {where.profile}: {where.answered_in}'s answers."
        return where.source, f"{label} · {where.answered_in}", note
    return where.source, label, ""


@login_required
@require_GET
def catalog(request):
    """Every known key by service and, per profile, which source answers — never a value."""
    columns = profiles()
    located = locate_all(ConfigKey.values, columns)
    groups = [
        # Each cell names its profile too: a card on a phone labels it (data-label).
        (group, [(key, [(p, *_catalog_cell(located[(key, p)])) for p in columns])
                 for key in keys])
        for group, keys in CONFIG_KEY_GROUPS.items()
    ]
    return render(request, "catalog/catalog.html", {
        "groups": groups, "profiles": columns, "sources": configured_sources(),
    })


def _mints_protected_reads(request) -> bool:
    """A new API token reads whatever its user may read, at once and for months: from a
    stale session it asks for the password when that includes a protected profile (R21.1)."""
    return reaches_protected(request, request_access(request))


@sensitive_post_parameters(FIELD)
@login_required
def settings_page(request):
    """The user's API tokens (R14): create (the key shown once), list, revoke."""
    context = {"form": ask_password(TokenForm(), _mints_protected_reads(request))}
    if request.method == "POST":
        form = ask_password(TokenForm(request.POST), _mints_protected_reads(request))
        refused = check_password(request, form, "create token")
        if refused is not None:
            return refused
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
    return render(request, "settings/settings.html#tokens", {
        "tokens": tokens, "form": ask_password(TokenForm(), _mints_protected_reads(request))})


# --- settings: access (R18) and service tokens (R19), admins only ---------------------------


def _offered(form, request):
    """A blank Settings form: with "Your password" while the session is stale and some
    profile is protected, as its answer may need it (R21.1)."""
    return ask_password(form, session_is_stale(request))


def _grants_page(request, form, note: str = ""):
    User = get_user_model()
    context = {
        "form": form, "grants": all_grants(), "note": note, "nav": "settings",
        # Suggestions for the form's inputs; find_subject decides who exists.
        "usernames": User.objects.filter(is_active=True).order_by(User.USERNAME_FIELD)
        .values_list(User.USERNAME_FIELD, flat=True)[:SUGGESTIONS],
        "group_names": Group.objects.order_by("name").values_list("name", flat=True)[
            :SUGGESTIONS],
    }
    return render_page_or_partial(request, "settings/access.html", "grants", context)


@sensitive_post_parameters(FIELD)
@login_required
@admin_only
def access_page(request):
    """Settings → Access: every grant, add one (R18). A role given again changes nothing; a
    different role replaces the old one (grants.py). A grant on a protected profile from a
    stale session asks for the password in the same form (R21.1): the form is offered with
    the field whenever a profile is protected."""
    if request.method != "POST":
        return _grants_page(request, _offered(GrantForm(), request))
    form = ask_password(GrantForm(request.POST),
                        needs_reauth(request, request.POST.get("profile", "")))
    refused = check_password(request, form, "add grant")
    if refused is not None:
        return refused
    if not form.is_valid():
        return _grants_page(request, form)
    data = form.cleaned_data
    try:
        subject = find_subject(user=data["user"] or None, group=data["group"] or None)
        grant, added = add_grant(request.user, subject, data["profile"], data["role"])
    except ValidationError as error:
        _add_errors(form, error)
        return _grants_page(request, form)
    if added:
        note = f"{grant.subject} is now {grant.role} on {grant.profile}."
    else:
        note = f"{grant.subject} was already {grant.role} on {grant.profile}: nothing changed."
    return _grants_page(request, _offered(GrantForm(), request), note)


@login_required
@admin_only
@require_POST
def access_remove(request, pk):
    grant = ProfileGrant.objects.select_related("user", "group").filter(pk=pk).first()
    if grant is not None and remove_grant(request.user, grant):
        note = f"Removed {grant.subject}'s {grant.role} grant on {grant.profile}."
    else:
        note = "That grant was already removed."
    if not wants_partial(request):
        return redirect("secrets:access")
    return _grants_page(request, _offered(GrantForm(), request), note)


def _service_tokens_page(request, form, **more):
    context = {
        "form": form, "nav": "settings",
        "service_tokens": ServiceToken.objects.select_related("created_by").order_by(
            "revoked_at", "-created_at"),
        **more,
    }
    response = render_page_or_partial(request, "settings/service_tokens.html",
                                      "service-tokens", context)
    if "new_key" in more:
        patch_cache_control(response, no_store=True)
    return response


@sensitive_variables("key")
@sensitive_post_parameters(FIELD)
@login_required
@admin_only
def service_tokens_page(request):
    """Settings → Service tokens: list, create (the key shown in this answer only), revoke
    (R19). A token reading a protected profile, from a stale session, after the password in
    the same form (R21.1)."""
    if request.method != "POST":
        return _service_tokens_page(request, _offered(ServiceTokenForm(), request))
    form = ask_password(ServiceTokenForm(request.POST),
                        needs_reauth_any(request, request.POST.getlist("profiles")))
    refused = check_password(request, form, "create service token")
    if refused is not None:
        return refused
    if form.is_valid():
        try:
            token, key = create_service_token(request.user, **form.service_fields())
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return _service_tokens_page(request, _offered(ServiceTokenForm(), request),
                                        new_token=token, new_key=key)
    return _service_tokens_page(request, form)


@login_required
@admin_only
@require_POST
def service_token_revoke(request, pk):
    token = get_object_or_404(ServiceToken, pk=pk)
    if revoke_service_token(token, request.user):
        note = f"Revoked {token}: programs using it get 401 from now on."
    else:
        note = f"{token} was already revoked."
    if not wants_partial(request):
        return redirect("secrets:service-tokens")
    return _service_tokens_page(request, _offered(ServiceTokenForm(), request), note=note)
