"""Text from outside (a hostile file, a database row, an HTTP request) made safe to show on an
operator's terminal or in a log: commands (R17.12) and the gunicorn access log use it. No
Django imports: gunicorn's master reads it with its configuration, before Django is set up."""


def printable(text: str, *, keep_newlines: bool = True) -> str:
    """`text` with every character that is not printable (Unicode categories C* and Z* other
    than the space: controls, DEL, C1 controls, bidi and other format characters, line and
    paragraph separators, odd spaces) shown as a Python-style escape; newlines are kept
    unless keep_newlines is False (one log record must stay one line)."""
    if text.isprintable():
        return text
    return "".join(
        char if (char == "\n" and keep_newlines) or char.isprintable() else _escape(char)
        for char in text
    )


_NAMED = {"\t": "\\t", "\r": "\\r", "\n": "\\n"}


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
