//! The Google Calendar API v3 client (<https://developers.google.com/calendar/api/v3/reference>).
//!
//! Owns request shapes and response parsing for Calendar resources. It takes an access token
//! and knows nothing about where tokens come from or how a failure affects a doctor.

use reqwest::blocking::Client;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::base::config::SendUpdates;
use crate::error::{Error, Result};
use crate::google::http;
use crate::base::redact::Secret;

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

/// What we need from an event resource (the rest of Google's answer is ignored).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventInfo {
    pub id: String,
    /// `confirmed`, `tentative` or `cancelled` (deleted).
    pub status: String,
    pub html_link: String,
    /// The Meet link, empty while the conference is pending.
    pub meet_url: String,
    /// `success`, `pending`, `failure`, or empty without a conference.
    pub conference_status: String,
    /// The `requestId` the conference was made with (empty without one).
    pub conference_request_id: String,
    /// Start and end as UTC `Y-m-d H:M:S` (empty for all-day or missing times).
    pub start_utc: String,
    pub end_utc: String,
    pub etag: String,
    pub updated: String,
    pub sequence: i64,
    /// Our private extended properties (`kc_meet_site`, `kc_meet_appointment`).
    pub private: serde_json::Map<String, Value>,
}

impl EventInfo {
    pub fn from_value(v: &Value) -> EventInfo {
        let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string();
        // Google answers RFC 3339 with an offset; a local time with its `timeZone` is read in it.
        let utc = |t: Option<&Value>| -> String {
            let Some(t) = t else { return String::new() };
            let Some(d) = t.get("dateTime").and_then(Value::as_str) else { return String::new() };
            let at = chrono::DateTime::parse_from_rfc3339(d).map(|d| d.with_timezone(&chrono::Utc)).ok().or_else(|| {
                let local = chrono::NaiveDateTime::parse_from_str(d, "%Y-%m-%dT%H:%M:%S").ok()?;
                let tz: chrono_tz::Tz = t.get("timeZone").and_then(Value::as_str)?.parse().ok()?;
                use chrono::TimeZone;
                tz.from_local_datetime(&local).earliest().map(|d| d.with_timezone(&chrono::Utc))
            });
            at.map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default()
        };
        let meet_url = v
            .pointer("/conferenceData/entryPoints")
            .and_then(Value::as_array)
            .and_then(|eps| eps.iter().find(|e| e["entryPointType"] == "video"))
            .and_then(|e| e["uri"].as_str())
            .map(str::to_string)
            .unwrap_or_else(|| s("/hangoutLink"));
        EventInfo {
            id: s("/id"),
            status: s("/status"),
            html_link: s("/htmlLink"),
            meet_url,
            conference_status: s("/conferenceData/createRequest/status/statusCode"),
            conference_request_id: s("/conferenceData/createRequest/requestId"),
            start_utc: utc(v.get("start")),
            end_utc: utc(v.get("end")),
            etag: s("/etag"),
            updated: s("/updated"),
            sequence: v.get("sequence").and_then(Value::as_i64).unwrap_or(0),
            private: v
                .pointer("/extendedProperties/private")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
        }
    }
}

impl<'a> Calendar<'a> {
    fn events_url(&self, calendar_id: &str, event_id: Option<&str>) -> Url {
        match event_id {
            Some(id) => self.url(&["calendars", calendar_id, "events", id]),
            None => self.url(&["calendars", calendar_id, "events"]),
        }
    }

    /// `events.insert` with `conferenceDataVersion=1`, so a `createRequest` makes a Meet link
    /// (<https://developers.google.com/calendar/api/v3/reference/events/insert>).
    pub fn insert_event(&self, calendar_id: &str, body: &Value, send_updates: SendUpdates) -> Result<EventInfo> {
        let mut url = self.events_url(calendar_id, None);
        url.query_pairs_mut().append_pair("conferenceDataVersion", "1").append_pair("sendUpdates", send_updates.as_str());
        let req = self.http.post(url).bearer_auth(self.token.expose()).json(body);
        Ok(EventInfo::from_value(&http::json("events.insert", http::send("events.insert", req)?)?))
    }

    /// `events.get` (a deleted event answers with `status: cancelled`).
    pub fn get_event(&self, calendar_id: &str, event_id: &str) -> Result<EventInfo> {
        let req = self.http.get(self.events_url(calendar_id, Some(event_id))).bearer_auth(self.token.expose());
        Ok(EventInfo::from_value(&http::json("events.get", http::send("events.get", req)?)?))
    }

    /// `events.get` as Google's resource, the shape of a listing's items (sync re-reads a
    /// change that failed to apply).
    pub fn get_event_value(&self, calendar_id: &str, event_id: &str) -> Result<Value> {
        let req = self.http.get(self.events_url(calendar_id, Some(event_id))).bearer_auth(self.token.expose());
        http::json("events.get", http::send("events.get", req)?)
    }

    /// `events.patch`: only the fields in `body` change; the conference (Meet link) stays.
    pub fn patch_event(&self, calendar_id: &str, event_id: &str, body: &Value, send_updates: SendUpdates) -> Result<EventInfo> {
        let mut url = self.events_url(calendar_id, Some(event_id));
        url.query_pairs_mut().append_pair("conferenceDataVersion", "1").append_pair("sendUpdates", send_updates.as_str());
        let req = self.http.patch(url).bearer_auth(self.token.expose()).json(body);
        Ok(EventInfo::from_value(&http::json("events.patch", http::send("events.patch", req)?)?))
    }

    /// `events.delete`. Google answers 410 for an event already deleted and 404 for one it
    /// never had: both mean the event is gone, which is what the caller wants.
    pub fn delete_event(&self, calendar_id: &str, event_id: &str, send_updates: SendUpdates) -> Result<()> {
        let mut url = self.events_url(calendar_id, Some(event_id));
        url.query_pairs_mut().append_pair("sendUpdates", send_updates.as_str());
        let req = self.http.delete(url).bearer_auth(self.token.expose());
        match http::json("events.delete", http::send("events.delete", req)?) {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.http_status, Some(404) | Some(410)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// One page of `events.list`.
#[derive(Debug, Clone, Default)]
pub struct EventPage {
    pub items: Vec<Value>,
    pub next_page_token: Option<String>,
    pub next_sync_token: Option<String>,
}

/// A push channel as Google confirmed it (`events.watch`).
#[derive(Debug, Clone, Default)]
pub struct Channel {
    pub id: String,
    pub resource_id: String,
    /// Milliseconds since the epoch.
    pub expiration_ms: i64,
}

impl<'a> Calendar<'a> {
    /// `events.list`: one page. `query` holds either the full-sync window (`timeMin`, `timeMax`)
    /// or a `syncToken`, plus the `pageToken` of a continued listing; `url` encodes every value
    /// (sync and page tokens carry `+`, `/` and `=`).
    /// (<https://developers.google.com/calendar/api/guides/sync>)
    pub fn list_events(&self, calendar_id: &str, query: &[(&str, String)]) -> Result<EventPage> {
        let mut url = self.events_url(calendar_id, None);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("maxResults", "2500");
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        let req = self.http.get(url).bearer_auth(self.token.expose());
        let v = http::json("events.list", http::send("events.list", req)?)?;
        Ok(EventPage {
            items: v.get("items").and_then(Value::as_array).cloned().unwrap_or_default(),
            next_page_token: v.get("nextPageToken").and_then(Value::as_str).map(str::to_string),
            next_sync_token: v.get("nextSyncToken").and_then(Value::as_str).map(str::to_string),
        })
    }

    /// `events.watch`: push notifications for the calendar to `address`.
    pub fn watch(&self, calendar_id: &str, channel_id: &str, address: &str, token: &str, ttl_s: i64) -> Result<Channel> {
        let url = self.url(&["calendars", calendar_id, "events", "watch"]);
        let body = serde_json::json!({"id": channel_id, "type": "web_hook", "address": address, "token": token, "params": {"ttl": ttl_s.to_string()}});
        let req = self.http.post(url).bearer_auth(self.token.expose()).json(&body);
        let v = http::json("events.watch", http::send("events.watch", req)?)?;
        Ok(Channel {
            id: v.get("id").and_then(Value::as_str).unwrap_or(channel_id).to_string(),
            resource_id: v.get("resourceId").and_then(Value::as_str).unwrap_or_default().to_string(),
            expiration_ms: v
                .get("expiration")
                .and_then(|e| e.as_str().and_then(|s| s.parse().ok()).or_else(|| e.as_i64()))
                .unwrap_or(0),
        })
    }

    /// `channels.stop`; an unknown channel (404) is already stopped.
    pub fn stop_channel(&self, channel_id: &str, resource_id: &str) -> Result<()> {
        let url = self.url(&["channels", "stop"]);
        let req = self.http.post(url).bearer_auth(self.token.expose()).json(&serde_json::json!({"id": channel_id, "resourceId": resource_id}));
        match http::json("channels.stop", http::send("channels.stop", req)?) {
            Ok(_) => Ok(()),
            Err(e) if e.http_status == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
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
