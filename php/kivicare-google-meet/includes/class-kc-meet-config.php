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
	 * Route of the public push-notification endpoint: KC_Meet_Rest::NAMESPACE_PUBLIC .
	 * KC_Meet_Rest::NOTIFY_PATH, spelt out so that building the configuration loads no REST class.
	 *
	 * @var string
	 */
	const NOTIFY_ROUTE = 'kc-meet/v1/notify';

	/**
	 * The vendor add-on's 4.x OAuth callback route: KC_Meet_KiviCare4_Routes::NAMESPACE_KIVICARE .
	 * KC_Meet_KiviCare4_Routes::VENDOR_CALLBACK_PATH, spelt out for the same reason.
	 *
	 * @var string
	 */
	const VENDOR_CALLBACK_ROUTE = 'kivicare/v1/settings/googlemeet/callback';

	/**
	 * Hooks that make {@see self::rest_route_urls()} ask get_rest_url() itself: each one filters a
	 * step of it that the quick way leaves out.
	 *
	 * @var string[]
	 */
	const REST_URL_HOOKS = array( 'rest_url', 'home_url', 'set_url_scheme' );

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
		$urls     = self::rest_route_urls( array( self::CALLBACK_ROUTE, self::VENDOR_CALLBACK_ROUTE, self::NOTIFY_ROUTE ) );

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
			'redirect_uri'   => self::filter_redirect_uri( self::served_redirect_uris( $urls ) ),
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

		$config['notify_url']       = self::filter_notify_url( $urls[ self::NOTIFY_ROUTE ] );
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
		return self::filter_redirect_uri( self::redirect_uris() );
	}

	/**
	 * The OAuth redirect URIs the plugin serves: ours, and the vendor add-on's 4.x route (kept so
	 * that a client registered for the vendor needs no change in Google Cloud).
	 *
	 * @return array{kc-meet:string, kivicare:string}
	 */
	public static function redirect_uris() {
		return self::served_redirect_uris( self::rest_route_urls( array( self::CALLBACK_ROUTE, self::VENDOR_CALLBACK_ROUTE ) ) );
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
		return self::filter_notify_url( self::rest_route_urls( array( self::NOTIFY_ROUTE ) )[ self::NOTIFY_ROUTE ] );
	}

	/**
	 * The redirect URIs by name, from the routes' URLs.
	 *
	 * @param array<string, string> $urls URLs by route ({@see self::rest_route_urls()}).
	 * @return array{kc-meet:string, kivicare:string}
	 */
	private static function served_redirect_uris( array $urls ) {
		return array(
			'kc-meet'  => $urls[ self::CALLBACK_ROUTE ],
			'kivicare' => $urls[ self::VENDOR_CALLBACK_ROUTE ],
		);
	}

	/**
	 * The redirect URI chosen among the served ones, through `kc_meet_redirect_uri`.
	 *
	 * @param array{kc-meet:string, kivicare:string} $served Served redirect URIs.
	 * @return string
	 */
	private static function filter_redirect_uri( array $served ) {
		/**
		 * Filters the OAuth redirect URI (must match the one registered in Google Cloud).
		 *
		 * @param string $url Redirect URI.
		 */
		return (string) apply_filters( 'kc_meet_redirect_uri', KC_Meet_Settings::chosen_redirect_uri( $served ) );
	}

	/**
	 * The push route's URL through `kc_meet_notify_url`.
	 *
	 * @param string $url The route's URL.
	 * @return string
	 */
	private static function filter_notify_url( $url ) {
		/**
		 * Filters the push-notification URL handed to Google (events.watch `address`).
		 *
		 * @param string $url Notification URL.
		 */
		return (string) apply_filters( 'kc_meet_notify_url', $url );
	}

	/**
	 * Absolute URLs of REST routes of the current site: what WordPress's get_rest_url() answers,
	 * stable across requests: the scheme is https when the home URL is https or the admin is
	 * forced to SSL, else the home URL's scheme (never the scheme of the current request).
	 *
	 * The site's home URL, scheme and REST prefix are looked up once for all the routes. When
	 * nothing filters the steps of get_rest_url() ({@see self::REST_URL_HOOKS}), its result is
	 * made here from the same options by its own rules (the request-dependent steps only set the
	 * scheme, which is pinned afterwards anyway), with no WP_Rewrite: the configuration is built
	 * at the first native call, and on `plugins_loaded` before WordPress creates `$wp_rewrite`.
	 * Otherwise get_rest_url() answers for each route (a WP_Rewrite made from the same options
	 * stands in until WordPress has made its own, then is dropped).
	 *
	 * @param string[] $routes Routes without the leading slash, e.g. 'kc-meet/v1/notify'.
	 * @return array<string, string> URL by route.
	 */
	private static function rest_route_urls( array $routes ) {
		$home   = (string) get_option( 'home' );
		// wp_parse_url() differs from parse_url() only for URLs starting with '/': no scheme either way.
		$scheme = ( 'https' === parse_url( $home, PHP_URL_SCHEME ) || force_ssl_admin() ) ? 'https' : 'http'; // phpcs:ignore WordPress.WP.AlternativeFunctions.parse_url_parse_url -- see above.

		foreach ( self::REST_URL_HOOKS as $hook ) {
			if ( has_filter( $hook ) ) {
				return self::rest_route_urls_from_core( $routes, $scheme );
			}
		}

		// get_home_url( null, $path, $scheme ), then get_rest_url()'s rules.
		$home = set_url_scheme( $home, $scheme );
		$urls = array();
		if ( get_option( 'permalink_structure' ) ) {
			global $wp_rewrite;
			if ( $wp_rewrite instanceof WP_Rewrite ) {
				$path = $wp_rewrite->using_index_permalinks() ? $wp_rewrite->index . '/' . rest_get_url_prefix() : rest_get_url_prefix();
			} else {
				// WP_Rewrite::using_index_permalinks() of a WP_Rewrite made now (index 'index.php').
				$index = preg_match( '#^/*index.php#', (string) get_option( 'permalink_structure' ) );
				$path  = $index ? 'index.php/' . rest_get_url_prefix() : rest_get_url_prefix();
			}
			$base = $path && is_string( $path ) ? $home . '/' . ltrim( $path, '/' ) : $home;
			foreach ( $routes as $route ) {
				$urls[ $route ] = $base . '/' . ltrim( $route, '/' );
			}
			return $urls;
		}
		$base = trailingslashit( $home );
		if ( 'index.php' !== substr( $base, 9 ) ) {
			$base .= 'index.php';
		}
		foreach ( $routes as $route ) {
			$urls[ $route ] = add_query_arg( 'rest_route', '/' . ltrim( $route, '/' ), $base );
		}
		return $urls;
	}

	/**
	 * {@see self::rest_route_urls()} by get_rest_url() itself, for a site that filters its steps.
	 *
	 * @param string[] $routes Routes without the leading slash.
	 * @param string   $scheme 'https' or 'http'.
	 * @return array<string, string> URL by route.
	 */
	private static function rest_route_urls_from_core( array $routes, $scheme ) {
		global $wp_rewrite;

		$borrowed = ! $wp_rewrite instanceof WP_Rewrite;
		if ( $borrowed ) {
			$wp_rewrite = new WP_Rewrite(); // phpcs:ignore WordPress.WP.GlobalVariablesOverride.Prohibited -- dropped again below; WordPress makes its own later.
		}
		$urls = array();
		try {
			foreach ( $routes as $route ) {
				$urls[ $route ] = set_url_scheme( (string) get_rest_url( null, $route, $scheme ), $scheme );
			}
		} finally {
			if ( $borrowed ) {
				$wp_rewrite = null; // phpcs:ignore WordPress.WP.GlobalVariablesOverride.Prohibited -- see above.
			}
		}
		return $urls;
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
