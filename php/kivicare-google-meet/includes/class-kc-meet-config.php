<?php
/**
 * Builds the kc_meet_configure() array.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Builds the site configuration handed to `kc_meet_configure()` from wp-config.php constants,
 * `$wpdb`, the add-on's settings option and the site's time zone.
 *
 * Optional wp-config.php constants:
 * - `KC_MEET_ENCRYPTION_KEY` (string): key encrypting tokens at rest; defaults to
 *   AUTH_KEY . SECURE_AUTH_KEY.
 * - `KC_MEET_ENCRYPTION_KEY_PREVIOUS` (array or comma-separated string): older keys, for rotation.
 * - `KC_MEET_GOOGLE_ENDPOINTS` (array or JSON object): overrides of `auth`, `token`, `revoke`, `calendar`.
 * - `KC_MEET_CA_FILE` (string): extra PEM CA bundle.
 * - `KC_MEET_ALLOW_INSECURE_LOOPBACK` (bool): allow http:// endpoints on 127.0.0.1/localhost.
 *
 * The array also holds `notify_url` (the push route, {@see self::notify_url()}),
 * `on_google_move` and `on_google_delete` (from the settings, {@see KC_Meet_Settings::get()}).
 *
 * The final array passes through the `kc_meet_site_config` filter.
 */
final class KC_Meet_Config {

	/**
	 * Route of the public OAuth callback (in namespace kc-meet/v1).
	 *
	 * @var string
	 */
	const CALLBACK_ROUTE = 'kc-meet/v1/oauth/callback';

	/**
	 * Route of the public push-notification endpoint (in namespace kc-meet/v1).
	 *
	 * @var string
	 */
	const NOTIFY_ROUTE = KC_Meet_Rest::NAMESPACE_PUBLIC . KC_Meet_Rest::NOTIFY_PATH;

	/**
	 * The sample value of the wp-config.php salts.
	 *
	 * @var string
	 */
	const SAMPLE_SALT = 'put your unique phrase here';

	/**
	 * Builds the complete array for kc_meet_configure().
	 *
	 * @return array
	 */
	public static function build() {
		global $wpdb;

		$settings = KC_Meet_Settings::get();
		$charset  = defined( 'DB_CHARSET' ) && '' !== (string) DB_CHARSET ? (string) DB_CHARSET : 'utf8mb4';

		$config = array(
			'db_host'        => defined( 'DB_HOST' ) ? (string) DB_HOST : 'localhost',
			'db_user'        => defined( 'DB_USER' ) ? (string) DB_USER : '',
			'db_password'    => defined( 'DB_PASSWORD' ) ? (string) DB_PASSWORD : '',
			'db_name'        => defined( 'DB_NAME' ) ? (string) DB_NAME : '',
			'db_charset'     => $charset,
			'table_prefix'   => (string) $wpdb->prefix,
			'base_prefix'    => (string) $wpdb->base_prefix,
			'client_id'      => (string) $settings['client_id'],
			'client_secret'  => (string) $settings['client_secret'],
			'redirect_uri'   => self::redirect_uri(),
			'encryption_key' => self::encryption_key(),
			'timezone'       => self::timezone(),
		);

		$previous = self::previous_encryption_keys();
		if ( ! empty( $previous ) ) {
			$config['encryption_key_previous'] = $previous;
		}

		$endpoints = self::endpoints();
		if ( null !== $endpoints ) {
			$config['endpoints'] = $endpoints;
		}

		if ( defined( 'KC_MEET_CA_FILE' ) && is_string( KC_MEET_CA_FILE ) && '' !== KC_MEET_CA_FILE ) {
			$config['ca_file'] = KC_MEET_CA_FILE;
		}

		if ( defined( 'KC_MEET_ALLOW_INSECURE_LOOPBACK' ) ) {
			$config['allow_insecure_loopback'] = (bool) KC_MEET_ALLOW_INSECURE_LOOPBACK;
		}

		$config['notify_url']       = self::notify_url();
		$config['on_google_move']   = $settings['on_google_move'];
		$config['on_google_delete'] = $settings['on_google_delete'];

		/**
		 * Filters the array passed to kc_meet_configure().
		 *
		 * @param array $config Site configuration (contains the DB password and the client secret).
		 */
		$filtered = apply_filters( 'kc_meet_site_config', $config );
		return is_array( $filtered ) ? $filtered : $config;
	}

	/**
	 * The exact OAuth redirect URI to register in Google Cloud for the current site.
	 *
	 * Stable across requests: the scheme is https when the home URL is https or the admin is
	 * forced to SSL, else the home URL's scheme (never the scheme of the current request).
	 *
	 * @return string
	 */
	public static function redirect_uri() {
		/**
		 * Filters the OAuth redirect URI (must match the one registered in Google Cloud).
		 *
		 * @param string $url Redirect URI.
		 */
		return (string) apply_filters( 'kc_meet_redirect_uri', KC_Meet_Settings::chosen_redirect_uri( self::redirect_uris() ) );
	}

	/**
	 * The OAuth redirect URIs the plugin serves: ours, and the vendor add-on's 4.x route (kept so
	 * that a client registered for the vendor needs no change in Google Cloud).
	 *
	 * @return array{kc-meet:string, kivicare:string}
	 */
	public static function redirect_uris() {
		return array(
			'kc-meet'  => self::rest_route_url( self::CALLBACK_ROUTE ),
			'kivicare' => self::rest_route_url( KC_Meet_KiviCare4_Routes::NAMESPACE_KIVICARE . KC_Meet_KiviCare4_Routes::VENDOR_CALLBACK_PATH ),
		);
	}

	/**
	 * The URL Google sends push notifications to (`/wp-json/kc-meet/v1/notify`), with the same
	 * scheme pinning as {@see self::redirect_uri()}. The extension opens push channels only when
	 * it is HTTPS (or plain HTTP on loopback with KC_MEET_ALLOW_INSECURE_LOOPBACK); otherwise
	 * sync runs by polling.
	 *
	 * @return string
	 */
	public static function notify_url() {
		/**
		 * Filters the push-notification URL handed to Google (events.watch `address`).
		 *
		 * @param string $url Notification URL.
		 */
		return (string) apply_filters( 'kc_meet_notify_url', self::rest_route_url( self::NOTIFY_ROUTE ) );
	}

	/**
	 * Absolute URL of a REST route of the current site (WordPress's get_rest_url()), stable
	 * across requests: the scheme is https when the home URL is https or the admin is forced to
	 * SSL, else the home URL's scheme (never the scheme of the current request).
	 *
	 * The configuration is built on `plugins_loaded`, before WordPress creates `$wp_rewrite`,
	 * which get_rest_url() asks whether permalinks go through index.php: until WordPress has
	 * made it, a WP_Rewrite made from the same options answers for the call, then is dropped.
	 *
	 * @param string $route Route without the leading slash, e.g. 'kc-meet/v1/notify'.
	 * @return string
	 */
	private static function rest_route_url( $route ) {
		global $wp_rewrite;

		$home   = (string) get_option( 'home' );
		$scheme = ( 'https' === wp_parse_url( $home, PHP_URL_SCHEME ) || force_ssl_admin() ) ? 'https' : 'http';

		$borrowed = ! $wp_rewrite instanceof WP_Rewrite;
		if ( $borrowed ) {
			$wp_rewrite = new WP_Rewrite(); // phpcs:ignore WordPress.WP.GlobalVariablesOverride.Prohibited -- dropped again below; WordPress makes its own later.
		}
		try {
			$url = get_rest_url( null, $route, $scheme );
		} finally {
			if ( $borrowed ) {
				$wp_rewrite = null; // phpcs:ignore WordPress.WP.GlobalVariablesOverride.Prohibited -- see above.
			}
		}
		return set_url_scheme( (string) $url, $scheme );
	}

	/**
	 * The key that encrypts tokens at rest ('' when none is usable: health reports it).
	 *
	 * @return string
	 */
	public static function encryption_key() {
		if ( defined( 'KC_MEET_ENCRYPTION_KEY' ) && is_string( KC_MEET_ENCRYPTION_KEY ) && '' !== KC_MEET_ENCRYPTION_KEY ) {
			return KC_MEET_ENCRYPTION_KEY;
		}
		if ( defined( 'AUTH_KEY' ) && defined( 'SECURE_AUTH_KEY' ) ) {
			$auth   = (string) AUTH_KEY;
			$secure = (string) SECURE_AUTH_KEY;
			if ( '' !== $auth && '' !== $secure && self::SAMPLE_SALT !== $auth && self::SAMPLE_SALT !== $secure ) {
				return $auth . $secure;
			}
		}
		return '';
	}

	/**
	 * Older encryption keys from KC_MEET_ENCRYPTION_KEY_PREVIOUS (array or comma-separated).
	 *
	 * @return string[]
	 */
	public static function previous_encryption_keys() {
		if ( ! defined( 'KC_MEET_ENCRYPTION_KEY_PREVIOUS' ) ) {
			return array();
		}
		$value = KC_MEET_ENCRYPTION_KEY_PREVIOUS;
		if ( is_string( $value ) ) {
			$value = explode( ',', $value );
		}
		if ( ! is_array( $value ) ) {
			return array();
		}
		$keys = array();
		foreach ( $value as $key ) {
			if ( is_scalar( $key ) ) {
				$key = trim( (string) $key );
				if ( '' !== $key ) {
					$keys[] = $key;
				}
			}
		}
		return array_values( array_unique( $keys ) );
	}

	/**
	 * The site's time zone: the IANA name, or the UTC offset formatted like '+05:30'.
	 *
	 * @return string
	 */
	public static function timezone() {
		$name = (string) get_option( 'timezone_string' );
		if ( '' !== $name ) {
			return $name;
		}
		return self::format_offset( (float) get_option( 'gmt_offset', 0 ) );
	}

	/**
	 * Formats an hour offset (5.5, -3.75, 0) as '+05:30', '-03:45', '+00:00'.
	 *
	 * @param float $hours Offset in hours.
	 * @return string
	 */
	public static function format_offset( $hours ) {
		$minutes = (int) round( abs( (float) $hours ) * 60 );
		$sign    = ( (float) $hours < 0 && $minutes > 0 ) ? '-' : '+';
		return sprintf( '%s%02d:%02d', $sign, intdiv( $minutes, 60 ), $minutes % 60 );
	}

	/**
	 * Endpoint overrides from KC_MEET_GOOGLE_ENDPOINTS (array or JSON), or null when not set.
	 *
	 * @return array|null
	 */
	public static function endpoints() {
		if ( ! defined( 'KC_MEET_GOOGLE_ENDPOINTS' ) ) {
			return null;
		}
		$value = KC_MEET_GOOGLE_ENDPOINTS;
		if ( is_string( $value ) ) {
			$value = '' === trim( $value ) ? array() : json_decode( $value, true );
		}
		return is_array( $value ) ? $value : null;
	}
}
