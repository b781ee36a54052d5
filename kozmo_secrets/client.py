#!/usr/bin/env python3
"""kozmo: read credentials from a Kozmo Secrets server (GET /api/v1/credentials/, R20).

One file, Python's standard library only, Python 3.9 or newer: it also works copied alone to a
machine (`python3 client.py --help`). Installed with the project it is the `kozmo` command and
`python -m kozmo_secrets.client`. Guide: docs/client.md in the Kozmo Secrets repository.

    kozmo get KEY                   the value alone on stdout
    kozmo env [--format F]          the credentials as dotenv (default), json or yaml
    kozmo run -- CMD ARGS...        CMD with the credentials added to its environment

Configuration: KOZMO_URL, KOZMO_TOKEN and KOZMO_CA_FILE, or --url, --token and --ca-file (a flag
wins over its variable). Errors go to stderr as `kozmo: ...`, each with its own exit code:

"""

from __future__ import annotations

import argparse
import datetime
import http.client
import ipaddress
import json
import math
import os
import re
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from email.utils import parsedate_to_datetime
from typing import NamedTuple

__version__ = "1.0"

OK = 0
USAGE = 2
UNREACHABLE = 3
NOT_FOUND = 4
NOT_AUTHENTICATED = 5
REFUSED = 6
RATE_LIMITED = 7
BAD_ANSWER = 8
NOT_EXECUTABLE = 126
COMMAND_NOT_FOUND = 127
INTERRUPTED = 130

# The exit codes, for --help and the module docstring alike.
EXIT_CODES = """\
exit codes:
  0    ok (kozmo run: CMD's own exit status instead)
  2    usage or configuration: a bad option, no KOZMO_URL or KOZMO_TOKEN, an address kozmo
       will not send a token to, an unreadable --ca-file, a value the format cannot hold
  3    cannot reach the server: connection refused, DNS, no whole answer within --timeout,
       TLS, not HTTP
  4    not found: a key asked for (KEY or --keys) is in no source of the profile; without
       --keys (env, run), not one credential in the profile that the token may read
  5    not authenticated (401): the token is not valid, has expired or was revoked
  6    refused (403): keys or the profile are outside the token's scope or grants
  7    rate limited (429): still limited after one wait, or asked to wait over 60 s
  8    the server answered something else: 400, 404, a redirect, 5xx, not the expected JSON,
       an answer over 32 MiB
  126  kozmo run: CMD was found but cannot be executed
  127  kozmo run: CMD was not found
  130  interrupted (Ctrl-C)
"""
if __doc__:  # one table for the docstring and --help (under -OO there is no docstring)
    __doc__ += "\n" + EXIT_CODES

DEFAULT_TIMEOUT = 30.0
MAX_RETRY_WAIT = 60
# The most kozmo reads of an answer: credentials take kilobytes; a body beyond this is a
# broken or hostile server (exit 8), not something to hold in memory.
MAX_BODY = 32 * 1024 * 1024
ENDPOINT = "/api/v1/credentials/"
# What the server sends is checked before use: a name that is not an environment variable's
# would break a .env file or a child's environment.
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# A token is printable ASCII without spaces; anything else (a pasted line break, say) would
# make http.client raise an error that quotes the header, token included.
TOKEN_SHAPE = re.compile(r"[\x21-\x7e]+\Z")


class Failure(Exception):
    """What went wrong, for the user (printed after `kozmo: `), and the exit code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Config:
    """Where to ask, with what, and how long to wait."""

    def __init__(self, base_url: str, token: str, profile: str, timeout: float,
                 tls: ssl.SSLContext | None, profile_given: bool = True) -> None:
        self.base_url = base_url
        self.token = token
        self.profile = profile
        self.timeout = timeout
        self.tls = tls
        # False when --profile was left out and kozmo asks for `default` on its own.
        self.profile_given = profile_given


# --- configuration ------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def server_url(raw: str | None, insecure_http: bool) -> str:
    """The server's base address, checked: https, or plain http to this machine only (or with
    --insecure-http), since the token travels in every request."""
    raw = (raw or "").strip()
    if not raw:
        raise Failure(USAGE, "set KOZMO_URL to the server's address, e.g. "
                             "https://secrets.example.com, or pass --url")
    parts = urllib.parse.urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        # No guess at a scheme: guessing http would send the token in plain text.
        local = "://" not in raw and loopback_address(raw)
        if local:
            # This machine: plain http risks nothing on the way, and is what `make run`
            # serves; so it comes first.
            raise Failure(USAGE, "the server's address (KOZMO_URL or --url) must start with "
                                 "http:// or https://: use http://" + local + " for a server "
                                 "on this machine that serves plain http, as make run does, "
                                 "or https://" + local + " if it serves TLS")
        example = "https://" + raw if "://" not in raw else "https://secrets.example.com"
        raise Failure(USAGE, "the server's address (KOZMO_URL or --url) must start with "
                             "https://, e.g. " + example + " (http:// only for a server on "
                             "this machine, e.g. http://localhost:8000)")
    if parts.username is not None or parts.password is not None:
        raise Failure(USAGE, "the server's address (KOZMO_URL or --url) must not hold a user "
                             "name or password: give the token in KOZMO_TOKEN")
    if parts.query or parts.fragment:
        raise Failure(USAGE, "the server's address (KOZMO_URL or --url) must not hold a query "
                             "(?...) or fragment (#...): give only https://host[:port][/path]")
    try:
        parts.port  # noqa: B018 (raises ValueError on a port that is not a number in range)
    except ValueError:
        raise Failure(USAGE, "the port in the server's address (KOZMO_URL or --url) is not "
                             "a number from 1 to 65535") from None
    host = parts.hostname or ""
    if parts.scheme == "http" and not is_loopback(host) and not insecure_http:
        raise Failure(USAGE, "refusing to send the token over plain http to " + host + ": use "
                             "https://, or pass --insecure-http if the network between you "
                             "and the server is trusted (see docs/client.md in the Kozmo "
                             "Secrets repository)")
    return parts.scheme + "://" + parts.netloc + parts.path.rstrip("/")


def loopback_address(raw: str) -> str:
    """`raw`, an address given without a scheme, as host[:port][/path] when its host is this
    machine (localhost:8000, 127.0.0.1:8000, [::1]:8000, a bare ::1); "" otherwise."""
    try:
        host = urllib.parse.urlsplit("//" + raw).hostname or ""
    except ValueError:  # an unclosed [ and the like
        return ""
    if host and is_loopback(host):
        return raw
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return ""
    return "[" + raw + "]" if address.version == 6 and address.is_loopback else ""


def token_from(raw: str | None) -> str:
    token = (raw or "").strip()
    if not token:
        raise Failure(USAGE, "set KOZMO_TOKEN to an API token (kzs_...) or a service token "
                             "(kzsvc_...), or pass --token")
    if not TOKEN_SHAPE.match(token):
        raise Failure(USAGE, "the token (KOZMO_TOKEN or --token) holds a space, a line break "
                             "or a character outside ASCII, which no token has: copy the "
                             "key again")
    return token


def profile_from(raw: str | None) -> str:
    if raw is None:  # --profile left out
        return "default"
    profile = raw.strip()
    if not profile:
        # The server would quietly answer for `default`: an empty name is more likely a
        # variable that was not set (--profile "$PROFILE").
        raise Failure(USAGE, "--profile needs a profile name, e.g. --profile production "
                             "(leave it out for default)")
    return profile


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    if not ca_file:
        return ssl.create_default_context()
    try:
        # Only this CA is trusted then, as with curl's --cacert.
        return ssl.create_default_context(cafile=ca_file)
    except FileNotFoundError:
        raise Failure(USAGE, "the CA file " + ca_file + " (--ca-file or KOZMO_CA_FILE) does "
                             "not exist") from None
    except (ssl.SSLError, OSError) as error:
        raise Failure(USAGE, "the CA file " + ca_file + " (--ca-file or KOZMO_CA_FILE) cannot "
                             "be read as PEM certificates (" + describe(error) + ")") from None


def parse_keys(raw: str | None) -> list[str] | None:
    """--keys A,B as a list (blanks and repeats dropped); None when not given."""
    if raw is None:
        return None
    keys = []
    for name in raw.split(","):
        name = name.strip()
        if name and name not in keys:
            keys.append(name)
    if not keys:
        raise Failure(USAGE, "--keys needs at least one key name, e.g. "
                             "--keys POSTGRES_HOST,POSTGRES_PASSWORD")
    return keys


# --- the request --------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # Following a redirect would carry the token wherever it points, even from https to
    # http; the 3xx is reported instead (redirect_request answering None makes it an error).
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def describe(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def printable(text: str, limit: int = 300) -> str:
    """Server-supplied text made safe for a terminal: no control characters, a bounded length."""
    text = "".join(ch if ch.isprintable() else "?" for ch in text.strip())
    return text if len(text) <= limit else text[:limit] + "..."


def unreachable(config: Config, reason: object) -> Failure:
    where = config.base_url
    host = urllib.parse.urlsplit(where).hostname or where
    if isinstance(reason, ssl.SSLCertVerificationError):
        why = reason.verify_message or reason.reason or str(reason)
        return Failure(UNREACHABLE, "TLS error talking to " + where + ": the server's "
                       "certificate was not accepted (" + str(why) + "). If the server uses a "
                       "private CA, pass its certificate with --ca-file /path/to/ca.pem (or set "
                       "KOZMO_CA_FILE)")
    if isinstance(reason, ssl.SSLError):
        why = reason.reason or str(reason)
        hint = ""
        if why in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG",
                   "HTTP_REQUEST"):
            hint = ": the server seems to speak plain HTTP there, not https"
        return Failure(UNREACHABLE, "TLS error talking to " + where + " (" + str(why) + ")"
                       + hint + ". Check the address (KOZMO_URL or --url); for a private CA "
                       "pass --ca-file /path/to/ca.pem")
    if isinstance(reason, ConnectionRefusedError):
        return Failure(UNREACHABLE, "cannot reach " + where + ": connection refused. Is the "
                       "server running there, and is the address (KOZMO_URL or --url) right?")
    if isinstance(reason, socket.gaierror):
        return Failure(UNREACHABLE, "cannot reach " + where + ": the name " + host + " could "
                       "not be resolved (DNS: " + describe(reason) + "). Check the address "
                       "(KOZMO_URL or --url) and your network")
    if isinstance(reason, socket.timeout):
        return timed_out(config)
    if isinstance(reason, http.client.HTTPException):
        return Failure(UNREACHABLE, where + " did not answer HTTP (" + type(reason).__name__
                       + "): is it the Kozmo server, and is the scheme (https:// or http://) "
                       "right?")
    if isinstance(reason, OSError):
        return Failure(UNREACHABLE, "cannot reach " + where + ": " + describe(reason))
    return Failure(UNREACHABLE, "cannot reach " + where + ": " + str(reason))


def timed_out(config: Config) -> Failure:
    return Failure(UNREACHABLE, "timed out after " + format(config.timeout, "g") + " s waiting "
                   "for " + config.base_url + ": no complete answer in that time. Check the "
                   "address and your network, or wait longer with --timeout")


def uses_no_proxy(url: str) -> bool:
    """Plain http never goes through a proxy, nor does anything to this machine: the token
    goes to the host of KOZMO_URL and nowhere else. (A proxy for http:// would read the token
    and the values in clear; a proxy asked for localhost would reach its own machine.)"""
    parts = urllib.parse.urlsplit(url)
    return parts.scheme == "http" or is_loopback(parts.hostname or "")


def read_capped(stream) -> bytes:
    body = stream.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise Failure(BAD_ANSWER, "the server's answer is larger than "
                      + str(MAX_BODY // (1024 * 1024)) + " MiB, far more than credentials "
                      "take: is KOZMO_URL the Kozmo server's address?")
    return body


def exchange(config: Config, url: str) -> tuple[int, object, bytes]:
    """One GET: (status, headers, body), whatever the status. No deadline of its own."""
    handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
    if uses_no_proxy(url):
        handlers.append(urllib.request.ProxyHandler({}))  # replaces the one from *_proxy
    if config.tls is not None:
        handlers.append(urllib.request.HTTPSHandler(context=config.tls))
    opener = urllib.request.build_opener(*handlers)
    # The scheme is http or https: server_url refuses any other.
    request = urllib.request.Request(url, headers={  # noqa: S310
        "Authorization": "Bearer " + config.token,
        "Accept": "application/json",
        "User-Agent": "kozmo/" + __version__,
    })
    try:
        with opener.open(request, timeout=config.timeout) as response:
            return response.status, response.headers, read_capped(response)
    except urllib.error.HTTPError as error:
        try:
            return error.code, error.headers, read_capped(error)
        except (OSError, http.client.HTTPException):
            return error.code, error.headers, b""
        finally:
            error.close()
    except urllib.error.URLError as error:
        raise unreachable(config, error.reason) from None
    # Raised after the connection was made, while reading the answer.
    except (OSError, http.client.HTTPException) as error:
        raise unreachable(config, error) from None


def send(config: Config, url: str) -> tuple[int, object, bytes]:
    """One GET within --timeout as a deadline for the whole exchange: name lookup, connect,
    TLS, headers and body. A socket timeout alone bounds each read, not a server that
    trickles a byte at a time; so the exchange runs in a thread that is left behind (kozmo
    exits soon after) if it has not finished by then."""
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            outcome["answer"] = exchange(config, url)
        except BaseException as error:  # handed to the main thread as it is
            outcome["error"] = error

    worker = threading.Thread(target=work, name="kozmo-request", daemon=True)
    worker.start()
    worker.join(config.timeout)
    if worker.is_alive():
        raise timed_out(config)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["answer"]  # type: ignore[return-value]


def retry_after(headers) -> int | None:
    """Retry-After in whole seconds (delta or HTTP date), None when absent or unreadable."""
    raw = (headers.get("Retry-After") or "").strip()
    if re.fullmatch(r"[0-9]+", raw):  # ASCII digits only: '²'.isdigit() is True too
        raw = raw.lstrip("0") or "0"
        # Past 12 digits it is "too long" anyway, and int() of thousands of digits raises.
        return int(raw) if len(raw) <= 12 else 10 ** 12
    try:
        when = parsedate_to_datetime(raw)
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        return max(0, math.ceil(when.timestamp() - time.time()))
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None


class Reply(NamedTuple):
    """A 200 answer, checked."""

    credentials: dict[str, str]  # key -> value
    missing: list[str]  # keys asked for that no source holds
    # Whether `default`'s entries (and the server's environment) answered for keys the profile
    # lacks: False only when the server says so, for a token that may not read `default`.
    fallback: bool


def fetch(config: Config, keys: list[str] | None) -> Reply:
    """The credentials (key -> value), the keys the server reported missing, and whether
    `default` was asked for keys the profile lacks."""
    query = [("profile", config.profile)]
    if keys is not None:
        query.append(("keys", ",".join(keys)))
    url = config.base_url + ENDPOINT + "?" + urllib.parse.urlencode(query)
    status, headers, body = send(config, url)
    if status == 429:
        wait = retry_after(headers)
        if wait is None:
            raise Failure(RATE_LIMITED, "rate limited by the server (429), which did not say "
                                        "for how long: try again later")
        if wait > MAX_RETRY_WAIT:
            raise Failure(RATE_LIMITED, "rate limited by the server (429), which asks to wait "
                          + str(wait) + " s, longer than kozmo waits (" + str(MAX_RETRY_WAIT)
                          + " s): try again later")
        say("rate limited, retrying in " + str(wait) + " s")
        time.sleep(wait)
        status, headers, body = send(config, url)
        if status == 429:
            raise Failure(RATE_LIMITED, "still rate limited (429) after waiting " + str(wait)
                          + " s: try again later")
    try:
        reply = answer(config, url, status, headers, body)
    except RecursionError:  # JSON nested thousands deep: json.loads gives up on it
        raise Failure(BAD_ANSWER, "the server's answer (" + str(status) + ") is JSON nested "
                      "too deeply to read: is KOZMO_URL the Kozmo server's address?") from None
    if keys is not None:
        # Only what was asked for, whatever else the server sends: `run --keys A` must not
        # put a B of the server's choosing into CMD's environment.
        reply = reply._replace(credentials={key: reply.credentials[key] for key in keys
                                            if key in reply.credentials})
    return reply


def json_of(body: bytes) -> object:
    try:
        return json.loads(body.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError both are
        return None


def detail_of(data: object) -> str:
    if isinstance(data, dict) and isinstance(data.get("detail"), str):
        return printable(data["detail"])
    return ""


def answer(config: Config, url: str, status: int, headers, body: bytes) -> Reply:
    data = json_of(body)
    detail = detail_of(data)
    if status == 200:
        return credentials_of(data, headers)
    if status == 401:
        raise Failure(NOT_AUTHENTICATED, "the server did not accept the token (401"
                      + (": " + detail if detail else "") + "): it is not valid, has expired "
                      "or was revoked. Get a new one (a person: the console's Settings page; "
                      "a program: a service token from an admin) and set KOZMO_TOKEN")
    if status == 403:
        raise Failure(REFUSED, refusal(config, data, detail))
    if status == 400:
        raise Failure(BAD_ANSWER, "the server refused the request (400): "
                      + (field_messages(data) or detail or "no reason given"))
    if status == 404:
        raise Failure(BAD_ANSWER, "no credentials endpoint at " + config.base_url + ENDPOINT
                      + " (404): check that KOZMO_URL is the Kozmo server's address, and "
                      "that the server is recent enough to serve " + ENDPOINT)
    if 300 <= status < 400:
        location = printable(headers.get("Location") or "nowhere")
        raise Failure(BAD_ANSWER, "the server redirects (" + str(status) + ") to " + location
                      + "; kozmo does not follow redirects (the token would go along): set "
                      "KOZMO_URL to the address it should use")
    if status >= 500:
        later = ""
        wait = retry_after(headers)
        if wait is not None:
            later = " (it asks to retry in " + str(wait) + " s)"
        raise Failure(BAD_ANSWER, "the server failed (" + str(status)
                      + (": " + detail if detail else "") + ")" + later + ": try again "
                      "later, and tell the server's operator if it goes on")
    raise Failure(BAD_ANSWER, "unexpected answer from the server (" + str(status)
                  + (": " + detail if detail else "") + ")")


def field_messages(data: object) -> str:
    """DRF's field errors, {"keys": ["..."]}, as one line."""
    if not isinstance(data, dict):
        return ""
    parts = []
    for field, messages in data.items():
        if isinstance(messages, str):
            messages = [messages]
        if isinstance(messages, list):
            text = " ".join(str(message) for message in messages)
            parts.append(printable(str(field) + ": " + text))
    return "; ".join(parts)


def refusal(config: Config, data: object, detail: str) -> str:
    """Which of the question was refused, from the body's `refused` list: keys by profile (an
    older server names `default` for a key the profile lacks), or whole profiles (no keys
    named: every key of a profile the token may not read)."""
    refused = data.get("refused") if isinstance(data, dict) else None
    keys_by_profile: dict[str, list[str]] = {}
    whole_profiles: list[str] = []
    for entry in refused if isinstance(refused, list) else []:
        if not isinstance(entry, dict):
            continue
        profile = printable(str(entry.get("profile") or config.profile))
        if entry.get("key"):
            keys_by_profile.setdefault(profile, []).append(printable(str(entry["key"])))
        elif profile not in whole_profiles:
            whole_profiles.append(profile)
    what = [", ".join(keys) + " in profile " + profile
            for profile, keys in keys_by_profile.items()]
    what += ["profile " + profile for profile in whole_profiles]
    if not what:
        return ("refused (403): " + (detail or "the server gave no reason") + ". Ask an admin "
                "whether this token may read profile " + printable(config.profile)
                + " from where you are")
    advice = []
    if not config.profile_given and "default" in set(keys_by_profile) | set(whole_profiles):
        # kozmo chose `default`; the user may not know there is a choice. kozmo cannot know
        # which profiles the token reads, so it names the one the token was made for.
        advice.append("--profile was left out, so kozmo asked for profile default: name "
                      + profile_to_name(config) + " with --profile NAME.")
    elif whole_profiles:
        advice.append("Check --profile: name " + profile_to_name(config) + ", or ask an "
                      "admin to add " + ", ".join(whole_profiles) + " to the service token's "
                      "profiles or your grants.")
    if keys_by_profile:
        advice.append("Ask an admin to widen the service token's scope or your grants, or "
                      "leave those keys out.")
    return ("refused (403): the token may not read " + "; ".join(what) + ". "
            + " ".join(advice)).rstrip(".")


def profile_to_name(config: Config) -> str:
    """The profile to pass, as well as kozmo can tell without knowing the token's scope."""
    if config.token.startswith("kzsvc_"):
        return "the profile the service token was made for"
    return "a profile you hold a grant on"


def credentials_of(data: object, headers) -> Reply:
    where = "the server's answer"
    if data is None:
        kind = printable(headers.get("Content-Type") or "no Content-Type")
        raise Failure(BAD_ANSWER, where + " is not JSON (" + kind + "): is KOZMO_URL the "
                      "Kozmo server's address?")
    if not isinstance(data, dict) or not isinstance(data.get("credentials"), dict):
        raise Failure(BAD_ANSWER, where + " has no credentials: is KOZMO_URL the Kozmo "
                      "server's address?")
    credentials = {}
    for key, entry in data["credentials"].items():
        if not ENV_NAME.match(key):
            raise Failure(BAD_ANSWER, where + " holds a key that is no variable name: "
                          + ascii(key))
        value = entry.get("value") if isinstance(entry, dict) else None
        if not isinstance(value, str):
            raise Failure(BAD_ANSWER, where + " has no text value for " + key)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, which JSON can carry and UTF-8 cannot
            raise Failure(BAD_ANSWER, where + " has a value for " + key + " that is not "
                          "valid Unicode text") from None
        credentials[key] = value
    missing = data.get("missing") or []
    if not isinstance(missing, list):
        raise Failure(BAD_ANSWER, where + "'s missing is not a list")
    # An older server sends no `fallback`: then `default` was asked, as it always was.
    return Reply(credentials, [name for name in missing if isinstance(name, str)],
                 data.get("fallback") is not False)


def default_not_asked(config: Config, reply: Reply) -> bool:
    """Whether the server skipped `default` for keys the profile lacks (the token may not
    read it), so that a key only `default` holds was not found."""
    return not reply.fallback and config.profile != "default"


DEFAULT_NOT_ASKED = "default's entries were not asked: this token may not read default"


def require_all(config: Config, keys: list[str] | None, reply: Reply) -> None:
    """With keys named, every one must be there: nothing is printed or run otherwise.
    Without, there must be at least one credential (exit 4 too): an empty answer is a wrong
    profile or a scope that matches nothing stored far more often than a wish."""
    profile = printable(config.profile)
    if keys is None:
        if reply.credentials:
            return
        raise Failure(NOT_FOUND, "no credentials in profile " + profile + " that this token "
                      "may read" + (" (" + DEFAULT_NOT_ASKED + ")"
                                    if default_not_asked(config, reply) else "")
                      + ". Check the profile (--profile), and ask an admin which keys the "
                      "token's scope covers there")
    absent = [key for key in keys if key in reply.missing or key not in reply.credentials]
    if not absent:
        return
    them = "it" if len(absent) == 1 else "them"
    if default_not_asked(config, reply):
        why = (DEFAULT_NOT_ASKED + ". Check the spelling, or ask an admin to store " + them
               + " in " + profile)
    else:
        why = "no source holds " + them + "; check the spelling and the profile"
    raise Failure(NOT_FOUND, "not found in profile " + profile + ": "
                  + printable(", ".join(absent)) + " (" + why + ")")


# --- output formats -----------------------------------------------------------------------

# python-dotenv decodes exactly these escapes inside double quotes.
_DOTENV_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t",
                   "\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v"}


# Nothing a shell or python-dotenv would read differently inside single quotes.
_PLAIN_IN_SINGLE_QUOTES = re.compile(r"[^'\\\x00-\x1f\x7f-\x9f]*\Z")


def dotenv(credentials: dict[str, str]) -> str:
    """KEY='value' lines that python-dotenv (dotenv_values, load_dotenv) reads back
    unchanged, one per key, and that a shell sourcing the file (`set -a; . ./app.env`) reads
    as the same text, never running any of it. A value holding a quote, a backslash or a
    control character goes in double quotes with python-dotenv's escapes; if it also holds
    `$(` or a backtick, which a shell would run there, it is refused."""
    lines = []
    for key in sorted(credentials):
        value = credentials[key]
        if "${" in value:
            # python-dotenv expands ${NAME} in every value, quoted or not, and has no escape
            # for it: the file would not give the value back.
            raise Failure(USAGE, key + "'s value holds '${', which python-dotenv expands even "
                          "inside quotes, so a .env file cannot carry it unchanged: use "
                          "--format json or yaml, or kozmo run, or leave it out with --keys")
        if _PLAIN_IN_SINGLE_QUOTES.match(value):
            lines.append(key + "='" + value + "'\n")
            continue
        if "$(" in value or "`" in value:
            raise Failure(USAGE, key + "'s value holds a quote, a backslash or a control "
                          "character, and also '$(' or a backtick: a shell sourcing the .env "
                          "file would run that part. Use --format json or yaml, or kozmo "
                          "run, or leave it out with --keys")
        quoted = "".join(_DOTENV_ESCAPES.get(ch, ch) for ch in value)
        lines.append(key + '="' + quoted + '"\n')
    return "".join(lines)


_C1_AND_DEL = re.compile("[\x7f-\x9f]")


def as_json(credentials: dict[str, str]) -> str:
    # json.dumps escapes C0 only: DEL and C1 (U+009B is CSI to a terminal) as \u00XX too,
    # which every JSON reader decodes back (they can only be inside strings here).
    text = json.dumps(credentials, ensure_ascii=False, indent=2, sort_keys=True)
    return _C1_AND_DEL.sub(lambda match: "\\u" + format(ord(match.group()), "04x"),
                           text) + "\n"


_YAML_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def yaml_quoted(text: str) -> str:
    """A YAML double-quoted scalar. Every character that is not printable is escaped by its
    code point (\\x, \\u, \\U: never JSON's surrogate pairs, which PyYAML reads as two
    characters), so no reader sees a raw control, BOM, NEL or line separator."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in _YAML_ESCAPES:
            out.append(_YAML_ESCAPES[ch])
        elif 0x20 <= code < 0x7F or (code >= 0xA0 and ch.isprintable()):
            out.append(ch)
        elif code <= 0xFF:
            out.append("\\x" + format(code, "02x"))
        elif code <= 0xFFFF:
            out.append("\\u" + format(code, "04x"))
        else:
            out.append("\\U" + format(code, "08x"))
    out.append('"')
    return "".join(out)


def as_yaml(credentials: dict[str, str]) -> str:
    if not credentials:
        return "{}\n"
    # Keys are quoted too: YAML 1.1 (PyYAML) reads a bare NO, ON or Y as a boolean.
    return "".join(yaml_quoted(key) + ": " + yaml_quoted(credentials[key]) + "\n"
                   for key in sorted(credentials))


FORMATS = {"dotenv": dotenv, "json": as_json, "yaml": as_yaml}


# --- variables kozmo run does not set ----------------------------------------------------

# Names that change how programs start or where their code is found: set from a credential,
# they would let whoever may edit a profile run code on every host that runs `kozmo run`.
# Drawn from what sudo's env_reset removes and glibc's UNSECURE_ENVVARS (for setuid programs),
# plus the interpreters' own start-up variables. Compared in upper case (Windows ignores case).
_UNSAFE_ENV_NAMES = frozenset({
    # where programs are found, and the shells' start-up and prompt code
    "PATH", "IFS", "ENV", "BASH_ENV", "SHELLOPTS", "BASHOPTS", "PS0", "PS1", "PS2", "PS4",
    "PROMPT_COMMAND", "CDPATH", "GLOBIGNORE", "FPATH", "ZDOTDIR", "NULLCMD", "READNULLCMD",
    "PATHEXT", "COMSPEC",
    # the dynamic loader of other systems (LD_*, DYLD_* and _RLD* are prefixes below)
    "LIBPATH", "SHLIB_PATH",
    # the C library: character sets, messages, locales, name resolution, malloc, tunables
    "GCONV_PATH", "GETCONF_DIR", "LOCPATH", "NLSPATH", "PATH_LOCALE", "HOSTALIASES",
    "LOCALDOMAIN", "RES_OPTIONS", "RESOLV_HOST_CONF", "NIS_PATH", "GLIBC_TUNABLES",
    # interpreters: where modules come from and what runs first (PYTHON* is a prefix below)
    "PERL5LIB", "PERL5OPT", "PERLLIB", "PERL5DB", "PERLIO_DEBUG",
    "RUBYOPT", "RUBYLIB", "GEM_HOME", "GEM_PATH",
    "NODE_OPTIONS", "NODE_PATH",
    "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH", "JAVA_HOME",
    "LUA_INIT", "LUA_PATH", "LUA_CPATH", "PHPRC", "PHP_INI_SCAN_DIR", "TCLLIBPATH",
    "DOTNET_STARTUP_HOOKS", "CORECLR_PROFILER", "CORECLR_PROFILER_PATH",
    # the rest of sudo's env_reset list: terminal databases, temp prefixes, Kerberos
    "TERMINFO", "TERMINFO_DIRS", "TERMPATH", "TERMCAP", "TMPPREFIX", "KRB5_CONFIG",
    "KRB5_KTNAME",
    # read by every program of a kind, and choosing code: any git (under pip, go, npm),
    # OpenSSL's modules, less's filters, package indexes, Go's toolexec, XDG config trees,
    # ssh's askpass
    "GIT_CONFIG", "GIT_CONFIG_COUNT", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM", "GIT_EXEC_PATH", "GIT_TEMPLATE_DIR", "GIT_SSH", "GIT_SSH_COMMAND",
    "GIT_ASKPASS", "GIT_PROXY_COMMAND", "GIT_EXTERNAL_DIFF", "GIT_PAGER", "GIT_EDITOR",
    "OPENSSL_CONF", "OPENSSL_MODULES", "OPENSSL_ENGINES", "LESSOPEN", "LESSCLOSE",
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONFIG_FILE",
    "UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_INDEX", "UV_DEFAULT_INDEX", "UV_CONFIG_FILE",
    "GOFLAGS", "GOPROXY", "GONOSUMDB", "GONOSUMCHECK", "GOINSECURE", "GOPRIVATE",
    "XDG_CONFIG_HOME", "XDG_CONFIG_DIRS", "XDG_DATA_HOME", "XDG_DATA_DIRS",
    "SSH_ASKPASS", "SSH_ASKPASS_REQUIRE", "SSH_AUTH_SOCK",
    # what the child trusts over TLS (with a proxy from the same profile, an editor could
    # read its traffic)
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS", "NODE_TLS_REJECT_UNAUTHORIZED", "GIT_SSL_NO_VERIFY",
    "GIT_SSL_CAINFO", "GIT_SSL_CAPATH",
})
_UNSAFE_ENV_PREFIXES = ("LD_", "DYLD_", "_RLD", "MALLOC_", "PYTHON", "BASH_FUNC_",
                        "LUA_INIT_", "LUA_PATH_", "LUA_CPATH_", "GIT_CONFIG_KEY_",
                        "GIT_CONFIG_VALUE_", "NPM_CONFIG_", "YARN_", "BUNDLE_")
# Where the child's requests go: any <scheme>_PROXY (Python, curl and others read them).
_UNSAFE_ENV_SUFFIXES = ("_PROXY",)


def is_unsafe_env_name(name: str) -> bool:
    """True for an environment variable that changes how programs start or where their code
    is found (PATH, LD_PRELOAD, PYTHONPATH, BASH_ENV, NODE_OPTIONS...): `kozmo run` does not
    set one from a credential unless --allow-env names it. TMPDIR, HOME and a program's own
    settings (EDITOR) are not in the list: see docs/client.md."""
    upper = name.upper()
    return (upper in _UNSAFE_ENV_NAMES or upper.startswith(_UNSAFE_ENV_PREFIXES)
            or upper.endswith(_UNSAFE_ENV_SUFFIXES))


# --- commands -----------------------------------------------------------------------------


def say(message: str) -> None:
    sys.stderr.write("kozmo: " + message + "\n")
    sys.stderr.flush()


def write_out(text: str) -> None:
    # UTF-8 whatever the locale: a value is bytes to pass on, not text for this terminal.
    sys.stdout.flush()
    stream = getattr(sys.stdout, "buffer", None)
    if stream is None:
        sys.stdout.write(text)
    else:
        stream.write(text.encode("utf-8"))
    sys.stdout.flush()


def command_get(config: Config, args: argparse.Namespace) -> int:
    key = args.key.strip()
    if not key or "," in key:
        raise Failure(USAGE, "kozmo get takes one key name, e.g. kozmo get POSTGRES_HOST (for "
                             "several: kozmo env --keys A,B)")
    reply = fetch(config, [key])
    require_all(config, [key], reply)
    write_out(reply.credentials[key] + ("" if args.no_newline else "\n"))
    return OK


def stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # no stdout, or a closed one
        return False


def raw_control(value: str) -> bool:
    """Whether dotenv() writes a control character (C0, DEL, C1: ESC, CSI...) as it is."""
    return any((ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F) and ch not in _DOTENV_ESCAPES
               for ch in value)


def command_env(config: Config, args: argparse.Namespace) -> int:
    keys = parse_keys(args.keys)
    reply = fetch(config, keys)
    require_all(config, keys, reply)
    credentials = reply.credentials
    if args.format == "dotenv" and stdout_is_terminal():
        # python-dotenv has no escape for ESC and its kin: raw, they would drive the terminal
        # (title, screen, clipboard). To a file or a pipe the output is data, written whole.
        for key in sorted(credentials):
            if raw_control(credentials[key]):
                raise Failure(USAGE, key + "'s value holds a control character (such as ESC) "
                              "that dotenv cannot escape, and stdout is a terminal: redirect "
                              "to a file (kozmo env > .env), or use --format json or yaml")
    write_out(FORMATS[args.format](credentials))
    return OK


def command_run(config: Config, args: argparse.Namespace) -> int:
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise Failure(USAGE, "name the command to run after --, e.g. "
                             "kozmo run -- ./manage.py migrate")
    keys = parse_keys(args.keys)
    reply = fetch(config, keys)
    require_all(config, keys, reply)
    credentials = reply.credentials
    for key, value in credentials.items():
        if "\0" in value:
            raise Failure(BAD_ANSWER, key + "'s value holds a NUL character, which no "
                          "environment variable can: read it with kozmo get instead")
    allowed = set(args.allow_env or ())
    unsafe = sorted(key for key in credentials
                    if is_unsafe_env_name(key) and key not in allowed)
    if unsafe:
        # Names only (they passed ENV_NAME), never values.
        say("not setting " + ", ".join(unsafe) + " in CMD's environment: "
            + ("it changes" if len(unsafe) == 1 else "they change") + " how programs start "
            "or where they are found (--allow-env NAME sets one on purpose)")
    # The child gets the credentials, not the key to all of them (KOZMO_TOKEN).
    env = {name: value for name, value in os.environ.items() if name != "KOZMO_TOKEN"}
    env.update((key, value) for key, value in credentials.items()
               if key not in unsafe and key != "KOZMO_TOKEN")
    return execute(command, env)


def execute(command: list[str], env: dict[str, str]) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        if os.name != "posix":  # no exec there that keeps the status: wait for the child
            return subprocess.call(command, env=env)  # noqa: S603 (the user's own command)
        # exec: CMD takes this process over, so signals and the exit status are its own.
        os.execvpe(command[0], command, env)  # noqa: S606 (the user's own command)
    except FileNotFoundError:
        raise Failure(COMMAND_NOT_FOUND, command[0] + ": command not found (check the name "
                      "and PATH)") from None
    except PermissionError:
        raise Failure(NOT_EXECUTABLE, command[0] + ": cannot be executed (permission "
                      "denied, or a directory)") from None
    except OSError as error:
        raise Failure(NOT_EXECUTABLE, command[0] + ": cannot be executed ("
                      + describe(error) + ")") from None
    return OK  # not reached: execvpe returns only by raising


# --- the command line ---------------------------------------------------------------------


def positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < 86400:  # NaN fails this too
        raise argparse.ArgumentTypeError("give a number of seconds above 0, e.g. 30")
    return seconds


def env_name(text: str) -> str:
    name = text.strip()
    if not ENV_NAME.match(name):
        raise argparse.ArgumentTypeError("give one variable name, e.g. --allow-env PATH")
    return name


def shared_options(with_defaults: bool) -> argparse.ArgumentParser:
    """Options accepted before or after the command. After it they default to SUPPRESS so
    that, when left out there, they do not overwrite what was given before it."""
    def default(value):
        return value if with_defaults else argparse.SUPPRESS

    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("server and token")
    group.add_argument("--url", default=default(None),
                       help="the server's address, e.g. https://secrets.example.com "
                            "(default: KOZMO_URL)")
    group.add_argument("--token", default=default(None),
                       help="an API or service token (default: KOZMO_TOKEN, which is safer: "
                            "a command line is visible to other users of this machine)")
    group.add_argument("--profile", default=default(None),
                       help="the profile to read (default: default)")
    group.add_argument("--ca-file", default=default(None), metavar="PEM",
                       help="trust only this CA's certificates, for a server with a private "
                            "CA (default: KOZMO_CA_FILE)")
    group.add_argument("--timeout", type=positive_seconds, metavar="SECONDS",
                       default=default(DEFAULT_TIMEOUT),
                       help="the most seconds the whole exchange with the server may take "
                            "(default: 30)")
    group.add_argument("--insecure-http", action="store_true", default=default(False),
                       help="allow plain http:// to a host other than this machine (the token "
                            "and the values then cross the network unencrypted)")
    return parser


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    # Descriptions wrapped to the terminal; the epilog (the exit code table) kept as written.
    def _fill_text(self, text, width, indent):
        if text.startswith("exit codes:"):
            return super()._fill_text(text, width, indent)
        return textwrap.fill(text, width, initial_indent=indent, subsequent_indent=indent)


def build_parser() -> argparse.ArgumentParser:
    formatter = _HelpFormatter
    parser = argparse.ArgumentParser(
        prog="kozmo", formatter_class=formatter, parents=[shared_options(True)],
        description="Read credentials from a Kozmo Secrets server. Configure it with "
                    "KOZMO_URL and KOZMO_TOKEN (or --url and --token). Guide: docs/client.md in "
                    "the Kozmo Secrets repository.",
        epilog=EXIT_CODES)
    parser.add_argument("--version", action="version", version="kozmo " + __version__)
    commands = parser.add_subparsers(dest="command_name", metavar="COMMAND")
    commands.required = True
    later = [shared_options(False)]

    get = commands.add_parser(
        "get", parents=later, formatter_class=formatter, epilog=EXIT_CODES,
        help="print one value", description="Print KEY's value alone on stdout, followed by "
        "one newline (none with --no-newline).")
    get.add_argument("key", metavar="KEY")
    get.add_argument("-n", "--no-newline", action="store_true",
                     help="print exactly the value, without the newline after it")
    get.set_defaults(handler=command_get)

    env = commands.add_parser(
        "env", parents=later, formatter_class=formatter, epilog=EXIT_CODES,
        help="print the credentials as dotenv, json or yaml",
        description="Print every credential the token may read in the profile (or those of "
        "--keys) on stdout. dotenv: KEY=\"value\" lines for python-dotenv (a value holding "
        "'${' is refused: python-dotenv would expand it); json: {\"KEY\": \"value\"}; yaml: a "
        "mapping of double-quoted strings.")
    env.add_argument("--keys", metavar="A,B", help="only these keys; any of them missing is an "
                     "error (exit 4) and nothing is printed")
    env.add_argument("--format", choices=sorted(FORMATS), default="dotenv",
                     help="output format (default: dotenv)")
    env.set_defaults(handler=command_env)

    run = commands.add_parser(
        "run", parents=later, formatter_class=formatter, epilog=EXIT_CODES,
        help="run a command with the credentials in its environment",
        usage="kozmo run [options] [--keys A,B] -- CMD [ARGS...]",
        description="Run CMD with the credentials added to the current environment (they "
        "override variables of the same name). KOZMO_TOKEN is removed from CMD's environment: "
        "CMD gets the values, not the token. Credentials that change how programs start or "
        "where they are found (PATH, IFS, BASH_ENV, LD_*, DYLD_*, PYTHON*, NODE_OPTIONS...) are "
        "not set, with a warning naming them, unless --allow-env names them. kozmo then "
        "becomes CMD (exec), so the exit status and signals are CMD's own; no value is "
        "printed.")
    run.add_argument("--keys", metavar="A,B", help="only these keys; any of them missing is an "
                     "error (exit 4) and CMD is not run")
    run.add_argument("--allow-env", action="append", type=env_name, metavar="NAME",
                     help="set NAME from its credential even though it changes how programs "
                          "start (PATH, LD_*, PYTHON*...: not set by default; repeatable)")
    run.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS...]")
    run.set_defaults(handler=command_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    token = None
    try:
        args = build_parser().parse_args(argv)
        token = args.token or os.environ.get("KOZMO_TOKEN")
        insecure = args.insecure_http
        config = Config(
            base_url=server_url(args.url or os.environ.get("KOZMO_URL"), insecure),
            token=token_from(token),
            profile=profile_from(args.profile),
            timeout=args.timeout,
            tls=None,
            profile_given=args.profile is not None,
        )
        if config.base_url.startswith("https://"):
            config.tls = tls_context(args.ca_file or os.environ.get("KOZMO_CA_FILE"))
        return args.handler(config, args)
    except Failure as failure:
        message = failure.message
        if token and token.strip():
            # No message is built from the token, and this makes sure of it.
            message = message.replace(token.strip(), "[the token]")
        say(message)
        return failure.code
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:
        # The reader went away (kozmo env | head): stop quietly, as shell tools do, without
        # Python's complaint about the failed flush at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
