//! The job runner: the jobs that finish what a request could not.
//!
//! Owns running due jobs under a site-wide lock and a time budget (stopping cleanly before it
//! runs out), their backoff (Google's usage limits wait longer, `base::retry::later`, and use up
//! no attempt, `base::retry::uses_attempt`), the listing of jobs and an admin's retry. The
//! reconcile pass, which also converges appointments, has its own module.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::base::retry::{self, MAX_JOB_ATTEMPTS, is_transient, job_backoff_s};
use crate::events::{self, Outcome, Reason, State};
use crate::runtime::Context;
use crate::store::events::Job;

/// A job's report line.
#[derive(Debug, Serialize)]
pub struct Ran {
    pub id: u64,
    pub appointment_id: u64,
    pub action: String,
    pub outcome: String,
    pub error: Option<String>,
}

/// `kc_meet_run_jobs()`'s report.
#[derive(Debug, Default, Serialize)]
pub struct RunReport {
    pub ran: u32,
    pub done: u32,
    pub retried: u32,
    pub failed: u32,
    pub skipped_locked: u32,
    pub remaining_due: u64,
    pub jobs: Vec<Ran>,
}

/// A job that waited this long for an appointment row that never appeared gives up: the
/// booking was rolled back.
const MISSING_ROW_GRACE_S: i64 = 120;

/// Runs due jobs until `limit` or `budget` is reached. Each job converges its appointment
/// (makes Google match the appointment as it is now, whatever the job was queued for) under
/// the appointment's lock, and is ended or rescheduled there, by its version: a job queued
/// again meanwhile is never lost.
pub fn run(ctx: &Context, limit: i64, budget_s: f64) -> Result<RunReport> {
    if !(1..=1000).contains(&limit) || !(0.0..=3600.0).contains(&budget_s) {
        return Err(Error::invalid_argument("limit must be 1..1000 and budget_s 0..3600"));
    }
    ctx.store.require_schema()?;
    let mut report = RunReport::default();
    let Some(_lock) = ctx.store.try_lock("jobs", Duration::ZERO)? else {
        report.remaining_due = ctx.store.count_due_jobs()?;
        return Ok(report);
    };
    let deadline = Instant::now() + Duration::from_secs_f64(budget_s);
    let _budget = crate::base::retry::deadline_scope(deadline);
    for listed in ctx.store.due_jobs(limit as u32)? {
        // Leave room for one more request: stop before the budget, not after it.
        if Instant::now() + ctx.config.request_budget.min(Duration::from_secs(5)) > deadline {
            break;
        }
        report.ran += 1;
        let mut daily_limit = false;
        let ran = events::run_job(ctx, listed.appointment_id, MISSING_ROW_GRACE_S, |job, result| {
            daily_limit = result.as_ref().is_err_and(retry::is_daily_limit);
            settle(ctx, job, result)
        });
        let (counter, outcome, error) = match ran {
            Ok(Some(v)) => v,
            Ok(None) => (Counter::Done, "resolved".to_string(), None),
            // The appointment's lock (or the database) was not to be had: later.
            Err(e) if is_transient(&e) => {
                let later = retry::later(&e, listed.attempts, listed.last_wait_s());
                ctx.store.job_failed(listed.appointment_id, listed.version, false, retry::uses_attempt(&e), later.delay_s, &later.note)?;
                (Counter::Retried, "retry".to_string(), Some(later.note))
            }
            Err(e) => {
                ctx.store.job_failed(listed.appointment_id, listed.version, true, true, 0, &e.message)?;
                (Counter::Failed, "failed".to_string(), Some(e.message))
            }
        };
        match counter {
            Counter::Done => report.done += 1,
            Counter::Retried => report.retried += 1,
            Counter::Failed => report.failed += 1,
        }
        let _ = ctx.store.audit(listed.doctor_id, Some(listed.appointment_id), &format!("job.{}", listed.action), &outcome, error.as_deref().unwrap_or(""));
        report.jobs.push(Ran { id: listed.id, appointment_id: listed.appointment_id, action: listed.action.to_string(), outcome, error });
        if daily_limit {
            // The project's daily quota is used up: every other job would spend a request to
            // learn the same. They run after the reset (the next run stops at the first again).
            break;
        }
    }
    report.remaining_due = ctx.store.count_due_jobs()?;
    Ok(report)
}

enum Counter {
    Done,
    Retried,
    Failed,
}

/// Ends or reschedules the job that ran (by its version; still under the appointment's lock).
fn settle(ctx: &Context, job: &Job, result: Result<Outcome>) -> Result<(Counter, String, Option<String>)> {
    let (a, v) = (job.appointment_id, job.version);
    Ok(match result {
        Ok(o) if o.reason == Some(Reason::AppointmentNotFound) => {
            // Core may not have committed the booking yet.
            ctx.store.job_failed(a, v, false, true, 30, "the appointment is not visible yet")?;
            (Counter::Retried, "waiting".to_string(), None)
        }
        Ok(o) if o.state == State::Pending => {
            // Google is still creating the conference: look again later, but not forever.
            let give_up = job.attempts + 1 >= MAX_JOB_ATTEMPTS;
            ctx.store.job_failed(a, v, give_up, true, job_backoff_s(job.attempts), "the Meet conference is still being created")?;
            (if give_up { Counter::Failed } else { Counter::Retried }, "pending".to_string(), None)
        }
        Ok(o) => {
            ctx.store.delete_job(a, v)?;
            (Counter::Done, o.state.to_string(), None)
        }
        Err(e) if is_transient(&e) && (!retry::uses_attempt(&e) || job.attempts + 1 < MAX_JOB_ATTEMPTS) => {
            // Google's usage limits wait until they are likely lifted, however often (they use
            // up no attempt); the rest back off until their attempts run out.
            let later = retry::later(&e, job.attempts, job.last_wait_s());
            ctx.store.job_failed(a, v, false, retry::uses_attempt(&e), later.delay_s, &later.note)?;
            (Counter::Retried, "retry".to_string(), Some(later.note))
        }
        Err(e) => {
            ctx.store.job_failed(a, v, true, true, 0, &e.message)?;
            (Counter::Failed, "failed".to_string(), Some(e.message))
        }
    })
}

/// The most jobs one `kc_meet_jobs()` call lists.
pub const MAX_LISTED: i64 = 1000;

/// `kc_meet_jobs()`'s options.
#[derive(Debug, Default, serde::Deserialize)]
struct ListOpts {
    state: Option<String>,
    limit: Option<i64>,
}

/// `kc_meet_jobs()`: jobs in `state` (queued or failed; any when absent), at most `limit`
/// (1..=[`MAX_LISTED`], 100 when absent). An unknown option or a bad value is refused, never
/// ignored (a misspelt filter would list everything).
pub fn list(ctx: &Context, opts: &serde_json::Value) -> Result<Vec<crate::store::events::Job>> {
    let o: ListOpts = crate::base::opts::parse(opts, "kc_meet_jobs()", &["state", "limit"])?;
    if let Some(s) = o.state.as_deref() {
        if crate::store::events::JobState::parse(s).is_none() {
            return Err(Error::invalid_argument("kc_meet_jobs(): state must be queued or failed"));
        }
    }
    let limit = o.limit.unwrap_or(100);
    if !(1..=MAX_LISTED).contains(&limit) {
        return Err(Error::invalid_argument(format!("kc_meet_jobs(): limit must be an integer from 1 to {MAX_LISTED}, got {limit}")));
    }
    ctx.store.require_schema()?;
    ctx.store.jobs(o.state.as_deref(), limit as u32)
}

/// `kc_meet_retry_job()`.
pub fn retry(ctx: &Context, id: i64) -> Result<crate::store::events::Job> {
    if id <= 0 || !ctx.store.retry_job(id as u64)? {
        return Err(Error::invalid_argument(format!("there is no job {id}")));
    }
    ctx.store.job_by_id(id as u64)?.ok_or_else(|| Error::invalid_argument(format!("there is no job {id}")))
}
