"""`manage.py bootstrap_admin`: on an empty installation, create a superuser `admin` with a
random password and print it once. Does nothing when any user exists."""

import secrets

from django.contrib.auth import get_user_model

from secrets_app.management.secrets_command import SecretsCommand


class Command(SecretsCommand):
    help = "Create the first admin user with a random password (only if no user exists)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        User = get_user_model()
        if User.objects.exists():
            self.stdout.write(
                "Users already exist; no admin created. Reset a password with "
                "`python manage.py changepassword USERNAME`."
            )
            return
        password = secrets.token_urlsafe(16)
        User.objects.create_superuser(username=username, email="", password=password)
        bar = "=" * 64
        self.stdout.write(
            f"{bar}\n  Admin login (shown once):  username: {username}   password: {password}\n"
            f"{bar}"
        )
