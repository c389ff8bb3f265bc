<?php
/**
 * KiviCare 4.x provider registration.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Registers the Google Meet provider on KiviCare 4.x's `kc_telemed_providers` filter.
 *
 * The provider class ({@see KC_Meet_Telemed_Provider}) extends core's
 * `App\abstracts\KCAbstractTelemedProvider`, which only exists once core is loaded, so its file
 * is required lazily from the filter callback. Before requiring it, the parent class is checked
 * with reflection against the methods and signatures the provider implements
 * ({@see self::PROVIDER_METHODS}): an unknown core version whose abstract class would make the
 * provider fatal is reported as an admin notice instead, and the provider is not registered.
 */
class KC_Meet_KiviCare4 {

	/**
	 * Core's abstract provider class.
	 *
	 * @var string
	 */
	const PARENT_CLASS = 'App\abstracts\KCAbstractTelemedProvider';

	/**
	 * Our provider class.
	 *
	 * @var string
	 */
	const PROVIDER_CLASS = 'KC_Meet_Telemed_Provider';

	/**
	 * Provider id (also the doctor meta `telemed_type` value).
	 *
	 * @var string
	 */
	const PROVIDER_ID = 'googlemeet';

	/**
	 * Methods of KC_Meet_Telemed_Provider as declared there (all public, untyped parameters):
	 * name => [return type ('' none), number of parameters, number of required parameters].
	 * Must match the provider file: KiviCare4ProviderTest (tests/wordpress) checks it with the
	 * provider loaded.
	 *
	 * @var array<string, array{0:string, 1:int, 2:int}>
	 */
	const PROVIDER_METHODS = array(
		'get_config'                    => array( 'array', 0, 0 ),
		'get_default_config'            => array( 'array', 0, 0 ),
		'get_provider_id'               => array( 'string', 0, 0 ),
		'get_provider_name'             => array( 'string', 0, 0 ),
		'is_enabled'                    => array( 'bool', 0, 0 ),
		'is_configured'                 => array( 'bool', 0, 0 ),
		'create_meeting'                => array( '', 1, 0 ),
		'update_meeting'                => array( '', 2, 0 ),
		'delete_meeting'                => array( 'bool', 1, 0 ),
		'get_meeting'                   => array( '', 1, 0 ),
		'test_connection'               => array( 'array', 2, 0 ),
		'update_doctor_config'          => array( 'bool', 2, 0 ),
		'get_authorization_url'         => array( 'string', 1, 0 ),
		'disconnect_doctor'             => array( 'bool', 1, 0 ),
		'save_zoom_meeting_record'      => array( 'bool', 1, 0 ),
		'update_zoom_meeting_record'    => array( 'bool', 2, 0 ),
		'delete_meeting_record'         => array( 'bool', 1, 0 ),
		'get_meeting_by_appointment'    => array( '', 1, 0 ),
		'cancel_meeting_by_appointment' => array( 'bool', 1, 0 ),
		'get_doctor_access_token'       => array( 'string', 1, 0 ),
		'is_doctor_telemed_connected'   => array( 'bool', 1, 0 ),
	);

	/**
	 * Incompatibilities found by the last check.
	 *
	 * @var string[]
	 */
	private $problems = array();

	/**
	 * `kc_telemed_providers`: adds `googlemeet` when the provider class can be loaded.
	 *
	 * @param mixed $providers Providers registered so far.
	 * @return array
	 */
	public function add_provider( $providers = array() ) {
		$providers = is_array( $providers ) ? $providers : array();
		if ( ! $this->load_provider() ) {
			return $providers;
		}
		$providers[ self::PROVIDER_ID ] = array(
			'class'        => self::PROVIDER_CLASS,
			'settings_key' => KC_Meet_Settings::OPTION,
			'name'         => __( 'Google Meet', 'kc-googlemeet' ),
			'description'  => __( 'Google Meet video consultations in each doctor\'s Google Calendar.', 'kc-googlemeet' ),
		);
		return $providers;
	}

	/**
	 * Requires the provider class when core's abstract class exists and is compatible.
	 *
	 * @return bool Whether KC_Meet_Telemed_Provider is available.
	 */
	public function load_provider() {
		if ( class_exists( self::PROVIDER_CLASS, false ) ) {
			return true;
		}
		if ( ! class_exists( self::PARENT_CLASS ) ) {
			return false;
		}
		$this->problems = self::incompatibilities( self::PARENT_CLASS );
		if ( ! empty( $this->problems ) ) {
			static $notified = false;
			if ( ! $notified ) {
				$notified = true;
				KC_Meet_Notices::add_persistent(
					sprintf(
						/* translators: %s: list of methods */
						__( 'KiviCare Google Meet: this KiviCare version\'s telemed provider API is not supported (%s); the Google Meet provider was not registered.', 'kc-googlemeet' ),
						implode( '; ', $this->problems )
					),
					'warning'
				);
			}
			return false;
		}
		// Not autoloaded (KC_Meet_Autoloader::EXCLUDED): the provider file sits next to this one in kivicare/.
		require_once __DIR__ . '/class-kc-meet-telemed-provider.php';
		return class_exists( self::PROVIDER_CLASS, false );
	}

	/**
	 * Connection test of the provider and of `PUT settings/googlemeet/test-connection`: for a
	 * doctor, asks Google whether the connection works (kc_meet_check_connection()); without a
	 * doctor, the site's health.
	 *
	 * @param int $doctor_id Doctor, or 0 for the site.
	 * @return array{success:bool, message:string, data?:array}
	 */
	public static function test_connection( $doctor_id = 0 ) {
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
				'message' => KC_Meet_Messages::for_exception( $e ),
			);
		}
	}

	/**
	 * Whether the doctor's Zoom telemedicine is connected (what KiviCare 4.x's screens show
	 * next to Google Meet): the Zoom add-on is active, Zoom is enabled for the site and the
	 * doctor's Zoom connect flag is on.
	 *
	 * @param int $doctor_id Doctor.
	 * @return bool
	 */
	public static function is_zoom_connected( $doctor_id ) {
		if ( ! function_exists( 'isKiviCareTelemedActive' ) || ! isKiviCareTelemedActive() ) {
			return false;
		}
		$zoom    = maybe_unserialize( get_option( 'kiviCare_zoom_telemed_setting', array() ) );
		$zoom    = is_array( $zoom ) ? $zoom : array();
		$enabled = ( ! empty( $zoom['enabled'] ) && KC_Meet_Settings::truthy( $zoom['enabled'] ) )
			|| in_array( $zoom['auth_type'] ?? '', array( 'oauth', 'server-to-server' ), true );
		return $enabled && 'on' === get_user_meta( (int) $doctor_id, 'kiviCare_zoom_telemed_connect', true );
	}

	/**
	 * Makes Google Meet the doctor's telemedicine provider after a connect, as the vendor's
	 * callback did: `telemed_type` googlemeet, and every Zoom connection of the doctor turned
	 * off (4.x OAuth flag and token, 4.x server-to-server and 3.x configuration flags), so that
	 * core does not keep picking Zoom for them.
	 *
	 * @param int $doctor_id Doctor.
	 * @return void
	 */
	public static function make_meet_the_provider( $doctor_id ) {
		$doctor_id = (int) $doctor_id;
		if ( $doctor_id <= 0 ) {
			return;
		}
		update_user_meta( $doctor_id, 'telemed_type', self::PROVIDER_ID );
		if ( '' !== (string) get_user_meta( $doctor_id, 'kiviCare_zoom_telemed_connect', true ) ) {
			update_user_meta( $doctor_id, 'kiviCare_zoom_telemed_connect', 'off' );
		}
		delete_user_meta( $doctor_id, 'kiviCare_doctor_zoom_telemed_config' );
		foreach ( array(
			'zoom_server_to_server_oauth_config_data' => array( 'enableServerToServerOauthconfig', 'false' ),
			'zoom_config_data'                        => array( 'enableTeleMed', false ),
		) as $key => list( $flag, $off ) ) {
			$raw    = get_user_meta( $doctor_id, $key, true );
			$config = is_string( $raw ) ? json_decode( $raw, true ) : null;
			if ( is_array( $config ) && array_key_exists( $flag, $config ) ) {
				$config[ $flag ] = $off;
				update_user_meta( $doctor_id, $key, wp_json_encode( $config ) );
			}
		}
	}

	/**
	 * Which parent methods KC_Meet_Telemed_Provider would not be compatible with.
	 *
	 * @param string $parent_class Abstract provider class.
	 * @return string[] Empty when compatible.
	 */
	public static function incompatibilities( $parent_class ) {
		$problems = array();
		try {
			$reflection = new ReflectionClass( $parent_class );
		} catch ( ReflectionException $e ) {
			return array( $parent_class . ' missing' );
		}
		if ( $reflection->isFinal() || $reflection->isInterface() ) {
			return array( $parent_class . ' cannot be extended' );
		}
		foreach ( $reflection->getMethods() as $method ) {
			$name = $method->getName();
			if ( ! isset( self::PROVIDER_METHODS[ $name ] ) ) {
				if ( $method->isAbstract() ) {
					$problems[] = $name . '() not implemented';
				}
				continue;
			}
			if ( $method->isPrivate() ) {
				continue;
			}
			if ( $method->isFinal() ) {
				$problems[] = $name . '() is final';
				continue;
			}
			list( $ours, $count, $required ) = self::PROVIDER_METHODS[ $name ];
			if ( $method->getNumberOfParameters() > $count || $method->getNumberOfRequiredParameters() < $required ) {
				$problems[] = $name . '() parameters';
			}
			if ( $method->isStatic() ) {
				$problems[] = $name . '() is static';
			}
			if ( $method->hasReturnType() && ! self::return_type_compatible( $ours, $method->getReturnType() ) ) {
				$problems[] = $name . '() return type';
			}
		}
		return $problems;
	}

	/**
	 * Whether our declared return type satisfies the parent's.
	 *
	 * @param string          $ours   Our return type ('' none).
	 * @param ReflectionType $parent Parent's return type.
	 * @return bool
	 */
	private static function return_type_compatible( $ours, $parent ) {
		$parent_types = array();
		if ( $parent instanceof ReflectionUnionType ) {
			foreach ( $parent->getTypes() as $type ) {
				$parent_types[] = strtolower( (string) $type );
			}
		} else {
			$parent_types[] = strtolower( ltrim( (string) $parent, '?' ) );
		}
		if ( in_array( 'mixed', $parent_types, true ) ) {
			return true;
		}
		if ( '' === $ours ) {
			return false;
		}
		return in_array( strtolower( $ours ), $parent_types, true );
	}
}
