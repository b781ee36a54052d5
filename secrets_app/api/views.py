"""API viewsets: thin, each action one service call (R8, R12, R13, R14)."""

from django.db.models import Count
from django.http import Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from audit_app import api as audit_api
from secrets_app.access.authentication import (
    FreshSessionAuthentication,
    ThrottledBasicAuthentication,
    TokenAuthentication,
)
from secrets_app.access.grants import add_grant, all_grants, remove_grant
from secrets_app.access.models import ApiToken, ServiceToken
from secrets_app.access.policy import require_write
from secrets_app.access.service_tokens import (
    DEFAULT_LIFETIME_DAYS,
    create_service_token,
    revoke_service_token,
)
from secrets_app.access.tokens import create_token, revoke_token
from secrets_app.api import schema  # also registers the token auth scheme
from secrets_app.api import serializers as s
from secrets_app.api.exceptions import SECRET_NOT_FOUND
from secrets_app.api.filters import StableOrderingFilter
from secrets_app.api.pagination import SecretPagination
from secrets_app.api.parsers import MultiPartParser, RawFileParser
from secrets_app.api.permissions import IsSecretsAdmin, MayWriteSomewhere, SignedIn
from secrets_app.constants import DEFAULT_PROFILE, unknown_profile_message
from secrets_app.constants import profiles as configured_profiles
from secrets_app.filters import SecretFilter
from secrets_app.formats.entries import TEMPLATE_CHOICES
from secrets_app.models import Secret
from secrets_app.services.bulk import import_file
from secrets_app.services.credentials import fetch_credentials
from secrets_app.services.reveal import decrypt_with_tunnel, reveal_ssh_tunnel
from secrets_app.services.secrets import (
    delete_secret,
    listed_to,
    require_listed,
    restore_version,
    secret_versions,
)

NO_STORE = {"Cache-Control": "no-store"}


def errors(*codes: int) -> dict:
    """OpenAPI responses for the errors an operation can answer; the schema class
    (schema.AutoSchema) gives each its shape, and 429 and 503 their Retry-After."""
    # Every operation may answer 400: a control character in any query parameter (R17.8).
    return {code: OpenApiResponse(description=schema.ERROR_WORDS[code])
            for code in sorted({400, *codes})}


@extend_schema_view(
    list=extend_schema(
        responses={200: s.SecretSerializer(many=True), **errors(400, 401, 404, 429, 503)},
        description="List secrets, values masked, 50 a page (`page_size` up to 500). Filter "
                    "with `search` (a name or a key), `category` and `profile`; sort with "
                    "`ordering`. Anyone signed in; a service token sees its scope only."),
    retrieve=extend_schema(
        responses={200: s.SecretSerializer, **errors(401, 403, 404, 429, 503)},
        description="One secret, value masked. Anyone signed in who may list it; a service "
                    "token within its scope."),
    create=extend_schema(
        responses={201: s.SecretSerializer, **errors(400, 401, 403, 415, 503)},
        description="Create a secret (201); the answer shows its value masked. Admins, and "
                    "editors of its profile. Audited."),
    update=extend_schema(
        responses={200: s.SecretSerializer, **errors(400, 401, 403, 404, 415, 503)},
        description="Replace a secret's fields. Leaving `value` out (or sending \"\" or the "
                    "mask ******** back) keeps it; a value sent is kept as a new version. "
                    "Admins and editors of its profile (of both, when `profile` changes). "
                    "Audited."),
    partial_update=extend_schema(
        responses={200: s.SecretSerializer, **errors(400, 401, 403, 404, 415, 503)},
        description="Change some of a secret's fields; `value` as for the full update. "
                    "Admins and editors of its profile (of both, when `profile` changes). "
                    "Audited."),
    destroy=extend_schema(
        responses={204: None, **errors(401, 403, 404)},
        description="Delete a secret with its history (204). Admins and editors of its "
                    "profile. Audited."),
)
class SecretViewSet(viewsets.ModelViewSet):
    """Secrets: everyone signed in may list and read (values masked); admins and editors of
    a profile change its secrets; readers decrypt (R18); a service token lists and decrypts
    within its scope (R19). The services check who may; the views only call them."""

    serializer_class = s.SecretSerializer
    pagination_class = SecretPagination
    filterset_class = SecretFilter
    filter_backends = [
        *viewsets.ModelViewSet.filter_backends, StableOrderingFilter,
    ]
    ordering_fields = ["name", "key", "category", "profile", "created_at", "updated_at"]
    ordering = ["name", "profile"]
    # A service token lists, reads (masked) and decrypts within its scope, nothing else (R19).
    service_actions = {"list", "retrieve", "decrypt", "profiles", "ssh_tunnel"}
    # Editors of the secret's profile and admins (R18); checked on the stored secret first.
    write_actions = {"update", "partial_update", "destroy", "versions", "restore"}

    def get_permissions(self):
        if self.action == "create":  # someone who may write nowhere is refused before parsing
            return [*super().get_permissions(), MayWriteSomewhere()]
        return super().get_permissions()

    def get_queryset(self):
        secrets = Secret.objects.select_related("ssh_tunnel", "created_by", "updated_by")
        return listed_to(self.request.user, secrets)

    def get_object(self):
        # By id alone: list filters do not apply to one secret, and building them for every
        # decrypt was a third of its server time (see benchmarks/RESULTS.md). A service token
        # asking for a secret outside its scope is refused by the decrypt gate (decrypt) or
        # here (the rest), audited either way.
        try:
            secret = get_object_or_404(
                Secret.objects.select_related("ssh_tunnel", "created_by", "updated_by"),
                pk=self.kwargs["pk"])
        except Http404:  # unknown or malformed id
            raise Secret.DoesNotExist(SECRET_NOT_FOUND) from None
        if self.action in self.write_actions:  # refused before the body is even read
            require_write(self.request.user, secret.profile, self.action,
                          secret_id=secret.pk, secret_name=secret.name)
        elif self.action != "decrypt":
            require_listed(self.request.user, secret, attempted=self.action)
        self.check_object_permissions(self.request, secret)
        return secret

    def perform_destroy(self, instance):
        delete_secret(instance, self.request.user)

    @extend_schema(
        request=None,
        responses={200: s.DecryptedSecretSerializer,
                   **errors(401, 403, 404, 429, 500, 503)},
        description="The plaintext value; an SSH secret's tunnel too, password and private "
                    "key decrypted. Admins, readers and editors of its profile, and service "
                    "tokens within their scope. Rate-limited (the decrypt limit; a service "
                    "token has its own budget) and audited, refusals too; never cached "
                    "(Cache-Control: no-store).",
    )
    @action(detail=True, methods=["post"])
    def decrypt(self, request, pk=None):
        secret = self.get_object()
        revealed = decrypt_with_tunnel(secret, request.user)
        return Response(s.DecryptedSecretSerializer(revealed).data, headers=NO_STORE)

    @extend_schema(
        responses={200: s.ProfileCountSerializer(many=True), **errors(401, 403, 429, 503)},
        description="Every configured profile with the number of its secrets you may see, "
                    "then any profile no longer configured that still holds secrets. Anyone "
                    "signed in; a service token counts its scope only.")
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def profiles(self, request):
        counts = dict(
            listed_to(request.user, Secret.objects.all())
            .values_list("profile").annotate(count=Count("id")).order_by()
        )
        # The configured profiles, then any that left SECRETS_PROFILES but hold secrets (R22).
        extra = sorted(set(counts) - set(configured_profiles()))
        return Response([{"profile": p, "count": counts.get(p, 0)}
                         for p in (*configured_profiles(), *extra)])

    @extend_schema(
        request={"multipart/form-data": s.ImportSerializer,
                 "application/yaml": {"type": "string", "format": "binary"}},
        parameters=[
            OpenApiParameter("profile", str, enum=schema.ConfiguredProfileNames(),
                             description="Only this profile's section; a flat file's profile."),
            OpenApiParameter("templates", str, enum=list(TEMPLATE_CHOICES), default="fail",
                             description="A template the server cannot resolve "
                             "({{ mage_secret_var('x') }}; an upload never reads the server's "
                             "environment, so every env_var too): fail its entry, skip it "
                             "(reported with its reason), or keep the text as written."),
            OpenApiParameter("dry_run", bool, description="Check without storing. It "
                             "compares values, so it counts as one decrypt (rate-limited, "
                             "audited)."),
        ],
        responses={200: s.ImportSummarySerializer,
                   **errors(400, 401, 403, 409, 415, 429, 503)},
        description="Import a Mage io_config.yaml or a .env file (detected from its lines): "
                    "the multipart field `file`, or the file as the request body "
                    "(Content-Type: application/yaml). Answers what was created, updated, "
                    "left unchanged, skipped and failed, entry by entry. Admins and editors "
                    "(an entry of a profile you may not edit fails alone). Counts as one "
                    "decrypt against the decrypt limit (a dry run too); audited.",
    )
    @action(detail=False, methods=["post"], url_path="import", filter_backends=[],
            parser_classes=[MultiPartParser, RawFileParser])
    def import_file(self, request):
        upload = request.data.get("file")
        data = upload if upload is not None else request.data.get("raw", b"")
        if not data:
            return Response(
                {"file": ["Send the file as the multipart field \"file\", or as the request "
                          "body (Content-Type: application/yaml)."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        profile = request.query_params.get("profile") or None
        if profile is not None and profile not in configured_profiles():
            return Response({"profile": [f"{unknown_profile_message(profile)}."]},
                            status=status.HTTP_400_BAD_REQUEST)
        templates = request.query_params.get("templates") or "fail"
        if templates not in TEMPLATE_CHOICES:
            return Response({"templates": [f"Choose one of {', '.join(TEMPLATE_CHOICES)}."]},
                            status=status.HTTP_400_BAD_REQUEST)
        summary = import_file(
            data, user=request.user, profile=profile, templates=templates,
            dry_run=request.query_params.get("dry_run", "").lower() in ("1", "true", "yes"),
            filename=getattr(upload, "name", "") or "",
        )
        return Response(s.ImportSummarySerializer(summary).data)

    @extend_schema(
        request=s.TunnelSerializer,
        responses={200: s.RevealedTunnelSerializer,
                   **errors(400, 401, 403, 404, 415, 429, 500, 503)},
        description="A whole decrypted SSH tunnel config for a connector: the named SSH "
                    "secret's tunnel, else the profile's first, else its SSH_* keys. Admins, "
                    "readers and editors of the profile; a service token of that profile "
                    "without key patterns. Rate-limited and audited as a decrypt; never "
                    "cached (Cache-Control: no-store).",
    )
    @action(detail=False, methods=["post"], url_path="ssh-tunnel", filter_backends=[])
    def ssh_tunnel(self, request):
        # The service checks who asks before it reads anything, input included.
        data = request.data if isinstance(request.data, dict) else {}
        tunnel = reveal_ssh_tunnel(request.user, data.get("profile") or DEFAULT_PROFILE,
                                   data.get("name") or None)
        if tunnel is None:
            return Response({"detail": "No SSH tunnel in this profile."},
                            status=status.HTTP_404_NOT_FOUND)
        return Response(tunnel, headers=NO_STORE)

    @extend_schema(
        responses={200: s.VersionSerializer(many=True), **errors(401, 403, 404)},
        description="A secret's value history, newest first, values masked. Admins and "
                    "editors of its profile.")
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def versions(self, request, pk=None):
        versions = secret_versions(self.get_object(), request.user)
        return Response(s.VersionSerializer(versions, many=True).data)

    @extend_schema(
        request=None, responses={200: s.SecretSerializer, **errors(401, 403, 404, 503)},
        description="Make version `number` the current value again, kept as a new version; "
                    "answers the secret. Admins and editors of its profile. Audited.")
    @action(detail=True, methods=["post"], url_path=r"versions/(?P<number>\d+)/restore",
            filter_backends=[])
    def restore(self, request, pk=None, number=None):
        secret = restore_version(self.get_object(), int(number), request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=secret.pk)).data)


# audit_app knows nothing of this package; here its viewset gets the house error responses.
@extend_schema_view(
    list=extend_schema(
        responses={200: audit_api.AuditLogSerializer(many=True), **errors(400, 401, 403, 404)},
        description="The audit log, newest first, 50 a page: filter by `action`, `user`, "
                    "`secret`, `channel`, `allowed`, `since` and `until` (ISO 8601). Admins, "
                    "and users with the audit_app.view_auditlog permission."),
    retrieve=extend_schema(
        responses={200: audit_api.AuditLogSerializer, **errors(401, 403, 404)},
        description="One audit row by its sequence number, with the hashes that chain it "
                    "to the one before. Admins, and users with the audit_app.view_auditlog "
                    "permission."),
)
class AuditLogViewSet(audit_api.AuditLogViewSet):
    pass


# create and destroy have bodies of their own and carry their schema where they are defined.
@extend_schema_view(
    list=extend_schema(
        responses={200: s.ApiTokenSerializer(many=True), **errors(401, 404)},
        description="Your own API tokens, never their keys: prefix, created, expiry, last "
                    "use, revoked."),
)
class ApiTokenViewSet(mixins.ListModelMixin, mixins.CreateModelMixin,
                      mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Your own API tokens. Create one with a token, a session, or your username and
    password (HTTP Basic), so a new user can get the first one with curl."""

    serializer_class = s.ApiTokenSerializer
    authentication_classes = [TokenAuthentication, ThrottledBasicAuthentication,
                              FreshSessionAuthentication]
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return ApiToken.objects.none()
        return ApiToken.objects.of_user(self.request.user)

    @extend_schema(
        request=s.ApiTokenSerializer,
        responses={201: s.NewApiTokenSerializer, **errors(400, 401, 415, 429, 503)},
        description=(
            "Create a token; its key is in this answer only. With a username and password "
            "(HTTP Basic) the token expires in at most 90 days, even if `expires_in_days` "
            "asks for more or for none (`expires_at` in the answer says when); a token "
            "cannot create one that outlives itself. Sign-ins with HTTP Basic share the "
            "sign-in limit: too many failures answer 429 with Retry-After."
        ),
    )
    def create(self, request, *args, **kwargs):
        ask = s.ApiTokenSerializer(data=request.data)
        ask.is_valid(raise_exception=True)
        # A token can make tokens, but none that outlive it: a leaked short-lived token
        # must not mint a permanent one.
        caller = request.auth if isinstance(request.auth, ApiToken) else None
        token, key = create_token(
            request.user, ask.validated_data["name"],
            ask.validated_data.get("expires_in_days", 90),
            not_after=caller.expires_at if caller else None,
            minted_with_password=isinstance(request.successful_authenticator,
                                            ThrottledBasicAuthentication),
        )
        body = s.NewApiTokenSerializer(token).data
        body["key"] = key
        return Response(body, status=status.HTTP_201_CREATED, headers=NO_STORE)

    @extend_schema(responses={204: None, **errors(401, 404)},
                   description="Revoke one of your tokens (204): it answers 401 from then "
                               "on. Audited.")
    def destroy(self, request, *args, **kwargs):
        revoke_token(self.get_object(), request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        responses={200: s.GrantSerializer(many=True), **errors(401, 403, 404)},
        description="Every grant (a user's or a group's role on a profile), by profile, then "
                    "subject. Admins only."),
)
class GrantViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Per-profile grants (R18): who holds which role on which profile. Admins only; every
    change is audited (GRANT_ADD, GRANT_REMOVE)."""

    serializer_class = s.GrantSerializer
    permission_classes = [SignedIn, IsSecretsAdmin]
    filter_backends = []
    queryset = all_grants()

    @extend_schema(
        responses={201: s.GrantSerializer, 200: s.GrantSerializer,
                   **errors(400, 401, 403, 415)},
        description="Give a user or a group a role on a profile: 201 when that changed "
                    "something (a new grant, or another role replacing the one held), 200 "
                    "when the same grant already existed. Admins only; audited.",
    )
    def create(self, request, *args, **kwargs):
        ask = self.get_serializer(data=request.data)
        ask.is_valid(raise_exception=True)
        grant, changed = add_grant(request.user, ask.validated_data["subject"],
                                   ask.validated_data["profile"], ask.validated_data["role"])
        return Response(self.get_serializer(grant).data,
                        status=status.HTTP_201_CREATED if changed else status.HTTP_200_OK)

    @extend_schema(responses={204: None, **errors(401, 403, 404)},
                   description="Take a grant away (204). Admins only; audited.")
    def destroy(self, request, *args, **kwargs):
        remove_grant(request.user, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        responses={200: s.ServiceTokenSerializer(many=True), **errors(401, 403, 404)},
        description="Every service token, newest first, with its scope and never its key; "
                    "revoked ones stay listed with `revoked_at`. Admins only."),
)
class ServiceTokenViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Service tokens (R19): read-only keys for programs, limited to profiles, key patterns
    and client networks. Admins only; created and revoked audited. The key is shown once."""

    serializer_class = s.ServiceTokenSerializer
    permission_classes = [SignedIn, IsSecretsAdmin]
    filter_backends = []
    queryset = ServiceToken.objects.select_related("created_by").order_by("-created_at")

    @extend_schema(
        responses={201: s.NewServiceTokenSerializer, **errors(400, 401, 403, 415)},
        description="Create a service token for a program: the profiles, key patterns and "
                    "networks it may read from. Its key is in this answer only (the server "
                    "keeps a digest); use it as `Authorization: Token <key>` or "
                    "`Bearer <key>`. Admins only; audited.",
    )
    def create(self, request, *args, **kwargs):
        ask = self.get_serializer(data=request.data)
        ask.is_valid(raise_exception=True)
        wanted = ask.validated_data
        token, key = create_service_token(
            request.user, name=wanted["name"], profiles=wanted["profiles"],
            keys=wanted.get("key_patterns"), allowed_networks=wanted.get("allowed_networks"),
            expires_in_days=wanted.get("expires_in_days", DEFAULT_LIFETIME_DAYS),
            # Made with a personal token: it cannot outlive that token (R17.7's rule).
            not_after=request.auth.expires_at if isinstance(request.auth, ApiToken) else None,
        )
        body = s.NewServiceTokenSerializer(token).data
        body["key"] = key
        return Response(body, status=status.HTTP_201_CREATED, headers=NO_STORE)

    @extend_schema(responses={204: None, **errors(401, 403, 404)},
                   description="Revoke a service token at once (204; again: nothing "
                               "changes, still 204). Admins only; audited.")
    def destroy(self, request, *args, **kwargs):
        revoke_service_token(self.get_object(), request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CredentialsView(APIView):
    """Credentials for programs (R20): many keys in one request, each through the source
    chain (database, environment, config file, AWS), in the caller's scope. One object, not
    a list: a view of its own rather than a viewset's `list`."""

    action = "credentials"  # SignedIn lets service tokens reach it (their main use)
    service_actions = {"credentials"}
    # Tokens only: a GET is no CSRF-protected act, so no page may make a signed-in browser
    # spend its owner's decrypt budget or fill the audit log.
    authentication_classes = [TokenAuthentication]

    @extend_schema(
        parameters=[
            OpenApiParameter("profile", str, enum=schema.ConfiguredProfileNames(),
                             default=DEFAULT_PROFILE,
                             description="The profile to resolve for; a key it lacks is "
                             "answered by `default`'s."),
            OpenApiParameter("keys", str, description="Comma-separated key names "
                             "(POSTGRES_HOST,POSTGRES_PASSWORD). Leave it out for every key "
                             "stored for the profile that you may read."),
        ],
        responses={200: s.CredentialsSerializer, **errors(400, 401, 403, 429, 500, 503)},
        description="The values of many keys in one request, each from the first source that "
        "holds it (database, environment, config file, AWS), with that source. Keys no source "
        "holds are listed in `missing`; keys outside your grants or your service token's "
        "profiles and key patterns are refused (403, naming them). The server's own "
        "configuration (DJANGO_*, SECRETS_*, KOZMO_*, DATABASE_URL, REDIS_URL) is never "
        "served. One request is one decrypt of your rate limit, and one audit row names "
        "every key served.",
    )
    def get(self, request):
        asked = request.query_params.getlist("keys")
        keys = None if not asked else [
            name.strip() for text in asked for name in text.split(",") if name.strip()]
        credentials = fetch_credentials(
            request.user, request.query_params.get("profile") or DEFAULT_PROFILE, keys)
        return Response(credentials.as_dict(), headers=NO_STORE)
