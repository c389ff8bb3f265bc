<?php
/**
 * kc-meet's wp-admin menu entries.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * The menu entries of kc-meet's screens, added on every wp-admin page (`admin_menu`) by this small
 * class instead of the screens' own: a screen's class ({@see KC_Meet_Admin_Page},
 * {@see KC_Meet_Admin_Doctors}, {@see KC_Meet_Admin_Appointments}) is loaded only when its page is
 * shown or one of its actions posted (its callbacks go through {@see KC_Meet_Hooks}).
 * - Settings → KiviCare Google Meet (`options-general.php?page=kc-meet`), always (configuration
 *   problems are seen and fixed there);
 * - the "Google Meet" menu (Doctors, Appointments, Settings) with the features.
 * The slugs are the screens' own (the WordPress tests check that they agree).
 */
final class KC_Meet_Admin_Menu {

	/**
	 * {@see KC_Meet_Admin_Page::SLUG}.
	 *
	 * @var string
	 */
	const SETTINGS_SLUG = 'kc-meet';

	/**
	 * {@see KC_Meet_Admin_Screens::MENU_SLUG}: the top-level menu, the Doctors screen.
	 *
	 * @var string
	 */
	const MENU_SLUG = 'kc-meet-doctors';

	/**
	 * {@see KC_Meet_Admin_Appointments::SLUG}.
	 *
	 * @var string
	 */
	const APPOINTMENTS_SLUG = 'kc-meet-appointments';

	/**
	 * Hook suffix of the settings page (from add_options_page()), '' before `admin_menu`.
	 *
	 * @var string
	 */
	private static $settings_hook = '';

	/**
	 * `admin_menu`: the page under Settings; its sections are added when it loads.
	 *
	 * @return void
	 */
	public static function add_settings_page() {
		self::$settings_hook = (string) add_options_page(
			__( 'KiviCare Google Meet', 'kc-googlemeet' ),
			__( 'KiviCare Google Meet', 'kc-googlemeet' ),
			KC_Meet_Access::ADMIN_CAP,
			self::SETTINGS_SLUG,
			array( 'KC_Meet_Hooks', 'admin__render' )
		);
		if ( '' !== self::$settings_hook ) {
			add_action( 'load-' . self::$settings_hook, array( 'KC_Meet_Hooks', 'admin__load' ) );
		}
	}

	/**
	 * Hook suffix of the settings page.
	 *
	 * @return string
	 */
	public static function settings_hook() {
		return self::$settings_hook;
	}

	/**
	 * `admin_menu`: the "Google Meet" menu: Doctors (its first entry), Appointments, Settings.
	 *
	 * @return void
	 */
	public static function add_screens() {
		add_menu_page(
			__( 'Google Meet', 'kc-googlemeet' ),
			__( 'Google Meet', 'kc-googlemeet' ),
			KC_Meet_Access::ADMIN_CAP,
			self::MENU_SLUG,
			'__return_null',
			'dashicons-video-alt2',
			58
		);
		add_submenu_page( self::MENU_SLUG, __( 'Google Meet doctors', 'kc-googlemeet' ), __( 'Doctors', 'kc-googlemeet' ), KC_Meet_Access::ADMIN_CAP, self::MENU_SLUG, array( 'KC_Meet_Hooks', 'admin_doctors__render' ) );
		add_submenu_page( self::MENU_SLUG, __( 'Google Meet appointments', 'kc-googlemeet' ), __( 'Appointments', 'kc-googlemeet' ), KC_Meet_Access::ADMIN_CAP, self::APPOINTMENTS_SLUG, array( 'KC_Meet_Hooks', 'admin_appointments__render' ) );
		add_submenu_page( self::MENU_SLUG, __( 'KiviCare Google Meet', 'kc-googlemeet' ), __( 'Settings', 'kc-googlemeet' ), KC_Meet_Access::ADMIN_CAP, 'options-general.php?page=' . self::SETTINGS_SLUG );
	}
}
