"""The reader of dotenv secret files (`KEY=value` lines, R6), on python-dotenv's own parser:
the team's programs read their .env files with it. Quoted values may span lines. Nothing is
interpolated (python-dotenv does that in main.py): `${VAR}` is stored as written."""

import io
import os
import re
from bisect import bisect_left, bisect_right
from itertools import accumulate, pairwise

from django.views.decorators.debug import sensitive_variables
from dotenv import parser

from secrets_app.formats.entries import FileEntry, Problem, admit, check_problem_count
from secrets_app.validation import key_message, key_problems

DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$", re.DOTALL)
NOT_A_LINE = "not a KEY=value line"
# A key python-dotenv reads that is not shaped like one is never echoed: it may be a value.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# python-dotenv's inline-comment search takes time quadratic in a run of blanks in an unquoted
# value (hours for 2 MB). A long run after text is read as one space; its entry fails.
RUN = 256
_LONG_RUN = re.compile(rf"(?<=\S)[^\S\r\n]{{{RUN},}}")
LONG_RUN = f"{RUN} or more spaces or tabs in a row: shorten the run"
# KEY=" or KEY=' (the key may be quoted, as python-dotenv allows): the key and the quote.
_QUOTED = re.compile(
    r"(?:export[^\S\r\n]+)?(')?([A-Za-z_][A-Za-z0-9_]*)(?(1)')[^\S\r\n]*=[^\S\r\n]*(['\"])")
_CLOSED = {q: re.compile(rf"{q}((?:\\.|[^{q}\\])*){q}", re.DOTALL) for q in "'\""}
# python-dotenv's escapes in double quotes, plus \$ -> $ (exports have always written it).
_ESCAPE = re.compile(r"\\([\\'\"abfnrtv$])")
_ESCAPED = dict(zip("\\'\"abfnrtv$", "\\'\"\a\b\f\n\r\t\v$", strict=True))


class _Reader(parser.Reader):
    """python-dotenv's reader without its line count (a regex search per token, and wrong for
    messages: it counts blank lines before a binding, and a \\r\\n twice after an error)."""

    def read_regex(self, regex):
        match = regex.match(self.string, self.position.chars)
        if match is None:
            raise parser.Error("read_regex: Pattern not found")
        self.position.chars = match.end()
        return match.groups()


@sensitive_variables()
def parse_dotenv(text: str, profile: str):
    r"""`KEY=value` lines as python-dotenv reads them: unquoted (` #` starts a comment),
    'single-quoted' (escapes \\ \') or "double-quoted" (\n \r \t \" \\ \' \a \b \f \v, \$)."""
    entries, skipped, failed = [], [], []
    # A file saved on Windows: its line ends are not part of a multi-line quoted value (an
    # SSH key would keep a \r on every line and stop working). An escaped \r still counts.
    text = text.replace("\r\n", "\n")
    text, long_runs = _without_long_runs(text)
    reader, line = _Reader(io.StringIO(text)), 1
    while reader.has_next():  # as parser.parse_stream, with the reader above
        binding = parser.parse_binding(reader)
        original = binding.original.string
        body = original.lstrip()
        at = line + _breaks(original[: len(original) - len(body)]) if body != original else line
        end = at + _breaks(body.rstrip("\r\n"))
        line += _breaks(original)
        check_problem_count(skipped, failed)
        key = binding.key
        if key is None and not binding.error:  # a comment, or blank lines at the end
            continue
        if binding.error or binding.value is None or not _NAME.fullmatch(key):
            failed.append(_unreadable(body, profile, at, end))
        elif bisect_right(long_runs, end) > bisect_left(long_runs, at):
            failed.append(Problem(profile, key, LONG_RUN, at))
        elif key_problems(key):
            # A mixed-case "key" is more likely a value's line (an unquoted PEM's base64):
            # said by its line number only.
            shown = key if key in (key.upper(), key.lower()) else f"(line {at})"
            failed.append(Problem(profile, shown, key_message(key), at))
        else:
            admit(FileEntry(profile, key, _value(binding.value, body), at),
                  entries, skipped, failed)
    return entries, skipped, failed


@sensitive_variables()
def _unreadable(body: str, profile: str, at: int, end: int) -> Problem:
    """Not a `KEY=value` line: said with its key if a quote is never closed or text follows
    the closing one, else by line number only. A quote may make several lines one span."""
    span = f" (lines {at} to {end} were read as one: check the quotes)" if end > at else ""
    quoted = _QUOTED.match(body)
    if not quoted:
        return Problem(profile, f"(line {at})", NOT_A_LINE + span, at)
    kind = {"'": "single", '"': "double"}[quoted.group(3)]
    reason = (f"text follows the closing {kind} quote: remove it or put it in the quotes"
              if _CLOSED[quoted.group(3)].match(body, quoted.end(3) - 1)
              else f"the {kind}-quoted value is never closed")
    return Problem(profile, quoted.group(2), reason + span, at)


@sensitive_variables()
def _value(value: str, body: str) -> str:
    """python-dotenv's value; a double-quoted one holding \\$ decoded again with it."""
    quoted = _QUOTED.match(body) if "\\$" in body else None
    if not quoted or quoted.group(3) != '"':
        return value
    raw = _CLOSED['"'].match(body, quoted.end(3) - 1).group(1)
    return _ESCAPE.sub(lambda escape: _ESCAPED[escape.group(1)], raw)


def _breaks(text: str) -> int:
    """Line breaks of the file as given, counted in the text parse_dotenv reads, where every
    \\r\\n of the file is already \\n: a \\r\\n left there was a lone \\r (a break of its
    own) before a \\r\\n, so every \\r and every \\n counts."""
    return text.count("\n") + text.count("\r")


@sensitive_variables()
def _without_long_runs(text: str) -> tuple[str, list[int]]:
    """The text with each long run after text made one space; the numbers of its lines."""
    starts = [run.start() for run in _LONG_RUN.finditer(text)]  # never inside a \r\n
    lines = accumulate((_breaks(text[a:b]) for a, b in pairwise([0, *starts])), initial=1)
    return (_LONG_RUN.sub(" ", text) if starts else text), list(lines)[1:]


@sensitive_variables()
def last_line_wins(entries: list[FileEntry], skipped: list[Problem], failed: list[Problem]):
    """A key given on several lines has the outcome of its last line only, as a shell or
    python-dotenv would read the file: stored, or reported, once (an earlier good value is
    not stored when the last line fails)."""
    outcomes = [(kind, each) for kind, group in enumerate((entries, skipped, failed))
                for each in group]
    ordered = sorted(outcomes, key=lambda pair: pair[1].line or 0)
    last = {(outcome.profile, outcome.key): (kind, outcome) for kind, outcome in ordered}
    kept = sorted(last.values(), key=lambda pair: pair[1].line or 0)
    return tuple([outcome for kind, outcome in kept if kind == wanted] for wanted in range(3))


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
