"""Self-test of the Google emulator (stdlib unittest).

Run from the repository root::

    python3 -m unittest tests/emulator/test_google_emulator.py

The emulator is started as a subprocess on a free loopback port; every test
resets its state first.  A TLS test generates a throwaway CA + server
certificate with the ``openssl`` CLI (skipped when openssl is missing).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlencode, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR = os.path.join(HERE, "google_emulator.py")

CLIENT_ID = "123-test.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-test:secret/+="  # characters that need urlencoding in Basic auth
REDIRECT = "https://clinic.example/wp-admin/admin-ajax.php?action=kc_meet_oauth"
CAL = "https://www.googleapis.com/auth/calendar"
EMAIL_SCOPE = "https://www.googleapis.com/auth/userinfo.email"


def start_emulator(*extra: str, stderr=None) -> tuple[subprocess.Popen, str]:
    """Start the emulator; return the process and its base URL (from the READY line)."""
    proc = subprocess.Popen([sys.executable, EMULATOR, "--port", "0", *extra],
                            stdout=subprocess.PIPE, stderr=stderr or subprocess.DEVNULL, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        proc.kill()
        raise RuntimeError(f"emulator did not start: {line!r}")
    return proc, line.split(" ", 1)[1]


def stop_emulator(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()


class FormParser(HTMLParser):
    """Collects the consent page's inputs and buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self._in_title = False
        self.form_action = None
        self.hidden: list[tuple[str, str]] = []
        self.inputs: dict[str, dict[str, str]] = {}
        self.checkboxes: list[dict[str, str]] = []
        self.buttons: list[dict[str, str]] = []
        self._button: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "title":
            self._in_title = True
        elif tag == "form":
            self.form_action = (a.get("method"), a.get("action"))
        elif tag == "input":
            if a.get("type") == "hidden":
                self.hidden.append((a["name"], a["value"]))
            elif a.get("type") == "checkbox":
                self.checkboxes.append(a)
            else:
                self.inputs[a.get("name", "")] = a
        elif tag == "button":
            self._button = dict(a, text="")
            self.buttons.append(self._button)

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag == "button":
            self._button = None

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._button is not None:
            self._button["text"] += data


class EmulatorTestCase(unittest.TestCase):
    proc: subprocess.Popen
    base: str
    stderr_file = None

    @classmethod
    def setUpClass(cls) -> None:
        cls.stderr_file = tempfile.TemporaryFile(mode="w+")
        cls.proc, cls.base = start_emulator(stderr=cls.stderr_file)
        u = urlsplit(cls.base)
        cls.host, cls.port = u.hostname, u.port

    @classmethod
    def tearDownClass(cls) -> None:
        stop_emulator(cls.proc)
        cls.stderr_file.close()

    def setUp(self) -> None:
        self.ctl("POST", "/__emu/reset")
        self.ctl("POST", "/__emu/clients", {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                            "redirect_uris": [REDIRECT, "http://localhost:8080/cb"]})

    # ---- HTTP helpers ------------------------------------------------------

    def request(self, method: str, path: str, body: bytes | str | None = None,
                headers: dict[str, str] | None = None, conn: http.client.HTTPConnection | None = None):
        """Return (status, headers dict lower-cased, body bytes)."""
        own = conn is None
        conn = conn or http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            if own:
                conn.close()

    def ctl(self, method: str, path: str, data: dict | None = None, expect: int = 200) -> dict:
        body = json.dumps(data).encode() if data is not None else None
        status, _, raw = self.request(method, path, body, {"Content-Type": "application/json"})
        self.assertEqual(status, expect, raw)
        return json.loads(raw)

    def form_post(self, path: str, fields, headers: dict[str, str] | None = None, conn=None):
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        h.update(headers or {})
        return self.request("POST", path, urlencode(fields, doseq=True), h, conn=conn)

    def token(self, fields: dict, basic: bool = True):
        """POST /token; returns (status, headers, json)."""
        headers = {}
        if basic:
            cred = f"{quote(CLIENT_ID, safe='')}:{quote(CLIENT_SECRET, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
        else:
            fields = dict(fields, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        status, h, raw = self.form_post("/token", fields, headers)
        return status, h, json.loads(raw)

    def calendar(self, token: str | None, cal: str = "primary"):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        status, h, raw = self.request("GET", f"/calendar/v3/calendars/{cal}", headers=headers)
        return status, h, json.loads(raw)

    def auth_query(self, **over) -> dict:
        q = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "response_type": "code",
             "scope": f"openid email {CAL}", "state": "st/+ &=1", "access_type": "offline",
             "prompt": "consent"}
        q.update(over)
        return {k: v for k, v in q.items() if v is not None}

    def shortcut(self, query: dict, **extra) -> dict:
        url = self.base + "/o/oauth2/v2/auth?" + urlencode(query)
        status, _, raw = self.request("POST", "/__emu/authorize",
                                      json.dumps(dict({"auth_url": url}, **extra)).encode())
        return {"status": status, **json.loads(raw)}

    @staticmethod
    def pkce() -> tuple[str, str]:
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        return verifier, challenge

    def get_code(self, email="doctor@example.com", **over) -> tuple[str, dict]:
        r = self.shortcut(self.auth_query(**over), email=email, decision="allow")
        self.assertEqual(r["status"], 200, r)
        q = parse_qs(urlsplit(r["redirect"]).query)
        return q["code"][0], q

    def connect(self, email="doctor@example.com", **over) -> dict:
        """Full authorization -> tokens."""
        code, _ = self.get_code(email=email, **over)
        status, _, body = self.token({"grant_type": "authorization_code", "code": code,
                                      "redirect_uri": over.get("redirect_uri", REDIRECT)})
        self.assertEqual(status, 200, body)
        return body

    def assert_oauth_error(self, result, status, error, description=None):
        st, headers, body = result
        self.assertEqual(st, status, body)
        self.assertEqual(body["error"], error)
        if description is not None:
            self.assertEqual(body["error_description"], description)
        self.assertEqual(headers["content-type"], "application/json; charset=utf-8")


class AuthorizeTests(EmulatorTestCase):

    def test_consent_page_and_browser_form_flow(self):
        verifier, challenge = self.pkce()
        q = self.auth_query(code_challenge=challenge, code_challenge_method="S256",
                            login_hint="dr.house@example.com")
        status, headers, raw = self.request("GET", "/o/oauth2/v2/auth?" + urlencode(q))
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/html"))
        page = raw.decode()
        p = FormParser()
        p.feed(page)
        self.assertEqual(p.title, "Sign in - Google Accounts")
        self.assertIn(CLIENT_ID, page)
        self.assertEqual(p.form_action, ("POST", "/o/oauth2/v2/auth/decide"))
        self.assertEqual(sorted(p.hidden), sorted(q.items()))
        self.assertEqual(p.inputs["email"]["value"], "dr.house@example.com")
        self.assertEqual([c["value"] for c in p.checkboxes], ["openid", "email", CAL])
        self.assertTrue(all(c["name"] == "granted_scopes" and "checked" in c for c in p.checkboxes))
        buttons = {b["id"]: b for b in p.buttons}
        self.assertEqual((buttons["allow"]["name"], buttons["allow"]["value"], buttons["allow"]["text"]),
                         ("decision", "allow", "Allow"))
        self.assertEqual((buttons["deny"]["name"], buttons["deny"]["value"], buttons["deny"]["text"]),
                         ("decision", "deny", "Cancel"))

        # Submit like a browser: hidden fields + email + two of three checkboxes + Allow.
        fields = list(p.hidden) + [("email", "dr.house@example.com"), ("granted_scopes", "openid"),
                                   ("granted_scopes", CAL), ("decision", "allow")]
        status, headers, _ = self.form_post("/o/oauth2/v2/auth/decide", fields)
        self.assertEqual(status, 302)
        loc = headers["location"]
        self.assertTrue(loc.startswith(REDIRECT + "&state="), loc)  # existing query kept with '&'
        lq = parse_qs(urlsplit(loc).query)
        self.assertEqual(lq["action"], ["kc_meet_oauth"])
        self.assertEqual(lq["state"], ["st/+ &=1"])
        self.assertEqual(lq["scope"], [f"openid {CAL}"])
        code = lq["code"][0]
        self.assertTrue(code.startswith("4/0") and len(code) == 43, code)

        # PKCE failures, then success.
        base = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        self.assert_oauth_error(self.token(base), 400, "invalid_grant", "Missing code verifier.")
        self.assert_oauth_error(self.token(dict(base, code_verifier="x" * 43)), 400,
                                "invalid_grant", "Invalid code verifier.")
        st, h, body = self.token(dict(base, code_verifier=verifier))
        self.assertEqual(st, 200, body)
        self.assertEqual(h["cache-control"], "no-store")
        self.assertEqual(h["content-type"], "application/json; charset=utf-8")
        self.assertTrue(body["access_token"].startswith("ya29.emu-"))
        self.assertTrue(body["refresh_token"].startswith("1//emu-"))
        self.assertEqual(body["expires_in"], 3599)
        self.assertEqual(body["token_type"], "Bearer")
        self.assertEqual(body["scope"], f"openid {CAL}")
        self.assertIn("id_token", body)  # openid granted
        st, _, cal = self.calendar(body["access_token"])
        self.assertEqual((st, cal["id"]), (200, "dr.house@example.com"))

    def test_decide_deny_and_granted_scopes_string(self):
        q = self.auth_query()
        status, headers, _ = self.form_post("/o/oauth2/v2/auth/decide", dict(q, decision="deny"))
        self.assertEqual(status, 302)
        self.assertEqual(headers["location"],
                         REDIRECT + "&error=access_denied&state=st/%2B%20%26%3D1")
        # No state -> no state parameter; redirect without query gets '?'.
        q2 = self.auth_query(state=None, redirect_uri="http://localhost:8080/cb")
        status, headers, _ = self.form_post("/o/oauth2/v2/auth/decide", dict(q2, decision="deny"))
        self.assertEqual(headers["location"], "http://localhost:8080/cb?error=access_denied")
        # granted_scopes as one space-separated string; no email field -> default email.
        status, headers, _ = self.form_post("/o/oauth2/v2/auth/decide",
                                            dict(q2, decision="allow", granted_scopes=f"email {CAL}"))
        self.assertEqual(status, 302)
        lq = parse_qs(urlsplit(headers["location"]).query)
        self.assertEqual(lq["scope"], [f"{EMAIL_SCOPE} {CAL}"])
        grants_before = self.ctl("GET", "/__emu/grants")["grants"]
        self.assertEqual(grants_before, [])
        st, _, body = self.token({"grant_type": "authorization_code", "code": lq["code"][0],
                                  "redirect_uri": "http://localhost:8080/cb"}, basic=False)
        self.assertEqual(st, 200, body)
        self.assertNotIn("id_token", body)
        self.assertEqual(self.ctl("GET", "/__emu/grants")["grants"][0]["email"], "doctor@example.com")

    def test_authorize_validation_errors(self):
        cases = [
            (dict(client_id="nope"), "Error 401: invalid_client"),
            (dict(client_id=None), "Error 400: invalid_request"),
            (dict(redirect_uri="https://evil.example/cb"), "Error 400: redirect_uri_mismatch"),
            (dict(redirect_uri=None), "Error 400: invalid_request"),
            (dict(response_type="token"), "Error 400: invalid_request"),
            (dict(scope=""), "Error 400: invalid_request"),
            (dict(code_challenge="a" * 43, code_challenge_method="S512"), "Error 400: invalid_request"),
            (dict(code_challenge_method="S256"), "Error 400: invalid_request"),
            (dict(access_type="forever"), "Error 400: invalid_request"),
        ]
        for over, needle in cases:
            with self.subTest(over=over):
                status, headers, raw = self.request("GET", "/o/oauth2/v2/auth?" + urlencode(self.auth_query(**over)))
                self.assertEqual(status, 400)
                self.assertTrue(headers["content-type"].startswith("text/html"))
                self.assertIn(needle, raw.decode())
        # plain PKCE is accepted (and is the default method)
        status, _, _ = self.request("GET", "/o/oauth2/v2/auth?" + urlencode(self.auth_query(code_challenge="b" * 43)))
        self.assertEqual(status, 200)
        # decide re-validates
        status, _, raw = self.form_post("/o/oauth2/v2/auth/decide",
                                        dict(self.auth_query(redirect_uri="https://evil.example/"), decision="allow"))
        self.assertEqual(status, 400)
        self.assertIn("redirect_uri_mismatch", raw.decode())

    def test_authorize_shortcut(self):
        r = self.shortcut(self.auth_query(), email="a@example.com", decision="allow",
                          granted_scopes=["email"])
        self.assertEqual(r["status"], 200)
        q = parse_qs(urlsplit(r["redirect"]).query)
        self.assertEqual(q["scope"], [EMAIL_SCOPE])
        self.assertEqual(q["state"], ["st/+ &=1"])
        r = self.shortcut(self.auth_query(), decision="deny")
        self.assertEqual(parse_qs(urlsplit(r["redirect"]).query)["error"], ["access_denied"])
        r = self.shortcut(self.auth_query(redirect_uri="https://x.example/"))
        self.assertEqual((r["status"], r["error"]), (400, "redirect_uri_mismatch"))
        r = self.shortcut(self.auth_query(client_id="unknown"))
        self.assertEqual((r["status"], r["error"]), (400, "invalid_client"))
        r = self.shortcut(self.auth_query(), granted_scopes=["https://www.googleapis.com/auth/drive"])
        self.assertEqual((r["status"], r["error"]), (400, "invalid_request"))


class TokenTests(EmulatorTestCase):

    def test_token_errors(self):
        code, _ = self.get_code()
        ok = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        status, _, raw = self.form_post("/token", dict(ok, client_id="bad", client_secret="x"))
        self.assert_oauth_error((status, {"content-type": "application/json; charset=utf-8"}, json.loads(raw)),
                                401, "invalid_client", "Unauthorized")
        status, _, raw = self.form_post("/token", dict(ok, client_id=CLIENT_ID, client_secret="wrong"))
        self.assertEqual((status, json.loads(raw)["error"]), (401, "invalid_client"))
        bad_basic = {"Authorization": "Basic " + base64.b64encode(b"x:y").decode()}
        self.assertEqual(self.form_post("/token", ok, bad_basic)[0], 401)
        self.assert_oauth_error(self.token({"grant_type": "password"}), 400, "unsupported_grant_type",
                                "Invalid grant_type: password")
        self.assert_oauth_error(self.token({"grant_type": "authorization_code", "redirect_uri": REDIRECT}),
                                400, "invalid_request", "Missing required parameter: code")
        self.assert_oauth_error(self.token({"grant_type": "authorization_code", "code": code}),
                                400, "invalid_request", "Missing required parameter: redirect_uri")
        self.assert_oauth_error(self.token({"grant_type": "refresh_token"}),
                                400, "invalid_request", "Missing required parameter: refresh_token")
        self.assert_oauth_error(self.token(dict(ok, code="4/0unknown")), 400, "invalid_grant", "Bad Request")
        self.assert_oauth_error(self.token(dict(ok, redirect_uri="http://localhost:8080/cb")),
                                400, "redirect_uri_mismatch", "Bad Request")
        self.assert_oauth_error(self.token(dict(ok, redirect_uri="postmessage")),
                                400, "redirect_uri_mismatch")
        self.assert_oauth_error(self.token({"grant_type": "refresh_token", "refresh_token": "1//nope"}),
                                400, "invalid_grant", "Token has been expired or revoked.")
        # still usable after all those failures
        self.assertEqual(self.token(ok)[0], 200)
        # expired code
        self.ctl("POST", "/__emu/config", {"code_ttl": 0})
        code2, _ = self.get_code()
        self.assert_oauth_error(self.token(dict(ok, code=code2)), 400, "invalid_grant", "Bad Request")

    def test_code_reuse_revokes_grant_and_refresh(self):
        code, _ = self.get_code()
        req = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        st, _, tok = self.token(req)
        self.assertEqual(st, 200)
        st, _, ref = self.token({"grant_type": "refresh_token", "refresh_token": tok["refresh_token"]})
        self.assertEqual(st, 200, ref)
        self.assertNotIn("refresh_token", ref)
        self.assertEqual(set(ref), {"access_token", "expires_in", "scope", "token_type", "id_token"})
        self.assertEqual(self.calendar(ref["access_token"])[0], 200)
        g = self.ctl("GET", "/__emu/grants")["grants"]
        self.assertEqual((len(g), g[0]["refresh_count"], g[0]["access_tokens_issued"], g[0]["revoked"]),
                         (1, 1, 2, False))
        self.assertNotIn(tok["refresh_token"], json.dumps(g))
        # replay the code: invalid_grant and the grant is revoked
        self.assert_oauth_error(self.token(req), 400, "invalid_grant", "Bad Request")
        self.assertTrue(self.ctl("GET", "/__emu/grants")["grants"][0]["revoked"])
        self.assertEqual(self.calendar(ref["access_token"])[0], 401)
        self.assert_oauth_error(self.token({"grant_type": "refresh_token", "refresh_token": tok["refresh_token"]}),
                                400, "invalid_grant", "Token has been expired or revoked.")

    def test_online_access_plain_pkce_and_json_body(self):
        code, _ = self.get_code(access_type="online", code_challenge="p" * 50, code_challenge_method="plain")
        st, _, body = self.token({"grant_type": "authorization_code", "code": code,
                                  "redirect_uri": REDIRECT, "code_verifier": "p" * 50})
        self.assertEqual(st, 200, body)
        self.assertNotIn("refresh_token", body)
        # Google's token endpoint also takes JSON bodies
        code, _ = self.get_code()
        st, _, raw = self.request("POST", "/token", json.dumps({
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}), {"Content-Type": "application/json"})
        self.assertEqual(st, 200, raw)

    def test_mint_code_postmessage(self):
        code = self.ctl("POST", "/__emu/mint_code", {"client_id": CLIENT_ID, "email": "gis@example.com",
                                                     "scopes": [CAL], "redirect_uri": "postmessage",
                                                     "access_type": "offline"})["code"]
        self.assert_oauth_error(self.token({"grant_type": "authorization_code", "code": code,
                                            "redirect_uri": REDIRECT}), 400, "redirect_uri_mismatch")
        st, _, body = self.token({"grant_type": "authorization_code", "code": code, "redirect_uri": "postmessage"})
        self.assertEqual(st, 200, body)
        self.assertIn("refresh_token", body)
        self.assertEqual(body["scope"], CAL)
        self.assertEqual(self.calendar(body["access_token"], "gis%40example.com")[2]["id"], "gis@example.com")
        self.ctl("POST", "/__emu/mint_code", {"client_id": "nope", "scopes": [CAL]}, expect=400)
        self.ctl("POST", "/__emu/mint_code", {"client_id": CLIENT_ID, "scopes": []}, expect=400)

    def test_config_ttl_rotation_timezone(self):
        cfg = self.ctl("POST", "/__emu/config", {"access_token_ttl": 120, "rotate_refresh_tokens": True,
                                                 "account_timezones": {"doctor@example.com": "Europe/Paris"}})
        self.assertEqual(cfg["access_token_ttl"], 120)
        tok = self.connect()
        self.assertEqual(tok["expires_in"], 120)
        st, _, r1 = self.token({"grant_type": "refresh_token", "refresh_token": tok["refresh_token"]})
        self.assertNotEqual(r1["refresh_token"], tok["refresh_token"])
        # both old and new refresh tokens keep working
        for rt in (tok["refresh_token"], r1["refresh_token"]):
            self.assertEqual(self.token({"grant_type": "refresh_token", "refresh_token": rt})[0], 200)
        st, h, cal = self.calendar(tok["access_token"])
        self.assertEqual(cal["timeZone"], "Europe/Paris")
        self.assertRegex(cal["etag"], r'^"\d+"$')
        self.assertEqual(h["content-type"], "application/json; charset=UTF-8")
        self.ctl("POST", "/__emu/config", {"nope": 1}, expect=400)
        self.ctl("POST", "/__emu/config", {"access_token_ttl": "x"}, expect=400)

    def test_refresh_token_quirk_and_include_granted_scopes(self):
        self.ctl("POST", "/__emu/config", {"refresh_token_only_on_consent": True})
        self.assertIn("refresh_token", self.connect(prompt=None, scope="openid"))
        self.assertNotIn("refresh_token", self.connect(prompt=None, scope=CAL, include_granted_scopes="true"))
        self.assertIn("refresh_token", self.connect(prompt="consent", scope=CAL))
        grants = self.ctl("GET", "/__emu/grants")["grants"]
        self.assertEqual(grants[1]["scopes"], [CAL, "openid"])
        self.assertEqual(grants[2]["scopes"], [CAL])

    def test_refresh_with_other_client(self):
        tok = self.connect()
        self.ctl("POST", "/__emu/clients", {"client_id": "other", "client_secret": "s", "redirect_uris": []})
        status, _, raw = self.form_post("/token", {"grant_type": "refresh_token", "client_id": "other",
                                                   "client_secret": "s", "refresh_token": tok["refresh_token"]})
        self.assertEqual((status, json.loads(raw)["error"]), (401, "unauthorized_client"))
        status, _, raw = self.form_post("/token", {"grant_type": "refresh_token", "client_id": CLIENT_ID,
                                                   "refresh_token": tok["refresh_token"]})
        self.assertEqual((status, json.loads(raw)["error"]), (400, "invalid_request"))


    def test_secrets_record_survives_reset(self):
        verifier, challenge = self.pkce()
        code, _ = self.get_code(code_challenge=challenge, code_challenge_method="S256")
        st, _, tok = self.token({"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                              "redirect_uri": REDIRECT})
        self.assertEqual(st, 200, tok)
        self.ctl("POST", "/__emu/reset")
        kinds = {}
        for s in self.ctl("GET", "/__emu/secrets")["secrets"]:
            kinds.setdefault(s["kind"], []).append(s["value"])
        self.assertIn(code, kinds["code"])
        self.assertIn(verifier, kinds["code_verifier"])
        self.assertIn(tok["access_token"], kinds["access_token"])
        self.assertIn(tok["refresh_token"], kinds["refresh_token"])
        self.assertIn(CLIENT_SECRET, kinds["client_secret"])


class RevokeAndCalendarTests(EmulatorTestCase):

    def test_revoke(self):
        tok = self.connect()
        status, h, raw = self.form_post("/revoke", {"token": tok["access_token"]})
        self.assertEqual((status, json.loads(raw)), (200, {}))
        self.assertEqual(h["content-type"], "application/json; charset=utf-8")
        status, _, raw = self.form_post("/revoke", {"token": tok["refresh_token"]})
        self.assertEqual(json.loads(raw), {"error": "invalid_token", "error_description": "Token expired or revoked"})
        self.assertEqual(status, 400)
        self.assertEqual(self.calendar(tok["access_token"])[0], 401)
        self.assert_oauth_error(self.token({"grant_type": "refresh_token", "refresh_token": tok["refresh_token"]}),
                                400, "invalid_grant")
        # by refresh token, in the query string
        tok2 = self.connect()
        status, _, _ = self.request("POST", "/revoke?" + urlencode({"token": tok2["refresh_token"]}))
        self.assertEqual(status, 200)
        self.assertEqual(self.calendar(tok2["access_token"])[0], 401)
        self.assertEqual(self.form_post("/revoke", {"token": "ya29.unknown"})[0], 400)
        self.assertEqual(self.form_post("/revoke", {})[0], 400)
        self.assertEqual([g["revoked"] for g in self.ctl("GET", "/__emu/grants")["grants"]], [True, True])

    def test_calendar_auth_errors_and_not_found(self):
        st, h, body = self.calendar(None)
        self.assertEqual(st, 401)
        self.assertEqual(h["www-authenticate"], 'Bearer realm="https://accounts.google.com/", error="invalid_token"')
        self.assertEqual(h["content-type"], "application/json; charset=UTF-8")
        self.assertEqual(body["error"]["status"], "UNAUTHENTICATED")
        self.assertEqual(body["error"]["errors"], [{"message": "Invalid Credentials", "domain": "global",
                                                    "reason": "authError", "location": "Authorization",
                                                    "locationType": "header"}])
        self.assertTrue(body["error"]["message"].startswith("Request had invalid authentication credentials."))
        self.assertEqual(self.calendar("ya29.bogus")[0], 401)

        tok = self.connect(scope="openid email")
        st, h, body = self.calendar(tok["access_token"])
        self.assertEqual(st, 403)
        self.assertEqual(body, {"error": {"code": 403, "message": "Request had insufficient authentication scopes.",
                                          "errors": [{"message": "Insufficient Permission", "domain": "global",
                                                      "reason": "insufficientPermissions"}],
                                          "status": "PERMISSION_DENIED"}})

        tok = self.connect()
        st, _, cal = self.calendar(tok["access_token"])
        self.assertEqual(st, 200)
        self.assertEqual(cal["kind"], "calendar#calendar")
        self.assertEqual(cal["id"], "doctor@example.com")
        self.assertEqual(cal["summary"], "doctor@example.com")
        self.assertEqual(cal["timeZone"], "UTC")
        self.assertEqual(cal["conferenceProperties"], {"allowedConferenceSolutionTypes": ["hangoutsMeet"]})
        self.assertEqual(self.calendar(tok["access_token"], "doctor%40example.com")[0], 200)
        not_found = {"error": {"code": 404, "message": "Not Found", "errors": [
            {"domain": "global", "reason": "notFound", "message": "Not Found"}]}}
        st, _, body = self.calendar(tok["access_token"], "someone%40else.com")
        self.assertEqual((st, body), (404, not_found))
        status, h, raw = self.request("GET", "/calendar/v3/calendars/primary/acl",
                                      headers={"Authorization": "Bearer " + tok["access_token"]})
        self.assertEqual((status, json.loads(raw)), (404, not_found))
        self.assertEqual(h["content-type"], "application/json; charset=UTF-8")
        self.assertEqual(self.request("GET", "/nothing-here")[0], 404)

    def test_expire_and_revoke_grant_controls(self):
        a = self.connect(email="a@example.com")
        b = self.connect(email="b@example.com")
        self.assertEqual(self.ctl("POST", "/__emu/expire_access_tokens", {"email": "a@example.com"}), {"expired": 1})
        self.assertEqual(self.calendar(a["access_token"])[0], 401)
        self.assertEqual(self.calendar(b["access_token"])[0], 200)
        st, _, r = self.token({"grant_type": "refresh_token", "refresh_token": a["refresh_token"]})
        self.assertEqual(st, 200)
        self.assertEqual(self.calendar(r["access_token"])[0], 200)
        # an expired access token can no longer be revoked
        self.assertEqual(self.form_post("/revoke", {"token": a["access_token"]})[0], 400)
        self.ctl("POST", "/__emu/expire_access_tokens", {})
        self.assertEqual(self.calendar(b["access_token"])[0], 401)

        self.assertEqual(self.ctl("POST", "/__emu/revoke_grant", {"email": "b@example.com"}), {"revoked": 1})
        self.assert_oauth_error(self.token({"grant_type": "refresh_token", "refresh_token": b["refresh_token"]}),
                                400, "invalid_grant", "Token has been expired or revoked.")
        self.assertEqual(self.token({"grant_type": "refresh_token", "refresh_token": a["refresh_token"]})[0], 200)


class FaultTests(EmulatorTestCase):

    def test_status_faults(self):
        fid = self.ctl("POST", "/__emu/faults", {"method": "POST", "path": "/token", "times": 1,
                                                 "action": "status", "status": 503})["id"]
        self.assertIsInstance(fid, int)
        tok_req = {"grant_type": "refresh_token", "refresh_token": "1//x"}
        st, h, body = self.token(tok_req)
        self.assertEqual(st, 503)
        self.assertEqual(body["error"]["status"], "UNAVAILABLE")
        self.assertEqual(body["error"]["errors"][0]["reason"], "backendError")
        self.assertEqual(h["content-type"], "application/json; charset=UTF-8")
        self.assertEqual(self.token(tok_req)[0], 400)  # times=1 used up
        self.assertEqual(self.ctl("GET", "/__emu/faults")["faults"][0]["remaining"], 0)

        self.ctl("POST", "/__emu/faults", {"path": "/calendar/v3", "times": 2, "status": 429,
                                           "headers": {"Retry-After": "1"}})
        st, h, body = self.calendar(None)
        self.assertEqual((st, h["retry-after"]), (429, "1"))
        self.assertEqual((body["error"]["status"], body["error"]["errors"][0]["reason"]),
                         ("RESOURCE_EXHAUSTED", "rateLimitExceeded"))
        self.assertEqual(self.calendar(None)[0], 429)
        self.assertEqual(self.calendar(None)[0], 401)

        # custom bodies, unlimited times, method filter
        self.ctl("POST", "/__emu/faults", {"method": "GET", "path": "/revoke", "times": 0,
                                           "status": 500, "body": "oops"})
        self.ctl("POST", "/__emu/faults", {"method": "POST", "path": "/revoke", "times": 0,
                                           "status": 400, "body": {"error": "custom"}})
        for _ in range(3):
            st, h, raw = self.request("GET", "/revoke?token=x")
            self.assertEqual((st, raw), (500, b"oops"))
        st, _, raw = self.form_post("/revoke", {"token": "x"})
        self.assertEqual((st, json.loads(raw)), (400, {"error": "custom"}))
        faults = self.ctl("GET", "/__emu/faults")["faults"]
        self.assertEqual([f["remaining"] for f in faults], [0, 0, None, None])
        self.assertEqual(faults[2]["hits"], 3)
        # control API never faulted
        self.ctl("POST", "/__emu/faults", {"path": "/", "times": 0, "status": 500})
        self.ctl("GET", "/__emu/health")
        self.ctl("DELETE", "/__emu/faults")
        self.assertEqual(self.ctl("GET", "/__emu/faults"), {"faults": []})
        self.assertEqual(self.calendar(None)[0], 401)
        self.ctl("POST", "/__emu/faults", {"action": "explode"}, expect=400)

    def test_delay_fault(self):
        self.ctl("POST", "/__emu/faults", {"path": "/calendar", "action": "delay", "delay_s": 0.4})
        t0 = time.monotonic()
        self.assertEqual(self.calendar(None)[0], 401)
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)
        t0 = time.monotonic()
        self.calendar(None)
        self.assertLess(time.monotonic() - t0, 0.4)

    def test_reset_fault(self):
        self.ctl("POST", "/__emu/faults", {"method": "POST", "path": "/token", "action": "reset"})
        code, _ = self.get_code()
        req = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        with self.assertRaises((ConnectionError, http.client.HTTPException, OSError)):
            self.token(req)
        # nothing was handled: the code still works
        self.assertEqual(self.token(req)[0], 200)
        log = self.ctl("GET", "/__emu/requests")["requests"]
        self.assertEqual([(e["path"], e["status"]) for e in log], [("/token", None), ("/token", 200)])
        # it is a real RST (ECONNRESET), not an orderly FIN
        self.ctl("POST", "/__emu/faults", {"path": "/calendar", "action": "reset"})
        with socket.create_connection((self.host, self.port), timeout=5) as raw:
            raw.sendall(b"GET /calendar/v3/calendars/primary HTTP/1.1\r\nHost: x\r\n\r\n")
            with self.assertRaises(ConnectionResetError):
                raw.recv(100)

    def test_reset_after_fault_loses_response(self):
        self.ctl("POST", "/__emu/faults", {"method": "POST", "path": "/token", "action": "reset_after"})
        code, _ = self.get_code()
        req = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        with self.assertRaises((ConnectionError, http.client.HTTPException, OSError)):
            self.token(req)
        # the code was consumed (grant created); the retry is a replay -> invalid_grant + revoke
        grants = self.ctl("GET", "/__emu/grants")["grants"]
        self.assertEqual((len(grants), grants[0]["revoked"]), (1, False))
        self.assert_oauth_error(self.token(req), 400, "invalid_grant")
        self.assertTrue(self.ctl("GET", "/__emu/grants")["grants"][0]["revoked"])


class LogAndServerTests(EmulatorTestCase):

    def test_request_log(self):
        tok = self.connect(email="log@example.com")
        self.calendar(tok["access_token"])
        self.calendar(None)
        self.request("POST", "/revoke?token=" + quote(tok["refresh_token"], safe=""))
        log = self.ctl("GET", "/__emu/requests")["requests"]
        self.assertEqual([e["path"] for e in log],
                         ["/token", "/calendar/v3/calendars/primary", "/calendar/v3/calendars/primary", "/revoke"])
        self.assertEqual([e["seq"] for e in log], sorted(e["seq"] for e in log))
        t, c1, c2, r = log
        self.assertEqual(t["method"], "POST")
        self.assertEqual(t["grant_type"], "authorization_code")
        self.assertEqual(sorted(t["form_keys"]), ["code", "grant_type", "redirect_uri"])
        self.assertEqual((t["status"], t["has_bearer"], t["bearer_email"]), (200, False, None))
        self.assertEqual((c1["status"], c1["has_bearer"], c1["bearer_email"]), (200, True, "log@example.com"))
        self.assertEqual((c2["status"], c2["has_bearer"]), (401, False))
        self.assertEqual(r["query"], {"token": "[redacted]"})
        self.assertIsInstance(t["time"], float)
        dump = json.dumps(log)
        for secret in (tok["access_token"], tok["refresh_token"], CLIENT_SECRET):
            self.assertNotIn(secret, dump)
        self.ctl("DELETE", "/__emu/requests")
        self.assertEqual(self.ctl("GET", "/__emu/requests"), {"requests": []})

    def test_stderr_never_contains_secrets(self):
        tok = self.connect()
        code, _ = self.get_code()
        self.request("GET", "/revoke?token=" + quote(tok["access_token"], safe=""))
        self.request("GET", "/o/oauth2/v2/auth?" + urlencode(self.auth_query(state="SECRETSTATE")))
        time.sleep(0.05)
        self.stderr_file.flush()
        self.stderr_file.seek(0)
        text = self.stderr_file.read()
        self.assertIn("POST /token 200", text)
        for secret in (tok["access_token"], tok["refresh_token"], code, CLIENT_SECRET, "SECRETSTATE"):
            self.assertNotIn(secret, text)

    def test_keep_alive_and_reset(self):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=5)
        try:
            for _ in range(3):
                st, h, _ = self.request("GET", "/__emu/health", conn=conn)
                self.assertEqual(st, 200)
                self.assertIn("content-length", h)
            st, h, _ = self.request("GET", "/calendar/v3/calendars/primary", conn=conn)
            self.assertEqual((st, h["content-length"] != "0"), (401, True))
            sock1 = conn.sock
            self.request("GET", "/__emu/health", conn=conn)
            self.assertIs(conn.sock, sock1)  # same TCP connection reused
        finally:
            conn.close()
        self.connect()
        self.ctl("POST", "/__emu/faults", {"path": "/x", "status": 500})
        self.ctl("POST", "/__emu/reset")
        self.assertEqual(self.ctl("GET", "/__emu/grants"), {"grants": []})
        self.assertEqual(self.ctl("GET", "/__emu/faults"), {"faults": []})
        self.assertEqual(self.ctl("GET", "/__emu/requests"), {"requests": []})
        self.assertEqual(self.ctl("GET", "/__emu/clients"), {"clients": []})
        self.ctl("GET", "/__emu/nope", expect=404)
        self.ctl("POST", "/__emu/clients", {"client_id": ""}, expect=400)


# --------------------------------------------------------------------------
# Calendar events, incremental sync, push notifications, "Google Calendar UI"
# --------------------------------------------------------------------------

DOC = "doctor@clinic.example"
B32HEX_ID = r"^[a-v0-9]{26}$"
MEET_RE = r"^[a-z]{3}-[a-z]{4}-[a-z]{3}$"
TS_MS_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"


def gerr(code: int, reason: str, message: str) -> dict:
    """Calendar's error body (no "status" string)."""
    return {"error": {"code": code, "message": message,
                      "errors": [{"domain": "global", "reason": reason, "message": message}]}}


class WebhookReceiver:
    """A local http server recording push notifications (method, path, headers, body)."""

    def __init__(self, status: int = 200, delay_s: float = 0.0) -> None:
        received = self.received = []
        lock = self.lock = threading.Lock()

        class H(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                time.sleep(delay_s)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    received.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                     "body": body})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?x=1"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def messages(self) -> list[dict]:
        with self.lock:
            return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class EventsTestCase(EmulatorTestCase):
    """Helpers for the events API, with a connected doctor."""

    def setUp(self) -> None:
        super().setUp()
        self.tok = self.connect(email=DOC)["access_token"]

    def api(self, method: str, path: str, body=None, query=None, token: str | None = "self",
            headers: dict | None = None, cal: str = "primary"):
        """Call /calendar/v3/calendars/{cal}{path}; return (status, headers, json or None)."""
        token = self.tok if token == "self" else token
        h = {"Content-Type": "application/json"}
        if token:
            h["Authorization"] = "Bearer " + token
        h.update(headers or {})
        url = f"/calendar/v3/calendars/{cal}{path}" if not path.startswith("/calendar/") else path
        if query:
            url += "?" + urlencode(query, doseq=True)
        st, rh, raw = self.request(method, url, json.dumps(body) if body is not None else None, h)
        return st, rh, (json.loads(raw) if raw else None)

    def insert(self, expect: int = 200, query=None, **fields) -> dict:
        body = {"summary": "Consultation", "start": {"dateTime": "2026-12-01T10:00:00+01:00"},
                "end": {"dateTime": "2026-12-01T10:30:00+01:00"}}
        body.update(fields)
        st, _, ev = self.api("POST", "/events", body, query)
        self.assertEqual(st, expect, ev)
        return ev

    def get(self, eid: str) -> dict:
        st, _, ev = self.api("GET", f"/events/{eid}")
        self.assertEqual(st, 200, ev)
        return ev

    def list_all(self, **query) -> tuple[list[dict], list[dict]]:
        """Follow nextPageToken; return (pages, items)."""
        pages, items, q = [], [], dict(query)
        while True:
            st, _, page = self.api("GET", "/events", query=q)
            self.assertEqual(st, 200, page)
            pages.append(page)
            items += page["items"]
            if "nextPageToken" not in page:
                return pages, items
            q = dict(query, pageToken=page["nextPageToken"])

    def wait_deliveries(self, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            ds = self.ctl("GET", "/__emu/deliveries")["deliveries"]
            if len(ds) >= count and all(d["done"] for d in ds):
                return ds
            if time.monotonic() > deadline:
                self.fail(f"expected {count} finished deliveries, got {ds}")
            time.sleep(0.02)


class EventsInsertTests(EventsTestCase):

    def test_insert_resource_shape(self):
        ev = self.insert(id="kcmeet0001appt42", description="Video consultation", location="Online",
                         attendees=[{"email": "patient@mail.example", "displayName": "Pat"},
                                    {"email": "nurse@clinic.example", "optional": True, "responseStatus": "accepted"}],
                         extendedProperties={"private": {"kc_appointment": "42"}}, visibility="private",
                         guestsCanModify=False, colorId="5")
        self.assertEqual(ev["kind"], "calendar#event")
        self.assertRegex(ev["etag"], r'^"\d{16}"$')
        self.assertEqual((ev["id"], ev["status"], ev["sequence"]), ("kcmeet0001appt42", "confirmed", 0))
        eid = ev["htmlLink"].split("eid=", 1)[1]
        self.assertTrue(ev["htmlLink"].startswith("https://www.google.com/calendar/event?eid="))
        self.assertEqual(base64.urlsafe_b64decode(eid + "=" * (-len(eid) % 4)).decode(), f"kcmeet0001appt42 {DOC}")
        self.assertRegex(ev["created"], TS_MS_RE)
        self.assertEqual(ev["created"], ev["updated"])
        self.assertEqual(ev["creator"], {"email": DOC, "self": True})
        self.assertEqual(ev["organizer"], {"email": DOC, "self": True})
        self.assertEqual(ev["start"], {"dateTime": "2026-12-01T10:00:00+01:00"})
        self.assertEqual(ev["iCalUID"], "kcmeet0001appt42@google.com")
        self.assertEqual([a["responseStatus"] for a in ev["attendees"]], ["needsAction", "accepted"])
        self.assertEqual(ev["attendees"][0]["displayName"], "Pat")
        self.assertEqual(ev["reminders"], {"useDefault": True})
        self.assertEqual(ev["eventType"], "default")
        self.assertEqual(ev["extendedProperties"], {"private": {"kc_appointment": "42"}})
        self.assertEqual((ev["visibility"], ev["guestsCanModify"], ev["colorId"]), ("private", False, "5"))
        self.assertNotIn("conferenceData", ev)
        self.assertNotIn("hangoutLink", ev)
        self.assertEqual(self.get("kcmeet0001appt42"), ev)
        # no id: the server picks 26 base32hex chars; the calendar is also reachable by email
        ev2 = self.insert(reminders={"useDefault": False, "overrides": [{"method": "email", "minutes": 60}]})
        self.assertRegex(ev2["id"], B32HEX_ID)
        self.assertEqual(ev2["reminders"]["useDefault"], False)
        self.assertGreater(ev2["updated"], ev["updated"])
        st, _, got = self.api("GET", f"/events/{ev2['id']}", cal=quote(DOC))
        self.assertEqual((st, got["id"]), (200, ev2["id"]))

    def test_duplicate_and_invalid_ids(self):
        self.insert(id="appt0000000001")
        dup = gerr(409, "duplicate", "The requested identifier already exists.")
        st, _, body = self.api("POST", "/events", {"id": "appt0000000001", "start": {"date": "2026-12-01"},
                                                   "end": {"date": "2026-12-02"}})
        self.assertEqual((st, body), (409, dup))
        st, _, _ = self.api("DELETE", "/events/appt0000000001")
        self.assertEqual(st, 204)
        self.assertEqual(self.insert(expect=409, id="appt0000000001"), dup)  # deleted ids stay taken
        for bad in ("ABCDEFGH", "abcd", "appt-0001", "wxyz12345", "a" * 1025):
            with self.subTest(id=bad):
                self.assertEqual(self.insert(expect=400, id=bad), gerr(400, "invalid", "Invalid resource id value."))
        self.insert(id="v" * 1024)
        self.insert(id="0a1b2")

    def test_time_validation(self):
        cases = [
            ({"end": None}, "required", "Missing end time."),
            ({"start": None, "end": None}, "required", "Missing end time."),
            ({"start": None}, "required", "Missing start time."),
            ({"start": {"timeZone": "UTC"}}, "required", "Missing start time."),
            ({"start": {"dateTime": "2026-12-01T10:00:00"}}, "invalid", "Missing time zone definition for start time."),
            ({"end": {"dateTime": "2026-12-01T10:30:00"}}, "invalid", "Missing time zone definition for end time."),
            ({"start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "Mars/Olympus"}}, "invalid",
             "Invalid time zone definition for start time."),
            ({"end": {"dateTime": "2026-12-01T10:30:00Z", "timeZone": "Europe/Nowhere"}}, "invalid",
             "Invalid time zone definition for end time."),
            ({"end": {"dateTime": "2026-12-01T08:59:59Z"}}, "timeRangeEmpty", "The specified time range is empty."),
            ({"start": {"dateTime": "2026-13-01T10:00:00Z"}}, "invalid", "Invalid start time."),
            ({"start": {"date": "2026-12-02"}, "end": {"date": "2026-12-02"}}, "timeRangeEmpty",
             "The specified time range is empty."),
            ({"start": {"date": "2026-12-01"}}, "invalid",
             "Start and end times must either both be date or both be dateTime."),
        ]
        for over, reason, message in cases:
            with self.subTest(over=over):
                body = {"start": {"dateTime": "2026-12-01T10:00:00+01:00"},
                        "end": {"dateTime": "2026-12-01T10:30:00+01:00"}}
                body.update(over)
                body = {k: v for k, v in body.items() if v is not None}
                st, h, err = self.api("POST", "/events", body)
                self.assertEqual((st, err), (400, gerr(400, reason, message)))
                self.assertEqual(h["content-type"], "application/json; charset=UTF-8")
        # offsets are real instants: 10:00+01:00 .. 09:30Z is 30 minutes; local time + timeZone works
        self.insert(end={"dateTime": "2026-12-01T09:30:00Z"})
        self.insert(start={"dateTime": "2026-12-01T10:00:00", "timeZone": "Europe/Paris"},
                    end={"dateTime": "2026-12-01T09:15:00.5z"})
        self.insert(start={"dateTime": "2026-12-01T10:00:00Z"}, end={"dateTime": "2026-12-01T10:00:00Z"})
        ev = self.insert(start={"date": "2026-12-24"}, end={"date": "2026-12-25"})
        self.assertEqual(ev["start"], {"date": "2026-12-24"})
        self.assertEqual(self.api("POST", "/events", None, headers={"Content-Type": "application/json"})[0], 400)
        status, _, raw = self.request("POST", "/calendar/v3/calendars/primary/events", "{nope",
                                      {"Authorization": "Bearer " + self.tok, "Content-Type": "application/json"})
        self.assertEqual((status, json.loads(raw)), (400, gerr(400, "parseError", "Parse Error")))

    def test_auth_scopes_and_other_calendars(self):
        self.assertEqual(self.api("GET", "/events", token=None)[0], 401)
        self.assertEqual(self.api("POST", "/events", {}, token="ya29.bogus")[0], 401)
        ro = self.connect(email=DOC, scope="https://www.googleapis.com/auth/calendar.readonly")["access_token"]
        self.assertEqual(self.api("GET", "/events", token=ro)[0], 200)
        st, _, body = self.api("POST", "/events", {}, token=ro)
        self.assertEqual((st, body["error"]["status"]), (403, "PERMISSION_DENIED"))
        other = self.connect(email="other@clinic.example")["access_token"]
        ev = self.insert()
        not_found = gerr(404, "notFound", "Not Found")
        self.assertEqual(self.api("GET", f"/events/{ev['id']}", token=other)[2], not_found)  # own calendar
        self.assertEqual(self.api("GET", f"/events/{ev['id']}", cal=quote(DOC), token=other)[2], not_found)
        self.assertEqual(self.api("GET", "/events", token=other)[2]["items"], [])
        self.assertEqual(self.api("GET", "/events/nosuchevent")[:3:2], (404, not_found))


class ConferenceTests(EventsTestCase):
    CREATE = {"createRequest": {"requestId": "req-42", "conferenceSolutionKey": {"type": "hangoutsMeet"}}}

    def test_meet_created_immediately(self):
        ev = self.insert(query={"conferenceDataVersion": 1}, conferenceData=self.CREATE)
        cd = ev["conferenceData"]
        self.assertEqual(cd["createRequest"], {"requestId": "req-42", "conferenceSolutionKey": {"type": "hangoutsMeet"},
                                               "status": {"statusCode": "success"}})
        self.assertRegex(cd["conferenceId"], MEET_RE)
        self.assertEqual(cd["entryPoints"], [{"entryPointType": "video",
                                              "uri": "https://meet.google.com/" + cd["conferenceId"],
                                              "label": "meet.google.com/" + cd["conferenceId"]}])
        self.assertEqual(cd["conferenceSolution"]["key"], {"type": "hangoutsMeet"})
        self.assertEqual(cd["conferenceSolution"]["name"], "Google Meet")
        self.assertTrue(cd["conferenceSolution"]["iconUri"].startswith("https://"))
        self.assertEqual(ev["hangoutLink"], "https://meet.google.com/" + cd["conferenceId"])
        other = self.insert(query={"conferenceDataVersion": 1}, conferenceData=self.CREATE)
        self.assertNotEqual(other["hangoutLink"], ev["hangoutLink"])
        # version 0 ignores conferenceData; unsupported types are refused
        ev0 = self.insert(query={"conferenceDataVersion": 0}, conferenceData=self.CREATE)
        self.assertNotIn("conferenceData", ev0)
        self.assertNotIn("hangoutLink", self.insert(conferenceData=self.CREATE))
        bad = {"createRequest": {"requestId": "r", "conferenceSolutionKey": {"type": "eventHangout"}}}
        self.assertEqual(self.insert(expect=400, query={"conferenceDataVersion": 1}, conferenceData=bad),
                         gerr(400, "invalid", "Invalid conference type value."))
        st, _, err = self.api("POST", "/events", {}, {"conferenceDataVersion": 2})
        self.assertEqual((st, err["error"]["errors"][0]["reason"]), (400, "invalidParameter"))

    def test_pending_conference_becomes_success_after_reads(self):
        self.ctl("POST", "/__emu/config", {"conference_pending_reads": 2})
        ev = self.insert(query={"conferenceDataVersion": 1}, conferenceData=self.CREATE)
        pending = {"createRequest": {"requestId": "req-42", "conferenceSolutionKey": {"type": "hangoutsMeet"},
                                     "status": {"statusCode": "pending"}}}
        self.assertEqual(ev["conferenceData"], pending)
        self.assertNotIn("hangoutLink", ev)
        r1, r2 = self.get(ev["id"]), self.get(ev["id"])
        self.assertEqual((r1["conferenceData"], r2["conferenceData"]), (pending, pending))
        r3 = self.get(ev["id"])
        self.assertEqual(r3["conferenceData"]["createRequest"]["status"], {"statusCode": "success"})
        self.assertRegex(r3["conferenceData"]["conferenceId"], MEET_RE)
        self.assertEqual(r3["hangoutLink"], r3["conferenceData"]["entryPoints"][0]["uri"])
        self.assertNotEqual(r3["etag"], r2["etag"])  # the conference change is a modification
        self.assertEqual(self.get(ev["id"])["hangoutLink"], r3["hangoutLink"])
        self.assertEqual(r3["sequence"], 0)


    def test_conference_failure(self):
        self.ctl("POST", "/__emu/config", {"conference_pending_reads": 1, "conference_outcome": "failure"})
        ev = self.insert(query={"conferenceDataVersion": 1}, conferenceData=self.CREATE)
        self.assertEqual(ev["conferenceData"]["createRequest"]["status"], {"statusCode": "pending"})
        self.assertEqual(self.get(ev["id"])["conferenceData"]["createRequest"]["status"], {"statusCode": "pending"})
        failed = self.get(ev["id"])
        self.assertEqual(failed["conferenceData"]["createRequest"]["status"], {"statusCode": "failure"})
        self.assertNotIn("hangoutLink", failed)
        self.assertNotIn("entryPoints", failed["conferenceData"])
        self.ctl("POST", "/__emu/config", {"conference_pending_reads": 0})
        now = self.insert(query={"conferenceDataVersion": 1}, conferenceData=self.CREATE)
        self.assertEqual(now["conferenceData"]["createRequest"]["status"], {"statusCode": "failure"})


class PatchUpdateDeleteTests(EventsTestCase):

    def test_patch_keeps_meet_and_bumps_sequence(self):
        ev = self.insert(query={"conferenceDataVersion": 1}, conferenceData=ConferenceTests.CREATE,
                         description="d1", extendedProperties={"private": {"a": "1", "b": "2"}})
        link = ev["hangoutLink"]
        st, h, p1 = self.api("PATCH", f"/events/{ev['id']}", {"description": "d2"})
        self.assertEqual((st, p1["sequence"], p1["description"], p1["summary"]), (200, 0, "d2", "Consultation"))
        self.assertNotEqual(p1["etag"], ev["etag"])
        self.assertEqual(h["etag"], p1["etag"])
        self.assertGreater(p1["updated"], ev["updated"])
        self.assertEqual(p1["created"], ev["created"])
        new_time = {"start": {"dateTime": "2026-12-02T11:00:00+01:00"}, "end": {"dateTime": "2026-12-02T11:30:00+01:00"}}
        st, _, p2 = self.api("PATCH", f"/events/{ev['id']}", dict(new_time, conferenceData={
            "createRequest": {"requestId": "other", "conferenceSolutionKey": {"type": "hangoutsMeet"}}}),
            {"conferenceDataVersion": 1})
        self.assertEqual((st, p2["sequence"], p2["start"], p2["hangoutLink"]), (200, 1, new_time["start"], link))
        self.assertEqual(p2["conferenceData"], ev["conferenceData"])
        self.assertEqual(self.api("PATCH", f"/events/{ev['id']}", {"location": "Room 2"})[2]["sequence"], 2)
        # extendedProperties are merged key by key (null removes a key)
        st, _, p3 = self.api("PATCH", f"/events/{ev['id']}", {"extendedProperties": {"private": {"b": None, "c": "3"}}})
        self.assertEqual(p3["extendedProperties"], {"private": {"a": "1", "c": "3"}})
        # If-Match
        st, _, err = self.api("PATCH", f"/events/{ev['id']}", {"summary": "x"}, headers={"If-Match": ev["etag"]})
        self.assertEqual((st, err), (412, gerr(412, "conditionNotMet", "Precondition Failed")))
        st, _, p4 = self.api("PATCH", f"/events/{ev['id']}", {"summary": "x"}, headers={"If-Match": p3["etag"]})
        self.assertEqual((st, p4["summary"], p4["sequence"]), (200, "x", 3))
        # If-None-Match on get
        self.assertEqual(self.api("GET", f"/events/{ev['id']}", headers={"If-None-Match": p4["etag"]})[0], 304)
        # validation like insert; unknown ids
        st, _, err = self.api("PATCH", f"/events/{ev['id']}", {"end": {"dateTime": "2026-12-02T09:00:00Z"}})
        self.assertEqual((st, err), (400, gerr(400, "timeRangeEmpty", "The specified time range is empty.")))
        st, _, err = self.api("PATCH", f"/events/{ev['id']}", {"start": {"dateTime": "2026-12-02T09:00:00"}})
        self.assertEqual(err, gerr(400, "invalid", "Missing time zone definition for start time."))
        self.assertEqual(self.api("PATCH", "/events/unknown00", {"summary": "x"})[0], 404)
        # PUT replaces the fields but keeps id, created and the conference (conferenceDataVersion 0)
        st, _, u = self.api("PUT", f"/events/{ev['id']}", {"summary": "Replaced", **new_time})
        self.assertEqual((st, u["summary"], u["hangoutLink"], u["id"], u["created"]), (200, "Replaced", link, ev["id"], ev["created"]))
        self.assertNotIn("description", u)
        self.assertNotIn("extendedProperties", u)
        self.assertEqual(u["sequence"], 4)  # one more: summary and location changed in one update
        st, _, err = self.api("PUT", f"/events/{ev['id']}", {"summary": "no times"})
        self.assertEqual((st, err), (400, gerr(400, "required", "Missing end time.")))
        self.assertEqual(self.api("PUT", "/events/unknown00", {"summary": "x", **new_time})[0], 404)

    def test_delete_then_410_and_restore(self):
        ev = self.insert()
        st, h, body = self.api("DELETE", f"/events/{ev['id']}")
        self.assertEqual((st, body), (204, None))
        got = self.get(ev["id"])
        self.assertEqual(got["status"], "cancelled")
        self.assertGreater(got["updated"], ev["updated"])
        st, _, err = self.api("DELETE", f"/events/{ev['id']}")
        self.assertEqual((st, err), (410, gerr(410, "deleted", "Resource has been deleted")))
        self.assertEqual(self.api("DELETE", "/events/unknown00")[:3:2], (404, gerr(404, "notFound", "Not Found")))
        st, _, r = self.api("PATCH", f"/events/{ev['id']}", {"status": "confirmed"})
        self.assertEqual((st, r["status"]), (200, "confirmed"))
        st, _, err = self.api("DELETE", f"/events/{ev['id']}", headers={"If-Match": ev["etag"]})
        self.assertEqual(st, 412)
        self.assertEqual(self.api("DELETE", f"/events/{ev['id']}", headers={"If-Match": r["etag"]})[0], 204)


class ListAndSyncTests(EventsTestCase):

    def test_paging_and_sync_tokens(self):
        ids = [self.insert(id=f"evt{i:05d}", extendedProperties={"private": {"kc": str(i % 2)}})["id"]
               for i in range(7)]
        self.api("DELETE", f"/events/{ids[6]}")
        pages, items = self.list_all(maxResults=3)
        self.assertEqual([len(p["items"]) for p in pages], [3, 3])  # 6 live events; the deleted one is hidden
        pages, items = self.list_all(maxResults=2, showDeleted="true")
        self.assertEqual([len(p["items"]) for p in pages], [2, 2, 2, 1])
        self.assertEqual([e["id"] for e in items], ids)  # by updated, then id
        for p in pages[:-1]:
            self.assertIn("nextPageToken", p)
            self.assertNotIn("nextSyncToken", p)
        self.assertNotIn("nextPageToken", pages[-1])
        sync = pages[-1]["nextSyncToken"]
        for tok in (pages[0]["nextPageToken"], sync):
            self.assertTrue(set("+/=") <= set(tok), tok)  # clients must URL-encode tokens
        first_page = pages[0]
        self.assertEqual((first_page["kind"], first_page["summary"], first_page["accessRole"],
                          first_page["timeZone"], first_page["defaultReminders"]),
                         ("calendar#events", DOC, "owner", "UTC", []))
        self.assertRegex(first_page["updated"], TS_MS_RE)
        # filters
        _, items = self.list_all(privateExtendedProperty="kc=1")
        self.assertEqual([e["id"] for e in items], ["evt00001", "evt00003", "evt00005"])
        _, items = self.list_all(timeMin="2026-12-01T09:29:00Z", timeMax="2026-12-01T09:31:00Z")
        self.assertEqual(len(items), 6)
        _, items = self.list_all(timeMin="2026-12-01T09:30:00Z")
        self.assertEqual(items, [])
        st, _, err = self.api("GET", "/events", query={"timeMin": "2026-12-01T09:00:00"})
        self.assertEqual(st, 400)
        st, _, err = self.api("GET", "/events", query={"timeMin": "2026-12-02T00:00:00Z", "timeMax": "2026-12-01T00:00:00Z"})
        self.assertEqual(err, gerr(400, "timeRangeEmpty", "The specified time range is empty."))
        big = self.api("GET", "/events", query={"maxResults": 100000})[2]
        self.assertEqual(len(big["items"]), 6)  # capped silently
        # nothing changed: an incremental sync is empty and hands out a new token
        st, _, inc = self.api("GET", "/events", query={"syncToken": sync})
        self.assertEqual((st, inc["items"]), (200, []))
        self.assertIn("nextSyncToken", inc)
        # changes: patch, delete, insert, UI move -> incremental sync returns exactly those
        self.api("PATCH", f"/events/{ids[0]}", {"summary": "changed"})
        self.api("DELETE", f"/events/{ids[1]}")
        self.insert(id="evtadd01")
        self.ctl("POST", "/__emu/ui/move", {"email": DOC, "event_id": ids[2],
                                           "start": {"dateTime": "2026-12-03T10:00:00Z"},
                                           "end": {"dateTime": "2026-12-03T10:30:00Z"}})
        pages, items = self.list_all(syncToken=sync, maxResults=1)
        self.assertEqual(len(pages), 4)
        self.assertEqual([(e["id"], e["status"]) for e in items],
                         [(ids[0], "confirmed"), (ids[1], "cancelled"), ("evtadd01", "confirmed"), (ids[2], "confirmed")])
        self.assertEqual(items[0]["summary"], "changed")
        sync2 = pages[-1]["nextSyncToken"]
        self.assertEqual(self.api("GET", "/events", query={"syncToken": sync2})[2]["items"], [])
        # the old token still works (until invalidated) and sees the same changes
        self.assertEqual(len(self.list_all(syncToken=sync)[1]), 4)
        # minimal cancelled entries on request
        self.ctl("POST", "/__emu/config", {"sync_deleted_minimal": True})
        deleted = [e for e in self.list_all(syncToken=sync)[1] if e["status"] == "cancelled"]
        self.assertEqual(set(deleted[0]), {"kind", "etag", "id", "status"})

    def test_sync_token_errors(self):
        self.insert()
        sync = self.list_all()[0][-1]["nextSyncToken"]
        st, _, err = self.api("GET", "/events", query={"syncToken": sync, "timeMin": "2026-01-01T00:00:00Z"})
        self.assertEqual((st, err), (400, gerr(400, "invalid", "Sync token cannot be used with other request restrictions.")))
        for q in ({"updatedMin": "2026-01-01T00:00:00Z"}, {"privateExtendedProperty": "a=b"}, {"orderBy": "updated"}):
            self.assertEqual(self.api("GET", "/events", query=dict(q, syncToken=sync))[0], 400)
        gone = gerr(410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.")
        for bad in ("garbage", sync.replace("+", " "), sync[:-6] + "AAAA==", ""):
            with self.subTest(token=bad):
                self.assertEqual(self.api("GET", "/events", query={"syncToken": bad})[:3:2], (410, gone))
        # a token of another calendar is not valid here
        other = self.connect(email="other@clinic.example")["access_token"]
        st, _, o = self.api("GET", "/events", token=other)
        self.assertEqual(self.api("GET", "/events", query={"syncToken": o["nextSyncToken"]})[0], 410)
        # invalidation
        self.assertEqual(self.api("GET", "/events", query={"syncToken": sync})[0], 200)
        self.ctl("POST", "/__emu/invalidate_sync_tokens", {"email": DOC})
        self.assertEqual(self.api("GET", "/events", query={"syncToken": sync})[:3:2], (410, gone))
        self.assertEqual(self.api("GET", "/events", query={"syncToken": o["nextSyncToken"]}, token=other)[0], 200)
        fresh = self.list_all()[0][-1]["nextSyncToken"]
        self.assertEqual(self.api("GET", "/events", query={"syncToken": fresh})[0], 200)
        # expiry by TTL
        self.ctl("POST", "/__emu/config", {"sync_token_ttl": 0.2})
        time.sleep(0.3)
        self.assertEqual(self.api("GET", "/events", query={"syncToken": fresh})[0], 410)
        st, _, err = self.api("GET", "/events", query={"pageToken": "nope"})
        self.assertEqual(st, 400)
        self.assertEqual(self.api("GET", "/events", query={"maxResults": 0})[0], 400)


class PushTests(EventsTestCase):

    def test_watch_deliver_stop(self):
        hook = WebhookReceiver()
        try:
            body = {"id": "chan-1", "type": "web_hook", "address": hook.url, "token": "kc=tok&1",
                    "params": {"ttl": "3600"}}
            st, _, err = self.api("POST", "/events/watch", body)
            msg = f"WebHook callback must be HTTPS: {hook.url}"
            self.assertEqual((st, err), (400, gerr(400, "push.webhookUrlNotHttps", msg)))
            self.ctl("POST", "/__emu/config", {"allow_http_webhooks": True})
            t0 = time.time()
            st, _, ch = self.api("POST", "/events/watch", body)
            self.assertEqual(st, 200, ch)
            self.assertEqual(set(ch), {"kind", "id", "resourceId", "resourceUri", "token", "expiration"})
            self.assertEqual((ch["kind"], ch["id"], ch["token"]), ("api#channel", "chan-1", "kc=tok&1"))
            self.assertEqual(ch["resourceUri"], "https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json")
            self.assertIsInstance(ch["expiration"], str)
            self.assertAlmostEqual(int(ch["expiration"]) / 1000, t0 + 3600, delta=5)
            ds = self.wait_deliveries(1)
            self.assertEqual([(d["channel_id"], d["state"], d["message_number"], d["status"]) for d in ds],
                             [("chan-1", "sync", 1, 200)])
            m = hook.messages()[0]
            self.assertEqual((m["path"], m["body"]), ("/hook?x=1", b""))
            hd = m["headers"]
            self.assertEqual((hd["x-goog-channel-id"], hd["x-goog-channel-token"], hd["x-goog-resource-state"],
                              hd["x-goog-message-number"], hd["x-goog-resource-id"], hd["x-goog-resource-uri"]),
                             ("chan-1", "kc=tok&1", "sync", "1", ch["resourceId"], ch["resourceUri"]))
            self.assertRegex(hd["x-goog-channel-expiration"], r"^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$")
            self.assertEqual(hd["content-length"], "0")
            # duplicate channel id; a second channel without token on the same calendar (by email)
            st, _, err = self.api("POST", "/events/watch", body)
            self.assertEqual((st, err), (400, gerr(400, "channelIdNotUnique", "Channel id not unique")))
            st, _, ch2 = self.api("POST", "/events/watch", {"id": "chan-2", "type": "web_hook", "address": hook.url,
                                                             "expiration": int(time.time() * 1000) + 60000},
                                  cal=quote(DOC, safe=""))
            self.assertEqual(st, 200, ch2)
            self.assertNotIn("token", ch2)
            self.assertEqual(ch2["resourceId"], ch["resourceId"])
            self.assertAlmostEqual(int(ch2["expiration"]) / 1000, time.time() + 60, delta=5)
            self.wait_deliveries(2)
            # a change -> "exists" to both channels, numbered per channel
            ev = self.insert()
            ds = self.wait_deliveries(4)
            self.assertEqual(sorted((d["channel_id"], d["state"], d["message_number"]) for d in ds[2:]),
                             [("chan-1", "exists", 2), ("chan-2", "exists", 2)])
            self.assertEqual(ds[2]["event_id"], ev["id"])
            no_token = [x for x in hook.messages() if x["headers"]["x-goog-channel-id"] == "chan-2"]
            self.assertNotIn("x-goog-channel-token", no_token[0]["headers"])
            # stop chan-2; UI move reaches chan-1 only
            stop = {"id": "chan-2", "resourceId": ch2["resourceId"]}
            st, _, b = self.api("POST", "/calendar/v3/channels/stop", stop)
            self.assertEqual((st, b), (204, None))
            st, _, err = self.api("POST", "/calendar/v3/channels/stop", stop)
            self.assertEqual((st, err), (404, gerr(404, "notFound", "Channel not found for project.")))
            self.assertEqual(self.api("POST", "/calendar/v3/channels/stop",
                                      {"id": "chan-1", "resourceId": "wrong"})[0], 404)
            self.ctl("POST", "/__emu/ui/move", {"email": DOC, "event_id": ev["id"],
                                               "start": {"dateTime": "2026-12-05T10:00:00Z"},
                                               "end": {"dateTime": "2026-12-05T11:00:00Z"}})
            ds = self.wait_deliveries(5)
            self.assertEqual([(d["channel_id"], d["state"], d["message_number"]) for d in ds[4:]],
                             [("chan-1", "exists", 3)])
            self.assertEqual([x["headers"]["x-goog-message-number"] for x in hook.messages()
                              if x["headers"]["x-goog-channel-id"] == "chan-1"], ["1", "2", "3"])
            channels = {c["id"]: c for c in self.ctl("GET", "/__emu/channels")["channels"]}
            self.assertEqual((channels["chan-1"]["stopped"], channels["chan-2"]["stopped"]), (False, True))
            # push disabled: changes are not delivered
            self.ctl("POST", "/__emu/config", {"push_enabled": False})
            self.api("DELETE", f"/events/{ev['id']}")
            time.sleep(0.1)
            self.assertEqual(len(self.ctl("GET", "/__emu/deliveries")["deliveries"]), 5)
        finally:
            hook.close()

    def test_slow_webhook_never_blocks_the_api(self):
        hook = WebhookReceiver(status=503, delay_s=0.4)
        try:
            self.ctl("POST", "/__emu/config", {"allow_http_webhooks": True, "push_retry_delays_s": []})
            self.assertEqual(self.api("POST", "/events/watch", {"id": "slow", "type": "web_hook",
                                                                "address": hook.url})[0], 200)
            t0 = time.monotonic()
            for _ in range(3):
                self.insert()
            self.assertLess(time.monotonic() - t0, 0.35)  # the web hook takes 0.4 s per message
            ds = self.wait_deliveries(2)
            self.assertEqual([(d["state"], d["status"]) for d in ds[:2]], [("sync", 503), ("exists", 503)])
        finally:
            hook.close()

    def test_watch_validation_and_https_delivery_failure(self):
        st, _, ch = self.api("POST", "/events/watch", {"id": "c-https", "type": "web_hook",
                                                       "address": "https://127.0.0.1:9/hook"})
        self.assertEqual(st, 200, ch)
        self.assertAlmostEqual(int(ch["expiration"]) / 1000, time.time() + 7 * 86400, delta=5)
        ds = self.wait_deliveries(1)
        self.assertEqual((ds[0]["status"], ds[0]["state"]), (None, "sync"))
        self.assertTrue(ds[0]["error"])
        st, _, ch = self.api("POST", "/events/watch", {"id": "c-long", "type": "web_hook",
                                                       "address": "https://127.0.0.1:9/", "params": {"ttl": "99999999"}})
        self.assertAlmostEqual(int(ch["expiration"]) / 1000, time.time() + 30 * 86400, delta=5)
        self.ctl("POST", "/__emu/config", {"allow_http_webhooks": True})
        st, _, err = self.api("POST", "/events/watch", {"id": "c-x", "type": "web_hook", "address": "http://example.com/"})
        self.assertEqual(err["error"]["errors"][0]["reason"], "push.webhookUrlNotHttps")
        self.assertEqual(self.api("POST", "/events/watch", {"type": "web_hook", "address": "https://a/"})[0], 400)
        self.assertEqual(self.api("POST", "/calendar/v3/channels/stop", {"id": "c-https", "resourceId": ch["resourceId"]},
                                  token=None)[0], 401)
        self.ctl("DELETE", "/__emu/deliveries")
        self.assertEqual(self.ctl("GET", "/__emu/deliveries"), {"deliveries": []})


class UiAndNotificationTests(EventsTestCase):

    def test_ui_changes(self):
        ev = self.insert(query={"conferenceDataVersion": 1}, conferenceData=ConferenceTests.CREATE)
        self.ctl("DELETE", "/__emu/requests")
        moved = self.ctl("POST", "/__emu/ui/move", {"email": DOC, "event_id": ev["id"],
                                                   "start": {"dateTime": "2026-12-09T08:00:00Z"},
                                                   "end": {"dateTime": "2026-12-09T08:30:00Z"}})
        self.assertEqual((moved["sequence"], moved["start"]["dateTime"]), (1, "2026-12-09T08:00:00Z"))
        self.assertNotEqual(moved["etag"], ev["etag"])
        self.assertEqual(self.get(ev["id"])["start"], {"dateTime": "2026-12-09T08:00:00Z"})
        changed = self.ctl("POST", "/__emu/ui/change_meet", {"email": DOC, "event_id": ev["id"]})
        self.assertNotEqual(changed["hangoutLink"], ev["hangoutLink"])
        self.assertRegex(changed["conferenceData"]["conferenceId"], MEET_RE)
        self.assertGreater(changed["sequence"], moved["sequence"])
        created = self.ctl("POST", "/__emu/ui/create", {"email": DOC, "event": {
            "summary": "Dentist (private)", "start": {"dateTime": "2026-12-09T12:00:00Z"},
            "end": {"dateTime": "2026-12-09T13:00:00Z"}}})
        self.assertRegex(created["id"], B32HEX_ID)
        deleted = self.ctl("POST", "/__emu/ui/delete", {"email": DOC, "event_id": ev["id"]})
        self.assertEqual(deleted["status"], "cancelled")
        err = self.ctl("POST", "/__emu/ui/delete", {"email": DOC, "event_id": ev["id"]}, expect=410)
        self.assertEqual(err["reason"], "deleted")
        # One occurrence of a series made of the event, edited on its own: an instance of its own.
        occ = self.ctl("POST", "/__emu/ui/edit_occurrence", {"email": DOC, "event_id": created["id"],
                                                            "start": {"dateTime": "2026-12-16T12:30:00Z"},
                                                            "end": {"dateTime": "2026-12-16T13:30:00Z"}})
        self.assertEqual((occ["id"], occ["recurringEventId"], occ["originalStartTime"], occ["summary"]),
                         (created["id"] + "_20261209T120000Z", created["id"], {"dateTime": "2026-12-09T12:00:00Z"}, "Dentist (private)"))
        self.ctl("POST", "/__emu/ui/edit_occurrence", {"email": DOC, "event_id": created["id"]}, expect=409)
        self.ctl("POST", "/__emu/ui/delete", {"email": DOC, "event_id": occ["id"]})
        # "Undo" / restore from the bin: the same event, link and all, confirmed again.
        restored = self.ctl("POST", "/__emu/ui/restore", {"email": DOC, "event_id": ev["id"]})
        self.assertEqual((restored["id"], restored["status"], restored["hangoutLink"]), (ev["id"], "confirmed", changed["hangoutLink"]))
        self.assertGreater(restored["sequence"], deleted["sequence"])
        self.ctl("POST", "/__emu/ui/restore", {"email": DOC, "event_id": ev["id"]}, expect=400)
        self.ctl("POST", "/__emu/ui/delete", {"email": DOC, "event_id": ev["id"]})
        self.ctl("POST", "/__emu/ui/move", {"email": DOC, "event_id": "nope0", "start": {"date": "2026-12-01"}},
                 expect=404)
        self.ctl("POST", "/__emu/ui/move", {"email": DOC, "event_id": created["id"],
                                           "end": {"dateTime": "2026-12-09T11:00:00Z"}}, expect=400)
        allev = self.ctl("GET", "/__emu/events?email=" + quote(DOC))["events"]
        self.assertEqual({(e["id"], e["status"]) for e in allev},
                         {(ev["id"], "cancelled"), (created["id"], "confirmed"), (occ["id"], "cancelled")})
        self.assertEqual(self.ctl("GET", "/__emu/requests")["requests"][:-1], [])  # only our own get
        # not counted as reads: a pending conference stays pending
        self.ctl("POST", "/__emu/config", {"conference_pending_reads": 1})
        p = self.insert(query={"conferenceDataVersion": 1}, conferenceData=ConferenceTests.CREATE)
        self.ctl("GET", "/__emu/events?email=" + quote(DOC))
        self.assertEqual(self.get(p["id"])["conferenceData"]["createRequest"]["status"]["statusCode"], "pending")
        self.assertIn("hangoutLink", self.get(p["id"]))

    def test_notifications_per_send_updates(self):
        attendees = [{"email": "patient@mail.example"}, {"email": "nurse@clinic.example"},
                     {"email": "room1@resource.example", "resource": True}]
        a = self.insert(query={"sendUpdates": "all"}, attendees=attendees)
        b = self.insert(query={"sendUpdates": "externalOnly"}, attendees=attendees)
        self.insert(attendees=attendees)  # default none
        self.insert(query={"sendUpdates": "none"}, attendees=attendees)
        n = self.ctl("GET", "/__emu/notifications")["notifications"]
        self.assertEqual([(x["event_id"], x["kind"], x["recipients"], x["send_updates"]) for x in n],
                         [(a["id"], "invitation", ["patient@mail.example", "nurse@clinic.example"], "all"),
                          (b["id"], "invitation", ["patient@mail.example"], "externalOnly")])
        self.ctl("DELETE", "/__emu/notifications")
        # time change + an added and a removed attendee, in one patch
        self.api("PATCH", f"/events/{a['id']}", {"start": {"dateTime": "2026-12-01T11:00:00+01:00"},
                                                 "end": {"dateTime": "2026-12-01T11:30:00+01:00"},
                                                 "attendees": [{"email": "patient@mail.example"},
                                                               {"email": "family@mail.example"}]},
                 {"sendUpdates": "all"})
        self.api("PATCH", f"/events/{a['id']}", {"summary": "no mail for this"}, {"sendUpdates": "all"})
        self.api("PATCH", f"/events/{b['id']}", {"start": {"dateTime": "2026-12-01T09:00:00+01:00"}},
                 {"sendUpdates": "none"})
        self.api("DELETE", f"/events/{a['id']}", query={"sendUpdates": "all"})
        n = self.ctl("GET", "/__emu/notifications")["notifications"]
        self.assertEqual([(x["event_id"], x["kind"], x["recipients"]) for x in n],
                         [(a["id"], "invitation", ["family@mail.example"]),
                          (a["id"], "update", ["patient@mail.example"]),
                          (a["id"], "cancellation", ["nurse@clinic.example"]),
                          (a["id"], "cancellation", ["patient@mail.example", "family@mail.example"])])
        st, _, err = self.api("DELETE", f"/events/{b['id']}", query={"sendUpdates": "everyone"})
        self.assertEqual((st, err["error"]["errors"][0]["reason"]), (400, "invalidParameter"))


class EventsLogAndLoadTests(EventsTestCase):

    def test_request_log_fields(self):
        self.ctl("DELETE", "/__emu/requests")
        ev = self.insert(id="logged00001", query={"conferenceDataVersion": 1, "sendUpdates": "all"})
        self.api("PATCH", "/events/logged00001", {"summary": "s"}, {"sendUpdates": "none"}, cal=quote(DOC, safe=""))
        sync = self.api("GET", "/events")[2]["nextSyncToken"]
        self.api("GET", "/events", query={"syncToken": sync})
        log = self.ctl("GET", "/__emu/requests")["requests"]
        self.assertEqual([(e["operation"], e["calendar_id"], e["event_id"], e["status"]) for e in log],
                         [("calendar.events.insert", "primary", None, 200),
                          ("calendar.events.patch", DOC, "logged00001", 200),
                          ("calendar.events.list", "primary", None, 200),
                          ("calendar.events.list", "primary", None, 200)])
        self.assertEqual(log[0]["query"], {"conferenceDataVersion": "1", "sendUpdates": "all"})
        self.assertEqual(log[1]["query"], {"sendUpdates": "none"})
        self.assertEqual(log[3]["query"], {"syncToken": sync})
        self.assertEqual(log[0]["bearer_email"], DOC)
        self.assertNotIn(self.tok, json.dumps(log))
        self.assertEqual(ev["id"], "logged00001")

    def test_latency_with_64_concurrent_clients(self):
        self.ctl("POST", "/__emu/config", {"latency_s": 0.5})
        results: list[int] = []
        lock = threading.Lock()

        def one(i: int) -> None:
            st, _, _ = self.api("POST", "/events", {"id": f"load{i:04d}", "start": {"date": "2026-12-01"},
                                                    "end": {"date": "2026-12-02"}})
            with lock:
                results.append(st)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(64)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        elapsed = time.monotonic() - t0
        self.assertEqual(results, [200] * 64)
        self.assertGreaterEqual(elapsed, 0.5)
        self.assertLess(elapsed, 5)  # served concurrently (serially it would take 32 s)
        self.ctl("POST", "/__emu/config", {"latency_s": 0})
        self.assertEqual(len(self.list_all()[1]), 64)
        t0 = time.monotonic()
        self.ctl("GET", "/__emu/health")  # control API is never delayed
        self.assertLess(time.monotonic() - t0, 0.5)


class StrictGoogleTests(EventsTestCase):
    """Where production breaks: Google's strictness, kept by the emulator."""

    def refresh(self, rt: str) -> dict:
        st, _, body = self.token({"grant_type": "refresh_token", "refresh_token": rt})
        self.assertEqual(st, 200, body)
        return body

    def test_refreshes_never_return_a_refresh_token_and_the_old_one_keeps_working(self):
        tok = self.connect()
        for _ in range(3):
            self.assertNotIn("refresh_token", self.refresh(tok["refresh_token"]))

    def test_reconsent_without_prompt_consent_returns_no_refresh_token(self):
        self.assertIn("refresh_token", self.connect())
        self.assertNotIn("refresh_token", self.connect(prompt=None))
        self.assertIn("refresh_token", self.connect(prompt="consent"))

    def test_revoking_an_old_token_revokes_the_tokens_of_a_later_consent(self):
        old = self.connect()
        new = self.connect()
        self.assertEqual(self.form_post("/revoke", {"token": old["refresh_token"]})[0], 200)
        self.assertEqual(self.calendar(new["access_token"])[0], 401)
        self.assert_oauth_error(self.token({"grant_type": "refresh_token", "refresh_token": new["refresh_token"]}),
                                400, "invalid_grant")
        mine = [g for g in self.ctl("GET", "/__emu/grants")["grants"] if g["email"] == "doctor@example.com"]
        self.assertEqual([g["revoked"] for g in mine], [True, True])
        # Another account's grant for the same client is not touched.
        other = self.connect(email="other@example.com")
        self.assertEqual(self.calendar(other["access_token"], "other%40example.com")[0], 200)

    def test_a_popup_code_without_prompt_consent_brings_no_refresh_token_to_a_granted_account(self):
        self.connect()
        mint = {"client_id": CLIENT_ID, "email": "doctor@example.com", "scopes": [CAL], "redirect_uri": "postmessage"}
        for prompt, has_refresh in (("", False), ("consent", True)):
            code = self.ctl("POST", "/__emu/mint_code", dict(mint, prompt=prompt))["code"]
            st, _, body = self.token({"grant_type": "authorization_code", "code": code, "redirect_uri": "postmessage"})
            self.assertEqual((st, "refresh_token" in body), (200, has_refresh), prompt)

    def test_a_page_token_needs_the_parameters_of_the_first_page(self):
        for day in range(1, 4):
            self.insert(start={"dateTime": f"2026-12-0{day}T10:00:00Z"}, end={"dateTime": f"2026-12-0{day}T11:00:00Z"})
        q = {"maxResults": "1", "timeMin": "2026-11-01T00:00:00Z", "timeMax": "2027-01-01T00:00:00Z"}
        st, _, first = self.api("GET", "/events", query=q)
        page = first["nextPageToken"]
        st, _, body = self.api("GET", "/events", query=dict(q, timeMin="2026-11-02T00:00:00Z", pageToken=page))
        self.assertEqual((st, body), (400, gerr(400, "badRequest", "Bad Request")))
        st, _, body = self.api("GET", "/events", query={"pageToken": page})
        self.assertEqual(st, 400, body)
        st, _, body = self.api("GET", "/events", query=dict(q, pageToken=page))
        self.assertEqual((st, len(body["items"])), (200, 1))

    def test_incremental_listing_pages_and_each_page_carries_the_sync_token(self):
        sync = self.list_all()[0][-1]["nextSyncToken"]
        for day in range(1, 6):
            self.insert(start={"dateTime": f"2026-12-0{day}T10:00:00Z"}, end={"dateTime": f"2026-12-0{day}T11:00:00Z"})
        pages, items = self.list_all(syncToken=sync, maxResults="2")
        self.assertEqual((len(pages), len(items)), (3, 5))
        self.assertTrue(all("nextSyncToken" not in p for p in pages[:-1]))
        st, _, first = self.api("GET", "/events", query={"syncToken": sync, "maxResults": "2"})
        st, _, body = self.api("GET", "/events", query={"maxResults": "2", "pageToken": first["nextPageToken"]})
        self.assertEqual(st, 400, "a page of an incremental listing without its syncToken")

    def test_usage_limit_faults_answer_calendars_bodies(self):
        for status, reason, message in ((403, "rateLimitExceeded", "Rate Limit Exceeded"),
                                        (403, "userRateLimitExceeded", "User Rate Limit Exceeded"),
                                        (403, "quotaExceeded", "Calendar usage limits exceeded."),
                                        (403, "dailyLimitExceeded", "Daily Limit Exceeded"),
                                        (429, "rateLimitExceeded", "Rate Limit Exceeded")):
            self.ctl("POST", "/__emu/faults", {"path": "/calendar/v3", "status": status, "reason": reason,
                                               "headers": {"Retry-After": "2"}})
            st, h, body = self.api("GET", "/events")
            self.assertEqual((st, h["retry-after"]), (status, "2"))
            self.assertEqual(body, {"error": {"code": status, "message": message, "errors": [
                {"domain": "usageLimits", "reason": reason, "message": message}]}})
        self.ctl("POST", "/__emu/faults", {"path": "/x", "reason": "nope"}, expect=400)

    def test_usage_limit_faults_only_take_the_statuses_calendar_answers_them_with(self):
        for status, reason in ((429, "quotaExceeded"), (429, "dailyLimitExceeded"), (429, "userRateLimitExceeded"),
                               (503, "dailyLimitExceeded"), (500, "rateLimitExceeded")):
            self.ctl("POST", "/__emu/faults", {"path": "/x", "status": status, "reason": reason}, expect=400)
        self.assertEqual(self.ctl("GET", "/__emu/faults")["faults"], [])

    def test_a_malformed_attendee_email_fails_the_whole_insert(self):
        for bad in ("patient", "a@localhost", "Pat <p@example.org>", "a@@example.org", "a b@example.org"):
            st, _, body = self.api("POST", "/events", {"start": {"dateTime": "2026-12-01T10:00:00Z"},
                                                       "end": {"dateTime": "2026-12-01T11:00:00Z"},
                                                       "attendees": [{"email": "ok@example.org"}, {"email": bad}]})
            self.assertEqual((st, body), (400, gerr(400, "invalid", "Invalid attendee email.")), bad)
        self.assertEqual(self.ctl("GET", "/__emu/events?email=" + quote(DOC))["events"], [])

    def test_a_pending_conference_can_end_in_failure(self):
        self.ctl("POST", "/__emu/config", {"conference_pending_reads": 1, "conference_outcome": "failure"})
        ev = self.insert(query={"conferenceDataVersion": "1"}, conferenceData={"createRequest": {
            "requestId": "r1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}})
        self.assertEqual(ev["conferenceData"]["createRequest"]["status"]["statusCode"], "pending")
        self.get(ev["id"])
        after = self.get(ev["id"])
        self.assertEqual(after["conferenceData"]["createRequest"]["status"]["statusCode"], "failure")
        self.assertNotIn("hangoutLink", after)
        self.assertNotIn("entryPoints", after["conferenceData"])

    def watch(self, hook: WebhookReceiver, cid: str = "c1") -> dict:
        self.ctl("POST", "/__emu/config", {"allow_http_webhooks": True, "push_retry_delays_s": [0.05, 0.05]})
        st, _, ch = self.api("POST", "/events/watch", {"id": cid, "type": "web_hook", "address": hook.url, "token": "t"})
        self.assertEqual(st, 200, ch)
        return ch

    def test_a_push_answered_503_is_retried_with_the_same_number(self):
        hook = WebhookReceiver(status=503)
        try:
            self.watch(hook)
            d = self.wait_deliveries(1)[0]
            self.assertEqual((d["attempts"], d["status"]), (3, 503))
            self.assertEqual([m["headers"]["x-goog-message-number"] for m in hook.messages()], ["1", "1", "1"])
        finally:
            hook.close()

    def test_push_messages_can_be_duplicated_held_back_or_dropped(self):
        hook = WebhookReceiver()
        try:
            self.watch(hook)
            self.wait_deliveries(1)
            self.ctl("POST", "/__emu/push_faults", {"action": "duplicate", "state": "exists"})
            self.insert()
            self.ctl("POST", "/__emu/push_faults", {"action": "hold"})
            self.insert()
            self.insert()
            self.ctl("POST", "/__emu/push_faults", {"action": "drop"})
            self.insert()
            self.wait_deliveries(6)
            numbers = [m["headers"]["x-goog-message-number"] for m in hook.messages()]
            self.assertEqual(numbers, ["1", "2", "2", "4", "3"])
            faults = [(d["message_number"], d["fault"]) for d in self.ctl("GET", "/__emu/deliveries")["deliveries"]]
            self.assertIn((5, "drop"), faults)
        finally:
            hook.close()

    def test_not_exists_is_the_last_message_of_a_channel(self):
        hook = WebhookReceiver()
        try:
            ch = self.watch(hook)
            self.wait_deliveries(1)
            self.ctl("POST", "/__emu/push_message", {"channel_id": ch["id"], "state": "not_exists"})
            self.wait_deliveries(2)
            self.assertEqual(hook.messages()[-1]["headers"]["x-goog-resource-state"], "not_exists")
            self.assertTrue(self.ctl("GET", "/__emu/channels")["channels"][0]["stopped"])
            self.ctl("POST", "/__emu/push_message", {"channel_id": ch["id"], "state": "exists"}, expect=404)
        finally:
            hook.close()


class ProcessTests(unittest.TestCase):

    def test_ready_file_and_sigterm(self):
        with tempfile.TemporaryDirectory() as tmp:
            ready = os.path.join(tmp, "ready")
            proc, base = start_emulator("--ready-file", ready)
            try:
                with open(ready, encoding="utf-8") as fh:
                    self.assertEqual(fh.read().strip(), base)
                self.assertRegex(base, r"^http://127\.0\.0\.1:\d+$")
            finally:
                t0 = time.monotonic()
                self.assertEqual(stop_emulator(proc), 0)
                self.assertLess(time.monotonic() - t0, 3)

    @unittest.skipUnless(shutil.which("openssl"), "openssl CLI not available")
    def test_tls(self):
        with tempfile.TemporaryDirectory() as d:
            def run(*args):
                subprocess.run(["openssl", *args], cwd=d, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with open(os.path.join(d, "ca.ext"), "w") as fh:
                fh.write("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
                         "subjectKeyIdentifier=hash\n")
            with open(os.path.join(d, "srv.ext"), "w") as fh:
                fh.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                         "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n"
                         "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
            run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key")
            run("req", "-new", "-key", "ca.key", "-subj", "/CN=kc-meet emulator test CA", "-out", "ca.csr")
            run("x509", "-req", "-in", "ca.csr", "-signkey", "ca.key", "-days", "2",
                "-extfile", "ca.ext", "-out", "ca.pem")
            run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "srv.key")
            run("req", "-new", "-key", "srv.key", "-subj", "/CN=localhost", "-out", "srv.csr")
            run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-extfile", "srv.ext", "-out", "srv.pem")
            proc, base = start_emulator("--tls-cert", os.path.join(d, "srv.pem"),
                                        "--tls-key", os.path.join(d, "srv.key"))
            try:
                self.assertTrue(base.startswith("https://127.0.0.1:"), base)
                port = urlsplit(base).port
                ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))
                # a client that connects but never handshakes must not block others
                idle = socket.create_connection(("127.0.0.1", port))
                try:
                    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5)
                    conn.request("GET", "/__emu/health")
                    resp = conn.getresponse()
                    self.assertEqual((resp.status, json.loads(resp.read())), (200, {"ok": True}))
                    conn.request("GET", "/calendar/v3/calendars/primary")  # keep-alive over TLS
                    resp = conn.getresponse()
                    self.assertEqual(resp.status, 401)
                    resp.read()
                    conn.close()
                    # reset faults also work over TLS
                    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5)
                    conn.request("POST", "/__emu/faults", json.dumps({"path": "/token", "action": "reset"}))
                    conn.getresponse().read()
                    conn.request("POST", "/token", "grant_type=x",
                                 {"Content-Type": "application/x-www-form-urlencoded"})
                    with self.assertRaises((ConnectionError, http.client.HTTPException, OSError)):
                        conn.getresponse()
                    conn.close()
                finally:
                    idle.close()
                # an untrusting client fails verification
                bad = http.client.HTTPSConnection("127.0.0.1", port, context=ssl.create_default_context(), timeout=5)
                with self.assertRaises(ssl.SSLError):
                    bad.request("GET", "/__emu/health")
                bad.close()
            finally:
                self.assertEqual(stop_emulator(proc), 0)


if __name__ == "__main__":
    unittest.main()
