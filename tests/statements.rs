//! How many statements the event core sends per operation, as the server counts them
//! (`Questions` of the worker's connection), and that a call's statements all run on that one
//! connection. Upper bounds on counts, not times: a regression shows here, on any machine.

mod common;

use std::sync::Arc;

use common::{Bed, Booking};
use kc_meet::runtime::Context;
use kc_meet::{events, grant};
use mysql::prelude::Queryable;
use serde_json::{Value, json};

const DOC: &str = "dr.two@gmail.example";

/// The server's statement count on the worker's idle connection, and the connection's id.
fn questions(ctx: &Context) -> (u64, u64) {
    let mut c = ctx.store.conn().unwrap();
    let id: u64 = c.query_first("SELECT CONNECTION_ID()").unwrap().unwrap();
    let row: (String, u64) = c.query_first("SHOW SESSION STATUS LIKE 'Questions'").unwrap().unwrap();
    (row.1, id)
}

/// Write statements (INSERT, UPDATE, DELETE, REPLACE) and explicit COMMITs the worker's idle
/// connection has sent so far.
fn writes(ctx: &Context) -> (u64, u64) {
    let mut c = ctx.store.conn().unwrap();
    let rows: Vec<(String, u64)> = c
        .query(
            "SHOW SESSION STATUS WHERE Variable_name IN ('Com_insert', 'Com_update', 'Com_delete', 'Com_replace', \
             'Com_insert_select', 'Com_update_multi', 'Com_delete_multi', 'Com_commit')",
        )
        .unwrap();
    let w = rows.iter().filter(|(k, _)| k != "Com_commit").map(|(_, v)| v).sum();
    let commits = rows.iter().filter(|(k, _)| k == "Com_commit").map(|(_, v)| *v).sum();
    (w, commits)
}

/// What `f` sent: statements, writes, explicit commits. Fails when it used another connection
/// than the worker's one.
fn counted<T>(ctx: &Arc<Context>, what: &str, f: impl FnOnce() -> T) -> ((u64, u64, u64), T) {
    let (w0, c0) = writes(ctx);
    let (q0, id0) = questions(ctx);
    let out = f();
    let (q1, id1) = questions(ctx);
    let (w1, c1) = writes(ctx);
    assert_eq!(id0, id1, "{what}: the call ran on the worker's one connection");
    // Each reading is two statements (the id and the SHOW, which counts itself).
    ((q1 - q0 - 2, w1 - w0, c1 - c0), out)
}

fn none() -> Value {
    Value::Null
}

#[test]
fn each_operation_stays_within_its_statement_budget_on_one_connection() {
    let bed = Bed::with(|v| v["request_budget_s"] = json!(5.0), None);
    bed.kivicare();
    bed.connect(2, DOC);
    // A worker that has served a call already (schema checked, site id read, pool warm).
    let ctx = bed.other_process();
    let warm = bed.book(Booking::default());
    assert_eq!(events::create(&ctx, warm as i64, &none()).unwrap().state.as_str(), "created");

    let id = bed.book(Booking { start: "2031-05-08 10:00:00", end: "2031-05-08 10:30:00", ..Booking::default() });
    let (create, o) = counted(&ctx, "create", || events::create(&ctx, id as i64, &none()).unwrap());
    assert_eq!(o.state.as_str(), "created");
    // Nothing to do takes no lock: it answers while another process holds the appointment's.
    let holder = bed.other_process();
    let held = holder.store.lock(&format!("appt:{id}"), std::time::Duration::from_secs(1)).unwrap();
    let (unchanged, o) = counted(&ctx, "unchanged", || events::create(&ctx, id as i64, &none()).unwrap());
    assert_eq!(o.state.as_str(), "unchanged", "answered without the appointment's lock");
    drop(held);
    bed.sql()
        .exec_drop("UPDATE wp_kc_appointments SET appointment_start_time = '11:00:00', appointment_end_time = '11:30:00' WHERE id = ?", (id,))
        .unwrap();
    let (reschedule, o) = counted(&ctx, "reschedule", || events::update(&ctx, id as i64, &none()).unwrap());
    assert_eq!(o.state.as_str(), "updated");
    // What that one statement wrote (read on another connection, so the worker keeps one): our
    // row has the new times (11:00 in the site's zone, Europe/Paris in May), the mapping row its
    // event and link.
    let row: (String, String, String, String, String, String, String) = bed
        .sql()
        .exec_first(
            "SELECT DATE_FORMAT(e.start_utc, '%H:%i'), e.event_id, e.meet_url, COALESCE(e.event_url, ''), m.event_id, m.url, COALESCE(m.event_url, '')
             FROM wp_kc_meet_events e JOIN wp_kc_appointment_google_meet_mappings m ON m.appointment_id = e.appointment_id WHERE e.appointment_id = ?",
            (id,),
        )
        .unwrap()
        .unwrap();
    assert_eq!(row.0, "09:00");
    assert!(!row.2.is_empty());
    assert_eq!((&row.1, &row.2, &row.3), (&row.4, &row.5, &row.6), "the mapping row shows our event");
    let (status, s) = counted(&ctx, "status", || grant::status(&ctx, 2).unwrap());
    assert_eq!(s.status.as_str(), "connected");
    let (cancel, o) = counted(&ctx, "cancel", || events::delete(&ctx, id as i64).unwrap());
    assert_eq!(o.state.as_str(), "deleted");
    eprintln!("statements, writes, commits: create {create:?}, reschedule {reschedule:?}, cancel {cancel:?}, unchanged {unchanged:?}, status {status:?}");

    // Create: the lock-free look (the load with the appointment: nothing to answer from it), lock,
    // the appointment's load with the appointment (our row, job, mapping, template, doctor and
    // token, KiviCare's row: one statement), the intent (committed before the insert), one
    // transaction for the outcome (start, event row, mapping row, audit, commit), unlock. (A first
    // create inserts the mapping row: it cannot share the statement that updates our row.)
    assert!(create.0 <= 10, "create: {} statements", create.0);
    assert_eq!((create.1, create.2), (4, 1), "create: the intent, then event + mapping + audit committed once");
    // Reschedule: the same without the intent, and the event and mapping rows (both there under
    // the lock) written by one statement.
    assert!(reschedule.0 <= 8, "reschedule: {} statements", reschedule.0);
    assert_eq!((reschedule.1, reschedule.2), (2, 1), "reschedule: event and mapping rows + audit committed once");
    // Cancel: lock, load, one transaction (start, event row, mapping rows, audit, commit), unlock.
    assert!(cancel.0 <= 8, "cancel: {} statements", cancel.0);
    assert_eq!((cancel.1, cancel.2), (3, 1), "cancel: event + mapping + audit committed once");
    // Nothing to do: the load with the appointment, one snapshot, no lock; no write.
    assert_eq!(unchanged.0, 1, "unchanged: {} statements", unchanged.0);
    assert_eq!((unchanged.1, unchanged.2), (0, 0), "unchanged writes nothing");
    assert!(status.0 <= 1, "status: {} statements", status.0);
}
