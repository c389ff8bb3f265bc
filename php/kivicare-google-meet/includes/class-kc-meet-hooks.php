<?php
/**
 * The plugin's hooks, registered without loading the classes that answer them.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Every hook of the feature components, as data: a page view registers them from this one small
 * class and loads a component's file, and creates the component ({@see KC_Meet_Plugin::component()}),
 * only when one of its hooks fires. Most requests fire none of them (a front-end page fires no
 * KiviCare, WooCommerce, REST, cron or user hook), so they load none of the components.
 *
 * A method of a component is hooked as `array( 'KC_Meet_Hooks', '<component>__<method>' )`, which
 * {@see self::__callStatic()} hands to the component's instance; a static callback is hooked as
 * itself (its class is loaded when it runs). Hook names are written out here (a class constant of
 * a component would load its file); the WordPress tests check each one against the component.
 *
 * A wp-admin page runs three callbacks of the plugin on every view, {@see self::admin_init()}
 * (the schema check), {@see self::policy_content()} (the privacy-policy text) and
 * {@see self::admin_notices()} (every notice): each looks first at what WordPress has already
 * loaded (the autoloaded options, the current user, the query string, the policy page) and loads
 * the class that would answer only when it has something to do or show.
 */
final class KC_Meet_Hooks {

	/**
	 * The autoloaded options the pre-checks read, written out like the hook names (their owners'
	 * constants: {@see KC_Meet_Lifecycle::SCHEMA_CHECKED_OPTION}, {@see KC_Meet_Notices::NOTICES_WAITING},
	 * {@see KC_Meet_Notices::REVIEW_WAITING}, {@see KC_Meet_Waiting::OPTION},
	 * {@see KC_Meet_Doctor_Notices::ATTENTION_WAITING}).
	 *
	 * @var string
	 */
	const SCHEMA_CHECKED_OPTION = 'kc_meet_schema_checked';

	/**
	 * See {@see self::SCHEMA_CHECKED_OPTION}.
	 *
	 * @var string
	 */
	const NOTICES_WAITING = 'kc_meet_notices_waiting';

	/**
	 * See {@see self::SCHEMA_CHECKED_OPTION}.
	 *
	 * @var string
	 */
	const REVIEW_WAITING = 'kc_meet_review_waiting';

	/**
	 * See {@see self::SCHEMA_CHECKED_OPTION}.
	 *
	 * @var string
	 */
	const WAITING_OPTION = 'kc_meet_waiting';

	/**
	 * See {@see self::SCHEMA_CHECKED_OPTION}.
	 *
	 * @var string
	 */
	const ATTENTION_WAITING = 'kc_meet_attention_waiting';

	/**
	 * {@see KC_Meet_Access::DOCTOR_ROLE}.
	 *
	 * @var string
	 */
	const DOCTOR_ROLE = 'kiviCare_doctor';

	/**
	 * Post meta where WordPress keeps the policy texts the policy page's editor last reviewed
	 * (WordPress's own name, read by its text_change_check).
	 *
	 * @var string
	 */
	const POLICY_REVIEWED_META = '_wp_suggested_privacy_policy_content';

	/**
	 * {@see KC_Meet_Admin_Page::SLUG}: the screen that always checks the schema.
	 *
	 * @var string
	 */
	const SETTINGS_SLUG = 'kc-meet';

	/**
	 * Component name => class.
	 *
	 * @var array<string, string>
	 */
	const COMPONENTS = array(
		'admin'              => 'KC_Meet_Admin_Page',
		'profile'            => 'KC_Meet_Profile',
		'admin_doctors'      => 'KC_Meet_Admin_Doctors',
		'admin_appointments' => 'KC_Meet_Admin_Appointments',
		'rest'               => 'KC_Meet_Rest',
		'kivicare4_routes'   => 'KC_Meet_KiviCare4_Routes',
		'kivicare3'          => 'KC_Meet_KiviCare3',
		'kivicare4'          => 'KC_Meet_KiviCare4',
		'badge'              => 'KC_Meet_Badge',
		'appointments'       => 'KC_Meet_Appointment_Hooks',
		'woocommerce'        => 'KC_Meet_WooCommerce',
		'users'              => 'KC_Meet_Users',
		'privacy'            => 'KC_Meet_Privacy',
	);

	/**
	 * Hooks per group: [hook, callback, priority, accepted args]. A string callback is a method
	 * of the group's component; an array is a static callback.
	 *
	 * @var array<string, array<int, array{0:string, 1:string|array, 2:int, 3:int}>>
	 */
	const HOOKS = array(
		// wp-admin only.
		'admin'              => array(
			// The settings page and, with the features, the "Google Meet" menu.
			array( 'admin_menu', array( 'KC_Meet_Admin_Menu', 'add_pages' ), 10, 1 ),
			array( 'admin_post_kc_meet_retry_job', 'handle_retry', 10, 1 ),
			array( 'admin_post_kc_meet_clear_errors', 'handle_clear_errors', 10, 1 ),
			array( 'admin_post_kc_meet_dismiss_flag', 'handle_dismiss_flag', 10, 1 ),
		),
		'profile'            => array(
			array( 'show_user_profile', 'render', 10, 1 ),
			array( 'edit_user_profile', 'render', 10, 1 ),
			array( 'admin_post_kc_meet_connect_start', 'handle_connect_start', 10, 1 ),
			array( 'admin_post_kc_meet_disconnect', 'handle_disconnect', 10, 1 ),
		),
		'admin_doctors'      => array(
			array( 'admin_post_kc_meet_doctor_check', 'handle_check', 10, 1 ),
			array( 'admin_post_kc_meet_doctor_sync', 'handle_sync', 10, 1 ),
			array( 'admin_post_kc_meet_doctor_disconnect', 'handle_disconnect', 10, 1 ),
		),
		'admin_appointments' => array(
			array( 'admin_post_kc_meet_appointment_retry', 'handle_retry', 10, 1 ),
			array( 'admin_post_kc_meet_appointment_recreate', 'handle_recreate', 10, 1 ),
			array( 'admin_post_kc_meet_appointment_accept', 'handle_accept', 10, 1 ),
			array( 'admin_post_kc_meet_appointment_accept_move', 'handle_accept_move', 10, 1 ),
			array( 'admin_post_kc_meet_appointment_revert_move', 'handle_revert_move', 10, 1 ),
		),
		// Every request.
		'rest'               => array(
			array( 'rest_api_init', 'register_public_routes', 10, 1 ),
			array( 'rest_pre_serve_request', 'serve_empty_notify_body', 10, 3 ),
		),
		'kivicare4_routes'   => array(
			// Late, so that routes core registered itself are found and left alone.
			array( 'rest_api_init', 'register_kivicare_routes', 100, 1 ),
		),
		'kivicare3'          => array(
			array( 'kcgm_connect_doctor', 'connect_doctor', 10, 1 ),
			array( 'kcgm_disconnect_doctor', 'disconnect_doctor', 10, 1 ),
			array( 'kcgm_saved_googlemeet_config', 'save_config', 10, 1 ),
			array( 'kcgm_edit_googlemeet', 'edit_config', 10, 1 ),
			array( 'kcgm_save_appointment_event', 'save_appointment_event', 10, 1 ),
			array( 'kcgm_remove_appointment_event', 'remove_appointment_event', 10, 1 ),
			array( 'kcgm_save_appointment_event_link_send', 'send_link', 10, 1 ),
			array( 'kcgm_save_appointment_event_link_resend', 'resend_link', 10, 1 ),
			array( 'kcgm_save_googlemeet_event_template', 'save_event_template', 10, 1 ),
		),
		'kivicare4'          => array(
			array( 'kc_telemed_providers', 'add_provider', 10, 1 ),
		),
		// The Google Meet state in KiviCare core's own lists and details (3.x and 4.x hooks).
		'badge'              => array(
			array( 'kc_appointments_list_query', 'join_list_query', 30, 1 ),
			array( 'kc_appointment_list_item', 'add_to_item', 30, 2 ),
			array( 'kc_appointment_data', 'add_to_item', 30, 2 ),
			array( 'kc_appointment_details_data', 'add_to_item', 30, 2 ),
			array( 'kct_get_meeting_list', 'prefetch_page', 5, 1 ),
			array( 'kivicare_appointment_queue_lists', 'add_to_item', 30, 1 ),
			array( 'kivicare_appointment_list_data', 'add_to_calendar_item', 30, 2 ),
		),
		'appointments'       => array(
			// KiviCare 4.x.
			array( 'kc_after_create_appointment', 'on_created', 20, 1 ),
			array( 'kc_appointment_updated', 'on_updated', 20, 1 ),
			array( 'kc_appointment_cancelled', 'on_removed', 20, 1 ),
			array( 'kc_appointment_deleted', 'on_removed', 20, 1 ),
			array( 'kc_appointment_payment_completed', 'on_paid', 20, 1 ),
			array( 'kc_appointment_payment_cancelled', 'on_removed', 20, 1 ),
			// KiviCare 3.x and 4.x.
			array( 'kc_appointment_status_update', 'on_status_update', 20, 2 ),
			// KiviCare 3.x.
			array( 'kc_appointment_book', 'on_created', 20, 1 ),
			array( 'kc_appointment_cancel', 'on_removed', 20, 1 ),
			array( 'kc_appointment_delete', 'on_removed', 20, 1 ),
			array( 'kc_meet_doctor_connected', 'on_doctor_connected', 10, 1 ),
			array( 'kc_meet_backfill_doctor', 'backfill_doctor', 10, 1 ),
			array( 'kc_appointments_list_query', 'join_list_query', 20, 1 ),
			array( 'kc_is_video_consultation', 'is_video_consultation', 20, 2 ),
			array( 'kc_appointment_list_item', 'add_list_keys', 20, 2 ),
			array( 'kc_appointment_data', 'add_meet_keys', 20, 2 ),
			array( 'kc_appointment_details_data', 'add_meet_keys', 20, 2 ),
		),
		'background'         => array(
			array( 'kc_meet_run_jobs', array( 'KC_Meet_Background', 'run_jobs' ), 10, 0 ),
			array( 'kc_meet_reconcile', array( 'KC_Meet_Background', 'reconcile' ), 10, 0 ),
			array( 'kc_meet_sync', array( 'KC_Meet_Background', 'sync' ), 10, 0 ),
			array( 'kc_meet_renew_channels', array( 'KC_Meet_Background', 'renew_channels' ), 10, 0 ),
		),
		'woocommerce'        => array(
			// KiviCare 4.x.
			array( 'kc_payment_gateways', 'register_gateway', 10, 1 ),
			// WooCommerce: the appointment id from the cart into the line item and the order.
			array( 'woocommerce_get_cart_item_from_session', 'restore_cart_item', 10, 2 ),
			array( 'woocommerce_checkout_create_order_line_item', 'copy_to_line_item', 20, 4 ),
			array( 'woocommerce_checkout_update_order_meta', 'on_order_created', 20, 1 ),
			array( 'woocommerce_new_order', 'on_order_created', 20, 1 ),
			// WooCommerce: payment and status (see KC_Meet_WooCommerce for the priorities).
			array( 'woocommerce_payment_complete', 'on_payment_complete', 5, 1 ),
			array( 'woocommerce_order_status_processing', 'on_status', 5, 1 ),
			array( 'woocommerce_order_status_completed', 'on_status', 5, 1 ),
			array( 'woocommerce_order_status_cancelled', 'on_status', 5, 1 ),
			array( 'woocommerce_order_status_failed', 'on_status', 5, 1 ),
			array( 'woocommerce_order_status_refunded', 'on_status', 5, 1 ),
			array( 'woocommerce_order_status_changed', 'on_status_changed', 20, 1 ),
			array( 'woocommerce_order_refunded', 'on_refunded', 5, 2 ),
			array( 'kc_meet_woo_unpaid_timeout', 'on_unpaid_timeout', 10, 1 ),
			// KiviCare 3.x's WooCommerce module.
			array( 'kcgm_change_woocommerce_module_status', 'change_module_status', 10, 1 ),
			array( 'kcgm_get_woocommerce_module_status', 'get_module_status', 10, 1 ),
			array( 'kcgm_woocommerce_add_to_cart', 'add_to_cart', 10, 1 ),
		),
		'users'              => array(
			array( 'delete_user', 'on_delete_user', 5, 1 ),
			array( 'wpmu_delete_user', 'on_wpmu_delete_user', 5, 1 ),
			// After WordPress created the site's tables (priority 10) and options (20).
			array( 'wp_initialize_site', 'on_initialize_site', 100, 1 ),
		),
		'privacy'            => array(
			array( 'wp_privacy_personal_data_exporters', 'add_exporter', 10, 1 ),
			array( 'wp_privacy_personal_data_erasers', 'add_eraser', 10, 1 ),
			// Before WordPress's text_change_check (admin_init, priority 100).
			array( 'admin_init', array( 'KC_Meet_Hooks', 'policy_content' ), 99, 0 ),
		),
		'doctor_notices'     => array(
			array( 'kc_meet_run_jobs', array( 'KC_Meet_Doctor_Notices', 'mail_broken_connections' ), 20, 1 ),
		),
		// Instead of every group above while the extension is missing or its configuration is
		// rejected: what keeps KiviCare core's bookings working ({@see KC_Meet_Degraded}).
		'degraded'           => array(
			array( 'kcgm_save_appointment_event', array( 'KC_Meet_Degraded', 'save_appointment_event' ), 10, 1 ),
			array( 'kcgm_remove_appointment_event', array( 'KC_Meet_Degraded', 'remove_appointment_event' ), 10, 1 ),
			array( 'kc_payment_gateways', array( 'KC_Meet_Degraded', 'register_gateway' ), 10, 1 ),
			array( 'kcgm_connect_doctor', array( 'KC_Meet_Degraded', 'unavailable' ), 10, 1 ),
			array( 'kcgm_disconnect_doctor', array( 'KC_Meet_Degraded', 'unavailable' ), 10, 1 ),
		),
	);

	/**
	 * Hooks a group of {@see self::HOOKS}.
	 *
	 * @param string $group      Group name.
	 * @param bool   $admin_post Whether to hook its `admin_post_*` actions too (WordPress fires
	 *                           them on `admin-post.php` only: other requests skip them).
	 * @return void
	 */
	public static function add( $group, $admin_post = true ) {
		foreach ( self::HOOKS[ $group ] as $hook ) {
			if ( ! $admin_post && 0 === strpos( $hook[0], 'admin_post_' ) ) {
				continue;
			}
			add_filter( $hook[0], is_array( $hook[1] ) ? $hook[1] : array( __CLASS__, $group . '__' . $hook[1] ), $hook[2], $hook[3] );
		}
	}

	/**
	 * `admin_init`: the lazy schema check ({@see KC_Meet_Lifecycle::maybe_migrate()}), which has
	 * nothing to do once the loaded extension build found the schema current, except on the
	 * plugin's settings screen.
	 *
	 * @return void
	 */
	public static function admin_init() {
		$all = wp_load_alloptions();
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- compares the screen's slug only.
		$own_screen = isset( $_GET['page'] ) && self::SETTINGS_SLUG === $_GET['page'];
		if ( $own_screen || ! isset( $all[ self::SCHEMA_CHECKED_OPTION ] ) || (string) kc_meet_version() !== $all[ self::SCHEMA_CHECKED_OPTION ] ) {
			KC_Meet_Lifecycle::maybe_migrate();
		}
	}

	/**
	 * `admin_init` (priority 99): the suggested privacy-policy text
	 * ({@see KC_Meet_Privacy::add_policy_content()}), built, and the privacy component loaded,
	 * only when this request reads it ({@see self::policy_content_needed()}).
	 *
	 * @return void
	 */
	public static function policy_content() {
		if ( self::policy_content_needed() ) {
			KC_Meet_Plugin::instance()->component( 'privacy' )->add_policy_content();
		}
	}

	/**
	 * Whether this admin request reads the plugins' policy texts:
	 * - the Privacy Policy Guide (`privacy-policy-guide.php`, also reached as
	 *   `options-privacy.php?tab=policyguide`) lists them;
	 * - WordPress's text_change_check (admin_init, priority 100, any admin page) compares them
	 *   with the texts the policy page's editor reviewed, for a user who can edit that page once
	 *   the page has reviewed texts, and stores whether they changed (the option
	 *   `_wp_suggested_policy_text_has_changed`, behind the "policy text changed" notice and the
	 *   Privacy menu's bubble): a missing text would read as removed. Its conditions are checked
	 *   here, and its capability check, `edit_post` of the policy page (the dearest part: it
	 *   maps the page's post type's capabilities and the privacy page's), comes last, once the
	 *   page has reviewed texts: most sites have none, and the meta read is the one
	 *   text_change_check makes itself right after for a user who may edit the page (answered
	 *   from the cache then). Before it, `manage_privacy_options`, which `edit_post` of the
	 *   policy page requires (map_meta_cap()), keeps other users from reading the meta at all.
	 * On every other admin page the text is not read, and not built.
	 *
	 * @return bool
	 */
	public static function policy_content_needed() {
		global $pagenow;
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- compares the tab's name only.
		if ( 'privacy-policy-guide.php' === $pagenow || ( 'options-privacy.php' === $pagenow && isset( $_GET['tab'] ) && 'policyguide' === $_GET['tab'] ) ) {
			return true;
		}
		$page_id = (int) get_option( 'wp_page_for_privacy_policy' );
		if ( $page_id <= 0 || ! current_user_can( 'manage_privacy_options' ) ) {
			return false;
		}
		return ! empty( (array) get_post_meta( $page_id, self::POLICY_REVIEWED_META ) ) && current_user_can( 'edit_post', $page_id );
	}

	/**
	 * `admin_notices`: the plugin's notices, in this order, each only when it may have something
	 * to show:
	 * - {@see KC_Meet_Notices::render()}: a configuration error, stored notices, appointments
	 *   waiting for review (autoloaded markers), a connection's result (query string);
	 * - with the features hooked, {@see KC_Meet_Waiting::render_notices()}: appointments waiting
	 *   for their link (stored, or changed in this request: its class is loaded then);
	 * - {@see KC_Meet_Doctor_Notices::render_doctor_notice()} for a doctor;
	 * - {@see KC_Meet_Doctor_Notices::render_admin_notice()} while its marker is set.
	 *
	 * @return void
	 */
	public static function admin_notices() {
		$plugin = KC_Meet_Plugin::instance();
		$all    = wp_load_alloptions();
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- presence only.
		if ( null !== $plugin->config_error() || ! empty( $all[ self::NOTICES_WAITING ] ) || ! empty( $all[ self::REVIEW_WAITING ] ) || isset( $_GET['kc_meet_result'] ) ) {
			KC_Meet_Notices::render();
		}
		if ( ! $plugin->features_registered() ) {
			return;
		}
		if ( ! empty( $all[ self::WAITING_OPTION ] ) || class_exists( 'KC_Meet_Waiting', false ) ) {
			KC_Meet_Waiting::render_notices();
		}
		if ( in_array( self::DOCTOR_ROLE, (array) wp_get_current_user()->roles, true ) ) {
			KC_Meet_Doctor_Notices::render_doctor_notice();
		}
		if ( ! empty( $all[ self::ATTENTION_WAITING ] ) ) {
			KC_Meet_Doctor_Notices::render_admin_notice();
		}
	}

	/**
	 * Runs `<component>__<method>`: the component's method, the component created on first use.
	 *
	 * @param string $name Component and method.
	 * @param array  $args The hook's arguments.
	 * @return mixed
	 */
	public static function __callStatic( $name, $args ) {
		list( $component, $method ) = explode( '__', $name, 2 );
		return KC_Meet_Plugin::instance()->component( $component )->$method( ...$args );
	}
}
