//! Two-way sync and push notifications on real MariaDB and the Google emulator. A small HTTP
//! receiver plays the plugin's `/wp-json/kc-meet/v1/notify` route: it hands the request's
//! headers to `handle_notification` and answers with the status it returns.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::{Bed, Booking};
use kc_meet::runtime::Context;
use kc_meet::store::sync::SyncPosition;
use kc_meet::{channels, connection, events, grant, sync};
use mysql::prelude::Queryable;
use serde_json::{Value, json};

const DOC: &str = "dr.two@gmail.example";

struct Receiver {
    url: String,
    ctx: Arc<OnceLock<Arc<Context>>>,
    seen: Arc<Mutex<Vec<Value>>>,
    /// The next this many messages are answered 500 without being handled (a PHP fatal).
    fail_next: Arc<AtomicUsize>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}/wp-json/kc-meet/v1/notify", listener.local_addr().unwrap().port());
        let ctx: Arc<OnceLock<Arc<Context>>> = Arc::new(OnceLock::new());
        let seen = Arc::new(Mutex::new(vec![]));
        let fail_next = Arc::new(AtomicUsize::new(0));
        let (c2, s2, f2) = (ctx.clone(), seen.clone(), fail_next.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let mut headers = serde_json::Map::new();
                let mut line = String::new();
                reader.read_line(&mut line).ok();
                let mut len = 0usize;
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.trim_end().split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                        headers.insert(k.trim().to_string(), json!(v.trim()));
                    }
                }
                let mut body = vec![0u8; len];
                reader.read_exact(&mut body).ok();
                let headers = Value::Object(headers);
                if f2.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
                    let mut stream = reader.into_inner();
                    let _ = write!(stream, "HTTP/1.1 500 X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    continue;
                }
                let mut result = match c2.get() {
                    Some(ctx) => serde_json::to_value(channels::handle_notification(ctx, &headers).unwrap()).unwrap(),
                    None => json!({"status": 503}),
                };
                result["headers"] = headers;
                let status = result["status"].as_u64().unwrap_or(500);
                s2.lock().unwrap().push(result);
                let mut stream = reader.into_inner();
                let _ = write!(stream, "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            }
        });
        Receiver { url, ctx, seen, fail_next }
    }

    fn wait_for(&self, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let seen = self.seen.lock().unwrap().clone();
            if pred(&seen) {
                return seen;
            }
            assert!(Instant::now() < until, "timed out waiting for {what}: {seen:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn bed_with(tweak: impl FnOnce(&mut Value)) -> (Bed, Receiver) {
    let rx = Receiver::start();
    let url = rx.url.clone();
    let bed = Bed::with(
        |v| {
            v["notify_url"] = json!(url);
            v["request_budget_s"] = json!(1.5);
            tweak(v);
        },
        None,
    );
    rx.ctx.set(bed.ctx.clone()).ok();
    bed.emu.config(json!({"allow_http_webhooks": true}));
    bed.kivicare();
    bed.connect(2, DOC);
    (bed, rx)
}

/// A local date-time `days` from today at `hh:mm` (inside the sync window).
fn at(days: i64, hm: &str) -> String {
    format!("{} {hm}:00", (chrono::Utc::now() + chrono::Duration::days(days)).format("%Y-%m-%d"))
}

fn day(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days)).format("%Y-%m-%d").to_string()
}

fn booked(bed: &Bed) -> (u64, String) {
    let (s, e) = (at(20, "10:00"), at(20, "10:30"));
    let id = bed.book(Booking { start: &s, end: &e, ..Booking::default() });
    let o = events::create(&bed.ctx, id as i64, &Value::Null).unwrap();
    (id, o.event_id.unwrap())
}

/// Books and creates the events of appointments on days 1..=n at 10:00; returns (id, event id).
fn book_days(bed: &Bed, n: i64) -> Vec<(u64, String)> {
    (1..=n)
        .map(|d| {
            let (s, e) = (at(d, "10:00"), at(d, "10:30"));
            let id = bed.book(Booking { start: &s, end: &e, ..Booking::default() });
            (id, events::create(&bed.ctx, id as i64, &Value::Null).unwrap().event_id.unwrap())
        })
        .collect()
}

fn appointment_start(bed: &Bed, id: u64) -> (String, String, i64) {
    bed.sql()
        .exec_first::<(String, String, i64), _, _>(
            "SELECT CAST(appointment_start_date AS CHAR), CAST(appointment_start_time AS CHAR), status FROM wp_kc_appointments WHERE id = ?",
            (id,),
        )
        .unwrap()
        .unwrap()
}

fn audit_outcomes(bed: &Bed, id: u64) -> Vec<String> {
    bed.sql().exec("SELECT outcome FROM wp_kc_meet_audit WHERE appointment_id = ? AND action = 'google_change'", (id,)).unwrap()
}

#[test]
fn connecting_opens_a_channel_and_google_confirms_it_with_sync() {
    let (bed, rx) = bed_with(|_| {});
    let channels = channels::channels(&bed.ctx, Some(2)).unwrap();
    assert_eq!(channels.len(), 1);
    rx.wait_for("the sync message", |s| s.iter().any(|r| r["action"] == "acknowledged"));
    let _ = bed;
}

#[test]
fn a_move_in_google_calendar_reaches_the_appointment_by_push() {
    let (bed, rx) = bed_with(|_| {});
    let (id, eid) = booked(&bed);
    bed.emu.post("/__emu/ui/move", json!({"email": DOC, "event_id": eid,
        "start": {"dateTime": format!("{}T16:00:00Z", day(20)), "timeZone": "UTC"},
        "end": {"dateTime": format!("{}T16:30:00Z", day(20)), "timeZone": "UTC"}}));
    let seen = rx.wait_for("the change to be applied", |s| s.iter().any(|r| r["action"] == "synced" && !r["changes"].as_array().unwrap().is_empty()));
    let change = seen.iter().flat_map(|r| r["changes"].as_array().cloned().unwrap_or_default()).next().unwrap();
    assert_eq!(change["kind"], "moved");
    assert_eq!(change["appointment_id"], id);
    // The site is in Europe/Paris: 16:00 UTC is 17:00 or 18:00 local.
    let (d, t, status) = appointment_start(&bed, id);
    assert_eq!((d, status), (day(20), 1));
    assert!(t == "17:00:00" || t == "18:00:00", "{t}");
    assert_eq!(audit_outcomes(&bed, id), vec!["moved"]);
    // The event row follows, so the next sync sees no change.
    let r = sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    assert_eq!(r.doctors[0].changes_applied, 0);
}

#[test]
fn a_deletion_in_google_is_flagged_by_default_and_the_appointment_kept() {
    let (bed, _rx) = bed_with(|_| {});
    quiet(&bed);
    let (id, eid) = booked(&bed);
    bed.emu.post("/__emu/ui/delete", json!({"email": DOC, "event_id": eid}));
    let r = sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    let kinds: Vec<_> = r.doctors[0].changes.iter().map(|c| c.kind.as_str()).collect();
    let st = events::state(&bed.ctx, id as i64).unwrap();
    assert_eq!(kinds, ["deleted_flagged"]);
    assert_eq!(st.event.unwrap().state.as_str(), "deleted");
    assert_eq!(appointment_start(&bed, id).2, 1, "the appointment is kept");
    let flag: Option<String> = bed.sql().exec_first("SELECT flag FROM wp_kc_meet_events WHERE appointment_id = ?", (id,)).unwrap();
    assert_eq!(flag.as_deref(), Some("deleted_in_google"));
    assert_eq!(audit_outcomes(&bed, id), vec!["deleted_flagged"]);
    // Reconcile does not undo the doctor's deletion behind the admin's back.
    let rec = kc_meet::reconcile::reconcile(&bed.ctx, &json!({})).unwrap();
    assert!(rec.missing.is_empty());
}

#[test]
fn a_deletion_in_google_cancels_the_appointment_when_set_to_cancel() {
    let (bed, _rx) = bed_with(|v| v["on_google_delete"] = json!("cancel"));
    quiet(&bed);
    let (id, eid) = booked(&bed);
    bed.emu.post("/__emu/ui/delete", json!({"email": DOC, "event_id": eid}));
    sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    assert_eq!(appointment_start(&bed, id).2, 0);
    assert_eq!(audit_outcomes(&bed, id), vec!["cancelled"]);
}

#[test]
fn a_deletion_in_google_is_recreated_when_set_to_recreate() {
    let (bed, _rx) = bed_with(|v| v["on_google_delete"] = json!("recreate"));
    quiet(&bed);
    let (id, eid) = booked(&bed);
    bed.emu.post("/__emu/ui/delete", json!({"email": DOC, "event_id": eid}));
    sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    let live = bed.live_events(DOC);
    assert_eq!(live.len(), 1);
    assert_ne!(live[0]["id"].as_str().unwrap(), eid);
    assert!(events::mapping(&bed.ctx, id as i64).unwrap().unwrap().url.starts_with("https://meet.google.com/"));
}

#[test]
fn a_move_is_reverted_when_set_to_revert() {
    let (bed, _rx) = bed_with(|v| v["on_google_move"] = json!("revert"));
    quiet(&bed);
    let (id, eid) = booked(&bed);
    bed.emu.post("/__emu/ui/move", json!({"email": DOC, "event_id": eid,
        "start": {"dateTime": format!("{}T18:00:00Z", day(20))}, "end": {"dateTime": format!("{}T18:30:00Z", day(20))}}));
    sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    assert_eq!(appointment_start(&bed, id), (day(20), "10:00:00".into(), 1), "KiviCare's time stays");
    let ev = &bed.live_events(DOC)[0];
    assert!(ev["start"]["dateTime"].as_str().unwrap().starts_with(&format!("{}T10:00:00+0", day(20))), "and is put back on Google");
}

/// Push off: these tests run the sync themselves, and a push-triggered one would hold the
/// doctor's sync lock at the same moment (it is tested on its own above).
fn quiet(bed: &Bed) {
    bed.emu.config(json!({"push_enabled": false}));
}

#[test]
fn our_own_writes_never_come_back_and_other_events_are_ignored() {
    let (bed, _rx) = bed_with(|_| {});
    quiet(&bed);
    let (id, _) = booked(&bed);
    bed.sql().exec_drop("UPDATE wp_kc_appointments SET appointment_start_time = '11:00:00', appointment_end_time = '11:30:00' WHERE id = ?", (id,)).unwrap();
    events::update(&bed.ctx, id as i64, &Value::Null).unwrap();
    let (os, oe) = (at(22, "09:00"), at(22, "09:30"));
    let other = bed.book(Booking { start: &os, end: &oe, ..Booking::default() });
    events::create(&bed.ctx, other as i64, &Value::Null).unwrap();
    events::delete(&bed.ctx, other as i64).unwrap();
    bed.emu.post("/__emu/ui/create", json!({"email": DOC, "event": {"summary": "Dentist", "start": {"dateTime": format!("{}T08:00:00Z", day(20))}, "end": {"dateTime": format!("{}T09:00:00Z", day(20))}}}));
    let r = sync::sync(&bed.ctx, &json!({"doctor_id": 2, "full": true})).unwrap();
    let r2 = sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    assert_eq!(r.doctors[0].changes_applied + r2.doctors[0].changes_applied, 0);
    assert!(r.doctors[0].events_seen >= 2);
    let dump = bed.dump();
    assert!(!dump.contains("Dentist"), "other events are never stored");
    assert_eq!(appointment_start(&bed, id).1, "11:00:00");
}

#[test]
fn paging_across_pages_stores_the_sync_token_from_the_last_page_only() {
    let (bed, _rx) = bed_with(|_| {});
    quiet(&bed);
    bed.emu.config(json!({"max_results_cap": 2}));
    book_days(&bed, 5);
    let r = sync::sync(&bed.ctx, &json!({"doctor_id": 2, "full": true})).unwrap();
    assert_eq!(r.doctors[0].pages, 3);
    assert_eq!(r.doctors[0].events_seen, 5);
    let (token, page): (Option<String>, Option<String>) =
        bed.sql().query_first("SELECT sync_token, sync_page_token FROM wp_kc_meet_doctors WHERE doctor_id = 2").unwrap().unwrap();
    assert!(token.is_some() && page.is_none());
    // The next (incremental) round carries the token, URL-encoded, and Google accepts it.
    let r = sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    assert_eq!((r.doctors[0].pages, r.doctors[0].error.clone()), (1, None));
}

#[test]
fn a_stale_sync_token_means_a_full_sync_without_losing_anything() {
    let (bed, _rx) = bed_with(|_| {});
    quiet(&bed);
    let (id, _) = booked(&bed);
    sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    bed.emu.post("/__emu/invalidate_sync_tokens", json!({"email": DOC}));
    let r = sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    assert_eq!(r.doctors[0].error, None);
    assert!(r.doctors[0].full);
    assert!(events::mapping(&bed.ctx, id as i64).unwrap().is_some());
    let audit: Vec<String> = bed.sql().query("SELECT outcome FROM wp_kc_meet_audit WHERE action = 'sync'").unwrap();
    assert_eq!(audit, vec!["full_resync"]);
}

#[test]
fn a_sync_stopped_by_its_budget_resumes_where_it_stopped() {
    let (bed, _rx) = bed_with(|_| {});
    quiet(&bed);
    book_days(&bed, 6);
    bed.emu.config(json!({"max_results_cap": 2, "latency_s": 0.3}));
    let first = sync::sync(&bed.ctx, &json!({"doctor_id": 2, "full": true, "budget_s": 0.5})).unwrap();
    assert!(first.remaining);
    let seen_first = first.doctors[0].events_seen;
    assert!(seen_first < 6);
    let mut total = seen_first;
    for _ in 0..5 {
        let r = sync::sync(&bed.ctx, &json!({"doctor_id": 2, "budget_s": 0.5})).unwrap();
        total += r.doctors[0].events_seen;
        if !r.remaining {
            break;
        }
    }
    assert_eq!(total, 6, "each event read once across the resumed runs");
}

fn post_headers(bed: &Bed, headers: Value) -> Value {
    serde_json::to_value(channels::handle_notification(&bed.ctx, &headers).unwrap()).unwrap()
}

#[test]
fn forged_notifications_do_nothing_and_cost_no_google_call() {
    let (bed, rx) = bed_with(|_| {});
    rx.wait_for("the sync message", |s| !s.is_empty());
    let ch = channels::channels(&bed.ctx, Some(2)).unwrap().remove(0);
    bed.emu.delete("/__emu/requests");
    let base = json!({"X-Goog-Channel-ID": ch.channel_id, "X-Goog-Resource-ID": ch.resource_id, "X-Goog-Resource-State": "exists", "X-Goog-Message-Number": "50", "X-Goog-Channel-Token": "wrong"});
    assert_eq!(post_headers(&bed, json!({"X-Goog-Resource-State": "exists"}))["status"], 400);
    let mut unknown = base.clone();
    unknown["X-Goog-Channel-ID"] = json!("kcm-nope");
    assert_eq!(post_headers(&bed, unknown)["status"], 404);
    assert_eq!(post_headers(&bed, base.clone())["status"], 403);
    let mut wrong_resource = base.clone();
    wrong_resource["X-Goog-Resource-ID"] = json!("other");
    assert_eq!(post_headers(&bed, wrong_resource)["status"], 403);
    assert!(bed.emu.requests().is_empty(), "no Google call for a forged message");
    let token_hash: String = bed.sql().exec_first("SELECT token_hash FROM wp_kc_meet_channels WHERE channel_id = ?", (&ch.channel_id,)).unwrap().unwrap();
    assert_eq!(token_hash.len(), 64, "only a hash of the channel token is stored");
}

#[test]
fn channels_are_renewed_before_they_expire() {
    let (bed, _rx) = bed_with(|_| {});
    let old = channels::channels(&bed.ctx, Some(2)).unwrap().remove(0);
    let soon = chrono::Utc::now().timestamp_millis() + 3600 * 1000;
    bed.sql().exec_drop("UPDATE wp_kc_meet_channels SET expires_at = ? WHERE channel_id = ?", (soon, &old.channel_id)).unwrap();
    let r = channels::renew_channels(&bed.ctx).unwrap();
    assert_eq!((r.renewed, r.stopped), (1, 1));
    let now = channels::channels(&bed.ctx, Some(2)).unwrap();
    assert_eq!(now.len(), 1);
    assert_ne!(now[0].channel_id, old.channel_id);
    let stops = bed.emu.requests().iter().filter(|r| r["path"] == "/calendar/v3/channels/stop").count();
    assert_eq!(stops, 1);
    // A fresh channel is left alone.
    assert_eq!(channels::renew_channels(&bed.ctx).unwrap().renewed, 0);
}

#[test]
fn disconnect_stops_the_channel_and_later_notifications_are_rejected() {
    let (bed, rx) = bed_with(|_| {});
    // Google's own first message: the genuine channel token, as an attacker who captured it has.
    let genuine = rx.wait_for("the sync message", |s| !s.is_empty())[0]["headers"].clone();
    let token = genuine["X-Goog-Channel-Token"].as_str().expect("Google sends the channel token").to_string();
    let ch = channels::channels(&bed.ctx, Some(2)).unwrap().remove(0);
    let token_ok = json!({"X-Goog-Channel-ID": ch.channel_id, "X-Goog-Channel-Token": token, "X-Goog-Resource-ID": ch.resource_id,
                          "X-Goog-Resource-State": "exists", "X-Goog-Message-Number": "99"});
    // While connected, that message is accepted...
    assert_eq!(post_headers(&bed, token_ok.clone())["status"], 200);
    kc_meet::connection::disconnect(&bed.ctx, 2).unwrap();
    assert!(bed.emu.requests().iter().any(|r| r["path"] == "/calendar/v3/channels/stop"));
    // ...after the disconnect the same genuine message (newer number) is refused.
    let mut later = token_ok;
    later["X-Goog-Message-Number"] = json!("100");
    let r = post_headers(&bed, later);
    assert_eq!((r["status"].as_u64(), r["reason"].as_str()), (Some(404), Some("channel_closed")));
}

#[test]
fn two_syncs_of_one_doctor_at_once_do_not_both_run() {
    let (bed, _rx) = bed_with(|_| {});
    quiet(&bed);
    booked(&bed);
    bed.emu.config(json!({"latency_s": 0.5}));
    let (a, b) = (bed.other_process(), bed.other_process());
    let t1 = std::thread::spawn(move || sync::sync(&a, &json!({"doctor_id": 2})).unwrap());
    let t2 = std::thread::spawn(move || sync::sync(&b, &json!({"doctor_id": 2})).unwrap());
    let (r1, r2) = (t1.join().unwrap(), t2.join().unwrap());
    let skipped = [&r1, &r2].iter().filter(|r| r.doctors[0].skipped).count();
    assert_eq!(skipped, 1);
}

#[test]
fn many_doctors_sync_concurrently_with_one_list_call_each() {
    // 60 connected doctors with 100 ms of Google latency: one round makes one events.list
    // call per doctor, concurrently (one by one it would take 6 s). ./build.sh bench runs 1,000.
    let bed = Bed::with(|v| v["request_budget_s"] = json!(1.5), None);
    let n = 60u64;
    common::connect_many(&bed, 100, n);
    sync::sync(&bed.ctx, &json!({})).unwrap(); // the first, full listing
    bed.emu.config(json!({"latency_s": 0.1}));
    bed.emu.delete("/__emu/requests");
    let t = Instant::now();
    let r = sync::sync(&bed.ctx, &json!({})).unwrap();
    let elapsed = t.elapsed();
    assert_eq!(r.doctors.len(), n as usize);
    assert_eq!(r.google_calls, n as u32);
    let lists = bed.emu.requests().iter().filter(|r| r["method"] == "GET" && r["path"].as_str().unwrap().ends_with("/events")).count();
    assert_eq!(lists, n as usize, "one events.list per doctor");
    assert!(elapsed < Duration::from_secs_f64(0.1 * n as f64 / 3.0), "concurrent: {elapsed:?}");
}

#[test]
fn a_replayed_genuine_message_is_ignored() {
    let (bed, rx) = bed_with(|_| {});
    let (_, eid) = booked(&bed);
    let first = rx.wait_for("the sync message", |s| !s.is_empty())[0]["headers"].clone();
    bed.emu.post("/__emu/ui/move", json!({"email": DOC, "event_id": eid,
        "start": {"dateTime": format!("{}T15:00:00Z", day(20))}, "end": {"dateTime": format!("{}T15:30:00Z", day(20))}}));
    rx.wait_for("the change", |s| s.iter().any(|r| r["action"] == "synced"));
    // Every message Google queued (the booking's, the move's) has been handled: none is in flight.
    settle(&bed, &rx);
    bed.emu.delete("/__emu/requests");
    // Someone who captured Google's first message sends it again, token and all.
    let replay = post_headers(&bed, first);
    assert_eq!((replay["status"].as_u64(), replay["action"].as_str()), (Some(200), Some("ignored_replay")));
    assert!(bed.emu.requests().is_empty(), "a replay costs no Google call");
}

#[test]
fn a_kivicare_change_queued_at_the_same_time_wins_over_google() {
    let (bed, _rx) = bed_with(|_| {});
    quiet(&bed);
    let (id, eid) = booked(&bed);
    sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    // KiviCare moves the appointment while Google is down: the write is queued...
    bed.emu.fault(json!({"method": "PATCH", "path": "/calendar/v3", "action": "status", "status": 503, "times": 0}));
    bed.sql().exec_drop("UPDATE wp_kc_appointments SET appointment_start_time = '12:00:00', appointment_end_time = '12:30:00' WHERE id = ?", (id,)).unwrap();
    assert_eq!(events::update(&bed.ctx, id as i64, &Value::Null).unwrap().state.as_str(), "queued");
    // ...and meanwhile the doctor moves the event in Google Calendar.
    bed.emu.post("/__emu/ui/move", json!({"email": DOC, "event_id": eid,
        "start": {"dateTime": format!("{}T06:00:00Z", day(20))}, "end": {"dateTime": format!("{}T06:30:00Z", day(20))}}));
    let r = sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    assert_eq!(r.doctors[0].changes_applied, 0);
    assert_eq!(appointment_start(&bed, id).1, "12:00:00", "KiviCare's change stands");
    let outcomes: Vec<String> = bed.sql().exec("SELECT outcome FROM wp_kc_meet_audit WHERE appointment_id = ? AND action = 'google_change'", (id,)).unwrap();
    assert_eq!(outcomes, vec!["kivicare_wins"]);
    // When Google is back, the queued write puts KiviCare's time on Google.
    bed.emu.delete("/__emu/faults");
    bed.sql().query_drop("UPDATE wp_kc_meet_jobs SET next_run_at = UTC_TIMESTAMP()").unwrap();
    kc_meet::jobs::run(&bed.ctx, 10, 10.0).unwrap();
    let ev = &bed.live_events(DOC)[0];
    assert!(ev["start"]["dateTime"].as_str().unwrap().starts_with(&format!("{}T12:00:00+0", day(20))), "{}", ev["start"]);
}

/// The doctor's calendar as the emulator reports its channels.
fn emu_channels(bed: &Bed) -> Vec<Value> {
    bed.emu.get("/__emu/channels")["channels"].as_array().cloned().unwrap_or_default()
}

#[test]
fn disconnect_with_a_token_google_dropped_stops_the_channel_without_waiting_for_its_own_lock() {
    let (bed, rx) = bed_with(|_| {});
    rx.wait_for("the sync message", |s| !s.is_empty());
    // Stopping the channel gets a 401 and refreshes: disconnect already holds the doctor's lock.
    bed.emu.post("/__emu/expire_access_tokens", json!({"email": DOC}));
    let t = Instant::now();
    let d = connection::disconnect(&bed.ctx, 2).unwrap();
    assert!(t.elapsed() < Duration::from_secs(5), "disconnect took {:?}", t.elapsed());
    assert!(d.revoked);
    assert!(emu_channels(&bed).iter().all(|c| c["stopped"] == true), "the channel is stopped at Google: {:?}", emu_channels(&bed));
    let stops = bed.emu.requests().iter().filter(|r| r["path"] == "/calendar/v3/channels/stop" && r["status"] == 204).count();
    assert_eq!(stops, 1);
}

/// Moves the event in Google Calendar to `hh:mm` UTC on day 20.
fn ui_move(bed: &Bed, eid: &str, hm: &str) {
    let end = format!("{}:30", &hm[..2]);
    bed.emu.post("/__emu/ui/move", json!({"email": DOC, "event_id": eid,
        "start": {"dateTime": format!("{}T{hm}:00Z", day(20))}, "end": {"dateTime": format!("{}T{end}:00Z", day(20))}}));
}

#[test]
fn a_change_that_fails_to_apply_is_reread_and_applied_at_the_next_sync() {
    let (bed, _rx) = bed_with(|_| {});
    quiet(&bed);
    let (id, eid) = booked(&bed);
    sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    ui_move(&bed, &eid, "07:00");
    // KiviCare's table is unavailable while the change comes in: applying it fails.
    bed.sql().query_drop("RENAME TABLE wp_kc_appointments TO wp_kc_appointments_away").unwrap();
    let r = sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    bed.sql().query_drop("RENAME TABLE wp_kc_appointments_away TO wp_kc_appointments").unwrap();
    assert_eq!((r.doctors[0].changes_applied, r.doctors[0].retry_pending), (0, 1));
    assert_eq!(appointment_start(&bed, id).1, "10:00:00");
    // The position moved past the change; the next sync re-reads that event and applies it.
    let r = sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    assert_eq!((r.doctors[0].changes_applied, r.doctors[0].retry_pending), (1, 0));
    let t = appointment_start(&bed, id).1;
    assert!(t == "08:00:00" || t == "09:00:00", "moved to 07:00 UTC in Europe/Paris: {t}");
    let outcomes: Vec<String> = bed.sql().query("SELECT outcome FROM wp_kc_meet_audit WHERE action = 'sync.apply' ORDER BY id").unwrap();
    assert_eq!(outcomes, vec!["failed", "reapplied"]);
    assert_eq!(sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap().doctors[0].changes_applied, 0, "applied once");
}

#[test]
fn a_full_listing_begun_on_an_earlier_day_resumes_with_its_own_window() {
    let (bed, _rx) = bed_with(|_| {});
    quiet(&bed);
    book_days(&bed, 3);
    bed.emu.config(json!({"max_results_cap": 1}));
    // Yesterday a full listing read its first page and stopped (budget).
    let yesterday = |d: i64| (chrono::Utc::now() + chrono::Duration::days(d - 1)).format("%Y-%m-%dT00:00:00Z").to_string();
    let window = (yesterday(-30), yesterday(365));
    let token = grant::access_token(&bed.ctx, 2).unwrap();
    let first: Value = reqwest::blocking::Client::new()
        .get(format!("{}/calendar/v3/calendars/primary/events", bed.emu.base))
        .query(&[("maxResults", "2500"), ("timeMin", &window.0), ("timeMax", &window.1), ("showDeleted", "true")])
        .bearer_auth(token.expose())
        .send()
        .unwrap()
        .json()
        .unwrap();
    let page = first["nextPageToken"].as_str().expect("a second page").to_string();
    bed.ctx.store.save_sync_position(2, &SyncPosition { sync_token: None, page_token: Some(page), window: Some(window) }, 0).unwrap();
    let r = sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    assert_eq!(r.doctors[0].error, None);
    assert_eq!((r.doctors[0].pages, r.doctors[0].events_seen), (2, 2), "the two remaining pages");
    let (token, page): (Option<String>, Option<String>) =
        bed.sql().query_first("SELECT sync_token, sync_page_token FROM wp_kc_meet_doctors WHERE doctor_id = 2").unwrap().unwrap();
    assert!(token.is_some() && page.is_none());
}

#[test]
fn an_incremental_listing_of_many_pages_applies_every_change() {
    let (bed, _rx) = bed_with(|_| {});
    quiet(&bed);
    let ids = book_days(&bed, 5);
    sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    bed.emu.config(json!({"max_results_cap": 2}));
    for (d, (_, eid)) in ids.iter().enumerate() {
        bed.emu.post("/__emu/ui/move", json!({"email": DOC, "event_id": eid,
            "start": {"dateTime": format!("{}T06:00:00Z", day(d as i64 + 1))}, "end": {"dateTime": format!("{}T06:30:00Z", day(d as i64 + 1))}}));
    }
    let r = sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    assert_eq!(r.doctors[0].error, None);
    assert!(!r.doctors[0].full);
    assert_eq!((r.doctors[0].pages, r.doctors[0].changes_applied), (3, 5));
    for (id, _) in ids {
        let t = appointment_start(&bed, id).1;
        assert!(t == "07:00:00" || t == "08:00:00", "{id}: {t}");
    }
}

/// Waits until Google has delivered every message queued so far (each one handled by the
/// receiver before it answered); returns how many the receiver has seen.
fn settle(bed: &Bed, rx: &Receiver) -> usize {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let ds = bed.emu.get("/__emu/deliveries")["deliveries"].as_array().cloned().unwrap_or_default();
        if !ds.is_empty() && ds.iter().all(|d| d["done"] == true) {
            return rx.seen.lock().unwrap().len();
        }
        assert!(Instant::now() < until, "deliveries never settled: {ds:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What the receiver handled after the first `mark` messages.
fn since(rx: &Receiver, mark: usize, n: usize) -> Vec<Value> {
    rx.wait_for("the messages", |s| s.len() >= mark + n)[mark..].to_vec()
}

fn moved_count(bed: &Bed, id: u64) -> usize {
    audit_outcomes(bed, id).iter().filter(|o| *o == "moved").count()
}

#[test]
fn a_push_message_delivered_twice_is_handled_once() {
    let (bed, rx) = bed_with(|_| {});
    let (id, eid) = booked(&bed);
    let mark = settle(&bed, &rx);
    bed.emu.post("/__emu/push_faults", json!({"action": "duplicate", "state": "exists"}));
    ui_move(&bed, &eid, "15:00");
    let seen = since(&rx, mark, 2);
    let actions: Vec<&str> = seen.iter().filter_map(|r| r["action"].as_str()).collect();
    assert_eq!(actions, ["synced", "ignored_replay"]);
    assert_eq!(seen[0]["headers"]["X-Goog-Message-Number"], seen[1]["headers"]["X-Goog-Message-Number"]);
    assert_eq!(moved_count(&bed, id), 1);
}

#[test]
fn push_messages_out_of_order_still_leave_the_latest_time() {
    let (bed, rx) = bed_with(|_| {});
    let (id, eid) = booked(&bed);
    let mark = settle(&bed, &rx);
    // Google delivers the message of the first move after the one of the second.
    bed.emu.post("/__emu/push_faults", json!({"action": "hold", "state": "exists"}));
    ui_move(&bed, &eid, "13:00");
    ui_move(&bed, &eid, "14:00");
    let seen = since(&rx, mark, 2);
    let numbers: Vec<i64> = seen.iter().filter_map(|r| r["headers"]["X-Goog-Message-Number"].as_str()?.parse().ok()).collect();
    assert_eq!(numbers[0], numbers[1] + 1, "the newer message first: {numbers:?}");
    assert_eq!((seen[1]["action"].as_str(), seen[1]["status"].as_u64()), (Some("ignored_replay"), Some(200)));
    let t = appointment_start(&bed, id).1;
    assert!(t == "15:00:00" || t == "16:00:00", "the later move (14:00 UTC) wins: {t}");
    let r = sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    assert_eq!(r.doctors[0].changes_applied, 0, "nothing left behind");
}

#[test]
fn a_push_message_our_site_failed_is_retried_by_google_and_applied() {
    let (bed, rx) = bed_with(|_| {});
    let (id, eid) = booked(&bed);
    let mark = settle(&bed, &rx);
    bed.emu.config(json!({"push_retry_delays_s": [0.1, 0.2]}));
    rx.fail_next.store(1, Ordering::SeqCst);
    ui_move(&bed, &eid, "12:00");
    assert_eq!(since(&rx, mark, 1)[0]["action"], "synced");
    assert_eq!(moved_count(&bed, id), 1);
    let d = bed.emu.get("/__emu/deliveries")["deliveries"].as_array().unwrap().last().cloned().unwrap();
    assert_eq!((d["attempts"].as_u64(), d["status"].as_u64()), (Some(2), Some(200)));
}

#[test]
fn a_dropped_push_message_is_caught_by_the_periodic_sync() {
    let (bed, rx) = bed_with(|_| {});
    let (id, eid) = booked(&bed);
    let mark = settle(&bed, &rx);
    bed.emu.post("/__emu/push_faults", json!({"action": "drop"}));
    ui_move(&bed, &eid, "11:00");
    settle(&bed, &rx);
    assert_eq!(rx.seen.lock().unwrap().len(), mark, "no message came");
    assert_eq!(moved_count(&bed, id), 0);
    sync::sync(&bed.ctx, &json!({})).unwrap();
    assert_eq!(moved_count(&bed, id), 1);
}

#[test]
fn not_exists_closes_the_channel_and_renewal_opens_a_new_one() {
    let (bed, rx) = bed_with(|_| {});
    rx.wait_for("the sync message", |s| !s.is_empty());
    let ch = channels::channels(&bed.ctx, Some(2)).unwrap().remove(0);
    bed.emu.post("/__emu/push_message", json!({"channel_id": ch.channel_id, "state": "not_exists"}));
    let seen = rx.wait_for("not_exists", |s| s.iter().any(|r| r["headers"]["X-Goog-Resource-State"] == "not_exists"));
    assert_eq!(seen.last().unwrap()["action"], "closed");
    assert!(channels::channels(&bed.ctx, Some(2)).unwrap().is_empty(), "the channel is closed here too");
    let r = channels::renew_channels(&bed.ctx).unwrap();
    assert_eq!(r.created, 1);
    assert_eq!(channels::channels(&bed.ctx, Some(2)).unwrap().len(), 1);
}

#[test]
fn an_expired_channel_rejects_messages_and_is_replaced_on_renewal() {
    let (bed, rx) = bed_with(|_| {});
    let genuine = rx.wait_for("the sync message", |s| !s.is_empty())[0]["headers"].clone();
    let old = channels::channels(&bed.ctx, Some(2)).unwrap().remove(0);
    let past = chrono::Utc::now().timestamp_millis() - 1000;
    bed.sql().exec_drop("UPDATE wp_kc_meet_channels SET expires_at = ? WHERE channel_id = ?", (past, &old.channel_id)).unwrap();
    let mut late = genuine;
    late["X-Goog-Resource-State"] = json!("exists");
    late["X-Goog-Message-Number"] = json!("7");
    let r = post_headers(&bed, late);
    assert_eq!((r["status"].as_u64(), r["reason"].as_str()), (Some(404), Some("channel_closed")));
    let rep = channels::renew_channels(&bed.ctx).unwrap();
    assert_eq!((rep.renewed, rep.failures.len()), (1, 0));
    let now = channels::channels(&bed.ctx, Some(2)).unwrap();
    assert_eq!(now.len(), 1);
    assert_ne!(now[0].channel_id, old.channel_id);
}

#[test]
fn a_failing_list_keeps_the_position_and_the_next_sync_catches_up() {
    let (bed, _rx) = bed_with(|_| {});
    quiet(&bed);
    let (id, eid) = booked(&bed);
    sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    let before = bed.ctx.store.sync_position(2).unwrap();
    ui_move(&bed, &eid, "06:00");
    for fault in [
        json!({"method": "GET", "path": "/calendar/v3", "status": 503}),
        json!({"method": "GET", "path": "/calendar/v3", "status": 403, "reason": "userRateLimitExceeded"}),
        json!({"method": "GET", "path": "/calendar/v3", "action": "reset"}),
    ] {
        bed.emu.fault(fault.clone());
        let r = sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
        assert!(r.doctors[0].error.is_some(), "{fault}");
        assert_eq!(bed.ctx.store.sync_position(2).unwrap(), before, "{fault}");
        assert_eq!(moved_count(&bed, id), 0);
    }
    let r = sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    assert_eq!((r.doctors[0].error.clone(), r.doctors[0].changes_applied), (None, 1));
}

#[test]
fn a_failing_watch_or_stop_is_reported_and_renewal_recovers() {
    let (bed, _rx) = bed_with(|_| {});
    let old = channels::channels(&bed.ctx, Some(2)).unwrap().remove(0);
    let soon = chrono::Utc::now().timestamp_millis() + 3600 * 1000;
    bed.sql().exec_drop("UPDATE wp_kc_meet_channels SET expires_at = ? WHERE channel_id = ?", (soon, &old.channel_id)).unwrap();
    bed.emu.fault(json!({"method": "POST", "path": "/calendar/v3/calendars", "status": 503}));
    let r = channels::renew_channels(&bed.ctx).unwrap();
    assert_eq!((r.renewed, r.failures.len()), (0, 1));
    assert_eq!(channels::channels(&bed.ctx, Some(2)).unwrap()[0].channel_id, old.channel_id, "the old channel still serves");
    // Watch works again, stop fails: the new channel is in place, the old one is closed here.
    bed.emu.fault(json!({"path": "/calendar/v3/channels/stop", "status": 500}));
    let r = channels::renew_channels(&bed.ctx).unwrap();
    assert_eq!(r.renewed, 1);
    let now = channels::channels(&bed.ctx, Some(2)).unwrap();
    assert_eq!(now.len(), 1);
    assert_ne!(now[0].channel_id, old.channel_id);
}

#[test]
fn an_event_of_ours_that_is_not_the_appointments_event_is_removed_by_the_sync() {
    let (bed, _rx) = bed_with(|_| {});
    quiet(&bed);
    let (id, eid) = booked(&bed);
    sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    // An insert Google finished after the call had given up on it (the request was cut by the
    // budget, its id deleted as a 404, the appointment moved on to the next generation): an
    // event of ours with another generation's id and our private properties.
    let stray = eid.trim_end_matches('0').to_string() + "5";
    assert_ne!(stray, eid);
    let site = bed.live_events(DOC)[0]["extendedProperties"]["private"]["kc_meet_site"].clone();
    bed.emu.post("/__emu/ui/create", json!({"email": DOC, "event": {
        "id": stray, "summary": "Video consultation",
        "start": {"dateTime": format!("{}T10:00:00Z", day(20))}, "end": {"dateTime": format!("{}T10:30:00Z", day(20))},
        "attendees": [{"email": "patient@example.org"}],
        "extendedProperties": {"private": {"kc_meet_site": site, "kc_meet_appointment": id.to_string()}}}}));
    assert_eq!(bed.live_events(DOC).len(), 2);
    sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    let live = bed.live_events(DOC);
    assert_eq!(live.len(), 1, "the stray event is deleted at Google");
    assert_eq!(live[0]["id"].as_str(), Some(eid.as_str()), "the appointment's own event stays");
    assert_eq!(events::mapping(&bed.ctx, id as i64).unwrap().unwrap().event_id, eid);
}

#[test]
fn an_insert_that_lands_after_its_ids_delete_answered_404_is_removed_by_the_sync() {
    let (bed, _rx) = bed_with(|_| {});
    quiet(&bed);
    let (id, eid) = booked(&bed);
    // Cancelled: the event is deleted and the row keeps its id in state `deleted`.
    bed.sql().exec_drop("UPDATE wp_kc_appointments SET status = 0 WHERE id = ?", (id,)).unwrap();
    assert_eq!(events::update(&bed.ctx, id as i64, &Value::Null).unwrap().state.as_str(), "deleted");
    sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    // An earlier insert of that same id that Google carried out only now (its delete had
    // answered 404): the same id, alive again, with our private properties.
    let site = events::site_key(&bed.ctx);
    bed.emu.post("/__emu/ui/create", json!({"email": DOC, "event": {
        "id": format!("{eid}1"), "summary": "placeholder",
        "start": {"dateTime": format!("{}T10:00:00Z", day(20))}, "end": {"dateTime": format!("{}T10:30:00Z", day(20))},
        "extendedProperties": {"private": {"kc_meet_site": site, "kc_meet_appointment": id.to_string()}}}}));
    bed.sql().exec_drop("UPDATE wp_kc_meet_events SET event_id = ? WHERE appointment_id = ?", (format!("{eid}1"), id)).unwrap();
    assert_eq!(bed.live_events(DOC).len(), 1);
    sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    assert!(bed.live_events(DOC).is_empty(), "a cancelled appointment keeps no event at Google");
}

/// The connections to the test's database the server lists (the watcher's own left out), every
/// 5 ms until `stop`: the most at once and how many different ones.
fn watch_connections(bed: &Bed, stop: &std::sync::atomic::AtomicBool) -> (usize, usize) {
    let mut c = bed.sql();
    let (mut most, mut seen) = (0, std::collections::BTreeSet::new());
    while !stop.load(Ordering::Acquire) {
        let ids: Vec<u64> =
            c.exec("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()", (bed.db.as_str(),)).unwrap();
        most = most.max(ids.len());
        seen.extend(ids);
        std::thread::sleep(Duration::from_millis(5));
    }
    (most, seen.len())
}

#[test]
fn a_round_over_many_doctors_stays_within_the_pool_whatever_the_concurrency() {
    // 60 doctors, more than the round's workers: each one's token is due (a refresh under the
    // doctor's lock) and each one's event was moved in Google with `revert` (the event put back
    // under the appointment's lock): Google requests made while holding a lock, 50 ms each.
    let bed = Bed::with(|v| v["on_google_move"] = json!("revert"), None);
    quiet(&bed);
    bed.kivicare();
    bed.emu.config(json!({"access_token_ttl": 10}));
    let doctors: Vec<u64> = (100..160).collect();
    common::connect_many(&bed, 100, doctors.len() as u64);
    let mut c = bed.sql();
    for d in &doctors {
        c.exec_drop("INSERT INTO wp_kc_service_doctor_mapping (service_id, clinic_id, doctor_id, telemed_service, created_at) VALUES (1, 1, ?, 'yes', NOW())", (d,))
            .unwrap();
    }
    drop(c);
    let (s, e) = (at(20, "10:00"), at(20, "10:30"));
    let events: Vec<(u64, String)> = doctors
        .iter()
        .map(|&d| {
            let id = bed.book(Booking { doctor: d, start: &s, end: &e, ..Booking::default() });
            (d, events::create(&bed.ctx, id as i64, &Value::Null).unwrap().event_id.unwrap())
        })
        .collect();
    let first = sync::sync(&bed.ctx, &json!({})).unwrap();
    assert!(first.doctors.iter().all(|d| d.error.is_none() && !d.skipped), "{:?}", first.doctors);
    for (d, eid) in &events {
        bed.emu.post("/__emu/ui/move", json!({"email": format!("doc{d}@gmail.example"), "event_id": eid,
            "start": {"dateTime": format!("{}T18:00:00Z", day(20))}, "end": {"dateTime": format!("{}T18:30:00Z", day(20))}}));
    }
    bed.emu.config(json!({"latency_s": 0.05}));
    bed.emu.delete("/__emu/requests");

    let stop = std::sync::atomic::AtomicBool::new(false);
    let (r, (most, distinct)) = std::thread::scope(|s| {
        let watch = s.spawn(|| watch_connections(&bed, &stop));
        let r = sync::sync(&bed.ctx, &json!({})).unwrap();
        stop.store(true, Ordering::Release);
        (r, watch.join().unwrap())
    });

    assert_eq!(r.doctors.len(), doctors.len());
    assert!(r.doctors.iter().all(|d| d.error.is_none() && !d.skipped), "{:?}", r.doctors);
    assert_eq!(r.doctors.iter().map(|d| d.changes_applied).sum::<u32>(), doctors.len() as u32, "every move reverted");
    assert!(bed.emu.refreshes() >= doctors.len(), "every token refreshed");
    let patched = bed.emu.requests().iter().filter(|q| q["method"] == "PATCH").count();
    assert_eq!(patched, doctors.len(), "every event put back");
    // What a process may use, whatever the number of doctors (two overlapping runs and the
    // site's own connections stay far below MariaDB's default max_connections of 151).
    const ALLOWED: usize = 8;
    assert!(most <= ALLOWED, "{most} connections at once, {ALLOWED} allowed");
    assert!(distinct <= ALLOWED, "{distinct} connections in all, {ALLOWED} allowed");
}

#[test]
fn a_rounds_refreshes_and_another_processs_refresh_each_token_once_and_a_refused_grant_once() {
    // Every token is due; another process asks for some of the same doctors' tokens while the
    // round refreshes them, and Google takes 300 ms per refresh: whoever holds the doctor's lock
    // refreshes, the other reads the stored token. One doctor's grant was revoked.
    let bed = Bed::new();
    quiet(&bed);
    bed.emu.config(json!({"access_token_ttl": 60}));
    let doctors: Vec<u64> = (100..130).collect();
    common::connect_many(&bed, 100, doctors.len() as u64);
    bed.emu.config(json!({"access_token_ttl": 3599}));
    bed.emu.post("/__emu/revoke_grant", json!({"email": "doc100@gmail.example"}));
    bed.emu.fault(json!({"method": "POST", "path": "/token", "action": "delay", "delay_s": 0.3, "times": 0}));
    bed.emu.delete("/__emu/requests");

    let other = bed.other_process();
    let (r, theirs) = std::thread::scope(|s| {
        let theirs: Vec<_> = (101..106u64)
            .map(|d| {
                let other = &other;
                s.spawn(move || {
                    std::thread::sleep(Duration::from_millis(5 * (d - 100)));
                    grant::access_token(other, d).map(|_| ())
                })
            })
            .collect();
        let r = sync::sync(&bed.ctx, &json!({})).unwrap();
        (r, theirs.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>())
    });

    assert!(theirs.iter().all(|t| t.is_ok()), "{theirs:?}");
    let refused: Vec<&sync::DoctorSync> = r.doctors.iter().filter(|d| d.error.is_some() || d.skipped).collect();
    assert_eq!(refused.iter().map(|d| d.doctor_id).collect::<Vec<_>>(), vec![100], "{refused:?}");
    assert!(refused[0].error.as_deref().unwrap_or("").contains("connect"), "{refused:?}");
    assert_eq!(bed.emu.refreshes(), doctors.len(), "one refresh per doctor, the refused one included");
    assert_eq!(grant::status(&bed.ctx, 100).unwrap().status.as_str(), "needs_reconnect");
    let mut c = bed.sql();
    let marked: Option<u64> = c
        .query_first("SELECT COUNT(*) FROM wp_kc_meet_audit WHERE doctor_id = 100 AND action = 'refresh' AND outcome = 'needs_reconnect'")
        .unwrap();
    assert_eq!(marked, Some(1), "needs_reconnect marked once");
    let refreshed: Option<u64> = c.query_first("SELECT COUNT(*) FROM wp_kc_meet_audit WHERE action = 'refresh' AND outcome = 'ok'").unwrap();
    assert_eq!(refreshed, Some(doctors.len() as u64 - 1));
    // The round released every doctor's lock: another process takes each at once.
    for d in &doctors {
        assert!(other.store.try_lock(&format!("doctor:{d}"), Duration::ZERO).unwrap().is_some(), "doctor {d}'s lock is free");
    }
    // The stored tokens serve the next round without a refresh.
    bed.emu.delete("/__emu/requests");
    let again = sync::sync(&bed.ctx, &json!({})).unwrap();
    assert!(again.doctors.iter().filter(|d| d.doctor_id != 100).all(|d| d.error.is_none()), "{:?}", again.doctors);
    assert_eq!(bed.emu.refreshes(), 0);
}

#[test]
fn an_unknown_sync_or_reconcile_option_is_refused_by_name() {
    let bed = Bed::new();
    let e = sync::sync(&bed.ctx, &json!({"doctor_id": 2, "everything": true})).unwrap_err();
    assert_eq!(e.code, kc_meet::error::Code::InvalidArgument);
    assert_eq!(e.message, "kc_meet_sync(): unknown option 'everything' (known: doctor_id, full, budget_s)");
    let e = kc_meet::reconcile::reconcile(&bed.ctx, &json!({"remove_everything": true})).unwrap_err();
    assert_eq!(e.code, kc_meet::error::Code::InvalidArgument);
    assert!(e.message.starts_with("kc_meet_reconcile(): unknown option 'remove_everything' (known: dry_run, "), "{}", e.message);
    let e = sync::sync(&bed.ctx, &json!({"budget_s": "long"})).unwrap_err();
    assert!(e.message.starts_with("kc_meet_sync(): option 'budget_s': "), "{}", e.message);
    // The known keys still work.
    assert!(sync::sync(&bed.ctx, &json!({"doctor_id": 2, "full": true, "budget_s": 1})).is_ok());
}

fn sync_requested(bed: &Bed) -> i64 {
    bed.sql().query_first("SELECT sync_requested FROM wp_kc_meet_doctors WHERE doctor_id = 2").unwrap().unwrap()
}

#[test]
fn a_push_that_arrives_while_its_doctor_syncs_is_not_cleared_by_that_sync() {
    let (bed, _rx) = bed_with(|_| {});
    quiet(&bed);
    booked(&bed);
    sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    // A sync with no push during it serves the request there was.
    bed.ctx.store.request_sync(2).unwrap();
    sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    assert_eq!(sync_requested(&bed), 0, "the request it served is cleared");
    // A push message comes while the doctor's sync waits for Google: its sync is answered
    // "queued" (the doctor's sync lock is taken), after recording the request.
    bed.emu.config(json!({"latency_s": 0.6}));
    let other = bed.other_process();
    let round = std::thread::spawn(move || sync::sync(&other, &json!({"doctor_id": 2})).unwrap());
    std::thread::sleep(Duration::from_millis(250));
    bed.ctx.store.request_sync(2).unwrap();
    assert!(sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap().doctors[0].skipped, "the round holds the doctor's sync");
    let r = round.join().unwrap();
    assert_eq!(r.doctors[0].error, None);
    assert_ne!(sync_requested(&bed), 0, "the push's request outlives the round that began before it");
    assert_eq!(bed.ctx.store.doctors_to_sync(None).unwrap().first(), Some(&2), "and puts the doctor first in the next round");
    bed.emu.config(json!({"latency_s": 0.0}));
    sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    assert_eq!(sync_requested(&bed), 0);
}

#[test]
fn a_doctor_with_a_legacy_token_and_no_row_of_ours_is_synced() {
    let bed = Bed::new();
    bed.kivicare();
    // The vendor add-on's connection: its token and flag in user meta, no row of ours.
    bed.connect(2, DOC);
    bed.sql().query_drop("DELETE FROM wp_kc_meet_doctors WHERE doctor_id = 2").unwrap();
    assert_eq!(grant::status(&bed.ctx, 2).unwrap().status.as_str(), "connected");
    let r = sync::sync(&bed.ctx, &json!({})).unwrap();
    assert_eq!(r.doctors.iter().map(|d| d.doctor_id).collect::<Vec<_>>(), vec![2]);
    assert_eq!(r.doctors[0].error, None);
    assert_eq!(bed.ctx.store.doctors_to_sync(Some(2)).unwrap(), vec![2]);
}

/// The statements the server counted on the context's one connection so far.
fn questions(ctx: &Context) -> u64 {
    let row: (String, u64) = ctx.store.conn().unwrap().query_first("SHOW SESSION STATUS LIKE 'Questions'").unwrap().unwrap();
    row.1
}

#[test]
fn a_page_of_moves_costs_the_statements_of_one_move() {
    let bed = Bed::new();
    bed.kivicare();
    bed.connect(2, DOC);
    let ids = book_days(&bed, 6);
    // A process of its own, syncing on one thread: every statement runs on its one connection.
    let ctx = bed.other_process();
    sync::sync(&ctx, &json!({"doctor_id": 2})).unwrap();
    let statements = |moved: &[(u64, String)]| -> u64 {
        for (_, eid) in moved {
            ui_move(&bed, eid, "07:00");
        }
        let before = questions(&ctx);
        let r = sync::sync(&ctx, &json!({"doctor_id": 2})).unwrap();
        assert_eq!((r.doctors[0].changes_applied as usize, r.doctors[0].error.as_deref()), (moved.len(), None));
        questions(&ctx) - before - 1
    };
    let one = statements(&ids[..1]);
    let five = statements(&ids[1..]);
    assert!(one >= 5, "the sync's statements are counted: {one}");
    assert_eq!(five, one, "a page's changes share their statements");
    for (id, _) in &ids {
        assert_eq!(audit_outcomes(&bed, *id), vec!["moved"], "each move audited once");
        let t = appointment_start(&bed, *id).1;
        assert!(t == "08:00:00" || t == "09:00:00", "{id}: {t}");
    }
}

#[test]
fn two_doctors_on_one_google_account_leave_each_others_events_alone() {
    // One Google account for the clinic: both doctors' calendars are the same one, and each
    // doctor's listing shows the other's events with our properties.
    let (bed, _rx) = bed_with(|_| {});
    quiet(&bed);
    bed.connect(3, DOC);
    let (id2, eid2) = booked(&bed);
    let (s, e) = (at(21, "11:00"), at(21, "11:30"));
    let id3 = bed.book(Booking { doctor: 3, start: &s, end: &e, ..Booking::default() });
    let eid3 = events::create(&bed.ctx, id3 as i64, &Value::Null).unwrap().event_id.unwrap();
    bed.emu.delete("/__emu/requests");
    for doctor in [2, 3, 2, 3] {
        let r = sync::sync(&bed.ctx, &json!({"doctor_id": doctor})).unwrap();
        assert_eq!(r.doctors[0].changes_applied, 0, "doctor {doctor}: {:?}", r.doctors[0].changes);
    }
    assert_eq!(bed.emu.count("DELETE", "/calendar/v3"), 0, "no event deleted");
    let mut live: Vec<String> = bed.live_events(DOC).iter().map(|e| e["id"].as_str().unwrap().to_string()).collect();
    live.sort();
    let mut expected = vec![eid2.clone(), eid3.clone()];
    expected.sort();
    assert_eq!(live, expected);

    // A move of doctor 3's event in Google reaches doctor 3's appointment, whoever syncs first.
    ui_move(&bed, &eid3, "15:00");
    sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    let moved = sync::sync(&bed.ctx, &json!({"doctor_id": 3})).unwrap();
    assert_eq!(moved.doctors[0].changes.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>(), ["moved"]);
    assert_eq!(moved.doctors[0].changes[0].appointment_id, id3);
    assert_eq!(events::mapping(&bed.ctx, id2 as i64).unwrap().unwrap().event_id, eid2);
}

#[test]
fn a_deletion_undone_in_google_gives_the_appointment_its_event_back() {
    let (bed, _rx) = bed_with(|_| {});
    quiet(&bed);
    let (id, eid) = booked(&bed);
    let link = events::mapping(&bed.ctx, id as i64).unwrap().unwrap().url;
    bed.emu.post("/__emu/ui/delete", json!({"email": DOC, "event_id": eid}));
    let r = sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    assert_eq!(r.doctors[0].changes.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>(), ["deleted_flagged"]);
    assert!(events::mapping(&bed.ctx, id as i64).unwrap().is_none());

    // The doctor clicks "Undo" (or restores it from the bin), then moves it.
    bed.emu.post("/__emu/ui/restore", json!({"email": DOC, "event_id": eid}));
    ui_move(&bed, &eid, "15:00");
    bed.emu.delete("/__emu/requests");
    let r = sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    assert_eq!(r.doctors[0].changes.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>(), ["restored", "moved"]);
    assert_eq!(bed.emu.count("DELETE", "/calendar/v3"), 0, "the restored event is not deleted again");
    let live = bed.live_events(DOC);
    assert_eq!(live.iter().map(|e| e["id"].as_str().unwrap()).collect::<Vec<_>>(), [eid.as_str()]);
    let st = events::state(&bed.ctx, id as i64).unwrap().event.unwrap();
    assert_eq!((st.state.as_str(), st.event_id.as_str(), st.meet_url.as_str()), ("active", eid.as_str(), link.as_str()));
    let flag: Option<String> = bed.sql().exec_first("SELECT flag FROM wp_kc_meet_events WHERE appointment_id = ?", (id,)).unwrap();
    assert_eq!(flag.as_deref(), Some(""), "nothing left to review");
    let m = events::mapping(&bed.ctx, id as i64).unwrap().unwrap();
    assert_eq!((m.event_id.as_str(), m.url.as_str()), (eid.as_str(), link.as_str()), "core shows the link again");
    let (d, t, status) = appointment_start(&bed, id);
    assert_eq!((d, status), (day(20), 1));
    assert!(t == "16:00:00" || t == "17:00:00", "the move applies as any move does: {t}");
    assert_eq!(audit_outcomes(&bed, id), vec!["deleted_flagged", "restored", "moved"]);
    // Settled: the next sync sees nothing, and KiviCare's next change patches the same event.
    assert_eq!(sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap().doctors[0].changes_applied, 0);
    bed.sql().exec_drop("UPDATE wp_kc_appointments SET appointment_start_time = '09:00:00', appointment_end_time = '09:30:00', appointment_start_utc = NULL, appointment_end_utc = NULL WHERE id = ?", (id,)).unwrap();
    let o = events::update(&bed.ctx, id as i64, &Value::Null).unwrap();
    assert_eq!((o.state.as_str(), o.event_id.as_deref()), ("updated", Some(eid.as_str())));
}

#[test]
fn an_event_restored_in_google_after_its_appointment_was_cancelled_goes_again() {
    let (bed, _rx) = bed_with(|_| {});
    quiet(&bed);
    let (id, eid) = booked(&bed);
    bed.emu.post("/__emu/ui/delete", json!({"email": DOC, "event_id": eid}));
    sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    // The admin's review: the appointment is cancelled in KiviCare.
    bed.sql().exec_drop("UPDATE wp_kc_appointments SET status = 0 WHERE id = ?", (id,)).unwrap();
    events::delete(&bed.ctx, id as i64).unwrap();
    bed.emu.post("/__emu/ui/restore", json!({"email": DOC, "event_id": eid}));
    sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    assert!(bed.live_events(DOC).is_empty(), "a cancelled appointment keeps no event");
    assert_eq!(appointment_start(&bed, id).2, 0);
    assert!(events::mapping(&bed.ctx, id as i64).unwrap().is_none());
}

#[test]
fn a_doctor_who_disconnects_during_a_long_listing_gets_no_further_request() {
    // Google refused the revocation, so the listing's access token still works there: only our
    // own state can stop the listing's next pages.
    let (bed, _rx) = bed_with(|_| {});
    quiet(&bed);
    let ids = book_days(&bed, 5);
    sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    bed.emu.config(json!({"max_results_cap": 2}));
    for (_, eid) in &ids {
        ui_move(&bed, eid, "06:00");
    }
    bed.emu.fault(json!({"path": "/revoke", "action": "status", "status": 503, "times": 0}));
    bed.emu.fault(json!({"method": "GET", "path": "/calendar/v3/calendars/primary/events", "action": "delay", "delay_s": 0.4, "times": 0}));
    bed.emu.delete("/__emu/requests");
    let ctx = bed.ctx.clone();
    let listing = std::thread::spawn(move || sync::sync(&ctx, &json!({"doctor_id": 2})).unwrap());
    std::thread::sleep(Duration::from_millis(600)); // the second page is on its way
    let d = kc_meet::connection::disconnect(&bed.ctx, 2).unwrap();
    assert!(!d.revoked);
    let r = listing.join().unwrap();
    assert_eq!(bed.emu.count("GET", "/calendar/v3/calendars/primary/events"), 2, "no page asked after the disconnect: {:?}", r.doctors[0]);
    assert!(bed.ctx.store.sync_retries(2).unwrap().is_empty());
    let stopped: Option<String> = bed.sql().query_first("SELECT outcome FROM wp_kc_meet_audit WHERE action = 'sync' AND outcome = 'stopped'").unwrap();
    assert_eq!(stopped.as_deref(), Some("stopped"));
}

#[test]
fn a_push_message_whose_sync_request_failed_is_handled_when_google_retries_it() {
    let (bed, rx) = bed_with(|_| {});
    let (id, eid) = booked(&bed);
    let first = rx.wait_for("the sync message", |s| !s.is_empty())[0]["headers"].clone();
    settle(&bed, &rx);
    // The change Google tells of, kept from the receiver (which would apply it at once).
    quiet(&bed);
    ui_move(&bed, &eid, "13:00");
    // A message about a change, as Google would send it next (a number above every one so
    // far), and a database that fails recording the sync request once.
    let mut message = first;
    message["X-Goog-Resource-State"] = json!("exists");
    message["X-Goog-Message-Number"] = json!("900000");
    bed.sql()
        .query_drop(
            "CREATE TRIGGER kcm_fail_request BEFORE UPDATE ON wp_kc_meet_doctors FOR EACH ROW
             IF NEW.sync_requested <> OLD.sync_requested THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'disk full'; END IF",
        )
        .unwrap();
    assert!(channels::handle_notification(&bed.ctx, &message).is_err(), "our site answers 500");
    bed.sql().query_drop("DROP TRIGGER kcm_fail_request").unwrap();
    // Google retries the message it got a 500 for: the same number.
    let retried = post_headers(&bed, message);
    assert_eq!(retried["action"].as_str(), Some("synced"), "{retried}");
    let (_, t, _) = appointment_start(&bed, id);
    assert!(t == "14:00:00" || t == "15:00:00", "the change reached the appointment: {t}");
}

#[test]
fn an_occurrence_the_doctor_edited_in_a_series_made_of_our_event_is_left_alone() {
    // The doctor made the appointment's event recurring and moved one later occurrence: Google
    // keeps that occurrence as an event of its own (`<id>_<original start>`, `recurringEventId`)
    // with our private properties. It is the doctor's, not a stray of ours.
    let (bed, _rx) = bed_with(|_| {});
    quiet(&bed);
    let (id, eid) = booked(&bed);
    sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    let before = appointment_start(&bed, id);
    let occ = bed.emu.post("/__emu/ui/edit_occurrence", json!({"email": DOC, "event_id": eid,
        "start": {"dateTime": format!("{}T15:00:00Z", day(27))}, "end": {"dateTime": format!("{}T15:30:00Z", day(27))}}));
    assert_eq!(occ["recurringEventId"].as_str(), Some(eid.as_str()));
    bed.emu.delete("/__emu/requests");
    let r = sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    assert_eq!(r.doctors[0].changes_applied, 0, "{:?}", r.doctors[0].changes);
    assert_eq!(bed.emu.count("DELETE", "/calendar/v3"), 0, "the doctor's occurrence is not deleted");
    assert_eq!(bed.live_events(DOC).len(), 2);
    assert_eq!(appointment_start(&bed, id), before, "the appointment keeps its time");
    assert_eq!(events::mapping(&bed.ctx, id as i64).unwrap().unwrap().event_id, eid);
}
