#!/usr/bin/env python3
"""Loopback emulator of Google's OAuth 2.0 and Calendar v3 APIs for kc-meet tests.

Standard library only (Python 3.11+).  It serves:

* ``GET  /o/oauth2/v2/auth``          consent page (like accounts.google.com)
* ``POST /o/oauth2/v2/auth/decide``   the consent form's target -> 302 to redirect_uri
* ``POST /token``                     authorization_code / refresh_token grants
* ``POST /revoke``                    token revocation (GET is accepted too, like Google)
* ``GET  /calendar/v3/calendars/{id}`` calendars.get
* ``/calendar/v3/calendars/{id}/events[...]`` events insert/get/patch/update/delete/list/watch
  (incremental sync, push notifications to web hooks)
* ``POST /calendar/v3/channels/stop`` channels.stop
* ``/__emu/...``                      JSON control API (never faulted, never logged)

Run ``python3 google_emulator.py --help`` for the command line; see README.md
beside this file for the control API.  All state lives in memory inside one
:class:`State` object guarded by a single lock.  Secrets (codes, tokens, client
secrets) are never written to the log nor exposed by the control API.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import hmac
import html
import io
import itertools
import json
import os
import queue
import re
import secrets
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
import zoneinfo
from dataclasses import dataclass, field
from datetime import date as Date, datetime, timedelta, timezone
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, quote, unquote, unquote_plus, urlsplit

# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------

CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar"
CALENDAR_READONLY_SCOPE = "https://www.googleapis.com/auth/calendar.readonly"
CALENDAR_EVENTS_SCOPE = "https://www.googleapis.com/auth/calendar.events"
CALENDAR_EVENTS_READONLY_SCOPE = "https://www.googleapis.com/auth/calendar.events.readonly"
#: Scopes Google accepts for the events methods (any one of them).
EVENTS_WRITE_SCOPES = frozenset({CALENDAR_SCOPE, CALENDAR_EVENTS_SCOPE})
EVENTS_READ_SCOPES = EVENTS_WRITE_SCOPES | {CALENDAR_READONLY_SCOPE, CALENDAR_EVENTS_READONLY_SCOPE}
#: Google expands these short scope names to full URIs in what it returns.
SCOPE_ALIASES = {
    "email": "https://www.googleapis.com/auth/userinfo.email",
    "profile": "https://www.googleapis.com/auth/userinfo.profile",
}
DEFAULT_EMAIL = "doctor@example.com"
CODE_PREFIX = "4/0"
ACCESS_TOKEN_PREFIX = "ya29.emu-"
REFRESH_TOKEN_PREFIX = "1//emu-"

DEFAULT_CONFIG: dict[str, Any] = {
    "access_token_ttl": 3599,           # seconds, "expires_in" of issued tokens
    "code_ttl": 600,                    # seconds an authorization code stays valid
    "rotate_refresh_tokens": False,     # refresh grant also returns a new refresh token
    "refresh_token_only_on_consent": True,   # as Google: no refresh token on a re-consent without prompt=consent
    "account_timezones": {},            # email -> IANA zone for calendars.get / events.list
    "conference_pending_reads": 0,      # events.get reads a new Meet conference stays "pending"
    "allow_http_webhooks": False,       # events.watch accepts http://127.0.0.1 / localhost
    "push_enabled": True,               # send push notifications to watch channels
    "latency_s": 0,                     # sleep before answering every Google request
    "sync_token_ttl": 0,                # seconds a sync token stays valid; 0 = forever
    "sync_deleted_minimal": False,      # incremental sync: cancelled events as {kind,etag,id,status}
    "max_results_cap": 2500,            # events.list pages hold at most this many (Google may return fewer than asked)
    "conference_outcome": "success",    # what a pending Meet conference turns into: "success" or "failure"
    "push_retry_delays_s": [0.2, 0.4, 0.8],  # Google retries a push answered 500/502/503/504, with backoff
}

OAUTH_JSON = "application/json; charset=utf-8"      # accounts / oauth2 endpoints
GOOGLE_API_JSON = "application/json; charset=UTF-8"  # googleapis.com APIs
HTML = "text/html; charset=utf-8"
CONTROL_JSON = "application/json"

#: Query / form keys whose values are secrets and are redacted in the request log.
SECRET_KEYS = frozenset({
    "token", "code", "access_token", "refresh_token", "client_secret",
    "code_verifier", "id_token", "assertion", "key", "password",
})

UNAUTHENTICATED_MESSAGE = (
    "Request had invalid authentication credentials. Expected OAuth 2 access "
    "token, login cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)

#: status -> (message, reason, status string, domain) for Google API error bodies.
GOOGLE_STATUS_DEFAULTS: dict[int, tuple[str, str, str | None, str]] = {
    400: ("Bad Request", "badRequest", "INVALID_ARGUMENT", "global"),
    403: ("The request is forbidden.", "forbidden", "PERMISSION_DENIED", "global"),
    404: ("Not Found", "notFound", None, "global"),
    409: ("The requested identifier already exists.", "duplicate", "ALREADY_EXISTS", "global"),
    410: ("Resource has been deleted", "deleted", "NOT_FOUND", "global"),
    412: ("Precondition Failed", "conditionNotMet", "FAILED_PRECONDITION", "global"),
    429: ("Rate Limit Exceeded", "rateLimitExceeded", "RESOURCE_EXHAUSTED", "usageLimits"),
    500: ("Backend Error", "backendError", "INTERNAL", "global"),
    502: ("Bad Gateway", "backendError", "UNAVAILABLE", "global"),
    503: ("The service is currently unavailable.", "backendError", "UNAVAILABLE", "global"),
    504: ("Deadline exceeded.", "backendError", "DEADLINE_EXCEEDED", "global"),
}

#: What Calendar accepts as an attendee address: one "@", no spaces or angle brackets, and a
#: dotted domain ("a@localhost", "Name <a@b.c>", "a@@b.c", "a@b" are refused with 400).
ATTENDEE_EMAIL_RE = re.compile(r"[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
_PKCE_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


# --------------------------------------------------------------------------
# Responses and Google error-body helpers
# --------------------------------------------------------------------------

@dataclass
class Response:
    """A fully built HTTP response (built first, sent later, so it can be dropped)."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


class HttpError(Exception):
    """Raised by handlers to short-circuit with a prepared :class:`Response`."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


class OAuthError(Exception):
    """An OAuth endpoint error: ``{"error": ..., "error_description": ...}``."""

    def __init__(self, status: int, error: str, description: str):
        super().__init__(error)
        self.status, self.error, self.description = status, error, description

    def response(self) -> Response:
        return oauth_json(self.status, {"error": self.error, "error_description": self.description})


class AuthorizeError(Exception):
    """An authorization-endpoint error, rendered by Google as an HTML error page."""

    def __init__(self, label: int, error: str, description: str):
        super().__init__(error)
        self.label, self.error, self.description = label, error, description


class ControlError(Exception):
    """A control-API error: ``{"error": message}`` with the given status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class CalendarError(Exception):
    """A Calendar v3 error: Google's ``{"error": {code, message, errors: [..]}}`` body.

    Calendar's backend errors carry no ``status`` string (unlike the ESF 401/403 answers).
    In the control API (the "Google Calendar UI" endpoints) it becomes ``{"error", "reason"}``.
    """

    def __init__(self, code: int, reason: str, message: str, domain: str = "global",
                 status: str | None = None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.domain, self.status = domain, status

    def response(self) -> Response:
        return google_error(self.code, self.message,
                            [{"domain": self.domain, "reason": self.reason, "message": self.message}],
                            self.status)


def invalid(message: str, reason: str = "invalid") -> CalendarError:
    """A 400 Calendar error (reason ``invalid`` unless given)."""
    return CalendarError(400, reason, message)


def event_not_found() -> CalendarError:
    return CalendarError(404, "notFound", "Not Found")


def json_response(status: int, obj: Any, content_type: str, *, indent: int | None = 2,
                  headers: list[tuple[str, str]] | None = None) -> Response:
    """Serialize *obj* as JSON with the given content type."""
    body = json.dumps(obj, indent=indent).encode("utf-8")
    if indent:
        body += b"\n"
    return Response(status, body, [("Content-Type", content_type)] + list(headers or []))


def oauth_json(status: int, obj: Any) -> Response:
    """A response of Google's OAuth endpoints (token, revoke): never cacheable."""
    return json_response(status, obj, OAUTH_JSON,
                         headers=[("Cache-Control", "no-store"), ("Pragma", "no-cache")])


def control_json(status: int, obj: Any) -> Response:
    """A control-API response (compact JSON)."""
    return json_response(status, obj, CONTROL_JSON, indent=None)


def google_error_body(code: int, message: str, errors: list[dict[str, Any]],
                      status: str | None) -> dict[str, Any]:
    """The ``{"error": {...}}`` shape of googleapis.com errors."""
    err: dict[str, Any] = {"code": code, "message": message, "errors": errors}
    if status is not None:
        err["status"] = status
    return {"error": err}


def google_error(code: int, message: str, errors: list[dict[str, Any]], status: str | None,
                 headers: list[tuple[str, str]] | None = None) -> Response:
    """A googleapis.com error response."""
    return json_response(code, google_error_body(code, message, errors, status),
                         GOOGLE_API_JSON, headers=headers)


def calendar_not_found() -> Response:
    """Calendar v3's 404 body (note: Calendar omits ``status`` here)."""
    return google_error(404, "Not Found",
                        [{"domain": "global", "reason": "notFound", "message": "Not Found"}], None)


def calendar_unauthenticated() -> Response:
    """The 401 Google APIs answer for a missing/invalid/expired/revoked token."""
    return google_error(
        401, UNAUTHENTICATED_MESSAGE,
        [{"message": "Invalid Credentials", "domain": "global", "reason": "authError",
          "location": "Authorization", "locationType": "header"}],
        "UNAUTHENTICATED",
        headers=[("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/", error="invalid_token"')],
    )


def calendar_insufficient_scope(required: set[str]) -> Response:
    """The 403 Google APIs answer when the token's grant lacks a required scope."""
    scope = " ".join(sorted(required))
    return google_error(
        403, "Request had insufficient authentication scopes.",
        [{"message": "Insufficient Permission", "domain": "global", "reason": "insufficientPermissions"}],
        "PERMISSION_DENIED",
        headers=[("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/", '
                                      f'error="insufficient_scope", scope="{scope}"')],
    )


def default_google_error_body(status: int) -> dict[str, Any]:
    """Default body of a ``status`` fault: Google's JSON error shape for *status*."""
    if status == 401:
        return google_error_body(401, UNAUTHENTICATED_MESSAGE,
                                 [{"message": "Invalid Credentials", "domain": "global",
                                   "reason": "authError", "location": "Authorization",
                                   "locationType": "header"}], "UNAUTHENTICATED")
    if status in GOOGLE_STATUS_DEFAULTS:
        message, reason, status_str, domain = GOOGLE_STATUS_DEFAULTS[status]
    else:
        try:
            message = HTTPStatus(status).phrase
        except ValueError:
            message = "Error"
        reason = "backendError" if status >= 500 else "badRequest"
        status_str, domain = "UNKNOWN", "global"
    return google_error_body(status, message,
                             [{"message": message, "domain": domain, "reason": reason}], status_str)


#: reason -> (domain, message) of Calendar's usage-limit errors, exactly as Calendar answers them
#: (https://developers.google.com/calendar/api/guides/errors: 403 and 429, no ``status`` string).
#: A fault with ``"reason"`` answers its status with this body.
USAGE_LIMIT_REASONS: dict[str, tuple[str, str]] = {
    "rateLimitExceeded": ("usageLimits", "Rate Limit Exceeded"),
    "userRateLimitExceeded": ("usageLimits", "User Rate Limit Exceeded"),
    "quotaExceeded": ("usageLimits", "Calendar usage limits exceeded."),
    "dailyLimitExceeded": ("usageLimits", "Daily Limit Exceeded"),
}

#: The statuses Calendar answers each usage-limit reason with (the errors guide: 403 for all of
#: them, 429 "Too many requests" for rateLimitExceeded only).
USAGE_LIMIT_STATUSES: dict[str, tuple[int, ...]] = {
    "rateLimitExceeded": (403, 429),
    "userRateLimitExceeded": (403,),
    "quotaExceeded": (403,),
    "dailyLimitExceeded": (403,),
}


def usage_limit_body(status: int, reason: str) -> dict[str, Any]:
    domain, message = USAGE_LIMIT_REASONS[reason]
    return google_error_body(status, message, [{"domain": domain, "reason": reason, "message": message}], None)


def html_response(status: int, title: str, body_html: str,
                  headers: list[tuple[str, str]] | None = None) -> Response:
    """A small HTML page."""
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title></head>\n<body>\n{body_html}\n</body></html>\n")
    return Response(status, page.encode("utf-8"), [("Content-Type", HTML)] + list(headers or []))


def authorize_error_page(err: AuthorizeError) -> Response:
    """Google's "Access blocked" page; always HTTP 400 like the spec requires."""
    heading = ("Access blocked: Authorization Error" if err.error == "invalid_client"
               else "Access blocked: This app\u2019s request is invalid")
    body = (f"<h1>{html.escape(heading)}</h1>\n"
            f'<p id="error-description">{html.escape(err.description)}</p>\n'
            f'<p id="error-code">Error {err.label}: {html.escape(err.error)}</p>')
    return html_response(400, "Sign in - Google Accounts", body,
                         headers=[("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")])


def redirect_response(location: str) -> Response:
    """A 302 like Google's (small HTML body, Location header)."""
    esc = html.escape(location)
    body = ('<HTML><HEAD><meta http-equiv="content-type" content="text/html;charset=utf-8">\n'
            f'<TITLE>302 Moved</TITLE></HEAD><BODY>\n<H1>302 Moved</H1>\nThe document has moved\n'
            f'<A HREF="{esc}">here</A>.\r\n</BODY></HTML>\r\n')
    return Response(302, body.encode("utf-8"), [("Location", location), ("Content-Type", HTML),
                                                 ("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")])


def not_found_html() -> Response:
    """Google front-end 404 for paths that are not an API at all."""
    return html_response(404, "Error 404 (Not Found)!!1",
                         "<p><b>404.</b> <ins>That\u2019s an error.</ins></p>\n"
                         "<p>The requested URL was not found on this server. <ins>That\u2019s all we know.</ins></p>")


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------

def b64url(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def s256(verifier: str) -> str:
    """PKCE S256 transform of a code verifier."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def first(params: dict[str, list[str]], name: str) -> str | None:
    """First value of *name* in a parse_qs-style dict, or None."""
    values = params.get(name)
    return values[0] if values else None


def append_query(uri: str, pairs: list[tuple[str, str]]) -> str:
    """Append URL-encoded *pairs* to *uri*, keeping an existing query (``&``) and fragment."""
    base, hash_, fragment = uri.partition("#")
    encoded = "&".join(f"{quote(k, safe='')}={quote(v, safe='/:')}" for k, v in pairs)
    if "?" in base:
        sep = "" if base.endswith(("?", "&")) else "&"
    else:
        sep = "?"
    return base + sep + encoded + (hash_ + fragment if hash_ else "")


def split_scopes(value: str | None) -> list[str]:
    """Split a space-separated scope string, dropping duplicates, keeping order."""
    out: list[str] = []
    for scope in (value or "").split():
        if scope not in out:
            out.append(scope)
    return out


def expand_scopes(scopes: list[str]) -> list[str]:
    """Replace Google's scope aliases (email, profile) by full URIs, deduplicated."""
    out: list[str] = []
    for scope in scopes:
        scope = SCOPE_ALIASES.get(scope, scope)
        if scope not in out:
            out.append(scope)
    return out


def stable_digits(text: str, n: int) -> str:
    """*n* decimal digits derived deterministically from *text*."""
    value = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest(), "big")
    return str(value % (10 ** n)).rjust(n, "1")


def redact(params: dict[str, list[str]]) -> dict[str, Any]:
    """A loggable copy of a query dict: single values unwrapped, secrets hidden."""
    out: dict[str, Any] = {}
    for key, values in params.items():
        vals = ["[redacted]" if key in SECRET_KEYS else v for v in values]
        out[key] = vals[0] if len(vals) == 1 else vals
    return out


# ---- Calendar time values -----------------------------------------------------

_RFC3339_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})?$")
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_EVENT_ID_RE = re.compile(r"^[a-v0-9]{5,1024}$")
BASE32HEX = "0123456789abcdefghijklmnopqrstuv"
MEET_ICON = ("https://fonts.gstatic.com/s/i/productlogo/meet_2020q4/v6/web-512dp/"
             "logo_meet_2020q4_color_2x_web_512dp.png")
SEND_UPDATES = ("all", "externalOnly", "none")
STATUSES = ("confirmed", "tentative", "cancelled")
#: events.list parameters that cannot be combined with syncToken.
SYNC_RESTRICTIONS = ("timeMin", "timeMax", "updatedMin", "privateExtendedProperty",
                     "sharedExtendedProperty", "orderBy", "q", "iCalUID")
#: Parameters a follow-up page request may leave out or change: everything else must be sent
#: again exactly as for the first page ("pageToken ... all other parameters must be the same").
PAGE_FREE_PARAMS = frozenset({"pageToken", "fields", "prettyPrint", "alt", "quotaUser", "key"})
MAX_CHANNEL_TTL_S = 30 * 86400
DEFAULT_CHANNEL_TTL_S = 7 * 86400
PUSH_USER_AGENT = "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)"


def parse_rfc3339(value: Any) -> datetime | None:
    """An RFC 3339 date-time: aware if it has an offset (or Z), naive if not; None if malformed."""
    if not isinstance(value, str):
        return None
    m = _RFC3339_RE.match(value)
    if m is None:
        return None
    y, mo, d, hh, mi, ss = (int(g) for g in m.groups()[:6])
    frac, off = m.group(7), m.group(8)
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    tz: timezone | None = None
    if off:
        if off in ("Z", "z"):
            tz = timezone.utc
        else:
            oh, om = int(off[1:3]), int(off[4:6])
            if oh > 23 or om > 59:
                return None
            delta = timedelta(hours=oh, minutes=om)
            tz = timezone(delta if off[0] == "+" else -delta)
    try:
        return datetime(y, mo, d, hh, mi, ss, micro, tzinfo=tz)
    except ValueError:
        return None


def parse_date(value: Any) -> Date | None:
    if not isinstance(value, str) or not _DATE_RE.match(value):
        return None
    try:
        return Date.fromisoformat(value)
    except ValueError:
        return None


def load_zone(name: Any) -> zoneinfo.ZoneInfo | None:
    """The IANA zone *name*, or None if it is not a valid zone."""
    if not isinstance(name, str) or not name or not re.match(r"^[A-Za-z0-9_+\-/]+$", name):
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return None


def rfc3339_ms(ms: int) -> str:
    """UTC RFC 3339 with milliseconds, e.g. ``2026-11-30T21:00:00.123Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def random_event_id() -> str:
    """What Google picks when the client gives no id: 26 base32hex characters."""
    return "".join(secrets.choice(BASE32HEX) for _ in range(26))


def random_meet_code() -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    part = lambda n: "".join(secrets.choice(letters) for _ in range(n))  # noqa: E731
    return f"{part(3)}-{part(4)}-{part(3)}"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


# --------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------

@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: list[str]


@dataclass
class AuthRequest:
    """A validated authorization request (query of /o/oauth2/v2/auth)."""

    client_id: str
    redirect_uri: str
    scopes: list[str]
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    access_type: str
    login_hint: str | None
    prompt: list[str]
    include_granted_scopes: bool


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    email: str
    scopes: list[str]
    code_challenge: str | None
    code_challenge_method: str | None
    access_type: str
    prompt: list[str]
    expires_at: float
    minted: bool = False
    used: bool = False
    grant_id: str | None = None


@dataclass
class AccessToken:
    grant_id: str
    expires_at: float


@dataclass
class Grant:
    """One authorization (one exchanged code) and every token derived from it."""

    id: str
    client_id: str
    email: str
    scopes: list[str]
    access_type: str
    created: float
    refresh_tokens: list[str] = field(default_factory=list)
    access_tokens: list[str] = field(default_factory=list)
    revoked: bool = False
    refresh_count: int = 0

    def public(self) -> dict[str, Any]:
        """Control-API view: no secrets."""
        return {"id": self.id, "client_id": self.client_id, "email": self.email,
                "scopes": list(self.scopes), "access_type": self.access_type,
                "has_refresh_token": bool(self.refresh_tokens), "revoked": self.revoked,
                "refresh_count": self.refresh_count,
                "access_tokens_issued": len(self.access_tokens), "created": self.created}


@dataclass
class Fault:
    id: int
    method: str | None
    path: str
    times: int
    remaining: int
    action: str
    status: int
    body: Any
    headers: dict[str, str]
    delay_s: float
    hits: int = 0

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "method": self.method, "path": self.path, "times": self.times,
                "remaining": None if self.times == 0 else self.remaining, "action": self.action,
                "status": self.status, "body": self.body, "headers": self.headers,
                "delay_s": self.delay_s, "hits": self.hits}


@dataclass
class EventRec:
    """One stored event. ``fields`` holds the client's fields (server-managed ones excluded)."""

    id: str
    fields: dict[str, Any]
    status: str
    created_ms: int
    updated_ms: int = 0
    sequence: int = 0
    #: None, or {"requestId", "type", "code", "status": "pending"|"success", "pending_left"}
    #: for a conference made from a createRequest, or {"given": {...}} for copied data.
    conference: dict[str, Any] | None = None
    mod: int = 0                    # global modification counter value of the last change
    start_ts: float = 0.0           # instants for timeMin/timeMax filtering
    end_ts: float = 0.0


@dataclass
class CalendarData:
    """The primary calendar of one account."""

    key: str                        # lower-cased email
    email: str
    resource_id: str                # events collection id used by watch channels
    events: dict[str, EventRec] = field(default_factory=dict)
    epoch: int = 0                  # bumped by /__emu/invalidate_sync_tokens


@dataclass
class Channel:
    """A push-notification channel (events.watch)."""

    id: str
    resource_id: str
    calendar_key: str
    resource_uri: str
    address: str
    token: str | None
    expiration_ms: int
    client_id: str
    created: float
    queue: "queue.Queue[Any]" = field(default_factory=queue.Queue)
    stopped: bool = False
    purged: bool = False            # set by reset: pending deliveries are dropped
    message_number: int = 0
    held: list = field(default_factory=list)  # messages a "hold" push fault delays (out of order)

    def live(self, now_ms: int) -> bool:
        return not self.stopped and not self.purged and self.expiration_ms > now_ms

    def public(self, now_ms: int) -> dict[str, Any]:
        return {"id": self.id, "resource_id": self.resource_id, "calendar": self.calendar_key,
                "resource_uri": self.resource_uri, "address": self.address,
                "has_token": self.token is not None, "expiration": self.expiration_ms,
                "stopped": self.stopped, "expired": self.expiration_ms <= now_ms,
                "messages": self.message_number, "client_id": self.client_id}


#: Event keys the server owns; values given by clients are ignored.
SERVER_EVENT_KEYS = frozenset({"kind", "etag", "id", "status", "htmlLink", "created", "updated",
                               "creator", "organizer", "iCalUID", "sequence", "hangoutLink",
                               "conferenceData"})
#: Changes to these bump ``sequence``.
SEQUENCE_KEYS = ("start", "end", "location", "summary")


def _no_redirect_opener() -> urllib.request.OpenerDirector:
    """urllib opener for web-hook deliveries: no proxies, no redirects, self-signed TLS OK."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                       urllib.request.HTTPSHandler(context=ctx), NoRedirect())


FAULT_ACTIONS = ("status", "delay", "reset", "reset_after")


class State:
    """All emulator state, guarded by one re-entrant lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._token_key = secrets.token_bytes(32)   # signs page / sync tokens
        self._last_ms = 0                            # "updated" strictly increases, even across resets
        self._generation = 0                         # bumped by reset: old tokens become invalid
        self.channels: list[Channel] = []
        self._opener = _no_redirect_opener()
        # Every secret value this process issued or was given (kind, value): kept across
        # /__emu/reset so a test run can check that none of them leaked anywhere.
        self.issued_secrets: list[dict[str, str]] = []
        self.reset()

    def remember_secret(self, kind: str, value: str | None) -> None:
        if value:
            with self.lock:
                self.issued_secrets.append({"kind": kind, "value": value})

    # ---- lifecycle / config -------------------------------------------

    def reset(self) -> None:
        """Forget everything: clients, codes, grants, tokens, faults, log, config."""
        with self.lock:
            self.clients: dict[str, Client] = {}
            self.codes: dict[str, AuthCode] = {}
            self.grants: dict[str, Grant] = {}
            self.access_tokens: dict[str, AccessToken] = {}
            self.refresh_tokens: dict[str, str] = {}
            self.faults: list[Fault] = []
            self.requests: list[dict[str, Any]] = []
            self.config: dict[str, Any] = json.loads(json.dumps(DEFAULT_CONFIG))
            self._seq = 0
            self._grant_seq = 0
            self._fault_seq = 0
            for ch in self.channels:
                ch.purged = True
                ch.queue.put(None)
            self.channels = []
            self.calendars: dict[str, CalendarData] = {}
            self.deliveries: list[dict[str, Any]] = []
            self.push_faults: list[dict[str, Any]] = []
            self.notifications: list[dict[str, Any]] = []
            self._mod_seq = 0
            self._generation += 1

    def register_client(self, data: dict[str, Any]) -> dict[str, Any]:
        client_id = data.get("client_id")
        secret = data.get("client_secret")
        uris = data.get("redirect_uris", [])
        if not isinstance(client_id, str) or not client_id:
            raise ControlError(400, "client_id must be a non-empty string")
        if not isinstance(secret, str):
            raise ControlError(400, "client_secret must be a string")
        if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
            raise ControlError(400, "redirect_uris must be a list of strings")
        with self.lock:
            self.clients[client_id] = Client(client_id, secret, list(uris))
            self.remember_secret("client_secret", secret)
        return {"client_id": client_id, "redirect_uris": list(uris)}

    def list_clients(self) -> list[dict[str, Any]]:
        with self.lock:
            return [{"client_id": c.client_id, "redirect_uris": list(c.redirect_uris)}
                    for c in self.clients.values()]

    def update_config(self, data: dict[str, Any]) -> dict[str, Any]:
        """Merge *data* into the config (``account_timezones`` is merged key by key)."""
        checks: dict[str, Callable[[Any], bool]] = {
            "access_token_ttl": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
            "code_ttl": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0,
            "rotate_refresh_tokens": lambda v: isinstance(v, bool),
            "refresh_token_only_on_consent": lambda v: isinstance(v, bool),
            "account_timezones": lambda v: isinstance(v, dict) and all(
                isinstance(k, str) and (isinstance(z, str) or z is None) for k, z in v.items()),
            "conference_pending_reads": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
            "allow_http_webhooks": lambda v: isinstance(v, bool),
            "push_enabled": lambda v: isinstance(v, bool),
            "latency_s": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0,
            "sync_token_ttl": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0,
            "sync_deleted_minimal": lambda v: isinstance(v, bool),
            "max_results_cap": lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 2500,
            "conference_outcome": lambda v: v in ("success", "failure"),
            "push_retry_delays_s": lambda v: isinstance(v, list) and len(v) <= 10 and all(
                isinstance(d, (int, float)) and not isinstance(d, bool) and 0 <= d <= 60 for d in v),
        }
        for key, value in data.items():
            if key not in checks:
                raise ControlError(400, f"unknown config key: {key}")
            if not checks[key](value):
                raise ControlError(400, f"invalid value for config key: {key}")
        with self.lock:
            for key, value in data.items():
                if key == "account_timezones":
                    for email, zone in value.items():
                        if zone is None:
                            self.config[key].pop(email.lower(), None)
                        else:
                            self.config[key][email.lower()] = zone
                else:
                    self.config[key] = value
            return json.loads(json.dumps(self.config))

    def timezone_of(self, email: str) -> str:
        with self.lock:
            return self.config["account_timezones"].get(email.lower(), "UTC")

    def config_value(self, key: str) -> Any:
        with self.lock:
            return self.config[key]

    # ---- authorization endpoint -----------------------------------------

    def validate_authorize(self, params: dict[str, list[str]]) -> AuthRequest:
        """Validate an authorization request like accounts.google.com; raise AuthorizeError."""
        client_id = first(params, "client_id")
        if not client_id:
            raise AuthorizeError(400, "invalid_request", "Missing required parameter: client_id")
        with self.lock:
            client = self.clients.get(client_id)
            if client is None:
                raise AuthorizeError(401, "invalid_client", "The OAuth client was not found.")
            registered = list(client.redirect_uris)
        redirect_uri = first(params, "redirect_uri")
        if not redirect_uri:
            raise AuthorizeError(400, "invalid_request", "Missing required parameter: redirect_uri")
        if redirect_uri not in registered:
            raise AuthorizeError(
                400, "redirect_uri_mismatch",
                "You can\u2019t sign in to this app because it doesn\u2019t comply with Google\u2019s "
                f"OAuth 2.0 policy. Request details: redirect_uri={redirect_uri}")
        response_type = first(params, "response_type")
        if not response_type:
            raise AuthorizeError(400, "invalid_request", "Missing required parameter: response_type")
        if response_type != "code":
            raise AuthorizeError(400, "invalid_request", f"Invalid response_type: {response_type}")
        scopes = split_scopes(first(params, "scope"))
        if not scopes:
            raise AuthorizeError(400, "invalid_request", "Missing required parameter: scope")
        challenge = first(params, "code_challenge")
        method = first(params, "code_challenge_method")
        if challenge is not None:
            method = method or "plain"  # Google's (and RFC 7636's) default
            if method not in ("S256", "plain"):
                raise AuthorizeError(400, "invalid_request",
                                     f"Invalid code_challenge_method: {method}")
            if not _PKCE_RE.match(challenge):
                raise AuthorizeError(400, "invalid_request", "Invalid code_challenge.")
        elif method is not None:
            raise AuthorizeError(400, "invalid_request", "Missing required parameter: code_challenge")
        access_type = first(params, "access_type") or "online"
        if access_type not in ("online", "offline"):
            raise AuthorizeError(400, "invalid_request", f"Invalid access_type: {access_type}")
        prompt = (first(params, "prompt") or "").split()
        for p in prompt:
            if p not in ("none", "consent", "select_account"):
                raise AuthorizeError(400, "invalid_request", f"Invalid prompt: {p}")
        if "none" in prompt and len(prompt) > 1:
            raise AuthorizeError(400, "invalid_request",
                                 "prompt=none must not be combined with other values")
        return AuthRequest(
            client_id=client_id, redirect_uri=redirect_uri, scopes=scopes,
            state=first(params, "state"), code_challenge=challenge,
            code_challenge_method=method if challenge is not None else None,
            access_type=access_type, login_hint=first(params, "login_hint"), prompt=prompt,
            include_granted_scopes=(first(params, "include_granted_scopes") == "true"))

    def decide(self, areq: AuthRequest, email: str, decision: str,
               granted: list[str] | None) -> str:
        """Apply the user's decision and return the redirect Location."""
        if decision == "deny":
            pairs = [("error", "access_denied")]
            if areq.state is not None:
                pairs.append(("state", areq.state))
            return append_query(areq.redirect_uri, pairs)
        if decision != "allow":
            raise AuthorizeError(400, "invalid_request", f"Invalid decision: {decision}")
        email = email.strip()
        if "@" not in email:
            raise AuthorizeError(400, "invalid_request", f"Invalid email: {email}")
        if granted is not None:
            unknown = [s for s in granted if s not in areq.scopes]
            if unknown:
                raise AuthorizeError(400, "invalid_request",
                                     "granted_scopes must be a subset of the requested scopes: "
                                     + " ".join(unknown))
            scopes = [s for s in areq.scopes if s in granted]
        else:
            scopes = list(areq.scopes)
        scopes = expand_scopes(scopes)
        with self.lock:
            if areq.include_granted_scopes:
                for grant in self.grants.values():
                    if (grant.client_id == areq.client_id and grant.email.lower() == email.lower()
                            and not grant.revoked):
                        scopes += [s for s in grant.scopes if s not in scopes]
            code = self._new_code(AuthCode(
                client_id=areq.client_id, redirect_uri=areq.redirect_uri, email=email,
                scopes=scopes, code_challenge=areq.code_challenge,
                code_challenge_method=areq.code_challenge_method, access_type=areq.access_type,
                prompt=list(areq.prompt), expires_at=0.0))
        pairs = []
        if areq.state is not None:
            pairs.append(("state", areq.state))
        pairs += [("code", code), ("scope", " ".join(scopes)),
                  ("authuser", "0"), ("prompt", "consent")]
        return append_query(areq.redirect_uri, pairs)

    def _new_code(self, rec: AuthCode) -> str:
        with self.lock:
            rec.expires_at = time.time() + float(self.config["code_ttl"])
            code = CODE_PREFIX + secrets.token_urlsafe(30)
            self.codes[code] = rec
            self.remember_secret("code", code)
            return code

    def mint_code(self, data: dict[str, Any]) -> str:
        """Control API: a code as Google Identity Services' popup flow produces (no PKCE)."""
        client_id = data.get("client_id")
        email = data.get("email", DEFAULT_EMAIL)
        scopes = data.get("scopes")
        redirect_uri = data.get("redirect_uri", "postmessage")
        access_type = data.get("access_type", "offline")
        # The popup's own prompt: without "consent" Google issues no new refresh token to an
        # account that already granted one (see refresh_token_only_on_consent).
        prompt = data.get("prompt", "consent")
        if not isinstance(prompt, str):
            raise ControlError(400, "prompt must be a string (space-separated values, may be empty)")
        if isinstance(scopes, str):
            scopes = split_scopes(scopes)
        if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) for s in scopes):
            raise ControlError(400, "scopes must be a non-empty list of strings")
        if not isinstance(email, str) or "@" not in email:
            raise ControlError(400, "email must be an email address")
        if access_type not in ("online", "offline"):
            raise ControlError(400, "access_type must be online or offline")
        with self.lock:
            client = self.clients.get(client_id) if isinstance(client_id, str) else None
            if client is None:
                raise ControlError(400, "unknown client_id")
            if redirect_uri != "postmessage" and redirect_uri not in client.redirect_uris:
                raise ControlError(400, "redirect_uri must be 'postmessage' or a registered URI")
            return self._new_code(AuthCode(
                client_id=client_id, redirect_uri=redirect_uri, email=email,
                scopes=expand_scopes(split_scopes(" ".join(scopes))), code_challenge=None,
                code_challenge_method=None, access_type=access_type, prompt=prompt.split(),
                expires_at=0.0, minted=True))

    # ---- token endpoint ------------------------------------------------

    def authenticate_client(self, client_id: str | None, secret: str | None) -> Client:
        """Check client credentials; raise OAuthError like Google's token endpoint."""
        if not client_id:
            raise OAuthError(400, "invalid_request", "Could not determine client ID from request.")
        with self.lock:
            client = self.clients.get(client_id)
        if client is None:
            raise OAuthError(401, "invalid_client", "Unauthorized")
        if secret is None or secret == "":
            raise OAuthError(400, "invalid_request", "client_secret is missing.")
        if not secrets.compare_digest(secret.encode("utf-8"), client.client_secret.encode("utf-8")):
            raise OAuthError(401, "invalid_client", "Unauthorized")
        return client

    def exchange_code(self, client: Client, form: dict[str, list[str]]) -> dict[str, Any]:
        """grant_type=authorization_code."""
        code = first(form, "code")
        if not code:
            raise OAuthError(400, "invalid_request", "Missing required parameter: code")
        redirect_uri = first(form, "redirect_uri")
        if not redirect_uri:
            raise OAuthError(400, "invalid_request", "Missing required parameter: redirect_uri")
        verifier = first(form, "code_verifier")
        self.remember_secret("code_verifier", verifier)
        with self.lock:
            rec = self.codes.get(code)
            if rec is None or rec.client_id != client.client_id:
                raise OAuthError(400, "invalid_grant", "Bad Request")
            if rec.used:
                # Like Google: replaying a code revokes what was issued from it.
                if rec.grant_id and rec.grant_id in self.grants:
                    self.grants[rec.grant_id].revoked = True
                raise OAuthError(400, "invalid_grant", "Bad Request")
            if time.time() >= rec.expires_at:
                raise OAuthError(400, "invalid_grant", "Bad Request")
            if redirect_uri != rec.redirect_uri:
                raise OAuthError(400, "redirect_uri_mismatch", "Bad Request")
            if rec.code_challenge is not None:
                if not verifier:
                    raise OAuthError(400, "invalid_grant", "Missing code verifier.")
                if rec.code_challenge_method == "S256":
                    ok = _PKCE_RE.match(verifier) and s256(verifier) == rec.code_challenge
                else:
                    ok = verifier == rec.code_challenge
                if not ok:
                    raise OAuthError(400, "invalid_grant", "Invalid code verifier.")
            rec.used = True
            self._grant_seq += 1
            grant = Grant(id=f"g{self._grant_seq}", client_id=rec.client_id, email=rec.email,
                          scopes=list(rec.scopes), access_type=rec.access_type, created=time.time())
            issue_refresh = rec.access_type == "offline"
            if issue_refresh and self.config["refresh_token_only_on_consent"] and "consent" not in rec.prompt:
                issue_refresh = not any(
                    g.client_id == grant.client_id and g.email.lower() == grant.email.lower()
                    and not g.revoked and g.refresh_tokens for g in self.grants.values())
            self.grants[grant.id] = grant
            rec.grant_id = grant.id
            out = self._token_response(grant, with_refresh=issue_refresh)
            return out

    def refresh(self, client: Client, form: dict[str, list[str]]) -> dict[str, Any]:
        """grant_type=refresh_token."""
        token = first(form, "refresh_token")
        if not token:
            raise OAuthError(400, "invalid_request", "Missing required parameter: refresh_token")
        with self.lock:
            grant = self.grants.get(self.refresh_tokens.get(token, ""))
            if grant is None or grant.revoked:
                raise OAuthError(400, "invalid_grant", "Token has been expired or revoked.")
            if grant.client_id != client.client_id:
                raise OAuthError(401, "unauthorized_client", "Unauthorized")
            grant.refresh_count += 1
            return self._token_response(grant, with_refresh=bool(self.config["rotate_refresh_tokens"]))

    def _token_response(self, grant: Grant, with_refresh: bool) -> dict[str, Any]:
        """Issue a new access token (and optionally refresh token) for *grant*. Lock held."""
        ttl = int(self.config["access_token_ttl"])
        access = ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.access_tokens[access] = AccessToken(grant.id, time.time() + ttl)
        grant.access_tokens.append(access)
        self.remember_secret("access_token", access)
        out: dict[str, Any] = {"access_token": access, "expires_in": ttl}
        if with_refresh:
            refresh = REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(48)
            self.refresh_tokens[refresh] = grant.id
            grant.refresh_tokens.append(refresh)
            self.remember_secret("refresh_token", refresh)
            out["refresh_token"] = refresh
        out["scope"] = " ".join(grant.scopes)
        out["token_type"] = "Bearer"
        if "openid" in grant.scopes:
            out["id_token"] = self._id_token(grant, access)
        return out

    @staticmethod
    def _id_token(grant: Grant, access_token: str) -> str:
        """An OpenID Connect ID token (JWT). Its RS256 signature is random, not verifiable."""
        now = int(time.time())
        header = {"alg": "RS256", "kid": "emulator", "typ": "JWT"}
        claims: dict[str, Any] = {
            "iss": "https://accounts.google.com", "azp": grant.client_id, "aud": grant.client_id,
            "sub": "1" + stable_digits(grant.email.lower(), 20),
            "at_hash": b64url(hashlib.sha256(access_token.encode()).digest()[:16]),
            "iat": now, "exp": now + 3600,
        }
        if SCOPE_ALIASES["email"] in grant.scopes:
            claims["email"] = grant.email
            claims["email_verified"] = True
        return ".".join([b64url(json.dumps(header, separators=(",", ":")).encode()),
                         b64url(json.dumps(claims, separators=(",", ":")).encode()),
                         b64url(secrets.token_bytes(256))])

    # ---- revocation ------------------------------------------------------

    def revoke_token(self, token: str | None) -> None:
        """Revoke the grant owning an access or refresh token; raise OAuthError if invalid."""
        if not token:
            raise OAuthError(400, "invalid_request", "Missing required parameter: token")
        with self.lock:
            grant: Grant | None = None
            at = self.access_tokens.get(token)
            if at is not None:
                grant = self.grants.get(at.grant_id)
                if grant is not None and time.time() >= at.expires_at:
                    grant = None  # an expired access token can no longer be revoked
            elif token in self.refresh_tokens:
                grant = self.grants.get(self.refresh_tokens[token])
            if grant is None or grant.revoked:
                raise OAuthError(400, "invalid_token", "Token expired or revoked")
            # Google: "the token can be an access token or a refresh token. If the token is an
            # access token and it has a corresponding refresh token, the refresh token will also
            # be revoked" -- and with it every token the user gave this client: a re-consent
            # adds tokens to the same grant, it does not make a second one.
            self._revoke_family(grant)

    def _revoke_family(self, grant: Grant) -> None:
        """Revoke every authorization of *grant*'s account for its client. Lock held."""
        for g in self.grants.values():
            if g.client_id == grant.client_id and g.email.lower() == grant.email.lower():
                g.revoked = True

    def revoke_grants_of(self, email: str, client_id: str | None = None) -> int:
        """Control API: the user removes the app's access (all grants of *email*)."""
        count = 0
        with self.lock:
            for grant in self.grants.values():
                if grant.email.lower() == email.lower() and not grant.revoked and (
                        client_id is None or grant.client_id == client_id):
                    grant.revoked = True
                    count += 1
        return count

    def expire_access_tokens(self, email: str | None) -> int:
        """Control API: make matching access tokens expired now."""
        count = 0
        now = time.time()
        with self.lock:
            for at in self.access_tokens.values():
                grant = self.grants.get(at.grant_id)
                if grant is None or (email is not None and grant.email.lower() != email.lower()):
                    continue
                if at.expires_at > now:
                    at.expires_at = now - 1
                    count += 1
        return count

    def list_grants(self) -> list[dict[str, Any]]:
        with self.lock:
            return [g.public() for g in self.grants.values()]

    # ---- bearer authentication ---------------------------------------------

    def grant_for_bearer(self, token: str | None, *, valid_only: bool = True) -> Grant | None:
        """The grant of an access token; None if unknown (or, if valid_only, expired/revoked)."""
        if not token:
            return None
        with self.lock:
            at = self.access_tokens.get(token)
            if at is None:
                return None
            grant = self.grants.get(at.grant_id)
            if grant is None:
                return None
            if valid_only and (grant.revoked or time.time() >= at.expires_at):
                return None
            return grant

    # ---- faults ------------------------------------------------------------

    def add_fault(self, data: dict[str, Any]) -> int:
        action = data.get("action", "status")
        if action not in FAULT_ACTIONS:
            raise ControlError(400, f"action must be one of {', '.join(FAULT_ACTIONS)}")
        method = data.get("method")
        if method is not None and (not isinstance(method, str) or not method):
            raise ControlError(400, "method must be a string or null")
        path = data.get("path") or "/"
        if not isinstance(path, str) or not path.startswith("/"):
            raise ControlError(400, "path must start with /")
        times = data.get("times", 1)
        if not isinstance(times, int) or isinstance(times, bool) or times < 0:
            raise ControlError(400, "times must be an integer >= 0")
        status = data.get("status", 503)
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise ControlError(400, "status must be an HTTP status code")
        headers = data.get("headers") or {}
        if not isinstance(headers, dict) or not all(
                isinstance(k, str) and isinstance(v, (str, int, float)) for k, v in headers.items()):
            raise ControlError(400, "headers must be an object of strings")
        delay = data.get("delay_s", 1.0)
        if not isinstance(delay, (int, float)) or isinstance(delay, bool) or delay < 0:
            raise ControlError(400, "delay_s must be a number >= 0")
        body = data.get("body")
        reason = data.get("reason")
        if reason is not None:
            if reason not in USAGE_LIMIT_REASONS or body is not None:
                raise ControlError(400, "reason must be one of " + ", ".join(USAGE_LIMIT_REASONS)
                                   + " (and excludes body)")
            if status not in USAGE_LIMIT_STATUSES[reason]:
                raise ControlError(400, f"Calendar answers {reason} only with status "
                                   + " or ".join(map(str, USAGE_LIMIT_STATUSES[reason])))
            body = usage_limit_body(status, reason)
        with self.lock:
            self._fault_seq += 1
            fault = Fault(id=self._fault_seq, method=method.upper() if method else None, path=path,
                          times=times, remaining=times, action=action, status=status,
                          body=body, headers={k: str(v) for k, v in headers.items()},
                          delay_s=float(delay))
            self.faults.append(fault)
            return fault.id

    def take_fault(self, method: str, path: str) -> Fault | None:
        """Consume one application of the first fault matching the request, if any."""
        with self.lock:
            for fault in self.faults:
                if fault.method is not None and fault.method != method:
                    continue
                if not path.startswith(fault.path):
                    continue
                if fault.times != 0:
                    if fault.remaining <= 0:
                        continue
                    fault.remaining -= 1
                fault.hits += 1
                return fault
        return None

    def list_faults(self) -> list[dict[str, Any]]:
        with self.lock:
            return [f.public() for f in self.faults]

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    # ---- Calendar events: storage, rendering ----------------------------------

    def calendar(self, email: str) -> CalendarData:
        """The account's calendar, created on first use."""
        key = email.lower()
        with self.lock:
            cal = self.calendars.get(key)
            if cal is None:
                alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
                cal = CalendarData(key=key, email=email,
                                   resource_id="".join(secrets.choice(alphabet) for _ in range(27)))
                self.calendars[key] = cal
            return cal

    def _next_ms(self) -> int:
        """A modification time in ms that is strictly greater than every earlier one. Lock held."""
        self._last_ms = max(int(time.time() * 1000), self._last_ms + 1)
        return self._last_ms

    @staticmethod
    def _etag(rec: EventRec) -> str:
        return f'"{rec.updated_ms * 1000:016d}"'

    def _touch(self, cal: CalendarData, rec: EventRec) -> None:
        """Record a modification of *rec*: new updated/etag, sync position, push. Lock held."""
        rec.updated_ms = self._next_ms()
        self._mod_seq += 1
        rec.mod = self._mod_seq
        self._push(cal, rec.id)

    @staticmethod
    def _conference_view(rec: EventRec) -> tuple[dict[str, Any] | None, str | None]:
        """(conferenceData, hangoutLink) of an event."""
        conf = rec.conference
        if conf is None:
            return None, None
        if "given" in conf:
            data = copy.deepcopy(conf["given"])
            eps = data.get("entryPoints") if isinstance(data, dict) else None
            link = next((ep.get("uri") for ep in eps or [] if isinstance(ep, dict)
                         and ep.get("entryPointType") == "video"), None)
            return data, link
        out: dict[str, Any] = {}
        if conf["request"]:
            create: dict[str, Any] = {}
            if conf["requestId"] is not None:
                create["requestId"] = conf["requestId"]
            create["conferenceSolutionKey"] = {"type": conf["type"]}
            create["status"] = {"statusCode": conf["status"]}
            out["createRequest"] = create
        if conf["status"] in ("pending", "failure"):
            # A failed request never gets entry points: the client must ask again.
            return out, None
        uri = "https://meet.google.com/" + conf["code"]
        out["entryPoints"] = [{"entryPointType": "video", "uri": uri,
                               "label": "meet.google.com/" + conf["code"]}]
        out["conferenceSolution"] = {"key": {"type": "hangoutsMeet"}, "name": "Google Meet",
                                     "iconUri": MEET_ICON}
        out["conferenceId"] = conf["code"]
        return out, uri

    def _render(self, cal: CalendarData, rec: EventRec, minimal: bool = False) -> dict[str, Any]:
        """The event resource, in Google's key order."""
        etag = self._etag(rec)
        if minimal:
            return {"kind": "calendar#event", "etag": etag, "id": rec.id, "status": rec.status}
        f = rec.fields
        out: dict[str, Any] = {
            "kind": "calendar#event", "etag": etag, "id": rec.id, "status": rec.status,
            "htmlLink": "https://www.google.com/calendar/event?eid="
                        + b64url(f"{rec.id} {cal.email}".encode("utf-8")),
            "created": rfc3339_ms(rec.created_ms), "updated": rfc3339_ms(rec.updated_ms)}
        for key in ("summary", "description", "location", "colorId"):
            if key in f:
                out[key] = f[key]
        out["creator"] = {"email": cal.email, "self": True}
        out["organizer"] = {"email": cal.email, "self": True}
        for key in ("start", "end", "endTimeUnspecified", "recurrence", "transparency", "visibility"):
            if key in f:
                out[key] = f[key]
        out["iCalUID"] = f"{rec.id}@google.com"
        out["sequence"] = rec.sequence
        for key in ("attendees", "guestsCanInviteOthers", "guestsCanModify",
                    "guestsCanSeeOtherGuests", "privateCopy", "extendedProperties"):
            if key in f:
                out[key] = f[key]
        conf, link = self._conference_view(rec)
        if link:
            out["hangoutLink"] = link
        if conf is not None:
            out["conferenceData"] = conf
        out["reminders"] = f.get("reminders", {"useDefault": True})
        out["eventType"] = f.get("eventType", "default")
        for key, value in f.items():
            if key not in out:
                out[key] = value
        return copy.deepcopy(out)

    # ---- Calendar events: validation --------------------------------------------

    @staticmethod
    def _client_fields(body: dict[str, Any]) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in body.items() if k not in SERVER_EVENT_KEYS}

    def _check_fields(self, cal: CalendarData, fields: dict[str, Any]) -> None:
        """Type checks; attendees get their defaults. Mutates *fields*."""
        for key in ("summary", "description", "location", "visibility", "transparency", "eventType"):
            if key in fields and not isinstance(fields[key], str):
                raise invalid(f"Invalid value for: {key}")
        if "reminders" in fields and not isinstance(fields["reminders"], dict):
            raise invalid("Invalid value for: reminders")
        if "extendedProperties" in fields:
            ext = fields["extendedProperties"]
            if not isinstance(ext, dict) or not all(
                    ns in ("private", "shared") and isinstance(props, dict)
                    and all(isinstance(v, str) for v in props.values()) for ns, props in ext.items()):
                raise invalid("Invalid value for: extendedProperties")
        if "attendees" in fields:
            attendees = fields["attendees"]
            if not isinstance(attendees, list) or not all(isinstance(a, dict) for a in attendees):
                raise invalid("Invalid value for: attendees")
            out = []
            for a in attendees:
                addr = a.get("email")
                if not isinstance(addr, str) or not addr.strip():
                    raise CalendarError(400, "required", "Missing attendee email.")
                if not ATTENDEE_EMAIL_RE.fullmatch(addr.strip()):
                    # Google refuses the whole write, it does not drop the attendee.
                    raise invalid("Invalid attendee email.")
                a = dict(a)
                a.setdefault("responseStatus", "needsAction")
                if addr.lower() == cal.key:
                    a["organizer"] = True
                    a["self"] = True
                out.append(a)
            fields["attendees"] = out

    def _event_time(self, cal: CalendarData, value: Any, label: str) -> tuple[str, datetime]:
        """("date"|"dateTime", aware instant) of an event's start or end."""
        if not isinstance(value, dict):
            raise invalid(f"Invalid {label} time.")
        zone = None
        if value.get("timeZone") is not None:
            zone = load_zone(value["timeZone"])
            if zone is None:
                raise invalid(f"Invalid time zone definition for {label} time.")
        if value.get("dateTime") is not None:
            if value.get("date") is not None:
                raise invalid(f"Invalid {label} time.")
            dt = parse_rfc3339(value["dateTime"])
            if dt is None:
                raise invalid(f"Invalid {label} time.")
            if dt.tzinfo is None:
                if zone is None:
                    raise invalid(f"Missing time zone definition for {label} time.")
                dt = dt.replace(tzinfo=zone)
            return "dateTime", dt
        d = parse_date(value.get("date"))
        if d is None:
            raise invalid(f"Invalid {label} time.")
        cal_zone = load_zone(self.config["account_timezones"].get(cal.key, "UTC")) or timezone.utc
        return "date", datetime(d.year, d.month, d.day, tzinfo=cal_zone)

    def _validate_times(self, cal: CalendarData, fields: dict[str, Any]) -> tuple[float, float]:
        for label in ("end", "start"):
            value = fields.get(label)
            if value is None or (isinstance(value, dict) and value.get("dateTime") is None
                                 and value.get("date") is None):
                raise CalendarError(400, "required", f"Missing {label} time.")
        s_kind, start = self._event_time(cal, fields["start"], "start")
        e_kind, end = self._event_time(cal, fields["end"], "end")
        if s_kind != e_kind:
            raise invalid("Start and end times must either both be date or both be dateTime.")
        if end < start or (s_kind == "date" and end == start):
            raise CalendarError(400, "timeRangeEmpty", "The specified time range is empty.")
        return start.timestamp(), end.timestamp()

    @staticmethod
    def _check_status(value: Any) -> str:
        if value not in STATUSES:
            raise invalid("Invalid value for: status")
        return value

    @staticmethod
    def _new_conference(data: Any, pending_reads: int) -> dict[str, Any] | None:
        """A conference from the body's conferenceData (conferenceDataVersion=1)."""
        if not isinstance(data, dict):
            raise invalid("Invalid conference data.")
        create = data.get("createRequest")
        if create is None:
            return {"given": copy.deepcopy(data)} if data else None
        key = create.get("conferenceSolutionKey") if isinstance(create, dict) else None
        ctype = key.get("type") if isinstance(key, dict) else None
        if ctype != "hangoutsMeet":
            raise invalid("Invalid conference type value.")
        rid = create.get("requestId")
        return {"request": True, "requestId": rid if isinstance(rid, str) else None, "type": ctype,
                "code": random_meet_code(), "status": "pending" if pending_reads > 0 else "success",
                "pending_left": pending_reads}

    def _check_if_match(self, rec: EventRec, if_match: str | None) -> None:
        if if_match is None:
            return
        tags = [t.strip().removeprefix("W/") for t in if_match.split(",")]
        if "*" not in tags and self._etag(rec) not in tags:
            raise CalendarError(412, "conditionNotMet", "Precondition Failed")

    # ---- Calendar events: e-mails Google sends to attendees ---------------------

    @staticmethod
    def _recipients(cal: CalendarData, attendees: Any) -> list[str]:
        out: list[str] = []
        for a in attendees or []:
            addr = a.get("email") if isinstance(a, dict) else None
            if (isinstance(addr, str) and not a.get("resource") and addr.lower() != cal.key
                    and addr.lower() not in (o.lower() for o in out)):
                out.append(addr)
        return out

    def _notify(self, cal: CalendarData, rec: EventRec, kind: str, recipients: list[str],
                send_updates: str) -> None:
        if send_updates == "externalOnly":
            recipients = [r for r in recipients if domain_of(r) != domain_of(cal.email)]
        elif send_updates != "all":
            return
        if recipients:
            self.notifications.append({
                "event_id": rec.id, "kind": kind, "recipients": list(recipients),
                "send_updates": send_updates, "calendar": cal.email,
                "summary": rec.fields.get("summary"), "time": time.time()})

    # ---- Calendar events: operations -----------------------------------------------

    def insert_event(self, email: str, body: dict[str, Any], *, conference_version: int,
                     send_updates: str, pending_reads: int | None = None) -> dict[str, Any]:
        """events.insert (and the UI's "create")."""
        with self.lock:
            cal = self.calendar(email)
            eid = body.get("id")
            if eid is not None:
                if not isinstance(eid, str) or not _EVENT_ID_RE.match(eid):
                    raise invalid("Invalid resource id value.")
                if eid in cal.events:  # deleted (cancelled) events keep their id
                    raise CalendarError(409, "duplicate", "The requested identifier already exists.")
            else:
                eid = random_event_id()
                while eid in cal.events:
                    eid = random_event_id()
            fields = self._client_fields(body)
            self._check_fields(cal, fields)
            start_ts, end_ts = self._validate_times(cal, fields)
            status = self._check_status(body.get("status") or "confirmed")
            conference = None
            if conference_version == 1 and body.get("conferenceData") is not None:
                reads = self.config["conference_pending_reads"] if pending_reads is None else pending_reads
                conference = self._new_conference(body["conferenceData"], reads)
                if conference and conference.get("status") == "success" and self.config["conference_outcome"] == "failure":
                    conference["status"] = "failure"
            rec = EventRec(id=eid, fields=fields, status=status, created_ms=0, conference=conference,
                           start_ts=start_ts, end_ts=end_ts)
            cal.events[eid] = rec
            self._touch(cal, rec)
            rec.created_ms = rec.updated_ms
            if status != "cancelled":
                self._notify(cal, rec, "invitation", self._recipients(cal, fields.get("attendees")),
                             send_updates)
            return self._render(cal, rec)

    def get_event(self, email: str, event_id: str) -> dict[str, Any]:
        """events.get; counts the reads of a pending conference."""
        with self.lock:
            cal = self.calendar(email)
            rec = cal.events.get(event_id)
            if rec is None:
                raise event_not_found()
            out = self._render(cal, rec)
            conf = rec.conference
            if conf is not None and conf.get("status") == "pending":
                conf["pending_left"] -= 1
                if conf["pending_left"] <= 0:
                    conf["status"] = self.config["conference_outcome"]
                    self._touch(cal, rec)
            return out

    def modify_event(self, email: str, event_id: str, body: dict[str, Any], *, replace: bool,
                     conference_version: int, send_updates: str,
                     if_match: str | None = None) -> dict[str, Any]:
        """events.patch (replace=False) / events.update (replace=True), and the UI's "move"."""
        with self.lock:
            cal = self.calendar(email)
            rec = cal.events.get(event_id)
            if rec is None:
                raise event_not_found()
            self._check_if_match(rec, if_match)
            seq = body.get("sequence")
            if isinstance(seq, int) and not isinstance(seq, bool) and seq < rec.sequence:
                raise invalid("Invalid sequence value. The specified sequence number is below "
                              "the current sequence number of the resource.")
            given = self._client_fields(body)
            if replace:
                fields = given
            else:
                fields = copy.deepcopy(rec.fields)
                for key, value in given.items():
                    if value is None:
                        fields.pop(key, None)
                    elif (key == "extendedProperties" and isinstance(value, dict)
                          and isinstance(fields.get(key), dict)):
                        merged = fields[key]
                        for ns, props in value.items():
                            if props is None:
                                merged.pop(ns, None)
                            elif isinstance(props, dict) and isinstance(merged.get(ns), dict):
                                for pk, pv in props.items():
                                    if pv is None:
                                        merged[ns].pop(pk, None)
                                    else:
                                        merged[ns][pk] = pv
                            else:
                                merged[ns] = props
                    else:
                        fields[key] = value
            self._check_fields(cal, fields)
            start_ts, end_ts = self._validate_times(cal, fields)
            status = (self._check_status(body["status"]) if body.get("status") is not None
                      else rec.status)
            conference = rec.conference
            if conference_version == 1:
                if body.get("conferenceData") is not None:
                    if conference is None:
                        conference = self._new_conference(body["conferenceData"],
                                                          self.config["conference_pending_reads"])
                elif replace or "conferenceData" in body:
                    conference = None  # update without conferenceData (or patch with null) drops it

            old_recipients = self._recipients(cal, rec.fields.get("attendees"))
            new_recipients = self._recipients(cal, fields.get("attendees"))
            time_changed = any(fields.get(k) != rec.fields.get(k) for k in ("start", "end"))
            if any(fields.get(k) != rec.fields.get(k) for k in SEQUENCE_KEYS):
                rec.sequence += 1
            old_status = rec.status
            rec.fields, rec.status, rec.conference = fields, status, conference
            rec.start_ts, rec.end_ts = start_ts, end_ts
            self._touch(cal, rec)

            if old_status != "cancelled" and status == "cancelled":
                self._notify(cal, rec, "cancellation", old_recipients, send_updates)
            elif old_status == "cancelled" and status != "cancelled":
                self._notify(cal, rec, "invitation", new_recipients, send_updates)
            elif status != "cancelled":
                old_l = {r.lower() for r in old_recipients}
                new_l = {r.lower() for r in new_recipients}
                self._notify(cal, rec, "invitation",
                             [r for r in new_recipients if r.lower() not in old_l], send_updates)
                if time_changed:
                    self._notify(cal, rec, "update",
                                 [r for r in new_recipients if r.lower() in old_l], send_updates)
                self._notify(cal, rec, "cancellation",
                             [r for r in old_recipients if r.lower() not in new_l], send_updates)
            return self._render(cal, rec)

    def delete_event(self, email: str, event_id: str, *, send_updates: str,
                     if_match: str | None = None, ui: bool = False) -> dict[str, Any]:
        """events.delete (and the UI's "delete"): the event stays, cancelled."""
        with self.lock:
            cal = self.calendar(email)
            rec = cal.events.get(event_id)
            if rec is None:
                raise event_not_found()
            self._check_if_match(rec, if_match)
            if rec.status == "cancelled":
                raise CalendarError(410, "deleted", "Resource has been deleted")
            rec.status = "cancelled"
            if ui:
                rec.sequence += 1
            self._touch(cal, rec)
            self._notify(cal, rec, "cancellation", self._recipients(cal, rec.fields.get("attendees")),
                         send_updates)
            return self._render(cal, rec)

    def edit_occurrence(self, email: str, event_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """The UI's edit of one occurrence ("This event") after the doctor made the event
        recurring: an exception instance with an id of its own (``<series id>_<original start,
        UTC basic format>``), the series' fields (private properties included) and
        ``recurringEventId`` / ``originalStartTime``, at the times given."""
        with self.lock:
            cal = self.calendar(email)
            base = cal.events.get(event_id)
            if base is None or base.status == "cancelled":
                raise event_not_found()
            iid = f"{event_id}_{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(base.start_ts))}"
            if iid in cal.events:
                raise CalendarError(409, "duplicate", "The requested identifier already exists.")
            fields = copy.deepcopy(base.fields)
            fields.update({k: copy.deepcopy(body[k]) for k in ("start", "end") if body.get(k) is not None})
            fields["recurringEventId"] = event_id
            fields["originalStartTime"] = copy.deepcopy(base.fields.get("start") or {})
            start_ts, end_ts = self._validate_times(cal, fields)
            rec = EventRec(id=iid, fields=fields, status="confirmed", created_ms=0,
                           conference=copy.deepcopy(base.conference), start_ts=start_ts, end_ts=end_ts)
            cal.events[iid] = rec
            self._touch(cal, rec)
            rec.created_ms = rec.updated_ms
            return self._render(cal, rec)

    def restore_event(self, email: str, event_id: str) -> dict[str, Any]:
        """The UI's "Undo" after a delete, or "Restore" from the bin (within 30 days): the same
        event, with its id, properties and conference, confirmed again."""
        with self.lock:
            cal = self.calendar(email)
            rec = cal.events.get(event_id)
            if rec is None:
                raise event_not_found()
            if rec.status != "cancelled":
                raise ControlError(400, "only a deleted event can be restored")
            rec.status = "confirmed"
            rec.sequence += 1
            self._touch(cal, rec)
            return self._render(cal, rec)

    def change_meet(self, email: str, event_id: str) -> dict[str, Any]:
        """The UI's "new Meet link" (adds a conference when the event has none)."""
        with self.lock:
            cal = self.calendar(email)
            rec = cal.events.get(event_id)
            if rec is None:
                raise event_not_found()
            conf = rec.conference
            if conf is None or "given" in conf:
                rec.conference = {"request": False, "requestId": None, "type": "hangoutsMeet",
                                  "code": random_meet_code(), "status": "success", "pending_left": 0}
            else:
                old = conf["code"]
                while conf["code"] == old:
                    conf["code"] = random_meet_code()
                conf["status"] = "success"
            rec.sequence += 1
            self._touch(cal, rec)
            return self._render(cal, rec)

    def all_events(self, email: str) -> list[dict[str, Any]]:
        """Control API: every event of the calendar, deleted ones too (no read is counted)."""
        with self.lock:
            cal = self.calendar(email)
            return [self._render(cal, r) for r in cal.events.values()]

    # ---- Calendar events: list / incremental sync -----------------------------------

    def _encode_token(self, payload: dict[str, Any]) -> str:
        """An opaque, signed token. Standard base64: it always contains '+', '/' and '=',
        so a client that does not URL-encode it (or decodes '+' as a space) breaks it."""
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        raw = b"\xfb\xff" + hmac.new(self._token_key, body, hashlib.sha256).digest()[:9] + body
        raw += b" " * ((1 - len(raw)) % 3)
        return base64.b64encode(raw).decode("ascii")

    def _decode_token(self, token: str) -> dict[str, Any] | None:
        try:
            raw = base64.b64decode(token, validate=True)
        except ValueError:
            return None
        if len(raw) < 12 or not raw.startswith(b"\xfb\xff"):
            return None
        mac, body = raw[2:11], raw[11:].rstrip(b" ")
        if not hmac.compare_digest(mac, hmac.new(self._token_key, body, hashlib.sha256).digest()[:9]):
            return None
        try:
            data = json.loads(body)
        except ValueError:
            return None
        return data if isinstance(data, dict) and data.get("g") == self._generation else None

    @staticmethod
    def _full_sync_required() -> CalendarError:
        return CalendarError(410, "fullSyncRequired",
                             "Sync token is no longer valid, a full sync is required.")

    def _sync_position(self, cal: CalendarData, token: str) -> int:
        """The modification counter a sync token was issued at; 410 if invalid or stale."""
        data = self._decode_token(token)
        ttl = self.config["sync_token_ttl"]
        if (data is None or data.get("k") != "s" or data.get("c") != cal.key
                or data.get("e") != cal.epoch or not isinstance(data.get("m"), int)
                or (ttl and time.time() - float(data.get("t", 0)) > ttl)):
            raise self._full_sync_required()
        return data["m"]

    @staticmethod
    def _list_time(params: dict[str, list[str]], name: str) -> float | None:
        value = first(params, name)
        if value is None:
            return None
        dt = parse_rfc3339(value)
        if dt is None or dt.tzinfo is None:  # Google requires the offset here
            raise CalendarError(400, "badRequest", "Bad Request")
        return dt.timestamp()

    @staticmethod
    def _property_filters(params: dict[str, list[str]], name: str) -> list[tuple[str, str]]:
        out = []
        for value in params.get(name, []):
            key, sep, val = value.partition("=")
            if not sep or not key:
                raise invalid(f"Invalid value for: {name}")
            out.append((key, val))
        return out

    def list_events(self, email: str, params: dict[str, list[str]]) -> dict[str, Any]:
        """events.list: full listing, paging, incremental sync."""
        raw_max = first(params, "maxResults")
        max_results = 250
        if raw_max is not None:
            try:
                max_results = int(raw_max)
            except ValueError:
                max_results = 0
            if max_results < 1:
                raise CalendarError(400, "invalidParameter",
                                    f"Invalid value '{raw_max}'. Values must be within the range: [1, 2500]")
            max_results = min(max_results, 2500)  # Google caps silently
        max_results = min(max_results, int(self.config["max_results_cap"]))
        sync_token = first(params, "syncToken")
        page_token = first(params, "pageToken")
        if sync_token is not None and any(p in params for p in SYNC_RESTRICTIONS):
            raise invalid("Sync token cannot be used with other request restrictions.")
        time_min = self._list_time(params, "timeMin")
        time_max = self._list_time(params, "timeMax")
        updated_min = self._list_time(params, "updatedMin")
        if time_min is not None and time_max is not None and time_max <= time_min:
            raise CalendarError(400, "timeRangeEmpty", "The specified time range is empty.")
        private = self._property_filters(params, "privateExtendedProperty")
        shared = self._property_filters(params, "sharedExtendedProperty")
        ical_uid = first(params, "iCalUID")
        show_deleted = first(params, "showDeleted") == "true"
        # A page token is only valid with the request it continues: Google answers 400 when
        # e.g. timeMin/timeMax were recomputed (another day) or the syncToken was dropped.
        fingerprint = hashlib.sha256(json.dumps(sorted(
            (k, v) for k, v in params.items() if k not in PAGE_FREE_PARAMS)).encode()).hexdigest()[:16]

        with self.lock:
            cal = self.calendar(email)
            since: int | None = None
            if sync_token is not None:
                since = self._sync_position(cal, sync_token)
            cursor: tuple[int, str] | None = None
            snapshot = self._mod_seq
            if page_token is not None:
                data = self._decode_token(page_token)
                if data is None or data.get("k") != "p" or data.get("c") != cal.key:
                    raise invalid("Invalid page token value.")
                if data.get("q") != fingerprint:
                    raise CalendarError(400, "badRequest", "Bad Request")
                if data.get("s") is not None:
                    if data.get("e") != cal.epoch:
                        raise self._full_sync_required()
                    since = data["s"]
                cursor = (data["a"][0], data["a"][1])
                snapshot = data["n"]
            include_deleted = show_deleted or since is not None or updated_min is not None
            matched: list[EventRec] = []
            for rec in sorted(cal.events.values(), key=lambda r: (r.mod, r.id)):
                if cursor is not None and (rec.mod, rec.id) <= cursor:
                    continue
                if since is not None and rec.mod <= since:
                    continue
                if rec.status == "cancelled" and not include_deleted:
                    continue
                if updated_min is not None and rec.updated_ms / 1000 < updated_min:
                    continue
                if time_min is not None and rec.end_ts <= time_min:
                    continue
                if time_max is not None and rec.start_ts >= time_max:
                    continue
                ext = rec.fields.get("extendedProperties") or {}
                if any((ext.get("private") or {}).get(k) != v for k, v in private):
                    continue
                if any((ext.get("shared") or {}).get(k) != v for k, v in shared):
                    continue
                if ical_uid is not None and ical_uid != f"{rec.id}@google.com":
                    continue
                matched.append(rec)
            page, more = matched[:max_results], len(matched) > max_results
            minimal = since is not None and self.config["sync_deleted_minimal"]
            latest = max((r.updated_ms for r in cal.events.values()), default=int(time.time() * 1000))
            out: dict[str, Any] = {
                "kind": "calendar#events",
                "etag": '"p' + hashlib.sha256(f"{cal.key}|{self._mod_seq}".encode()).hexdigest()[:14] + '"',
                "summary": cal.email,
                "updated": rfc3339_ms(latest),
                "timeZone": self.config["account_timezones"].get(cal.key, "UTC"),
                "accessRole": "owner",
                "defaultReminders": [],
            }
            if more:
                last = page[-1]
                out["nextPageToken"] = self._encode_token({
                    "k": "p", "g": self._generation, "c": cal.key, "e": cal.epoch,
                    "a": [last.mod, last.id], "n": snapshot, "s": since, "q": fingerprint})
            else:
                out["nextSyncToken"] = self._encode_token({
                    "k": "s", "g": self._generation, "c": cal.key, "e": cal.epoch, "m": snapshot,
                    "t": time.time()})
            out["items"] = [self._render(cal, r, minimal=minimal and r.status == "cancelled")
                            for r in page]
            return out

    def invalidate_sync_tokens(self, email: str | None) -> int:
        """Control API: every sync token of the calendar (all calendars if None) becomes stale."""
        with self.lock:
            cals = [self.calendar(email)] if email else list(self.calendars.values())
            for cal in cals:
                cal.epoch += 1
            return len(cals)

    # ---- push notifications ----------------------------------------------------

    def watch(self, email: str, calendar_id: str, body: dict[str, Any], client_id: str) -> dict[str, Any]:
        """events.watch: create a channel and queue its "sync" message."""
        cid = body.get("id")
        if not isinstance(cid, str) or not cid:
            raise CalendarError(400, "required", "Required")
        ctype = body.get("type")
        if ctype is None:
            raise CalendarError(400, "required", "Required")
        if ctype not in ("web_hook", "webhook"):
            raise invalid("Invalid value for: type")
        address = body.get("address")
        if not isinstance(address, str) or not address:
            raise CalendarError(400, "required", "Required")
        token = body.get("token")
        if token is not None and not isinstance(token, str):
            raise invalid("Invalid value for: token")
        self.remember_secret("channel_token", token)
        parts = urlsplit(address)
        ok = parts.scheme == "https" and bool(parts.hostname)
        with self.lock:
            allow_http = self.config["allow_http_webhooks"]
        if (not ok and allow_http and parts.scheme == "http"
                and parts.hostname in ("127.0.0.1", "localhost", "::1")):
            ok = True
        if not ok:
            raise invalid(f"WebHook callback must be HTTPS: {address}", reason="push.webhookUrlNotHttps")
        params = body.get("params") or {}
        ttl_s = DEFAULT_CHANNEL_TTL_S
        if isinstance(params, dict) and params.get("ttl") is not None:
            try:
                ttl_s = int(str(params["ttl"]))
            except ValueError:
                ttl_s = 0
            if ttl_s <= 0:
                raise invalid("Invalid value for: params.ttl")
        now_ms = int(time.time() * 1000)
        expiration = now_ms + min(ttl_s, MAX_CHANNEL_TTL_S) * 1000
        if body.get("expiration") is not None:
            try:
                requested = int(str(body["expiration"]))
            except ValueError:
                raise invalid("Invalid value for: expiration") from None
            expiration = min(expiration, requested)
        with self.lock:
            cal = self.calendar(email)
            if any(ch.id == cid and ch.live(now_ms) for ch in self.channels):
                raise invalid("Channel id not unique", reason="channelIdNotUnique")
            ch = Channel(id=cid, resource_id=cal.resource_id, calendar_key=cal.key,
                         resource_uri="https://www.googleapis.com/calendar/v3/calendars/"
                                      f"{quote(calendar_id, safe='')}/events?alt=json",
                         address=address, token=token, expiration_ms=expiration,
                         client_id=client_id, created=time.time())
            self.channels.append(ch)
            threading.Thread(target=self._channel_worker, args=(ch,), daemon=True,
                             name=f"push-{cid[:20]}").start()
            if self.config["push_enabled"]:
                self._enqueue(ch, "sync", None)
        out = {"kind": "api#channel", "id": ch.id, "resourceId": ch.resource_id,
               "resourceUri": ch.resource_uri}
        if token is not None:
            out["token"] = token
        out["expiration"] = str(expiration)
        return out

    def stop_channel(self, body: dict[str, Any], client_id: str) -> None:
        """channels.stop."""
        cid, rid = body.get("id"), body.get("resourceId")
        if not isinstance(cid, str) or not cid or not isinstance(rid, str) or not rid:
            raise CalendarError(400, "required", "Required")
        with self.lock:
            for ch in self.channels:
                if (ch.id == cid and ch.resource_id == rid and not ch.stopped
                        and ch.client_id == client_id):
                    ch.stopped = True
                    ch.queue.put(None)
                    return
        raise CalendarError(404, "notFound", "Channel not found for project.")

    def _push(self, cal: CalendarData, event_id: str) -> None:
        """Queue an "exists" message to every live channel of the calendar. Lock held."""
        if not self.config["push_enabled"]:
            return
        now_ms = int(time.time() * 1000)
        for ch in self.channels:
            if ch.calendar_key == cal.key and ch.live(now_ms):
                self._enqueue(ch, "exists", event_id)

    def _enqueue(self, ch: Channel, state: str, event_id: str | None) -> None:
        """Number, record and queue one message (delivered by the channel's thread). Lock held."""
        ch.message_number += 1
        headers = {"X-Goog-Channel-ID": ch.id}
        if ch.token is not None:
            headers["X-Goog-Channel-Token"] = ch.token
        headers.update({
            "X-Goog-Channel-Expiration": formatdate(ch.expiration_ms / 1000, usegmt=True),
            "X-Goog-Resource-ID": ch.resource_id,
            "X-Goog-Resource-URI": ch.resource_uri,
            "X-Goog-Resource-State": state,
            "X-Goog-Message-Number": str(ch.message_number),
        })
        record = {"channel_id": ch.id, "resource_id": ch.resource_id, "address": ch.address,
                  "state": state, "message_number": ch.message_number, "event_id": event_id,
                  "status": None, "error": None, "done": False, "queued": time.time(), "time": None,
                  "attempts": 0, "fault": None}
        self.deliveries.append(record)
        self._queue_message(ch, record, headers)

    def _channel_worker(self, ch: Channel) -> None:
        """Deliver a channel's messages in order, never holding the state lock while sending."""
        while True:
            item = ch.queue.get()
            if item is None:
                return
            if ch.purged:
                continue
            record, headers = item
            sent = time.time()
            status, error = self._deliver(ch.address, headers)
            with self.lock:
                delays = list(self.config["push_retry_delays_s"])
            # Google retries a message the receiver answered 500, 502, 503 or 504, with
            # exponential backoff (https://developers.google.com/calendar/api/guides/push);
            # the retry carries the same message number.
            attempts = 1
            while status in (500, 502, 503, 504) and attempts <= len(delays) and not ch.purged:
                time.sleep(delays[attempts - 1])
                status, error = self._deliver(ch.address, headers)
                attempts += 1
            with self.lock:
                record.update(time=sent, status=status, error=error, done=True, attempts=attempts)

    def _deliver(self, address: str, headers: dict[str, str]) -> tuple[int | None, str | None]:
        """POST an empty body to the web hook: (HTTP status or None, error text or None)."""
        req = urllib.request.Request(address, data=None, method="POST",
                                     headers=dict(headers, **{"User-Agent": PUSH_USER_AGENT,
                                                              "Accept": "*/*"}))
        try:
            with self._opener.open(req, timeout=5) as resp:
                resp.read()
                return resp.status, None
        except urllib.error.HTTPError as exc:
            exc.close()
            return exc.code, None
        except Exception as exc:  # noqa: BLE001 - recorded, never raised
            return None, f"{type(exc).__name__}: {exc}"

    def list_deliveries(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(d) for d in self.deliveries]

    def clear_deliveries(self) -> None:
        with self.lock:
            self.deliveries.clear()

    # ---- push faults: Google's delivery is at-least-once, unordered and lossy ----------

    def add_push_fault(self, data: dict[str, Any]) -> int:
        """Control API: the next ``times`` messages (of ``state``, if given) are dropped,
        delivered twice, or held back until the channel's next message (out of order)."""
        action = data.get("action")
        if action not in ("drop", "duplicate", "hold"):
            raise ControlError(400, "action must be drop, duplicate or hold")
        times = data.get("times", 1)
        if not isinstance(times, int) or isinstance(times, bool) or times < 1:
            raise ControlError(400, "times must be an integer >= 1")
        state = data.get("state")
        if state is not None and state not in ("sync", "exists", "not_exists"):
            raise ControlError(400, "state must be sync, exists or not_exists")
        with self.lock:
            self._fault_seq += 1
            self.push_faults.append({"id": self._fault_seq, "action": action, "state": state,
                                     "remaining": times, "hits": 0})
            return self._fault_seq

    def list_push_faults(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(f) for f in self.push_faults]

    def clear_push_faults(self) -> None:
        with self.lock:
            self.push_faults.clear()

    def _queue_message(self, ch: Channel, record: dict[str, Any], headers: dict[str, str]) -> None:
        """Queue one message for the channel's thread, applying push faults. Lock held."""
        fault = next((f for f in self.push_faults if f["remaining"] > 0
                      and f["state"] in (None, record["state"])), None)
        if fault is not None:
            fault["remaining"] -= 1
            fault["hits"] += 1
            record["fault"] = fault["action"]
        if fault is not None and fault["action"] == "drop":
            record.update(done=True, error="dropped (push fault)")
            return
        if fault is not None and fault["action"] == "hold":
            ch.held.append((record, headers))
            return
        ch.queue.put((record, headers))
        if fault is not None and fault["action"] == "duplicate":
            twin = dict(record, fault="duplicate (second copy)")
            self.deliveries.append(twin)
            ch.queue.put((twin, headers))
        # Held messages go out after this newer one: the receiver sees them out of order.
        while ch.held:
            ch.queue.put(ch.held.pop(0))

    def send_message(self, data: dict[str, Any]) -> dict[str, Any]:
        """Control API: send a message of ``state`` on a live channel. ``not_exists`` (the
        watched resource is gone) is the channel's last message: Google stops it."""
        cid, state = data.get("channel_id"), data.get("state")
        if state not in ("sync", "exists", "not_exists"):
            raise ControlError(400, "state must be sync, exists or not_exists")
        now_ms = int(time.time() * 1000)
        with self.lock:
            ch = next((c for c in self.channels if c.id == cid and c.live(now_ms)), None)
            if ch is None:
                raise ControlError(404, "no live channel with that id")
            self._enqueue(ch, state, data.get("event_id"))
            if state == "not_exists":
                ch.stopped = True
                ch.queue.put(None)
            return {"message_number": ch.message_number}

    def list_channels(self) -> list[dict[str, Any]]:
        now_ms = int(time.time() * 1000)
        with self.lock:
            return [ch.public(now_ms) for ch in self.channels]

    def list_notifications(self) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(n) for n in self.notifications]

    def clear_notifications(self) -> None:
        with self.lock:
            self.notifications.clear()

    # ---- request log ---------------------------------------------------------

    def log_start(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._seq += 1
            entry["seq"] = self._seq
            entry["status"] = None
            self.requests.append(entry)
            return entry

    def log_finish(self, entry: dict[str, Any], status: int | None) -> None:
        with self.lock:
            entry["status"] = status

    def list_requests(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(e) for e in self.requests]

    def clear_requests(self) -> None:
        with self.lock:
            self.requests.clear()


# --------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------

class Request:
    """A parsed HTTP request (body fully read)."""

    def __init__(self, method: str, target: str, headers: Any, body: bytes):
        parts = urlsplit(target)
        self.method = method
        self.path = parts.path or "/"
        self.query = parse_qs(parts.query, keep_blank_values=True)
        self.headers = headers
        self.body = body
        self._form: dict[str, list[str]] | None = None

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def form(self) -> dict[str, list[str]]:
        """Body parameters: urlencoded form, or JSON object (Google's token endpoint takes both)."""
        if self._form is None:
            self._form = {}
            if self.body and self.content_type == "application/json":
                try:
                    data = json.loads(self.body)
                except ValueError:
                    data = None
                if isinstance(data, dict):
                    self._form = {k: [v if isinstance(v, str) else json.dumps(v)]
                                  for k, v in data.items()}
            elif self.body and self.content_type in ("application/x-www-form-urlencoded", ""):
                self._form = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return self._form

    def json(self) -> dict[str, Any]:
        """The body as a JSON object (control API); empty body -> {}."""
        if not self.body.strip():
            return {}
        try:
            data = json.loads(self.body)
        except ValueError as exc:
            raise ControlError(400, f"invalid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ControlError(400, "JSON body must be an object")
        return data

    def bearer(self) -> str | None:
        auth = self.headers.get("Authorization") or ""
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return value.strip() or None


@dataclass
class Route:
    """Dispatch entry: method + full-match regex on the path -> handler method name."""

    method: str
    pattern: re.Pattern[str]
    handler: str


def route(method: str, pattern: str, handler: str) -> Route:
    return Route(method, re.compile(pattern), handler)


class Handler(BaseHTTPRequestHandler):
    """Request handler: route tables for the Google endpoints and the control API."""

    protocol_version = "HTTP/1.1"
    server_version = "ESF"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are dropped after this
    # TCP_NODELAY, as Google's front ends answer: with Nagle's algorithm a response written in
    # more than one segment waits for the client's delayed ACK (~40 ms) and distorts benchmarks.
    disable_nagle_algorithm = True

    #: Google endpoints (subject to faults, recorded in the request log).
    ROUTES: list[Route] = [
        route("GET", r"/o/oauth2/v2/auth", "h_authorize"),
        route("POST", r"/o/oauth2/v2/auth/decide", "h_decide"),
        route("POST", r"/token", "h_token"),
        route("POST", r"/revoke", "h_revoke"),
        route("GET", r"/revoke", "h_revoke"),
        route("GET", r"/calendar/v3/calendars/(?P<calendarId>[^/]+)", "h_calendar_get"),
        route("POST", r"/calendar/v3/calendars/(?P<calendarId>[^/]+)/events/watch", "h_events_watch"),
        route("GET", r"/calendar/v3/calendars/(?P<calendarId>[^/]+)/events", "h_events_list"),
        route("POST", r"/calendar/v3/calendars/(?P<calendarId>[^/]+)/events", "h_events_insert"),
        route("GET", r"/calendar/v3/calendars/(?P<calendarId>[^/]+)/events/(?P<eventId>[^/]+)",
              "h_events_get"),
        route("PATCH", r"/calendar/v3/calendars/(?P<calendarId>[^/]+)/events/(?P<eventId>[^/]+)",
              "h_events_patch"),
        route("PUT", r"/calendar/v3/calendars/(?P<calendarId>[^/]+)/events/(?P<eventId>[^/]+)",
              "h_events_update"),
        route("DELETE", r"/calendar/v3/calendars/(?P<calendarId>[^/]+)/events/(?P<eventId>[^/]+)",
              "h_events_delete"),
        route("POST", r"/calendar/v3/channels/stop", "h_channels_stop"),
    ]
    #: Request-log ``operation`` names (Google's method ids) of the Calendar handlers.
    OPERATIONS: dict[str, str] = {
        "h_calendar_get": "calendar.calendars.get", "h_events_watch": "calendar.events.watch",
        "h_events_list": "calendar.events.list", "h_events_insert": "calendar.events.insert",
        "h_events_get": "calendar.events.get", "h_events_patch": "calendar.events.patch",
        "h_events_update": "calendar.events.update", "h_events_delete": "calendar.events.delete",
        "h_channels_stop": "calendar.channels.stop", "h_token": "oauth2.token",
        "h_revoke": "oauth2.revoke", "h_authorize": "oauth2.authorize", "h_decide": "oauth2.decide",
    }
    #: Control API (never faulted, never logged).
    CONTROL_ROUTES: list[Route] = [
        route("GET", r"/__emu/health", "c_health"),
        route("POST", r"/__emu/reset", "c_reset"),
        route("POST", r"/__emu/clients", "c_clients_post"),
        route("GET", r"/__emu/clients", "c_clients_get"),
        route("POST", r"/__emu/config", "c_config_post"),
        route("GET", r"/__emu/config", "c_config_get"),
        route("POST", r"/__emu/mint_code", "c_mint_code"),
        route("POST", r"/__emu/authorize", "c_authorize"),
        route("GET", r"/__emu/requests", "c_requests_get"),
        route("DELETE", r"/__emu/requests", "c_requests_delete"),
        route("GET", r"/__emu/grants", "c_grants"),
        route("GET", r"/__emu/secrets", "c_secrets"),
        route("POST", r"/__emu/expire_access_tokens", "c_expire_access_tokens"),
        route("POST", r"/__emu/revoke_grant", "c_revoke_grant"),
        route("POST", r"/__emu/faults", "c_faults_post"),
        route("GET", r"/__emu/faults", "c_faults_get"),
        route("DELETE", r"/__emu/faults", "c_faults_delete"),
        route("GET", r"/__emu/events", "c_events"),
        route("POST", r"/__emu/invalidate_sync_tokens", "c_invalidate_sync_tokens"),
        route("GET", r"/__emu/deliveries", "c_deliveries_get"),
        route("DELETE", r"/__emu/deliveries", "c_deliveries_delete"),
        route("GET", r"/__emu/channels", "c_channels"),
        route("POST", r"/__emu/push_faults", "c_push_faults_post"),
        route("GET", r"/__emu/push_faults", "c_push_faults_get"),
        route("DELETE", r"/__emu/push_faults", "c_push_faults_delete"),
        route("POST", r"/__emu/push_message", "c_push_message"),
        route("GET", r"/__emu/notifications", "c_notifications_get"),
        route("DELETE", r"/__emu/notifications", "c_notifications_delete"),
        route("POST", r"/__emu/ui/create", "c_ui_create"),
        route("POST", r"/__emu/ui/move", "c_ui_move"),
        route("POST", r"/__emu/ui/delete", "c_ui_delete"),
        route("POST", r"/__emu/ui/change_meet", "c_ui_change_meet"),
        route("POST", r"/__emu/ui/restore", "c_ui_restore"),
        route("POST", r"/__emu/ui/edit_occurrence", "c_ui_edit_occurrence"),
        route("POST", r"/__emu/ui/create_many", "c_ui_create_many"),
    ]

    def version_string(self) -> str:
        """``Server: ESF`` like googleapis.com."""
        return self.server_version

    @property
    def state(self) -> State:
        return self.server.state  # type: ignore[attr-defined]

    # ---- connection plumbing ----------------------------------------------

    def setup(self) -> None:
        """Do the TLS handshake in the connection's own thread, not the accept loop."""
        # Serial number of this TCP connection, in the request log as ``connection``: how
        # many connections a client opened (benchmarks: reuse of kept-alive connections).
        self.connection_seq = next(self.server.connection_counter)  # type: ignore[attr-defined]
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(15)
            self.request.do_handshake()
        super().setup()

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        """Disabled: the default would log the request line, including its query."""

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002
        """Only log the status of protocol errors (the message may quote the request line)."""
        code = args[0] if args and isinstance(args[0], int) else "?"
        self._log_line(f"- - protocol error {code}")

    def _log_line(self, text: str) -> None:
        try:
            sys.stderr.write(f"[google-emulator] {time.strftime('%H:%M:%S')} {text}\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                try:
                    size = int(line.split(b";")[0].strip() or b"0", 16)
                except ValueError:
                    raise HttpError(Response(400, b"bad chunk", [("Content-Type", "text/plain")]))
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
            if n < 0:
                raise ValueError
        except ValueError:
            raise HttpError(Response(400, b"bad Content-Length", [("Content-Type", "text/plain")]))
        return self.rfile.read(n)

    def _send(self, resp: Response) -> None:
        self.send_response(resp.status)
        names = {name.lower() for name, _ in resp.headers}
        for name, value in resp.headers:
            self.send_header(name, value)
        if "content-type" not in names and resp.body:
            self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(resp.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        # end_headers() would write the head on its own: answer in one write (one TLS record,
        # one segment for small bodies) with the body appended.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(resp.body)
        self.flush_headers()
        self.wfile.flush()

    def _reset_connection(self) -> None:
        """Abort the TCP connection (SO_LINGER 0 -> RST), sending nothing more."""
        self.close_connection = True
        try:
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        for f in (self.rfile, self.wfile):
            try:
                f.close()
            except (OSError, ValueError):
                pass
        try:
            self.request.close()
        except OSError:
            pass
        # http.server flushes wfile after the do_* method returns: give it a sink.
        self.wfile = io.BytesIO()

    # ---- dispatch -----------------------------------------------------------

    def _handle(self) -> None:
        started = time.time()
        try:
            req = Request(self.command, self.path, self.headers, self._read_body())
        except HttpError as exc:
            self.close_connection = True
            self._send(exc.response)
            return
        if req.path == "/__emu" or req.path.startswith("/__emu/"):
            resp = self._dispatch(req, self.CONTROL_ROUTES, control=True)
            self._log_line(f"{req.method} {req.path} {resp.status} (control)")
            self._send(resp)
            return

        entry = self.state.log_start(self._log_entry(req, started))
        fault = self.state.take_fault(req.method, req.path)
        if fault is not None and fault.action == "reset":
            self.state.log_finish(entry, None)
            self._log_line(f"{req.method} {req.path} RST (fault {fault.id})")
            self._reset_connection()
            return
        latency = float(self.state.config_value("latency_s") or 0)
        if latency > 0:
            time.sleep(latency)
        if fault is not None and fault.action == "status":
            resp = self._fault_response(fault)
        else:
            if fault is not None and fault.action == "delay":
                time.sleep(fault.delay_s)
            resp = self._dispatch(req, self.ROUTES, control=False)
            if fault is not None and fault.action == "reset_after":
                self.state.log_finish(entry, None)
                self._log_line(f"{req.method} {req.path} {resp.status} dropped, RST (fault {fault.id})")
                self._reset_connection()
                return
        self.state.log_finish(entry, resp.status)
        note = f" (fault {fault.id})" if fault is not None else ""
        self._log_line(f"{req.method} {req.path} {resp.status}{note}")
        self._send(resp)

    def _dispatch(self, req: Request, routes: list[Route], control: bool) -> Response:
        """Find the route; map exceptions to responses."""
        allowed: list[str] = []
        for r in routes:
            m = r.pattern.fullmatch(req.path)
            if m is None:
                continue
            if r.method != req.method:
                allowed.append(r.method)
                continue
            try:
                return getattr(self, r.handler)(req, **m.groupdict())
            except HttpError as exc:
                return exc.response
            except OAuthError as exc:
                return exc.response()
            except ControlError as exc:
                return control_json(exc.status, {"error": exc.message})
            except CalendarError as exc:
                if control:
                    return control_json(exc.code, {"error": exc.message, "reason": exc.reason})
                return exc.response()
            except Exception as exc:  # noqa: BLE001 - emulator must keep serving
                tb = "".join(traceback.format_tb(exc.__traceback__))
                self._log_line(f"internal error {type(exc).__name__} in {r.handler}\n{tb}")
                if control:
                    return control_json(500, {"error": f"internal error: {type(exc).__name__}"})
                return json_response(500, default_google_error_body(500), GOOGLE_API_JSON)
        if control:
            if allowed:
                return control_json(405, {"error": f"method not allowed; use {', '.join(allowed)}"})
            return control_json(404, {"error": "unknown control endpoint"})
        if req.path == "/calendar/v3" or req.path.startswith("/calendar/v3/"):
            return calendar_not_found()
        if allowed:
            return Response(405, b"", [("Allow", ", ".join(sorted(set(allowed))))])
        return not_found_html()

    def _log_entry(self, req: Request, started: float) -> dict[str, Any]:
        """The request-log record: no secret values."""
        form = req.form
        bearer = req.bearer()
        grant = self.state.grant_for_bearer(bearer, valid_only=False)
        return {"method": req.method, "path": req.path, "query": redact(req.query),
                "form_keys": list(form.keys()), "grant_type": first(form, "grant_type"),
                "client_auth": ("basic" if (req.headers.get("Authorization") or "").lower()
                                .startswith("basic ") else "post" if "client_secret" in form else None),
                "has_bearer": bearer is not None,
                "bearer_email": grant.email if grant is not None else None,
                **self._route_info(req),
                "connection": getattr(self, "connection_seq", None),
                "time": started}

    def _route_info(self, req: Request) -> dict[str, Any]:
        """``operation``, ``calendar_id`` and ``event_id`` (URL-decoded) of a Google request."""
        for r in self.ROUTES:
            m = r.pattern.fullmatch(req.path)
            if m is not None and r.method == req.method:
                groups = m.groupdict()
                return {"operation": self.OPERATIONS.get(r.handler),
                        "calendar_id": unquote(groups["calendarId"]) if "calendarId" in groups else None,
                        "event_id": unquote(groups["eventId"]) if "eventId" in groups else None}
        return {"operation": None, "calendar_id": None, "event_id": None}

    @staticmethod
    def _fault_response(fault: Fault) -> Response:
        body = fault.body
        if body is None:
            data, ctype = json.dumps(default_google_error_body(fault.status), indent=2) + "\n", GOOGLE_API_JSON
        elif isinstance(body, str):
            stripped = body.lstrip()
            ctype = (GOOGLE_API_JSON if stripped.startswith(("{", "[")) else
                     HTML if stripped.startswith("<") else "text/plain; charset=utf-8")
            data = body
        else:
            data, ctype = json.dumps(body, indent=2) + "\n", GOOGLE_API_JSON
        headers = [("Content-Type", ctype)]
        for name, value in fault.headers.items():
            if name.lower() == "content-type":
                headers[0] = (name, value)
            elif name.lower() != "content-length":
                headers.append((name, value))
        return Response(fault.status, data.encode("utf-8"), headers)

    # ---- Google: authorization --------------------------------------------

    def h_authorize(self, req: Request) -> Response:
        """GET /o/oauth2/v2/auth: the consent page."""
        try:
            areq = self.state.validate_authorize(req.query)
        except AuthorizeError as exc:
            return authorize_error_page(exc)
        email = areq.login_hint if areq.login_hint and "@" in areq.login_hint else DEFAULT_EMAIL
        e = html.escape
        hidden = "\n".join(f'  <input type="hidden" name="{e(k)}" value="{e(v)}">'
                           for k, values in req.query.items() for v in values)
        boxes = "\n".join(
            f'    <li><label><input type="checkbox" name="granted_scopes" id="scope-{i}" '
            f'value="{e(s)}" checked> <span class="scope">{e(s)}</span></label></li>'
            for i, s in enumerate(areq.scopes))
        body = f"""<h1>Sign in with Google</h1>
<p>The application <code id="client_id">{e(areq.client_id)}</code> wants to access your Google Account.</p>
<form method="POST" action="/o/oauth2/v2/auth/decide" id="consent-form">
{hidden}
  <p><label for="email">Email or phone</label>
  <input type="text" id="email" name="email" value="{e(email)}"></p>
  <fieldset><legend>This will allow the application to:</legend>
  <ul id="scopes">
{boxes}
  </ul></fieldset>
  <button type="submit" name="decision" value="deny" id="deny">Cancel</button>
  <button type="submit" name="decision" value="allow" id="allow">Allow</button>
</form>"""
        return html_response(200, "Sign in - Google Accounts", body,
                             headers=[("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate"),
                                      ("X-Frame-Options", "DENY")])

    @staticmethod
    def _granted_from(values: list[str] | None) -> list[str] | None:
        """granted_scopes as repeated fields and/or space-separated strings."""
        if not values:
            return None
        out: list[str] = []
        for value in values:
            out += [s for s in value.split() if s not in out]
        return out or None

    def h_decide(self, req: Request) -> Response:
        """POST /o/oauth2/v2/auth/decide: the consent form's submission."""
        form = req.form
        try:
            areq = self.state.validate_authorize(form)
            email = first(form, "email") or areq.login_hint or DEFAULT_EMAIL
            location = self.state.decide(areq, email, first(form, "decision") or "",
                                         self._granted_from(form.get("granted_scopes")))
        except AuthorizeError as exc:
            return authorize_error_page(exc)
        return redirect_response(location)

    # ---- Google: token / revoke ---------------------------------------------

    def _client_credentials(self, req: Request) -> tuple[str | None, str | None]:
        """client_id/secret from HTTP Basic (preferred) or the form."""
        form = req.form
        auth = req.headers.get("Authorization") or ""
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
                raw_id, sep, raw_secret = decoded.partition(":")
                if not sep:
                    raise ValueError
            except ValueError:
                raise OAuthError(401, "invalid_client", "Unauthorized") from None
            cid, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
            form_id = first(form, "client_id")
            if form_id is not None and form_id != cid:
                raise OAuthError(401, "invalid_client", "Unauthorized")
            return cid, secret
        return first(form, "client_id"), first(form, "client_secret")

    def h_token(self, req: Request) -> Response:
        """POST /token."""
        form = req.form
        grant_type = first(form, "grant_type") or ""
        if grant_type not in ("authorization_code", "refresh_token"):
            raise OAuthError(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        client = self.state.authenticate_client(*self._client_credentials(req))
        if grant_type == "authorization_code":
            return oauth_json(200, self.state.exchange_code(client, form))
        return oauth_json(200, self.state.refresh(client, form))

    def h_revoke(self, req: Request) -> Response:
        """POST /revoke (token in the form or, like Google, the query)."""
        token = first(req.form, "token") or first(req.query, "token")
        self.state.revoke_token(token)
        return oauth_json(200, {})

    # ---- Google: Calendar v3 --------------------------------------------------

    def require_grant(self, req: Request, scopes: set[str]) -> Grant:
        """Authenticate a Calendar request; raise HttpError with Google's 401/403."""
        grant = self.state.grant_for_bearer(req.bearer())
        if grant is None:
            raise HttpError(calendar_unauthenticated())
        if not scopes & set(grant.scopes):
            raise HttpError(calendar_insufficient_scope(scopes))
        return grant

    def h_calendar_get(self, req: Request, calendarId: str) -> Response:  # noqa: N803
        """GET /calendar/v3/calendars/{calendarId} (calendars.get)."""
        grant = self.require_grant(req, {CALENDAR_SCOPE})
        cal_id = unquote(calendarId)
        if cal_id != "primary" and cal_id.lower() != grant.email.lower():
            return calendar_not_found()
        tz = self.state.timezone_of(grant.email)
        return json_response(200, {
            "kind": "calendar#calendar",
            "etag": '"' + stable_digits(grant.email.lower() + "|" + tz, 16) + '"',
            "id": grant.email,
            "summary": grant.email,
            "timeZone": tz,
            "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
        }, GOOGLE_API_JSON)

    # ---- Google: Calendar v3 events ----------------------------------------------

    def _events_calendar(self, req: Request, calendarId: str, write: bool) -> tuple[Grant, str]:  # noqa: N803
        """Authenticate an events call; return (grant, calendar id as given, URL-decoded)."""
        grant = self.require_grant(req, set(EVENTS_WRITE_SCOPES if write else EVENTS_READ_SCOPES))
        cal_id = unquote(calendarId)
        if cal_id != "primary" and cal_id.lower() != grant.email.lower():
            raise HttpError(calendar_not_found())
        return grant, cal_id

    @staticmethod
    def _google_body(req: Request) -> dict[str, Any]:
        """The JSON request body of a Google API call; 400 parseError like Google."""
        if not req.body.strip():
            return {}
        try:
            data = json.loads(req.body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise CalendarError(400, "parseError", "Parse Error")
        return data

    @staticmethod
    def _conference_version(req: Request) -> int:
        value = first(req.query, "conferenceDataVersion")
        if value is None:
            return 0
        if value not in ("0", "1"):
            raise CalendarError(400, "invalidParameter",
                                f"Invalid value '{value}'. Values must be within the range: [0, 1]")
        return int(value)

    @staticmethod
    def _send_updates(req: Request) -> str:
        value = first(req.query, "sendUpdates")
        if value is None:
            legacy = first(req.query, "sendNotifications")  # deprecated boolean
            return "all" if legacy == "true" else "none"
        if value not in SEND_UPDATES:
            raise CalendarError(400, "invalidParameter",
                                f"Invalid value '{value}'. Values must match the following regular "
                                "expression: 'all|externalOnly|none'")
        return value

    def h_events_insert(self, req: Request, calendarId: str) -> Response:  # noqa: N803
        grant, _ = self._events_calendar(req, calendarId, write=True)
        cdv, send = self._conference_version(req), self._send_updates(req)
        event = self.state.insert_event(grant.email, self._google_body(req),
                                        conference_version=cdv, send_updates=send)
        return json_response(200, event, GOOGLE_API_JSON)

    def h_events_get(self, req: Request, calendarId: str, eventId: str) -> Response:  # noqa: N803
        grant, _ = self._events_calendar(req, calendarId, write=False)
        event = self.state.get_event(grant.email, unquote(eventId))
        none_match = req.headers.get("If-None-Match")
        if none_match is not None and event["etag"] in [t.strip() for t in none_match.split(",")]:
            return Response(304, b"", [("ETag", event["etag"])])
        return json_response(200, event, GOOGLE_API_JSON, headers=[("ETag", event["etag"])])

    def _modify(self, req: Request, calendarId: str, eventId: str, replace: bool) -> Response:  # noqa: N803
        grant, _ = self._events_calendar(req, calendarId, write=True)
        cdv, send = self._conference_version(req), self._send_updates(req)
        event = self.state.modify_event(grant.email, unquote(eventId), self._google_body(req),
                                        replace=replace, conference_version=cdv, send_updates=send,
                                        if_match=req.headers.get("If-Match"))
        return json_response(200, event, GOOGLE_API_JSON, headers=[("ETag", event["etag"])])

    def h_events_patch(self, req: Request, calendarId: str, eventId: str) -> Response:  # noqa: N803
        return self._modify(req, calendarId, eventId, replace=False)

    def h_events_update(self, req: Request, calendarId: str, eventId: str) -> Response:  # noqa: N803
        return self._modify(req, calendarId, eventId, replace=True)

    def h_events_delete(self, req: Request, calendarId: str, eventId: str) -> Response:  # noqa: N803
        grant, _ = self._events_calendar(req, calendarId, write=True)
        self.state.delete_event(grant.email, unquote(eventId), send_updates=self._send_updates(req),
                                if_match=req.headers.get("If-Match"))
        return Response(204, b"")

    def h_events_list(self, req: Request, calendarId: str) -> Response:  # noqa: N803
        grant, _ = self._events_calendar(req, calendarId, write=False)
        return json_response(200, self.state.list_events(grant.email, req.query), GOOGLE_API_JSON)

    def h_events_watch(self, req: Request, calendarId: str) -> Response:  # noqa: N803
        grant, cal_id = self._events_calendar(req, calendarId, write=False)
        channel = self.state.watch(grant.email, cal_id, self._google_body(req), grant.client_id)
        return json_response(200, channel, GOOGLE_API_JSON)

    def h_channels_stop(self, req: Request) -> Response:
        grant = self.require_grant(req, set(EVENTS_READ_SCOPES))
        self.state.stop_channel(self._google_body(req), grant.client_id)
        return Response(204, b"")

    # ---- control API ------------------------------------------------------------

    def c_health(self, req: Request) -> Response:
        return control_json(200, {"ok": True})

    def c_reset(self, req: Request) -> Response:
        self.state.reset()
        return control_json(200, {"ok": True})

    def c_clients_post(self, req: Request) -> Response:
        return control_json(200, self.state.register_client(req.json()))

    def c_clients_get(self, req: Request) -> Response:
        return control_json(200, {"clients": self.state.list_clients()})

    def c_config_post(self, req: Request) -> Response:
        return control_json(200, self.state.update_config(req.json()))

    def c_config_get(self, req: Request) -> Response:
        return control_json(200, self.state.update_config({}))

    def c_mint_code(self, req: Request) -> Response:
        return control_json(200, {"code": self.state.mint_code(req.json())})

    def c_authorize(self, req: Request) -> Response:
        """Test shortcut for the consent page: validate + decide, answer the redirect."""
        data = req.json()
        auth_url = data.get("auth_url")
        if not isinstance(auth_url, str) or not auth_url:
            raise ControlError(400, "auth_url is required")
        granted = data.get("granted_scopes")
        if isinstance(granted, str):
            granted = granted.split()
        if granted is not None and (not isinstance(granted, list)
                                    or not all(isinstance(s, str) for s in granted)):
            raise ControlError(400, "granted_scopes must be a list of strings")
        params = parse_qs(urlsplit(auth_url).query, keep_blank_values=True)
        try:
            areq = self.state.validate_authorize(params)
            email = data.get("email") or areq.login_hint or DEFAULT_EMAIL
            location = self.state.decide(areq, str(email), data.get("decision", "allow"),
                                         granted)
        except AuthorizeError as exc:
            return control_json(400, {"error": exc.error, "error_description": exc.description})
        return control_json(200, {"redirect": location})

    def c_requests_get(self, req: Request) -> Response:
        return control_json(200, {"requests": self.state.list_requests()})

    def c_requests_delete(self, req: Request) -> Response:
        self.state.clear_requests()
        return control_json(200, {"ok": True})

    def c_secrets(self, req: Request) -> Response:
        with self.state.lock:
            return control_json(200, {"secrets": list(self.state.issued_secrets)})

    def c_grants(self, req: Request) -> Response:
        return control_json(200, {"grants": self.state.list_grants()})

    def c_expire_access_tokens(self, req: Request) -> Response:
        email = req.json().get("email")
        return control_json(200, {"expired": self.state.expire_access_tokens(email)})

    def c_revoke_grant(self, req: Request) -> Response:
        data = req.json()
        email = data.get("email")
        if not isinstance(email, str) or not email:
            raise ControlError(400, "email is required")
        return control_json(200, {"revoked": self.state.revoke_grants_of(email, data.get("client_id"))})

    def c_faults_post(self, req: Request) -> Response:
        return control_json(200, {"id": self.state.add_fault(req.json())})

    def c_faults_get(self, req: Request) -> Response:
        return control_json(200, {"faults": self.state.list_faults()})

    def c_faults_delete(self, req: Request) -> Response:
        self.state.clear_faults()
        return control_json(200, {"ok": True})

    @staticmethod
    def _email_of(data: dict[str, Any] | dict[str, list[str]], *, query: bool = False) -> str:
        value = first(data, "email") if query else data.get("email")  # type: ignore[arg-type]
        if not isinstance(value, str) or "@" not in value:
            raise ControlError(400, "email is required")
        return value

    @staticmethod
    def _event_id_of(data: dict[str, Any]) -> str:
        value = data.get("event_id")
        if not isinstance(value, str) or not value:
            raise ControlError(400, "event_id is required")
        return value

    @staticmethod
    def _ui_send_updates(data: dict[str, Any]) -> str:
        value = data.get("send_updates", "none")
        if value not in SEND_UPDATES:
            raise ControlError(400, "send_updates must be all, externalOnly or none")
        return value

    def c_events(self, req: Request) -> Response:
        return control_json(200, {"events": self.state.all_events(self._email_of(req.query, query=True))})

    def c_invalidate_sync_tokens(self, req: Request) -> Response:
        email = req.json().get("email")
        if email is not None and not isinstance(email, str):
            raise ControlError(400, "email must be a string")
        return control_json(200, {"invalidated": self.state.invalidate_sync_tokens(email)})

    def c_deliveries_get(self, req: Request) -> Response:
        return control_json(200, {"deliveries": self.state.list_deliveries()})

    def c_deliveries_delete(self, req: Request) -> Response:
        self.state.clear_deliveries()
        return control_json(200, {"ok": True})

    def c_push_faults_post(self, req: Request) -> Response:
        return control_json(200, {"id": self.state.add_push_fault(req.json())})

    def c_push_faults_get(self, req: Request) -> Response:
        return control_json(200, {"push_faults": self.state.list_push_faults()})

    def c_push_faults_delete(self, req: Request) -> Response:
        self.state.clear_push_faults()
        return control_json(200, {})

    def c_push_message(self, req: Request) -> Response:
        return control_json(200, self.state.send_message(req.json()))

    def c_channels(self, req: Request) -> Response:
        return control_json(200, {"channels": self.state.list_channels()})

    def c_notifications_get(self, req: Request) -> Response:
        return control_json(200, {"notifications": self.state.list_notifications()})

    def c_notifications_delete(self, req: Request) -> Response:
        self.state.clear_notifications()
        return control_json(200, {"ok": True})

    def c_ui_create(self, req: Request) -> Response:
        data = req.json()
        event = data.get("event")
        if not isinstance(event, dict):
            raise ControlError(400, "event must be an object")
        return control_json(200, self.state.insert_event(
            self._email_of(data), event, conference_version=1,
            send_updates=self._ui_send_updates(data), pending_reads=0))

    def c_ui_move(self, req: Request) -> Response:
        data = req.json()
        email, event_id = self._email_of(data), self._event_id_of(data)
        body = {k: data[k] for k in ("start", "end") if data.get(k) is not None}
        if not body:
            raise ControlError(400, "start and/or end is required")
        return control_json(200, self.state.modify_event(
            email, event_id, body, replace=False,
            conference_version=0, send_updates=self._ui_send_updates(data)))

    def c_ui_delete(self, req: Request) -> Response:
        data = req.json()
        return control_json(200, self.state.delete_event(
            self._email_of(data), self._event_id_of(data),
            send_updates=self._ui_send_updates(data), ui=True))

    def c_ui_edit_occurrence(self, req: Request) -> Response:
        data = req.json()
        body = {k: data[k] for k in ("start", "end") if data.get(k) is not None}
        return control_json(200, self.state.edit_occurrence(self._email_of(data), self._event_id_of(data), body))

    def c_ui_restore(self, req: Request) -> Response:
        data = req.json()
        return control_json(200, self.state.restore_event(self._email_of(data), self._event_id_of(data)))

    def c_ui_change_meet(self, req: Request) -> Response:
        data = req.json()
        return control_json(200, self.state.change_meet(self._email_of(data), self._event_id_of(data)))

    def c_ui_create_many(self, req: Request) -> Response:
        """Benchmarks: many events at once, as ``ui/create`` makes one; answers ids and etags."""
        data = req.json()
        events = data.get("events")
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            raise ControlError(400, "events must be a list of objects")
        email = self._email_of(data)
        made = [self.state.insert_event(email, e, conference_version=1, send_updates="none",
                                        pending_reads=0) for e in events]
        return control_json(200, {"events": [{"id": m["id"], "etag": m["etag"]} for m in made]})


# --------------------------------------------------------------------------
# Server / main
# --------------------------------------------------------------------------

class EmulatorServer(ThreadingHTTPServer):
    """Threaded HTTP(S) server owning one :class:`State`."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # listen backlog: benchmarks open 64+ connections at once

    def __init__(self, address: tuple[str, int], state: State | None = None):
        self.state = state or State()
        self.connection_counter = itertools.count(1)
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One quiet line instead of a traceback (client resets, TLS handshake failures)."""
        exc = sys.exc_info()[1]
        try:
            sys.stderr.write(f"[google-emulator] connection error: {type(exc).__name__}\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass


class EmulatorServer6(EmulatorServer):
    address_family = socket.AF_INET6


def make_server(host: str, port: int, tls_cert: str | None = None,
                tls_key: str | None = None) -> tuple[EmulatorServer, str]:
    """Create a listening server; return it and its base URL."""
    cls = EmulatorServer6 if ":" in host else EmulatorServer
    server = cls((host, port))
    scheme = "http"
    if tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(tls_cert, tls_key)
        ctx.set_alpn_protocols(["http/1.1"])
        server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
        scheme = "https"
    actual_port = server.server_address[1]
    url_host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    if ":" in url_host:
        url_host = f"[{url_host}]"
    return server, f"{scheme}://{url_host}:{actual_port}"


def write_ready_file(path: str, base_url: str) -> None:
    """Atomically write the base URL into *path* (tmp file + rename)."""
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(base_url + "\n")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Google OAuth 2.0 + Calendar v3 emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    parser.add_argument("--tls-cert", help="PEM certificate (chain) to serve HTTPS")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument("--ready-file", help="write the base URL here once listening")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")

    server, base_url = make_server(args.host, args.port, args.tls_cert, args.tls_key)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              name="google-emulator", daemon=True)
    thread.start()
    if args.ready_file:
        write_ready_file(args.ready_file, base_url)
    sys.stdout.write(f"READY {base_url}\n")
    sys.stdout.flush()
    sys.stderr.write(f"[google-emulator] listening on {base_url}\n")
    sys.stderr.flush()

    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    sys.stderr.write("[google-emulator] stopped\n")
    sys.stderr.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
