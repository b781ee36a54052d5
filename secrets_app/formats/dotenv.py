"""The reader of dotenv secret files (`KEY=value` lines, R6)."""

import os
import re

from django.views.decorators.debug import sensitive_variables

from secrets_app.formats.entries import FileEntry, Problem, admit
from secrets_app.validation import key_message, key_problems

DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$", re.DOTALL)


_DOUBLE_QUOTED_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$"}


@sensitive_variables()
def parse_dotenv(text: str, profile: str):
    """`KEY=value` lines: unquoted (an inline ` #` starts a comment), 'single-quoted'
    (literal) or "double-quoted" (escapes \\n \\r \\t \\" \\\\ \\$; may span lines).
    One pass over the text, whatever it holds."""
    entries, skipped, failed = [], [], []
    position, line_number = 0, 0
    while position < len(text):
        end = _line_end(text, position)
        line = text[position:end].rstrip("\r")
        line_number += 1
        start_line = line_number
        next_position = end + 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            position = next_position
            continue
        match = DOTENV_LINE.match(line)
        if not match:
            # The line's text is not echoed: it might be a value.
            failed.append(Problem(profile, f"(line {start_line})", "not a KEY=value line",
                                  start_line))
            position = next_position
            continue
        key = match.group(1)
        value_start = position + match.start(2)
        try:
            if text.startswith('"', value_start):
                value, closing = _double_quoted(text, value_start)
                line_number += text.count("\n", value_start, closing)
                next_position = _line_end(text, closing) + 1
            else:
                value = _single_line_value(match.group(2))
            if key_problems(key):
                raise ValueError(key_message(key))
        except ValueError as error:
            failed.append(Problem(profile, key, str(error), start_line))
        else:
            admit(FileEntry(profile, key, value, start_line), entries, skipped, failed)
        position = next_position
    return entries, skipped, failed


@sensitive_variables()
def last_line_wins(entries: list[FileEntry], skipped: list[Problem], failed: list[Problem]):
    """A key given on several lines has the outcome of its last line only, as a shell or
    python-dotenv would read the file: stored, or reported, once (an earlier good value is
    not stored when the last line fails)."""
    last: dict[tuple[str, str], tuple[str, FileEntry | Problem]] = {}
    outcomes = [("entry", e) for e in entries] + [("skipped", p) for p in skipped] + [
        ("failed", p) for p in failed
    ]
    for kind, outcome in sorted(outcomes, key=lambda pair: pair[1].line or 0):
        last[(outcome.profile, outcome.key)] = (kind, outcome)
    kept = sorted(last.values(), key=lambda pair: pair[1].line or 0)
    return tuple([outcome for kind, outcome in kept if kind == wanted]
                 for wanted in ("entry", "skipped", "failed"))


def _line_end(text: str, position: int) -> int:
    end = text.find("\n", position)
    return len(text) if end == -1 else end


@sensitive_variables()
def _single_line_value(rest: str) -> str:
    if rest.startswith("'"):
        end = rest.find("'", 1)
        if end == -1:
            raise ValueError("the single-quoted value is never closed")
        return rest[1:end]
    comment = re.search(r"\s#", rest)
    return (rest[:comment.start()] if comment else rest).strip()


@sensitive_variables()
def _double_quoted(text: str, opening: int) -> tuple[str, int]:
    """The value of the double-quoted string opening at `opening`, and where it closes."""
    out, index = [], opening + 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            following = text[index + 1]
            out.append(_DOUBLE_QUOTED_ESCAPES.get(following, "\\" + following))
            index += 2
            continue
        if char == '"':
            return "".join(out), index
        out.append(char)
        index += 1
    raise ValueError("the double-quoted value is never closed")


def detect_format(filename: str, text: str) -> str:
    """dotenv for `.env`-style names or `KEY=value` lines, else YAML."""
    base = os.path.basename(filename or "").lower()
    if base.endswith((".yaml", ".yml")):
        return "yaml"
    if base == ".env" or base.startswith(".env.") or base.endswith(".env"):
        return "dotenv"
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            name = stripped.split("=", 1)[0]
            return "dotenv" if DOTENV_LINE.match(stripped) and ":" not in name else "yaml"
    return "yaml"
