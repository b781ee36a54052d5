"""`manage.py generate_encryption_key`: print a new random key for SECRETS_ENCRYPTION_KEY.

manage.py answers this command before Django starts, so it works with no key configured yet;
this class serves `call_command` and the command list.
"""

from secrets_app.crypto import generate_key
from secrets_app.management.secrets_command import SecretsCommand


class Command(SecretsCommand):
    help = "Print a new random encryption key (Fernet format, 44 characters)."

    def handle(self, *args, **options):
        self.stdout.write(generate_key())
