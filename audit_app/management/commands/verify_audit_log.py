"""`manage.py verify_audit_log`: walk the hash chain; exit 1 at the first broken link (R12)."""

from django.core.management.base import CommandError

from audit_app.log import verify_chain
from kozmo_secrets.audited_command import AuditedCommand


class Command(AuditedCommand):
    help = "Verify the audit log's hash chain and report the first broken link."

    def handle(self, *args, **options):
        report = verify_chain()
        if not report.ok:
            raise CommandError(f"Audit log BROKEN. {report.message}")
        self.stdout.write(report.message, self.style.SUCCESS)
