//! Google's usage limits (<https://developers.google.com/calendar/api/guides/errors>: 403
//! `dailyLimitExceeded`, 403 `quotaExceeded`) go away by themselves but not within seconds: a
//! write that meets one is queued, never retried within the call, and its job waits until the
//! limit is likely lifted (the daily quota: midnight Pacific time; Calendar's usage limits:
//! minutes growing to hours), with a note the admin can act on. Meeting a limit uses up none of
//! the job's attempts, however long the limit lasts. The emulator answers with Google's exact
//! error bodies.

mod common;

use chrono::{Days, TimeZone, Utc};
use common::{Bed, Booking};
use kc_meet::base::retry::MAX_JOB_ATTEMPTS;
use kc_meet::{events, jobs};
use mysql::prelude::Queryable;
use serde_json::{Value, json};

const DOC: &str = "dr.two@gmail.example";
const INSERT: &str = "/calendar/v3/calendars/primary/events";

fn bed() -> Bed {
    let bed = Bed::new();
    bed.kivicare();
    bed.connect(2, DOC);
    bed
}

fn book(bed: &Bed, day: u32) -> u64 {
    let (s, e) = (format!("2031-05-{day:02} 10:00:00"), format!("2031-05-{day:02} 10:30:00"));
    bed.book(Booking { start: &s, end: &e, ..Booking::default() })
}

/// Google answers every event insert with `reason`'s 403 (the emulator's body for it).
fn limit(bed: &Bed, reason: &str) {
    bed.emu.fault(json!({"method": "POST", "path": INSERT, "status": 403, "reason": reason, "times": 0}));
}

/// (state, attempts, seconds until next_run_at, last_error) of the appointment's job.
fn job(bed: &Bed, id: u64) -> (String, u32, i64, String) {
    bed.sql()
        .exec_first("SELECT state, attempts, TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), next_run_at), last_error FROM wp_kc_meet_jobs WHERE appointment_id = ?", (id,))
        .unwrap()
        .expect("a job")
}

/// Time passes until the appointment's job is due: its times move back by the wait left (the
/// wait it was given stays what it was).
fn make_due(bed: &Bed, id: u64) {
    bed.sql()
        .exec_drop(
            "UPDATE wp_kc_meet_jobs SET
               created_at = created_at - INTERVAL GREATEST(0, TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), next_run_at)) SECOND,
               updated_at = updated_at - INTERVAL GREATEST(0, TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), next_run_at)) SECOND,
               next_run_at = UTC_TIMESTAMP()
             WHERE appointment_id = ?",
            (id,),
        )
        .unwrap();
}

fn inserts(bed: &Bed) -> usize {
    bed.emu.count("POST", INSERT)
}

fn near(got: i64, want: i64) -> bool {
    (want - 5..=want + 1).contains(&got)
}

#[test]
fn a_booking_over_calendars_usage_limits_is_queued_for_minutes_and_retried_growing_to_hours() {
    let bed = bed();
    let id = book(&bed, 6);
    limit(&bed, "quotaExceeded");
    let before = inserts(&bed);

    let o = events::create(&bed.ctx, id as i64, &Value::Null).expect("the booking stands");
    assert_eq!(o.state.as_str(), "queued", "{o:?}");
    assert_eq!(inserts(&bed) - before, 1, "one request: the limit is not retried within the call");
    let (state, attempts, wait, note) = job(&bed, id);
    assert_eq!((state.as_str(), attempts), ("queued", 0), "{note}");
    assert!(near(wait, 600), "first wait 10 minutes, got {wait} s");
    assert!(note.contains("quotaExceeded") && note.contains("usage limits") && note.ends_with("retried in 10 minutes."), "{note}");

    // Not due: a run does not touch it.
    let r = jobs::run(&bed.ctx, 50, 10.0).unwrap();
    assert_eq!((r.ran, inserts(&bed) - before), (0, 1));

    // Still over the limit: each wait doubles the last, one request per run, no attempt used.
    for (n, want) in [(1usize, 1200i64), (2, 2400), (3, 4800)] {
        make_due(&bed, id);
        let r = jobs::run(&bed.ctx, 50, 10.0).unwrap();
        assert_eq!((r.ran, r.retried, r.failed), (1, 1, 0), "{r:?}");
        let (state, attempts, wait, _) = job(&bed, id);
        assert_eq!((state.as_str(), attempts), ("queued", 0));
        assert!(near(wait, want), "run {n}: wait {wait} s, want {want}");
        assert_eq!(inserts(&bed) - before, 1 + n);
    }

    // The limit lifted: the next run creates the event.
    bed.emu.delete("/__emu/faults");
    make_due(&bed, id);
    let r = jobs::run(&bed.ctx, 50, 10.0).unwrap();
    assert_eq!((r.done, r.failed), (1, 0), "{r:?}");
    assert!(events::state(&bed.ctx, id as i64).unwrap().job.is_none());
    assert!(events::mapping(&bed.ctx, id as i64).unwrap().is_some(), "the Meet link is there");
}

/// The next midnight in America/Los_Angeles, in UTC.
fn pacific_midnight() -> chrono::DateTime<Utc> {
    let tz = chrono_tz::America::Los_Angeles;
    let day = Utc::now().with_timezone(&tz).date_naive() + Days::new(1);
    tz.from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap()).earliest().unwrap().with_timezone(&Utc)
}

#[test]
fn a_booking_over_the_daily_quota_waits_until_it_resets_at_midnight_pacific_time() {
    let bed = bed();
    let id = book(&bed, 7);
    limit(&bed, "dailyLimitExceeded");
    let before = inserts(&bed);

    let o = events::create(&bed.ctx, id as i64, &Value::Null).expect("the booking stands");
    assert_eq!(o.state.as_str(), "queued", "{o:?}");
    assert!(o.warnings.iter().any(|w| w.contains("daily Google Calendar API quota")), "{o:?}");
    assert_eq!(inserts(&bed) - before, 1, "one request: the limit is not retried within the call");
    let reset = (pacific_midnight() - Utc::now()).num_seconds() + 300;
    let (state, attempts, wait, note) = job(&bed, id);
    assert_eq!((state.as_str(), attempts), ("queued", 0), "{note}");
    assert!(near(wait, reset), "waits until after the reset: {wait} s, want {reset}");
    assert!(note.contains(&format!("({} UTC)", pacific_midnight().format("%Y-%m-%d %H:%M"))), "{note}");

    // Retried from the queue and still over: the next wait is the reset again, not a backoff.
    make_due(&bed, id);
    let r = jobs::run(&bed.ctx, 50, 10.0).unwrap();
    assert_eq!((r.retried, r.failed), (1, 0), "{r:?}");
    let (state, attempts, wait, _) = job(&bed, id);
    assert!(state == "queued" && attempts == 0 && near(wait, reset), "{state} {attempts} {wait}");
}

#[test]
fn usage_limits_never_use_up_a_jobs_attempts_and_other_failures_still_do() {
    // A short call budget: a 503 is retried within the run for half a second, not eight.
    let bed = Bed::with(|v| v["request_budget_s"] = json!(0.5), None);
    bed.kivicare();
    bed.connect(2, DOC);
    let id = book(&bed, 12);
    limit(&bed, "quotaExceeded");
    events::create(&bed.ctx, id as i64, &Value::Null).unwrap();

    // More runs over Google's limits than a job has attempts: it is still waiting for them.
    let runs = MAX_JOB_ATTEMPTS + 5;
    for n in 0..runs {
        bed.emu.delete("/__emu/faults");
        limit(&bed, if n % 2 == 0 { "dailyLimitExceeded" } else { "quotaExceeded" });
        make_due(&bed, id);
        let r = jobs::run(&bed.ctx, 50, 10.0).unwrap();
        assert_eq!((r.ran, r.retried, r.failed), (1, 1, 0), "run {n}: {r:?}");
    }
    let (state, attempts, _, note) = job(&bed, id);
    assert_eq!((state.as_str(), attempts), ("queued", 0), "{note}");

    // Google down counts.
    bed.emu.delete("/__emu/faults");
    bed.emu.fault(json!({"method": "POST", "path": INSERT, "status": 503, "times": 0}));
    make_due(&bed, id);
    let r = jobs::run(&bed.ctx, 50, 10.0).unwrap();
    assert_eq!((r.retried, r.failed), (1, 0), "{r:?}");
    assert_eq!(job(&bed, id).1, 1);

    // One attempt left: a usage limit leaves it, the next other failure gives up.
    bed.sql().exec_drop("UPDATE wp_kc_meet_jobs SET attempts = ? WHERE appointment_id = ?", (MAX_JOB_ATTEMPTS - 1, id)).unwrap();
    bed.emu.delete("/__emu/faults");
    limit(&bed, "quotaExceeded");
    make_due(&bed, id);
    let r = jobs::run(&bed.ctx, 50, 10.0).unwrap();
    assert_eq!((r.retried, r.failed), (1, 0), "{r:?}");
    let (state, attempts, _, _) = job(&bed, id);
    assert_eq!((state.as_str(), attempts), ("queued", MAX_JOB_ATTEMPTS - 1));

    bed.emu.delete("/__emu/faults");
    bed.emu.fault(json!({"method": "POST", "path": INSERT, "status": 503, "times": 0}));
    make_due(&bed, id);
    let r = jobs::run(&bed.ctx, 50, 10.0).unwrap();
    assert_eq!((r.retried, r.failed), (0, 1), "{r:?}");
    let (state, attempts, _, _) = job(&bed, id);
    assert_eq!((state.as_str(), attempts), ("failed", MAX_JOB_ATTEMPTS));
    assert!(events::mapping(&bed.ctx, id as i64).unwrap().is_none(), "no event was made");
}

#[test]
fn a_job_run_stops_at_the_daily_quota_instead_of_spending_a_request_per_job() {
    let bed = bed();
    let ids: Vec<u64> = (8..11).map(|d| book(&bed, d)).collect();
    limit(&bed, "dailyLimitExceeded");
    for &id in &ids {
        events::create(&bed.ctx, id as i64, &Value::Null).unwrap();
        make_due(&bed, id);
    }
    let before = inserts(&bed);
    let r = jobs::run(&bed.ctx, 50, 10.0).unwrap();
    assert_eq!((r.ran, r.retried, r.remaining_due), (1, 1, 2), "{r:?}");
    assert_eq!(inserts(&bed) - before, 1);
    let failed: u64 = bed.sql().query_first("SELECT COUNT(*) FROM wp_kc_meet_jobs WHERE state = 'failed'").unwrap().unwrap();
    assert_eq!(failed, 0, "nothing is given up");
}
