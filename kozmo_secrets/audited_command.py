"""The base of every Kozmo command (secrets_app and audit_app): what it prints cannot drive the
operator's terminal, and its audit rows say channel `cli`.

A key, a name, a file name or an error message may come from a hostile file or database row:
an escape sequence in it ("\\x1b]0;pwned\\x07") would retitle, recolour or rewrite the
terminal, a bidi control ("\\u202e") would show text reversed. So everything a command writes
through self.stdout / self.stderr, CommandError text and argparse's messages included, shows
non-printable characters as escapes (\\x1b, \\u202e); newlines stay. The few outputs that must
be exact bytes (a revealed value, an export on standard output, a progress bar's \\r) say so
with `write_raw`.
"""

import sys
import traceback

from django.core.management.base import BaseCommand, CommandParser, OutputWrapper

from audit_app.context import audit_context
from audit_app.models import Channel
from kozmo_secrets.escaping import printable


class EscapingOutputWrapper(OutputWrapper):
    """Django's stdout/stderr wrapper, escaping what it writes (before any colour style)."""

    def write(self, msg="", style_func=None, ending=None):
        super().write(printable(str(msg)), style_func, ending)

    def write_raw(self, msg="", ending=None):
        """Exactly `msg`, unescaped and unstyled: only for output that must be exact."""
        super().write(msg, lambda text: text, ending)


class _Escaping:
    """A command's stdout/stderr attribute: whatever OutputWrapper Django assigns (in
    BaseCommand.__init__, or execute() for call_command's stdout=/stderr=) is stored as an
    escaping one, so no code path of Django's or ours can print unescaped by accident."""

    def __set_name__(self, owner, name):
        self.slot = f"_escaping_{name}"

    def __get__(self, command, owner=None):
        if command is None:
            return self
        try:
            return command.__dict__[self.slot]
        except KeyError:
            raise AttributeError(f"{self.slot[10:]} is set by BaseCommand.__init__") from None

    def __set__(self, command, wrapper):
        if not isinstance(wrapper, EscapingOutputWrapper):
            if isinstance(wrapper, OutputWrapper):
                escaping = EscapingOutputWrapper(wrapper._out, wrapper.ending)
                escaping._style_func = wrapper._style_func
            else:
                escaping = EscapingOutputWrapper(wrapper)
            wrapper = escaping
        command.__dict__[self.slot] = wrapper


class _EscapingParser(CommandParser):
    """argparse writes usage, help and errors ("unrecognized arguments: ...") itself."""

    def _print_message(self, message, file=None):
        super()._print_message(printable(message) if message else message, file)


class AuditedCommand(BaseCommand):
    """A command whose output is escaped (see above) and whose audit rows say channel `cli`,
    also when run through call_command."""

    stdout = _Escaping()
    stderr = _Escaping()

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = _EscapingParser  # Django builds a CommandParser; same object
        return parser

    def run_from_argv(self, argv):
        # Django prints a CommandError through self.stderr (escaped); any other error would
        # reach the terminal as a raw traceback, which may quote the hostile input too.
        try:
            super().run_from_argv(argv)
        except Exception:
            self.stderr.write(traceback.format_exc(), ending="")
            sys.exit(1)

    def execute(self, *args, **options):
        with audit_context(channel=Channel.CLI):
            return super().execute(*args, **options)
