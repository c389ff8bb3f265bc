//! Exactly one event per telemedicine appointment, never lost, whatever the interleaving:
//! lost insert answers, stale readers, stale jobs, 409 adoption, lock waits, hanging Google,
//! the stored site id, the vendor add-on's live events and regenerated links. Real MariaDB and
//! the Google emulator; each test fails without the fix it pins.

mod common;

use std::time::{Duration, Instant};

use common::{Bed, Booking, REDIRECT};
use kc_meet::base::config::Config;
use kc_meet::error::Code;
use kc_meet::runtime::Context;
use kc_meet::store::events::JobAction;
use kc_meet::{events, jobs};
use mysql::prelude::Queryable;
use serde_json::{Value, json};
use sha2::Digest;

const DOC: &str = "dr.two@gmail.example";
const DOC3: &str = "dr.three@gmail.example";
/// The beds' call budget (`request_budget_s`).
const BUDGET: Duration = Duration::from_millis(1500);
/// What a call may take beyond its budget (queueing the job, the audit, MySQL).
const MARGIN: Duration = Duration::from_millis(1000);

fn bed() -> Bed {
    let bed = Bed::with(|v| v["request_budget_s"] = json!(BUDGET.as_secs_f64()), None);
    bed.kivicare();
    bed.connect(2, DOC);
    bed
}

fn none() -> Value {
    Value::Null
}

fn state(o: &events::Outcome) -> (&'static str, Option<&'static str>) {
    (o.state.as_str(), o.reason.map(|r| r.as_str()))
}

fn mapping_rows(bed: &Bed, id: u64) -> Vec<(String, String)> {
    bed.sql().exec("SELECT event_id, url FROM wp_kc_appointment_google_meet_mappings WHERE appointment_id = ?", (id,)).unwrap()
}

fn run_due_jobs(bed: &Bed) -> jobs::RunReport {
    bed.sql().query_drop("UPDATE wp_kc_meet_jobs SET next_run_at = UTC_TIMESTAMP()").unwrap();
    jobs::run(&bed.ctx, 10, 10.0).unwrap()
}

fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64()
}

fn utc_start(ev: &Value) -> String {
    let t = chrono::DateTime::parse_from_rfc3339(ev["start"]["dateTime"].as_str().unwrap()).unwrap();
    t.with_timezone(&chrono::Utc).format("%Y-%m-%dT%H:%M").to_string()
}

fn snapshot(start: &str, end: &str, read_at: f64) -> Value {
    json!({"doctor_id": 2, "patient_id": 4, "clinic_id": 1, "status": 1, "start": start, "end": end, "telemed": true,
           "services": ["Video Consult"], "patient_email": "patient@example.org", "read_at": read_at})
}

// ----- item 1: an insert whose every answer was lost ---------------------------------------

#[test]
fn a_cancel_after_every_insert_answer_was_lost_deletes_the_event_google_made() {
    let bed = bed();
    let id = bed.book(Booking::default());
    bed.emu.fault(json!({"method": "POST", "path": "/calendar/v3", "action": "reset_after", "times": 0}));
    let o = events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(state(&o), ("queued", None));
    assert_eq!(bed.live_events(DOC).len(), 1, "Google made the event; no answer ever arrived");
    bed.emu.delete("/__emu/faults");

    let o = events::delete(&bed.ctx, id as i64).unwrap();
    assert_eq!(o.state.as_str(), "deleted");
    assert!(bed.live_events(DOC).is_empty(), "the patient keeps no invitation for a cancelled appointment");
    let delete = bed.emu.requests().into_iter().find(|r| r["method"] == "DELETE").expect("the candidate id was deleted at Google");
    assert!(delete["query"]["sendUpdates"] == "all" || delete["query"]["sendUpdates"] == json!(["all"]));
    assert!(jobs::list(&bed.ctx, &json!({})).unwrap().is_empty(), "nothing left to run");
}

// ----- item 2: read after the lock; an older snapshot never wins --------------------------

#[test]
fn a_call_waiting_for_the_lock_reads_the_appointment_after_it() {
    let bed = bed();
    let id = bed.book(Booking::default());
    events::create(&bed.ctx, id as i64, &none()).unwrap();
    let holder = bed.other_process();
    let guard = holder.store.lock(&kc_meet::store::Store::appointment_lock(id), Duration::from_secs(5)).unwrap();
    // Rescheduled, so the update has something to write: it cannot answer "unchanged" from its
    // lock-free look and waits for the lock.
    bed.sql().exec_drop("UPDATE wp_kc_appointments SET appointment_start_time = '11:00:00', appointment_end_time = '11:30:00' WHERE id = ?", (id,)).unwrap();
    let ctx = bed.other_process();
    let waiter = std::thread::spawn(move || events::update(&ctx, id as i64, &Value::Null).unwrap());
    std::thread::sleep(Duration::from_millis(400));
    // The appointment is cancelled while the update waits (by a process holding the lock).
    bed.sql().exec_drop("UPDATE wp_kc_appointments SET status = 0 WHERE id = ?", (id,)).unwrap();
    drop(guard);
    let o = waiter.join().unwrap();
    assert_eq!(o.state.as_str(), "deleted", "the update saw the cancellation, not what it could have read before the lock");
    assert!(bed.live_events(DOC).is_empty());
}

/// Google's writes of the test's events so far (inserts, patches, deletes).
fn writes(bed: &Bed) -> Vec<String> {
    bed.emu
        .requests()
        .into_iter()
        .filter(|r| ["POST", "PATCH", "PUT", "DELETE"].contains(&r["method"].as_str().unwrap_or("")))
        .filter(|r| r["path"].as_str().is_some_and(|p| p.contains("/events") && !p.ends_with("/watch")))
        .map(|r| r["method"].as_str().unwrap().to_string())
        .collect()
}

/// A booking with its event, then moved to 11:00 in KiviCare (10:00 before, in Paris): a call's
/// lock-free look finds something to write.
fn booked_then_moved(bed: &Bed) -> u64 {
    let id = bed.book(Booking::default());
    assert_eq!(events::create(&bed.ctx, id as i64, &none()).unwrap().state.as_str(), "created");
    move_to_11(bed, id);
    id
}

fn move_to_11(bed: &Bed, id: u64) {
    bed.sql().exec_drop("UPDATE wp_kc_appointments SET appointment_start_time = '11:00:00', appointment_end_time = '11:30:00' WHERE id = ?", (id,)).unwrap();
}

/// Runs `call` in another process, in the gap between the next call's lock-free look and its
/// lock; its outcome comes on the channel.
fn call_in_the_gap(bed: &Bed, call: impl FnOnce(&Context) -> events::Outcome + 'static) -> std::sync::mpsc::Receiver<events::Outcome> {
    let other = bed.other_process();
    let (tx, rx) = std::sync::mpsc::channel();
    events::after_look(move || tx.send(call(&other)).unwrap());
    rx
}

/// The appointment cancelled in KiviCare, then its call, in the gap ([`call_in_the_gap`]).
fn cancel_in_the_gap(bed: &Bed, id: u64) -> std::sync::mpsc::Receiver<events::Outcome> {
    let mut sql = bed.sql();
    call_in_the_gap(bed, move |other| {
        sql.exec_drop("UPDATE wp_kc_appointments SET status = 0 WHERE id = ?", (id,)).unwrap();
        events::delete(other, id as i64).unwrap()
    })
}

#[test]
fn a_reschedule_landing_between_a_calls_look_and_its_lock_is_read_again_under_it() {
    let bed = bed();
    let id = booked_then_moved(&bed);
    // The reschedule's own call (another process) runs in the gap, the lock free again after it.
    // (The call is a create, as a check-in or a payment makes: it looks first; an update takes
    // the lock with its read at once.)
    let rx = call_in_the_gap(&bed, move |other| events::update(other, id as i64, &Value::Null).unwrap());
    let o = events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(rx.recv().unwrap().state.as_str(), "updated");
    assert_eq!(state(&o), ("unchanged", None), "it read again under the lock, and found nothing left to do");
    assert_eq!(writes(&bed), ["POST", "PATCH"], "one insert, one patch: the event was not written twice");
    assert_eq!(utc_start(&bed.live_events(DOC)[0]), "2031-05-06T09:00", "11:00 in Paris");
}

#[test]
fn a_cancel_landing_between_a_calls_look_and_its_lock_is_not_undone() {
    let bed = bed();
    let id = booked_then_moved(&bed);
    // Cancelled, with the cancel's call, after the look saw the appointment booked.
    let rx = cancel_in_the_gap(&bed, id);
    let o = events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(rx.recv().unwrap().state.as_str(), "deleted");
    assert_eq!(state(&o), ("skipped", Some("cancelled")), "the call saw the cancel, not what its look read");
    assert!(bed.live_events(DOC).is_empty(), "the cancelled appointment got no event back");
    assert!(mapping_rows(&bed, id).is_empty());
    assert_eq!(writes(&bed), ["POST", "DELETE"]);
}

#[test]
fn a_create_landing_between_a_fresh_bookings_look_and_its_lock_is_not_made_twice() {
    let bed = bed();
    let id = bed.book(Booking::default());
    // Core 3.x calls once per telemedicine service: the other call wins the race.
    let rx = call_in_the_gap(&bed, move |other| events::create(other, id as i64, &Value::Null).unwrap());
    let o = events::create(&bed.ctx, id as i64, &none()).unwrap();
    let theirs = rx.recv().unwrap();
    assert_eq!(theirs.state.as_str(), "created");
    assert_eq!(state(&o), ("unchanged", None), "its intent was not written over the event made meanwhile: it read again");
    assert_eq!(o.meet_url, theirs.meet_url);
    assert_eq!(writes(&bed), ["POST"], "one insert");
    let st = events::state(&bed.ctx, id as i64).unwrap().event.unwrap();
    assert_eq!((st.state.as_str(), st.generation, st.meet_url.as_str()), ("active", 0, theirs.meet_url.as_deref().unwrap()));
}

#[test]
fn a_cancel_landing_between_a_fresh_bookings_look_and_its_lock_books_nothing() {
    let bed = bed();
    let id = bed.book(Booking::default());
    // Cancelled with its call after the look found a booking with nothing of ours: the cancel
    // leaves only its mark (a deleted row), which the intent must not be taken for.
    let rx = cancel_in_the_gap(&bed, id);
    let o = events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(state(&rx.recv().unwrap()), ("skipped", Some("no_event")));
    assert_eq!(state(&o), ("skipped", Some("cancelled")), "the call saw the cancel");
    assert!(writes(&bed).is_empty(), "nothing asked of Google: {:?}", writes(&bed));
    assert!(bed.live_events(DOC).is_empty());
    assert_eq!(events::state(&bed.ctx, id as i64).unwrap().event.map(|e| e.state.as_str()), Some("deleted"));
}

#[test]
fn a_vendor_mapping_landing_between_a_fresh_bookings_look_and_its_lock_takes_back_the_intent() {
    let bed = bed();
    let id = bed.book(Booking::default());
    let ev = vendor_event(&bed, true);
    // The vendor add-on maps its event after the look found nothing, before the lock: the
    // intent written with the lock is not what the appointment needs.
    let mut sql = bed.sql();
    let (event_id, url, html) = (ev["id"].as_str().unwrap().to_string(), ev["hangoutLink"].as_str().unwrap().to_string(), ev["htmlLink"].as_str().unwrap().to_string());
    events::after_look(move || {
        sql.exec_drop(
            "INSERT INTO wp_kc_appointment_google_meet_mappings (appointment_id, event_id, url, password, event_url, created_at) VALUES (?, ?, ?, '', ?, NOW())",
            (id, &event_id, &url, &html),
        )
        .unwrap()
    });
    let o = events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(state(&o), ("updated", Some("adopted")), "the vendor's event is taken over");
    assert_eq!(o.event_id.as_deref(), ev["id"].as_str());
    assert!(!writes(&bed).contains(&"POST".to_string()), "no second event: {:?}", writes(&bed));
    assert_eq!(bed.live_events(DOC).len(), 1);
    let st = events::state(&bed.ctx, id as i64).unwrap().event.unwrap();
    assert_eq!((st.state.as_str(), st.origin.as_str(), st.event_id.as_str()), ("active", "vendor", ev["id"].as_str().unwrap()));
}

// KiviCare writes the appointment without our lock and without touching our rows; its own call
// for the change comes after. A call that looked before such a change decides from what it reads
// under the lock, never from its look.

#[test]
fn a_kivicare_cancel_landing_between_a_fresh_bookings_look_and_its_lock_books_nothing() {
    let bed = bed();
    let id = bed.book(Booking::default());
    // Cancelled in KiviCare after the look found the booking; its call comes later.
    let mut sql = bed.sql();
    events::after_look(move || sql.exec_drop("UPDATE wp_kc_appointments SET status = 0 WHERE id = ?", (id,)).unwrap());
    let o = events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(state(&o), ("skipped", Some("cancelled")), "the call read the cancel under the lock");
    assert!(writes(&bed).is_empty(), "nothing asked of Google: {:?}", writes(&bed));
    assert!(bed.live_events(DOC).is_empty(), "no invitation for a cancelled appointment");
    assert!(mapping_rows(&bed, id).is_empty());
    assert!(events::state(&bed.ctx, id as i64).unwrap().event.is_none(), "no intent left behind");
}

#[test]
fn a_move_undone_in_kivicare_between_a_calls_look_and_its_lock_is_not_written() {
    let bed = bed();
    let id = booked_then_moved(&bed);
    // Moved back to 10:00 after the look saw 11:00, with the move's own call (another process):
    // its look finds the event at 10:00 already.
    let mut sql = bed.sql();
    let rx = call_in_the_gap(&bed, move |other| {
        sql.exec_drop("UPDATE wp_kc_appointments SET appointment_start_time = '10:00:00', appointment_end_time = '10:30:00' WHERE id = ?", (id,)).unwrap();
        events::update(other, id as i64, &Value::Null).unwrap()
    });
    let o = events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(state(&rx.recv().unwrap()), ("unchanged", None));
    assert_eq!(state(&o), ("unchanged", None), "the call read the appointment again under the lock");
    assert_eq!(writes(&bed), ["POST"], "the event was not moved to a time the appointment no longer has");
    assert_eq!(utc_start(&bed.live_events(DOC)[0]), "2031-05-06T08:00", "10:00 in Paris");
}

#[test]
fn a_call_does_not_answer_unchanged_while_another_holds_the_appointment() {
    let bed = bed();
    let id = booked_then_moved(&bed);
    // A reschedule to 11:00 holds the appointment's lock while Google takes its time.
    bed.emu.fault(json!({"method": "PATCH", "path": "/calendar/v3", "action": "delay", "delay_s": 0.8, "times": 1}));
    let ctx = bed.other_process();
    let first = std::thread::spawn(move || events::update(&ctx, id as i64, &Value::Null).unwrap());
    let started = Instant::now();
    while !bed.emu.requests().iter().any(|r| r["method"] == "PATCH") {
        assert!(started.elapsed() < Duration::from_secs(5), "the first call's patch never came");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Moved back to 10:00 meanwhile, with the move's call: our row still says 10:00 (the first
    // call has not saved), but what the first call writes next is 11:00.
    move_to_10(&bed, id);
    // A create (a check-in, say), which looks first: its look finds nothing to do.
    let o = events::create(&bed.other_process(), id as i64, &Value::Null).unwrap();
    assert_eq!(state(&first.join().unwrap()), ("updated", None));
    assert_eq!(state(&o), ("updated", None), "it waited for the lock and moved the event back");
    assert_eq!(writes(&bed), ["POST", "PATCH", "PATCH"]);
    assert_eq!(utc_start(&bed.live_events(DOC)[0]), "2031-05-06T08:00", "10:00 in Paris, as the appointment says");
}

fn move_to_10(bed: &Bed, id: u64) {
    bed.sql().exec_drop("UPDATE wp_kc_appointments SET appointment_start_time = '10:00:00', appointment_end_time = '10:30:00' WHERE id = ?", (id,)).unwrap();
}

/// On a connection in a character set where values are never written into query text (gbk),
/// the lock's statements (the lock, the intent, the read under the lock) go one by one as prepared statements,
/// with the same outcome.
#[test]
fn a_booking_on_a_gbk_connection_gets_its_one_event_through_the_same_steps() {
    let bed = Bed::with(|v| {
        v["request_budget_s"] = json!(BUDGET.as_secs_f64());
        v["db_charset"] = json!("gbk");
    }, None);
    bed.kivicare();
    bed.connect(2, DOC);
    let id = bed.book(Booking::default());
    let o = events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(o.state.as_str(), "created");
    assert_eq!(state(&events::create(&bed.ctx, id as i64, &none()).unwrap()), ("unchanged", None));
    move_to_11(&bed, id);
    assert_eq!(events::update(&bed.ctx, id as i64, &none()).unwrap().state.as_str(), "updated");
    assert_eq!(utc_start(&bed.live_events(DOC)[0]), "2031-05-06T09:00");
    assert_eq!(events::delete(&bed.ctx, id as i64).unwrap().state.as_str(), "deleted");
    assert_eq!(writes(&bed), ["POST", "PATCH", "DELETE"]);
    assert!(bed.live_events(DOC).is_empty());
}

#[test]
fn data_read_before_a_cancel_does_not_bring_the_event_back() {
    let bed = bed();
    let id = bed.book(Booking::default());
    events::create(&bed.ctx, id as i64, &none()).unwrap();
    let read_before = unix_now() - 2.0;
    assert_eq!(events::delete(&bed.ctx, id as i64).unwrap().state.as_str(), "deleted");
    let stale = events::update(&bed.ctx, id as i64, &snapshot("2031-05-06 10:00:00", "2031-05-06 10:30:00", read_before)).unwrap();
    assert_eq!(state(&stale), ("skipped", Some("stale_snapshot")));
    assert!(bed.live_events(DOC).is_empty(), "the cancelled appointment got no event back");
    assert!(mapping_rows(&bed, id).is_empty());
    // A booking made after the cancel (data read now) does get its event.
    let again = events::update(&bed.ctx, id as i64, &snapshot("2031-05-06 10:00:00", "2031-05-06 10:30:00", unix_now())).unwrap();
    assert_eq!(again.state.as_str(), "created");
    assert_eq!(bed.live_events(DOC).len(), 1);
}

#[test]
fn an_older_reschedule_does_not_win_over_a_newer_one() {
    let bed = bed();
    let id = bed.book(Booking::default());
    events::create(&bed.ctx, id as i64, &none()).unwrap();
    let t = unix_now();
    let newer = events::update(&bed.ctx, id as i64, &snapshot("2031-05-06 16:00:00", "2031-05-06 16:30:00", t - 1.0)).unwrap();
    assert_eq!(newer.state.as_str(), "updated");
    let older = events::update(&bed.ctx, id as i64, &snapshot("2031-05-06 15:00:00", "2031-05-06 15:30:00", t - 2.0)).unwrap();
    assert_eq!(state(&older), ("skipped", Some("stale_snapshot")));
    assert_eq!(older.meet_url, newer.meet_url, "the outcome still shows the event");
    assert_eq!(utc_start(&bed.live_events(DOC)[0]), "2031-05-06T14:00", "16:00 in Paris stays");
}

// ----- item 3: jobs converge, carry a version, end under the lock --------------------------

#[test]
fn a_queued_removal_never_deletes_the_event_of_the_appointment_booked_again() {
    let bed = bed();
    let id = bed.book(Booking::default());
    let made = events::create(&bed.ctx, id as i64, &none()).unwrap();
    bed.emu.fault(json!({"method": "DELETE", "path": "/calendar/v3", "action": "status", "status": 503, "times": 0}));
    bed.sql().exec_drop("UPDATE wp_kc_appointments SET status = 0 WHERE id = ?", (id,)).unwrap();
    assert_eq!(events::update(&bed.ctx, id as i64, &none()).unwrap().state.as_str(), "queued");
    bed.emu.delete("/__emu/faults");
    // Booked again before the removal ran: the event is still there and stays.
    bed.sql().exec_drop("UPDATE wp_kc_appointments SET status = 1 WHERE id = ?", (id,)).unwrap();
    assert_eq!(events::update(&bed.ctx, id as i64, &none()).unwrap().state.as_str(), "unchanged");
    let r = run_due_jobs(&bed);
    assert_eq!((r.ran, r.done), (1, 1));
    let live = bed.live_events(DOC);
    assert_eq!(live.len(), 1, "the job made Google match the appointment as it is now");
    assert_eq!(live[0]["id"].as_str(), made.event_id.as_deref());
    assert_eq!(mapping_rows(&bed, id).len(), 1);
    assert!(jobs::list(&bed.ctx, &json!({})).unwrap().is_empty());
}

#[test]
fn a_doctor_change_whose_removal_is_queued_still_creates_the_new_doctors_event() {
    let bed = bed();
    bed.connect(3, DOC3);
    let id = bed.book(Booking::default());
    events::create(&bed.ctx, id as i64, &none()).unwrap();
    bed.emu.fault(json!({"method": "DELETE", "path": "/calendar/v3", "action": "status", "status": 503, "times": 0}));
    bed.sql().exec_drop("UPDATE wp_kc_appointments SET doctor_id = 3 WHERE id = ?", (id,)).unwrap();
    assert_eq!(events::update(&bed.ctx, id as i64, &none()).unwrap().state.as_str(), "queued");
    bed.emu.delete("/__emu/faults");
    let r = run_due_jobs(&bed);
    assert_eq!(r.done, 1);
    assert!(bed.live_events(DOC).is_empty(), "the old doctor's event is gone");
    let new = bed.live_events(DOC3);
    assert_eq!(new.len(), 1, "the new doctor got the event");
    assert_eq!(mapping_rows(&bed, id), vec![(new[0]["id"].as_str().unwrap().to_string(), new[0]["hangoutLink"].as_str().unwrap().to_string())]);
}

#[test]
fn a_job_queued_again_while_one_runs_is_not_dropped() {
    let bed = bed();
    let id = bed.book(Booking::default());
    bed.emu.fault(json!({"path": "/calendar/v3", "action": "status", "status": 503, "times": 0}));
    assert_eq!(events::create(&bed.ctx, id as i64, &none()).unwrap().state.as_str(), "queued");
    let listed = events::state(&bed.ctx, id as i64).unwrap().job.unwrap();
    // Another process, whose lock wait ran out, queues the appointment again: a new version.
    bed.ctx.store.queue_job(id, Some(2), JobAction::Ensure, 0, Some("queued again")).unwrap();
    let current = events::state(&bed.ctx, id as i64).unwrap().job.unwrap();
    assert!(current.version > listed.version);
    // Ending the version a runner listed must not end the one queued since.
    bed.ctx.store.delete_job(id, listed.version).unwrap();
    bed.ctx.store.job_failed(id, listed.version, true, true, 0, "stale runner").unwrap();
    let still = events::state(&bed.ctx, id as i64).unwrap().job.expect("the newer job survives");
    assert_eq!((still.version, still.state.as_str()), (current.version, "queued"));
    bed.emu.delete("/__emu/faults");
    assert_eq!(run_due_jobs(&bed).done, 1);
    assert_eq!(bed.live_events(DOC).len(), 1);
}

// ----- item 4: an adopted event is compared, not taken as it is ----------------------------

#[test]
fn an_event_found_after_a_409_is_moved_to_the_appointments_time() {
    let bed = bed();
    let id = bed.book(Booking::default());
    // Google makes the event at 10:00 but every answer is lost.
    bed.emu.fault(json!({"method": "POST", "path": "/calendar/v3", "action": "reset_after", "times": 0}));
    assert_eq!(events::create(&bed.ctx, id as i64, &none()).unwrap().state.as_str(), "queued");
    bed.emu.delete("/__emu/faults");
    // Rescheduled before the job runs.
    bed.sql()
        .exec_drop("UPDATE wp_kc_appointments SET appointment_start_time = '15:00:00', appointment_end_time = '15:30:00' WHERE id = ?", (id,))
        .unwrap();
    run_due_jobs(&bed);
    let live = bed.live_events(DOC);
    assert_eq!(live.len(), 1);
    assert_eq!(utc_start(&live[0]), "2031-05-06T13:00", "15:00 in Paris, not the 10:00 of the lost insert");
    let st = events::state(&bed.ctx, id as i64).unwrap().event.unwrap();
    assert_eq!((st.start_utc.as_str(), st.etag.as_str()), ("2031-05-06 13:00:00", live[0]["etag"].as_str().unwrap()));
}

// ----- item 6: lock waits are transient -----------------------------------------------------

#[test]
fn a_lock_held_too_long_queues_the_booking_and_a_job_retries_with_code_2004() {
    let bed = bed();
    let id = bed.book(Booking::default());
    let holder = bed.other_process();
    let guard = holder.store.lock(&kc_meet::store::Store::appointment_lock(id), Duration::from_secs(5)).unwrap();
    let t = Instant::now();
    let o = events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert!(t.elapsed() < BUDGET + MARGIN, "waited {:?}", t.elapsed());
    assert_eq!(o.state.as_str(), "queued", "the booking stands; the event follows");
    let e = bed.other_process().store.lock(&kc_meet::store::Store::appointment_lock(id), Duration::from_millis(100)).err().unwrap();
    assert_eq!((e.code, e.code as i32, kc_meet::base::retry::is_transient(&e)), (Code::LockTimeout, 2004, true));
    // A job meeting the same lock is retried later, not failed.
    let r = run_due_jobs(&bed);
    assert_eq!((r.retried, r.failed), (1, 0));
    assert_eq!(events::state(&bed.ctx, id as i64).unwrap().job.unwrap().state.as_str(), "queued");
    drop(guard);
    assert_eq!(run_due_jobs(&bed).done, 1);
    assert_eq!(bed.live_events(DOC).len(), 1);
}

// ----- item 9: budgets bound the wall time --------------------------------------------------

#[test]
fn a_google_that_hangs_cannot_hold_a_booking_or_a_job_run_past_its_budget() {
    let bed = bed();
    let id = bed.book(Booking::default());
    bed.emu.fault(json!({"path": "/calendar/v3", "action": "delay", "delay_s": 30, "times": 0}));
    let t = Instant::now();
    let o = events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert!(t.elapsed() < BUDGET + MARGIN, "a booking took {:?}", t.elapsed());
    assert_eq!(o.state.as_str(), "queued");
    bed.sql().query_drop("UPDATE wp_kc_meet_jobs SET next_run_at = UTC_TIMESTAMP()").unwrap();
    let t = Instant::now();
    let r = jobs::run(&bed.ctx, 10, 3.0).unwrap();
    assert!(t.elapsed() < Duration::from_secs(3) + MARGIN, "a job run took {:?}", t.elapsed());
    assert_eq!(r.retried, 1);
}

// ----- item 10: the site id --------------------------------------------------------------

fn stored_site_key(bed: &Bed) -> Option<String> {
    bed.sql().query_first("SELECT value FROM wp_kc_meet_meta WHERE name = 'site_key'").unwrap()
}

fn legacy_key(redirect: &str, db: &str, prefix: &str) -> String {
    sha2::Sha256::digest(format!("{redirect}|{db}|{prefix}").as_bytes()).iter().take(6).map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_site_id_is_random_stored_once_and_survives_a_move() {
    let bed = bed();
    let id = bed.book(Booking::default());
    let o = events::create(&bed.ctx, id as i64, &none()).unwrap();
    let key = stored_site_key(&bed).expect("the site id is stored");
    assert_ne!(key, legacy_key(REDIRECT, &bed.db, "wp_"), "a new site's id is random, not derived from its URL");
    assert_eq!(o.event_id.clone().unwrap(), events::event_id(&bed.ctx, id, 0).unwrap());
    assert!(o.event_id.unwrap().starts_with(&format!("kcm{key}g")));
    // The site moves to another address: same id, the same events stay recognisable.
    let mut raw = bed.raw.clone();
    raw["redirect_uri"] = json!("https://new-home.example/wp-json/kc-meet/v1/oauth/callback");
    let moved = Context::connect(Config::from_value(&raw).unwrap()).unwrap();
    assert_eq!(events::site_key(&moved), key);
    let second = bed.book(Booking { start: "2031-05-07 10:00:00", end: "2031-05-07 10:30:00", ..Booking::default() });
    let o = events::create(&moved, second as i64, &none()).unwrap();
    assert!(o.event_id.unwrap().starts_with(&format!("kcm{key}g")));
    assert_eq!(bed.live_events(DOC)[1]["extendedProperties"]["private"]["kc_meet_site"], key.as_str());
}

#[test]
fn a_site_that_already_made_events_keeps_making_the_ids_it_made() {
    let bed = bed();
    // Events made before the id was stored (an existing site upgraded).
    bed.sql()
        .query_drop(
            "INSERT INTO wp_kc_meet_events (appointment_id, doctor_id, calendar_id, event_id, generation, state, start_utc, end_utc, created_at, updated_at)
             VALUES (999, 2, 'primary', 'kcmold', 0, 'deleted', NOW(), NOW(), NOW(), NOW())",
        )
        .unwrap();
    let id = bed.book(Booking::default());
    let o = events::create(&bed.ctx, id as i64, &none()).unwrap();
    let legacy = legacy_key(REDIRECT, &bed.db, "wp_");
    assert_eq!(stored_site_key(&bed).as_deref(), Some(legacy.as_str()));
    assert!(o.event_id.unwrap().starts_with(&format!("kcm{legacy}g")));
}

// ----- issue 7 item 5: the vendor add-on's live events ------------------------------------

/// An event as the vendor add-on made it (local time sent as UTC: its known defect).
fn vendor_event(bed: &Bed, with_meet: bool) -> Value {
    let mut ev = json!({"summary": "Video Consult", "start": {"dateTime": "2031-05-06T10:00:00Z"}, "end": {"dateTime": "2031-05-06T10:30:00Z"},
                        "attendees": [{"email": "patient@example.org"}]});
    if with_meet {
        ev["conferenceData"] = json!({"createRequest": {"requestId": "ADGGSH1700000000", "conferenceSolutionKey": {"type": "hangoutsMeet"}}});
    }
    let v = bed.emu.post("/__emu/ui/create", json!({"email": DOC, "event": ev}));
    if v.get("event").is_some() { v["event"].clone() } else { v }
}

fn vendor_mapping(bed: &Bed, id: u64, ev: &Value, shape_1x: bool) {
    let url = ev["hangoutLink"].as_str().unwrap_or("");
    let mut c = bed.sql();
    if shape_1x {
        c.exec_drop(
            "INSERT INTO wp_kc_appointment_google_meet_mappings (event_id, appointment_id, url, password, event_url) VALUES (?, ?, ?, '', ?)",
            (ev["id"].as_str().unwrap(), id, url, ev["htmlLink"].as_str().unwrap()),
        )
        .unwrap();
    } else {
        c.exec_drop(
            "INSERT INTO wp_kc_appointment_google_meet_mappings (appointment_id, event_id, url, password, event_url, created_at) VALUES (?, ?, ?, '', ?, NOW())",
            (id, ev["id"].as_str().unwrap(), url, ev["htmlLink"].as_str().unwrap()),
        )
        .unwrap();
    }
}

#[test]
fn the_vendors_live_event_is_taken_over_not_made_twice() {
    let bed = bed();
    let id = bed.book(Booking::default()); // 10:00 in Paris
    let ev = vendor_event(&bed, true);
    let link = ev["hangoutLink"].as_str().unwrap().to_string();
    vendor_mapping(&bed, id, &ev, false);

    let dry = kc_meet::reconcile::reconcile(&bed.ctx, &json!({"dry_run": true, "from": "2031-01-01", "to": "2031-12-31"})).unwrap();
    assert!(dry.missing.is_empty(), "a vendor-mapped appointment is not missing its event");
    assert_eq!(dry.adopted.iter().map(|a| a.appointment_id).collect::<Vec<_>>(), vec![id]);
    let r = kc_meet::reconcile::reconcile(&bed.ctx, &json!({"from": "2031-01-01", "to": "2031-12-31"})).unwrap();
    assert_eq!(r.fixed, 1);
    let live = bed.live_events(DOC);
    assert_eq!(live.len(), 1, "no second event, no second invitation");
    assert_eq!((live[0]["id"].as_str(), live[0]["hangoutLink"].as_str()), (ev["id"].as_str(), Some(link.as_str())));
    assert_eq!(utc_start(&live[0]), "2031-05-06T08:00", "the vendor's wrong hour is corrected");
    assert_eq!(mapping_rows(&bed, id), vec![(ev["id"].as_str().unwrap().to_string(), link.clone())]);
    let st = events::state(&bed.ctx, id as i64).unwrap().event.unwrap();
    assert_eq!((st.state.as_str(), st.origin.as_str(), st.event_id.as_str()), ("active", "vendor", ev["id"].as_str().unwrap()));

    // Reschedule patches the same event; cancel deletes it and tells the attendees.
    bed.sql()
        .exec_drop("UPDATE wp_kc_appointments SET appointment_start_time = '11:00:00', appointment_end_time = '11:30:00' WHERE id = ?", (id,))
        .unwrap();
    let o = events::update(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!((o.state.as_str(), o.event_id.as_deref(), o.meet_url.as_deref()), ("updated", ev["id"].as_str(), Some(link.as_str())));
    assert_eq!(events::delete(&bed.ctx, id as i64).unwrap().state.as_str(), "deleted");
    assert!(bed.live_events(DOC).is_empty());
    let delete = bed.emu.requests().into_iter().find(|r| r["method"] == "DELETE").unwrap();
    assert_eq!(delete["event_id"].as_str(), ev["id"].as_str());
    assert!(delete["query"]["sendUpdates"] == "all" || delete["query"]["sendUpdates"] == json!(["all"]));
}

#[test]
fn a_vendor_event_without_a_meet_link_gets_one_on_the_same_event() {
    let bed = bed();
    let id = bed.book(Booking::default());
    let ev = vendor_event(&bed, false);
    vendor_mapping(&bed, id, &ev, false);
    let o = events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(state(&o), ("updated", Some("adopted")));
    let live = bed.live_events(DOC);
    assert_eq!(live.len(), 1);
    assert_eq!(live[0]["id"], ev["id"]);
    let link = live[0]["hangoutLink"].as_str().expect("a Meet link was added").to_string();
    assert_eq!(o.meet_url.as_deref(), Some(link.as_str()));
    assert_eq!(mapping_rows(&bed, id), vec![(ev["id"].as_str().unwrap().to_string(), link)]);
    // Asked again: the same conference, no second request for one.
    assert_eq!(events::create(&bed.ctx, id as i64, &none()).unwrap().state.as_str(), "unchanged");
}

#[test]
fn cancelling_a_vendor_mapped_appointment_deletes_the_vendors_event_on_1x_tables() {
    let bed = bed();
    bed.sql().query_drop("DROP TABLE wp_kc_appointment_google_meet_mappings").unwrap();
    bed.sql()
        .query_drop(
            "CREATE TABLE wp_kc_appointment_google_meet_mappings (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, event_id varchar(255) NOT NULL,
               appointment_id int NOT NULL, url varchar(255) NOT NULL, password varchar(255) NULL, event_url varchar(255) NULL)",
        )
        .unwrap();
    let ctx = bed.other_process();
    let id = bed.book(Booking::default());
    let ev = vendor_event(&bed, true);
    vendor_mapping(&bed, id, &ev, true);
    bed.sql().exec_drop("UPDATE wp_kc_appointments SET status = 0 WHERE id = ?", (id,)).unwrap();
    let o = events::update(&ctx, id as i64, &none()).unwrap();
    assert_eq!((o.state.as_str(), o.event_id.as_deref()), ("deleted", ev["id"].as_str()));
    assert!(bed.live_events(DOC).is_empty(), "the vendor's event (and invitation) is gone");
    assert!(mapping_rows(&bed, id).is_empty());
    let notes = bed.emu.get("/__emu/notifications");
    let notes = notes["notifications"].as_array().or(notes.as_array()).cloned().unwrap_or_default();
    assert!(notes.iter().any(|n| n["kind"] == "cancellation" && n["event_id"] == ev["id"]), "attendees told: {notes:?}");
}

// ----- issue 7 item 8: regenerate the link ---------------------------------------------------

/// The vendor add-on's rows for an appointment after its Google call failed once (a row with no
/// event) and "regenerate" ran twice (a row and an event each time, the old ones left): a blank
/// row, an event the doctor deleted in Google since, and two live events.
fn vendor_rows_after_regenerating(bed: &Bed, id: u64) -> (Value, Value, Value) {
    bed.sql()
        .exec_drop(
            "INSERT INTO wp_kc_appointment_google_meet_mappings (appointment_id, event_id, url, password, event_url, created_at) VALUES (?, '', '', '', '', NOW())",
            (id,),
        )
        .unwrap();
    let gone = vendor_event(bed, true);
    vendor_mapping(bed, id, &gone, false);
    bed.emu.post("/__emu/ui/delete", json!({"email": DOC, "event_id": gone["id"]}));
    let (first, second) = (vendor_event(bed, true), vendor_event(bed, true));
    vendor_mapping(bed, id, &first, false);
    vendor_mapping(bed, id, &second, false);
    (gone, first, second)
}

fn deleted_ids(bed: &Bed) -> Vec<String> {
    let deletes = bed.emu.requests().into_iter().filter(|r| r["method"] == "DELETE").collect::<Vec<_>>();
    for d in &deletes {
        assert!(d["query"]["sendUpdates"] == "all" || d["query"]["sendUpdates"] == json!(["all"]), "attendees are told: {d}");
    }
    deletes.iter().map(|d| d["event_id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn of_the_vendors_regenerated_events_the_first_still_at_google_is_taken_over_and_the_others_deleted() {
    let bed = bed();
    let id = bed.book(Booking::default());
    let (_gone, first, second) = vendor_rows_after_regenerating(&bed, id);
    let link = first["hangoutLink"].as_str().unwrap().to_string();
    let o = events::create(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(state(&o), ("updated", Some("adopted")));
    assert_eq!((o.event_id.as_deref(), o.meet_url.as_deref()), (first["id"].as_str(), Some(link.as_str())));
    assert!(o.warnings.iter().any(|w| w.contains("1 duplicate")), "{:?}", o.warnings);
    let live = bed.live_events(DOC);
    assert_eq!(live.iter().map(|e| e["id"].clone()).collect::<Vec<_>>(), vec![first["id"].clone()], "one event, one invitation");
    assert_eq!(deleted_ids(&bed), vec![second["id"].as_str().unwrap().to_string()]);
    assert!(!writes(&bed).contains(&"POST".to_string()), "no event of ours beside the vendor's: {:?}", writes(&bed));
    assert_eq!(mapping_rows(&bed, id), vec![(first["id"].as_str().unwrap().to_string(), link)], "one mapping row, showing the kept event");
    // Asked again: nothing left to do.
    assert_eq!(state(&events::create(&bed.ctx, id as i64, &none()).unwrap()), ("unchanged", None));
}

#[test]
fn cancelling_an_appointment_the_vendor_regenerated_deletes_every_event_it_made() {
    let bed = bed();
    let id = bed.book(Booking::default());
    let (gone, first, second) = vendor_rows_after_regenerating(&bed, id);
    bed.sql().exec_drop("UPDATE wp_kc_appointments SET status = 0 WHERE id = ?", (id,)).unwrap();
    let o = events::delete(&bed.ctx, id as i64).unwrap();
    assert_eq!((o.state.as_str(), o.event_id.as_deref()), ("deleted", gone["id"].as_str()), "the first row's event");
    assert!(bed.live_events(DOC).is_empty(), "{:?}", bed.live_events(DOC));
    let mut deleted = deleted_ids(&bed);
    deleted.sort();
    // The one the doctor deleted is asked too (Google answers 410, which counts as done).
    let mut expected = [&gone, &first, &second].map(|e| e["id"].as_str().unwrap().to_string()).to_vec();
    expected.sort();
    assert_eq!(deleted, expected);
    assert!(mapping_rows(&bed, id).is_empty());
}

fn patches(bed: &Bed) -> Vec<Value> {
    bed.emu.requests().into_iter().filter(|r| r["method"] == "PATCH").collect()
}

#[test]
fn regenerating_gives_the_same_event_a_new_meet_link() {
    let bed = bed();
    let id = bed.book(Booking::default());
    let a = events::create(&bed.ctx, id as i64, &none()).unwrap();
    let r = events::regenerate(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(r.state.as_str(), "regenerated");
    assert_eq!(r.event_id, a.event_id, "the same event");
    let link = r.meet_url.clone().unwrap();
    assert!(link.starts_with("https://meet.google.com/") && Some(&link) != a.meet_url.as_ref(), "a new link: {link}");
    let live = bed.live_events(DOC);
    assert_eq!(live.len(), 1);
    assert_eq!(live[0]["hangoutLink"].as_str(), Some(link.as_str()));
    assert_ne!(live[0]["conferenceData"]["createRequest"]["requestId"].as_str(), a.event_id.as_deref(), "a new conference requestId");
    assert_eq!(mapping_rows(&bed, id), vec![(a.event_id.clone().unwrap(), link.clone())]);
    let last = patches(&bed).pop().unwrap();
    assert!(last["query"]["sendUpdates"] == "all" || last["query"]["sendUpdates"] == json!(["all"]), "attendees are told");
    // Again: yet another link, still one event.
    let again = events::regenerate(&bed.ctx, id as i64, &none()).unwrap();
    assert!(again.meet_url.is_some() && again.meet_url != r.meet_url && again.meet_url != a.meet_url);
    assert_eq!(bed.live_events(DOC).len(), 1);
}

#[test]
fn a_regeneration_google_could_not_finish_is_finished_by_the_job() {
    let bed = bed();
    let id = bed.book(Booking::default());
    let a = events::create(&bed.ctx, id as i64, &none()).unwrap();
    bed.emu.fault(json!({"method": "PATCH", "path": "/calendar/v3", "action": "status", "status": 503, "times": 0}));
    assert_eq!(events::regenerate(&bed.ctx, id as i64, &none()).unwrap().state.as_str(), "queued");
    assert_eq!(mapping_rows(&bed, id)[0].1, a.meet_url.clone().unwrap(), "the old link shows until the new one exists");
    bed.emu.delete("/__emu/faults");
    assert_eq!(run_due_jobs(&bed).done, 1);
    let live = bed.live_events(DOC);
    assert_eq!(live.len(), 1);
    let link = live[0]["hangoutLink"].as_str().unwrap().to_string();
    assert_ne!(Some(link.clone()), a.meet_url);
    assert_eq!(mapping_rows(&bed, id), vec![(a.event_id.unwrap(), link)]);
}

#[test]
fn regenerating_an_appointment_without_an_event_creates_one() {
    let bed = bed();
    let id = bed.book(Booking::default());
    let r = events::regenerate(&bed.ctx, id as i64, &none()).unwrap();
    assert_eq!(r.state.as_str(), "regenerated");
    assert_eq!(bed.live_events(DOC).len(), 1);
    assert_eq!(events::regenerate(&bed.ctx, 999_999, &none()).unwrap_err().code, Code::InvalidArgument);
}

#[test]
fn a_taken_over_vendor_event_moved_in_google_moves_the_appointment() {
    let bed = bed();
    let day = (chrono::Utc::now() + chrono::Duration::days(10)).format("%Y-%m-%d").to_string();
    let id = bed.book(Booking { start: &format!("{day} 10:00:00"), end: &format!("{day} 10:30:00"), ..Booking::default() });
    // Google answers times with their offset (RFC 3339).
    let at = |hm: &str| {
        use chrono::TimeZone;
        let local = chrono::NaiveDateTime::parse_from_str(&format!("{day} {hm}:00"), "%Y-%m-%d %H:%M:%S").unwrap();
        chrono_tz::Europe::Paris.from_local_datetime(&local).unwrap().to_rfc3339()
    };
    let ev = bed.emu.post(
        "/__emu/ui/create",
        json!({"email": DOC, "event": {"summary": "Video Consult", "start": {"dateTime": at("10:00"), "timeZone": "Europe/Paris"},
               "end": {"dateTime": at("10:30"), "timeZone": "Europe/Paris"},
               "conferenceData": {"createRequest": {"requestId": "ADGGSH1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}}}}),
    );
    let ev = if ev.get("event").is_some() { ev["event"].clone() } else { ev };
    vendor_mapping(&bed, id, &ev, false);
    assert_eq!(state(&events::create(&bed.ctx, id as i64, &none()).unwrap()), ("unchanged", Some("adopted")));
    kc_meet::sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    bed.emu.post(
        "/__emu/ui/move",
        json!({"email": DOC, "event_id": ev["id"], "start": {"dateTime": at("12:00"), "timeZone": "Europe/Paris"},
               "end": {"dateTime": at("12:30"), "timeZone": "Europe/Paris"}}),
    );
    let r = kc_meet::sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
    assert_eq!(r.doctors[0].changes.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>(), vec!["moved"], "sync treats it as ours");
    let start: String = bed.sql().exec_first("SELECT CAST(appointment_start_time AS CHAR) FROM wp_kc_appointments WHERE id = ?", (id,)).unwrap().unwrap();
    assert_eq!(start, "12:00:00");
}

#[test]
fn a_delete_whose_answer_was_lost_is_never_undone_by_a_rebooking_that_reuses_its_event() {
    let bed = bed();
    let id = bed.book(Booking::default());
    let made = events::create(&bed.ctx, id as i64, &none()).unwrap();
    // Google takes longer than the budget to answer the delete, and carries it out afterwards.
    let delay = BUDGET.as_secs_f64() + 1.5;
    bed.emu.fault(json!({"method": "DELETE", "path": "/calendar/v3", "action": "delay", "delay_s": delay, "times": 1}));
    bed.sql().exec_drop("UPDATE wp_kc_appointments SET status = 0 WHERE id = ?", (id,)).unwrap();
    assert_eq!(events::update(&bed.ctx, id as i64, &none()).unwrap().state.as_str(), "queued");
    // Booked again while that delete is still on its way.
    bed.sql().exec_drop("UPDATE wp_kc_appointments SET status = 1 WHERE id = ?", (id,)).unwrap();
    let again = events::update(&bed.ctx, id as i64, &none()).unwrap();
    assert_ne!(again.event_id, made.event_id, "the event whose delete may still land is not reused");
    std::thread::sleep(Duration::from_secs_f64(delay));
    run_due_jobs(&bed);
    let live = bed.live_events(DOC);
    assert_eq!(live.len(), 1, "exactly one event for the booked appointment: {live:?}");
    let rows = mapping_rows(&bed, id);
    assert_eq!(rows.len(), 1);
    assert_eq!(Some(rows[0].0.as_str()), live[0]["id"].as_str());
}

// ----- the lock-free look for "unchanged" ------------------------------------------------

#[test]
fn data_older_than_the_stored_state_is_stale_even_when_it_matches_the_event() {
    let bed = bed();
    let id = bed.book(Booking::default());
    events::create(&bed.ctx, id as i64, &none()).unwrap();
    let t = unix_now();
    let newer = events::update(&bed.ctx, id as i64, &snapshot("2031-05-06 16:00:00", "2031-05-06 16:30:00", t - 1.0)).unwrap();
    assert_eq!(newer.state.as_str(), "updated");
    // The same times, read before the stored state: the lock-free look must not call it unchanged.
    let older = events::update(&bed.ctx, id as i64, &snapshot("2031-05-06 16:00:00", "2031-05-06 16:30:00", t - 2.0)).unwrap();
    assert_eq!(state(&older), ("skipped", Some("stale_snapshot")));
    // Read after it: nothing to do.
    let same = events::update(&bed.ctx, id as i64, &snapshot("2031-05-06 16:00:00", "2031-05-06 16:30:00", unix_now())).unwrap();
    assert_eq!(state(&same), ("unchanged", None));
    assert_eq!(same.meet_url, newer.meet_url);
}

#[test]
fn a_lock_free_look_racing_reschedules_never_skips_a_write() {
    let bed = bed();
    let id = bed.book(Booking { start: "2031-05-06 08:00:00", end: "2031-05-06 08:30:00", ..Booking::default() });
    assert_eq!(events::create(&bed.ctx, id as i64, &none()).unwrap().state.as_str(), "created");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Another process keeps calling with the appointment as it reads it (read time taken before
    // the read, as the plugin does), so its data is sometimes older than a reschedule's.
    let prober = {
        let ctx = bed.other_process();
        let stop = stop.clone();
        let mut sql = bed.sql();
        std::thread::spawn(move || {
            let mut seen = std::collections::BTreeMap::<String, usize>::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let read_at = unix_now();
                let (start, end): (String, String) = sql
                    .exec_first(
                        "SELECT CONCAT(appointment_start_date, ' ', appointment_start_time), CONCAT(appointment_end_date, ' ', appointment_end_time)
                         FROM wp_kc_appointments WHERE id = ?",
                        (id,),
                    )
                    .unwrap()
                    .unwrap();
                let o = events::update(&ctx, id as i64, &snapshot(&start, &end, read_at)).unwrap();
                let (s, r) = state(&o);
                *seen.entry(format!("{s}/{}", r.unwrap_or("-"))).or_default() += 1;
            }
            seen
        })
    };
    let ctx = bed.other_process();
    for i in 0..10u32 {
        let hour = 9 + i;
        let (start, end) = (format!("2031-05-06 {hour:02}:00:00"), format!("2031-05-06 {hour:02}:30:00"));
        bed.sql()
            .exec_drop(
                "UPDATE wp_kc_appointments SET appointment_start_time = ?, appointment_end_time = ? WHERE id = ?",
                (&start[11..], &end[11..], id),
            )
            .unwrap();
        // The reschedule's own call, with data read after its change was committed.
        let o = events::update(&ctx, id as i64, &snapshot(&start, &end, unix_now())).unwrap();
        assert!(matches!(state(&o), ("updated", None) | ("unchanged", None) | ("skipped", Some("stale_snapshot"))), "reschedule {i}: {o:?}");
        // Whatever answered, the event now has the new times: no write was skipped.
        let live = bed.live_events(DOC);
        assert_eq!(live.len(), 1, "reschedule {i}: one event");
        assert_eq!(utc_start(&live[0]), format!("2031-05-06T{:02}:00", hour - 2), "reschedule {i}: Google has the new time (Paris)");
        let stored = events::state(&bed.ctx, id as i64).unwrap().event.unwrap();
        assert!(stored.start_utc.contains(&format!("{:02}:00", hour - 2)), "reschedule {i}: the stored event has it: {}", stored.start_utc);
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = prober.join().unwrap();
    eprintln!("the racing caller's outcomes: {seen:?}");
    for k in seen.keys() {
        assert!(["unchanged/-", "updated/-", "skipped/stale_snapshot"].contains(&k.as_str()), "the racing caller answered {k}");
    }
    assert!(seen.get("unchanged/-").copied().unwrap_or(0) > 0, "the racing caller answered unchanged at least once: {seen:?}");
    assert_eq!(bed.live_events(DOC).len(), 1);
    assert!(events::state(&bed.ctx, id as i64).unwrap().job.is_none(), "nothing left queued");
}
