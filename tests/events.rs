//! Appointment ⇄ Google event lifecycle on real MariaDB and the Google emulator.

mod common;

use common::{Bed, Booking};
use kc_meet::error::Code;
use kc_meet::{events, jobs};
use mysql::prelude::Queryable;
use serde_json::{Value, json};

const DOC: &str = "dr.two@gmail.example";

fn bed() -> Bed {
    let bed = Bed::with(|v| v["request_budget_s"] = json!(1.5), None);
    bed.kivicare();
    bed.connect(2, DOC);
    bed
}

fn none() -> Value {
    Value::Null
}

fn mapping_rows(bed: &Bed, id: u64) -> Vec<(String, String, String)> {
    bed.sql()
        .exec("SELECT event_id, url, COALESCE(event_url, '') FROM wp_kc_appointment_google_meet_mappings WHERE appointment_id = ?", (id,))
        .unwrap()
}

#[test]
fn create_writes_one_mapping_row_with_googles_meet_link() {
    let bed = bed();
    let id = bed.book(Booking::default());
    let o = events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(o.state.as_str(), "created");
    let live = bed.live_events(DOC);
    assert_eq!(live.len(), 1);
    let ev = &live[0];
    assert_eq!(ev["id"].as_str(), o.event_id.as_deref());
    assert_eq!(ev["hangoutLink"].as_str(), o.meet_url.as_deref());
    assert!(o.meet_url.as_deref().unwrap().starts_with("https://meet.google.com/"));
    assert_eq!(mapping_rows(&bed, id), vec![(o.event_id.clone().unwrap(), o.meet_url.clone().unwrap(), o.event_url.clone().unwrap())]);
    // What Google got: the patient invited (never as a resource), private, location, no notes.
    assert_eq!(ev["visibility"], "private");
    assert_eq!(ev["location"], "1 Main St, Springfield, 12345, US");
    let attendees = ev["attendees"].as_array().unwrap();
    assert!(attendees.iter().any(|a| a["email"] == "patient@example.org" && a["resource"] != true));
    assert!(!ev["description"].as_str().unwrap().contains("private clinical note"));
    let reqs = bed.emu.requests();
    let insert = reqs.iter().find(|r| r["method"] == "POST" && r["path"].as_str().unwrap().ends_with("/events")).unwrap();
    let cdv = &insert["query"]["conferenceDataVersion"];
    assert!(cdv == "1" || *cdv == json!(["1"]), "conferenceDataVersion=1, got {cdv}");
}

#[test]
fn creating_twice_keeps_one_event() {
    let bed = bed();
    let id = bed.book(Booking::default());
    let a = events::create(&bed.ctx, id as i64, &none()).unwrap();
    let b = events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(b.state.as_str(), "unchanged");
    assert_eq!(a.meet_url, b.meet_url);
    assert_eq!(bed.live_events(DOC).len(), 1);
    assert_eq!(mapping_rows(&bed, id).len(), 1);
}

#[test]
fn two_processes_creating_at_once_make_one_event() {
    let bed = bed();
    let id = bed.book(Booking::default());
    bed.emu.fault(json!({"method": "POST", "path": "/calendar/v3", "action": "delay", "delay_s": 0.4, "times": 0}));
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let ctx = bed.other_process();
            std::thread::spawn(move || events::create(&ctx, id as i64, &Value::Null).unwrap().state.as_str())
        })
        .collect();
    let mut states: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    states.sort();
    assert_eq!(states, vec!["created", "unchanged", "unchanged"]);
    assert_eq!(bed.live_events(DOC).len(), 1);
    assert_eq!(mapping_rows(&bed, id).len(), 1);
}

#[test]
fn reschedule_moves_the_event_and_keeps_the_meet_link() {
    let bed = bed();
    let id = bed.book(Booking::default());
    let a = events::create(&bed.ctx, id as i64, &none()).unwrap();
    bed.sql()
        .exec_drop("UPDATE wp_kc_appointments SET appointment_start_date = '2031-05-07', appointment_start_time = '15:00:00', appointment_end_date = '2031-05-07', appointment_end_time = '15:45:00' WHERE id = ?", (id,))
        .unwrap();
    let b = events::update(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(b.state.as_str(), "updated");
    assert_eq!(a.meet_url, b.meet_url);
    assert_eq!(a.event_id, b.event_id);
    let ev = &bed.live_events(DOC)[0];
    // The site runs in Europe/Paris (the bed's time zone): 15:00 local in May is 13:00 UTC.
    assert_eq!(ev["start"]["dateTime"], "2031-05-07T15:00:00+02:00");
    assert_eq!(ev["start"]["timeZone"], "Europe/Paris");
    assert_eq!(ev["hangoutLink"].as_str(), a.meet_url.as_deref());
    let patch = bed.emu.requests().into_iter().find(|r| r["method"] == "PATCH").unwrap();
    assert_eq!(patch["event_id"].as_str(), a.event_id.as_deref());
}

#[test]
fn cancelling_by_status_removes_the_event_and_tells_the_attendees() {
    let bed = bed();
    let id = bed.book(Booking::default());
    let a = events::create(&bed.ctx, id as i64, &none()).unwrap();
    bed.sql().exec_drop("UPDATE wp_kc_appointments SET status = 0 WHERE id = ?", (id,)).unwrap();
    let o = events::update(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(o.state.as_str(), "deleted");
    assert!(bed.live_events(DOC).is_empty());
    assert!(mapping_rows(&bed, id).is_empty());
    let notes = bed.emu.get("/__emu/notifications");
    let notes = notes["notifications"].as_array().or(notes.as_array()).cloned().unwrap_or_default();
    assert!(
        notes.iter().any(|n| n["kind"] == "cancellation" && n["event_id"].as_str() == a.event_id.as_deref()
            && n["recipients"].as_array().unwrap().iter().any(|r| r == "patient@example.org")),
        "the patient was told: {notes:?}"
    );
}

#[test]
fn delete_removes_the_event_and_is_idempotent() {
    let bed = bed();
    let id = bed.book(Booking::default());
    events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(events::delete(&bed.ctx, id as i64).unwrap().state.as_str(), "deleted");
    assert!(bed.live_events(DOC).is_empty());
    let again = events::delete(&bed.ctx, id as i64).unwrap();
    assert_eq!((again.state.as_str(), again.reason.map(|r| r.as_str())), ("skipped", Some("no_event")));
}

#[test]
fn booking_again_after_a_cancel_gets_a_new_event() {
    let bed = bed();
    let id = bed.book(Booking::default());
    let a = events::create(&bed.ctx, id as i64, &none()).unwrap();
    events::delete(&bed.ctx, id as i64).unwrap();
    let b = events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(b.state.as_str(), "created");
    assert_ne!(a.event_id, b.event_id, "Google keeps a deleted event's id reserved");
    assert_eq!(bed.live_events(DOC).len(), 1);
}

#[test]
fn a_lost_insert_response_resolves_to_the_one_event_google_made() {
    let bed = bed();
    let id = bed.book(Booking::default());
    bed.emu.fault(json!({"method": "POST", "path": "/calendar/v3", "action": "reset_after", "times": 1}));
    let o = events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(o.state.as_str(), "created");
    assert_eq!(bed.google_events(DOC).len(), 1, "exactly one event at Google");
    assert_eq!(mapping_rows(&bed, id).len(), 1);
    assert!(o.meet_url.unwrap().starts_with("https://meet.google.com/"));
}

#[test]
fn transient_google_errors_are_retried() {
    for (status, reason) in [(500, None), (503, None), (429, Some("rateLimitExceeded")), (403, Some("userRateLimitExceeded"))] {
        let bed = bed();
        let id = bed.book(Booking::default());
        let mut fault = json!({"method": "POST", "path": "/calendar/v3", "action": "status", "status": status, "times": 1});
        if let Some(r) = reason {
            fault["body"] = json!({"error": {"code": status, "message": "Rate Limit Exceeded", "errors": [{"domain": "usageLimits", "reason": r, "message": "Rate Limit Exceeded"}]}});
        }
        bed.emu.fault(fault);
        let o = events::create(&bed.ctx, id as i64, &none()).unwrap();
        assert_eq!(o.state.as_str(), "created", "after a {status}");
        assert_eq!(bed.live_events(DOC).len(), 1);
    }
}

#[test]
fn google_down_for_longer_queues_the_write_and_a_job_creates_it_once() {
    let bed = bed();
    let id = bed.book(Booking::default());
    bed.emu.fault(json!({"path": "/calendar/v3", "action": "status", "status": 503, "times": 0}));
    let o = events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(o.state.as_str(), "queued");
    assert!(mapping_rows(&bed, id).is_empty());
    let st = events::state(&bed.ctx, id as i64).unwrap();
    assert_eq!(st.job.as_ref().unwrap().action.as_str(), "ensure");
    bed.emu.delete("/__emu/faults");
    bed.sql().query_drop("UPDATE wp_kc_meet_jobs SET next_run_at = UTC_TIMESTAMP()").unwrap();
    let r = jobs::run(&bed.ctx, 10, 10.0).unwrap();
    assert_eq!((r.ran, r.done), (1, 1));
    assert_eq!(bed.live_events(DOC).len(), 1);
    assert_eq!(mapping_rows(&bed, id).len(), 1);
    assert!(events::state(&bed.ctx, id as i64).unwrap().job.is_none());
    // Running again does nothing more.
    assert_eq!(jobs::run(&bed.ctx, 10, 10.0).unwrap().ran, 0);
    assert_eq!(bed.google_events(DOC).len(), 1);
}

#[test]
fn a_queued_create_then_cancel_collapses_into_nothing_at_google() {
    let bed = bed();
    let id = bed.book(Booking::default());
    bed.emu.fault(json!({"path": "/calendar/v3", "action": "status", "status": 503, "times": 0}));
    assert_eq!(events::create(&bed.ctx, id as i64, &none()).unwrap().state.as_str(), "queued");
    bed.sql().exec_drop("UPDATE wp_kc_appointments SET status = 0 WHERE id = ?", (id,)).unwrap();
    // Google may have made the event behind a 503: the id recorded before the insert must be
    // deleted, which waits for Google too.
    let o = events::update(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!((o.state.as_str(), o.reason.map(|r| r.as_str())), ("queued", None));
    assert_eq!(events::state(&bed.ctx, id as i64).unwrap().job.unwrap().action.as_str(), "remove");
    bed.emu.delete("/__emu/faults");
    bed.sql().query_drop("UPDATE wp_kc_meet_jobs SET next_run_at = UTC_TIMESTAMP()").unwrap();
    jobs::run(&bed.ctx, 10, 10.0).unwrap();
    assert!(bed.google_events(DOC).is_empty(), "nothing was ever created");
}

#[test]
fn permanent_errors_stop_and_show_as_failed_jobs() {
    let bed = bed();
    let id = bed.book(Booking::default());
    bed.emu.fault(json!({"method": "POST", "path": "/calendar/v3", "action": "status", "status": 403, "times": 0,
        "body": {"error": {"code": 403, "message": "Forbidden", "errors": [{"domain": "global", "reason": "forbidden", "message": "Forbidden"}]}}}));
    let e = events::create(&bed.ctx, id as i64, &none()).unwrap_err();
    assert_eq!(e.code, Code::GoogleError);
    let inserts = bed.emu.requests().iter().filter(|r| r["method"] == "POST" && r["path"].as_str().unwrap().contains("/events")).count();
    assert_eq!(inserts, 1, "a permanent error is not retried");
    let failed = jobs::list(&bed.ctx, &json!({"state": "failed"})).unwrap();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].last_error.as_deref().unwrap().contains("403"));
    // After the admin fixes it and retries, the job creates the event.
    bed.emu.delete("/__emu/faults");
    jobs::retry(&bed.ctx, failed[0].id as i64).unwrap();
    jobs::run(&bed.ctx, 10, 10.0).unwrap();
    assert_eq!(bed.live_events(DOC).len(), 1);
}

#[test]
fn a_pending_conference_gets_its_link_later() {
    let bed = bed();
    bed.emu.config(json!({"conference_pending_reads": 6}));
    let id = bed.book(Booking::default());
    let o = events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(o.state.as_str(), "pending");
    assert_eq!(o.meet_url.as_deref(), Some(""));
    assert_eq!(events::mapping(&bed.ctx, id as i64).unwrap().unwrap().url, "");
    // The job keeps re-reading (each run a few times) until Google has the link.
    for _ in 0..4 {
        bed.sql().query_drop("UPDATE wp_kc_meet_jobs SET next_run_at = UTC_TIMESTAMP()").unwrap();
        jobs::run(&bed.ctx, 10, 10.0).unwrap();
    }
    let m = events::mapping(&bed.ctx, id as i64).unwrap().unwrap();
    assert!(m.url.starts_with("https://meet.google.com/"), "link filled in: {m:?}");
    assert_eq!(bed.google_events(DOC).len(), 1);
}

fn start_of(bed: &Bed, id: u64) -> String {
    let eid = events::state(&bed.ctx, id as i64).unwrap().event.unwrap().event_id;
    let ev = bed.google_events(DOC).into_iter().find(|e| e["id"] == eid.as_str()).unwrap();
    let t = chrono::DateTime::parse_from_rfc3339(ev["start"]["dateTime"].as_str().unwrap()).unwrap();
    t.with_timezone(&chrono::Utc).format("%Y-%m-%dT%H:%M").to_string()
}

#[test]
fn new_york_site_across_the_dst_change_sends_the_right_instants() {
    let bed = Bed::with(|v| { v["timezone"] = json!("America/New_York"); v["request_budget_s"] = json!(1.5); }, None);
    bed.kivicare();
    bed.connect(2, DOC);
    let before = bed.book(Booking { start: "2031-03-08 10:00:00", end: "2031-03-08 10:30:00", ..Booking::default() });
    let after = bed.book(Booking { start: "2031-03-10 10:00:00", end: "2031-03-10 10:30:00", ..Booking::default() });
    let gap = bed.book(Booking { start: "2031-03-09 02:30:00", end: "2031-03-09 04:00:00", ..Booking::default() });
    for id in [before, after, gap] {
        events::create(&bed.ctx, id as i64, &none()).unwrap();
    }
    assert_eq!(start_of(&bed, before), "2031-03-08T15:00", "EST is UTC-5");
    assert_eq!(start_of(&bed, after), "2031-03-10T14:00", "EDT is UTC-4");
    assert_eq!(start_of(&bed, gap), "2031-03-09T07:30", "02:30 does not exist: 03:30 EDT");
}

#[test]
fn offset_only_site_sends_the_offset() {
    let bed = Bed::with(|v| { v["timezone"] = json!("+05:30"); v["request_budget_s"] = json!(1.5); }, None);
    bed.kivicare();
    bed.connect(2, DOC);
    let id = bed.book(Booking { start: "2031-05-06 09:00:00", end: "2031-05-06 09:30:00", ..Booking::default() });
    events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(start_of(&bed, id), "2031-05-06T03:30");
    let ev = &bed.live_events(DOC)[0];
    assert_eq!(ev["start"]["dateTime"], "2031-05-06T09:00:00+05:30");
}

#[test]
fn utc_columns_win_over_local_ones() {
    let bed = bed();
    let id = bed.book(Booking { start: "2031-05-06 09:00:00", end: "2031-05-06 09:30:00", utc: Some(("2031-05-06 16:00:00", "2031-05-06 16:30:00")), ..Booking::default() });
    events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(start_of(&bed, id), "2031-05-06T16:00");
}

#[test]
fn a_doctor_with_their_own_time_zone() {
    let bed = bed();
    bed.sql().query_drop("INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (2, 'timezone', 'Asia/Tokyo')").unwrap();
    let id = bed.book(Booking { start: "2031-05-06 09:00:00", end: "2031-05-06 09:30:00", ..Booking::default() });
    events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(start_of(&bed, id), "2031-05-06T00:00");
    assert_eq!(bed.live_events(DOC)[0]["start"]["timeZone"], "Asia/Tokyo");
}

#[test]
fn core_4x_books_inside_an_open_transaction_and_nothing_blocks() {
    let bed = bed();
    // Core's connection: START TRANSACTION, insert the appointment, call the add-on.
    let mut core = bed.sql();
    core.query_drop("START TRANSACTION").unwrap();
    core.query_drop("INSERT INTO wp_kc_appointments (appointment_start_date, appointment_start_time, appointment_end_date, appointment_end_time, clinic_id, doctor_id, patient_id, status, created_at) VALUES ('2031-06-01','11:00:00','2031-06-01','11:30:00',1,2,4,1,NOW())").unwrap();
    let id = core.last_insert_id();
    let data = json!({"doctor_id": 2, "patient_id": 4, "clinic_id": 1, "status": 1, "start": "2031-06-01 11:00:00", "end": "2031-06-01 11:30:00",
        "telemed": true, "services": ["Video Consult"], "patient_name": "Pat Patient", "patient_email": "patient@example.org"});
    let t = std::time::Instant::now();
    let o = events::create(&bed.ctx, id as i64, &data).unwrap();
    assert!(t.elapsed() < std::time::Duration::from_secs(5), "no lock wait");
    assert_eq!(o.state.as_str(), "created");
    assert_eq!(bed.live_events(DOC)[0]["start"]["dateTime"], "2031-06-01T11:00:00+02:00");
    // What core's model class reads goes through the extension's connection: it sees the link.
    assert_eq!(events::mapping(&bed.ctx, id as i64).unwrap().unwrap().url, o.meet_url.clone().unwrap());
    // Core rolls back: the reconcile pass removes the event.
    core.query_drop("ROLLBACK").unwrap();
    let r = kc_meet::reconcile::reconcile(&bed.ctx, &json!({})).unwrap();
    assert_eq!(r.orphans.len(), 1);
    assert_eq!(r.orphans[0].reason, "appointment_deleted");
    assert!(bed.live_events(DOC).is_empty());
}

#[test]
fn core_3x_calls_once_per_telemed_service_before_the_service_rows_exist() {
    let bed = bed();
    let mut c = bed.sql();
    c.query_drop("INSERT INTO wp_kc_appointments (appointment_start_date, appointment_start_time, appointment_end_date, appointment_end_time, clinic_id, doctor_id, patient_id, status, created_at) VALUES ('2031-06-02','09:00:00','2031-06-02','09:30:00',1,2,4,1,NOW())").unwrap();
    let id = c.last_insert_id();
    let data = json!({"telemed": true, "services": ["Video Consult", "Follow-up"]});
    let a = events::create(&bed.ctx, id as i64, &data).unwrap();
    let b = events::create(&bed.ctx, id as i64, &data).unwrap();
    assert_eq!((a.state.as_str(), b.state.as_str()), ("created", "unchanged"));
    assert_eq!(bed.live_events(DOC).len(), 1);
}

#[test]
fn a_delete_core_never_reports_is_found_by_reconcile() {
    let bed = bed();
    let id = bed.book(Booking::default());
    events::create(&bed.ctx, id as i64, &none()).unwrap();
    bed.sql().exec_drop("DELETE FROM wp_kc_appointments WHERE id = ?", (id,)).unwrap();
    let dry = kc_meet::reconcile::reconcile(&bed.ctx, &json!({"dry_run": true})).unwrap();
    assert_eq!(dry.orphans.len(), 1);
    assert_eq!(bed.live_events(DOC).len(), 1, "dry run changes nothing");
    let r = kc_meet::reconcile::reconcile(&bed.ctx, &json!({})).unwrap();
    assert_eq!(r.fixed, 1);
    assert!(bed.live_events(DOC).is_empty());
    assert!(mapping_rows(&bed, id).is_empty());
}

#[test]
fn reconcile_creates_missing_events_for_connected_doctors() {
    let bed = bed();
    let id = bed.book(Booking::default());
    let in_person = bed.book(Booking { telemed: false, ..Booking::default() });
    let r = kc_meet::reconcile::reconcile(&bed.ctx, &json!({"from": "2031-01-01", "to": "2031-12-31"})).unwrap();
    assert_eq!(r.missing.iter().map(|m| m.appointment_id).collect::<Vec<_>>(), vec![id]);
    assert_eq!(r.fixed, 1);
    assert!(events::mapping(&bed.ctx, in_person as i64).unwrap().is_none());
}

#[test]
fn not_telemed_and_unconnected_doctors_are_skipped() {
    let bed = bed();
    let in_person = bed.book(Booking { telemed: false, ..Booking::default() });
    let o = events::create(&bed.ctx, in_person as i64, &none()).unwrap();
    assert_eq!((o.state.as_str(), o.reason.map(|r| r.as_str())), ("skipped", Some("not_telemed")));
    let other = bed.book(Booking { doctor: 3, ..Booking::default() });
    let o = events::create(&bed.ctx, other as i64, &none()).unwrap();
    assert_eq!((o.state.as_str(), o.reason.map(|r| r.as_str())), ("skipped", Some("doctor_not_connected")));
    let pending = bed.book(Booking { status: 2, ..Booking::default() });
    assert_eq!(events::create(&bed.ctx, pending as i64, &none()).unwrap().reason.map(|r| r.as_str()), Some("pending_status"));
    assert!(bed.google_events(DOC).is_empty());
}

#[test]
fn bad_input_gets_clear_errors_and_writes_nothing() {
    let bed = bed();
    assert_eq!(events::create(&bed.ctx, 999_999, &none()).unwrap_err().code, Code::InvalidArgument);
    let id = bed.book(Booking::default());
    let e = events::create(&bed.ctx, id as i64, &json!({"start": "2031-05-06 10:00:00", "end": "2031-05-06 09:00:00"})).unwrap_err();
    assert_eq!(e.code, Code::InvalidArgument);
    assert!(e.message.contains("ends before"));
    assert_eq!(events::create(&bed.ctx, id as i64, &json!({"colour": "red"})).unwrap_err().code, Code::InvalidArgument);
    assert!(bed.google_events(DOC).is_empty());
    assert!(mapping_rows(&bed, id).is_empty());
}

#[test]
fn a_patient_without_email_still_gets_an_event_with_a_warning() {
    let bed = bed();
    bed.sql().query_drop("UPDATE wp_users SET user_email = '' WHERE ID = 4").unwrap();
    let id = bed.book(Booking::default());
    let o = events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(o.state.as_str(), "created");
    assert!(o.warnings.iter().any(|w| w.contains("e-mail")));
    assert!(bed.live_events(DOC)[0]["attendees"].as_array().unwrap().iter().all(|a| a["email"] != ""));
}

#[test]
fn names_with_html_quotes_and_emoji_are_escaped_and_huge_text_is_cut() {
    let bed = bed();
    bed.sql().query_drop("UPDATE wp_users SET display_name = '<script>alert(1)</script> O\\'Brien \"Pat\" 🩺' WHERE ID = 4").unwrap();
    bed.sql()
        .exec_drop(
            "INSERT INTO wp_posts (post_title, post_content, post_name, post_type) VALUES ('{{service_name}} for {{patient_name}}', ?, 'kivicare_doctor_gm_event_template', 'kivicare_gmeet_tmp')",
            (format!("<p>Patient: {{{{patient_name}}}}</p>{}", "x".repeat(20_000)),),
        )
        .unwrap();
    let id = bed.book(Booking::default());
    events::create(&bed.ctx, id as i64, &none()).unwrap();
    let ev = &bed.live_events(DOC)[0];
    let desc = ev["description"].as_str().unwrap();
    assert!(desc.contains("&lt;script&gt;alert(1)&lt;/script&gt; O&#39;Brien &quot;Pat&quot; 🩺"), "{}", &desc[..200]);
    assert!(!desc.contains("<script>"));
    assert!(desc.chars().count() <= 8000);
    assert_eq!(ev["summary"], "Video Consult for alert(1) O'Brien \"Pat\" 🩺");
}

#[test]
fn mysql_connections_dropping_mid_run_lose_and_duplicate_nothing() {
    // A MariaDB restart, as the extension sees it: every connection it holds dies at once while
    // jobs are running. (The shared test server itself is not restarted: other tests use it.)
    let bed = bed();
    let ids: Vec<u64> = (0..4).map(|i| bed.book(Booking { start: &format!("2031-05-0{} 10:00:00", i + 1), end: &format!("2031-05-0{} 10:30:00", i + 1), ..Booking::default() })).collect();
    bed.emu.fault(json!({"path": "/calendar/v3", "action": "status", "status": 503, "times": 0}));
    for id in &ids {
        assert_eq!(events::create(&bed.ctx, *id as i64, &none()).unwrap().state.as_str(), "queued");
    }
    bed.emu.delete("/__emu/faults");
    bed.emu.fault(json!({"method": "POST", "path": "/calendar/v3", "action": "delay", "delay_s": 0.4, "times": 0}));
    bed.sql().query_drop("UPDATE wp_kc_meet_jobs SET next_run_at = UTC_TIMESTAMP()").unwrap();
    let ctx = bed.other_process();
    let runner = std::thread::spawn(move || jobs::run(&ctx, 10, 20.0));
    std::thread::sleep(std::time::Duration::from_millis(700));
    let mut admin = bed.sql();
    let victims: Vec<u64> = admin
        .exec("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()", (bed.db.as_str(),))
        .unwrap();
    assert!(!victims.is_empty());
    for v in victims {
        let _ = admin.exec_drop(format!("KILL {v}"), ());
    }
    let _ = runner.join().unwrap(); // may fail half-way: that is the point
    // The next run (a later cron tick) finishes the work.
    for _ in 0..3 {
        bed.sql().query_drop("UPDATE wp_kc_meet_jobs SET next_run_at = UTC_TIMESTAMP()").unwrap();
        jobs::run(&bed.ctx, 10, 20.0).unwrap();
    }
    assert_eq!(bed.google_events(DOC).len(), 4, "one event per appointment, none twice");
    for id in &ids {
        assert_eq!(mapping_rows(&bed, *id).len(), 1);
    }
    assert!(jobs::list(&bed.ctx, &json!({})).unwrap().is_empty());
}

#[test]
fn a_later_success_resolves_a_failed_job() {
    let bed = bed();
    let id = bed.book(Booking::default());
    bed.emu.fault(json!({"method": "POST", "path": "/calendar/v3", "action": "status", "status": 400, "times": 1}));
    assert!(events::create(&bed.ctx, id as i64, &none()).is_err());
    assert_eq!(jobs::list(&bed.ctx, &json!({"state": "failed"})).unwrap().len(), 1);
    assert_eq!(events::create(&bed.ctx, id as i64, &none()).unwrap().state.as_str(), "created");
    assert!(jobs::list(&bed.ctx, &json!({})).unwrap().is_empty(), "nothing left to retry");
}

#[test]
fn reconcile_takes_no_options_and_reports_missing_starts_in_utc() {
    let bed = bed();
    let id = bed.book(Booking::default()); // 10:00 in Europe/Paris, UTC+2 in May
    kc_meet::reconcile::reconcile(&bed.ctx, &Value::Null).expect("no options means the defaults");
    let dry = kc_meet::reconcile::reconcile(&bed.ctx, &json!({"dry_run": true, "from": "2031-01-01", "to": "2031-12-31"})).unwrap();
    assert_eq!(dry.missing.len(), 1);
    assert_eq!(dry.missing[0].appointment_id, id);
    assert_eq!(dry.missing[0].start_utc, "2031-05-06 08:00:00");
}

#[test]
fn the_doctors_service_alias_names_the_event_when_the_extension_reads_the_row() {
    let bed = bed();
    bed.sql().query_drop("UPDATE wp_kc_service_doctor_mapping SET service_name_alias = 'Online follow-up' WHERE service_id = 1 AND doctor_id = 2").unwrap();
    let id = bed.book(Booking::default());
    events::create(&bed.ctx, id as i64, &none()).unwrap();
    let ev = &bed.live_events(DOC)[0];
    let summary = ev["summary"].as_str().unwrap();
    assert!(summary.contains("Online follow-up"), "{summary}");
    assert!(!summary.contains("Video Consult"), "{summary}");
}
