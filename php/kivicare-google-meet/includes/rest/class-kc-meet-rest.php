<?php
/**
 * kc-meet's own REST routes.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * kc-meet's own REST routes, namespace `kc-meet/v1` (public):
 * - `GET /oauth/callback` (params `code`, `state`, `error`, `scope`): Google's redirect target.
 *   Its security is the single-use OAuth state bound to doctor and initiator, verified by the
 *   extension, which also requires the browser's logged-in user to be that initiator (a link
 *   that reached another browser connects nobody). Answers a 302 to the doctor's profile page with `kc_meet_result` =
 *   connected|denied|error and, for errors, `kc_meet_code` = the exception code (4002, a
 *   possibly forged state, goes to the dashboard instead). The vendor's 4.x redirect route
 *   (`kivicare/v1/settings/googlemeet/callback`, {@see KC_Meet_KiviCare4_Routes}) is served by
 *   the same handler.
 * - `POST /notify`: Google Calendar's push notifications. Its security is the channel token, checked by the extension in constant time
 *   (forged or replayed messages are rejected without any Google request). The headers go to
 *   kc_meet_handle_notification(); the changes it applied are dispatched
 *   ({@see KC_Meet_Sync_Changes::dispatch()}); the answer is the status it returned with an
 *   empty body. Any failure answers 500 (Google retries) and is recorded for administrators
 *   ({@see KC_Meet_Events::record_failure()}), never shown.
 */
class KC_Meet_Rest {

	/**
	 * Our public namespace.
	 *
	 * @var string
	 */
	const NAMESPACE_PUBLIC = 'kc-meet/v1';

	/**
	 * Route of the push-notification endpoint (in NAMESPACE_PUBLIC).
	 *
	 * @var string
	 */
	const NOTIFY_PATH = '/notify';

	/**
	 * Registers `kc-meet/v1/oauth/callback` and `kc-meet/v1/notify`.
	 *
	 * @return void
	 */
	public function register_public_routes() {
		register_rest_route(
			self::NAMESPACE_PUBLIC,
			self::NOTIFY_PATH,
			array(
				'methods'             => WP_REST_Server::CREATABLE,
				'callback'            => array( $this, 'notify' ),
				'permission_callback' => '__return_true', // The channel token is checked by the extension.
			)
		);
		register_rest_route(
			self::NAMESPACE_PUBLIC,
			'/oauth/callback',
			array(
				'methods'             => WP_REST_Server::READABLE,
				'callback'            => array( $this, 'oauth_callback' ),
				'permission_callback' => '__return_true',
				'args'                => self::callback_args(),
			)
		);
	}

	/**
	 * Parameters of the OAuth callback routes (also {@see KC_Meet_KiviCare4_Routes}'s vendor route).
	 *
	 * @return array
	 */
	public static function callback_args() {
		$args = array();
		foreach ( array( 'code', 'state', 'error', 'scope' ) as $name ) {
			$args[ $name ] = array(
				'type'    => 'string',
				'default' => '',
			);
		}
		return $args;
	}

	/**
	 * `GET kc-meet/v1/oauth/callback`, and the vendor's `GET kivicare/v1/settings/googlemeet/callback`
	 * ({@see KC_Meet_KiviCare4_Routes}).
	 *
	 * @param WP_REST_Request $request Request.
	 * @return WP_REST_Response A 302 response.
	 */
	public function oauth_callback( WP_REST_Request $request ) {
		$state     = (string) $request->get_param( 'state' );
		$code      = (string) $request->get_param( 'code' );
		$error     = self::google_error( $request );
		$doctor_id = '' !== $state ? (int) strtok( $state, '.' ) : 0;
		// The browser's logged-in user (REST drops cookie users without a REST nonce, which
		// Google's redirect cannot carry, so the cookie is validated here). The extension
		// accepts the state only from the user who started the connection.
		$viewer_id = (int) wp_validate_auth_cookie( '', 'logged_in' );

		if ( '' !== $error ) {
			if ( 'access_denied' === $error ) {
				return $this->redirect( $this->doctor_page( $doctor_id, $viewer_id ), 'denied' );
			}
			return $this->redirect( $this->doctor_page( $doctor_id, $viewer_id ), 'error', 3001 );
		}
		if ( $doctor_id <= 0 ) {
			return $this->redirect( admin_url(), 'error', 4002 );
		}
		if ( '' === $code ) {
			return $this->redirect( $this->doctor_page( $doctor_id, $viewer_id ), 'error', 5001 );
		}

		try {
			$result    = KC_Meet_Native::connect( $doctor_id, $code, $state, $viewer_id );
			$doctor_id = (int) ( $result['doctor_id'] ?? $doctor_id );
			$initiator = (int) ( $result['initiator_user_id'] ?? 0 );
			return $this->redirect( KC_Meet_Profile::profile_url( $doctor_id, $initiator ), 'connected' );
		} catch ( \KcMeet\AuthorizationException $e ) {
			if ( 4002 === (int) $e->getCode() ) {
				// The state (and so the doctor id) may be forged: go nowhere specific.
				return $this->redirect( admin_url(), 'error', 4002 );
			}
			return $this->redirect( $this->doctor_page( $doctor_id, $viewer_id ), 'error', (int) $e->getCode() );
		} catch ( \Throwable $e ) {
			return $this->redirect( $this->doctor_page( $doctor_id, $viewer_id ), 'error', (int) $e->getCode() );
		}
	}

	/**
	 * `POST kc-meet/v1/notify`: a Google Calendar push notification.
	 *
	 * @param WP_REST_Request $request Request.
	 * @return WP_REST_Response Empty body (see serve_empty_notify_body()), status from the extension.
	 */
	public function notify( WP_REST_Request $request ) {
		try {
			$result = KC_Meet_Native::handle_notification( $request->get_headers() );
			$status = (int) ( $result['status'] ?? 500 );
			if ( ! empty( $result['changes'] ) && is_array( $result['changes'] ) ) {
				KC_Meet_Sync_Changes::dispatch( $result['changes'], 'push' );
			}
		} catch ( \Throwable $e ) {
			KC_Meet_Events::record_failure( 0, 'notify', $e, 'push' );
			$status = 500;
		}
		$status   = $status >= 100 && $status <= 599 ? $status : 500;
		$response = new WP_REST_Response( null, $status );
		$response->header( 'Cache-Control', 'no-store' );
		return $response;
	}

	/**
	 * `rest_pre_serve_request`: the notification route answers with its status and no body (the
	 * REST server would print `null`).
	 *
	 * @param bool                  $served  Whether the request was served already.
	 * @param mixed                 $result  Response.
	 * @param WP_REST_Request|mixed $request Request.
	 * @return bool
	 */
	public function serve_empty_notify_body( $served, $result = null, $request = null ) {
		if ( $served || ! $request instanceof WP_REST_Request ) {
			return (bool) $served;
		}
		if ( '/' . KC_Meet_Config::NOTIFY_ROUTE !== untrailingslashit( (string) $request->get_route() ) ) {
			return false;
		}
		unset( $result );
		return true; // Status and headers were sent by the server already.
	}

	/**
	 * Google's `error` parameter (e.g. `access_denied`). WordPress treats `error` as one of its own
	 * query vars and removes it from `$_GET` before the REST request is built
	 * (`WP::parse_request()`), so it is read from the raw query string as a fallback.
	 *
	 * @param WP_REST_Request $request Request.
	 * @return string
	 */
	private static function google_error( WP_REST_Request $request ) {
		$error = (string) $request->get_param( 'error' );
		if ( '' === $error && isset( $_SERVER['QUERY_STRING'] ) ) {
			parse_str( (string) wp_unslash( $_SERVER['QUERY_STRING'] ), $raw ); // phpcs:ignore WordPress.Security.ValidatedSanitizedInput.InputNotSanitized -- only compared below.
			$error = isset( $raw['error'] ) && is_string( $raw['error'] ) ? $raw['error'] : '';
		}
		return sanitize_key( $error );
	}

	/**
	 * The page to send the browser back to when the initiator is not known.
	 *
	 * @param int $doctor_id Doctor read from the state (may be bogus).
	 * @param int $viewer_id User of the browser session, if any.
	 * @return string
	 */
	private function doctor_page( $doctor_id, $viewer_id ) {
		if ( $doctor_id <= 0 || ! get_userdata( $doctor_id ) ) {
			return admin_url();
		}
		return KC_Meet_Profile::profile_url( $doctor_id, $viewer_id );
	}

	/**
	 * A 302 response to an admin page with the result in the query (wp_safe_redirect rules:
	 * only this site's hosts).
	 *
	 * @param string $url    Target.
	 * @param string $result connected|denied|error.
	 * @param int    $code   Exception code for 'error'.
	 * @return WP_REST_Response
	 */
	private function redirect( $url, $result, $code = 0 ) {
		$args = array( 'kc_meet_result' => $result );
		if ( 'error' === $result ) {
			$args['kc_meet_code'] = (int) $code;
		}
		$location = wp_validate_redirect( add_query_arg( $args, $url ), add_query_arg( $args, admin_url() ) );
		$response = new WP_REST_Response( null, 302 );
		$response->header( 'Location', $location );
		$response->header( 'Cache-Control', 'no-store' );
		return $response;
	}
}
