<?php
/**
 * REST routes.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * REST routes.
 *
 * Public, namespace `kc-meet/v1`:
 * - `GET /oauth/callback` (params `code`, `state`, `error`, `scope`): Google's redirect target.
 *   Its security is the single-use OAuth state bound to doctor and initiator, verified by the
 *   extension, which also requires the browser's logged-in user to be that initiator (a link
 *   that reached another browser connects nobody). Answers a 302 to the doctor's profile page with `kc_meet_result` =
 *   connected|denied|error and, for errors, `kc_meet_code` = the exception code (4002, a
 *   possibly forged state, goes to the dashboard instead).
 * - `POST /notify` (registered when the extension has two-way sync): Google Calendar's push
 *   notifications. Its security is the channel token, checked by the extension in constant time
 *   (forged or replayed messages are rejected without any Google request). The headers go to
 *   kc_meet_handle_notification(); the changes it applied are dispatched
 *   ({@see KC_Meet_Sync_Changes::dispatch()}); the answer is the status it returned with an
 *   empty body. Any failure answers 500 (Google retries) and is recorded for administrators
 *   ({@see KC_Meet_Events::record_failure()}), never shown.
 *
 * Authenticated, namespace `kivicare/v1` (called by KiviCare 4.3's admin screens; registered
 * only when no other plugin registered the route already):
 * - `GET settings/googlemeet`, `PUT|POST|PATCH settings/googlemeet` (manage_options; besides
 *   core's keys, `google_meet_config` carries `kc_meet_on_google_move` and
 *   `kc_meet_on_google_delete`, see {@see KC_Meet_Settings::SYNC_CHOICES});
 * - `GET settings/googlemeet/doctor-config`, `POST settings/googlemeet/authorize`,
 *   `POST settings/googlemeet/disconnect` (param `doctor_id`, default the current user;
 *   the doctor themselves or manage_options).
 * Success answers `{status:true, data:{…}}`; errors are `WP_Error`s with data `status` (HTTP)
 * and `kc_meet_code` (exception code).
 */
class KC_Meet_Rest {

	/**
	 * Our public namespace.
	 *
	 * @var string
	 */
	const NAMESPACE_PUBLIC = 'kc-meet/v1';

	/**
	 * KiviCare's namespace.
	 *
	 * @var string
	 */
	const NAMESPACE_KIVICARE = 'kivicare/v1';

	/**
	 * Route of the push-notification endpoint (in NAMESPACE_PUBLIC).
	 *
	 * @var string
	 */
	const NOTIFY_PATH = '/notify';

	/**
	 * Hooks route registration.
	 *
	 * @return void
	 */
	public function register() {
		add_action( 'rest_api_init', array( $this, 'register_public_routes' ) );
		// Late, so that routes core registered itself are found and left alone.
		add_action( 'rest_api_init', array( $this, 'register_kivicare_routes' ), 100 );
		add_filter( 'rest_pre_serve_request', array( $this, 'serve_empty_notify_body' ), 10, 3 );
	}

	/**
	 * Registers `kc-meet/v1/oauth/callback` and `kc-meet/v1/notify`.
	 *
	 * @return void
	 */
	public function register_public_routes() {
		if ( KC_Meet_Native::has_sync() ) {
			register_rest_route(
				self::NAMESPACE_PUBLIC,
				self::NOTIFY_PATH,
				array(
					'methods'             => WP_REST_Server::CREATABLE,
					'callback'            => array( $this, 'notify' ),
					'permission_callback' => '__return_true', // The channel token is checked by the extension.
				)
			);
		}
		register_rest_route(
			self::NAMESPACE_PUBLIC,
			'/oauth/callback',
			array(
				'methods'             => WP_REST_Server::READABLE,
				'callback'            => array( $this, 'oauth_callback' ),
				'permission_callback' => '__return_true',
				'args'                => array(
					'code'  => array(
						'type'    => 'string',
						'default' => '',
					),
					'state' => array(
						'type'    => 'string',
						'default' => '',
					),
					'error' => array(
						'type'    => 'string',
						'default' => '',
					),
					'scope' => array(
						'type'    => 'string',
						'default' => '',
					),
				),
			)
		);
	}

	/**
	 * Registers the `kivicare/v1` routes that are not registered yet.
	 *
	 * @param WP_REST_Server|null $server REST server.
	 * @return void
	 */
	public function register_kivicare_routes( $server = null ) {
		$server      = $server instanceof WP_REST_Server ? $server : rest_get_server();
		$doctor_args = array(
			'doctor_id' => array(
				'type'        => 'integer',
				'minimum'     => 0,
				'default'     => 0,
				'description' => __( 'Doctor (WordPress user id); default: the current user.', 'kc-googlemeet' ),
			),
		);

		$routes = array(
			'/settings/googlemeet'               => array(
				array(
					'methods'             => WP_REST_Server::READABLE,
					'callback'            => array( $this, 'get_settings' ),
					'permission_callback' => array( $this, 'settings_permission' ),
				),
				array(
					'methods'             => WP_REST_Server::EDITABLE,
					'callback'            => array( $this, 'update_settings' ),
					'permission_callback' => array( $this, 'settings_permission' ),
				),
			),
			'/settings/googlemeet/doctor-config' => array(
				'methods'             => WP_REST_Server::READABLE,
				'callback'            => array( $this, 'doctor_config' ),
				'permission_callback' => array( $this, 'doctor_permission' ),
				'args'                => $doctor_args,
			),
			'/settings/googlemeet/authorize'     => array(
				'methods'             => WP_REST_Server::CREATABLE,
				'callback'            => array( $this, 'authorize' ),
				'permission_callback' => array( $this, 'doctor_permission' ),
				'args'                => $doctor_args,
			),
			'/settings/googlemeet/disconnect'    => array(
				'methods'             => WP_REST_Server::CREATABLE,
				'callback'            => array( $this, 'disconnect' ),
				'permission_callback' => array( $this, 'doctor_permission' ),
				'args'                => $doctor_args,
			),
		);

		foreach ( $routes as $route => $args ) {
			if ( null !== $server->get_route_options( '/' . self::NAMESPACE_KIVICARE . $route ) ) {
				continue; // Somebody (core) registered it already.
			}
			register_rest_route( self::NAMESPACE_KIVICARE, $route, $args );
		}
	}

	/**
	 * `GET kc-meet/v1/oauth/callback`.
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
	 * `GET kivicare/v1/settings/googlemeet`.
	 *
	 * @param WP_REST_Request $request Request.
	 * @return array
	 */
	public function get_settings( WP_REST_Request $request ) {
		unset( $request );
		return array(
			'status' => true,
			'data'   => array( 'google_meet_config' => self::settings_payload() ),
		);
	}

	/**
	 * `PUT kivicare/v1/settings/googlemeet` with `{google_meet_config:{client_id, client_secret,
	 * app_name, enableCal}}` (a flat body is accepted too). Empty secret keeps the stored one.
	 *
	 * @param WP_REST_Request $request Request.
	 * @return array|WP_Error
	 */
	public function update_settings( WP_REST_Request $request ) {
		$config = $request->get_param( 'google_meet_config' );
		if ( is_string( $config ) ) {
			$config = json_decode( $config, true );
		}
		if ( ! is_array( $config ) ) {
			$keys   = array_merge( array( 'client_id', 'client_secret', 'app_name', 'enableCal', 'enabled' ), array_keys( KC_Meet_Settings::SYNC_CHOICES ) );
			$config = array_intersect_key( $request->get_params(), array_flip( $keys ) );
		}
		if ( empty( $config ) ) {
			return new WP_Error(
				'kc_meet_invalid_argument',
				__( 'Missing google_meet_config.', 'kc-googlemeet' ),
				array(
					'status'       => 400,
					'kc_meet_code' => 5001,
				)
			);
		}
		foreach ( array( 'client_id', 'client_secret', 'app_name' ) as $key ) {
			if ( isset( $config[ $key ] ) && ! is_scalar( $config[ $key ] ) ) {
				return new WP_Error(
					'kc_meet_invalid_argument',
					/* translators: %s: field name */
					sprintf( __( 'Invalid value for %s.', 'kc-googlemeet' ), $key ),
					array(
						'status'       => 400,
						'kc_meet_code' => 5001,
					)
				);
			}
		}

		$sync = KC_Meet_Settings::pick_sync_choices( $config );
		if ( ! empty( $sync['invalid'] ) ) {
			$key = $sync['invalid'][0];
			return new WP_Error(
				'kc_meet_invalid_argument',
				sprintf(
					/* translators: 1: field name, 2: allowed values */
					__( 'Invalid value for %1$s (allowed: %2$s).', 'kc-googlemeet' ),
					$key,
					implode( ', ', KC_Meet_Settings::SYNC_CHOICES[ $key ] )
				),
				array(
					'status'       => 400,
					'kc_meet_code' => 5001,
				)
			);
		}

		$changes = array_merge( array_intersect_key( $config, array_flip( array( 'client_id', 'client_secret', 'app_name' ) ) ), $sync['changes'] );
		if ( array_key_exists( 'enableCal', $config ) ) {
			$changes['enabled'] = KC_Meet_Settings::truthy( $config['enableCal'] );
		} elseif ( array_key_exists( 'enabled', $config ) ) {
			$changes['enabled'] = KC_Meet_Settings::truthy( $config['enabled'] );
		}
		KC_Meet_Settings::save( $changes );

		return array(
			'status'  => true,
			'message' => __( 'Google Meet settings saved.', 'kc-googlemeet' ),
			'data'    => array( 'google_meet_config' => self::settings_payload() ),
		);
	}

	/**
	 * `GET kivicare/v1/settings/googlemeet/doctor-config`: the doctor's kc_meet_status().
	 *
	 * @param WP_REST_Request $request Request.
	 * @return array|WP_Error
	 */
	public function doctor_config( WP_REST_Request $request ) {
		$doctor_id = self::doctor_id( $request );
		try {
			return array(
				'status' => true,
				'data'   => KC_Meet_Native::status( $doctor_id ),
			);
		} catch ( \Throwable $e ) {
			return KC_Meet_Messages::to_wp_error( $e );
		}
	}

	/**
	 * `POST kivicare/v1/settings/googlemeet/authorize`: `{data:{redirect_url}}`.
	 *
	 * @param WP_REST_Request $request Request.
	 * @return array|WP_Error
	 */
	public function authorize( WP_REST_Request $request ) {
		$doctor_id = self::doctor_id( $request );
		try {
			return array(
				'status' => true,
				'data'   => array( 'redirect_url' => KC_Meet_Native::auth_url( $doctor_id, get_current_user_id() ) ),
			);
		} catch ( \Throwable $e ) {
			return KC_Meet_Messages::to_wp_error( $e );
		}
	}

	/**
	 * `POST kivicare/v1/settings/googlemeet/disconnect`.
	 *
	 * @param WP_REST_Request $request Request.
	 * @return array|WP_Error
	 */
	public function disconnect( WP_REST_Request $request ) {
		$doctor_id = self::doctor_id( $request );
		try {
			return array(
				'status'  => true,
				'message' => __( 'Google Calendar is disconnected.', 'kc-googlemeet' ),
				'data'    => KC_Meet_Native::disconnect( $doctor_id ),
			);
		} catch ( \Throwable $e ) {
			return KC_Meet_Messages::to_wp_error( $e );
		}
	}

	/**
	 * Permission of the settings routes: manage_options.
	 *
	 * @return true|WP_Error
	 */
	public function settings_permission() {
		if ( ! is_user_logged_in() ) {
			return self::forbidden( rest_authorization_required_code() );
		}
		return KC_Meet_Access::can_manage_settings() ? true : self::forbidden( 403 );
	}

	/**
	 * Permission of the doctor routes: the doctor themselves (doctor role) or manage_options.
	 *
	 * @param WP_REST_Request $request Request.
	 * @return true|WP_Error
	 */
	public function doctor_permission( WP_REST_Request $request ) {
		if ( ! is_user_logged_in() ) {
			return self::forbidden( rest_authorization_required_code() );
		}
		$doctor_id = self::doctor_id( $request );
		if ( ! KC_Meet_Access::can_manage_doctor( $doctor_id ) ) {
			return self::forbidden( 403 );
		}
		if ( ! get_userdata( $doctor_id ) ) {
			return new WP_Error(
				'kc_meet_invalid_argument',
				__( 'Unknown doctor.', 'kc-googlemeet' ),
				array(
					'status'       => 400,
					'kc_meet_code' => 5001,
				)
			);
		}
		return true;
	}

	/**
	 * Settings as returned by GET/PUT settings/googlemeet (never the secret).
	 *
	 * @return array{client_id:string, client_secret:string, has_secret:bool, app_name:string, enableCal:string, redirect_uri:string, kc_meet_on_google_move:string, kc_meet_on_google_delete:string}
	 */
	public static function settings_payload() {
		$view = KC_Meet_Settings::public_view();
		return array(
			'client_id'                        => $view['client_id'],
			'client_secret'                    => '',
			'has_secret'                       => $view['has_secret'],
			'app_name'                         => $view['app_name'],
			'enableCal'                        => $view['enableCal'],
			'redirect_uri'                     => $view['redirect_uri'],
			KC_Meet_Settings::ON_GOOGLE_MOVE   => $view[ KC_Meet_Settings::ON_GOOGLE_MOVE ],
			KC_Meet_Settings::ON_GOOGLE_DELETE => $view[ KC_Meet_Settings::ON_GOOGLE_DELETE ],
		);
	}

	/**
	 * Doctor id of a request (`doctor_id`, default the current user).
	 *
	 * @param WP_REST_Request $request Request.
	 * @return int
	 */
	private static function doctor_id( WP_REST_Request $request ) {
		$doctor_id = (int) $request->get_param( 'doctor_id' );
		return $doctor_id > 0 ? $doctor_id : get_current_user_id();
	}

	/**
	 * A forbidden error.
	 *
	 * @param int $status HTTP status (401/403).
	 * @return WP_Error
	 */
	private static function forbidden( $status ) {
		return new WP_Error(
			'rest_forbidden',
			__( 'Sorry, you are not allowed to do that.', 'kc-googlemeet' ),
			array( 'status' => (int) $status )
		);
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
