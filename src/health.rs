//! `kc_meet_health()`: what an admin needs to see to trust the integration.
//!
//! Owns the report only. It never throws for a broken database or configuration: those are
//! what it reports.

use serde::Serialize;

use crate::base::config::Problem;
use crate::grant::{self, DoctorStatus};
use crate::runtime;
use crate::store::SCHEMA_VERSION;

#[derive(Debug, Serialize)]
pub struct ProblemOut {
    pub code: &'static str,
    pub message: String,
}

impl From<Problem> for ProblemOut {
    fn from(p: Problem) -> Self {
        ProblemOut { code: p.code, message: p.message }
    }
}

#[derive(Debug, Serialize)]
pub struct Db {
    pub reachable: bool,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Endpoints {
    pub auth: String,
    pub token: String,
    pub revoke: String,
    pub calendar: String,
}

#[derive(Debug, Serialize)]
pub struct Health {
    pub version: &'static str,
    pub configured: bool,
    pub db: Db,
    pub schema_version: Option<i64>,
    pub schema_expected: i64,
    pub problems: Vec<ProblemOut>,
    pub endpoints: Option<Endpoints>,
    pub doctors: Vec<DoctorStatus>,
    /// `push` (an HTTPS notification route) or `polling`.
    pub sync_mode: &'static str,
}

/// Builds the report for the configured site.
pub fn report(configured_in_request: bool) -> Health {
    let mut h = Health {
        version: crate::VERSION,
        configured: false,
        db: Db { reachable: false, error: None },
        schema_version: None,
        schema_expected: SCHEMA_VERSION,
        problems: vec![],
        endpoints: None,
        doctors: vec![],
        sync_mode: "polling",
    };
    // Only this request's configuration counts: the worker's last one may be another site's,
    // or one this request's configuration replaced and that was then rejected.
    let Some(config) = runtime::config().filter(|_| configured_in_request) else {
        h.problems.push(ProblemOut {
            code: "not_configured",
            message: "kc_meet_configure() has not been called in this request, or rejected the configuration.".into(),
        });
        return h;
    };
    h.endpoints = Some(Endpoints {
        auth: config.endpoints.auth.to_string(),
        token: config.endpoints.token.to_string(),
        revoke: config.endpoints.revoke.to_string(),
        calendar: config.endpoints.calendar.to_string(),
    });
    h.problems.extend(config.problems().into_iter().map(ProblemOut::from));
    h.configured = config.oauth_ready().is_ok();
    h.sync_mode = if config.push_enabled() { "push" } else { "polling" };
    let ctx = match runtime::context().and_then(|ctx| ctx.store.ping().map(|_| ctx)) {
        Ok(ctx) => ctx,
        Err(e) => {
            h.db.error = Some(e.message.clone());
            h.problems.push(ProblemOut { code: "db_unreachable", message: e.message });
            return h;
        }
    };
    h.db.reachable = true;
    match ctx.store.schema_version() {
        Ok(v) => h.schema_version = v,
        Err(e) => h.db.error = Some(e.message),
    }
    if h.schema_version.unwrap_or(0) < SCHEMA_VERSION {
        h.problems.push(ProblemOut {
            code: "schema_outdated",
            message: "kc-meet's tables are missing or outdated: run `wp kc-meet migrate` or re-activate the plugin.".into(),
        });
        return h;
    }
    match grant::all_statuses(&ctx) {
        Ok(list) => h.doctors = list,
        Err(e) => h.db.error = Some(e.message),
    }
    for d in h.doctors.iter().filter(|d| d.status == grant::ConnectionState::NeedsReconnect) {
        h.problems.push(ProblemOut {
            code: "doctor_needs_reconnect",
            message: format!("Doctor {} ({}) must reconnect Google Calendar.", d.doctor_id, d.email.as_deref().unwrap_or("unknown account")),
        });
    }
    h
}
