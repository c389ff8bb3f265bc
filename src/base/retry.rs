//! Which failures are retried and how: Google's rule within a time budget, and the budget of a
//! whole call.
//!
//! Google's rule (<https://developers.google.com/calendar/api/guides/errors>): retry 429, 5xx,
//! the rate-limit 403s and transport failures with exponential backoff and jitter, honouring
//! `Retry-After`; never retry anything else. In a web request the budget is small (the patient is
//! waiting for the booking page): when it runs out, the caller turns the write into a job.
//!
//! Google's usage limits are the exception to "retry with backoff": a quick retry cannot cure
//! them, so they are never retried within a call, only from the job queue, after a wait fit for
//! the limit ([`later`]): the project's daily quota (`dailyLimitExceeded`) until it resets at
//! midnight Pacific time, the account's Calendar usage limits (`quotaExceeded`, which replenish
//! over hours) after minutes growing to hours. Nor do they use up a job's attempts
//! ([`uses_attempt`]): they say nothing about the job, and a week of used-up quota must not make
//! the site give up its bookings.
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
/// and usage-limit 403s and transport failures, never 400/401/404; ours: an unreachable
/// database and a lock held too long. A usage limit is retried only from the job queue (see
/// [`retry_in_call`], [`later`]).
pub fn is_transient(e: &Error) -> bool {
    match e.code {
        Code::GoogleUnreachable | Code::DbUnreachable | Code::LockTimeout => true,
        Code::GoogleError => match e.http_status {
            Some(429) | Some(500..=599) => true,
            Some(403) => {
                matches!(e.reason.as_deref(), Some("rateLimitExceeded") | Some("userRateLimitExceeded")) || usage_limit(e).is_some()
            }
            _ => false,
        },
        _ => false,
    }
}

/// Whether a failed request may be tried again within the same call, after a short backoff:
/// a transient failure that is not one of Google's usage limits.
pub fn retry_in_call(e: &Error) -> bool {
    is_transient(e) && usage_limit(e).is_none()
}

/// One of Google's usage limits that no quick retry cures
/// (<https://developers.google.com/calendar/api/guides/errors>, 403 "Daily limit exceeded" and
/// "Calendar usage limits exceeded").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UsageLimit {
    /// `dailyLimitExceeded`: the Cloud project's daily quota of Calendar API requests is used
    /// up; Google's per-day quotas reset at midnight Pacific time.
    Daily,
    /// `quotaExceeded`: the account reached one of Google Calendar's usage limits (too many
    /// events or invitations in a short time); they replenish over hours.
    Calendar,
}

fn usage_limit(e: &Error) -> Option<UsageLimit> {
    if e.code != Code::GoogleError || !matches!(e.http_status, Some(403) | Some(429)) {
        return None;
    }
    match e.reason.as_deref() {
        Some("dailyLimitExceeded") => Some(UsageLimit::Daily),
        Some("quotaExceeded") => Some(UsageLimit::Calendar),
        _ => None,
    }
}

/// Whether `e` is the Cloud project's daily quota: every request of the site fails the same
/// way until it resets, so a job run stops at the first one.
pub fn is_daily_limit(e: &Error) -> bool {
    usage_limit(e) == Some(UsageLimit::Daily)
}

/// A job's transient failures are retried for about a day, then wait for an admin.
pub const MAX_JOB_ATTEMPTS: u32 = 15;

/// Whether a job's failure with `e` counts toward [`MAX_JOB_ATTEMPTS`]: every failure but one of
/// Google's usage limits. Those are the site's or the account's state, not the job's; the job
/// waits for the limit ([`later`]) as long as it lasts, however many days that takes.
pub fn uses_attempt(e: &Error) -> bool {
    usage_limit(e).is_none()
}

/// The wait before a job's next attempt, after `attempts` failed ones: 30 s doubling, at most
/// an hour.
pub fn job_backoff_s(attempts: u32) -> i64 {
    (30i64 << attempts.min(7)).min(3600)
}

/// When a transient failure is tried again from the job queue, and the text the admin reads on
/// the job meanwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Later {
    pub delay_s: i64,
    pub note: String,
}

/// The wait before the next attempt of a job that failed with `e` after `attempts` earlier
/// failed attempts (0 when the write is queued first) and a last wait of `last_wait_s` seconds
/// (0 when there was none), and the admin's note.
pub fn later(e: &Error, attempts: u32, last_wait_s: i64) -> Later {
    later_at(e, attempts, last_wait_s, chrono::Utc::now())
}

/// Margin after midnight Pacific time before a job retries a daily limit (the reset is not
/// to the second everywhere).
const DAILY_RESET_MARGIN_S: i64 = 300;

/// [`later`] at the instant `now`.
pub fn later_at(e: &Error, attempts: u32, last_wait_s: i64, now: chrono::DateTime<chrono::Utc>) -> Later {
    match usage_limit(e) {
        Some(UsageLimit::Daily) => {
            let reset = next_pacific_midnight(now);
            Later {
                delay_s: (reset - now).num_seconds().max(0) + DAILY_RESET_MARGIN_S,
                note: format!(
                    "{} The daily Google Calendar API quota of the site's Google Cloud project is used up; retried after it resets \
                     at midnight Pacific time ({} UTC). A higher quota can be requested in the Google Cloud console.",
                    sentence(&e.message),
                    reset.format("%Y-%m-%d %H:%M")
                ),
            }
        }
        Some(UsageLimit::Calendar) => {
            // At least 10 minutes, twice the last wait, at most 4 hours. The growth follows the
            // waits, not the attempts: this failure uses none up (`uses_attempt`).
            let delay_s = last_wait_s.saturating_mul(2).clamp(600, 4 * 3600);
            Later {
                delay_s,
                note: format!(
                    "{} The doctor's Google account reached Google Calendar's usage limits (too many events or invitations \
                     in a short time); retried in {}.",
                    sentence(&e.message),
                    minutes_text(delay_s)
                ),
            }
        }
        None => Later { delay_s: job_backoff_s(attempts), note: e.message.clone() },
    }
}

fn sentence(message: &str) -> String {
    let m = message.trim_end();
    if m.ends_with('.') { m.to_string() } else { format!("{m}.") }
}

fn minutes_text(s: i64) -> String {
    match s / 60 {
        m if m >= 120 && m % 60 == 0 => format!("{} hours", m / 60),
        m => format!("{m} minutes"),
    }
}

/// The next midnight in America/Los_Angeles after `now`, as a UTC instant.
fn next_pacific_midnight(now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::{Days, TimeZone};
    let tz = chrono_tz::America::Los_Angeles;
    let tomorrow = now.with_timezone(&tz).date_naive() + Days::new(1);
    // Midnight exists on every day there (DST changes happen at 02:00).
    tz.from_local_datetime(&tomorrow.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or(now + chrono::Duration::days(1))
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
                // A usage limit goes to the job queue at once: retrying now only spends quota.
                if !retry_in_call(&e) {
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
        assert!(is_transient(&Error::google(403, Some("quotaExceeded".into()), "x")));
        assert!(is_transient(&Error::google(403, Some("dailyLimitExceeded".into()), "x")));
        assert!(!is_transient(&Error::google(403, Some("forbidden".into()), "x")));
        assert!(!is_transient(&Error::google(400, None, "x")));
        assert!(!is_transient(&Error::google(404, None, "x")));
        assert!(is_transient(&Error::new(Code::GoogleUnreachable, "x")));
        assert!(is_transient(&Error::new(Code::LockTimeout, "x")));
        assert!(is_transient(&Error::new(Code::DbUnreachable, "x")));
        assert!(!is_transient(&Error::new(Code::DbQuery, "x")));
    }

    fn usage_limit_error(reason: &str, message: &str) -> Error {
        Error::google(403, Some(reason.into()), message)
    }

    #[test]
    fn usage_limits_may_succeed_later_but_are_not_retried_within_the_call() {
        for reason in ["quotaExceeded", "dailyLimitExceeded"] {
            let e = usage_limit_error(reason, "x");
            assert!(is_transient(&e), "{reason} goes away by itself");
            assert!(!retry_in_call(&e), "{reason}: retrying at once only spends quota");
            let mut n = 0;
            let t = Instant::now();
            let r: Result<()> = with_backoff(Duration::from_secs(30), || {
                n += 1;
                Err(usage_limit_error(reason, "x"))
            }, |_, _| {});
            assert_eq!((r.unwrap_err().reason.as_deref(), n), (Some(reason), 1));
            assert!(t.elapsed() < Duration::from_millis(200));
        }
        assert!(retry_in_call(&usage_limit_error("rateLimitExceeded", "x")));
        assert!(is_daily_limit(&usage_limit_error("dailyLimitExceeded", "x")));
        assert!(!is_daily_limit(&usage_limit_error("quotaExceeded", "x")));
    }

    fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&chrono::Utc)
    }

    #[test]
    fn a_daily_limit_waits_until_midnight_pacific_time() {
        let e = usage_limit_error("dailyLimitExceeded", "Daily Limit Exceeded");
        // 07:00 PST: the quota resets at 08:00 UTC the next day.
        let l = later_at(&e, 0, 0, at("2026-12-06T15:00:00Z"));
        assert_eq!(l.delay_s, 17 * 3600 + DAILY_RESET_MARGIN_S);
        assert!(l.note.starts_with("Google answered HTTP 403 (dailyLimitExceeded): Daily Limit Exceeded. The daily Google Calendar API quota"), "{}", l.note);
        assert!(l.note.contains("(2026-12-07 08:00 UTC)"), "{}", l.note);
        // 23:30 PDT: half an hour to go, and the offset is summer time's.
        assert_eq!(later_at(&e, 3, 0, at("2026-07-01T06:30:00Z")).delay_s, 1800 + DAILY_RESET_MARGIN_S);
        // Just after the reset: a whole day.
        assert_eq!(later_at(&e, 0, 0, at("2026-12-07T08:00:00Z")).delay_s, 24 * 3600 + DAILY_RESET_MARGIN_S);
    }

    #[test]
    fn calendar_usage_limits_wait_minutes_growing_to_hours() {
        let e = usage_limit_error("quotaExceeded", "Calendar usage limits exceeded.");
        let now = at("2026-12-06T15:00:00Z");
        // Queued first (no wait yet), after a 30 s backoff, then after each of its own waits.
        let delays: Vec<i64> = [0, 30, 600, 1200, 4800, 9600, 14400, 86400].iter().map(|&w| later_at(&e, 0, w, now).delay_s).collect();
        assert_eq!(delays, vec![600, 600, 1200, 2400, 9600, 14400, 14400, 14400]);
        assert_eq!(later_at(&e, 14, 0, now).delay_s, 600, "the attempts do not make it grow");
        let note = later_at(&e, 0, 0, now).note;
        assert!(note.starts_with("Google answered HTTP 403 (quotaExceeded): Calendar usage limits exceeded. The doctor's Google account"), "{note}");
        assert!(note.ends_with("retried in 10 minutes."), "{note}");
        assert!(later_at(&e, 0, 9600, now).note.ends_with("retried in 4 hours."));
    }

    #[test]
    fn only_usage_limits_leave_a_jobs_attempts_alone() {
        assert!(!uses_attempt(&usage_limit_error("quotaExceeded", "x")));
        assert!(!uses_attempt(&usage_limit_error("dailyLimitExceeded", "x")));
        assert!(uses_attempt(&usage_limit_error("rateLimitExceeded", "x")));
        assert!(uses_attempt(&Error::google(503, None, "x")));
        assert!(uses_attempt(&Error::new(Code::GoogleUnreachable, "x")));
        assert!(uses_attempt(&Error::new(Code::LockTimeout, "x")));
    }

    #[test]
    fn other_transient_failures_keep_the_job_backoff_and_googles_message() {
        let e = Error::google(503, None, "down");
        assert_eq!(later_at(&e, 0, 0, chrono::Utc::now()), Later { delay_s: 30, note: e.message.clone() });
        assert_eq!(later_at(&e, 7, 0, chrono::Utc::now()).delay_s, 3600);
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
