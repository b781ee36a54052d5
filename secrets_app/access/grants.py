"""Per-profile grants (R18): give a user or a group a role on one profile, take it away, list
them. Admins only (the ways in check who asks; the command is the operator); every change is
audited (GRANT_ADD, GRANT_REMOVE) in the same transaction."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from audit_app import log
from audit_app.models import AuditAction
from secrets_app.access.models import ProfileGrant, Role
from secrets_app.constants import profiles


def find_subject(*, user: str | None = None, group: str | None = None):
    """The user or group named (exactly one of them), or a ValidationError saying what to fix."""
    if bool(user) == bool(group):
        raise ValidationError({"user": "Name a user or a group (one of them)."})
    if user:
        User = get_user_model()
        found = User.objects.filter(**{User.USERNAME_FIELD: user}).first()
        if found is None:
            raise ValidationError({"user": f"No user named {str(user)[:150]!r}."})
        return found
    found = Group.objects.filter(name=group).first()
    if found is None:
        raise ValidationError({"group": f"No group named {str(group)[:150]!r}."})
    return found


def _check(profile, role) -> None:
    errors = {}
    if profile not in profiles():
        errors["profile"] = (f"Choose one of {', '.join(profiles())}. Profiles are set by "
                             "SECRETS_PROFILES.")
    if role not in Role.values:
        errors["role"] = f"Choose one of {', '.join(Role.values)}."
    if errors:
        raise ValidationError(errors)


def _subject_filter(subject) -> dict:
    return {"group": subject} if isinstance(subject, Group) else {"user": subject}


def _detail(grant: ProfileGrant, **more) -> dict:
    who = ({"group": grant.group.name} if grant.group_id
           else {"user": grant.user.get_username()})
    return {**who, "profile": grant.profile, "role": grant.role, **more}


def add_grant(actor, subject, profile: str, role: str) -> tuple[ProfileGrant, bool]:
    """Give `subject` (a user or a Group) `role` on `profile`. A subject holds one role per
    profile: a different role replaces the old one (audited with it); the same role again
    changes nothing. Answers the grant and whether anything changed."""
    _check(profile, role)
    try:
        with transaction.atomic():
            grant = (ProfileGrant.objects.select_for_update()
                     .filter(profile=profile, **_subject_filter(subject)).first())
            if grant is not None and grant.role == role:
                return grant, False
            replaced = {}
            if grant is None:
                grant = ProfileGrant.objects.create(
                    profile=profile, role=role, created_by=actor, **_subject_filter(subject))
            else:
                replaced = {"replaced": grant.role}
                grant.role = role
                grant.save(update_fields=["role"])
            log.record(AuditAction.GRANT_ADD, user=actor, secret_profile=profile,
                       detail=_detail(grant, **replaced))
    except IntegrityError:  # the same grant added at the same moment: the other one won
        grant = ProfileGrant.objects.get(profile=profile, **_subject_filter(subject))
        return grant, False
    return grant, True


def remove_grant(actor, grant: ProfileGrant) -> bool:
    """Take a grant away; of two removals at once one writes the audit row. Answers whether
    this call removed it."""
    with transaction.atomic():
        deleted, _ = ProfileGrant.objects.filter(pk=grant.pk).delete()
        if deleted:
            log.record(AuditAction.GRANT_REMOVE, user=actor, secret_profile=grant.profile,
                       detail=_detail(grant))
    return bool(deleted)


def all_grants():
    """Every grant, by profile, then subject."""
    return ProfileGrant.objects.select_related("user", "group", "created_by").order_by(
        "profile", "group__name", "user__username")
