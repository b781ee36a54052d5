"""A password change or a deactivation revokes the user's API tokens (R17.7).

Hooked on the user model's saves, so every way to change a password is covered: the admin,
`manage.py changepassword`, `set_password()` + `save()`, `set_unusable_password()`.
Two saves that are not a change are told apart: Django re-hashing the same password on
sign-in when the hasher or its work factor changed (check_password's setter saves
update_fields=["password"]), and update_last_login. Reactivating a user brings no token back.
(QuerySet.update() sends no signals: change passwords through the model.)
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import get_hasher, identify_hasher, is_password_usable
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from secrets_app.access.tokens import revoke_all_tokens

PASSWORD_CHANGED = "password changed"  # noqa: S105 - a reason, not a password
USER_DEACTIVATED = "user deactivated"


def _is_rehash(user, old_hash: str, update_fields) -> bool:
    """Whether this save is Django upgrading the stored hash of an unchanged password: it
    saves only the password, without set_password() having been called from outside, from
    a hash that needed updating to a usable hash of the preferred hasher."""
    if update_fields is None or set(update_fields) != {"password"}:
        return False
    if getattr(user, "_password", None) is not None or not is_password_usable(user.password):
        return False
    try:
        old_hasher = identify_hasher(old_hash)
    except ValueError:
        return False
    preferred = get_hasher("default")
    return old_hasher.algorithm != preferred.algorithm or preferred.must_update(old_hash)


def _revocation_reason(user, stored, update_fields) -> str | None:
    if stored.is_active and not user.is_active:
        return USER_DEACTIVATED
    if stored.password != user.password and not _is_rehash(user, stored.password, update_fields):
        return PASSWORD_CHANGED
    return None


@receiver(pre_save, sender=get_user_model())
def note_credential_change(sender, instance, raw=False, update_fields=None, **kwargs):
    instance._revoke_tokens_because = None
    if raw or instance.pk is None:
        return
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return  # e.g. update_last_login: no query on every sign-in
    stored = sender._default_manager.filter(pk=instance.pk).only("password", "is_active").first()
    if stored is not None:
        instance._revoke_tokens_because = _revocation_reason(instance, stored, update_fields)


@receiver(post_save, sender=get_user_model())
def revoke_tokens_on_credential_change(sender, instance, raw=False, **kwargs):
    reason = getattr(instance, "_revoke_tokens_because", None)
    if reason and not raw:
        instance._revoke_tokens_because = None
        revoke_all_tokens(instance, reason)
