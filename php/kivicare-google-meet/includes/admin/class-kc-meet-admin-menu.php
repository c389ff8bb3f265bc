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
 *
 * Each screen is registered once, where it lives:
 * - Settings → KiviCare Google Meet (`options-general.php?page=kc-meet`), always (configuration
 *   problems are seen and fixed there);
 * - with the features, the "Google Meet" menu: Doctors (the menu's own page,
 *   `admin.php?page=kc-meet-doctors`), Appointments, and Settings, a link to the settings page
 *   (WordPress's place for a plugin's settings when it has its own menu).
 * The menu's Doctors and Settings items are plain entries of WordPress's `$submenu` (what
 * add_submenu_page() would add, without registering a page a second time); its Appointments page
 * and the settings page are recorded as add_submenu_page() records them ({@see self::add_subpage()});
 * WordPress's menu code drops the entries the user may not see. A user without the capability gets no entry and no
 * page, as before (WordPress answers "not allowed" either way), and pays one capability check.
 * The slugs and the capability are the screens' own (the WordPress tests check that they agree).
 */
final class KC_Meet_Admin_Menu {

	/**
	 * {@see KC_Meet_Access::ADMIN_CAP}.
	 *
	 * @var string
	 */
	const CAP = 'manage_options';

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
	 * Hook suffix of the settings page (`settings_page_kc-meet`), '' before `admin_menu`.
	 *
	 * @var string
	 */
	private static $settings_hook = '';

	/**
	 * `admin_menu`: the settings page and, with the features hooked, the "Google Meet" menu.
	 *
	 * @return void
	 */
	public static function add_pages() {
		if ( ! current_user_can( self::CAP ) ) {
			return;
		}
		self::add_settings_page();
		if ( KC_Meet_Plugin::instance()->features_registered() ) {
			self::add_screens();
		}
	}

	/**
	 * The page under Settings; its sections are added when it loads.
	 *
	 * @return void
	 */
	public static function add_settings_page() {
		self::$settings_hook = self::add_subpage(
			'options-general.php',
			__( 'KiviCare Google Meet', 'kc-googlemeet' ),
			__( 'KiviCare Google Meet', 'kc-googlemeet' ),
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
	 * The "Google Meet" menu: Doctors (its own page), Appointments, Settings (a link).
	 *
	 * @return void
	 */
	public static function add_screens() {
		global $submenu;
		add_menu_page(
			__( 'Google Meet doctors', 'kc-googlemeet' ),
			__( 'Google Meet', 'kc-googlemeet' ),
			self::CAP,
			self::MENU_SLUG,
			array( 'KC_Meet_Hooks', 'admin_doctors__render' ),
			'dashicons-video-alt2',
			58
		);
		// The menu's first item, its own page (what add_submenu_page() with the menu's slug adds).
		$submenu[ self::MENU_SLUG ][] = array( __( 'Doctors', 'kc-googlemeet' ), self::CAP, self::MENU_SLUG, __( 'Google Meet doctors', 'kc-googlemeet' ) ); // phpcs:ignore WordPress.WP.GlobalVariablesOverride.Prohibited -- WordPress's menu data.
		self::add_subpage( self::MENU_SLUG, __( 'Google Meet appointments', 'kc-googlemeet' ), __( 'Appointments', 'kc-googlemeet' ), self::APPOINTMENTS_SLUG, array( 'KC_Meet_Hooks', 'admin_appointments__render' ) );
		// A link to the page registered under Settings.
		$submenu[ self::MENU_SLUG ][] = array( __( 'Settings', 'kc-googlemeet' ), self::CAP, 'options-general.php?page=' . self::SETTINGS_SLUG, __( 'KiviCare Google Meet', 'kc-googlemeet' ) ); // phpcs:ignore WordPress.WP.GlobalVariablesOverride.Prohibited -- WordPress's menu data.
	}

	/**
	 * A page under `$parent`: what add_submenu_page() records for it, written directly.
	 * add_submenu_page() would first normalise both slugs (plugin_basename(), twice), check the
	 * capability add_pages() checked, and find the page's parent and hook name by walking the
	 * menu: on every wp-admin page, for values known here. The hook name is WordPress's
	 * (get_plugin_page_hookname()): the parent's hook name (`settings` for Settings, the
	 * sanitised title add_menu_page() stored for a plugin's menu), `_page_` and the slug. A parent
	 * that has no items or hook name yet (another plugin moved the menu around) goes through
	 * add_submenu_page() itself.
	 *
	 * @param string   $parent     Parent slug.
	 * @param string   $page_title Page title.
	 * @param string   $menu_title Menu title.
	 * @param string   $slug       Page slug.
	 * @param callable $callback   Renders the page.
	 * @return string The page's hook name.
	 */
	private static function add_subpage( $parent, $page_title, $menu_title, $slug, $callback ) {
		global $submenu, $admin_page_hooks, $_wp_real_parent_file, $_registered_pages, $_parent_pages;
		$parent = $_wp_real_parent_file[ $parent ] ?? $parent;
		if ( empty( $submenu[ $parent ] ) || empty( $admin_page_hooks[ $parent ] ) ) {
			return (string) add_submenu_page( $parent, $page_title, $menu_title, self::CAP, $slug, $callback );
		}
		$submenu[ $parent ][] = array( $menu_title, self::CAP, $slug, $page_title ); // phpcs:ignore WordPress.WP.GlobalVariablesOverride.Prohibited -- WordPress's menu data.
		ksort( $submenu[ $parent ] );
		$hook = $admin_page_hooks[ $parent ] . '_page_' . $slug;
		add_action( $hook, $callback );
		$_registered_pages[ $hook ] = true; // phpcs:ignore WordPress.WP.GlobalVariablesOverride.Prohibited -- WordPress's menu data.
		$_parent_pages[ $slug ]     = $parent; // phpcs:ignore WordPress.WP.GlobalVariablesOverride.Prohibited -- WordPress's menu data.
		return $hook;
	}
}
