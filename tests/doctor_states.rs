//! The Doctors screen's state filter (SQL, `screens::doctors`) and the one rule in Rust
//! (`grant::derive_status`, behind `kc_meet_status()`) agree on every doctor.
//!
//! Every combination of what the rule reads is built in a real database: the token meta
//! (absent, empty, blank, set, repeated), KiviCare's connect flag (absent, `on`, `off`, other
//! spellings, repeated) and our doctor row's status (absent, each state, other spellings; a
//! `needs_reconnect` mark for the stored token, for an older one, for none). Each
//! doctor must be listed under the filter of the state `kc_meet_status()` gives, and only
//! there, with that state in the row; sync must pick it exactly when that state is connected.

mod common;

use std::collections::BTreeMap;

use common::Bed;
use kc_meet::{grant, screens};
use mysql::prelude::Queryable;
use serde_json::json;

const TOKEN: &str = "google_meet_access_token";
const CONNECT: &str = "kiviCare_google_meet_connect";

/// Meta rows of one key, in insertion (umeta_id) order; `None` is an SQL NULL value.
type Metas = &'static [Option<&'static str>];

const TOKENS: &[(&str, Metas)] = &[
    ("no token", &[]),
    ("empty token", &[Some("")]),
    ("NULL token", &[None]),
    ("blank token", &[Some(" ")]),
    ("token", &[Some("v1:sealed")]),
    ("empty then token", &[Some(""), Some("v1:sealed")]),
    ("token then empty", &[Some("v1:sealed"), Some("")]),
];

const FLAGS: &[(&str, Metas)] = &[
    ("no flag", &[]),
    ("on", &[Some("on")]),
    ("off", &[Some("off")]),
    ("OFF", &[Some("OFF")]),
    ("'off '", &[Some("off ")]),
    ("empty flag", &[Some("")]),
    ("NULL flag", &[None]),
    ("on then off", &[Some("on"), Some("off")]),
    ("off then on", &[Some("off"), Some("on")]),
];

/// Our row: its status, and for a `needs_reconnect` mark the token it was marked on (the row
/// keeps its SHA-256): `None` (a mark from before the fingerprint), the token stored now, or an
/// older one (the doctor connected again on another site of the network).
const ROWS: &[(&str, Option<&str>, Option<&str>)] = &[
    ("no row", None, None),
    ("connected", Some("connected"), None),
    ("needs_reconnect", Some("needs_reconnect"), None),
    ("needs_reconnect for this token", Some("needs_reconnect"), Some("v1:sealed")),
    ("needs_reconnect for an older token", Some("needs_reconnect"), Some("v1:older")),
    ("needs_reconnect for an empty token", Some("needs_reconnect"), Some("")),
    ("NEEDS_RECONNECT", Some("NEEDS_RECONNECT"), None),
    ("'needs_reconnect '", Some("needs_reconnect "), None),
    ("not_connected", Some("not_connected"), None),
    ("unknown status", Some("revoked"), None),
];

#[test]
fn the_doctors_filter_puts_every_doctor_in_the_state_kc_meet_status_gives() {
    let bed = Bed::new();
    let mut c = bed.sql();
    let mut cases: BTreeMap<u64, String> = BTreeMap::new();
    let mut id = 100u64;
    for (tn, tokens) in TOKENS {
        for (fname, flags) in FLAGS {
            for (rn, row, marked_on) in ROWS {
                id += 1;
                cases.insert(id, format!("{tn} / {fname} / {rn}"));
                c.exec_drop("INSERT INTO wp_users (ID, user_login, user_email, display_name) VALUES (?, ?, ?, ?)", (id, format!("doc{id}"), format!("doc{id}@x"), format!("Doctor {id:04}")))
                    .unwrap();
                c.exec_drop("INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (?, 'wp_capabilities', 'a:1:{s:15:\"kiviCare_doctor\";b:1;}')", (id,)).unwrap();
                for (key, values) in [(TOKEN, *tokens), (CONNECT, *flags)] {
                    for v in values {
                        c.exec_drop("INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (?, ?, ?)", (id, key, *v)).unwrap();
                    }
                }
                if let Some(status) = row {
                    c.exec_drop(
                        "INSERT INTO wp_kc_meet_doctors (doctor_id, status, email, reconnect_token, updated_at) VALUES (?, ?, 'g@example.com', SHA2(?, 256), UTC_TIMESTAMP())",
                        (id, *status, *marked_on),
                    )
                    .unwrap();
                }
            }
        }
    }

    let listed = |status: &str| -> BTreeMap<u64, String> {
        let page = screens::doctors(&bed.ctx, &json!({"status": status, "per_page": 500})).unwrap();
        assert!(page.total <= 500, "one page holds them all");
        page.rows.into_iter().map(|r| (r.doctor_id, r.status)).collect()
    };
    let by_filter: Vec<(&str, BTreeMap<u64, String>)> = ["connected", "needs_reconnect", "not_connected"].into_iter().map(|s| (s, listed(s))).collect();

    let mut disagreements = vec![];
    for (&doctor, what) in &cases {
        let rule = grant::status(&bed.ctx, doctor as i64).unwrap().status.as_str().to_string();
        let under: Vec<&str> = by_filter.iter().filter(|(_, rows)| rows.contains_key(&doctor)).map(|(s, _)| *s).collect();
        let shown: Vec<&str> = by_filter.iter().filter_map(|(_, rows)| rows.get(&doctor).map(String::as_str)).collect();
        if under != [rule.as_str()] || shown != [rule.as_str()] {
            disagreements.push(format!("{what}: kc_meet_status says {rule}, listed under {under:?} showing {shown:?}"));
        }
        // Sync picks exactly the connected doctors, by the same rule.
        let synced = !bed.ctx.store.doctors_to_sync(Some(doctor)).unwrap().is_empty();
        if synced != (rule == "connected") {
            disagreements.push(format!("{what}: kc_meet_status says {rule}, sync {} it", if synced { "picks" } else { "skips" }));
        }
    }
    assert!(disagreements.is_empty(), "{} of {} doctors disagree:\n{}", disagreements.len(), cases.len(), disagreements.join("\n"));
    // The combinations really reach all three states (the check is not vacuous).
    for (s, rows) in &by_filter {
        assert!(!rows.is_empty(), "no doctor is {s}");
    }
}
