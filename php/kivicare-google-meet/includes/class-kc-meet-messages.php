<?php
/**
 * Fixed, translatable messages.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Maps the extension's exception codes and the OAuth callback results to fixed translatable
 * messages and HTTP statuses, and converts exceptions to `WP_Error`.
 *
 * Pages reached through a redirect (OAuth callback, admin-post actions) only ever carry a
 * result word and a numeric code in their URL (`kc_meet_result`, `kc_meet_code`); the text shown
 * comes from this map, never from Google.
 */
final class KC_Meet_Messages {

	/**
	 * Callback / action results.
	 *
	 * @var string[]
	 */
	const RESULTS = array( 'connected', 'denied', 'disconnected', 'error' );

	/**
	 * The plugin's own code (never an extension's: the extension's authorization codes are
	 * 4001…4005) for a user who may not manage a doctor's Google connection
	 * ({@see KC_Meet_Access::can_manage_doctor()}); HTTP 403.
	 *
	 * @var int
	 */
	const FORBIDDEN = 4403;

	/**
	 * Fixed message for an exception code.
	 *
	 * @param int $code Exception code (1001…5001) or {@see self::FORBIDDEN}; anything else gives a
	 *                  generic message.
	 * @return string
	 */
	public static function for_code( $code ) {
		switch ( (int) $code ) {
			case 1001:
				return __( 'The kc_meet extension rejected the site configuration. Check the KC_MEET_* constants in wp-config.php.', 'kc-googlemeet' );
			case 1002:
				return __( 'Google Meet is not configured yet: enter the client ID and client secret under Settings → KiviCare Google Meet.', 'kc-googlemeet' );
			case 1003:
				return __( 'No usable encryption key: define KC_MEET_ENCRYPTION_KEY or set unique AUTH_KEY and SECURE_AUTH_KEY salts in wp-config.php.', 'kc-googlemeet' );
			case 1004:
				return __( 'Google rejected the OAuth client: check the client ID and client secret under Settings → KiviCare Google Meet.', 'kc-googlemeet' );
			case 2001:
				return __( 'The database could not be reached. Please try again later.', 'kc-googlemeet' );
			case 2002:
				return __( 'A database query failed. Please try again later.', 'kc-googlemeet' );
			case 2003:
				return __( 'The Google Meet tables are missing. An administrator must open the dashboard or run "wp kc-meet migrate".', 'kc-googlemeet' );
			case 3001:
				return __( 'Google answered with an error. Please try again.', 'kc-googlemeet' );
			case 3002:
				return __( 'Google could not be reached. Please try again later.', 'kc-googlemeet' );
			case 4001:
				return __( 'The Google authorization has expired or was revoked. Please reconnect Google Calendar.', 'kc-googlemeet' );
			case 4002:
				return __( 'The connection link was invalid, expired or already used. Please start connecting Google Calendar again.', 'kc-googlemeet' );
			case 4003:
				return __( 'Google Calendar access was not granted. Please connect again and allow access to the calendar.', 'kc-googlemeet' );
			case 4004:
				return __( 'Google rejected the authorization code. Please start connecting Google Calendar again.', 'kc-googlemeet' );
			case 4005:
				return __( 'This doctor has not connected Google Calendar.', 'kc-googlemeet' );
			case self::FORBIDDEN:
				return __( 'Sorry, you are not allowed to manage this doctor\'s Google Calendar connection.', 'kc-googlemeet' );
			case 5001:
				return __( 'The request was invalid.', 'kc-googlemeet' );
			default:
				return __( 'Something went wrong with Google Meet. Please try again.', 'kc-googlemeet' );
		}
	}

	/**
	 * User-facing message of an exception: the fixed message of its code, plus the extension's
	 * (secret-free) detail for `\KcMeet\Exception`s.
	 *
	 * @param \Throwable $e Exception.
	 * @return string
	 */
	public static function for_exception( \Throwable $e ) {
		$message = self::for_code( (int) $e->getCode() );
		if ( $e instanceof \KcMeet\Exception && '' !== $e->getMessage() ) {
			$message .= ' (' . $e->getMessage() . ')';
		}
		return $message;
	}

	/**
	 * Fixed message for a callback / action result.
	 *
	 * @param string $result One of connected, denied, disconnected, error.
	 * @param int    $code   Exception code for 'error'.
	 * @return string
	 */
	public static function for_result( $result, $code = 0 ) {
		switch ( (string) $result ) {
			case 'connected':
				return __( 'Google Calendar is connected.', 'kc-googlemeet' );
			case 'denied':
				return __( 'Google Calendar was not connected: consent was denied on Google\'s page.', 'kc-googlemeet' );
			case 'disconnected':
				return __( 'Google Calendar is disconnected.', 'kc-googlemeet' );
			default:
				/* translators: %s: reason */
				return sprintf( __( 'Google Calendar could not be connected: %s', 'kc-googlemeet' ), self::for_code( $code ) );
		}
	}

	/**
	 * HTTP status for an exception code: 400 invalid request, 403 forbidden, 409 needs
	 * (re)connection, 502 Google error, 503 configuration/database/Google unreachable.
	 *
	 * @param int $code Exception code.
	 * @return int
	 */
	public static function http_status( $code ) {
		$code = (int) $code;
		if ( $code >= 1000 && $code < 3000 ) {
			return 503;
		}
		switch ( $code ) {
			case 3001:
				return 502;
			case 3002:
				return 503;
			case 4001:
			case 4005:
				return 409;
			case 4002:
			case 4003:
			case 4004:
			case 5001:
				return 400;
			case self::FORBIDDEN:
				return 403;
			default:
				return 500;
		}
	}

	/**
	 * WP_Error code string for an exception code.
	 *
	 * @param int $code Exception code.
	 * @return string
	 */
	public static function error_slug( $code ) {
		$family = intdiv( (int) $code, 1000 );
		$slugs  = array(
			1 => 'kc_meet_configuration',
			2 => 'kc_meet_database',
			3 => 'kc_meet_google_api',
			4 => 'kc_meet_authorization',
			5 => 'kc_meet_invalid_argument',
		);
		return $slugs[ $family ] ?? 'kc_meet_error';
	}

	/**
	 * Converts an exception to a WP_Error: data `status` (HTTP) and `kc_meet_code` (exception code).
	 * The message is the extension's (secret-free) message.
	 *
	 * @param \Throwable $e Exception.
	 * @return WP_Error
	 */
	public static function to_wp_error( \Throwable $e ) {
		$code    = (int) $e->getCode();
		$message = $e instanceof \KcMeet\Exception && '' !== $e->getMessage() ? $e->getMessage() : self::for_code( $code );
		return new WP_Error(
			self::error_slug( $code ),
			$message,
			array(
				'status'       => self::http_status( $code ),
				'kc_meet_code' => $code,
			)
		);
	}
}
