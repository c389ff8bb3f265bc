<?php
/**
 * The add-on's settings option.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Reads and writes the option `kiviCare_google_meet_setting`, which KiviCare core also reads.
 *
 * Both vendor shapes are accepted: 1.x `{client_id, client_secret, app_name, enableCal}` and
 * 4.x `{enabled, client_id, client_secret, auth_type, redirect_uri, default_settings}`; the
 * option may be stored as an array or as a JSON string. Saving keeps the existing shape, the
 * storage format and every key it does not change, and sets both `enabled` (4.x) and
 * `enableCal` (3.x). An empty client secret keeps the stored one. The secret is never returned
 * by {@see self::public_view()}.
 *
 * Two-way sync choices live in the same option under our own keys (core ignores them):
 * `kc_meet_on_google_move` ('apply' default | 'revert': what a move made in Google Calendar
 * does) and `kc_meet_on_google_delete` ('flag' default | 'cancel' | 'recreate': what a deletion
 * made in Google Calendar does). See {@see self::SYNC_CHOICES}.
 */
final class KC_Meet_Settings {

	/**
	 * Option name (owned by the vendor add-on; core reads it).
	 *
	 * @var string
	 */
	const OPTION = 'kiviCare_google_meet_setting';

	/**
	 * Post type of the Google event template (the vendor's: `kiviCare_` . 'gmeet_tmp', lower case).
	 *
	 * @var string
	 */
	const TEMPLATE_POST_TYPE = 'kivicare_gmeet_tmp';

	/**
	 * Slug of the Google event template post.
	 *
	 * @var string
	 */
	const TEMPLATE_SLUG = 'kivicare_doctor_gm_event_template';

	/**
	 * Option key: what a move made in Google Calendar does.
	 *
	 * @var string
	 */
	const ON_GOOGLE_MOVE = 'kc_meet_on_google_move';

	/**
	 * Option key: what a deletion made in Google Calendar does.
	 *
	 * @var string
	 */
	const ON_GOOGLE_DELETE = 'kc_meet_on_google_delete';

	/**
	 * Allowed values of the two-way sync choices, by option key; the first one is the default.
	 *
	 * @var array<string, string[]>
	 */
	const SYNC_CHOICES = array(
		self::ON_GOOGLE_MOVE   => array( 'apply', 'revert' ),
		self::ON_GOOGLE_DELETE => array( 'flag', 'cancel', 'recreate' ),
	);

	/**
	 * The stored option as an array (JSON strings decoded; anything else → empty array).
	 *
	 * @return array
	 */
	public static function raw() {
		return self::decode( get_option( self::OPTION, array() ) );
	}

	/**
	 * Normalized settings, whatever the stored shape.
	 *
	 * @return array{client_id:string, client_secret:string, app_name:string, enabled:bool, enableCal:string, on_google_move:string, on_google_delete:string}
	 */
	public static function get() {
		$raw     = self::raw();
		$enabled = self::is_enabled( $raw );
		return array(
			'client_id'        => isset( $raw['client_id'] ) && is_scalar( $raw['client_id'] ) ? trim( (string) $raw['client_id'] ) : '',
			'client_secret'    => isset( $raw['client_secret'] ) && is_scalar( $raw['client_secret'] ) ? trim( (string) $raw['client_secret'] ) : '',
			'app_name'         => isset( $raw['app_name'] ) && is_scalar( $raw['app_name'] ) ? (string) $raw['app_name'] : '',
			'enabled'          => $enabled,
			'enableCal'        => $enabled ? 'Yes' : 'No',
			'on_google_move'   => self::sync_choice( self::ON_GOOGLE_MOVE, $raw[ self::ON_GOOGLE_MOVE ] ?? null ),
			'on_google_delete' => self::sync_choice( self::ON_GOOGLE_DELETE, $raw[ self::ON_GOOGLE_DELETE ] ?? null ),
		);
	}

	/**
	 * A two-way sync choice: the value when it is allowed for the key, else the key's default.
	 *
	 * @param string $key   self::ON_GOOGLE_MOVE or self::ON_GOOGLE_DELETE.
	 * @param mixed  $value Stored or submitted value.
	 * @return string
	 */
	public static function sync_choice( $key, $value ) {
		$allowed = self::SYNC_CHOICES[ $key ] ?? array( '' );
		return is_string( $value ) && in_array( $value, $allowed, true ) ? $value : $allowed[0];
	}

	/**
	 * Picks the two-way sync choices out of submitted settings.
	 *
	 * @param array $input Submitted settings (any keys).
	 * @return array{changes: array<string, string>, invalid: string[]} `changes`: the valid
	 *               choices present, by option key (ready for {@see self::save()}); `invalid`: the
	 *               keys present with a value that is not allowed.
	 */
	public static function pick_sync_choices( array $input ) {
		$picked = array(
			'changes' => array(),
			'invalid' => array(),
		);
		foreach ( self::SYNC_CHOICES as $key => $allowed ) {
			if ( ! array_key_exists( $key, $input ) ) {
				continue;
			}
			$value = is_scalar( $input[ $key ] ) ? strtolower( trim( (string) $input[ $key ] ) ) : null;
			if ( null !== $value && in_array( $value, $allowed, true ) ) {
				$picked['changes'][ $key ] = $value;
			} else {
				$picked['invalid'][] = $key;
			}
		}
		return $picked;
	}

	/**
	 * Settings safe to show or return: no secret, a `has_secret` flag and the redirect URI.
	 *
	 * @return array{client_id:string, client_secret:string, has_secret:bool, app_name:string, enabled:bool, enableCal:string, redirect_uri:string, kc_meet_on_google_move:string, kc_meet_on_google_delete:string}
	 */
	public static function public_view() {
		$settings = self::get();
		return array(
			'client_id'            => $settings['client_id'],
			'client_secret'        => '',
			'has_secret'           => '' !== $settings['client_secret'],
			'app_name'             => $settings['app_name'],
			'enabled'              => $settings['enabled'],
			'enableCal'            => $settings['enableCal'],
			'redirect_uri'         => KC_Meet_Config::redirect_uri(),
			self::ON_GOOGLE_MOVE   => $settings['on_google_move'],
			self::ON_GOOGLE_DELETE => $settings['on_google_delete'],
		);
	}

	/**
	 * Whether Google Meet is enabled in a stored settings array (`enabled` truthy, or
	 * `enableCal` 'Yes'/'yes'/'on'/'1'/'true').
	 *
	 * @param array $raw Stored settings.
	 * @return bool
	 */
	public static function is_enabled( array $raw ) {
		if ( isset( $raw['enabled'] ) && self::truthy( $raw['enabled'] ) ) {
			return true;
		}
		return isset( $raw['enableCal'] ) && self::truthy( $raw['enableCal'] );
	}

	/**
	 * Whether client id and secret are both set.
	 *
	 * @return bool
	 */
	public static function has_credentials() {
		$settings = self::get();
		return '' !== $settings['client_id'] && '' !== $settings['client_secret'];
	}

	/**
	 * Saves settings, keeping the stored shape, format and other keys.
	 *
	 * @param array $changes Any of: `client_id` (string), `client_secret` (string; '' or missing
	 *                       keeps the stored secret), `app_name` (string), `enabled` (bool|string:
	 *                       true, 'Yes', 'on', '1', ...), `kc_meet_on_google_move`,
	 *                       `kc_meet_on_google_delete` (see self::SYNC_CHOICES; a value that is
	 *                       not allowed is ignored). Missing keys keep their stored value.
	 * @return array The public view after saving.
	 */
	public static function save( array $changes ) {
		$stored    = get_option( self::OPTION, array() );
		$as_json   = is_string( $stored ) && '' !== trim( $stored );
		$raw       = self::decode( $stored );
		$new_value = $raw;

		if ( array_key_exists( 'client_id', $changes ) && is_scalar( $changes['client_id'] ) ) {
			$new_value['client_id'] = self::clean( (string) $changes['client_id'] );
		}
		if ( array_key_exists( 'client_secret', $changes ) && is_scalar( $changes['client_secret'] ) ) {
			$secret = self::clean( (string) $changes['client_secret'] );
			if ( '' !== $secret ) {
				$new_value['client_secret'] = $secret;
			}
		}
		if ( array_key_exists( 'app_name', $changes ) && is_scalar( $changes['app_name'] ) ) {
			$new_value['app_name'] = sanitize_text_field( (string) $changes['app_name'] );
		}
		if ( array_key_exists( 'enabled', $changes ) && null !== $changes['enabled'] ) {
			$enabled                = self::truthy( $changes['enabled'] );
			$new_value['enabled']   = $enabled;
			$new_value['enableCal'] = $enabled ? 'Yes' : 'No';
		}
		foreach ( self::pick_sync_choices( $changes )['changes'] as $key => $value ) {
			$new_value[ $key ] = $value;
		}
		foreach ( array( 'client_id', 'client_secret' ) as $key ) {
			if ( ! isset( $new_value[ $key ] ) ) {
				$new_value[ $key ] = '';
			}
		}
		if ( isset( $changes['redirect_uri'] ) && is_string( $changes['redirect_uri'] )
			&& null !== self::served_match( $changes['redirect_uri'], KC_Meet_Config::redirect_uris() ) ) {
			// The redirect URI the client is registered for (one the plugin serves).
			$new_value['redirect_uri'] = esc_url_raw( trim( $changes['redirect_uri'] ) );
		}

		update_option( self::OPTION, $as_json ? wp_json_encode( $new_value ) : $new_value );
		return self::public_view();
	}

	/**
	 * The settings of a request as KiviCare hands them over: core 3.x's
	 * `KCGooglemeetController::saveGoogleMeetConfig` wraps its request in `['data' => …]`, 4.3's
	 * screens send `{google_meet_config: {…}}` (possibly as a JSON string); flat keys are accepted
	 * too.
	 *
	 * @param mixed $request Filter argument or request parameters.
	 * @return array The settings keys (client_id, client_secret, app_name, enableCal, …).
	 */
	public static function unwrap_request( $request ) {
		$request = is_array( $request ) ? $request : array();
		if ( isset( $request['data'] ) && is_array( $request['data'] ) ) {
			$request = $request['data'];
		}
		$config = $request['google_meet_config'] ?? null;
		if ( is_string( $config ) ) {
			$config = json_decode( $config, true );
		}
		return is_array( $config ) ? $config : $request;
	}

	/**
	 * The Google event template post (type {@see self::TEMPLATE_POST_TYPE}, slug
	 * {@see self::TEMPLATE_SLUG}; the vendor's), or null when the site has none.
	 *
	 * @return WP_Post|null
	 */
	public static function event_template() {
		$query = array(
			'post_type'      => self::TEMPLATE_POST_TYPE,
			'post_status'    => array( 'publish', 'draft', 'private' ),
			'posts_per_page' => 1,
			'orderby'        => 'ID',
			'order'          => 'ASC',
		);
		// The vendor's slug first; else whichever template post the site has.
		$posts = get_posts( $query + array( 'name' => self::TEMPLATE_SLUG ) );
		if ( empty( $posts ) ) {
			$posts = get_posts( $query );
		}
		return ! empty( $posts ) && $posts[0] instanceof WP_Post ? $posts[0] : null;
	}

	/**
	 * Saves the event template from what KiviCare's screens send: 3.x a list of post arrays
	 * (`ID`, `post_title`, `post_content`), 4.3 one post. Only the title and the body are taken
	 * (`{{placeholders}}` kept; the body through wp_kses_post()); a post that is not a template
	 * is never touched. Creates the template post when the site has none.
	 *
	 * @param mixed $items One post (array/object) or a list of them.
	 * @return int How many templates were saved (0: nothing usable was sent).
	 */
	public static function save_event_template( $items ) {
		if ( is_object( $items ) ) {
			$items = get_object_vars( $items );
		}
		if ( ! is_array( $items ) ) {
			return 0;
		}
		if ( isset( $items['post_title'] ) || isset( $items['post_content'] ) ) {
			$items = array( $items );
		}
		$saved = 0;
		foreach ( $items as $item ) {
			$item = is_object( $item ) ? get_object_vars( $item ) : $item;
			if ( ! is_array( $item ) || ( ! isset( $item['post_title'] ) && ! isset( $item['post_content'] ) ) ) {
				continue;
			}
			$target = isset( $item['ID'] ) && is_numeric( $item['ID'] ) ? get_post( (int) $item['ID'] ) : null;
			if ( $target instanceof WP_Post && self::TEMPLATE_POST_TYPE !== $target->post_type ) {
				continue; // Names a post that is not a template: leave it alone.
			}
			$post = $target instanceof WP_Post ? $target : self::event_template();
			$fields = array();
			if ( isset( $item['post_title'] ) && is_scalar( $item['post_title'] ) ) {
				$fields['post_title'] = sanitize_text_field( (string) $item['post_title'] );
			}
			if ( isset( $item['post_content'] ) && is_scalar( $item['post_content'] ) ) {
				$fields['post_content'] = wp_kses_post( (string) $item['post_content'] );
			}
			if ( null !== $post ) {
				$fields['ID'] = $post->ID;
				$result       = wp_update_post( wp_slash( $fields ), true );
			} else {
				$fields += array(
					'post_title'   => '',
					'post_content' => '',
				);
				$result = wp_insert_post(
					wp_slash(
						$fields + array(
							'post_type'   => self::TEMPLATE_POST_TYPE,
							'post_name'   => self::TEMPLATE_SLUG,
							'post_status' => 'publish',
						)
					),
					true
				);
			}
			if ( ! is_wp_error( $result ) && (int) $result > 0 ) {
				++$saved;
			}
		}
		return $saved;
	}

	/**
	 * The redirect URI to send Google: the stored `redirect_uri` (the vendor's 4.x add-on kept
	 * the one its client was registered for) exactly as stored when it names one of the routes
	 * the plugin serves, else the plugin's own.
	 *
	 * @param string[] $served Served redirect URIs, ours first ({@see KC_Meet_Config::redirect_uris()}).
	 * @return string
	 */
	public static function chosen_redirect_uri( array $served ) {
		$stored = self::stored_redirect_uri();
		return '' !== $stored && null !== self::served_match( $stored, $served ) ? $stored : (string) reset( $served );
	}

	/**
	 * The stored redirect URI when it names none of the routes the plugin serves (the client was
	 * made for another URI: connecting fails with Google's redirect_uri_mismatch), else ''.
	 *
	 * @return string
	 */
	public static function redirect_uri_mismatch() {
		$stored = self::stored_redirect_uri();
		return '' !== $stored && null === self::served_match( $stored, KC_Meet_Config::redirect_uris() ) ? $stored : '';
	}

	/**
	 * Which served URI a URI names (scheme and a trailing slash aside: the route answers on
	 * both schemes), or null.
	 *
	 * @param string   $uri    URI.
	 * @param string[] $served Served URIs by key.
	 * @return string|null The key of the served URI.
	 */
	public static function served_match( $uri, array $served ) {
		$key = self::uri_key( (string) $uri );
		foreach ( $served as $name => $candidate ) {
			if ( '' !== $key && self::uri_key( (string) $candidate ) === $key ) {
				return (string) $name;
			}
		}
		return null;
	}

	/**
	 * The stored `redirect_uri` ('' when none).
	 *
	 * @return string
	 */
	private static function stored_redirect_uri() {
		$raw = self::raw();
		return isset( $raw['redirect_uri'] ) && is_string( $raw['redirect_uri'] ) ? trim( $raw['redirect_uri'] ) : '';
	}

	/**
	 * Host, port, path and REST route of a URI, for comparison.
	 *
	 * @param string $uri URI.
	 * @return string '' when it is not an absolute URL.
	 */
	private static function uri_key( $uri ) {
		$parts = wp_parse_url( $uri );
		if ( ! is_array( $parts ) || empty( $parts['host'] ) ) {
			return '';
		}
		$route = '';
		if ( ! empty( $parts['query'] ) ) {
			parse_str( $parts['query'], $query );
			$route = isset( $query['rest_route'] ) && is_string( $query['rest_route'] ) ? untrailingslashit( $query['rest_route'] ) : '';
		}
		return strtolower( $parts['host'] ) . ':' . ( $parts['port'] ?? '' ) . untrailingslashit( $parts['path'] ?? '' ) . '?' . $route;
	}

	/**
	 * Whether a flag value means "yes": true, 1, '1', 'yes', 'on', 'true' (case-insensitive).
	 *
	 * @param mixed $value Flag.
	 * @return bool
	 */
	public static function truthy( $value ) {
		if ( is_bool( $value ) ) {
			return $value;
		}
		if ( is_int( $value ) || is_float( $value ) ) {
			return 0 != $value; // phpcs:ignore Universal.Operators.StrictComparisons.LooseNotEqual
		}
		if ( is_string( $value ) ) {
			return in_array( strtolower( trim( $value ) ), array( '1', 'yes', 'on', 'true' ), true );
		}
		return false;
	}

	/**
	 * Decodes a stored option value.
	 *
	 * @param mixed $value Array, JSON string or anything.
	 * @return array
	 */
	private static function decode( $value ) {
		if ( is_string( $value ) && '' !== trim( $value ) ) {
			$value = json_decode( $value, true );
		}
		if ( is_object( $value ) ) {
			$value = get_object_vars( $value );
		}
		return is_array( $value ) ? $value : array();
	}

	/**
	 * Trims a credential and strips control characters.
	 *
	 * @param string $value Raw value.
	 * @return string
	 */
	private static function clean( $value ) {
		return trim( (string) preg_replace( '/[\x00-\x1F\x7F]/', '', $value ) );
	}
}
