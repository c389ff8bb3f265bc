<?php
/**
 * The KiviCare 4.x REST routes of the vendor's add-on.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
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
 *   => false`: 4.3 answers anonymous `kivicare/v1` requests 401 otherwise), served by
 *   {@see KC_Meet_Rest::oauth_callback()}, the handler of `kc-meet/v1/oauth/callback` —
 *   kc-meet's single-use state and PKCE rules; the vendor's state (a bare doctor id) is refused.
 * Errors are `WP_Error`s with data `status` (HTTP) and `kc_meet_code` (exception code).
 */
class KC_Meet_KiviCare4_Routes {

	/**
	 * KiviCare's namespace.
	 *
	 * @var string
	 */
	const NAMESPACE_KIVICARE = 'kivicare/v1';

	/**
	 * The vendor's 4.x OAuth redirect route (in NAMESPACE_KIVICARE).
	 *
	 * @var string
	 */
	const VENDOR_CALLBACK_PATH = '/settings/googlemeet/callback';

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
				'callback'            => array( KC_Meet_Plugin::instance()->component( 'rest', 'KC_Meet_Rest' ), 'oauth_callback' ),
				'permission_callback' => '__return_true', // The single-use state is checked by the extension.
				'encryption'          => false, // KiviCare 4.3: public route, no request encryption.
				'args'                => KC_Meet_Rest::callback_args(),
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
}
