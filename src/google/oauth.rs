//! Google OAuth 2.0 for web server applications: authorization URL, code exchange, refresh,
//! revocation.
//!
//! Owns the protocol only (built on the `oauth2` crate, sent through our HTTPS client); it does
//! not store anything and does not decide what a failure means for the doctor (the grant and
//! the connection use case decide). Google rules honoured here
//! (<https://developers.google.com/identity/protocols/oauth2/web-server>):
//! `access_type=offline` so a refresh token is issued, `prompt=consent` so it is issued again on
//! reconnect, PKCE S256, only the Calendar scope, and the scopes actually granted are read from
//! the token response (the user may untick a scope on the consent screen).

use std::cell::Cell;

use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, HttpRequest, HttpResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse,
    TokenUrl,
};
use reqwest::blocking::Client;

use crate::base::config::Config;
use crate::error::{Code, Error, Result};
use crate::google::http;
use crate::base::redact::Secret;

/// The only scope kc-meet asks for.
pub const CALENDAR_SCOPE: &str = "https://www.googleapis.com/auth/calendar";

/// The redirect URI Google Identity Services' popup uses (KiviCare 3.x's connect flow).
pub const POSTMESSAGE: &str = "postmessage";

/// Tokens as Google returned them.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    /// Unix time the access token stops working.
    pub expires_at: i64,
    pub scopes: Vec<String>,
}

impl TokenSet {
    pub fn has_calendar_scope(&self) -> bool {
        self.scopes.iter().any(|s| s == CALENDAR_SCOPE)
    }
}

/// What revoking did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// Google revoked the grant now.
    Now,
    /// Google no longer knew the token: it was already revoked or expired.
    AlreadyGone,
}

/// The OAuth client of one site.
pub struct OAuth<'a> {
    config: &'a Config,
    http: &'a Client,
}

impl<'a> OAuth<'a> {
    pub fn new(config: &'a Config, http: &'a Client) -> Self {
        OAuth { config, http }
    }

    fn client(
        &self,
        redirect_uri: &str,
    ) -> Result<BasicClient<oauth2::EndpointSet, oauth2::EndpointNotSet, oauth2::EndpointNotSet, oauth2::EndpointNotSet, oauth2::EndpointSet>>
    {
        self.config.oauth_ready()?;
        let e = &self.config.endpoints;
        let client = BasicClient::new(ClientId::new(self.config.client_id.clone()))
            .set_client_secret(ClientSecret::new(self.config.client_secret.expose().to_string()))
            .set_auth_uri(AuthUrl::from_url(e.auth.clone()))
            .set_token_uri(TokenUrl::from_url(e.token.clone()))
            // Google documents client_secret_post for this flow.
            .set_auth_type(AuthType::RequestBody);
        if redirect_uri == POSTMESSAGE {
            // Not a URL: the exchange adds it as a plain parameter instead.
            return Ok(client);
        }
        let redirect = RedirectUrl::new(redirect_uri.to_string())
            .map_err(|_| Error::config("the OAuth redirect URI is not a valid URL"))?;
        Ok(client.set_redirect_uri(redirect))
    }

    /// The URL to send the doctor to. `state` is opaque to Google and comes back unchanged.
    pub fn authorize_url(&self, state: &str, challenge: PkceCodeChallenge, login_hint: Option<&str>) -> Result<String> {
        let state = state.to_string();
        let client = self.client(&self.config.redirect_uri)?;
        let mut req = client
            .authorize_url(move || CsrfToken::new(state))
            .add_scope(Scope::new(CALENDAR_SCOPE.into()))
            .set_pkce_challenge(challenge)
            .add_extra_param("access_type", "offline")
            .add_extra_param("prompt", "consent");
        if let Some(hint) = login_hint.filter(|h| !h.is_empty()) {
            req = req.add_extra_param("login_hint", hint.to_string());
        }
        Ok(req.url().0.to_string())
    }

    /// Exchanges an authorization code. `verifier` is the PKCE verifier of the redirect flow;
    /// KiviCare 3.x's popup flow (`redirect_uri = postmessage`) has none.
    pub fn exchange_code(&self, code: &Secret, verifier: Option<&Secret>, redirect_uri: &str) -> Result<TokenSet> {
        let client = self.client(redirect_uri)?;
        let mut req = client.exchange_code(AuthorizationCode::new(code.expose().to_string()));
        if redirect_uri == POSTMESSAGE {
            req = req.add_extra_param("redirect_uri", POSTMESSAGE);
        }
        if let Some(v) = verifier {
            req = req.set_pkce_verifier(PkceCodeVerifier::new(v.expose().to_string()));
        }
        let status = Cell::new(0u16);
        let result = req.request(&|r: HttpRequest| self.call(r, &status));
        self.token_result("the authorization code exchange", result, &status, None)
    }

    /// Refreshes an access token. Google usually returns no new refresh token: the old one
    /// stays valid and the caller keeps it.
    pub fn refresh(&self, refresh_token: &Secret) -> Result<TokenSet> {
        let client = self.client(&self.config.redirect_uri)?;
        let rt = RefreshToken::new(refresh_token.expose().to_string());
        let status = Cell::new(0u16);
        let result = client.exchange_refresh_token(&rt).request(&|r: HttpRequest| self.call(r, &status));
        self.token_result("the token refresh", result, &status, Some(refresh_token))
    }

    /// Revokes a token and with it the whole grant
    /// (<https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke>).
    /// Sent by hand: Google's endpoint takes `token` as a form field, which `oauth2`'s RFC 7009
    /// request does too, but that one refuses non-HTTPS endpoints such as a loopback emulator.
    pub fn revoke(&self, token: &Secret) -> Result<Revoked> {
        let req = self
            .http
            .post(self.config.endpoints.revoke.clone())
            .form(&[("token", token.expose())]);
        let resp = http::send("the token revocation", req)?;
        let status = resp.status().as_u16();
        if resp.status().is_success() {
            return Ok(Revoked::Now);
        }
        let body = resp.text().unwrap_or_default();
        let err = http::google_error(status, &body);
        match (status, err.reason.as_deref()) {
            (400, Some("invalid_token")) => Ok(Revoked::AlreadyGone),
            _ => Err(err),
        }
    }

    /// Sends one token-endpoint request through our client, remembering the HTTP status so a
    /// body `oauth2` cannot parse (a 5xx in the API error shape, HTML) is still reported well.
    fn call(&self, request: HttpRequest, status: &Cell<u16>) -> std::result::Result<HttpResponse, TransportFailure> {
        let mut req: reqwest::blocking::Request = request.try_into().map_err(TransportFailure)?;
        // Inside a call's budget (`retry::deadline_scope`) a token request may take only the time
        // left, like every Calendar request (`http::send`): a token endpoint that hangs must not
        // hold a booking past its budget.
        if let Some(left) = crate::base::retry::time_left() {
            *req.timeout_mut() = Some(left.clamp(std::time::Duration::from_millis(1), crate::google::http::REQUEST_TIMEOUT));
        }
        let resp = self.http.execute(req).map_err(TransportFailure)?;
        status.set(resp.status().as_u16());
        let mut builder = ::http::Response::builder().status(resp.status().as_u16());
        for (name, value) in resp.headers() {
            builder = builder.header(name, value);
        }
        let body = resp.bytes().map_err(TransportFailure)?.to_vec();
        Ok(builder.body(body).expect("a response rebuilt from a valid response is valid"))
    }

    fn token_result(
        &self,
        what: &str,
        result: std::result::Result<oauth2::basic::BasicTokenResponse, RequestTokenError<TransportFailure, oauth2::basic::BasicErrorResponse>>,
        status: &Cell<u16>,
        old_refresh: Option<&Secret>,
    ) -> Result<TokenSet> {
        match result {
            Ok(t) => {
                let now = chrono::Utc::now().timestamp();
                let expires_in = t.expires_in().map(|d| d.as_secs() as i64).unwrap_or(3600);
                let scopes = match t.scopes() {
                    Some(s) => s.iter().flat_map(|s| s.split_whitespace()).map(str::to_string).collect(),
                    // RFC 6749 §5.1: omitted when identical to what was requested.
                    None => vec![CALENDAR_SCOPE.to_string()],
                };
                Ok(TokenSet {
                    access_token: Secret::new(t.access_token().secret().clone()),
                    refresh_token: t
                        .refresh_token()
                        .map(|r| Secret::new(r.secret().clone()))
                        .or_else(|| old_refresh.cloned()),
                    expires_at: now + expires_in,
                    scopes,
                })
            }
            Err(RequestTokenError::ServerResponse(resp)) => {
                let reason = match resp.error() {
                    BasicErrorResponseType::InvalidGrant => "invalid_grant".to_string(),
                    BasicErrorResponseType::InvalidClient => "invalid_client".to_string(),
                    BasicErrorResponseType::UnauthorizedClient => "unauthorized_client".to_string(),
                    BasicErrorResponseType::InvalidRequest => "invalid_request".to_string(),
                    BasicErrorResponseType::InvalidScope => "invalid_scope".to_string(),
                    BasicErrorResponseType::UnsupportedGrantType => "unsupported_grant_type".to_string(),
                    BasicErrorResponseType::Extension(s) => s.clone(),
                };
                let desc = crate::base::redact::text(resp.error_description().map(String::as_str).unwrap_or("no description"));
                let mut err = Error::google(status.get(), Some(reason.clone()), &desc);
                if matches!(reason.as_str(), "invalid_client" | "unauthorized_client") {
                    err.code = Code::ClientRejected;
                    err.message = format!(
                        "Google rejected the OAuth client during {what} ({reason}): check the client id and secret in the Google Meet settings"
                    );
                }
                Err(err)
            }
            Err(RequestTokenError::Request(TransportFailure(e))) => Err(http::transport_error(what, &e)),
            Err(RequestTokenError::Parse(_, body)) => Err(http::google_error(status.get(), &String::from_utf8_lossy(&body))),
            Err(RequestTokenError::Other(_)) => {
                Err(Error::google(status.get(), None, &format!("unexpected answer to {what}")))
            }
        }
    }
}

/// A transport failure on the token endpoint.
#[derive(Debug)]
pub struct TransportFailure(reqwest::Error);

impl std::fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "transport failure: {}", crate::base::redact::text(&self.0.to_string()))
    }
}

impl std::error::Error for TransportFailure {}

/// A fresh PKCE pair (S256) from the OS's generator (fork-safe): 32 random bytes make a
/// 43-character verifier, as RFC 7636 §4.1 recommends.
pub fn pkce_pair() -> (PkceCodeChallenge, Secret) {
    let verifier = crate::base::crypto::random_token(32);
    let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier.clone()));
    (challenge, Secret::new(verifier))
}
