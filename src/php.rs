//! The PHP boundary: the only module that imports ext-php-rs.
//!
//! Each `kc_meet_*` function converts its arguments, makes one call into the domain modules,
//! and converts the result, or maps the [`Error`] onto a `KcMeet\…` exception with its stable
//! code. No SQL, no HTTP, no loops here. The exception classes are registered at MINIT as plain
//! subclasses of `\Exception` (so PHP code can catch and extend them, and thrown ones carry a
//! real file, line and trace). Nothing long-lived is created at module load: see
//! [`crate::runtime`].

use ext_php_rs::builders::ClassBuilder;
use ext_php_rs::exception::PhpException;
use ext_php_rs::prelude::*;
use ext_php_rs::boxed::ZBox;
use ext_php_rs::convert::FromZval;
use ext_php_rs::flags::DataType;
use ext_php_rs::types::{ZendHashTable, Zval};
use ext_php_rs::zend::{ClassEntry, ModuleEntry, ce};
use ext_php_rs::{info_table_end, info_table_row, info_table_start};
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use serde::Serialize;
use serde_json::Value;

use crate::error::{Code, Error, ErrorKind};
use crate::runtime::{self, Context};
use crate::{channels, connection, events, grant, health, jobs, privacy, reconcile, screens, sync};

const BASE: &str = "KcMeet\\Exception";

fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Configuration => "KcMeet\\ConfigurationException",
        ErrorKind::Database => "KcMeet\\DatabaseException",
        ErrorKind::GoogleApi => "KcMeet\\GoogleApiException",
        ErrorKind::Authorization => "KcMeet\\AuthorizationException",
        ErrorKind::InvalidArgument => "KcMeet\\InvalidArgumentException",
    }
}

/// Class entries as registered at MINIT: [base, configuration, database, google, authorization,
/// invalid argument]. Written once by the registration callbacks, read-only afterwards.
static CLASSES: [AtomicPtr<ClassEntry>; 6] = [const { AtomicPtr::new(std::ptr::null_mut()) }; 6];

fn slot(kind: Option<ErrorKind>) -> usize {
    match kind {
        None => 0,
        Some(ErrorKind::Configuration) => 1,
        Some(ErrorKind::Database) => 2,
        Some(ErrorKind::GoogleApi) => 3,
        Some(ErrorKind::Authorization) => 4,
        Some(ErrorKind::InvalidArgument) => 5,
    }
}

fn registered(kind: Option<ErrorKind>) -> &'static ClassEntry {
    let ptr = CLASSES[slot(kind)].load(Ordering::Acquire);
    // SAFETY: the pointer was handed to us by the engine at MINIT and class entries of internal
    // classes live until the module shuts down; null only if registration failed, and then the
    // module did not start at all.
    unsafe { ptr.as_ref() }.unwrap_or_else(ce::exception)
}

fn base_ce() -> &'static ClassEntry {
    registered(None)
}

/// The one mapping from our errors to PHP exceptions.
fn to_php(e: Error) -> PhpException {
    let class = registered(Some(e.kind()));
    PhpException::new(e.message, e.code as i32, class)
}

type PhpResult<T> = Result<T, PhpException>;

/// Registers the exception classes and a panic hook that prints no payload (a panic message
/// could quote data; the FPM log is not the place for it).
extern "C" fn startup(_ty: i32, _module_number: i32) -> i32 {
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("kc_meet: internal error at {at} (reported to PHP as \\Error)");
    }));
    fn keep<const N: usize>(ce: &'static mut ClassEntry, _: ext_php_rs::args::ArgInfoTables) {
        CLASSES[N].store(ce, Ordering::Release);
    }
    let ok = ClassBuilder::new(BASE).extends((ce::exception, "Exception")).registration(keep::<0>).register().is_ok()
        && ClassBuilder::new(class_name(ErrorKind::Configuration)).extends((base_ce, BASE)).registration(keep::<1>).register().is_ok()
        && ClassBuilder::new(class_name(ErrorKind::Database)).extends((base_ce, BASE)).registration(keep::<2>).register().is_ok()
        && ClassBuilder::new(class_name(ErrorKind::GoogleApi)).extends((base_ce, BASE)).registration(keep::<3>).register().is_ok()
        && ClassBuilder::new(class_name(ErrorKind::Authorization)).extends((base_ce, BASE)).registration(keep::<4>).register().is_ok()
        && ClassBuilder::new(class_name(ErrorKind::InvalidArgument)).extends((base_ce, BASE)).registration(keep::<5>).register().is_ok();
    if ok { 0 } else { 1 }
}

extern "C" fn info(_module: *mut ModuleEntry) {
    info_table_start!();
    info_table_row!("kc_meet support", "enabled");
    info_table_row!("version", crate::VERSION);
    info_table_end!();
}

// ----- value conversion ----------------------------------------------------------------------

/// How deep an argument array may nest. KiviCare's data is two levels deep at most (options →
/// a list of services); the conversion recurses, and a PHP array can be nested deeper than the
/// C stack can follow.
const MAX_DEPTH: usize = 64;

/// Converts a PHP argument array. Refused (the message names `what`): nesting deeper than
/// [`MAX_DEPTH`], an array that contains itself (through a reference), a string or key that is
/// not valid UTF-8, a float that is not finite, an object or a resource. Nothing is dropped
/// silently: a value that cannot be converted is an error, never a missing key.
fn table_to_value(t: &ZendHashTable, what: &str) -> Result<Value, String> {
    let mut open = Vec::new();
    convert_table(t, &mut open).map_err(|problem| format!("{what} {problem}"))
}

fn convert_table(t: &ZendHashTable, open: &mut Vec<*const ZendHashTable>) -> Result<Value, &'static str> {
    let here: *const ZendHashTable = t;
    if open.contains(&here) {
        return Err("contains itself (a reference cycle)");
    }
    if open.len() >= MAX_DEPTH {
        return Err("is nested too deeply");
    }
    open.push(here);
    // `next_zval` rather than `iter()` or `has_sequential_keys()`: their `ArrayKey` conversion
    // panics on a string key that is not valid UTF-8.
    let mut entries = Vec::with_capacity(t.len());
    let mut sequential = !t.is_empty();
    let mut it = t.iter();
    while let Some((k, v)) = it.next_zval() {
        let key = match k.long() {
            Some(n) => {
                sequential &= usize::try_from(n) == Ok(entries.len());
                n.to_string()
            }
            None => {
                sequential = false;
                utf8(k.zend_str().map(|s| s.as_bytes()).unwrap_or_default())?.to_string()
            }
        };
        entries.push((key, convert_zval(v, open)?));
    }
    open.pop();
    Ok(if sequential {
        Value::Array(entries.into_iter().map(|(_, v)| v).collect())
    } else {
        Value::Object(entries.into_iter().collect())
    })
}

fn convert_zval(z: &Zval, open: &mut Vec<*const ZendHashTable>) -> Result<Value, &'static str> {
    let z = z.dereference();
    if let Some(b) = z.bool() {
        return Ok(Value::Bool(b));
    }
    if let Some(n) = z.long() {
        return Ok(Value::from(n));
    }
    if let Some(f) = z.double() {
        return serde_json::Number::from_f64(f).map(Value::Number).ok_or("holds a number that is not finite");
    }
    if let Some(s) = z.zend_str() {
        return utf8(s.as_bytes()).map(|s| Value::String(s.to_string()));
    }
    if let Some(arr) = z.array() {
        return convert_table(arr, open);
    }
    if z.is_null() || z.get_type() == DataType::Undef {
        return Ok(Value::Null);
    }
    Err("holds an object or resource where only arrays, strings, numbers, booleans and null belong")
}

fn utf8(bytes: &[u8]) -> Result<&str, &'static str> {
    std::str::from_utf8(bytes).map_err(|_| "holds a string that is not valid UTF-8")
}

/// An argument array of a domain call: refused with `InvalidArgument` (5001).
fn arg(t: &ZendHashTable, what: &str) -> PhpResult<Value> {
    table_to_value(t, what).map_err(|m| to_php(Error::invalid_argument(m)))
}

/// A PHP `string` argument taken as bytes, so that one that is not valid UTF-8 is refused with
/// `InvalidArgument` (5001) and a message naming it, instead of ext-php-rs's generic TypeError.
/// Any other type is still a TypeError.
pub struct Text<'a>(&'a [u8]);

impl<'a> FromZval<'a> for Text<'a> {
    const TYPE: DataType = DataType::String;

    fn from_zval(z: &'a Zval) -> Option<Self> {
        z.zend_str().map(|s| Text(s.as_bytes()))
    }
}

impl<'a> Text<'a> {
    fn utf8(&self, what: &str) -> PhpResult<&'a str> {
        utf8(self.0).map_err(|m| to_php(Error::invalid_argument(format!("{what} {m}"))))
    }
}

/// An id argument that must name something: ids are positive.
fn positive_id(id: i64, what: &str) -> PhpResult<u64> {
    u64::try_from(id).ok().filter(|d| *d > 0).ok_or_else(|| to_php(Error::invalid_argument(format!("{what} must be positive"))))
}

fn value_to_zval(v: &Value) -> PhpResult<Zval> {
    let mut z = Zval::new();
    match v {
        Value::Null => z.set_null(),
        Value::Bool(b) => z.set_bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => z.set_long(i),
            None => z.set_double(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => z.set_string(s, false).map_err(|e| PhpException::from_message(e.to_string()))?,
        Value::Array(items) => {
            let mut ht = ZendHashTable::new();
            for item in items {
                ht.push(value_to_zval(item)?).map_err(|e| PhpException::from_message(e.to_string()))?;
            }
            z.set_hashtable(ht);
        }
        Value::Object(map) => {
            let mut ht = ZendHashTable::new();
            for (k, item) in map {
                ht.insert(k.as_str(), value_to_zval(item)?).map_err(|e| PhpException::from_message(e.to_string()))?;
            }
            z.set_hashtable(ht);
        }
    }
    Ok(z)
}

/// Converts a result struct into a PHP array (or throws).
fn out<T: Serialize>(r: crate::error::Result<T>) -> PhpResult<ZBox<ZendHashTable>> {
    let v = r.map_err(to_php)?;
    let mut ht = ZendHashTable::new();
    if let Value::Object(map) = serde_json::to_value(v).expect("results always serialize") {
        for (k, item) in &map {
            ht.insert(k.as_str(), value_to_zval(item)?).map_err(|e| PhpException::from_message(e.to_string()))?;
        }
    }
    Ok(ht)
}

/// Whether `kc_meet_configure()` accepted a configuration in this request. The runtime (the last
/// configuration, the pool, the HTTPS client) lives as long as the worker, so a request that
/// calls no kc_meet function pays nothing and the next configure is a comparison; but every
/// request names its site itself: a worker serving several sites (a multisite network, several
/// WordPress installs in one pool) never acts on the site of the request before.
static CONFIGURED: AtomicBool = AtomicBool::new(false);

/// Request shutdown: the next request must configure again (see [`CONFIGURED`]).
extern "C" fn request_shutdown(_ty: i32, _module_number: i32) -> i32 {
    CONFIGURED.store(false, Ordering::Release);
    0
}

fn ctx() -> PhpResult<std::sync::Arc<Context>> {
    if !CONFIGURED.load(Ordering::Acquire) {
        return Err(to_php(Error::new(Code::NotConfigured, "kc_meet_configure() has not been called in this request")));
    }
    runtime::context().map_err(to_php)
}

// ----- functions -------------------------------------------------------------------------------

/// The extension's version.
#[php_function]
pub fn kc_meet_version() -> String {
    crate::VERSION.to_string()
}

/// Configures the extension for the current site (call on every request and on `switch_blog`;
/// cheap when nothing changed). Keys: db_host, db_user, db_password, db_name, db_charset,
/// table_prefix, base_prefix, client_id, client_secret, redirect_uri, encryption_key,
/// encryption_key_previous, timezone, endpoints, ca_file, allow_insecure_loopback.
/// A refused configuration leaves the request unconfigured: the other functions throw 1002 until
/// a configuration is accepted.
/// @throws \KcMeet\ConfigurationException on unknown keys or malformed values (code 1001)
#[php_function]
pub fn kc_meet_configure(site: &ZendHashTable) -> PhpResult<()> {
    // A refused configuration leaves the request unconfigured: a caller that catches the
    // exception must not go on acting on the site configured before it. The common call names
    // a site configured before in this worker: `runtime::configure` recognises it by its array.
    CONFIGURED.store(false, Ordering::Release);
    let site = table_to_value(site, "the configuration").map_err(|m| to_php(Error::config(m)))?;
    runtime::configure(&site).map_err(to_php)?;
    CONFIGURED.store(true, Ordering::Release);
    Ok(())
}

/// Creates or upgrades kc-meet's tables (idempotent), and KiviCare's mapping table when missing.
/// Returns schema_version, previous_version, tables, mapping_table ('created'|'exists').
#[php_function]
pub fn kc_meet_migrate() -> PhpResult<ZBox<ZendHashTable>> {
    out(ctx()?.store.migrate())
}

/// The Google authorization URL that connects $doctor_id, started by $initiator_user_id. Its
/// single-use state expires in 10 minutes.
#[php_function]
pub fn kc_meet_auth_url(doctor_id: i64, initiator_user_id: i64) -> PhpResult<String> {
    connection::auth_url(&*ctx()?, doctor_id, initiator_user_id).map_err(to_php)
}

/// Completes the OAuth redirect: verifies $state, exchanges $code, stores the tokens encrypted.
/// $user_id is the logged-in user who brought the redirect back (the OAuth callback must pass
/// it): it must be the user who started the flow, else AuthorizationException 4002.
/// Returns doctor_id, status, email, calendar_id, scopes, initiator_user_id.
#[php_function]
pub fn kc_meet_connect(doctor_id: i64, code: Text, state: Text, user_id: Option<i64>) -> PhpResult<ZBox<ZendHashTable>> {
    let (code, state) = (code.utf8("code")?, state.utf8("state")?);
    out(connection::connect(&*ctx()?, doctor_id, code, state, user_id))
}

/// Connects with a code from Google Identity Services' popup (KiviCare 3.x, redirect URI
/// `postmessage`). Call only where the caller already verified the nonce and the user.
#[php_function]
pub fn kc_meet_connect_postmessage(doctor_id: i64, code: Text) -> PhpResult<ZBox<ZendHashTable>> {
    let code = code.utf8("code")?;
    out(connection::connect_postmessage(&*ctx()?, doctor_id, code))
}

/// The doctor's connection state (no Google request): doctor_id, status
/// ('connected'|'not_connected'|'needs_reconnect'), email, calendar_id, scopes,
/// token_expires_at, connected_at, last_error, last_error_at.
#[php_function]
pub fn kc_meet_status(doctor_id: i64) -> PhpResult<ZBox<ZendHashTable>> {
    out(grant::status(&*ctx()?, doctor_id))
}

/// Asks Google whether the doctor's connection works (refreshing the token when due) and
/// returns the status.
#[php_function]
pub fn kc_meet_check_connection(doctor_id: i64) -> PhpResult<ZBox<ZendHashTable>> {
    out(connection::check_connection(&*ctx()?, doctor_id))
}

/// Revokes the doctor's grant at Google and erases the tokens. Returns doctor_id, status,
/// was_connected, revoked, revoke_error.
#[php_function]
pub fn kc_meet_disconnect(doctor_id: i64) -> PhpResult<ZBox<ZendHashTable>> {
    out(connection::disconnect(&*ctx()?, doctor_id))
}

/// Version, configuration problems, database reachability, schema version and every
/// doctor's state. Never throws.
#[php_function]
pub fn kc_meet_health() -> PhpResult<ZBox<ZendHashTable>> {
    out(Ok::<_, Error>(health::report(CONFIGURED.load(Ordering::Acquire))))
}

fn opt_value(t: Option<&ZendHashTable>, what: &str) -> PhpResult<Value> {
    t.map_or(Ok(Value::Null), |t| arg(t, what))
}

/// An options array (`key => value`): a non-empty list is refused, or its values would be
/// taken for options in their declaration order.
fn opt_map(t: Option<&ZendHashTable>, what: &str) -> PhpResult<Value> {
    match opt_value(t, what)? {
        Value::Array(a) if !a.is_empty() => Err(to_php(Error::invalid_argument(format!("{what} must be an array of key => value, not a list")))),
        v => Ok(v),
    }
}

/// Creates the appointment's Google Calendar event with a Meet link, or brings it up to date.
/// $appointment carries what KiviCare handed over (see the README); what is missing is read from
/// KiviCare's tables. Returns appointment_id, state (created|updated|deleted|unchanged|pending|
/// queued|skipped), reason, event_id, meet_url, event_url, doctor_id, warnings.
#[php_function]
pub fn kc_meet_create_event(appointment_id: i64, appointment: Option<&ZendHashTable>) -> PhpResult<ZBox<ZendHashTable>> {
    let appointment = opt_map(appointment, "appointment")?;
    out(events::create(&*ctx()?, appointment_id, &appointment))
}

/// Moves the appointment's event to the appointment's time (same Meet link), creating it when
/// missing and removing it when the appointment is cancelled. Same result as create.
#[php_function]
pub fn kc_meet_update_event(appointment_id: i64, appointment: Option<&ZendHashTable>) -> PhpResult<ZBox<ZendHashTable>> {
    let appointment = opt_map(appointment, "appointment")?;
    out(events::update(&*ctx()?, appointment_id, &appointment))
}

/// Deletes the appointment's event (attendees are told) and its mapping row.
#[php_function]
pub fn kc_meet_delete_event(appointment_id: i64) -> PhpResult<ZBox<ZendHashTable>> {
    out(events::delete(&*ctx()?, appointment_id))
}

/// Gives the appointment's event a new Google Meet link: the same event gets a new conference
/// (a new conference requestId), the mapping row the new link, and attendees are told. An
/// appointment without an event gets one. Same result as create, with state 'regenerated'.
#[php_function]
pub fn kc_meet_regenerate_event(appointment_id: i64, appointment: Option<&ZendHashTable>) -> PhpResult<ZBox<ZendHashTable>> {
    let appointment = opt_map(appointment, "appointment")?;
    out(events::regenerate(&*ctx()?, appointment_id, &appointment))
}

/// Runs due background jobs under a lock, within $budget_s seconds. Returns ran, done, retried,
/// failed, skipped_locked, remaining_due and a line per job.
#[php_function]
#[php(defaults(limit = 50, budget_s = 20.0))]
pub fn kc_meet_run_jobs(limit: i64, budget_s: f64) -> PhpResult<ZBox<ZendHashTable>> {
    out(jobs::run(&*ctx()?, limit, budget_s))
}

/// Lists background jobs; $opts: state ('queued'|'failed'; any when absent), limit (1..1000,
/// default 100). Returns jobs.
/// @throws \KcMeet\InvalidArgumentException on an unknown option or a bad value (code 5001)
#[php_function]
pub fn kc_meet_jobs(opts: Option<&ZendHashTable>) -> PhpResult<ZBox<ZendHashTable>> {
    let opts = opt_map(opts, "opts")?;
    out(jobs::list(&*ctx()?, &opts).map(|jobs| serde_json::json!({ "jobs": jobs })))
}

/// Makes a job due now (after an admin fixed its cause). Returns the job.
#[php_function]
pub fn kc_meet_retry_job(job_id: i64) -> PhpResult<ZBox<ZendHashTable>> {
    out(jobs::retry(&*ctx()?, job_id))
}

/// Finds and fixes events whose appointment is gone or cancelled, and telemedicine
/// appointments without an event. $opts: dry_run, doctor_id, from, to, create_missing,
/// remove_orphans, limit, budget_s.
#[php_function]
pub fn kc_meet_reconcile(opts: Option<&ZendHashTable>) -> PhpResult<ZBox<ZendHashTable>> {
    let opts = opt_map(opts, "opts")?;
    out(reconcile::reconcile(&*ctx()?, &opts))
}

/// Everything known about an appointment's event: mapping, event, job, audit trail.
#[php_function]
pub fn kc_meet_appointment_state(appointment_id: i64) -> PhpResult<ZBox<ZendHashTable>> {
    out(events::state(&*ctx()?, appointment_id))
}

/// The appointment's mapping row (event_id, url, event_url, password, created_at) or null,
/// read on the extension's own connection: it shows what the extension wrote even inside
/// KiviCare core's open transaction.
#[php_function]
pub fn kc_meet_mapping(appointment_id: i64) -> PhpResult<Option<ZBox<ZendHashTable>>> {
    match events::mapping(&*ctx()?, appointment_id).map_err(to_php)? {
        Some(m) => out(Ok::<_, Error>(m)).map(Some),
        None => Ok(None),
    }
}

/// Incremental two-way sync; $opts: doctor_id (else every connected doctor, concurrently),
/// full (ignore the sync token), budget_s. Returns per doctor: pages, events_seen,
/// changes_applied, remaining, skipped, error, changes; and remaining, google_calls.
#[php_function]
pub fn kc_meet_sync(opts: Option<&ZendHashTable>) -> PhpResult<ZBox<ZendHashTable>> {
    let opts = opt_map(opts, "opts")?;
    out(sync::sync(&*ctx()?, &opts))
}

/// Checks a Google push message by its X-Goog-* headers (no Google request for a bad one) and
/// acts on it. Returns status (the HTTP status to answer), action, reason, doctor_id, changes.
#[php_function]
pub fn kc_meet_handle_notification(headers: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
    // Headers that cannot be converted are a malformed request: 400, as for a missing header.
    let Ok(headers) = table_to_value(headers, "headers") else {
        let rejected = channels::NotificationResult { status: 400, action: "rejected", reason: Some("malformed_headers"), doctor_id: None, changes: vec![] };
        return out(Ok::<_, Error>(rejected));
    };
    out(channels::handle_notification(&*ctx()?, &headers))
}

/// Renews push channels that expire within a day and opens missing ones (stops them all when
/// the site has no HTTPS notification URL). Returns created, renewed, stopped, failures.
#[php_function]
pub fn kc_meet_renew_channels() -> PhpResult<ZBox<ZendHashTable>> {
    out(channels::renew_channels(&*ctx()?))
}

/// Active push channels, of one doctor or all (0).
#[php_function]
#[php(defaults(doctor_id = 0))]
pub fn kc_meet_channels(doctor_id: i64) -> PhpResult<ZBox<ZendHashTable>> {
    let d = if doctor_id == 0 { None } else { Some(positive_id(doctor_id, "doctor_id")?) };
    out(channels::channels(&*ctx()?, d).map(|c| serde_json::json!({ "channels": c })))
}

/// Stops the doctor's push channels. Returns stopped.
#[php_function]
pub fn kc_meet_stop_channels(doctor_id: i64) -> PhpResult<ZBox<ZendHashTable>> {
    let d = positive_id(doctor_id, "doctor_id")?;
    out(channels::stop_doctor_channels(&*ctx()?, d).map(|n| serde_json::json!({ "doctor_id": d, "stopped": n })))
}

/// A page of the site's telemedicine appointments with the state of their Google event, in one
/// query. $opts: doctor_id, state (linked|pending|queued|failed|flagged|removed|missing), from,
/// to (local dates Y-m-d), appointment_id, order (asc|desc), page (from 1), per_page (max 500).
/// Returns rows, total, page, per_page.
/// @throws \KcMeet\InvalidArgumentException on an unknown option or a malformed filter (code 5001)
#[php_function]
pub fn kc_meet_appointments(opts: Option<&ZendHashTable>) -> PhpResult<ZBox<ZendHashTable>> {
    let opts = opt_map(opts, "opts")?;
    out(screens::appointments(&*ctx()?, &opts))
}

/// A page of the site's KiviCare doctors (connected or not) with their connection, calendar,
/// push channel, last sync and job counts, in one query. $opts: status (connected|
/// needs_reconnect|not_connected), doctor_id, search, page, per_page. Returns rows, total,
/// page, per_page.
/// @throws \KcMeet\InvalidArgumentException on an unknown option or a malformed filter (code 5001)
#[php_function]
pub fn kc_meet_doctors(opts: Option<&ZendHashTable>) -> PhpResult<ZBox<ZendHashTable>> {
    let opts = opt_map(opts, "opts")?;
    out(screens::doctors(&*ctx()?, &opts))
}

/// What kc-meet keeps about a WordPress user (for the personal-data exporter): connection,
/// audit rows about them, events of the appointments they are doctor or patient of. No Google
/// request.
#[php_function]
pub fn kc_meet_privacy_export(user_id: i64) -> PhpResult<ZBox<ZendHashTable>> {
    out(privacy::export(&*ctx()?, user_id))
}

/// Erases what kc-meet keeps about a user (personal-data eraser): disconnects their Google
/// account (channels stopped, grant revoked, tokens erased) and removes the audit rows about
/// them. Returns disconnected, revoked, revoke_error, audit_rows_removed, appointments_retained.
#[php_function]
pub fn kc_meet_privacy_erase(user_id: i64) -> PhpResult<ZBox<ZendHashTable>> {
    out(privacy::erase(&*ctx()?, user_id))
}

#[php_module]
pub fn get_module(module: ModuleBuilder) -> ModuleBuilder {
    module
        .startup_function(startup)
        .request_shutdown_function(request_shutdown)
        .info_function(info)
        .function(wrap_function!(kc_meet_version))
        .function(wrap_function!(kc_meet_configure))
        .function(wrap_function!(kc_meet_migrate))
        .function(wrap_function!(kc_meet_auth_url))
        .function(wrap_function!(kc_meet_connect))
        .function(wrap_function!(kc_meet_connect_postmessage))
        .function(wrap_function!(kc_meet_status))
        .function(wrap_function!(kc_meet_check_connection))
        .function(wrap_function!(kc_meet_disconnect))
        .function(wrap_function!(kc_meet_health))
        .function(wrap_function!(kc_meet_create_event))
        .function(wrap_function!(kc_meet_update_event))
        .function(wrap_function!(kc_meet_delete_event))
        .function(wrap_function!(kc_meet_regenerate_event))
        .function(wrap_function!(kc_meet_run_jobs))
        .function(wrap_function!(kc_meet_jobs))
        .function(wrap_function!(kc_meet_retry_job))
        .function(wrap_function!(kc_meet_reconcile))
        .function(wrap_function!(kc_meet_appointment_state))
        .function(wrap_function!(kc_meet_mapping))
        .function(wrap_function!(kc_meet_sync))
        .function(wrap_function!(kc_meet_handle_notification))
        .function(wrap_function!(kc_meet_renew_channels))
        .function(wrap_function!(kc_meet_channels))
        .function(wrap_function!(kc_meet_stop_channels))
        .function(wrap_function!(kc_meet_appointments))
        .function(wrap_function!(kc_meet_doctors))
        .function(wrap_function!(kc_meet_privacy_export))
        .function(wrap_function!(kc_meet_privacy_erase))
        .function(wrap_function!(kc_meet_review_move))
}

/// An administrator's review of a move made in Google Calendar. $action: 'flag' (mark the
/// event as moved in Google, for the screens), 'accept' or 'revert' (the appointment takes
/// $times = [start_utc, end_utc] ('Y-m-d H:i:s' UTC), written as KiviCare stores it, the flag is
/// cleared and the event follows, only while the flag is there: idempotent). Returns
/// appointment_id, action, flagged, reviewed, moved,
/// start_utc, end_utc, event (as kc_meet_update_event()).
/// @throws \KcMeet\InvalidArgumentException on a bad id, action or time
#[php_function]
pub fn kc_meet_review_move(appointment_id: i64, action: String, times: Option<&ZendHashTable>) -> PhpResult<ZBox<ZendHashTable>> {
    let times = opt_value(times, "times")?;
    out(crate::review::review_move(&*ctx()?, appointment_id, &action, &times))
}
