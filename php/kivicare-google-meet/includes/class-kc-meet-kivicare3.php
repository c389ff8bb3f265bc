<?php
/**
 * KiviCare 3.x filters.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * The filters KiviCare 3.x calls for the doctor connection and the settings (ids may arrive as
 * strings). Every callback returns a status array (`['status' => bool, 'message' => string]`,
 * plus `data` where useful) and never throws.
 *
 * - `kcgm_connect_doctor` (`['id' => '2', 'code' => …]`): kc_meet_connect_postmessage() — core
 *   checked the nonce and that the user is that doctor before calling it.
 * - `kcgm_disconnect_doctor` (`['id' => '2']`): kc_meet_disconnect().
 * - `kcgm_saved_googlemeet_config` (settings request: `client_id`, `client_secret`, `app_name`,
 *   `enableCal`, flat or under `google_meet_config`): saves like the settings page (empty
 *   secret keeps the stored one); needs `manage_options`.
 * - `kcgm_edit_googlemeet`: `['status' => true, 'data' => settings without the secret]`.
 *
 * The appointment-event filters (`kcgm_save_appointment_event`, `kcgm_remove_appointment_event`,
 * `kcgm_save_appointment_event_link_send`) come with the appointment-event release.
 */
class KC_Meet_KiviCare3 {

	/**
	 * Hooks the filters.
	 *
	 * @return void
	 */
	public function register() {
		add_filter( 'kcgm_connect_doctor', array( $this, 'connect_doctor' ) );
		add_filter( 'kcgm_disconnect_doctor', array( $this, 'disconnect_doctor' ) );
		add_filter( 'kcgm_saved_googlemeet_config', array( $this, 'save_config' ) );
		add_filter( 'kcgm_edit_googlemeet', array( $this, 'edit_config' ) );
	}

	/**
	 * `kcgm_connect_doctor`.
	 *
	 * @param mixed $data `['id' => doctor id, 'code' => authorization code]`.
	 * @return array
	 */
	public function connect_doctor( $data = array() ) {
		$data      = is_array( $data ) ? $data : array();
		$doctor_id = isset( $data['id'] ) && is_numeric( $data['id'] ) ? (int) $data['id'] : 0;
		$code      = isset( $data['code'] ) && is_string( $data['code'] ) ? trim( $data['code'] ) : '';
		if ( $doctor_id <= 0 || '' === $code ) {
			return self::failure( KC_Meet_Messages::for_code( 5001 ) );
		}
		try {
			$result = KC_Meet_Native::connect_postmessage( $doctor_id, $code );
		} catch ( \Throwable $e ) {
			return self::failure( self::message( $e ), $e );
		}
		return array(
			'status'  => true,
			'message' => sprintf(
				/* translators: %s: Google account e-mail */
				__( 'Google Calendar connected as %s.', 'kc-googlemeet' ),
				(string) ( $result['email'] ?? '' )
			),
			'data'    => $result,
		);
	}

	/**
	 * `kcgm_disconnect_doctor`.
	 *
	 * @param mixed $data `['id' => doctor id]`.
	 * @return array
	 */
	public function disconnect_doctor( $data = array() ) {
		$data      = is_array( $data ) ? $data : array();
		$doctor_id = isset( $data['id'] ) && is_numeric( $data['id'] ) ? (int) $data['id'] : 0;
		if ( $doctor_id <= 0 ) {
			return self::failure( KC_Meet_Messages::for_code( 5001 ) );
		}
		try {
			$result = KC_Meet_Native::disconnect( $doctor_id );
		} catch ( \Throwable $e ) {
			return self::failure( self::message( $e ), $e );
		}
		return array(
			'status'  => true,
			'message' => __( 'Google Calendar is disconnected.', 'kc-googlemeet' ),
			'data'    => $result,
		);
	}

	/**
	 * `kcgm_saved_googlemeet_config`.
	 *
	 * @param mixed $request Settings request.
	 * @return array
	 */
	public function save_config( $request = array() ) {
		try {
			if ( ! current_user_can( KC_Meet_Access::ADMIN_CAP ) ) {
				return self::failure( __( 'Sorry, you are not allowed to manage these settings.', 'kc-googlemeet' ) );
			}
			$request = is_array( $request ) ? $request : array();
			if ( isset( $request['google_meet_config'] ) && is_array( $request['google_meet_config'] ) ) {
				$request = $request['google_meet_config'];
			}
			$changes = array();
			foreach ( array( 'client_id', 'client_secret', 'app_name' ) as $key ) {
				if ( isset( $request[ $key ] ) && is_scalar( $request[ $key ] ) ) {
					$changes[ $key ] = (string) $request[ $key ];
				}
			}
			if ( array_key_exists( 'enableCal', $request ) ) {
				$changes['enabled'] = KC_Meet_Settings::truthy( $request['enableCal'] );
			} elseif ( array_key_exists( 'enabled', $request ) ) {
				$changes['enabled'] = KC_Meet_Settings::truthy( $request['enabled'] );
			}
			$view = KC_Meet_Settings::save( $changes );
		} catch ( \Throwable $e ) {
			return self::failure( self::message( $e ), $e );
		}
		return array(
			'status'  => true,
			'message' => __( 'Google Meet settings saved.', 'kc-googlemeet' ),
			'data'    => $view,
		);
	}

	/**
	 * `kcgm_edit_googlemeet`.
	 *
	 * @param mixed $unused Unused (core passes []).
	 * @return array
	 */
	public function edit_config( $unused = array() ) {
		unset( $unused );
		try {
			return array(
				'status' => true,
				'data'   => KC_Meet_Settings::public_view(),
			);
		} catch ( \Throwable $e ) {
			return self::failure( self::message( $e ), $e );
		}
	}

	/**
	 * A failure status array.
	 *
	 * @param string          $message Message.
	 * @param \Throwable|null $e       Exception, for its code.
	 * @return array
	 */
	private static function failure( $message, $e = null ) {
		$result = array(
			'status'  => false,
			'message' => (string) $message,
		);
		if ( $e instanceof \Throwable ) {
			$result['code'] = (int) $e->getCode();
		}
		return $result;
	}

	/**
	 * User-facing message of an exception: the fixed message of its code (plus the extension's
	 * secret-free detail for Google errors).
	 *
	 * @param \Throwable $e Exception.
	 * @return string
	 */
	private static function message( \Throwable $e ) {
		$message = KC_Meet_Messages::for_code( (int) $e->getCode() );
		if ( $e instanceof \KcMeet\Exception && '' !== $e->getMessage() ) {
			$message .= ' (' . $e->getMessage() . ')';
		}
		return $message;
	}
}
