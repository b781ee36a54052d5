"""Audit every Secret create, update and delete, whoever makes it (services, admin, shell).

The pre-receivers refuse changes made outside a transaction: only inside one can the audit
row and the change commit or roll back together (R10.1, fail closed). Bulk paths (import,
rotation) bypass signals and write their audit rows themselves, the import's per secret
through the same secrets_app.audit.secret_change_entry. What a row says comes from the
instance's changed fields and the audit context (secrets_app.audit.recorded_as), never from
attributes a caller sets.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from audit_app import log
from audit_app.models import AuditAction
from secrets_app.audit import saved_entry, secret_change_entry
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
    log.record_many([saved_entry(instance, created=created, changed=instance.changed_fields())])


@receiver(post_delete, sender=Secret)
def audit_secret_deleted(sender, instance: Secret, **kwargs):
    secrets_changed()
    log.record_many([secret_change_entry(AuditAction.DELETE, instance)])
