"""R17.12: no command lets hostile text drive the operator's terminal. Each command of
secrets_app and audit_app runs as a real `manage.py` process with hostile keys, names, file
names and arguments; no control byte or bidi control reaches its stdout or stderr, while the
escaped form (\\x1b, \\u202e) is shown."""

import io
import re
import subprocess
import sys

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError

from kozmo_secrets.audited_command import AuditedCommand, printable
from tests.helpers import ROOT, Project

TITLE = "\x1b]0;pwned\x07"  # retitles an xterm
CLEAR = "\x1b[2J\x9b31m"  # clears the screen; a C1 CSI
REVERSED = "EVIL\u202eNAME"  # shown as EVILEMAN


def yaml_quoted(text: str) -> str:
    """A YAML double-quoted scalar for `text` (a YAML file may not hold raw controls)."""
    return '"' + text.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'

FORBIDDEN = re.compile(
    rb"[\x00-\x08\x0b-\x1f\x7f]"  # C0 controls but \t \n, and DEL
    rb"|\xc2[\x80-\x9f]"  # C1 controls, UTF-8
    rb"|\xe2\x80[\x8e\x8f\xaa-\xae]|\xe2\x81[\xa6-\xa9]|\xd8\x9c"  # bidi controls
)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("escapes"))
    project.manage("migrate", "--noinput")
    project.shell(
        "from django.contrib.auth.models import User\n"
        "from secrets_app.models import Secret\n"
        "User.objects.create_superuser('ops', '', 'ops-password')\n"
        # Written around create_secret's rules: a row an older version could have stored.
        f"Secret.objects.bulk_create([Secret(name={TITLE + REVERSED!r}, key='API_KEY', "
        "value='v', category='Custom', profile='default')])\n"
    )
    return project


def run(project, *args, stdin=None):
    """The command's raw bytes: (exit status, stdout + stderr)."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=project.env, input=stdin,
        capture_output=True, timeout=300,
    )
    return result.returncode, result.stdout + result.stderr


def assert_escaped(output: bytes, *shown: str):
    found = FORBIDDEN.search(output)
    assert found is None, f"raw {found.group()!r} reaches the terminal: {output!r}"
    text = output.decode()
    for escaped in shown:
        assert escaped in text, text


def test_R17_12_import_secrets_escapes_rejected_keys_profiles_and_file_names(
    project, tmp_path
):
    path = tmp_path / f"io{TITLE}.yaml"
    path.write_text(
        f"default:\n  {yaml_quoted(TITLE)}: x\n  {yaml_quoted(REVERSED)}: y\n"
        f"  {yaml_quoted('A' + CLEAR)}: z\n{yaml_quoted('qa' + CLEAR)}:\n  API_KEY: q\n",
        encoding="utf-8",
    )
    status, output = run(project, "import_secrets", str(path))
    assert status == 1
    assert_escaped(output, r"\x1b]0;pwned\x07", r"EVIL\u202eNAME", r"\x1b[2J\x9b31m",
                   "io" + r"\x1b]0;pwned\x07" + ".yaml", "entries failed")


def test_R17_12_import_secrets_dry_run_and_missing_file(project, tmp_path):
    status, output = run(project, "import_secrets", "--dry-run", "-",
                         stdin=f"{yaml_quoted(TITLE)}: x\n".encode())
    assert status == 1
    assert_escaped(output, r"\x1b]0;pwned\x07", "Dry run of standard input")
    status, output = run(project, "import_secrets", str(tmp_path / f"gone{REVERSED}.yaml"))
    assert status == 1
    assert_escaped(output, "Cannot read", r"gone" + r"EVIL\u202eNAME")


def test_R17_12_argparse_messages_are_escaped(project):
    for command in ("import_secrets", "rotate_encryption_key", "verify_audit_log",
                    "bootstrap_admin", "create_api_token", "resolve_credential",
                    "export_secrets", "run_with_secrets"):
        args = ["--no-such-option", TITLE]
        if command == "run_with_secrets":  # everything after -- is the child's
            args = ["--profile", TITLE, "--", "true"]
        status, output = run(project, command, *args)
        assert status == 2, (command, output)
        assert_escaped(output, "usage:")


def test_R17_12_resolve_credential_escapes_the_key(project):
    status, output = run(project, "resolve_credential", TITLE + REVERSED)
    assert status == 1
    assert_escaped(output, r"\x1b]0;pwned\x07" + r"EVIL\u202eNAME")


def test_R17_12_create_api_token_escapes_user_and_name(project):
    status, output = run(project, "create_api_token", TITLE)
    assert status == 1
    assert_escaped(output, r"No user named '\x1b]0;pwned\x07'")
    status, output = run(project, "create_api_token", "ops", "--name", CLEAR)
    assert_escaped(output, r"\x1b[2J\x9b31m")


def test_R17_12_export_secrets_escapes_left_out_names_and_paths(project, tmp_path):
    status, output = run(project, "export_secrets")
    assert status == 0
    assert_escaped(output, r"Left out '\x1b]0;pwned\x07EVIL\u202eNAME'")
    status, output = run(project, "export_secrets", "--output",
                         str(tmp_path / f"missing{CLEAR}" / "out.yaml"))
    assert status == 1
    assert_escaped(output, "Cannot write", r"\x1b[2J\x9b31m")


def test_R17_12_run_with_secrets_escapes_the_program_name(project):
    status, output = run(project, "run_with_secrets", "--", f"/nonexistent/{TITLE}")
    assert status == 1
    assert_escaped(output, r"Command not found: /nonexistent/\x1b]0;pwned\x07")


def test_R17_12_bootstrap_admin_escapes_the_username(tmp_path):
    fresh = Project(tmp_path)
    fresh.manage("migrate", "--noinput")
    status, output = run(fresh, "bootstrap_admin", "--username", TITLE)
    assert status == 0
    assert_escaped(output, r"username: \x1b]0;pwned\x07")


def test_R17_12_the_rest_print_clean_output(project):
    for args in (["verify_audit_log"], ["rotate_encryption_key"], ["generate_encryption_key"]):
        status, output = run(project, *args)
        assert status == 0, output
        assert_escaped(output)
    # argparse's own complaint about a hostile argument is escaped too.
    status, output = run(project, "generate_encryption_key", TITLE)
    assert status == 2, output
    assert_escaped(output, r"unrecognized arguments: \x1b]0;pwned\x07")


# --- the one home -----------------------------------------------------------------------


def test_R17_12_every_command_of_ours_escapes_its_output():
    """A new command in secrets_app or audit_app inherits the escaping base or fails here."""
    ours = {name: app for name, app in get_commands().items()
            if app in ("secrets_app", "audit_app")}
    assert {"import_secrets", "verify_audit_log", "generate_encryption_key"} <= set(ours)
    for name, app in ours.items():
        command = load_command_class(app, name)
        assert isinstance(command, AuditedCommand), name


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text: ünïcödé, 日本語, emoji 🔑", "plain text: ünïcödé, 日本語, emoji 🔑"),
        ("two\nlines", "two\nlines"),
        ("\x1b]0;t\x07\t\r\x00\x7f", r"\x1b]0;t\x07\t\r\x00\x7f"),
        ("\x85\x9b\u2028\u2029", r"\x85\x9b\u2028\u2029"),
        ("A\u200bB \u202aX\u202c \u2066Y\u2069 \ufeff",
         r"A\u200bB \u202aX\u202c \u2066Y\u2069 \ufeff"),
        ("\U000e0041\udcff", r"\U000e0041\udcff"),
    ],
)
def test_R17_12_printable(text, shown):
    assert printable(text) == shown


@pytest.mark.django_db
def test_R17_12_call_command_streams_are_escaped_and_raw_output_is_exact(admin_user, tmp_path):
    """call_command(stdout=...) swaps the wrapper; it stays an escaping one. A revealed value
    is the one output written exactly."""
    from secrets_app.services.secrets import create_secret

    create_secret(admin_user, name="API_KEY", key="API_KEY", value=f"exact{TITLE}")
    out, err = io.StringIO(), io.StringIO()
    call_command("resolve_credential", "API_KEY", "--reveal", stdout=out, stderr=err)
    assert out.getvalue() == f"exact{TITLE}\n"
    assert err.getvalue() == "API_KEY [default]: database\n"

    path = tmp_path / "hostile.yaml"
    path.write_text(f"default:\n  {yaml_quoted(TITLE)}: x\n", encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_secrets", str(path), stdout=out, stderr=err)
    assert r"default/\x1b]0;pwned\x07 (line 2)" in out.getvalue()
    assert "\x1b" not in out.getvalue()


def test_R17_12_an_unexpected_error_is_printed_escaped():
    class Boom(AuditedCommand):
        def handle(self, *args, **options):
            raise ValueError(f"bad {TITLE}")

    err = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        Boom(stdout=io.StringIO(), stderr=err).run_from_argv(["manage.py", "boom"])
    assert exited.value.code == 1
    assert "Traceback" in err.getvalue() and r"ValueError: bad \x1b]0;pwned\x07" in err.getvalue()
    assert "\x1b" not in err.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("file_format", ["yaml", "dotenv"])
def test_R17_12_an_export_on_standard_output_is_exact(admin_user, file_format):
    from secrets_app.formats.dotenv import parse_dotenv
    from secrets_app.formats.yaml import parse_yaml
    from secrets_app.services.secrets import create_secret

    value = f"keep {TITLE} and {REVERSED}\ttab"
    create_secret(admin_user, name="API_KEY", key="API_KEY", value=value)
    out = io.StringIO()
    call_command("export_secrets", "--format", file_format, stdout=out, stderr=io.StringIO())
    parse = parse_dotenv if file_format == "dotenv" else parse_yaml
    (entry,), _, _ = parse(out.getvalue(), "default")
    assert entry.value == value
