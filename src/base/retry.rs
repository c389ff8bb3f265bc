//! Which failures are retried and how: Google's rule within a time budget, and the budget of a
//! whole call.
//!
//! Google's rule (<https://developers.google.com/calendar/api/guides/errors>): retry 429, 5xx,
//! the rate-limit 403s and transport failures with exponential backoff and jitter, honouring
//! `Retry-After`; never retry anything else. In a web request the budget is small (the patient is
//! waiting for the booking page): when it runs out, the caller turns the write into a job.
//!
//! A call's budget bounds more than the retries: every HTTP request is cut to the time left
//! (Google's HTTP client reads [`time_left`]) and every lock wait is capped by it ([`capped`], read
//! by the store's lock),
//! so a booking never holds a PHP worker much longer than its budget, whatever Google or another
//! process does. The deadline is per thread (a call runs on the thread PHP called it on) and
//! scoped: [`deadline_scope`] sets it until its guard drops, and nested scopes only shorten it.

use std::cell::Cell;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::error::{Code, Error, Result};

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Restores the enclosing deadline when dropped.
pub struct DeadlineGuard {
    previous: Option<Instant>,
}

impl Drop for DeadlineGuard {
    fn drop(&mut self) {
        DEADLINE.with(|d| d.set(self.previous));
    }
}

/// Bounds everything this thread does until the guard drops by `deadline` (or by the enclosing
/// deadline, when that is sooner).
pub fn deadline_scope(deadline: Instant) -> DeadlineGuard {
    let previous = DEADLINE.with(Cell::get);
    let effective = previous.map_or(deadline, |p| p.min(deadline));
    DEADLINE.with(|d| d.set(Some(effective)));
    DeadlineGuard { previous }
}

/// The time left before the current call's deadline; `None` outside any budget.
pub fn time_left() -> Option<Duration> {
    DEADLINE.with(Cell::get).map(|d| d.saturating_duration_since(Instant::now()))
}

/// `wait`, shortened to the current call's time left.
pub fn capped(wait: Duration) -> Duration {
    time_left().map_or(wait, |left| left.min(wait))
}

/// Whether the same request may succeed later. Google's rule: retry 429, 5xx, the rate-limit
/// 403s and transport failures, never 400/401/404; ours: an unreachable database and a lock
/// held too long.
pub fn is_transient(e: &Error) -> bool {
    match e.code {
        Code::GoogleUnreachable | Code::DbUnreachable | Code::LockTimeout => true,
        Code::GoogleError => match e.http_status {
            Some(429) | Some(500..=599) => true,
            Some(403) => matches!(e.reason.as_deref(), Some("rateLimitExceeded") | Some("userRateLimitExceeded")),
            _ => false,
        },
        _ => false,
    }
}

/// A job's transient failures are retried for about a day, then wait for an admin.
pub const MAX_JOB_ATTEMPTS: u32 = 15;

/// The wait before a job's next attempt, after `attempts` failed ones: 30 s doubling, at most
/// an hour.
pub fn job_backoff_s(attempts: u32) -> i64 {
    (30i64 << attempts.min(7)).min(3600)
}

/// How often sync re-reads a change that failed to apply before it gives up (and audits it).
pub const MAX_REREAD_ATTEMPTS: u32 = 20;

/// Runs `call` until it succeeds, fails permanently, or the next wait would pass `budget`.
/// `on_attempt` sees every failed attempt (for the audit trail).
pub fn with_backoff<T>(
    budget: Duration,
    mut call: impl FnMut() -> Result<T>,
    mut on_attempt: impl FnMut(u32, &Error),
) -> Result<T> {
    let start = Instant::now();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        match call() {
            Ok(v) => return Ok(v),
            Err(e) => {
                on_attempt(attempt, &e);
                if !is_transient(&e) {
                    return Err(e);
                }
                let wait = backoff(attempt, e.retry_after_s);
                if start.elapsed() + wait > budget || time_left().is_some_and(|left| wait >= left) {
                    return Err(e);
                }
                std::thread::sleep(wait);
            }
        }
    }
}

/// Wait before attempt `attempt + 1`: 0.25 s · 2^(attempt-1) plus up to as much again of jitter,
/// or what Google asked for.
pub fn backoff(attempt: u32, retry_after_s: Option<u32>) -> Duration {
    if let Some(s) = retry_after_s {
        return Duration::from_secs(u64::from(s));
    }
    let base = 250u64 << (attempt.saturating_sub(1)).min(6);
    Duration::from_millis(base + rand::thread_rng().gen_range(0..=base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_google_rules_and_our_own_make_an_error_transient() {
        assert!(is_transient(&Error::google(503, None, "x")));
        assert!(is_transient(&Error::google(429, Some("rateLimitExceeded".into()), "x")));
        assert!(is_transient(&Error::google(403, Some("userRateLimitExceeded".into()), "x")));
        assert!(!is_transient(&Error::google(403, Some("forbidden".into()), "x")));
        assert!(!is_transient(&Error::google(400, None, "x")));
        assert!(!is_transient(&Error::google(404, None, "x")));
        assert!(is_transient(&Error::new(Code::GoogleUnreachable, "x")));
        assert!(is_transient(&Error::new(Code::LockTimeout, "x")));
        assert!(is_transient(&Error::new(Code::DbUnreachable, "x")));
        assert!(!is_transient(&Error::new(Code::DbQuery, "x")));
    }

    #[test]
    fn a_job_backs_off_from_half_a_minute_to_an_hour() {
        assert_eq!(job_backoff_s(0), 30);
        assert_eq!(job_backoff_s(1), 60);
        assert_eq!(job_backoff_s(6), 1920);
        assert_eq!(job_backoff_s(7), 3600);
        assert_eq!(job_backoff_s(40), 3600);
    }
    use crate::error::Code;

    #[test]
    fn transient_errors_are_retried_until_success() {
        let mut n = 0;
        let r = with_backoff(Duration::from_secs(5), || {
            n += 1;
            if n < 3 { Err(Error::google(503, None, "down")) } else { Ok(n) }
        }, |_, _| {});
        assert_eq!(r.unwrap(), 3);
    }

    #[test]
    fn permanent_errors_are_not_retried() {
        let mut n = 0;
        let r: Result<()> = with_backoff(Duration::from_secs(5), || {
            n += 1;
            Err(Error::google(400, Some("invalid".into()), "bad"))
        }, |_, _| {});
        assert_eq!(r.unwrap_err().http_status, Some(400));
        assert_eq!(n, 1);
    }

    #[test]
    fn the_budget_bounds_the_retries() {
        let t = Instant::now();
        let r: Result<()> = with_backoff(Duration::from_millis(600), || Err(Error::new(Code::GoogleUnreachable, "x")), |_, _| {});
        assert!(r.is_err());
        assert!(t.elapsed() < Duration::from_millis(900));
    }

    #[test]
    fn the_call_deadline_bounds_the_retries_too() {
        let _scope = deadline_scope(Instant::now() + Duration::from_millis(300));
        let t = Instant::now();
        let r: Result<()> = with_backoff(Duration::from_secs(30), || Err(Error::new(Code::GoogleUnreachable, "x")), |_, _| {});
        assert!(r.is_err());
        assert!(t.elapsed() < Duration::from_millis(600));
    }

    #[test]
    fn deadline_scopes_nest_and_restore() {
        assert_eq!(time_left(), None);
        {
            let _outer = deadline_scope(Instant::now() + Duration::from_secs(10));
            {
                let _inner = deadline_scope(Instant::now() + Duration::from_secs(60));
                assert!(time_left().unwrap() <= Duration::from_secs(10), "an inner scope never lengthens the budget");
            }
            assert!(time_left().unwrap() > Duration::from_secs(5));
            assert!(capped(Duration::from_secs(20)) <= Duration::from_secs(10));
        }
        assert_eq!(time_left(), None);
        assert_eq!(capped(Duration::from_secs(20)), Duration::from_secs(20));
    }

    #[test]
    fn retry_after_is_honoured() {
        assert_eq!(backoff(1, Some(2)), Duration::from_secs(2));
        let b = backoff(3, None);
        assert!(b >= Duration::from_millis(1000) && b <= Duration::from_millis(2000));
    }
}
