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
 * - `POST /notify`: Google Calendar's push notifications. Its security is the channel token, checked by the extension in constant time
 *   (forged or replayed messages are rejected without any Google request). The headers go to
 *   kc_meet_handle_notification(); the changes it applied are dispatched
 *   ({@see KC_Meet_Sync_Changes::dispatch()}); the answer is the status it returned with an
 *   empty body. Any failure answers 500 (Google retries) and is recorded for administrators
 *   ({@see KC_Meet_Events::record_failure()}), never shown.
 *
 * Namespace `kivicare/v1`: the routes of the vendor's 4.x REST controller
 * (`KCGMGoogleMeetController`), which KiviCare 4.3's own screens call, with its methods and its
 * answer shape `{status, message, data}` (registered only when no other plugin registered the
 * route already):
 * - `GET settings/googlemeet` (manage_options): `data` = {`data`: the event template post (or
 *   []), `config`: {`data`: the settings, never the secret}, `redirection_url`: the redirect URI
 *   to register};
 * - `PUT|POST|PATCH settings/googlemeet` (manage_options): body `{google_meet_config,
 *   google_meet_event_template}`; saves the settings (empty secret keeps the stored one; besides
 *   core's keys `kc_meet_on_google_move` / `kc_meet_on_google_delete`, see
 *   {@see KC_Meet_Settings::SYNC_CHOICES}) and the template through the filter
 *   `kcgm_save_googlemeet_event_template`, then fires the filter
 *   `kcgm_saved_google_meet_setting` (`['data' => config]`) like the vendor;
 * - `GET|PUT settings/googlemeet/doctor-config` (GET: `auth_type`, `is_connected`,
 *   `connection_status` connected|not_connected, `is_zoom_connected`, and our `kc_meet_status`;
 *   PUT: `auth_type` oauth|none, required);
 * - `GET|POST settings/googlemeet/authorize` (`data.redirect_url`), `GET|POST
 *   settings/googlemeet/disconnect`, `PUT settings/googlemeet/test-connection` (asks Google
 *   whether the doctor's connection works; 500 with `data.error` when not);
 *   param `doctor_id`, default the current user; the doctor themselves or manage_options;
 * - `GET settings/googlemeet/callback`: the vendor's OAuth redirect URI, public (`'encryption'
 *   => false`: 4.3 answers anonymous `kivicare/v1` requests 401 otherwise), served by the same
 *   handler as `kc-meet/v1/oauth/callback` — kc-meet's single-use state and PKCE rules; the
 *   vendor's state (a bare doctor id) is refused.
 * Errors are `WP_Error`s with data `status` (HTTP) and `kc_meet_code` (exception code).
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
	 * The vendor's 4.x OAuth redirect route (in NAMESPACE_KIVICARE).
	 *
	 * @var string
	 */
	const VENDOR_CALLBACK_PATH = '/settings/googlemeet/callback';

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
	 * Parameters of the OAuth callback routes.
	 *
	 * @return array
	 */
	private static function callback_args() {
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

		$doctor = function ( $methods, $callback, array $extra = array() ) use ( $doctor_args ) {
			return array(
				'methods'             => $methods,
				'callback'            => $callback,
				'permission_callback' => array( $this, 'doctor_permission' ),
				'args'                => array_merge( $doctor_args, $extra ),
			);
		};
		$routes = array(
			'/settings/googlemeet'                 => array(
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
			'/settings/googlemeet/doctor-config'   => array(
				$doctor( WP_REST_Server::READABLE, array( $this, 'doctor_config' ) ),
				$doctor(
					'PUT',
					array( $this, 'update_doctor_config' ),
					array(
						'auth_type' => array(
							'type'     => 'string',
							'required' => true,
							'enum'     => array( 'oauth', 'none' ),
						),
					)
				),
			),
			'/settings/googlemeet/authorize'       => $doctor( array( 'GET', 'POST' ), array( $this, 'authorize' ) ),
			'/settings/googlemeet/disconnect'      => $doctor( array( 'GET', 'POST' ), array( $this, 'disconnect' ) ),
			'/settings/googlemeet/test-connection' => $doctor( 'PUT', array( $this, 'test_connection' ) ),
			self::VENDOR_CALLBACK_PATH             => array(
				'methods'             => WP_REST_Server::READABLE,
				'callback'            => array( $this, 'oauth_callback' ),
				'permission_callback' => '__return_true', // The single-use state is checked by the extension.
				'encryption'          => false, // KiviCare 4.3: public route, no request encryption.
				'args'                => self::callback_args(),
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
	 * `GET kivicare/v1/settings/googlemeet`: the vendor's shape.
	 *
	 * @param WP_REST_Request $request Request.
	 * @return WP_REST_Response
	 */
	public function get_settings( WP_REST_Request $request ) {
		unset( $request );
		$template = KC_Meet_Settings::event_template();
		return self::answer(
			array(
				'data'            => null !== $template ? $template->to_array() : array(),
				'config'          => array( 'data' => self::settings_payload() ),
				'redirection_url' => KC_Meet_Config::redirect_uri(),
			),
			'',
			null !== $template
		);
	}

	/**
	 * `PUT kivicare/v1/settings/googlemeet` with `{google_meet_config:{client_id, client_secret,
	 * app_name, enableCal}, google_meet_event_template:{…}}` (a flat body is accepted too). Empty
	 * secret keeps the stored one.
	 *
	 * @param WP_REST_Request $request Request.
	 * @return WP_REST_Response|WP_Error
	 */
	public function update_settings( WP_REST_Request $request ) {
		$params = $request->get_params();
		$config = KC_Meet_Settings::unwrap_request( array_intersect_key( $params, array( 'google_meet_config' => true ) ) );
		if ( empty( $config ) ) {
			$keys   = array_merge( array( 'client_id', 'client_secret', 'app_name', 'enableCal', 'enabled', 'redirect_uri' ), array_keys( KC_Meet_Settings::SYNC_CHOICES ) );
			$config = array_intersect_key( $params, array_flip( $keys ) );
		}
		$template = $params['google_meet_event_template'] ?? null;
		if ( empty( $config ) && empty( $template ) ) {
			return self::invalid( __( 'Missing google_meet_config.', 'kc-googlemeet' ) );
		}
		$data = array();
		if ( ! empty( $config ) ) {
			// The one validator: nothing is saved when any field is invalid.
			$saved = KC_Meet_Settings::save( $config );
			if ( is_wp_error( $saved ) ) {
				return self::invalid( $saved->get_error_message(), (array) ( $saved->get_error_data()['errors'] ?? array() ) );
			}
			$data['google_meet_config'] = array(
				'status'  => true,
				'message' => __( 'Google Meet settings saved.', 'kc-googlemeet' ),
				'data'    => self::settings_payload(),
			);
		}
		if ( ! empty( $template ) ) {
			/** This filter is documented by KiviCare core (3.x) and the vendor's 4.x add-on. */
			$data['google_meet_event_template'] = apply_filters( 'kcgm_save_googlemeet_event_template', array( 'data' => array( $template ) ) );
		}
		/**
		 * Fires (as a filter, like the vendor's 4.x add-on) after the settings were saved.
		 *
		 * @param array $request `['data' => google_meet_config as sent, secret removed]`.
		 */
		apply_filters( 'kcgm_saved_google_meet_setting', array( 'data' => array_merge( $config, array( 'client_secret' => '' ) ) ) );

		$ok = ! in_array( false, array_map( static fn( $item ) => ! is_array( $item ) || ! isset( $item['status'] ) || false !== $item['status'], $data ), true );
		return self::answer(
			$data,
			$ok ? __( 'Google Meet settings saved.', 'kc-googlemeet' ) : __( 'Google Meet settings saved with some errors.', 'kc-googlemeet' ),
			$ok
		);
	}

	/**
	 * `GET kivicare/v1/settings/googlemeet/doctor-config`: the vendor's keys, plus our
	 * kc_meet_status() under `kc_meet_status`.
	 *
	 * @param WP_REST_Request $request Request.
	 * @return WP_REST_Response|WP_Error
	 */
	public function doctor_config( WP_REST_Request $request ) {
		$doctor_id = self::doctor_id( $request );
		try {
			$status = KC_Meet_Native::status( $doctor_id );
		} catch ( \Throwable $e ) {
			return KC_Meet_Messages::to_wp_error( $e );
		}
		$connected = 'connected' === ( $status['status'] ?? '' );
		return self::answer(
			array(
				'auth_type'         => 'oauth',
				'is_connected'      => $connected,
				'connection_status' => $connected ? 'connected' : 'not_connected',
				'is_zoom_connected' => KC_Meet_KiviCare4::is_zoom_connected( $doctor_id ),
				'kc_meet_status'    => $status,
			),
			__( 'Doctor Google Meet configuration retrieved', 'kc-googlemeet' )
		);
	}

	/**
	 * `PUT kivicare/v1/settings/googlemeet/doctor-config` (`auth_type` oauth|none, checked by the
	 * route's schema). Nothing is stored per doctor: the connection is made through Google's
	 * consent screen ({@see KC_Meet_Telemed_Provider::update_doctor_config()}).
	 *
	 * @param WP_REST_Request $request Request.
	 * @return WP_REST_Response
	 */
	public function update_doctor_config( WP_REST_Request $request ) {
		unset( $request );
		return self::answer( '', __( 'Google Meet doctor configuration updated.', 'kc-googlemeet' ) );
	}

	/**
	 * `GET|POST kivicare/v1/settings/googlemeet/authorize`: `{data:{redirect_url}}`.
	 *
	 * @param WP_REST_Request $request Request.
	 * @return WP_REST_Response|WP_Error
	 */
	public function authorize( WP_REST_Request $request ) {
		$doctor_id = self::doctor_id( $request );
		try {
			$url = KC_Meet_Native::auth_url( $doctor_id, get_current_user_id() );
		} catch ( \Throwable $e ) {
			return KC_Meet_Messages::to_wp_error( $e );
		}
		return self::answer( array( 'redirect_url' => $url ), __( 'Authorization URL generated', 'kc-googlemeet' ) );
	}

	/**
	 * `GET|POST kivicare/v1/settings/googlemeet/disconnect`.
	 *
	 * @param WP_REST_Request $request Request.
	 * @return WP_REST_Response
	 */
	public function disconnect( WP_REST_Request $request ) {
		$doctor_id = self::doctor_id( $request );
		try {
			KC_Meet_Native::disconnect( $doctor_id );
		} catch ( \Throwable $e ) {
			return self::answer( array( 'error' => KC_Meet_Messages::for_exception( $e ) ), __( 'Google Calendar could not be disconnected.', 'kc-googlemeet' ), false, 500 );
		}
		return self::answer( array(), __( 'Google Calendar is disconnected.', 'kc-googlemeet' ) );
	}

	/**
	 * `PUT kivicare/v1/settings/googlemeet/test-connection`: asks Google whether the doctor's
	 * connection works.
	 *
	 * @param WP_REST_Request $request Request.
	 * @return WP_REST_Response
	 */
	public function test_connection( WP_REST_Request $request ) {
		$test = KC_Meet_KiviCare4::test_connection( self::doctor_id( $request ) );
		if ( true === $test['success'] ) {
			return self::answer( $test, __( 'Google Meet connection test successful', 'kc-googlemeet' ) );
		}
		return self::answer( array( 'error' => $test['message'] ), __( 'Failed to test Google Meet connection.', 'kc-googlemeet' ), false, 500 );
	}

	/**
	 * An answer in KiviCare 4.x's shape (`KCBaseController::response()`).
	 *
	 * @param mixed  $data    Data.
	 * @param string $message Message.
	 * @param bool   $status  Status.
	 * @param int    $code    HTTP status.
	 * @return WP_REST_Response
	 */
	private static function answer( $data, $message = '', $status = true, $code = 200 ) {
		return new WP_REST_Response(
			array(
				'status'  => (bool) $status,
				'message' => (string) $message,
				'data'    => $data,
			),
			(int) $code
		);
	}

	/**
	 * A 400 error for a bad request.
	 *
	 * @param string                $message Message.
	 * @param array<string, string> $errors  Invalid settings: field => message.
	 * @return WP_Error
	 */
	private static function invalid( $message, array $errors = array() ) {
		$data = array(
			'status'       => 400,
			'kc_meet_code' => 5001,
		);
		if ( ! empty( $errors ) ) {
			$data['errors'] = $errors;
		}
		return new WP_Error( 'kc_meet_invalid_argument', $message, $data );
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
			'enabled'                          => $view['enabled'],
			'auth_type'                        => 'oauth',
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
