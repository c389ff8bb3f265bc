<?php
/**
 * KiviCare 4.x telemed provider "googlemeet".
 *
 * Required lazily by KC_Meet_KiviCare4::load_provider() — never autoloaded — because its parent
 * class exists only once KiviCare core is loaded.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * KiviCare 4.x provider backed by the kc_meet extension.
 *
 * Signatures assumed from core's `App\abstracts\KCAbstractTelemedProvider` (KiviCare 4.x):
 * constructor `__construct($settings_key)` (inherited); abstract `get_default_config()`
 * (protected), `get_provider_id()`, `get_provider_name()`, `is_configured()`,
 * `create_meeting($meeting_data = array())`, `update_meeting($meeting_id, $meeting_data = array())`,
 * `delete_meeting($meeting_id)`, `get_meeting($meeting_id)`,
 * `test_connection($data = [], $doctor_id = 0)`,
 * `update_doctor_config(int $doctor_id, array $config): bool`,
 * `get_authorization_url($doctor_id): string`, `save_zoom_meeting_record($meeting_data)` and
 * `delete_meeting_record($meeting_id)` (protected), `get_meeting_by_appointment($appointment_id)`,
 * `cancel_meeting_by_appointment($appointment_id)`, `get_doctor_access_token($doctor_id)`,
 * `is_doctor_telemed_connected(): bool`; overridable `disconnect_doctor(int $doctor_id): bool`,
 * `get_config()`, `is_enabled()`, `update_zoom_meeting_record($meeting_id, $meeting_data)`.
 *
 * To stay compatible with other core versions every method here is public (widening is always
 * allowed), takes untyped parameters (contravariance) and declares a return type only where it
 * is at least as narrow as any known parent's. KC_Meet_KiviCare4::incompatibilities() checks the
 * parent with reflection before this file is loaded, so an unexpected core cannot make it fatal.
 *
 * Connection methods use the extension. `get_doctor_access_token()` returns a non-secret marker
 * ({@see self::CONNECTED_MARKER}), never a token: core only tests it for emptiness to decide
 * whether the doctor has this provider.
 *
 * Meeting methods go through {@see KC_Meet_Events} (the appointment data is read through $wpdb,
 * which sees core's uncommitted rows) and map results with {@see KC_Meet_Event_Result}; no
 * exception ever leaves them. `create_meeting()` / `update_meeting()` return core's meeting
 * array or a WP_Error; `cancel_meeting_by_appointment()` / `delete_meeting()` a bool;
 * `get_meeting_by_appointment()` / `get_meeting()` the meeting array or null/false. Core 4.x
 * never removes an event itself on cancel (status 0): {@see KC_Meet_Appointment_Hooks} listens to
 * core's actions for that.
 */
class KC_Meet_Telemed_Provider extends \App\abstracts\KCAbstractTelemedProvider {

	/**
	 * What get_doctor_access_token() returns for a doctor with a Google connection.
	 *
	 * @var string
	 */
	const CONNECTED_MARKER = 'kc-meet:connected';

	/**
	 * Doctor of the last get_doctor_access_token() call (core calls is_doctor_telemed_connected()
	 * without arguments).
	 *
	 * @var int
	 */
	private $current_doctor_id = 0;

	/**
	 * Settings, normalized whatever the stored shape (array or JSON; 1.x or 4.x keys).
	 *
	 * @return array
	 */
	public function get_config(): array {
		$raw            = KC_Meet_Settings::raw();
		$config         = array_merge( $this->get_default_config(), $raw );
		$config['enabled'] = KC_Meet_Settings::is_enabled( $raw );
		return $config;
	}

	/**
	 * Defaults (4.x shape, with our redirect URI).
	 *
	 * @return array
	 */
	public function get_default_config(): array {
		return array(
			'enabled'          => false,
			'client_id'        => '',
			'client_secret'    => '',
			'auth_type'        => 'oauth',
			'redirect_uri'     => KC_Meet_Config::redirect_uri(),
			'default_settings' => array(
				'reminders' => true,
				'attendees' => true,
			),
		);
	}

	/**
	 * Provider id.
	 *
	 * @return string
	 */
	public function get_provider_id(): string {
		return KC_Meet_KiviCare4::PROVIDER_ID;
	}

	/**
	 * Provider name.
	 *
	 * @return string
	 */
	public function get_provider_name(): string {
		return __( 'Google Meet', 'kc-googlemeet' );
	}

	/**
	 * Enabled (`enabled` or `enableCal`) and configured.
	 *
	 * @return bool
	 */
	public function is_enabled(): bool {
		return KC_Meet_Settings::is_enabled( KC_Meet_Settings::raw() ) && $this->is_configured();
	}

	/**
	 * Client id and secret are set.
	 *
	 * @return bool
	 */
	public function is_configured(): bool {
		return KC_Meet_Settings::has_credentials();
	}

	/**
	 * A non-secret marker when the doctor has a Google connection (connected or needing a
	 * reconnect), '' otherwise. Never the token.
	 *
	 * @param int $doctor_id Doctor.
	 * @return string
	 */
	public function get_doctor_access_token( $doctor_id = 0 ): string {
		$doctor_id               = (int) $doctor_id;
		$this->current_doctor_id = $doctor_id;
		if ( $doctor_id <= 0 ) {
			return '';
		}
		try {
			$status = KC_Meet_Native::status( $doctor_id );
			return 'not_connected' !== ( $status['status'] ?? 'not_connected' ) ? self::CONNECTED_MARKER : '';
		} catch ( \Throwable $e ) {
			// Extension/DB unavailable: fall back to what WordPress knows.
			$has_token = '' !== (string) get_user_meta( $doctor_id, 'google_meet_access_token', true );
			return $has_token ? self::CONNECTED_MARKER : '';
		}
	}

	/**
	 * Whether the doctor is connected (status 'connected').
	 *
	 * @param int $doctor_id Doctor (default: the doctor of the last get_doctor_access_token()).
	 * @return bool
	 */
	public function is_doctor_telemed_connected( $doctor_id = 0 ): bool {
		$doctor_id = (int) $doctor_id > 0 ? (int) $doctor_id : $this->current_doctor_id;
		if ( $doctor_id <= 0 ) {
			return false;
		}
		try {
			$status = KC_Meet_Native::status( $doctor_id );
			return 'connected' === ( $status['status'] ?? '' );
		} catch ( \Throwable $e ) {
			return false;
		}
	}

	/**
	 * Google consent URL for the doctor, initiated by the current user ('' on failure).
	 *
	 * @param int $doctor_id Doctor.
	 * @return string
	 */
	public function get_authorization_url( $doctor_id = 0 ): string {
		try {
			return KC_Meet_Native::auth_url( (int) $doctor_id, get_current_user_id() );
		} catch ( \Throwable $e ) {
			return '';
		}
	}

	/**
	 * Disconnects the doctor (revokes at Google).
	 *
	 * @param int $doctor_id Doctor.
	 * @return bool
	 */
	public function disconnect_doctor( $doctor_id = 0 ): bool {
		try {
			KC_Meet_Native::disconnect( (int) $doctor_id );
			return true;
		} catch ( \Throwable $e ) {
			return false;
		}
	}

	/**
	 * Nothing to store per doctor: the connection is made through Google's consent screen and
	 * the calendar is the doctor's primary calendar.
	 *
	 * @param int   $doctor_id Doctor.
	 * @param array $config    Ignored.
	 * @return bool Always true.
	 */
	public function update_doctor_config( $doctor_id = 0, $config = array() ): bool {
		unset( $doctor_id, $config );
		return true;
	}

	/**
	 * Connection test: for a doctor, asks Google whether the connection works
	 * (kc_meet_check_connection()); without a doctor, the site's health.
	 *
	 * @param array $data      Unused.
	 * @param int   $doctor_id Doctor, or 0 for the site.
	 * @return array{success:bool, message:string, data?:array}
	 */
	public function test_connection( $data = array(), $doctor_id = 0 ): array {
		unset( $data );
		return KC_Meet_KiviCare4::test_connection( (int) $doctor_id );
	}

	/**
	 * Creates the appointment's Google event (or, when it has one, brings it up to date) through
	 * kc_meet_create_event(). Core 4.x calls it inside its open booking transaction, for telemed
	 * appointments only — also on every hit of the public payment-success URL (topic ", "): the
	 * extension is idempotent and, whenever the appointment row is readable through $wpdb, its
	 * times come from the row, never from core's `start_time`, so none of these creates a
	 * duplicate or moves the event. To regenerate a link (topic "Regenerated Telemed Service",
	 * start_time = now) the same event gets a new Meet conference (kc_meet_regenerate_event())
	 * and the patient is sent the new link.
	 *
	 * @param array $meeting_data `appointment_id`, `topic`, `start_time`, `end_time`, `duration`,
	 *                            `timezone`, `doctor_id`, `patient_id`, `attendees` (Zoom-style
	 *                            keys ignored).
	 * @return array|WP_Error `id, join_url, start_url, password, event_url, appointment_id,
	 *                        created_at` (join_url '' while the link is pending/queued); WP_Error
	 *                        when skipped (`kc_meet_skipped`, data `reason`) or failed.
	 */
	public function create_meeting( $meeting_data = array() ) {
		$meeting_data   = is_array( $meeting_data ) ? $meeting_data : array();
		$appointment_id = KC_Meet_Appointment_Data::id_of( $meeting_data['appointment_id'] ?? 0 );
		if ( $appointment_id <= 0 ) {
			return self::invalid_request();
		}
		$handed            = KC_Meet_Appointment_Data::from_core4( $meeting_data );
		$handed['telemed'] = true; // Core calls the provider for telemed appointments only.
		// Core's "Regenerate link" promises a new link: the same event gets a new conference.
		$regenerate = KC_Meet_Appointment_Data::REGENERATED_TOPIC === trim( (string) ( $meeting_data['topic'] ?? '' ) );
		try {
			$result = KC_Meet_Events::ensure( $regenerate ? 'regenerate' : 'create', $appointment_id, $handed, 'provider' );
		} catch ( \Throwable $e ) {
			return KC_Meet_Messages::to_wp_error( $e );
		}
		KC_Meet_Waiting::note_result( $appointment_id, $result );
		if ( $regenerate && '' !== KC_Meet_Event_Result::meet_url( $result ) ) {
			// The patient is told the new link (core's templates where it has them).
			KC_Meet_KiviCare3::tell_link( $appointment_id );
		}
		return KC_Meet_Event_Result::to_meeting( $result, $appointment_id );
	}

	/**
	 * Moves the appointment's event (kc_meet_update_event(): same event, same Meet link). Core
	 * calls it on reschedule, inside its transaction, with the event id it read through
	 * {@see \KCGMApp\models\KCGMAppointmentGoogleMeetMapping}.
	 *
	 * @param string $meeting_id   Google event id (used to find the appointment when the data
	 *                             has no `appointment_id`).
	 * @param array  $meeting_data `appointment_id`, `topic`, `summary`, `attendees`, `doctor_id`,
	 *                             `start_time`, `end_time` (ISO 8601), `timezone`.
	 * @return array|WP_Error Meeting array (see create_meeting()) or WP_Error.
	 */
	public function update_meeting( $meeting_id = '', $meeting_data = array() ) {
		$meeting_data   = is_array( $meeting_data ) ? $meeting_data : array();
		$appointment_id = KC_Meet_Appointment_Data::id_of( $meeting_data['appointment_id'] ?? 0 );
		if ( $appointment_id <= 0 ) {
			$appointment_id = self::appointment_of_event( $meeting_id );
		}
		if ( $appointment_id <= 0 ) {
			return self::invalid_request();
		}
		try {
			$result = KC_Meet_Events::ensure( 'update', $appointment_id, KC_Meet_Appointment_Data::from_core4( $meeting_data ), 'provider' );
		} catch ( \Throwable $e ) {
			return KC_Meet_Messages::to_wp_error( $e );
		}
		return KC_Meet_Event_Result::to_meeting( $result, $appointment_id );
	}

	/**
	 * Removes the event with this id (found through the mapping) — attendees are told.
	 *
	 * @param string $meeting_id Google event id.
	 * @return bool Whether no event is left (false when unknown or on failure).
	 */
	public function delete_meeting( $meeting_id = '' ): bool {
		$appointment_id = self::appointment_of_event( $meeting_id );
		return $appointment_id > 0 && $this->cancel_meeting_by_appointment( $appointment_id );
	}

	/**
	 * The meeting with this event id, from the mapping.
	 *
	 * @param string $meeting_id Google event id.
	 * @return array|false Meeting array (see create_meeting()) or false.
	 */
	public function get_meeting( $meeting_id = '' ) {
		$appointment_id = self::appointment_of_event( $meeting_id );
		$meeting        = $appointment_id > 0 ? $this->get_meeting_by_appointment( $appointment_id ) : null;
		return null !== $meeting ? $meeting : false;
	}

	/**
	 * The appointment's meeting, from kc_meet_mapping().
	 *
	 * @param int $appointment_id Appointment.
	 * @return array|null Meeting array (see create_meeting()) or null.
	 */
	public function get_meeting_by_appointment( $appointment_id = 0 ) {
		try {
			$mapping = KC_Meet_Events::mapping( KC_Meet_Appointment_Data::id_of( $appointment_id ) );
		} catch ( \Throwable $e ) {
			return null;
		}
		return null !== $mapping ? KC_Meet_Event_Result::mapping_to_meeting( $mapping ) : null;
	}

	/**
	 * Removes the appointment's event (kc_meet_delete_event(); attendees are told). Core calls it
	 * on delete and bulk delete.
	 *
	 * @param int $appointment_id Appointment.
	 * @return bool Whether no event is left (true also when there was none).
	 */
	public function cancel_meeting_by_appointment( $appointment_id = 0 ): bool {
		$appointment_id = KC_Meet_Appointment_Data::id_of( $appointment_id );
		if ( $appointment_id <= 0 ) {
			return false;
		}
		try {
			$result = KC_Meet_Events::delete( $appointment_id, 'provider' );
		} catch ( \Throwable $e ) {
			return false;
		}
		return KC_Meet_Event_Result::is_success( $result ) || 'no_event' === ( $result['reason'] ?? '' );
	}

	/**
	 * The appointment a Google event id belongs to (0 when unknown).
	 *
	 * @param mixed $event_id Google event id.
	 * @return int
	 */
	public static function appointment_of_event( $event_id ) {
		$event_id = is_scalar( $event_id ) ? trim( (string) $event_id ) : '';
		if ( '' === $event_id ) {
			return 0;
		}
		$mapping = \KCGMApp\models\KCGMAppointmentGoogleMeetMapping::query()->where( 'event_id', $event_id )->first();
		return null !== $mapping ? (int) $mapping->appointment_id : 0;
	}

	/**
	 * WP_Error for meeting data without an appointment.
	 *
	 * @return WP_Error
	 */
	private static function invalid_request() {
		return new WP_Error(
			KC_Meet_Messages::error_slug( 5001 ),
			__( 'The meeting data names no appointment.', 'kc-googlemeet' ),
			array(
				'status'       => 400,
				'kc_meet_code' => 5001,
			)
		);
	}

	/**
	 * Zoom-only hook of the parent: not ours.
	 *
	 * @param array $meeting_data Meeting data.
	 * @return bool False.
	 */
	public function save_zoom_meeting_record( $meeting_data = array() ): bool {
		unset( $meeting_data );
		return false;
	}

	/**
	 * Zoom-only hook of the parent: not ours.
	 *
	 * @param string $meeting_id   Meeting id.
	 * @param array  $meeting_data Meeting data.
	 * @return bool False.
	 */
	public function update_zoom_meeting_record( $meeting_id = '', $meeting_data = array() ): bool {
		unset( $meeting_id, $meeting_data );
		return false;
	}

	/**
	 * Mapping rows belong to the extension (delete_meeting() removes the event and its row).
	 *
	 * @param string $meeting_id Event id.
	 * @return bool False.
	 */
	public function delete_meeting_record( $meeting_id = '' ): bool {
		unset( $meeting_id );
		return false;
	}
}
