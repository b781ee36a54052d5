"""`manage.py grant`: give, take away and list per-profile roles (R18)."""

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from secrets_app.access.grants import add_grant, all_grants, find_subject, remove_grant
from secrets_app.access.models import Role
from secrets_app.constants import profiles
from secrets_app.management.secrets_command import SecretsCommand

OPTIONS = {"user": "--user", "group": "--group", "profile": "--profile", "role": "--role"}


class Command(SecretsCommand):
    help = (
        "Give a user (--user) or a group (--group) a role on one profile: reader (decrypt and "
        "fetch there) or editor (also create, update, delete, import and restore there). A "
        "subject holds one role per profile: another role replaces it. --remove takes the "
        "grant away. Without options, lists every grant. Admins (superusers and the "
        "'Secrets administrators' group) need no grant. Every change is audited "
        "(GRANT_ADD, GRANT_REMOVE). Example: grant --user bob --profile development "
        "--role reader"
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", metavar="USERNAME", help="The user to give the role to.")
        parser.add_argument("--group", metavar="NAME",
                            help="The group to give the role to (instead of --user).")
        parser.add_argument("--profile", metavar="PROFILE",
                            help=f"One of: {', '.join(profiles())} (SECRETS_PROFILES).")
        parser.add_argument("--role", metavar="ROLE",
                            help=f"One of: {', '.join(Role.values)}. Not needed with --remove.")
        parser.add_argument("--remove", action="store_true",
                            help="Take the subject's grant on --profile away.")
        parser.add_argument(
            "--as", dest="as_user", metavar="ADMIN",
            help="Record ADMIN (a secrets admin) as the one granting, in created_by and the "
                 "audit log. Without it the audit log records the command line and your OS "
                 "account.",
        )

    def handle(self, *args, user, group, profile, role, remove, as_user, **options):
        if not any((user, group, profile, role, remove)):
            self._list()
            return
        actor = self.acting_admin(as_user)
        if bool(user) == bool(group):
            raise CommandError("Name who the grant is for: --user USERNAME or --group NAME "
                               "(one of them).")
        try:
            subject = find_subject(user=user, group=group)
            if remove:
                self._remove(actor, subject, profile)
                return
            grant, changed = add_grant(actor, subject, profile, role)
        except ValidationError as error:
            raise CommandError(" ".join(
                f"{OPTIONS.get(field, field)}: {' '.join(messages)}"
                for field, messages in error.message_dict.items())) from None
        if changed:
            self.stdout.write(f"Granted: {grant}.")
        else:
            self.stdout.write(f"Unchanged: {grant} already.")

    def _remove(self, actor, subject, profile) -> None:
        who = {"group": subject} if group_of(subject) else {"user": subject}
        # A grant on a profile that left SECRETS_PROFILES can still be taken away.
        if profile not in profiles() and not all_grants().filter(profile=profile).exists():
            raise CommandError(f"--profile: Choose one of {', '.join(profiles())}.")
        grant = all_grants().filter(profile=profile, **who).first()
        if grant is None or not remove_grant(actor, grant):
            self.stdout.write(f"Nothing to remove: {describe(subject)} holds no role on "
                              f"{profile}.")
            return
        self.stdout.write(f"Removed: {grant}.")

    def _list(self) -> None:
        grants = list(all_grants())
        if not grants:
            self.stdout.write("No grants. Admins need none; give others a role with: "
                              "grant --user USERNAME --profile PROFILE --role reader|editor")
            return
        rows = [("PROFILE", "ROLE", "WHO", "GRANTED BY", "SINCE")] + [
            (grant.profile, grant.role, grant.subject,
             grant.created_by.get_username() if grant.created_by else "(command line)",
             grant.created_at.strftime("%Y-%m-%d %H:%M"))
            for grant in grants
        ]
        widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(width)
                                        for cell, width in zip(row, widths, strict=True)).rstrip())


def group_of(subject) -> bool:
    return not hasattr(subject, "get_username")


def describe(subject) -> str:
    return f"group {subject.name}" if group_of(subject) else subject.get_username()
