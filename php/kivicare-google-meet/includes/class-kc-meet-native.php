<?php
/**
 * Thin facade over the kc_meet extension.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * The only place that calls the `kc_meet_*` functions (apart from the plugin bootstrap's
 * `kc_meet_configure()`). The plugin runs only when the loaded extension has every one of them
 * ({@see KC_Meet_Plugin::FUNCTIONS}).
 *
 * Every method makes sure the extension is configured for the current site first and throws
 * the extension's `\KcMeet\ConfigurationException` when it is not (so a failed configuration
 * can never act on another site's tables). Methods that write user meta through the
 * extension's own MySQL connection (connect, disconnect) clear WordPress's user cache for that
 * user afterwards. All methods throw `\KcMeet\Exception` subclasses as documented in the
 * extension's API; none of their messages contains a secret. Calls that meet Google or run jobs
 * set the managers' attention marker when they meet trouble ({@see self::watched()}).
 */
final class KC_Meet_Native {

	/**
	 * Calls a native function that can meet trouble a manager must see (a Google or database
	 * failure, a connection that needs a reconnect, a failed job or event) and then sets the
	 * managers' attention marker ({@see KC_Meet_Doctor_Notices::flag()}; no write when it is set).
	 *
	 * @param callable $fn      Native function.
	 * @param mixed    ...$args Its arguments.
	 * @return mixed Its result.
	 * @throws \KcMeet\Exception What it throws.
	 */
	private static function watched( callable $fn, ...$args ) {
		try {
			$result = $fn( ...$args );
		} catch ( \KcMeet\Exception $e ) {
			if ( ! $e instanceof \KcMeet\InvalidArgumentException ) {
				KC_Meet_Doctor_Notices::flag();
			}
			throw $e;
		}
		if ( is_array( $result ) && self::troubled( $result ) ) {
			KC_Meet_Doctor_Notices::flag();
		}
		return $result;
	}

	/**
	 * Whether a native result reports trouble for a manager.
	 *
	 * @param array $result Result of a native call.
	 * @return bool
	 */
	private static function troubled( array $result ) {
		if ( 'needs_reconnect' === ( $result['status'] ?? '' ) || 'failed' === ( $result['state'] ?? '' )
			|| 'doctor_needs_reconnect' === ( $result['reason'] ?? '' ) || ! empty( $result['failed'] ) ) {
			return true;
		}
		foreach ( (array) ( $result['doctors'] ?? array() ) as $doctor ) {
			if ( is_array( $doctor ) && ! empty( $doctor['error'] ) ) {
				return true;
			}
		}
		return false;
	}

	/**
	 * Clears WordPress's caches of a user after the extension wrote their meta.
	 *
	 * @param int $user_id User id.
	 * @return void
	 */
	public static function clear_user_cache( $user_id ) {
		$user_id = (int) $user_id;
		if ( $user_id <= 0 ) {
			return;
		}
		wp_cache_delete( $user_id, 'user_meta' );
		clean_user_cache( $user_id );
	}

	/**
	 * Throws when the extension is not configured for the current site.
	 *
	 * @throws \KcMeet\ConfigurationException When configuration failed.
	 * @return void
	 */
	public static function ensure_ready() {
		$plugin = KC_Meet_Plugin::instance();
		if ( $plugin->ensure_configured() ) {
			return;
		}
		$error = $plugin->config_error();
		$code  = is_array( $error ) && ! empty( $error['code'] ) ? (int) $error['code'] : 1002;
		$text  = is_array( $error ) && '' !== (string) $error['message'] ? (string) $error['message'] : 'kc_meet is not configured';
		if ( class_exists( '\KcMeet\ConfigurationException' ) ) {
			throw new \KcMeet\ConfigurationException( $text, $code );
		}
		throw new \RuntimeException( $text, $code ); // Only reachable without the extension.
	}

	/**
	 * Extension version.
	 *
	 * @return string
	 */
	public static function version() {
		return function_exists( 'kc_meet_version' ) ? (string) kc_meet_version() : '';
	}

	/**
	 * A doctor's connection status (no Google request).
	 *
	 * @param int $doctor_id Doctor.
	 * @return array See kc_meet_status().
	 */
	public static function status( $doctor_id ) {
		self::ensure_ready();
		return self::watched( 'kc_meet_status', (int) $doctor_id );
	}

	/**
	 * Asks Google whether the doctor's connection works (refreshing the token when due) and
	 * returns the status (kc_meet_check_connection()).
	 *
	 * @param int $doctor_id Doctor.
	 * @return array Status array (see kc_meet_status()).
	 */
	public static function check_connection( $doctor_id ) {
		self::ensure_ready();
		try {
			return self::watched( 'kc_meet_check_connection', (int) $doctor_id );
		} finally {
			// A refresh or a broken grant may have changed the doctor's meta.
			self::clear_user_cache( (int) $doctor_id );
		}
	}

	/**
	 * Health report.
	 *
	 * @return array See kc_meet_health().
	 */
	public static function health() {
		self::ensure_ready();
		return kc_meet_health();
	}

	/**
	 * Creates or updates the extension's tables.
	 *
	 * @return array See kc_meet_migrate().
	 */
	public static function migrate() {
		self::ensure_ready();
		return kc_meet_migrate();
	}

	/**
	 * Google authorization URL for a doctor (single-use state bound to doctor and initiator).
	 *
	 * @param int $doctor_id         Doctor.
	 * @param int $initiator_user_id User who starts the connection.
	 * @return string
	 */
	public static function auth_url( $doctor_id, $initiator_user_id ) {
		self::ensure_ready();
		return (string) kc_meet_auth_url( (int) $doctor_id, (int) $initiator_user_id );
	}

	/**
	 * Completes the OAuth redirect flow; clears the doctor's user cache.
	 *
	 * @param int    $doctor_id Doctor read from the state.
	 * @param string $code      Authorization code.
	 * @param string $state     OAuth state.
	 * @param int    $user_id   The logged-in user who brought the redirect back (0: nobody); must
	 *                          be the user who started the connection.
	 * @return array See kc_meet_connect().
	 */
	public static function connect( $doctor_id, $code, $state, $user_id ) {
		self::ensure_ready();
		try {
			$result = kc_meet_connect( (int) $doctor_id, (string) $code, (string) $state, (int) $user_id );
		} finally {
			self::clear_user_cache( (int) $doctor_id );
		}
		if ( isset( $result['doctor_id'] ) && (int) $result['doctor_id'] !== (int) $doctor_id ) {
			self::clear_user_cache( (int) $result['doctor_id'] );
		}
		self::connected( (int) ( $result['doctor_id'] ?? $doctor_id ), $result );
		return $result;
	}

	/**
	 * Announces a successful connect: the action `kc_meet_doctor_connected` ($doctor_id,
	 * $result) fires after every connect path (the backfill of the doctor's appointments hangs
	 * on it).
	 *
	 * @param int   $doctor_id Doctor.
	 * @param mixed $result    The extension's connect result.
	 * @return void
	 */
	private static function connected( $doctor_id, $result ) {
		/**
		 * Fires after a doctor connected Google Calendar.
		 *
		 * @param int   $doctor_id Doctor.
		 * @param array $result    kc_meet_connect() result (no secrets).
		 */
		do_action( 'kc_meet_doctor_connected', (int) $doctor_id, is_array( $result ) ? $result : array() );
	}

	/**
	 * Completes KiviCare 3.x's Google Identity popup flow; clears the doctor's user cache.
	 * Only for the `kcgm_connect_doctor` filter, once the user may manage the doctor
	 * ({@see KC_Meet_KiviCare3::connect_doctor()}).
	 *
	 * @param int    $doctor_id Doctor.
	 * @param string $code      Authorization code (redirect URI `postmessage`).
	 * @return array See kc_meet_connect_postmessage().
	 */
	public static function connect_postmessage( $doctor_id, $code ) {
		self::ensure_ready();
		try {
			$result = kc_meet_connect_postmessage( (int) $doctor_id, (string) $code );
		} finally {
			self::clear_user_cache( (int) $doctor_id );
		}
		self::connected( (int) $doctor_id, $result );
		return $result;
	}

	/**
	 * Creates (or, when it exists, updates) the Google event of an appointment. Idempotent.
	 *
	 * @param int   $appointment_id Appointment.
	 * @param array $appointment    Appointment data (keys of the native contract only; see
	 *                              {@see KC_Meet_Appointment_Data::KEYS}).
	 * @return array Event result: appointment_id, state, reason, event_id, meet_url, event_url,
	 *               doctor_id, warnings.
	 */
	public static function create_event( $appointment_id, array $appointment = array() ) {
		self::ensure_ready();
		return self::watched( 'kc_meet_create_event', (int) $appointment_id, $appointment );
	}

	/**
	 * Updates (or, when missing, creates) the Google event of an appointment. Idempotent.
	 *
	 * @param int   $appointment_id Appointment.
	 * @param array $appointment    Appointment data (see create_event()).
	 * @return array Event result (see create_event()).
	 */
	public static function update_event( $appointment_id, array $appointment = array() ) {
		self::ensure_ready();
		return self::watched( 'kc_meet_update_event', (int) $appointment_id, $appointment );
	}

	/**
	 * Gives the appointment's event a new Meet conference (a new conference request id: the
	 * same event, a new link) and updates the mapping row; creates the event when it has none.
	 *
	 * @param int   $appointment_id Appointment.
	 * @param array $appointment    Appointment data (see create_event()).
	 * @return array Event result (see create_event()); state `regenerated`.
	 */
	public static function regenerate_event( $appointment_id, array $appointment = array() ) {
		self::ensure_ready();
		return self::watched( 'kc_meet_regenerate_event', (int) $appointment_id, $appointment );
	}

	/**
	 * Deletes the Google event of an appointment (attendees are told). Idempotent.
	 *
	 * @param int $appointment_id Appointment.
	 * @return array Event result (see create_event()); state `skipped`, reason `no_event` when
	 *               there was nothing to delete.
	 */
	public static function delete_event( $appointment_id ) {
		self::ensure_ready();
		return self::watched( 'kc_meet_delete_event', (int) $appointment_id );
	}

	/**
	 * The mapping row of an appointment, read on the extension's own connection.
	 *
	 * @param int $appointment_id Appointment.
	 * @return array|null `appointment_id, event_id, url, event_url, password, created_at`, or null.
	 */
	public static function mapping( $appointment_id ) {
		self::ensure_ready();
		$mapping = kc_meet_mapping( (int) $appointment_id );
		return is_array( $mapping ) ? $mapping : null;
	}

	/**
	 * Everything the extension knows about an appointment's event.
	 *
	 * @param int $appointment_id Appointment.
	 * @return array `appointment_id, mapping, event, job, audit`.
	 */
	public static function appointment_state( $appointment_id ) {
		self::ensure_ready();
		return kc_meet_appointment_state( (int) $appointment_id );
	}

	/**
	 * Runs due background jobs (under a MySQL lock; a concurrent call returns ran=0 at once).
	 *
	 * @param int   $limit    Most jobs to run.
	 * @param float $budget_s Time budget in seconds.
	 * @return array `ran, done, retried, failed, skipped_locked, remaining_due, jobs`.
	 */
	public static function run_jobs( $limit = 50, $budget_s = 20.0 ) {
		self::ensure_ready();
		return self::watched( 'kc_meet_run_jobs', (int) $limit, (float) $budget_s );
	}

	/**
	 * Lists background jobs.
	 *
	 * @param array $opts `state` ('queued'|'failed'), `limit` (int).
	 * @return array `['jobs' => [...]]`.
	 */
	public static function jobs( array $opts = array() ) {
		self::ensure_ready();
		return kc_meet_jobs( $opts );
	}

	/**
	 * Queues a job again, due now.
	 *
	 * @param int $job_id Job id.
	 * @return array The job.
	 */
	public static function retry_job( $job_id ) {
		self::ensure_ready();
		return kc_meet_retry_job( (int) $job_id );
	}

	/**
	 * Reconciles appointments and Google events.
	 *
	 * @param array $opts `dry_run`, `doctor_id`, `from`, `to`, `create_missing`, `remove_orphans`, `limit`.
	 * @return array `orphans, missing, fixed, errors`.
	 */
	public static function reconcile( array $opts = array() ) {
		self::ensure_ready();
		return self::watched( 'kc_meet_reconcile', $opts );
	}

	/**
	 * A page of the site's telemedicine appointments with their Google state (one query).
	 *
	 * @param array $opts `doctor_id`, `state`, `from`, `to` (Y-m-d), `appointment_id`, `order`, `page`, `per_page`.
	 * @return array `rows`, `total`, `page`, `per_page`.
	 */
	public static function appointments( array $opts = array() ) {
		self::ensure_ready();
		return kc_meet_appointments( $opts );
	}

	/**
	 * A page of the site's KiviCare doctors with their connection (one query).
	 *
	 * @param array $opts `status`, `doctor_id`, `search`, `page`, `per_page`.
	 * @return array `rows`, `total`, `page`, `per_page`.
	 */
	public static function doctors( array $opts = array() ) {
		self::ensure_ready();
		return kc_meet_doctors( $opts );
	}

	/**
	 * What kc-meet keeps about a user (personal-data export; no Google request).
	 *
	 * @param int $user_id User.
	 * @return array `user_id`, `connection`, `audit`, `appointments`.
	 */
	public static function privacy_export( $user_id ) {
		self::ensure_ready();
		return kc_meet_privacy_export( (int) $user_id );
	}

	/**
	 * Erases what kc-meet keeps about a user: disconnects their Google account, removes the audit
	 * rows about them.
	 *
	 * @param int $user_id User.
	 * @return array `disconnected`, `revoked`, `revoke_error`, `audit_rows_removed`, `appointments_retained`.
	 */
	public static function privacy_erase( $user_id ) {
		self::ensure_ready();
		try {
			return kc_meet_privacy_erase( (int) $user_id );
		} finally {
			self::clear_user_cache( (int) $user_id );
		}
	}

	/**
	 * Incremental two-way sync with Google Calendar. The extension has applied every returned
	 * change to the database already; the caller hands them to {@see KC_Meet_Sync_Changes::dispatch()}.
	 *
	 * @param array $opts `doctor_id` (int; else every connected doctor, concurrently), `full`
	 *                    (bool: ignore the sync token), `budget_s` (float, default 25).
	 * @return array `doctors` (per doctor: doctor_id, pages, events_seen, changes_applied, full,
	 *               remaining, skipped, error, changes), `remaining`, `google_calls`, `elapsed_s`.
	 */
	public static function sync( array $opts = array() ) {
		self::ensure_ready();
		return self::watched( 'kc_meet_sync', $opts );
	}

	/**
	 * Checks a Google push message by its headers (forged ones are rejected without any Google
	 * request) and syncs the doctor when something changed.
	 *
	 * @param array $headers The request's headers (WP_REST_Request::get_headers() shape).
	 * @return array `status` (HTTP status to answer), `action`, `reason`, `doctor_id`, `changes`.
	 */
	public static function handle_notification( array $headers ) {
		self::ensure_ready();
		return kc_meet_handle_notification( $headers );
	}

	/**
	 * Renews push channels that expire soon and opens missing ones (stops them all when push is
	 * not possible).
	 *
	 * @return array `created`, `renewed`, `stopped`, `failures` (doctor_id, error), `push_enabled`.
	 */
	public static function renew_channels() {
		self::ensure_ready();
		return kc_meet_renew_channels();
	}

	/**
	 * Active push channels.
	 *
	 * @param int $doctor_id Doctor, or 0 for all.
	 * @return array `['channels' => [[channel_id, doctor_id, resource_id, expires_at (ms), state, last_message], ...]]`.
	 */
	public static function channels( $doctor_id = 0 ) {
		self::ensure_ready();
		return kc_meet_channels( max( 0, (int) $doctor_id ) );
	}

	/**
	 * Stops a doctor's push channels (sync falls back to polling for them until renewed).
	 *
	 * @param int $doctor_id Doctor.
	 * @return array `doctor_id`, `stopped` (int).
	 */
	public static function stop_channels( $doctor_id ) {
		self::ensure_ready();
		return kc_meet_stop_channels( (int) $doctor_id );
	}

	/**
	 * Disconnects a doctor (revokes at Google, best effort); clears the doctor's user cache.
	 *
	 * @param int $doctor_id Doctor.
	 * @return array See kc_meet_disconnect().
	 */
	public static function disconnect( $doctor_id ) {
		self::ensure_ready();
		try {
			return kc_meet_disconnect( (int) $doctor_id );
		} finally {
			self::clear_user_cache( (int) $doctor_id );
		}
	}
}
