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
import time
import unittest
from html.parser import HTMLParser
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
        status, h, raw = self.request("GET", "/calendar/v3/calendars/primary/events",
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
