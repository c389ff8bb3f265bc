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
 * whether the doctor has this provider. The meeting methods are not available in this release
 * (appointment events come with the next one): `create_meeting()` returns a WP_Error with code
 * `kc_meet_not_available`, the others the failure value core's contract documents (false/null).
 */
class KC_Meet_Telemed_Provider extends \App\abstracts\KCAbstractTelemedProvider {

	/**
	 * What get_doctor_access_token() returns for a doctor with a Google connection.
	 *
	 * @var string
	 */
	const CONNECTED_MARKER = 'kc-meet:connected';

	/**
	 * WP_Error code of the meeting methods in this release.
	 *
	 * @var string
	 */
	const NOT_AVAILABLE = 'kc_meet_not_available';

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
		try {
			if ( (int) $doctor_id > 0 ) {
				$status = KC_Meet_Native::check_connection( (int) $doctor_id );
				return array(
					'success' => 'connected' === ( $status['status'] ?? '' ),
					'message' => KC_Meet_Profile::status_text( $status ),
					'data'    => $status,
				);
			}
			$health   = KC_Meet_Native::health();
			$problems = isset( $health['problems'] ) && is_array( $health['problems'] ) ? $health['problems'] : array();
			$blocking = array_filter(
				$problems,
				static function ( $problem ) {
					return 'doctor_needs_reconnect' !== ( $problem['code'] ?? '' );
				}
			);
			if ( empty( $blocking ) ) {
				return array(
					'success' => true,
					'message' => __( 'Google Meet is configured and its database tables are ready.', 'kc-googlemeet' ),
					'data'    => array( 'problems' => array_values( $problems ) ),
				);
			}
			return array(
				'success' => false,
				'message' => implode( ' ', array_map( static fn( $p ) => (string) ( $p['message'] ?? '' ), $blocking ) ),
				'data'    => array( 'problems' => array_values( $problems ) ),
			);
		} catch ( \Throwable $e ) {
			return array(
				'success' => false,
				'message' => $e->getMessage(),
			);
		}
	}

	/**
	 * The error every meeting method stands for in this release.
	 *
	 * @return WP_Error
	 */
	public static function not_available() {
		return new WP_Error(
			self::NOT_AVAILABLE,
			__( 'Google Meet appointment events are not available in this version of kc-meet.', 'kc-googlemeet' ),
			array( 'status' => 501 )
		);
	}

	/**
	 * Not available in this release.
	 *
	 * @param array $meeting_data Meeting data from core.
	 * @return WP_Error
	 */
	public function create_meeting( $meeting_data = array() ) {
		unset( $meeting_data );
		return self::not_available();
	}

	/**
	 * Not available in this release.
	 *
	 * @param string $meeting_id   Event id.
	 * @param array  $meeting_data Meeting data.
	 * @return false
	 */
	public function update_meeting( $meeting_id = '', $meeting_data = array() ) {
		unset( $meeting_id, $meeting_data );
		return false;
	}

	/**
	 * Not available in this release.
	 *
	 * @param string $meeting_id Event id.
	 * @return bool False.
	 */
	public function delete_meeting( $meeting_id = '' ): bool {
		unset( $meeting_id );
		return false;
	}

	/**
	 * Not available in this release.
	 *
	 * @param string $meeting_id Event id.
	 * @return false
	 */
	public function get_meeting( $meeting_id = '' ) {
		unset( $meeting_id );
		return false;
	}

	/**
	 * Not available in this release.
	 *
	 * @param int $appointment_id Appointment.
	 * @return null
	 */
	public function get_meeting_by_appointment( $appointment_id = 0 ) {
		unset( $appointment_id );
		return null;
	}

	/**
	 * Not available in this release.
	 *
	 * @param int $appointment_id Appointment.
	 * @return bool False.
	 */
	public function cancel_meeting_by_appointment( $appointment_id = 0 ): bool {
		unset( $appointment_id );
		return false;
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
	 * Not available in this release.
	 *
	 * @param string $meeting_id Event id.
	 * @return bool False.
	 */
	public function delete_meeting_record( $meeting_id = '' ): bool {
		unset( $meeting_id );
		return false;
	}
}
