//! The Google Calendar API v3 client (<https://developers.google.com/calendar/api/v3/reference>).
//!
//! Owns request shapes and response parsing for Calendar resources. It takes an access token
//! and knows nothing about where tokens come from or how a failure affects a doctor.

use reqwest::blocking::Client;
use serde::Deserialize;
use url::Url;

use crate::error::{Error, Result};
use crate::http;
use crate::redact::Secret;

/// A calendar resource (`calendars.get`).
#[derive(Debug, Clone, Deserialize)]
pub struct CalendarInfo {
    /// For `primary`, the account's e-mail address.
    pub id: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default, rename = "timeZone")]
    pub time_zone: String,
}

/// Calendar API calls made with one access token.
pub struct Calendar<'a> {
    http: &'a Client,
    base: &'a Url,
    token: &'a Secret,
}

impl<'a> Calendar<'a> {
    pub fn new(http: &'a Client, base: &'a Url, token: &'a Secret) -> Self {
        Calendar { http, base, token }
    }

    /// `…/calendars/{calendarId}` with each segment percent-encoded.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut().expect("an http(s) base URL has path segments").pop_if_empty().extend(segments);
        url
    }

    /// `calendars.get`: the primary calendar's id is the account's e-mail address, which is how
    /// we learn it without asking for any identity scope.
    pub fn get_calendar(&self, calendar_id: &str) -> Result<CalendarInfo> {
        let req = self.http.get(self.url(&["calendars", calendar_id])).bearer_auth(self.token.expose());
        let value = http::json("calendars.get", http::send("calendars.get", req)?)?;
        serde_json::from_value(value).map_err(|_| Error::google(200, None, "calendars.get answered an unexpected shape"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_ids_are_path_encoded() {
        let client = Client::new();
        let base = Url::parse("https://www.googleapis.com/calendar/v3").unwrap();
        let token = Secret::new("t");
        let cal = Calendar::new(&client, &base, &token);
        assert_eq!(
            cal.url(&["calendars", "a b/c@group.calendar.google.com"]).as_str(),
            "https://www.googleapis.com/calendar/v3/calendars/a%20b%2Fc@group.calendar.google.com"
        );
    }
}
