#!/usr/bin/env python3
"""Loopback emulator of Google's OAuth 2.0 and Calendar v3 APIs for kc-meet tests.

Standard library only (Python 3.11+).  It serves:

* ``GET  /o/oauth2/v2/auth``          consent page (like accounts.google.com)
* ``POST /o/oauth2/v2/auth/decide``   the consent form's target -> 302 to redirect_uri
* ``POST /token``                     authorization_code / refresh_token grants
* ``POST /revoke``                    token revocation (GET is accepted too, like Google)
* ``GET  /calendar/v3/calendars/{id}`` calendars.get
* ``/__emu/...``                      JSON control API (never faulted, never logged)

Run ``python3 google_emulator.py --help`` for the command line; see README.md
beside this file for the control API.  All state lives in memory inside one
:class:`State` object guarded by a single lock.  Secrets (codes, tokens, client
secrets) are never written to the log nor exposed by the control API.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import io
import json
import os
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
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, quote, unquote, unquote_plus, urlsplit

# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------

CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar"
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
    "refresh_token_only_on_consent": False,  # Google quirk, see README
    "account_timezones": {},            # email -> IANA zone for calendars.get
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


FAULT_ACTIONS = ("status", "delay", "reset", "reset_after")


class State:
    """All emulator state, guarded by one re-entrant lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

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
            return code

    def mint_code(self, data: dict[str, Any]) -> str:
        """Control API: a code as Google Identity Services' popup flow produces (no PKCE)."""
        client_id = data.get("client_id")
        email = data.get("email", DEFAULT_EMAIL)
        scopes = data.get("scopes")
        redirect_uri = data.get("redirect_uri", "postmessage")
        access_type = data.get("access_type", "offline")
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
                code_challenge_method=None, access_type=access_type, prompt=["consent"],
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
        out: dict[str, Any] = {"access_token": access, "expires_in": ttl}
        if with_refresh:
            refresh = REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(48)
            self.refresh_tokens[refresh] = grant.id
            grant.refresh_tokens.append(refresh)
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
            grant.revoked = True

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
        with self.lock:
            self._fault_seq += 1
            fault = Fault(id=self._fault_seq, method=method.upper() if method else None, path=path,
                          times=times, remaining=times, action=action, status=status,
                          body=data.get("body"), headers={k: str(v) for k, v in headers.items()},
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

    #: Google endpoints (subject to faults, recorded in the request log).
    #: To add Calendar events later, add e.g.
    #: ``route("GET", r"/calendar/v3/calendars/(?P<calendarId>[^/]+)/events", "h_events_list")``.
    ROUTES: list[Route] = [
        route("GET", r"/o/oauth2/v2/auth", "h_authorize"),
        route("POST", r"/o/oauth2/v2/auth/decide", "h_decide"),
        route("POST", r"/token", "h_token"),
        route("POST", r"/revoke", "h_revoke"),
        route("GET", r"/revoke", "h_revoke"),
        route("GET", r"/calendar/v3/calendars/(?P<calendarId>[^/]+)", "h_calendar_get"),
    ]
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
        route("POST", r"/__emu/expire_access_tokens", "c_expire_access_tokens"),
        route("POST", r"/__emu/revoke_grant", "c_revoke_grant"),
        route("POST", r"/__emu/faults", "c_faults_post"),
        route("GET", r"/__emu/faults", "c_faults_get"),
        route("DELETE", r"/__emu/faults", "c_faults_delete"),
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
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)
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
                "time": started}

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


# --------------------------------------------------------------------------
# Server / main
# --------------------------------------------------------------------------

class EmulatorServer(ThreadingHTTPServer):
    """Threaded HTTP(S) server owning one :class:`State`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: State | None = None):
        self.state = state or State()
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
