<?php
/**
 * The add-on's settings option.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * The one place that reads, defaults and validates kc-meet's settings.
 *
 * Options:
 * - `kiviCare_google_meet_setting` (owned by the vendor add-on; core reads it on every request).
 *   Both vendor shapes are accepted: 1.x `{client_id, client_secret, app_name, enableCal}` and
 *   4.x `{enabled, client_id, client_secret, auth_type, redirect_uri, default_settings}`, stored
 *   as an array or as a JSON string. Saving keeps the stored shape, the storage format and every
 *   key it does not change. An empty client secret keeps the stored one; the secret is never
 *   returned by {@see self::public_view()}. Our own keys live in the same option (core ignores
 *   them): `kc_meet_on_google_move` ('apply' default | 'revert': what a move made in Google
 *   Calendar does) and `kc_meet_on_google_delete` ('flag' default | 'cancel' | 'recreate': what
 *   a deletion made in Google Calendar does), see {@see self::SYNC_CHOICES}.
 * - `kiviCare_woocommerce_payment` ('on' | 'off', core's): on exactly when core sees it on —
 *   core compares `get_option(…) == 'on'`, so only 'on' (or boolean true) is on; '1', 'yes' are
 *   off for core and so for us ({@see self::woocommerce_payment()}).
 * - `kc_meet_woo_unpaid_minutes` (ours): minutes an order may stay unpaid, an integer from
 *   {@see self::UNPAID_MINUTES_MIN} to {@see self::UNPAID_MINUTES_MAX}, default 30
 *   ({@see self::unpaid_minutes()}).
 *
 * The rule for "enabled" (the on/off switch), used for the stored option and for every request
 * that changes it (settings screen, KiviCare 4.x REST routes, KiviCare 3.x filters): Google Meet
 * is on when `enabled` is truthy or `enableCal` is truthy, truthy being true, a non-zero number
 * or (case-insensitive, trimmed) '1', 'yes', 'on', 'true' ({@see self::is_enabled()}). That is
 * the union of what core reads (3.x: `enableCal` '1'/'true'/'Yes'; 4.x: `enabled` truthy or
 * `enableCal` 'Yes'/'on'). A save always writes both keys (`enabled` true|false, `enableCal`
 * 'Yes'|'No'), and `auth_type` 'oauth'|'none' when the stored shape has it (KiviCare 4.3 also
 * counts `auth_type` 'oauth' as on), so every core version reads the same switch. Switching on
 * needs a client ID and secret (stored or sent with it).
 *
 * {@see self::validate()} is the validator every writer goes through (REST, 3.x filters, the
 * settings screen's sanitize callbacks); {@see self::save()} validates and writes, or writes
 * nothing and answers a WP_Error naming every invalid field.
 */
final class KC_Meet_Settings {

	/**
	 * Option name (owned by the vendor add-on; core reads it).
	 *
	 * @var string
	 */
	const OPTION = 'kiviCare_google_meet_setting';

	/**
	 * Option: KiviCare's WooCommerce payment switch ('on'|'off'; core reads it).
	 *
	 * @var string
	 */
	const WOO_PAYMENT_OPTION = 'kiviCare_woocommerce_payment';

	/**
	 * Option: minutes an order may stay unpaid before its appointment is cancelled.
	 *
	 * @var string
	 */
	const UNPAID_MINUTES_OPTION = 'kc_meet_woo_unpaid_minutes';

	/**
	 * Default of {@see self::UNPAID_MINUTES_OPTION}.
	 *
	 * @var int
	 */
	const UNPAID_MINUTES_DEFAULT = 30;

	/**
	 * Smallest accepted value of {@see self::UNPAID_MINUTES_OPTION}.
	 *
	 * @var int
	 */
	const UNPAID_MINUTES_MIN = 1;

	/**
	 * Largest accepted value of {@see self::UNPAID_MINUTES_OPTION} (a week).
	 *
	 * @var int
	 */
	const UNPAID_MINUTES_MAX = 10080;

	/**
	 * Longest accepted client ID, client secret and application name.
	 *
	 * @var int
	 */
	const MAX_LENGTH = 255;

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
	 * Whether the stored option says anything about the switch yet (`enabled` or `enableCal`).
	 *
	 * @return bool
	 */
	public static function has_switch() {
		$raw = self::raw();
		return array_key_exists( 'enabled', $raw ) || array_key_exists( 'enableCal', $raw );
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
	 *               choices present, by option key; `invalid`: the keys present with a value that
	 *               is not allowed.
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
	 * The switch in a settings array, stored or sent: `enabled` truthy or `enableCal` truthy
	 * (see the class doc: the one rule).
	 *
	 * @param array $raw Settings (either vendor shape, or a request's keys).
	 * @return bool
	 */
	public static function is_enabled( array $raw ) {
		if ( isset( $raw['enabled'] ) && self::truthy( $raw['enabled'] ) ) {
			return true;
		}
		return isset( $raw['enableCal'] ) && self::truthy( $raw['enableCal'] );
	}

	/**
	 * The switch a request sets: null when it names neither `enabled` nor `enableCal`, else
	 * {@see self::is_enabled()} of it.
	 *
	 * @param array $input Request keys.
	 * @return bool|null
	 */
	public static function enabled_in( array $input ) {
		if ( ! array_key_exists( 'enabled', $input ) && ! array_key_exists( 'enableCal', $input ) ) {
			return null;
		}
		return self::is_enabled( $input );
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
	 * Whether KiviCare's WooCommerce payment is on, read as core reads it
	 * (`get_option( 'kiviCare_woocommerce_payment' ) == 'on'`).
	 *
	 * @param mixed $value A value to judge; omitted: the stored option.
	 * @return bool
	 */
	public static function woocommerce_payment( $value = null ) {
		$value = func_num_args() > 0 ? $value : get_option( self::WOO_PAYMENT_OPTION, 'off' );
		return true === $value || 'on' === $value;
	}

	/**
	 * Minutes an order may stay unpaid: the stored value when it is a whole number in range,
	 * else the default.
	 *
	 * @return int
	 */
	public static function unpaid_minutes() {
		$minutes = self::parse_minutes( get_option( self::UNPAID_MINUTES_OPTION, self::UNPAID_MINUTES_DEFAULT ) );
		return null === $minutes ? self::UNPAID_MINUTES_DEFAULT : $minutes;
	}

	/**
	 * A whole number of minutes in range, or null.
	 *
	 * @param mixed $value Stored or submitted value (int, or a string of digits).
	 * @return int|null
	 */
	public static function parse_minutes( $value ) {
		if ( is_string( $value ) ) {
			$value = trim( $value );
			if ( ! preg_match( '/^\d{1,6}$/', $value ) ) {
				return null;
			}
			$value = (int) $value;
		}
		if ( is_float( $value ) && floor( $value ) === $value ) {
			$value = (int) $value;
		}
		if ( ! is_int( $value ) || $value < self::UNPAID_MINUTES_MIN || $value > self::UNPAID_MINUTES_MAX ) {
			return null;
		}
		return $value;
	}

	/**
	 * The one validator of a change to `kiviCare_google_meet_setting`.
	 *
	 * Accepted keys (any subset; others are ignored): `client_id` (letters, digits, `.`, `-`,
	 * `_`; up to 255), `client_secret` (printable, no spaces; up to 255; '' keeps the stored
	 * one), `app_name` (text, up to 255), `enabled` / `enableCal` (the switch, see
	 * {@see self::enabled_in()}; switching on needs a client ID and secret), `redirect_uri` (one
	 * of the URIs the site serves, {@see KC_Meet_Config::redirect_uris()}; '' keeps it) and the
	 * sync choices {@see self::SYNC_CHOICES}.
	 *
	 * @param array $input Submitted settings.
	 * @return array{changes: array, errors: array<string, string>} `changes`: normalized values
	 *               ready for {@see self::save()}; `errors`: field key => message (translatable,
	 *               never containing the submitted secret).
	 */
	public static function validate( array $input ) {
		$changes = array();
		$errors  = array();

		if ( array_key_exists( 'client_id', $input ) ) {
			$value = is_scalar( $input['client_id'] ) ? trim( (string) $input['client_id'] ) : null;
			if ( null === $value || strlen( $value ) > self::MAX_LENGTH || ( '' !== $value && ! preg_match( '/^[A-Za-z0-9][A-Za-z0-9._-]*$/', $value ) ) ) {
				$errors['client_id'] = __( 'The client ID may only contain letters, digits, dots, hyphens and underscores (Google\'s look like 1234-abc.apps.googleusercontent.com).', 'kc-googlemeet' );
			} else {
				$changes['client_id'] = $value;
			}
		}
		if ( array_key_exists( 'client_secret', $input ) ) {
			$value = is_scalar( $input['client_secret'] ) ? trim( (string) $input['client_secret'] ) : null;
			if ( null === $value || strlen( $value ) > self::MAX_LENGTH || ( '' !== $value && ! preg_match( '/^[\x21-\x7E]+$/', $value ) ) ) {
				$errors['client_secret'] = __( 'The client secret is not valid: paste it exactly as Google Cloud shows it (no spaces). It was not saved; enter it again.', 'kc-googlemeet' );
			} elseif ( '' !== $value ) {
				$changes['client_secret'] = $value;
			}
		}
		if ( array_key_exists( 'app_name', $input ) ) {
			$value = is_scalar( $input['app_name'] ) ? sanitize_text_field( (string) $input['app_name'] ) : null;
			if ( null === $value || strlen( $value ) > self::MAX_LENGTH ) {
				$errors['app_name'] = __( 'The application name must be text of at most 255 characters.', 'kc-googlemeet' );
			} else {
				$changes['app_name'] = $value;
			}
		}
		foreach ( array( 'enabled', 'enableCal' ) as $key ) {
			if ( array_key_exists( $key, $input ) && null !== $input[ $key ] && ! is_scalar( $input[ $key ] ) ) {
				$errors['enabled'] = __( 'The Google Meet switch must be on or off.', 'kc-googlemeet' );
			}
		}
		$enabled = isset( $errors['enabled'] ) ? null : self::enabled_in( $input );
		if ( null !== $enabled ) {
			$changes['enabled'] = $enabled;
		}
		if ( array_key_exists( 'redirect_uri', $input ) ) {
			$value = is_string( $input['redirect_uri'] ) ? trim( $input['redirect_uri'] ) : null;
			if ( null === $value || ( '' !== $value && null === self::served_match( $value, KC_Meet_Config::redirect_uris() ) ) ) {
				$errors['redirect_uri'] = __( 'The redirect URI must be one of the URIs this site serves.', 'kc-googlemeet' );
			} elseif ( '' !== $value ) {
				$changes['redirect_uri'] = esc_url_raw( $value );
			}
		}
		$sync = self::pick_sync_choices( $input );
		$changes += $sync['changes'];
		foreach ( $sync['invalid'] as $key ) {
			$errors[ $key ] = sprintf(
				/* translators: 1: setting name, 2: allowed values */
				__( 'Invalid value for %1$s (allowed: %2$s).', 'kc-googlemeet' ),
				$key,
				implode( ', ', self::SYNC_CHOICES[ $key ] )
			);
		}

		if ( true === ( $changes['enabled'] ?? null ) && ! isset( $errors['client_id'] ) && ! isset( $errors['client_secret'] ) ) {
			$current = self::get();
			$id      = $changes['client_id'] ?? $current['client_id'];
			$secret  = $changes['client_secret'] ?? $current['client_secret'];
			if ( '' === $id || '' === $secret ) {
				$errors['enabled'] = __( 'Google Meet can be switched on only with a client ID and a client secret.', 'kc-googlemeet' );
			}
		}

		return array(
			'changes' => $changes,
			'errors'  => $errors,
		);
	}

	/**
	 * Validates and saves a change, keeping the stored shape, format and other keys; saves
	 * nothing when any field is invalid.
	 *
	 * @param array $input See {@see self::validate()}. Missing keys keep their stored value.
	 * @return array|WP_Error The public view after saving, or a WP_Error (code
	 *                        `kc_meet_invalid_settings`, message: every problem, data: `status`
	 *                        400, `kc_meet_code` 5001, `errors` field => message).
	 */
	public static function save( array $input ) {
		$checked = self::validate( $input );
		if ( ! empty( $checked['errors'] ) ) {
			return self::invalid( $checked['errors'] );
		}
		$stored = get_option( self::OPTION, array() );
		$value  = self::merge( $stored, $checked['changes'] );
		if ( $value !== $stored ) {
			update_option( self::OPTION, $value );
		}
		return self::public_view();
	}

	/**
	 * A WP_Error for invalid settings.
	 *
	 * @param array<string, string> $errors Field => message.
	 * @return WP_Error
	 */
	public static function invalid( array $errors ) {
		return new WP_Error(
			'kc_meet_invalid_settings',
			implode( ' ', array_values( $errors ) ),
			array(
				'status'       => 400,
				'kc_meet_code' => 5001,
				'errors'       => $errors,
			)
		);
	}

	/**
	 * The stored value with validated changes applied, in the stored format (array, or a JSON
	 * string when it was stored as one): both switch keys written, `auth_type` kept in step when
	 * the shape has it, `client_id` and `client_secret` always present.
	 *
	 * @param mixed $stored  The stored option value.
	 * @param array $changes Changes from {@see self::validate()}.
	 * @return array|string
	 */
	private static function merge( $stored, array $changes ) {
		$as_json = is_string( $stored ) && '' !== trim( $stored );
		$value   = self::decode( $stored );
		foreach ( array( 'client_id', 'client_secret', 'app_name', 'redirect_uri' ) as $key ) {
			if ( array_key_exists( $key, $changes ) ) {
				$value[ $key ] = $changes[ $key ];
			}
		}
		if ( array_key_exists( 'enabled', $changes ) ) {
			$value['enabled']   = (bool) $changes['enabled'];
			$value['enableCal'] = $changes['enabled'] ? 'Yes' : 'No';
			if ( array_key_exists( 'auth_type', $value ) ) {
				$value['auth_type'] = $changes['enabled'] ? 'oauth' : 'none';
			}
		}
		foreach ( array_keys( self::SYNC_CHOICES ) as $key ) {
			if ( array_key_exists( $key, $changes ) ) {
				$value[ $key ] = $changes[ $key ];
			}
		}
		$value += array(
			'client_id'     => '',
			'client_secret' => '',
		);
		return $as_json ? (string) wp_json_encode( $value ) : $value;
	}

	/**
	 * Settings group of the settings screen (`option_page` of options.php).
	 *
	 * @var string
	 */
	const GROUP = 'kc_meet_settings';

	/**
	 * Hidden field that marks a submission of the settings screen inside the option's array.
	 *
	 * @var string
	 */
	const FORM_MARKER = 'kc_meet_form';

	/**
	 * Transient prefix (+ user id): what the admin typed when the screen refused it.
	 *
	 * @var string
	 */
	const TYPED_TRANSIENT = 'kc_meet_settings_typed_';

	/**
	 * Registers the three options of the settings screen with the Settings API, on `admin_init`
	 * of options.php only: that is where the screen's form is saved, and no other page view pays
	 * for it. The sanitize callbacks run on every write of these options in such a request, so
	 * they only validate what the screen submitted and leave other writers' values as they are
	 * (those go through {@see self::save()}).
	 *
	 * @return void
	 */
	public static function register() {
		global $pagenow;
		if ( 'options.php' !== $pagenow ) {
			return;
		}
		register_setting(
			self::GROUP,
			self::OPTION,
			array(
				'type'              => 'object',
				'show_in_rest'      => false,
				'sanitize_callback' => array( __CLASS__, 'sanitize_option' ),
			)
		);
		register_setting(
			self::GROUP,
			self::WOO_PAYMENT_OPTION,
			array(
				'type'              => 'string',
				'show_in_rest'      => false,
				'sanitize_callback' => array( __CLASS__, 'sanitize_woocommerce_payment' ),
			)
		);
		register_setting(
			self::GROUP,
			self::UNPAID_MINUTES_OPTION,
			array(
				'type'              => 'integer',
				'show_in_rest'      => false,
				'sanitize_callback' => array( __CLASS__, 'sanitize_unpaid_minutes' ),
			)
		);
		add_filter( 'option_page_capability_' . self::GROUP, array( __CLASS__, 'capability' ) );
	}

	/**
	 * `option_page_capability_kc_meet_settings`: who may save the screen.
	 *
	 * @return string
	 */
	public static function capability() {
		return KC_Meet_Access::ADMIN_CAP;
	}

	/**
	 * Sanitize callback of `kiviCare_google_meet_setting`.
	 *
	 * A submission of the settings screen (an array carrying {@see self::FORM_MARKER}) is
	 * validated by {@see self::validate()}: valid → the stored value with the changes (shape and
	 * format kept); invalid → one settings error per field, the stored value unchanged, and what
	 * was typed (never the secret) kept for the screen to show again. A missing value (null)
	 * keeps the stored one. Anything else is another writer's value and passes unchanged.
	 *
	 * @param mixed $value Submitted or written value.
	 * @return mixed
	 */
	public static function sanitize_option( $value ) {
		$stored = get_option( self::OPTION ); // As stored (false when missing: writing it back changes nothing).
		if ( null === $value ) {
			return $stored;
		}
		if ( ! is_array( $value ) || ! array_key_exists( self::FORM_MARKER, $value ) ) {
			return $value;
		}
		$keys  = array_merge( array( 'client_id', 'client_secret', 'app_name', 'enabled', 'redirect_uri' ), array_keys( self::SYNC_CHOICES ) );
		$input = array_intersect_key( $value, array_flip( $keys ) );
		if ( ! current_user_can( KC_Meet_Access::ADMIN_CAP ) ) {
			return $stored;
		}
		if ( ! self::has_switch() && self::truthy( $input['enabled'] ?? null ) ) {
			// The screen shows a never-set switch on, meaning "on with the first client": until
			// a client ID and secret are saved, it stays unset instead of refusing the save.
			$current = self::get();
			$id      = is_scalar( $input['client_id'] ?? null ) ? trim( (string) $input['client_id'] ) : $current['client_id'];
			$secret  = is_scalar( $input['client_secret'] ?? null ) && '' !== trim( (string) $input['client_secret'] ) ? trim( (string) $input['client_secret'] ) : $current['client_secret'];
			if ( '' === $id || '' === $secret ) {
				unset( $input['enabled'] );
			}
		}
		$checked = self::validate( $input );
		if ( ! empty( $checked['errors'] ) ) {
			foreach ( $checked['errors'] as $key => $message ) {
				add_settings_error( self::OPTION, 'kc_meet_' . $key, $message, 'error' );
			}
			unset( $input['client_secret'] );
			self::keep_typed( array( self::OPTION => $input ) );
			return $stored;
		}
		return self::merge( $stored, $checked['changes'] );
	}

	/**
	 * Sanitize callback of `kiviCare_woocommerce_payment`: 'on' when core would read it as on
	 * ({@see self::woocommerce_payment()}), else 'off'. A missing value (null: the field was not
	 * on the submitted form) keeps the stored one.
	 *
	 * @param mixed $value Submitted or written value.
	 * @return string|mixed
	 */
	public static function sanitize_woocommerce_payment( $value ) {
		if ( null === $value ) {
			return get_option( self::WOO_PAYMENT_OPTION ); // As stored: nothing changes.
		}
		return self::woocommerce_payment( $value ) ? 'on' : 'off';
	}

	/**
	 * Sanitize callback of `kc_meet_woo_unpaid_minutes`: a whole number from
	 * {@see self::UNPAID_MINUTES_MIN} to {@see self::UNPAID_MINUTES_MAX}; anything else is
	 * refused with a settings error (what was typed kept for the screen) and the stored value
	 * stays. A missing value (null) keeps the stored one.
	 *
	 * @param mixed $value Submitted or written value.
	 * @return int|mixed
	 */
	public static function sanitize_unpaid_minutes( $value ) {
		$stored = get_option( self::UNPAID_MINUTES_OPTION ); // As stored (false when missing: writing it back changes nothing).
		if ( null === $value ) {
			return $stored;
		}
		$minutes = self::parse_minutes( $value );
		if ( null === $minutes ) {
			add_settings_error(
				self::UNPAID_MINUTES_OPTION,
				'kc_meet_unpaid_minutes',
				sprintf(
					/* translators: 1: smallest number of minutes, 2: largest number of minutes */
					__( 'The time an order may stay unpaid must be a whole number of minutes from %1$d to %2$d.', 'kc-googlemeet' ),
					self::UNPAID_MINUTES_MIN,
					self::UNPAID_MINUTES_MAX
				),
				'error'
			);
			self::keep_typed( array( self::UNPAID_MINUTES_OPTION => is_scalar( $value ) ? (string) $value : '' ) );
			return $stored;
		}
		return $minutes;
	}

	/**
	 * What the current admin typed into the screen when it was refused (read once), by option.
	 *
	 * @return array
	 */
	public static function take_typed() {
		$key   = self::TYPED_TRANSIENT . get_current_user_id();
		$typed = get_transient( $key );
		if ( false !== $typed ) {
			delete_transient( $key );
		}
		return is_array( $typed ) ? $typed : array();
	}

	/**
	 * Keeps what was typed (merged with what an earlier callback of the same submission kept).
	 *
	 * @param array $typed Values by option name (never a secret).
	 * @return void
	 */
	private static function keep_typed( array $typed ) {
		$key      = self::TYPED_TRANSIENT . get_current_user_id();
		$previous = get_transient( $key );
		set_transient( $key, array_merge( is_array( $previous ) ? $previous : array(), $typed ), 10 * MINUTE_IN_SECONDS );
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
}
