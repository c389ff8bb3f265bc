//! The HTTPS client every Google request goes through, and Google's error bodies.
//!
//! Owns transport policy: rustls with the system roots (plus Mozilla's, plus an optional
//! configured CA file), timeouts, no redirects (Google's APIs never redirect, and following one
//! could leak a bearer token), and the translation of transport failures and Google's JSON error
//! bodies into [`Error`]. It must not know about OAuth or Calendar semantics.
//!
//! A `reqwest::blocking::Client` owns a background thread, which does not survive `fork()`:
//! clients are built lazily inside the worker, by the runtime, never at module load.

use std::path::Path;
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::Value;

use crate::error::{Code, Error, Result};
use crate::base::redact;

/// Builds the client. `ca_file` (PEM, one or more certificates) is trusted in addition to the
/// system roots, for a corporate proxy or the test emulator.
pub fn build_client(ca_file: Option<&Path>) -> Result<Client> {
    let mut builder = Client::builder()
        .user_agent(concat!("kc-meet/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(5))
        .timeout(REQUEST_TIMEOUT)
        .pool_idle_timeout(Duration::from_secs(50))
        .redirect(reqwest::redirect::Policy::none());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| Error::config(format!("ca_file {} cannot be read: {e}", path.display())))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|_| Error::config(format!("ca_file {} holds no PEM certificate", path.display())))?;
        if certs.is_empty() {
            return Err(Error::config(format!("ca_file {} holds no PEM certificate", path.display())));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().map_err(|e| Error::config(format!("the HTTPS client cannot be built: {e}")))
}

/// A transport failure (DNS, connect, TLS, reset, timeout) as an error.
pub fn transport_error(what: &str, e: &reqwest::Error) -> Error {
    let why = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        // The chain's innermost cause says most (e.g. "connection reset by peer").
        let mut src: &dyn std::error::Error = e;
        while let Some(s) = src.source() {
            src = s;
        }
        redact::text(&src.to_string())
    };
    Error::new(Code::GoogleUnreachable, format!("Google could not be reached ({what}): {why}"))
}

/// The longest a single request may take outside any call budget.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Sends a request; transport failures become [`Code::GoogleUnreachable`]. Inside a call's
/// budget ([`crate::base::retry::deadline_scope`]) the request's timeout is cut to the time left
/// (connect to last body byte), and with no time left nothing is sent: a Google that hangs
/// cannot hold a PHP worker past its budget.
pub fn send(what: &str, req: RequestBuilder) -> Result<Response> {
    let req = match crate::base::retry::time_left() {
        Some(left) if left.is_zero() => {
            return Err(Error::new(Code::GoogleUnreachable, format!("Google could not be reached ({what}): the call's time budget is used up")));
        }
        Some(left) => req.timeout(left.min(REQUEST_TIMEOUT)),
        None => req,
    };
    req.send().map_err(|e| transport_error(what, &e))
}

/// Reads a response: the JSON body on 2xx, Google's error otherwise.
pub fn json(what: &str, resp: Response) -> Result<Value> {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u32>().ok());
    let body = resp.text().map_err(|e| transport_error(what, &e))?;
    if (200..300).contains(&status) {
        if body.trim().is_empty() {
            return Ok(Value::Null);
        }
        return serde_json::from_str(&body).map_err(|_| {
            Error::new(Code::GoogleError, format!("Google's answer to {what} is not JSON (HTTP {status})"))
        });
    }
    let mut err = google_error(status, &body);
    err.retry_after_s = retry_after;
    Err(err)
}

/// Parses Google's error bodies: the API shape `{"error":{"code","message","errors":[{"reason"}],
/// "status"}}` and the OAuth shape `{"error":"invalid_grant","error_description":"…"}`.
pub fn google_error(status: u16, body: &str) -> Error {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let (reason, message) = match parsed.as_ref().and_then(|v| v.get("error")) {
        Some(Value::Object(err)) => {
            let reason = err
                .get("errors")
                .and_then(|e| e.get(0))
                .and_then(|e| e.get("reason"))
                .and_then(Value::as_str)
                .or_else(|| err.get("status").and_then(Value::as_str))
                .map(str::to_string);
            let message = err.get("message").and_then(Value::as_str).unwrap_or("no message").to_string();
            (reason, message)
        }
        Some(Value::String(code)) => {
            let desc = parsed
                .as_ref()
                .and_then(|v| v.get("error_description"))
                .and_then(Value::as_str)
                .unwrap_or("no description");
            (Some(code.clone()), desc.to_string())
        }
        _ => (None, "unexpected response body".to_string()),
    };
    Error::google(status, reason, &redact::text(&message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_bodies_keep_status_and_reason() {
        let e = google_error(
            403,
            r#"{"error":{"code":403,"message":"Rate Limit Exceeded","errors":[{"domain":"usageLimits","reason":"rateLimitExceeded","message":"Rate Limit Exceeded"}]}}"#,
        );
        assert_eq!(e.http_status, Some(403));
        assert_eq!(e.reason.as_deref(), Some("rateLimitExceeded"));
        assert!(crate::base::retry::is_transient(&e));
        assert_eq!(e.message, "Google answered HTTP 403 (rateLimitExceeded): Rate Limit Exceeded");
    }

    #[test]
    fn oauth_error_bodies_keep_the_error_code() {
        let e = google_error(400, r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#);
        assert_eq!(e.reason.as_deref(), Some("invalid_grant"));
        assert!(e.message.contains("Token has been expired or revoked."));
    }

    #[test]
    fn html_bodies_do_not_leak_into_the_message() {
        let e = google_error(502, "<html><body>Bad Gateway ya29.secret</body></html>");
        assert_eq!(e.message, "Google answered HTTP 502: unexpected response body");
    }
}
