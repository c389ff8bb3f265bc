//! A doctor's Google connection end to end: real MariaDB, the Google emulator, the domain API
//! the PHP functions call.

mod common;

use std::time::Duration;

use common::{Bed, CLIENT_ID};
use kc_meet::{connection, grant};
use kc_meet::error::Code;
use mysql::prelude::Queryable;
use serde_json::json;

const CAL: &str = "https://www.googleapis.com/auth/calendar";

/// A code as Google Identity Services' popup (KiviCare 3.x) hands over for `email`; `extra`
/// overrides the request (`access_type`, `prompt`).
fn popup_code(bed: &Bed, email: &str, extra: serde_json::Value) -> String {
    let mut req = json!({"client_id": CLIENT_ID, "email": email, "scopes": [CAL], "redirect_uri": "postmessage"});
    for (k, v) in extra.as_object().into_iter().flatten() {
        req[k] = v.clone();
    }
    bed.emu.post("/__emu/mint_code", req)["code"].as_str().unwrap().to_string()
}

#[test]
fn auth_url_asks_for_offline_calendar_access_with_pkce_and_a_doctor_bound_state() {
    let bed = Bed::new();
    let url = url::Url::parse(&connection::auth_url(&bed.ctx, 2, 1).unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert!(url.as_str().starts_with(&format!("{}/o/oauth2/v2/auth?", bed.emu.base)));
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["scope"], CAL);
    assert_eq!(q["access_type"], "offline");
    assert_eq!(q["prompt"], "consent");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert_eq!(q["redirect_uri"], common::REDIRECT);
    assert!(q["state"].starts_with("2.") && q["state"].len() > 40);
    // Only a hash of the state is stored, and the verifier is sealed.
    let dump = bed.dump();
    assert!(!dump.contains(&q["state"]));
}

#[test]
fn connect_stores_sealed_tokens_and_the_flags_core_reads() {
    let bed = Bed::new();
    let c = bed.connect(2, "dr.house@example.com");
    assert_eq!(c.status.as_str(), "connected");
    assert_eq!(c.email, "dr.house@example.com");
    assert_eq!(c.calendar_id, "primary");
    assert_eq!(c.scopes, vec![CAL.to_string()]);
    assert_eq!(bed.meta(2, "kiviCare_google_meet_connect").as_deref(), Some("on"));
    assert_eq!(bed.meta(2, "telemed_type").as_deref(), Some("googlemeet"));
    assert_eq!(bed.meta(2, "kiviCare_doctor_meet_id").as_deref(), Some("primary"));
    let token = bed.meta(2, "google_meet_access_token").unwrap();
    assert!(token.starts_with("kcm1:"));

    let s = grant::status(&bed.ctx, 2).unwrap();
    assert_eq!(s.status.as_str(), "connected");
    assert_eq!(s.email.as_deref(), Some("dr.house@example.com"));
    assert!(s.token_expires_at.unwrap() > chrono::Utc::now().timestamp() + 3000);
}

#[test]
fn the_database_never_holds_a_google_token_in_plaintext() {
    let bed = Bed::new();
    bed.connect(2, "d@example.com");
    let dump = bed.dump();
    assert!(dump.contains("kcm1:"), "the sealed token is in the dump");
    assert!(!dump.contains("ya29."), "an access token leaked into the database");
    assert!(!dump.contains("1//"), "a refresh token leaked into the database");
}

#[test]
fn forged_state_is_rejected_without_asking_google() {
    let bed = Bed::new();
    let url = connection::auth_url(&bed.ctx, 2, 2).unwrap();
    let back = bed.emu.consent(&url, "d@example.com", "allow", None);
    bed.emu.delete("/__emu/requests");
    let e = connection::connect(&bed.ctx, 2, back.code.as_deref().unwrap(), "2.forgedforgedforgedforgedforgedforged", None).unwrap_err();
    assert_eq!(e.code, Code::BadState);
    assert_eq!(bed.emu.count("POST", "/token"), 0);
    assert!(bed.meta(2, "google_meet_access_token").is_none());
}

#[test]
fn expired_state_is_rejected() {
    let bed = Bed::new();
    let url = connection::auth_url(&bed.ctx, 2, 2).unwrap();
    let back = bed.emu.consent(&url, "d@example.com", "allow", None);
    bed.sql().query_drop("UPDATE wp_kc_meet_oauth_states SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND").unwrap();
    let e = connection::connect(&bed.ctx, 2, back.code.as_deref().unwrap(), back.state.as_deref().unwrap(), None).unwrap_err();
    assert_eq!(e.code, Code::BadState);
    assert!(e.message.contains("expired"));
    assert!(bed.meta(2, "google_meet_access_token").is_none());
}

#[test]
fn a_state_works_once() {
    let bed = Bed::new();
    let url = connection::auth_url(&bed.ctx, 2, 2).unwrap();
    let back = bed.emu.consent(&url, "d@example.com", "allow", None);
    let (code, state) = (back.code.unwrap(), back.state.unwrap());
    connection::connect(&bed.ctx, 2, &code, &state, None).unwrap();
    let e = connection::connect(&bed.ctx, 2, &code, &state, None).unwrap_err();
    assert_eq!(e.code, Code::BadState);
}

#[test]
fn another_doctors_state_is_rejected_and_left_usable_for_that_doctor() {
    let bed = Bed::new();
    let url = connection::auth_url(&bed.ctx, 2, 2).unwrap();
    let back = bed.emu.consent(&url, "d@example.com", "allow", None);
    let (code, state) = (back.code.unwrap(), back.state.unwrap());
    let e = connection::connect(&bed.ctx, 3, &code, &state, None).unwrap_err();
    assert_eq!(e.code, Code::BadState);
    assert!(bed.meta(3, "google_meet_access_token").is_none());
    connection::connect(&bed.ctx, 2, &code, &state, None).unwrap();
}

#[test]
fn a_replayed_code_is_refused_by_google_and_nothing_is_stored() {
    let bed = Bed::new();
    let first = bed.emu.consent(&connection::auth_url(&bed.ctx, 2, 2).unwrap(), "d@example.com", "allow", None);
    connection::connect(&bed.ctx, 2, first.code.as_deref().unwrap(), first.state.as_deref().unwrap(), None).unwrap();
    connection::disconnect(&bed.ctx, 2).unwrap();
    // An attacker replays the old code with a fresh state of their own.
    let url = connection::auth_url(&bed.ctx, 2, 2).unwrap();
    let fresh_state = url::Url::parse(&url).unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.to_string();
    let e = connection::connect(&bed.ctx, 2, first.code.as_deref().unwrap(), &fresh_state, None).unwrap_err();
    assert_eq!(e.code, Code::CodeRejected);
    assert!(bed.meta(2, "google_meet_access_token").is_none());
    assert!(!e.message.contains(first.code.as_deref().unwrap()));
}

#[test]
fn pkce_mismatch_is_refused() {
    let bed = Bed::new();
    let a = bed.emu.consent(&connection::auth_url(&bed.ctx, 2, 2).unwrap(), "d@example.com", "allow", None);
    let b = bed.emu.consent(&connection::auth_url(&bed.ctx, 2, 2).unwrap(), "d@example.com", "allow", None);
    // Code of flow A with the state (and so the verifier) of flow B.
    let e = connection::connect(&bed.ctx, 2, a.code.as_deref().unwrap(), b.state.as_deref().unwrap(), None).unwrap_err();
    assert_eq!(e.code, Code::CodeRejected);
    assert!(bed.meta(2, "google_meet_access_token").is_none());
}

#[test]
fn consent_denied_redirects_back_without_a_code() {
    let bed = Bed::new();
    let back = bed.emu.consent(&connection::auth_url(&bed.ctx, 2, 2).unwrap(), "d@example.com", "deny", None);
    assert_eq!(back.error.as_deref(), Some("access_denied"));
    assert!(back.code.is_none());
    assert!(back.state.unwrap().starts_with("2."));
}

#[test]
fn calendar_scope_not_granted_is_refused_and_the_grant_given_back() {
    let bed = Bed::new();
    let url = connection::auth_url(&bed.ctx, 2, 2).unwrap();
    let back = bed.emu.consent(&url, "d@example.com", "allow", Some(&[]));
    let e = connection::connect(&bed.ctx, 2, back.code.as_deref().unwrap(), back.state.as_deref().unwrap(), None).unwrap_err();
    assert_eq!(e.code, Code::ScopeNotGranted);
    assert!(bed.meta(2, "google_meet_access_token").is_none());
    assert_eq!(bed.meta(2, "kiviCare_google_meet_connect"), None);
    assert!(bed.emu.grants().iter().all(|g| g["revoked"] == true), "the unusable grant is revoked");
}

#[test]
fn a_refresh_is_persisted_and_reused() {
    let bed = Bed::new();
    bed.emu.config(json!({"access_token_ttl": 60}));
    bed.connect(2, "d@example.com");
    bed.emu.config(json!({"access_token_ttl": 3599}));
    connection::check_connection(&bed.ctx, 2).unwrap();
    assert_eq!(bed.emu.refreshes(), 1);
    // A later call, from another process, uses the stored refreshed token.
    let other = bed.other_process();
    let s = connection::check_connection(&other, 2).unwrap();
    assert_eq!(bed.emu.refreshes(), 1);
    assert!(s.token_expires_at.unwrap() > chrono::Utc::now().timestamp() + 3000);
    assert!(!bed.dump().contains("ya29."));
}

#[test]
fn two_processes_needing_a_refresh_at_once_refresh_once() {
    let bed = Bed::new();
    bed.emu.config(json!({"access_token_ttl": 60}));
    bed.connect(2, "d@example.com");
    bed.emu.config(json!({"access_token_ttl": 3599}));
    bed.emu.fault(json!({"method": "POST", "path": "/token", "action": "delay", "delay_s": 0.5, "times": 0}));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let ctx = bed.other_process();
            std::thread::spawn(move || connection::check_connection(&ctx, 2).map(|s| s.status))
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().unwrap().as_str(), "connected");
    }
    assert_eq!(bed.emu.refreshes(), 1);
}

#[test]
fn invalid_grant_means_needs_reconnect_without_a_retry_storm() {
    let bed = Bed::new();
    bed.emu.config(json!({"access_token_ttl": 60}));
    bed.connect(2, "d@example.com");
    bed.emu.post("/__emu/revoke_grant", json!({"email": "d@example.com"}));
    let e = connection::check_connection(&bed.ctx, 2).unwrap_err();
    assert_eq!(e.code, Code::NeedsReconnect);
    let s = grant::status(&bed.ctx, 2).unwrap();
    assert_eq!(s.status.as_str(), "needs_reconnect");
    assert!(s.last_error.unwrap().contains("connect"));
    bed.emu.delete("/__emu/requests");
    for _ in 0..5 {
        assert_eq!(connection::check_connection(&bed.ctx, 2).unwrap_err().code, Code::NeedsReconnect);
    }
    assert!(bed.emu.requests().is_empty(), "no request for a doctor who must reconnect");
    // Connecting again heals it.
    bed.connect(2, "d@example.com");
    assert_eq!(grant::status(&bed.ctx, 2).unwrap().status.as_str(), "connected");
}

#[test]
fn a_token_google_drops_early_is_refreshed_once_and_the_call_retried() {
    let bed = Bed::new();
    bed.connect(2, "d@example.com");
    bed.emu.post("/__emu/expire_access_tokens", json!({"email": "d@example.com"}));
    let s = connection::check_connection(&bed.ctx, 2).unwrap();
    assert_eq!(s.status.as_str(), "connected");
    assert_eq!(bed.emu.refreshes(), 1);
}

#[test]
fn disconnect_revokes_at_google_erases_tokens_and_stops_all_requests() {
    let bed = Bed::new();
    bed.connect(2, "d@example.com");
    let d = connection::disconnect(&bed.ctx, 2).unwrap();
    assert!(d.was_connected && d.revoked);
    assert_eq!(d.status.as_str(), "not_connected");
    assert!(bed.emu.grants().iter().all(|g| g["revoked"] == true));
    assert!(bed.meta(2, "google_meet_access_token").is_none());
    assert_eq!(bed.meta(2, "kiviCare_google_meet_connect").as_deref(), Some("off"));
    assert!(bed.meta(2, "telemed_type").is_none());
    let rows: Option<u64> = bed.sql().query_first("SELECT doctor_id FROM wp_kc_meet_doctors").unwrap();
    assert!(rows.is_none());

    bed.emu.delete("/__emu/requests");
    assert_eq!(grant::status(&bed.ctx, 2).unwrap().status.as_str(), "not_connected");
    assert_eq!(connection::check_connection(&bed.ctx, 2).unwrap_err().code, Code::NotConnected);
    assert!(bed.emu.requests().is_empty());
}

#[test]
fn disconnecting_twice_or_a_never_connected_doctor_is_fine() {
    let bed = Bed::new();
    let d = connection::disconnect(&bed.ctx, 3).unwrap();
    assert!(!d.was_connected && !d.revoked);
    // A user who never connected (a patient whose personal data is erased) gets no meta of ours.
    assert_eq!(bed.meta(3, "kiviCare_google_meet_connect"), None);
    bed.connect(2, "d@example.com");
    connection::disconnect(&bed.ctx, 2).unwrap();
    let again = connection::disconnect(&bed.ctx, 2).unwrap();
    assert!(!again.was_connected);
}

#[test]
fn disconnect_while_google_is_down_still_erases_the_tokens() {
    let bed = Bed::new();
    bed.connect(2, "d@example.com");
    bed.emu.fault(json!({"path": "/revoke", "action": "status", "status": 503, "times": 0}));
    let d = connection::disconnect(&bed.ctx, 2).unwrap();
    assert!(!d.revoked);
    assert!(d.revoke_error.unwrap().contains("503"));
    assert!(bed.meta(2, "google_meet_access_token").is_none());
    let audit: Option<String> =
        bed.sql().query_first("SELECT outcome FROM wp_kc_meet_audit WHERE action = 'disconnect'").unwrap();
    assert_eq!(audit.as_deref(), Some("revoke_failed"));
}

#[test]
fn reconnecting_the_same_account_keeps_the_new_grant_working() {
    // Google keeps one grant per account and client: revoking the previous token would revoke
    // the tokens just stored with it (the emulator revokes per grant, as Google does).
    let bed = Bed::new();
    bed.connect(2, "d@example.com");
    bed.connect(2, "d@example.com");
    assert_eq!(bed.emu.count("POST", "/revoke"), 0, "nothing revoked");
    assert!(bed.emu.grants().iter().all(|g| g["revoked"] == false));
    bed.emu.post("/__emu/expire_access_tokens", json!({"email": "d@example.com"}));
    let s = connection::check_connection(&bed.ctx, 2).unwrap();
    assert_eq!((s.status.as_str(), s.email.as_deref()), ("connected", Some("d@example.com")));
    assert_eq!(bed.emu.refreshes(), 1, "the stored refresh token still works");
}

#[test]
fn connecting_another_account_revokes_the_previous_ones_grant() {
    let bed = Bed::new();
    bed.connect(2, "old@example.com");
    bed.connect(2, "new@example.com");
    let revoked: Vec<(String, bool)> =
        bed.emu.grants().iter().map(|g| (g["email"].as_str().unwrap().to_string(), g["revoked"] == true)).collect();
    assert_eq!(revoked, vec![("old@example.com".into(), true), ("new@example.com".into(), false)]);
    assert_eq!(connection::check_connection(&bed.ctx, 2).unwrap().email.as_deref(), Some("new@example.com"));
    let audit: Option<String> =
        bed.sql().query_first("SELECT outcome FROM wp_kc_meet_audit WHERE action = 'previous_grant_revoked'").unwrap();
    assert_eq!(audit.as_deref(), Some("ok"));
}

/// The refresh token stored for doctor 2, decrypted.
fn stored_refresh(bed: &Bed) -> Option<String> {
    let stored = bed.meta(2, "google_meet_access_token").unwrap();
    kc_meet::store::tokens::open(bed.ctx.keyring().unwrap(), 2, &stored).unwrap().record.refresh_token
}

#[test]
fn three_refreshes_in_a_row_keep_the_refresh_token_google_does_not_send_again() {
    let bed = Bed::new();
    bed.emu.config(json!({"access_token_ttl": 60}));
    bed.connect(2, "d@example.com");
    let original = stored_refresh(&bed).expect("a refresh token after connecting");
    for n in 1..=3 {
        // Every stored token is inside the 5-minute margin: each call refreshes.
        connection::check_connection(&bed.ctx, 2).unwrap();
        assert_eq!(bed.emu.refreshes(), n);
        assert_eq!(stored_refresh(&bed).as_deref(), Some(original.as_str()), "after refresh {n}");
    }
    assert_eq!(bed.emu.grants()[0]["refresh_count"], 3);
    assert_eq!(grant::status(&bed.ctx, 2).unwrap().status.as_str(), "connected");
}

#[test]
fn a_failing_token_endpoint_is_a_retryable_error_not_a_broken_connection() {
    let bed = Bed::new();
    bed.emu.config(json!({"access_token_ttl": 60}));
    bed.connect(2, "d@example.com");
    for fault in [
        json!({"path": "/token", "status": 503}),
        json!({"path": "/token", "status": 429, "headers": {"Retry-After": "1"}}),
        json!({"path": "/token", "action": "reset"}),
    ] {
        bed.emu.fault(fault.clone());
        let e = connection::check_connection(&bed.ctx, 2).unwrap_err();
        assert!(kc_meet::base::retry::is_transient(&e), "{fault}: {e:?}");
        let s = grant::status(&bed.ctx, 2).unwrap();
        assert_eq!(s.status.as_str(), "connected", "{fault}");
        assert!(s.last_error.is_some());
        assert!(stored_refresh(&bed).is_some());
    }
    // Google is back: the next call refreshes with the stored refresh token.
    assert_eq!(connection::check_connection(&bed.ctx, 2).unwrap().status.as_str(), "connected");
}

#[test]
fn callback_of_another_user_than_the_initiator_is_refused_before_google_sees_the_code() {
    let bed = Bed::new();
    // The admin (user 1) starts connecting doctor 2; the redirect comes back in doctor 3's browser.
    let url = connection::auth_url(&bed.ctx, 2, 1).unwrap();
    let back = bed.emu.consent(&url, "d@example.com", "allow", None);
    bed.emu.delete("/__emu/requests");
    let e = connection::connect(&bed.ctx, 2, back.code.as_deref().unwrap(), back.state.as_deref().unwrap(), Some(3)).unwrap_err();
    assert_eq!(e.code, Code::BadState);
    assert_eq!(bed.emu.count("POST", "/token"), 0, "the code never reached Google");
    assert!(bed.meta(2, "google_meet_access_token").is_none());
    // The state is used up: not even the initiator can replay it.
    let again = connection::connect(&bed.ctx, 2, back.code.as_deref().unwrap(), back.state.as_deref().unwrap(), Some(1)).unwrap_err();
    assert_eq!(again.code, Code::BadState);
    // The initiator's own callback connects.
    let url = connection::auth_url(&bed.ctx, 2, 1).unwrap();
    let back = bed.emu.consent(&url, "d@example.com", "allow", None);
    let c = connection::connect(&bed.ctx, 2, back.code.as_deref().unwrap(), back.state.as_deref().unwrap(), Some(1)).unwrap();
    assert_eq!(c.initiator_user_id, 1);
}

#[test]
fn a_vendor_plaintext_token_keeps_working_and_is_stored_sealed() {
    let bed = Bed::new();
    // Obtain a real grant from the emulator, then store it the way the vendor's 1.x add-on did.
    let code = popup_code(&bed, "old@example.com", json!({"access_type": "offline"}));
    let tok = reqwest::blocking::Client::new()
        .post(format!("{}/token", bed.emu.base))
        .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", "postmessage"), ("client_id", CLIENT_ID), ("client_secret", common::CLIENT_SECRET)])
        .send()
        .unwrap()
        .json::<serde_json::Value>()
        .unwrap();
    let legacy = json!({"access_token": tok["access_token"], "expires_in": 3599, "refresh_token": tok["refresh_token"],
                        "scope": CAL, "token_type": "Bearer", "created": chrono::Utc::now().timestamp() - 7200});
    bed.sql()
        .exec_drop(
            "INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (3, 'google_meet_access_token', ?), (3, 'kiviCare_google_meet_connect', 'on')",
            (legacy.to_string(),),
        )
        .unwrap();
    assert_eq!(grant::status(&bed.ctx, 3).unwrap().status.as_str(), "connected");
    let s = connection::check_connection(&bed.ctx, 3).unwrap();
    assert_eq!(s.email.as_deref(), Some("old@example.com"));
    assert_eq!(bed.emu.refreshes(), 1, "the expired legacy token was refreshed");
    assert!(bed.meta(3, "google_meet_access_token").unwrap().starts_with("kcm1:"));
    assert!(!bed.dump().contains("ya29."));
}

#[test]
fn postmessage_code_from_core_3x_connects() {
    let bed = Bed::new();
    let code = popup_code(&bed, "pm@example.com", json!({"access_type": "offline"}));
    let c = connection::connect_postmessage(&bed.ctx, 3, &code).unwrap();
    assert_eq!(c.email, "pm@example.com");
    assert_eq!(bed.meta(3, "kiviCare_google_meet_connect").as_deref(), Some("on"));
}

#[test]
fn google_unreachable_during_the_exchange_is_reported_as_such() {
    let bed = Bed::new();
    let back = bed.emu.consent(&connection::auth_url(&bed.ctx, 2, 2).unwrap(), "d@example.com", "allow", None);
    bed.emu.fault(json!({"path": "/token", "action": "reset", "times": 1}));
    let e = connection::connect(&bed.ctx, 2, back.code.as_deref().unwrap(), back.state.as_deref().unwrap(), None).unwrap_err();
    assert_eq!(e.code, Code::GoogleUnreachable);
    assert!(bed.meta(2, "google_meet_access_token").is_none());
}

#[test]
fn a_wrong_client_secret_is_reported_as_a_configuration_problem() {
    let bed = Bed::with(|v| v["client_secret"] = json!("wrong"), None);
    let back = bed.emu.consent(&connection::auth_url(&bed.ctx, 2, 2).unwrap(), "d@example.com", "allow", None);
    let e = connection::connect(&bed.ctx, 2, back.code.as_deref().unwrap(), back.state.as_deref().unwrap(), None).unwrap_err();
    assert_eq!(e.code, Code::ClientRejected);
    assert!(!e.message.contains("wrong"));
}

#[test]
fn unknown_doctor_and_bad_ids_are_invalid_arguments() {
    let bed = Bed::new();
    assert_eq!(connection::auth_url(&bed.ctx, 999, 1).unwrap_err().code, Code::InvalidArgument);
    assert_eq!(connection::auth_url(&bed.ctx, 0, 1).unwrap_err().code, Code::InvalidArgument);
    assert_eq!(grant::status(&bed.ctx, -4).unwrap_err().code, Code::InvalidArgument);
    assert_eq!(connection::connect(&bed.ctx, 2, "", "2.x", None).unwrap_err().code, Code::InvalidArgument);
}

#[test]
fn missing_client_blocks_connecting_with_a_clear_error() {
    let bed = Bed::with(|v| v["client_id"] = json!(""), None);
    let e = connection::auth_url(&bed.ctx, 2, 2).unwrap_err();
    assert_eq!(e.code, Code::NotConfigured);
}

#[test]
fn missing_encryption_key_blocks_connecting() {
    let bed = Bed::with(|v| v["encryption_key"] = json!(""), None);
    assert_eq!(connection::auth_url(&bed.ctx, 2, 2).unwrap_err().code, Code::EncryptionKey);
}

#[test]
fn a_changed_encryption_key_is_reported_and_a_rotated_one_reseals() {
    let bed = Bed::new();
    bed.connect(2, "d@example.com");
    let mut rotated = bed.raw.clone();
    rotated["encryption_key"] = json!("a brand new key");
    rotated["encryption_key_previous"] = json!([common::KEY]);
    let ctx = kc_meet::runtime::Context::connect(kc_meet::base::config::Config::from_value(&rotated).unwrap()).unwrap();
    let before = bed.meta(2, "google_meet_access_token").unwrap();
    connection::check_connection(&ctx, 2).unwrap();
    let after = bed.meta(2, "google_meet_access_token").unwrap();
    assert_ne!(before.split(':').nth(1), after.split(':').nth(1), "re-sealed under the new key id");

    let mut lost = bed.raw.clone();
    lost["encryption_key"] = json!("nobody knows this one");
    let ctx = kc_meet::runtime::Context::connect(kc_meet::base::config::Config::from_value(&lost).unwrap()).unwrap();
    assert_eq!(connection::check_connection(&ctx, 2).unwrap_err().code, Code::EncryptionKey);
}

#[test]
fn mysql_down_is_a_database_error() {
    let bed = Bed::new();
    let mut raw = bed.raw.clone();
    raw["db_host"] = json!("127.0.0.1:1");
    let ctx = kc_meet::runtime::Context::connect(kc_meet::base::config::Config::from_value(&raw).unwrap()).unwrap();
    let t = std::time::Instant::now();
    assert_eq!(grant::status(&ctx, 2).unwrap_err().code, Code::DbUnreachable);
    assert!(t.elapsed() < Duration::from_secs(15));
}

#[test]
fn operations_before_migrate_ask_for_it() {
    let bed = Bed::new();
    bed.sql().query_drop("DROP TABLE wp_kc_meet_meta").unwrap();
    // A process that has not checked the schema yet (one that has trusts it until a statement
    // fails on a missing table: tests/store_pool.rs).
    assert_eq!(grant::status(&bed.other_process(), 2).unwrap_err().code, Code::SchemaMissing);
    let r = bed.ctx.store.migrate().unwrap();
    assert_eq!(r.previous_version, 0);
    assert_eq!(grant::status(&bed.ctx, 2).unwrap().status.as_str(), "not_connected");
}

#[test]
fn migrate_is_idempotent_and_keeps_an_existing_mapping_table() {
    let bed = Bed::new();
    let again = bed.ctx.store.migrate().unwrap();
    assert_eq!(again.previous_version, again.schema_version);
    assert_eq!(again.mapping_table, "exists");
    // A 1.x site: its mapping table has the old shape and must stay as it is.
    let mut c = bed.sql();
    c.query_drop("DROP TABLE wp_kc_appointment_google_meet_mappings").unwrap();
    c.query_drop("CREATE TABLE wp_kc_appointment_google_meet_mappings (id int PRIMARY KEY AUTO_INCREMENT, event_id varchar(255), appointment_id int, url varchar(255), password varchar(255) NULL, event_url varchar(255) NULL)").unwrap();
    c.query_drop("INSERT INTO wp_kc_appointment_google_meet_mappings (event_id, appointment_id, url) VALUES ('e1', 5, 'https://meet.google.com/abc-defg-hij')").unwrap();
    assert_eq!(bed.ctx.store.migrate().unwrap().mapping_table, "exists");
    let n: Option<u64> = c.query_first("SELECT COUNT(*) FROM wp_kc_appointment_google_meet_mappings").unwrap();
    assert_eq!(n, Some(1));
}

#[test]
fn google_over_tls_is_trusted_through_ca_file_only() {
    let dir = std::env::temp_dir().join(format!("kcm-tls-{}", kc_meet::base::crypto::random_token(4)));
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.to_str().unwrap();
    let sh = format!(
        "cd {d} && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=kc-test-ca 2>/dev/null && \
         openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=127.0.0.1 2>/dev/null && \
         printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext.cnf && \
         openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext.cnf 2>/dev/null"
    );
    assert!(std::process::Command::new("sh").args(["-c", &sh]).status().unwrap().success(), "openssl");
    let (cert, key, ca) = (format!("{d}/srv.pem"), format!("{d}/srv.key"), format!("{d}/ca.pem"));

    let bed = Bed::with(|v| { v["allow_insecure_loopback"] = json!(false); v["ca_file"] = json!(ca); }, Some((&cert, &key)));
    assert!(bed.emu.base.starts_with("https://"));
    assert_eq!(bed.connect(2, "tls@example.com").email, "tls@example.com");

    // Without the CA, the emulator's certificate is not trusted.
    let mut raw = bed.raw.clone();
    raw.as_object_mut().unwrap().remove("ca_file");
    let ctx = kc_meet::runtime::Context::connect(kc_meet::base::config::Config::from_value(&raw).unwrap()).unwrap();
    let back = bed.emu.consent(&connection::auth_url(&ctx, 3, 3).unwrap(), "x@example.com", "allow", None);
    let e = connection::connect(&ctx, 3, back.code.as_deref().unwrap(), back.state.as_deref().unwrap(), None).unwrap_err();
    assert_eq!(e.code, Code::GoogleUnreachable);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn no_error_message_carries_a_secret() {
    let bed = Bed::with(|v| v["client_secret"] = json!("GOCSPX-fake"), None);
    let back = bed.emu.consent(&connection::auth_url(&bed.ctx, 2, 2).unwrap(), "d@example.com", "allow", None);
    let code = back.code.unwrap();
    let e = connection::connect(&bed.ctx, 2, &code, back.state.as_deref().unwrap(), None).unwrap_err();
    for secret in ["GOCSPX", &code] {
        assert!(!e.message.contains(secret), "{secret} in {}", e.message);
    }
    let audit: Vec<String> = bed.sql().query("SELECT COALESCE(detail, '') FROM wp_kc_meet_audit").unwrap();
    assert!(audit.iter().all(|d| !d.contains("GOCSPX") && !d.contains(&code)));
}

#[test]
fn a_grant_revoked_in_the_middle_of_a_booking_leaves_a_visible_state_and_no_event() {
    let bed = Bed::new();
    bed.kivicare();
    bed.connect(2, "d@example.com");
    // The doctor removes the app's access in their Google account while a patient books.
    bed.emu.post("/__emu/revoke_grant", json!({"email": "d@example.com"}));
    let id = bed.book(common::Booking::default());
    let r = kc_meet::events::create(&bed.ctx, id as i64, &serde_json::Value::Null).unwrap();
    assert!(r.state.as_str() == "skipped" && r.reason.is_some_and(|x| x.as_str() == "doctor_needs_reconnect"), "{r:?}");
    assert_eq!(grant::status(&bed.ctx, 2).unwrap().status.as_str(), "needs_reconnect");
    let job = kc_meet::events::state(&bed.ctx, id as i64).unwrap().job.expect("the booking's event is kept as a job");
    assert_eq!(job.state.as_str(), "failed");
    assert!(bed.live_events("d@example.com").is_empty());
    // The doctor connects again; the admin retries the job: the event is made.
    bed.connect(2, "d@example.com");
    kc_meet::jobs::retry(&bed.ctx, job.id as i64).unwrap();
    kc_meet::jobs::run(&bed.ctx, 10, 10.0).unwrap();
    assert_eq!(bed.live_events("d@example.com").len(), 1);
    assert!(kc_meet::events::mapping(&bed.ctx, id as i64).unwrap().unwrap().url.starts_with("https://meet.google.com/"));
}

#[test]
fn retry_after_and_rate_limit_403s_are_honoured_within_the_booking_budget() {
    let bed = Bed::new();
    bed.kivicare();
    bed.connect(2, "d@example.com");
    bed.emu.fault(json!({"method": "POST", "path": "/calendar/v3/calendars/primary/events", "status": 429, "reason": "rateLimitExceeded",
                         "headers": {"Retry-After": "2"}}));
    bed.emu.fault(json!({"method": "POST", "path": "/calendar/v3/calendars/primary/events", "status": 403, "reason": "userRateLimitExceeded"}));
    let id = bed.book(common::Booking::default());
    let t = std::time::Instant::now();
    let r = kc_meet::events::create(&bed.ctx, id as i64, &serde_json::Value::Null).unwrap();
    assert_eq!(r.state.as_str(), "created");
    assert!(t.elapsed() >= Duration::from_secs(2), "Google asked for 2 s: {:?}", t.elapsed());
    let inserts: Vec<(std::time::Duration, u64)> = {
        let reqs = bed.emu.requests();
        let t0 = reqs.iter().find(|r| r["operation"] == "calendar.events.insert").unwrap()["time"].as_f64().unwrap();
        reqs.iter()
            .filter(|r| r["operation"] == "calendar.events.insert")
            .map(|r| (Duration::from_secs_f64(r["time"].as_f64().unwrap() - t0), r["status"].as_u64().unwrap()))
            .collect()
    };
    assert_eq!(inserts.iter().map(|i| i.1).collect::<Vec<_>>(), vec![429, 403, 200]);
    assert!(inserts[1].0 >= Duration::from_millis(1900), "the second attempt waited for Retry-After: {inserts:?}");
    assert_eq!(bed.live_events("d@example.com").len(), 1);
}


#[test]
fn a_popup_reconnect_without_a_new_refresh_token_keeps_the_one_we_hold() {
    // KiviCare 3.x's popup may ask without prompt=consent: Google then sends no refresh token to
    // an account whose grant has one. That grant is ours: keep its refresh token, revoke nothing.
    let bed = Bed::new();
    bed.connect(2, "d@example.com");
    let original = stored_refresh(&bed).unwrap();
    let code = popup_code(&bed, "d@example.com", json!({"prompt": ""}));
    let c = connection::connect_postmessage(&bed.ctx, 2, &code).unwrap();
    assert_eq!(c.email, "d@example.com");
    assert_eq!(bed.emu.count("POST", "/revoke"), 0, "nothing revoked");
    assert_eq!(stored_refresh(&bed).as_deref(), Some(original.as_str()));
    bed.emu.post("/__emu/expire_access_tokens", json!({"email": "d@example.com"}));
    assert_eq!(connection::check_connection(&bed.ctx, 2).unwrap().status.as_str(), "connected");
    // Another account without a refresh token is still refused, and its token given back.
    let code = popup_code(&bed, "e@example.com", json!({"access_type": "online"}));
    assert_eq!(connection::connect_postmessage(&bed.ctx, 2, &code).unwrap_err().code, Code::CodeRejected);
    assert_eq!(connection::check_connection(&bed.ctx, 2).unwrap().email.as_deref(), Some("d@example.com"));
}

#[test]
fn a_reconnect_google_fails_to_answer_leaves_the_working_grant_alone() {
    // The new tokens belong to the grant the doctor is connected with: revoking them when
    // Google blips would revoke the stored refresh token too.
    let bed = Bed::new();
    bed.connect(2, "d@example.com");
    bed.emu.fault(json!({"method": "GET", "path": "/calendar/v3/calendars/primary", "action": "status", "status": 503, "times": 1}));
    let url = connection::auth_url(&bed.ctx, 2, 2).unwrap();
    let back = bed.emu.consent(&url, "d@example.com", "allow", None);
    let err = connection::connect(&bed.ctx, 2, back.code.as_deref().unwrap(), back.state.as_deref().unwrap(), Some(2)).unwrap_err();
    assert_eq!(err.http_status, Some(503), "{err:?}");
    assert_eq!(bed.emu.count("POST", "/revoke"), 0, "nothing revoked");
    assert!(bed.emu.grants().iter().all(|g| g["revoked"] == false));
    bed.emu.post("/__emu/expire_access_tokens", json!({"email": "d@example.com"}));
    let s = connection::check_connection(&bed.ctx, 2).unwrap();
    assert_eq!(s.status.as_str(), "connected");
    assert_eq!(bed.emu.refreshes(), 1, "the stored refresh token still works");
}

fn still_works(bed: &Bed, doctor: i64, email: &str) {
    bed.emu.post("/__emu/expire_access_tokens", json!({"email": email}));
    let s = connection::check_connection(&bed.ctx, doctor).unwrap();
    assert_eq!((s.status.as_str(), s.email.as_deref()), ("connected", Some(email)));
}

#[test]
fn two_doctors_connected_with_one_google_account_do_not_disconnect_each_other() {
    // Small clinics share one Google account. Google keeps one grant per account and client:
    // revoking one doctor's token would revoke the other's.
    let bed = Bed::new();
    bed.connect(2, "clinic@example.com");
    bed.connect(3, "clinic@example.com");
    let d = connection::disconnect(&bed.ctx, 3).unwrap();
    assert!(d.was_connected && !d.revoked);
    assert!(d.revoke_error.as_deref().unwrap().contains("doctor 2"), "{:?}", d.revoke_error);
    assert_eq!(bed.emu.count("POST", "/revoke"), 0);
    assert!(bed.meta(3, "google_meet_access_token").is_none(), "the disconnected doctor's tokens are erased");
    assert_eq!(grant::status(&bed.ctx, 3).unwrap().status.as_str(), "not_connected");
    let audit: Option<String> = bed.sql().query_first("SELECT outcome FROM wp_kc_meet_audit WHERE action = 'disconnect'").unwrap();
    assert_eq!(audit.as_deref(), Some("revoke_skipped"));
    still_works(&bed, 2, "clinic@example.com");
    // The last doctor with that account: revoked.
    let d = connection::disconnect(&bed.ctx, 2).unwrap();
    assert!(d.revoked);
    assert!(bed.emu.grants().iter().all(|g| g["revoked"] == true));
}

#[test]
fn switching_away_from_an_account_another_doctor_uses_keeps_their_grant() {
    let bed = Bed::new();
    bed.connect(2, "clinic@example.com");
    bed.connect(3, "clinic@example.com");
    bed.connect(3, "own@example.com");
    assert_eq!(bed.emu.count("POST", "/revoke"), 0, "the shared account's grant stays");
    still_works(&bed, 2, "clinic@example.com");
    still_works(&bed, 3, "own@example.com");
}

#[test]
fn another_account_starts_its_calendars_sync_afresh() {
    // The previous account's sync token, page token and events waiting for a re-read say
    // nothing about the new account's calendar: a re-read there would answer 404 and be taken
    // for a deletion.
    let bed = Bed::new();
    bed.connect(2, "old@example.com");
    bed.sql().query_drop("UPDATE wp_kc_meet_doctors SET sync_token = 'old-token', sync_page_token = 'old-page' WHERE doctor_id = 2").unwrap();
    bed.ctx.store.set_sync_retries(2, &[kc_meet::store::sync::RetryItem { event_id: "oldevent1".into(), attempts: 1 }]).unwrap();
    bed.connect(2, "old@example.com");
    let kept: (Option<String>, Option<String>) =
        bed.sql().query_first("SELECT sync_token, sync_page_token FROM wp_kc_meet_doctors WHERE doctor_id = 2").unwrap().unwrap();
    assert_eq!(kept, (Some("old-token".into()), Some("old-page".into())), "the same account keeps its place");
    assert_eq!(bed.ctx.store.sync_retries(2).unwrap().len(), 1);
    bed.connect(2, "new@example.com");
    let reset: (Option<String>, Option<String>) =
        bed.sql().query_first("SELECT sync_token, sync_page_token FROM wp_kc_meet_doctors WHERE doctor_id = 2").unwrap().unwrap();
    assert_eq!(reset, (None, None));
    assert!(bed.ctx.store.sync_retries(2).unwrap().is_empty());
}

#[test]
fn reconnecting_on_one_site_of_a_network_clears_the_refusal_on_the_others() {
    // The token is the network's (user meta), the refusal each site's own row: a doctor who
    // works on two sites and reconnects on one must work on both, and not be told by the other
    // to reconnect again and again.
    let bed = Bed::new();
    let mut raw = bed.raw.clone();
    raw["table_prefix"] = json!("wp_2_");
    let site2 = std::sync::Arc::new(kc_meet::runtime::Context::connect(kc_meet::base::config::Config::from_value(&raw).unwrap()).unwrap());
    site2.store.migrate().unwrap();
    bed.connect(2, "d@example.com");
    bed.emu.post("/__emu/revoke_grant", json!({"email": "d@example.com"}));
    for ctx in [&bed.ctx, &site2] {
        assert_eq!(connection::check_connection(ctx, 2).unwrap_err().code, Code::NeedsReconnect);
        assert_eq!(grant::status(ctx, 2).unwrap().status.as_str(), "needs_reconnect");
    }
    bed.connect(2, "d@example.com");
    assert_eq!(grant::status(&bed.ctx, 2).unwrap().status.as_str(), "connected");
    assert_eq!(grant::status(&site2, 2).unwrap().status.as_str(), "connected", "site 2's refusal was about the old token");
    let s = connection::check_connection(&site2, 2).unwrap();
    assert_eq!(s.status.as_str(), "connected");
    // A refusal of the new token still counts on every site.
    bed.emu.post("/__emu/revoke_grant", json!({"email": "d@example.com"}));
    assert_eq!(connection::check_connection(&site2, 2).unwrap_err().code, Code::NeedsReconnect);
    assert_eq!(grant::status(&site2, 2).unwrap().status.as_str(), "needs_reconnect");
}

#[test]
fn two_doctors_sharing_an_account_who_disconnect_at_once_leave_no_grant_behind() {
    // Each would see the other still connected and skip the revoke: the grant would stay valid
    // at Google with nobody holding it.
    let bed = Bed::new();
    bed.connect(2, "clinic@example.com");
    bed.connect(3, "clinic@example.com");
    let other = bed.other_process();
    let (tx, rx) = std::sync::mpsc::channel();
    connection::after_share_check(move || {
        // Doctor 3's disconnect, in another process, lands while doctor 2's has decided.
        std::thread::spawn(move || tx.send(connection::disconnect(&other, 3).unwrap()).unwrap());
        std::thread::sleep(Duration::from_millis(800));
    });
    let first = connection::disconnect(&bed.ctx, 2).unwrap();
    let second = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(!first.revoked, "doctor 3 was still connected when doctor 2's disconnect decided");
    assert!(second.revoked, "the last doctor with the account revokes it: {second:?}");
    assert!(bed.emu.grants().iter().all(|g| g["revoked"] == true));
}
