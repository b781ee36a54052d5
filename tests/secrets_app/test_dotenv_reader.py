"""R6: a dotenv file is read as python-dotenv reads it (the team's programs load their .env
files with it), with a line number for every problem, never interpolated, never echoed.

Where python-dotenv's reading differs from the hand-written reader it replaced, the tests
below say which reading an import now follows and why.
"""

import io
import logging
import re

import pytest
from dotenv import dotenv_values
from hypothesis import example, given, settings
from hypothesis import strategies as st

from secrets_app.formats.dotenv import LONG_RUN, NOT_A_LINE, RUN, last_line_wins, parse_dotenv
from secrets_app.formats.export import to_dotenv
from secrets_app.models import Secret
from secrets_app.services.bulk import import_file


def read(text: str):
    """({KEY: value}, {KEY or (line N): reason}, {KEY: line}) as an import would see them."""
    entries, skipped, failed = last_line_wins(*parse_dotenv(text, "default"))
    lines = {outcome.key: outcome.line for outcome in [*entries, *skipped, *failed]}
    reasons = {problem.key: problem.reason for problem in [*skipped, *failed]}
    return {entry.key: entry.value for entry in entries}, reasons, lines


def python_dotenv(text: str) -> dict:
    logging.disable(logging.WARNING)  # it logs every line it cannot parse
    try:
        return dotenv_values(stream=io.StringIO(text), interpolate=False)
    finally:
        logging.disable(logging.NOTSET)


# Each: text, what an import reads. All but the last agree with python-dotenv.
DIFFERENCES = {
    # Old reader: "# c" was the value. A blank then `#` starts a comment: the value is empty.
    "blank then # after =": ("A= # c\n", {}),
    # Old reader: single quotes were literal. python-dotenv reads \\ and \' in them.
    "single-quoted escapes": ("A='C:\\\\share'\nB='it\\'s'\nC='a\\nb'\n",
                              {"A": "C:\\share", "B": "it's", "C": "a\\nb"}),
    # Old reader: "\a" stayed two characters. python-dotenv decodes \a \b \f \v \'.
    "double-quoted escapes": ('A="\\a\\b\\f\\v\\\'"\n', {"A": "\a\b\f\v'"}),
    # Old reader: a single-quoted value had to close on its line.
    "multi-line single quotes": ("A='first\nsecond'\n", {"A": "first\nsecond"}),
    "quoted key": ("'A_KEY'=v\n", {"A_KEY": "v"}),
    # Old reader: only \n ended a line, so the value was "x\ry".
    "a lone carriage return ends a line": ("A=x\rB=y\n", {"A": "x", "B": "y"}),
    "a second byte order mark": ("\ufeffA=1\n", {"A": "1"}),
    # Old reader: text after the closing quote was dropped silently; python-dotenv skips the
    # line; an import fails it, with its key (see the test below).
    "text after the closing quote": ('A="x" junk\n', {}),
}


@pytest.mark.parametrize("text, expected", DIFFERENCES.values(), ids=DIFFERENCES.keys())
def test_R6_a_file_is_read_as_python_dotenv_reads_it(text, expected):
    values, _, _ = read(text)
    assert values == expected
    assert {k: v for k, v in python_dotenv(text).items() if v} == expected


def test_R6_escaped_dollar_in_double_quotes_is_a_dollar_as_exports_write_it():
    # python-dotenv keeps "\$" as two characters; every dotenv export so far wrote $ as \$.
    values, _, _ = read('A="a\\$b \\\\$c"\nB=\'a\\$b\'\nC=a\\$b\n')
    assert values == {"A": "a$b \\$c", "B": "a\\$b", "C": "a\\$b"}


@pytest.mark.django_db
def test_R6_nothing_is_interpolated_from_the_server_environment(admin_user, monkeypatch):
    monkeypatch.setenv("DJANGO_SECRET_KEY", "server-secret-canary-123")
    text = ("A=${DJANGO_SECRET_KEY}\nB=\"${DJANGO_SECRET_KEY}\"\nC='${DJANGO_SECRET_KEY}'\n"
            "D=${DJANGO_SECRET_KEY:-default}\nE=$DJANGO_SECRET_KEY\n")
    summary = import_file(text.encode(), user=admin_user, file_format="dotenv")
    assert summary.created == 5
    stored = {secret.name: secret.value.reveal() for secret in Secret.objects.all()}
    assert stored == {
        "A": "${DJANGO_SECRET_KEY}", "B": "${DJANGO_SECRET_KEY}", "C": "${DJANGO_SECRET_KEY}",
        "D": "${DJANGO_SECRET_KEY:-default}", "E": "$DJANGO_SECRET_KEY",
    }


def test_R6_unreadable_lines_fail_with_their_line_and_never_echo_it():
    text = (
        "sk_live_CANARY1\n"             # 1: a pasted value, no `=`
        "=CANARY2\n"                    # 2: no key
        "my-key=CANARY3\n"              # 3: not a key's shape
        'QUOTED="CANARY4" junk\n'       # 4: text after the closing quote
        "'CANARY5\nINSIDE=1\n'=x\n"     # 5-7: a quote that closes two lines later
        "GOOD=1\n"                      # 8
        "SINGLE='CANARY6\n"             # 9: never closed
    )
    entries, skipped, failed = parse_dotenv(text, "default")
    assert [(e.key, e.line) for e in entries] == [("GOOD", 8)] and skipped == []
    assert [(p.key, p.line) for p in failed] == [
        ("(line 1)", 1), ("(line 2)", 2), ("(line 3)", 3), ("QUOTED", 4), ("(line 5)", 5),
        ("SINGLE", 9),
    ]
    reasons = [p.reason for p in failed]
    assert reasons[:3] == [NOT_A_LINE] * 3
    assert reasons[3].startswith("text follows the closing double quote")
    assert reasons[4] == f"{NOT_A_LINE} (lines 5 to 7 were read as one: check the quotes)"
    assert reasons[5] == "the single-quoted value is never closed"
    assert "CANARY" not in " ".join(str(p) for p in failed)


def test_R6_line_numbers_are_the_keys_own():
    # python-dotenv's Original.line is where the blank lines before a binding start, and
    # after an unreadable line it counts a \r\n twice: the reader counts lines itself.
    text = "\n\nA=1\r\nnot a line\r\nB=2\r\n\r\nC=\"x\r\ny\"\r\n# c\r\n\r\n  D=4\rE=5\n"
    _, reasons, lines = read(text)
    assert lines == {"A": 3, "(line 4)": 4, "B": 5, "C": 7, "D": 11, "E": 12}
    assert reasons == {"(line 4)": NOT_A_LINE}


def test_R6_a_long_run_of_blanks_fails_its_entry_and_no_other():
    run = " " * RUN
    text = (f"A=a{run}b\nB=2\nC=\"x{run}y\"\n{run}D=4\nE=\"x\n{run}y\"\n"
            f"F=f{' ' * (RUN - 1)}g\nG=g{run}# comment\n#{run}x\n")
    values, reasons, _ = read(text)
    # Blanks opening a line are python-dotenv's own business (no slow search there).
    assert values == {"B": "2", "D": "4", "E": f"x\n{run}y", "F": f"f{' ' * (RUN - 1)}g"}
    assert reasons == {"A": LONG_RUN, "C": LONG_RUN, "G": LONG_RUN}


@pytest.mark.parametrize("value", ["C:\\share\\", "a\\\\b", "\\'", "a\\$b", "x\\"])
def test_R16_an_exported_backslash_reads_back_unchanged(value):
    text = to_dotenv({"A_KEY": value})
    assert read(text)[0] == {"A_KEY": value}
    if "$" not in value:  # the team's programs read it the same way
        assert python_dotenv(text) == {"A_KEY": value}


dotenv_text = st.lists(st.sampled_from(
    ["A", "B_1", "a", "=", " ", "\t", "#", "'", '"', "\\", "\n", "\r", "\r\n", "$", "x",
     "export ", "\u2028", "\x85"]
)).map("".join)


@settings(max_examples=300)
@given(text=dotenv_text)
@example(text="A=1\r\n'\r\nB=2")
@example(text="\r\r\nA=")
def test_R6_any_text_is_read_as_python_dotenv_reads_it(text):
    """Same values as python-dotenv for every well-formed key it reads, and each outcome on
    its key's own line. (python-dotenv forgets a key on a later line with no `=`; an import
    reports that line instead, without its text. A Windows line end inside quotes is a line
    end, not part of the value: compared with the file as python-dotenv reads it on Unix.)"""
    reference = python_dotenv(text.replace("\r\n", "\n"))
    values, reasons, lines = read(text)
    if "\\$" not in text and None not in reference.values():
        expected = {key: value for key, value in reference.items()
                    if re.fullmatch(r"[A-Z][A-Z0-9_]*", key) and value}
        assert {key: v for key, v in values.items() if key not in reasons} == {
            key: v for key, v in expected.items() if key not in reasons}
    text_lines = re.split(r"\r\n|\r|\n", text)
    for key, line in lines.items():
        if not key.startswith("("):
            assert re.match(rf"\s*(export\s+)?'?{key}", text_lines[line - 1])


def test_R6_a_windows_file_keeps_no_carriage_return_in_a_multi_line_value():
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n-----END OPENSSH PRIVATE KEY-----"
    text = f'SSH_PRIVATE_KEY="{key}"\r\nOTHER="a\\r\\nb"\r\n'.replace("\n", "\r\n")
    text = text.replace("\r\r\n", "\r\n")
    values, _, lines = read(text)
    assert values["SSH_PRIVATE_KEY"] == key
    assert values["OTHER"] == "a\r\nb"  # written as escapes: kept
    assert lines == {"SSH_PRIVATE_KEY": 1, "OTHER": 4}
