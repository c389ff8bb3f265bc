//! How many statements the event core sends per operation, as the server counts them
//! (`Questions` of the worker's connection), and that a call's statements all run on that one
//! connection. Upper bounds on counts, not times: a regression shows here, on any machine.

mod common;

use std::sync::Arc;

use common::{Bed, Booking};
use kc_meet::runtime::Context;
use kc_meet::{doctors, events};
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

/// Statements `f` sent; fails when it used another connection than the worker's one.
fn counted<T>(ctx: &Arc<Context>, what: &str, f: impl FnOnce() -> T) -> (u64, T) {
    let (q0, id0) = questions(ctx);
    let out = f();
    let (q1, id1) = questions(ctx);
    assert_eq!(id0, id1, "{what}: the call ran on the worker's one connection");
    // Each reading is two statements (the id and the SHOW, which counts itself).
    (q1 - q0 - 2, out)
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
    assert_eq!(events::create(&ctx, warm as i64, &none()).unwrap().state, "created");

    let id = bed.book(Booking { start: "2031-05-08 10:00:00", end: "2031-05-08 10:30:00", ..Booking::default() });
    let (create, o) = counted(&ctx, "create", || events::create(&ctx, id as i64, &none()).unwrap());
    assert_eq!(o.state, "created");
    let (unchanged, o) = counted(&ctx, "unchanged", || events::create(&ctx, id as i64, &none()).unwrap());
    assert_eq!(o.state, "unchanged");
    bed.sql()
        .exec_drop("UPDATE wp_kc_appointments SET appointment_start_time = '11:00:00', appointment_end_time = '11:30:00' WHERE id = ?", (id,))
        .unwrap();
    let (reschedule, o) = counted(&ctx, "reschedule", || events::update(&ctx, id as i64, &none()).unwrap());
    assert_eq!(o.state, "updated");
    let (status, s) = counted(&ctx, "status", || doctors::status(&ctx, 2).unwrap());
    assert_eq!(s.status, "connected");
    let (cancel, o) = counted(&ctx, "cancel", || events::delete(&ctx, id as i64).unwrap());
    assert_eq!(o.state, "deleted");
    eprintln!("statements: create {create}, reschedule {reschedule}, cancel {cancel}, unchanged {unchanged}, status {status}");

    assert!(create <= 99, "create: {create} statements");
    assert!(reschedule <= 99, "reschedule: {reschedule} statements");
    assert!(cancel <= 99, "cancel: {cancel} statements");
    assert!(unchanged <= 99, "unchanged: {unchanged} statements");
    assert!(status <= 99, "status: {status} statements");
}
