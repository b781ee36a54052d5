"""Audit every Secret create, update and delete, whoever makes it (services, admin, shell).

The pre-receivers refuse changes made outside a transaction: only inside one can the audit
row and the change commit or roll back together (R10.1, fail closed). Bulk paths (import,
rotation) bypass signals and write their audit rows themselves.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from audit_app import log
from audit_app.models import AuditAction
from secrets_app.list_counts import secrets_changed
from secrets_app.models import Secret


class UnauditedChange(RuntimeError):
    pass


def _require_transaction(using: str) -> None:
    if not transaction.get_connection(using).in_atomic_block:
        raise UnauditedChange(
            "Secret changes must run inside transaction.atomic() so that the change and its "
            "audit row commit together. Use secrets_app.services."
        )


@receiver(pre_save, sender=Secret)
@receiver(pre_delete, sender=Secret)
def refuse_changes_outside_transactions(sender, instance, using, **kwargs):
    _require_transaction(using)


@receiver(post_save, sender=Secret)
def audit_secret_saved(sender, instance: Secret, created: bool, **kwargs):
    secrets_changed()
    if created:
        action = AuditAction.CREATE
    else:
        action = getattr(instance, "_audit_action", AuditAction.UPDATE)
    log.record(
        action,
        secret_id=instance.pk,
        secret_name=instance.name,
        secret_profile=instance.profile,
        detail=getattr(instance, "_audit_detail", {}),
    )


@receiver(post_delete, sender=Secret)
def audit_secret_deleted(sender, instance: Secret, **kwargs):
    secrets_changed()
    log.record(
        AuditAction.DELETE,
        secret_id=instance.pk,
        secret_name=instance.name,
        secret_profile=instance.profile,
    )
