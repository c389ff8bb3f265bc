<?php
/**
 * Admin notices.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Admin notices: the missing-extension notice, the configuration-error notice, notices stored
 * for a later request (activation/migration failures, in the transient `kc_meet_admin_notices`),
 * the number of appointments deleted in Google Calendar that wait for review
 * (`#kc-meet-review-notice`, linking to the settings page's `#kc-meet-review` box, which shows
 * them itself) and the result of a Google connection (query `kc_meet_result` / `kc_meet_code`,
 * messages from {@see KC_Meet_Messages}).
 */
final class KC_Meet_Notices {

	/**
	 * Transient holding notices for a later request.
	 *
	 * @var string
	 */
	const TRANSIENT = 'kc_meet_admin_notices';

	/**
	 * Autoloaded markers, present only while there is something to show: stored notices wait
	 * (`kc_meet_notices_waiting`), appointments wait for review (`kc_meet_review_waiting`). An
	 * admin page view finds them in the options WordPress has already loaded, so it makes no
	 * query (a transient or an option that is not autoloaded costs one or two) when there is
	 * nothing to show.
	 *
	 * @var string
	 */
	const NOTICES_WAITING = 'kc_meet_notices_waiting';

	/**
	 * See {@see self::NOTICES_WAITING}.
	 *
	 * @var string
	 */
	const REVIEW_WAITING = 'kc_meet_review_waiting';

	/**
	 * Renders the notice shown when the kc_meet extension is not loaded or older than the plugin
	 * (managers only).
	 *
	 * @return void
	 */
	public static function render_missing_extension() {
		if ( ! current_user_can( 'manage_options' ) ) {
			return;
		}
		if ( defined( 'KC_MEET_PLUGIN_FILE' ) ) {
			load_plugin_textdomain( 'kc-googlemeet', false, dirname( plugin_basename( KC_MEET_PLUGIN_FILE ) ) . '/languages' );
		}
		echo '<div class="notice notice-error" id="kc-meet-missing-extension"><p>';
		if ( extension_loaded( 'kc_meet' ) ) {
			printf(
				/* translators: 1: extension version, 2: list of PHP functions */
				esc_html__( 'KiviCare Google Meet needs a newer kc_meet PHP extension: the loaded one (version %1$s) lacks %2$s, so Google Meet is not available.', 'kc-googlemeet' ),
				esc_html( '' !== KC_Meet_Native::version() ? KC_Meet_Native::version() : '?' ),
				'<code>' . esc_html( implode( ', ', KC_Meet_Plugin::missing_functions() ) ) . '</code>'
			);
			echo ' ';
			esc_html_e( 'Replace libkc_meet.so in PHP\'s extension directory with the one shipped with this plugin version and restart PHP.', 'kc-googlemeet' );
		} else {
			echo esc_html__( 'KiviCare Google Meet needs the kc_meet PHP extension, which is not loaded, so Google Meet is not available.', 'kc-googlemeet' );
			echo ' ';
			printf(
				/* translators: 1: php.ini line, 2: php.ini */
				esc_html__( 'Install the extension (libkc_meet.so) into PHP\'s extension directory, add %1$s to %2$s (or a conf.d file) and restart PHP.', 'kc-googlemeet' ),
				'<code>extension=kc_meet</code>',
				'<code>php.ini</code>'
			);
		}
		echo '</p></div>';
	}

	/**
	 * Stores a notice for managers, shown on their next admin page.
	 *
	 * @param string $message Message (plain text, secret-free).
	 * @param string $type    error|warning|success|info.
	 * @return void
	 */
	public static function add_persistent( $message, $type = 'error' ) {
		$notices = get_transient( self::TRANSIENT );
		$notices = is_array( $notices ) ? $notices : array();
		$entry   = array(
			'type'    => (string) $type,
			'message' => (string) $message,
		);
		if ( in_array( $entry, $notices, true ) ) {
			return; // Already waiting to be shown: no write.
		}
		$notices[] = $entry;
		set_transient( self::TRANSIENT, array_slice( $notices, -10 ), DAY_IN_SECONDS );
		update_option( self::NOTICES_WAITING, '1', true );
	}

	/**
	 * Sets or clears an autoloaded marker ({@see self::NOTICES_WAITING}).
	 *
	 * @param string $marker Marker option.
	 * @param bool   $on     Whether something waits.
	 * @return void
	 */
	public static function mark( $marker, $on ) {
		if ( $on ) {
			update_option( $marker, '1', true );
		} else {
			delete_option( $marker );
		}
	}

	/**
	 * Whether a marker is set, from the autoloaded options (no query).
	 *
	 * @param string $marker Marker option.
	 * @return bool
	 */
	private static function marked( $marker ) {
		$all = wp_load_alloptions();
		return ! empty( $all[ $marker ] );
	}

	/**
	 * `admin_notices`: configuration error, stored notices and connection results.
	 *
	 * @return void
	 */
	public static function render() {
		if ( current_user_can( 'manage_options' ) ) {
			$error = KC_Meet_Plugin::instance()->config_error();
			if ( is_array( $error ) ) {
				self::print_notice(
					sprintf(
						/* translators: %s: message of the extension */
						__( 'KiviCare Google Meet is disabled: the kc_meet extension rejected the configuration: %s', 'kc-googlemeet' ),
						$error['message']
					),
					'error',
					'kc-meet-config-error'
				);
			}
			if ( self::marked( self::NOTICES_WAITING ) ) {
				delete_option( self::NOTICES_WAITING );
				$stored = get_transient( self::TRANSIENT );
				if ( is_array( $stored ) && ! empty( $stored ) ) {
					delete_transient( self::TRANSIENT );
					foreach ( $stored as $notice ) {
						if ( is_array( $notice ) && isset( $notice['message'] ) ) {
							self::print_notice( (string) $notice['message'], (string) ( $notice['type'] ?? 'error' ) );
						}
					}
				}
			}
			self::render_review_count();
		}
		self::render_result();
	}

	/**
	 * The notice counting appointments deleted in Google Calendar that wait for review (not on
	 * the settings page, which lists them).
	 *
	 * @return void
	 */
	public static function render_review_count() {
		$screen = function_exists( 'get_current_screen' ) ? get_current_screen() : null;
		if ( $screen instanceof WP_Screen && 'settings_page_' . KC_Meet_Admin_Menu::SETTINGS_SLUG === $screen->id ) {
			return;
		}
		if ( ! self::marked( self::REVIEW_WAITING ) ) {
			return;
		}
		$count = count( KC_Meet_Sync_Changes::flagged() );
		if ( $count <= 0 ) {
			return;
		}
		printf(
			'<div class="notice notice-warning" id="kc-meet-review-notice" data-count="%1$d"><p>%2$s <a href="%3$s">%4$s</a></p></div>',
			(int) $count,
			esc_html(
				sprintf(
					/* translators: %d: number of appointments */
					_n(
						'KiviCare Google Meet: %d appointment was deleted in Google Calendar by the doctor and needs review.',
						'KiviCare Google Meet: %d appointments were deleted in Google Calendar by the doctor and need review.',
						$count,
						'kc-googlemeet'
					),
					$count
				)
			),
			esc_url( KC_Meet_Admin_Page::url() . '#kc-meet-review' ),
			esc_html__( 'Review them', 'kc-googlemeet' )
		);
	}

	/**
	 * Renders the result of a connect/disconnect from the query string, if any.
	 *
	 * @return void
	 */
	public static function render_result() {
		// phpcs:disable WordPress.Security.NonceVerification.Recommended -- display only, fixed messages.
		if ( ! isset( $_GET['kc_meet_result'] ) || ! is_user_logged_in() ) {
			return;
		}
		$result = sanitize_key( wp_unslash( $_GET['kc_meet_result'] ) );
		$code   = isset( $_GET['kc_meet_code'] ) ? absint( $_GET['kc_meet_code'] ) : 0;
		// phpcs:enable
		if ( ! in_array( $result, KC_Meet_Messages::RESULTS, true ) ) {
			return;
		}
		$type = in_array( $result, array( 'connected', 'disconnected' ), true ) ? 'success' : ( 'denied' === $result ? 'warning' : 'error' );
		self::print_notice( KC_Meet_Messages::for_result( $result, $code ), $type, 'kc-meet-result' );
	}

	/**
	 * Prints one notice.
	 *
	 * @param string $message Plain text.
	 * @param string $type    error|warning|success|info.
	 * @param string $id      Element id.
	 * @return void
	 */
	private static function print_notice( $message, $type, $id = '' ) {
		$type = in_array( $type, array( 'error', 'warning', 'success', 'info' ), true ) ? $type : 'error';
		printf(
			'<div class="notice notice-%1$s is-dismissible"%2$s><p>%3$s</p></div>',
			esc_attr( $type ),
			'' !== $id ? ' id="' . esc_attr( $id ) . '"' : '',
			esc_html( $message )
		);
	}
}
