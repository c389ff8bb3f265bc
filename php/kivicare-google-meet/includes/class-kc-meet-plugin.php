<?php
/**
 * Plugin bootstrap.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Bootstraps the plugin: checks for the kc_meet extension and hooks the features; configures the
 * extension for the current site only when it is needed: on the first native call of a request
 * ({@see KC_Meet_Native::ensure_ready()}), on `switch_blog` once configured (except to a new
 * site of a network whose tables WordPress is still creating: then at the next native call), and
 * whenever a setting it depends on changes. A page view that calls no kc_meet function builds no
 * configuration and never enters the extension.
 *
 * Without the extension the plugin registers exactly one admin notice and the degraded mode
 * ({@see KC_Meet_Degraded}: KiviCare core's save and remove filters answer success, 4.x's
 * WooCommerce gateway stays registered, no kc_meet function is called), nothing else. When
 * `kc_meet_configure()` rejects the configuration, the (secret-free) error is kept in the
 * autoloaded option `kc_meet_config_error` until a configuration is accepted again: an admin
 * notice shows it, and while it is there every request configures on `plugins_loaded` and hooks
 * the features that need the extension only when the configuration is accepted, else the
 * degraded mode; the settings page stays available so the problem can be seen and fixed. Screens
 * of wp-admin (settings page, Doctors, Appointments, the profile box) are hooked on admin
 * requests only.
 */
final class KC_Meet_Plugin {

	/**
	 * Plugin version.
	 *
	 * @var string
	 */
	const VERSION = '4.1.0';

	/**
	 * Text domain.
	 *
	 * @var string
	 */
	const TEXT_DOMAIN = 'kc-googlemeet';

	/**
	 * Options whose change requires a new kc_meet_configure() call.
	 *
	 * @var string[]
	 */
	const CONFIG_OPTIONS = array(
		'kiviCare_google_meet_setting',
		'timezone_string',
		'gmt_offset',
		'permalink_structure',
		'home',
	);

	/**
	 * Autoloaded option holding the last rejected configuration's error (code, message), present
	 * only while the configuration is rejected (read from the loaded options: no query).
	 *
	 * @var string
	 */
	const CONFIG_ERROR_OPTION = 'kc_meet_config_error';

	/**
	 * Every native function the plugin calls (through {@see KC_Meet_Native}): the extension
	 * must have all of them ({@see self::extension_available()}).
	 *
	 * @var string[]
	 */
	const FUNCTIONS = array(
		'kc_meet_appointment_state',
		'kc_meet_appointments',
		'kc_meet_auth_url',
		'kc_meet_channels',
		'kc_meet_check_connection',
		'kc_meet_configure',
		'kc_meet_connect',
		'kc_meet_connect_postmessage',
		'kc_meet_create_event',
		'kc_meet_delete_event',
		'kc_meet_disconnect',
		'kc_meet_doctors',
		'kc_meet_handle_notification',
		'kc_meet_health',
		'kc_meet_jobs',
		'kc_meet_mapping',
		'kc_meet_migrate',
		'kc_meet_privacy_erase',
		'kc_meet_privacy_export',
		'kc_meet_reconcile',
		'kc_meet_regenerate_event',
		'kc_meet_renew_channels',
		'kc_meet_retry_job',
		'kc_meet_review_move',
		'kc_meet_run_jobs',
		'kc_meet_status',
		'kc_meet_stop_channels',
		'kc_meet_sync',
		'kc_meet_update_event',
		'kc_meet_version',
	);

	/**
	 * Singleton.
	 *
	 * @var KC_Meet_Plugin|null
	 */
	private static $instance = null;

	/**
	 * Main plugin file.
	 *
	 * @var string
	 */
	private $file = '';

	/**
	 * Whether the last kc_meet_configure() call succeeded.
	 *
	 * @var bool
	 */
	private $ready = false;

	/**
	 * Whether kc_meet_configure() was attempted at least once.
	 *
	 * @var bool
	 */
	private $configured_once = false;

	/**
	 * Last configuration error: array{code:int, message:string}, or null.
	 *
	 * @var array|null
	 */
	private $config_error = null;

	/**
	 * Whether a `switch_blog` left the extension configured for another site than the current
	 * one (a site WordPress is still creating the tables of): the next native call configures.
	 *
	 * @var bool
	 */
	private $stale = false;

	/**
	 * The site WordPress is creating the tables of (between `wp_initialize_site` priorities 9 and
	 * 11, around core's own callback), or 0.
	 *
	 * @var int
	 */
	private $initializing_site = 0;

	/**
	 * Whether the features were hooked.
	 *
	 * @var bool
	 */
	private $features_registered = false;

	/**
	 * Instances of the feature classes, by name.
	 *
	 * @var array<string, object>
	 */
	private $components = array();

	/**
	 * Returns the singleton.
	 *
	 * @return KC_Meet_Plugin
	 */
	public static function instance() {
		if ( null === self::$instance ) {
			self::$instance = new self();
		}
		return self::$instance;
	}

	/**
	 * Entry point called by the main plugin file.
	 *
	 * @param string $file Main plugin file (__FILE__ of kivicare-googlemeet.php).
	 * @return void
	 */
	public static function boot( $file ) {
		$plugin       = self::instance();
		$plugin->file = (string) $file;

		// Unscheduling our cron events needs no extension: always possible.
		register_deactivation_hook( $plugin->file, array( 'KC_Meet_Lifecycle', 'deactivate' ) );

		// Registered even without the extension: its before_invoke says what is missing and how
		// to install it (`wp kc-meet health`), instead of "not a registered wp command".
		if ( defined( 'WP_CLI' ) && WP_CLI && class_exists( 'WP_CLI' ) ) {
			$cli = array( 'before_invoke' => array( 'KC_Meet_CLI_Base', 'require_extension' ) );
			WP_CLI::add_command( 'kc-meet', 'KC_Meet_CLI_Command', $cli );
			WP_CLI::add_command( 'kc-meet event', 'KC_Meet_CLI_Event_Command', $cli );
			WP_CLI::add_command( 'kc-meet jobs', 'KC_Meet_CLI_Jobs_Command', $cli );
			WP_CLI::add_command( 'kc-meet orders', 'KC_Meet_CLI_Orders_Command', $cli );
			WP_CLI::add_command( 'kc-meet channels', 'KC_Meet_CLI_Channels_Command', $cli );
		}

		if ( ! self::extension_available() ) {
			// Exactly one admin notice (activation stays possible), and the degraded mode's
			// callbacks that keep KiviCare core's bookings working.
			add_action( 'admin_notices', array( 'KC_Meet_Notices', 'render_missing_extension' ) );
			KC_Meet_Hooks::add( 'degraded' );
			return;
		}

		register_activation_hook( $plugin->file, array( 'KC_Meet_Lifecycle', 'activate' ) );
		// Keep our WP-Cron schedule known even while the configuration is rejected (the event
		// stays scheduled and runs again once the configuration is fixed).
		add_filter( 'cron_schedules', array( 'KC_Meet_Background', 'add_schedule' ) );

		add_action( 'init', array( $plugin, 'load_textdomain' ) );
		add_action( 'switch_blog', array( $plugin, 'on_switch_blog' ), 1, 3 );
		if ( is_multisite() ) {
			// Core creates a new site's tables at priority 10, switching to the site before.
			add_action( 'wp_initialize_site', array( $plugin, 'on_site_initializing' ), 9, 1 );
			add_action( 'wp_initialize_site', array( $plugin, 'on_site_initialized' ), 11, 0 );
		}
		// Three hooks for every option instead of three per option in CONFIG_OPTIONS: fewer to
		// register on each request (most requests change no option).
		add_action( 'added_option', array( $plugin, 'on_option_changed' ), 10, 1 );
		add_action( 'updated_option', array( $plugin, 'on_option_changed' ), 10, 1 );
		add_action( 'deleted_option', array( $plugin, 'on_option_changed' ), 10, 1 );
		// Every notice of the plugin, each checked cheaply before its class is loaded.
		add_action( 'admin_notices', array( 'KC_Meet_Hooks', 'admin_notices' ) );

		if ( did_action( 'plugins_loaded' ) ) {
			// Loaded late (activation sandbox, tests): configure now.
			$plugin->on_plugins_loaded();
		} else {
			add_action( 'plugins_loaded', array( $plugin, 'on_plugins_loaded' ), 1 );
		}
	}

	/**
	 * Whether the kc_meet extension is loaded and has every function the plugin calls: the one
	 * start-up check. Without it (or with an older extension) the plugin registers nothing but
	 * the notice, the WP-CLI commands' explanation ({@see self::missing_functions()}) and the
	 * degraded mode ({@see KC_Meet_Degraded}).
	 *
	 * @return bool
	 */
	public static function extension_available() {
		static $available = null;
		if ( null === $available ) {
			$available = extension_loaded( 'kc_meet' ) && array() === self::missing_functions();
		}
		return $available;
	}

	/**
	 * The functions of {@see self::FUNCTIONS} the loaded PHP lacks (all of them without the
	 * extension; some with an extension older than the plugin).
	 *
	 * @return string[]
	 */
	public static function missing_functions() {
		$missing = array();
		foreach ( self::FUNCTIONS as $function ) {
			if ( ! function_exists( $function ) ) {
				$missing[] = $function;
			}
		}
		return $missing;
	}

	/**
	 * Main plugin file.
	 *
	 * @return string
	 */
	public function file() {
		return $this->file;
	}

	/**
	 * `plugins_loaded` (priority 1): hooks the features. On a web request the extension is
	 * configured later, by the first native call, unless the last configuration was rejected:
	 * then it is checked now and the features are hooked only when it is accepted (else the
	 * degraded mode, {@see KC_Meet_Degraded}). A command line process (WP-CLI, `wp eval`,
	 * scripts using the native functions directly) configures now: it shows no page, and its
	 * scripts may call `kc_meet_*` without the facade.
	 *
	 * @return void
	 */
	public function on_plugins_loaded() {
		if ( is_admin() ) {
			// The settings page is where configuration problems are seen and fixed: always hook it.
			KC_Meet_Hooks::add( 'admin', self::is_admin_post() );
			if ( 'options.php' === ( $GLOBALS['pagenow'] ?? '' ) ) {
				// The settings form posts there (KC_Meet_Settings::register() needs nothing else).
				add_action( 'admin_init', array( 'KC_Meet_Settings', 'register' ) );
			}
		}
		if ( ( 'cli' === PHP_SAPI || null !== self::stored_config_error() ) && ! $this->configure() ) {
			// No features, but KiviCare core's bookings must keep working.
			KC_Meet_Hooks::add( 'degraded' );
			return;
		}
		$this->register_features();
	}

	/**
	 * `switch_blog`: the table prefix, options and REST URL belong to another site now.
	 *
	 * @param int    $new_blog_id  New blog.
	 * @param int    $prev_blog_id Previous blog.
	 * @param string $context      'switch' or 'restore'.
	 * @return void
	 */
	public function on_switch_blog( $new_blog_id = 0, $prev_blog_id = 0, $context = '' ) {
		unset( $prev_blog_id, $context );
		if ( ! $this->configured_once ) {
			return;
		}
		if ( 0 !== $this->initializing_site && (int) $new_blog_id === $this->initializing_site ) {
			// The site has no tables yet: reading its options now would make WordPress log
			// database errors. The next native call configures for whichever site is current.
			$this->stale = true;
			return;
		}
		$this->configure();
	}

	/**
	 * `wp_initialize_site` (priority 9, before core creates the site's tables): switching to
	 * this site does not configure until core is done.
	 *
	 * @param WP_Site $site The new site.
	 * @return void
	 */
	public function on_site_initializing( $site ) {
		$this->initializing_site = $site instanceof WP_Site ? (int) $site->blog_id : 0;
	}

	/**
	 * `wp_initialize_site` (priority 11): the new site has its tables and options.
	 *
	 * @return void
	 */
	public function on_site_initialized() {
		$this->initializing_site = 0;
	}

	/**
	 * `added_option`, `updated_option`, `deleted_option`: reconfigures when the option is one of
	 * {@see self::CONFIG_OPTIONS}.
	 *
	 * @param string $option Option name.
	 * @return void
	 */
	public function on_option_changed( $option ) {
		if ( in_array( $option, self::CONFIG_OPTIONS, true ) ) {
			$this->reconfigure();
		}
	}

	/**
	 * Runs kc_meet_configure() after a setting it depends on changed (cheap when unchanged).
	 *
	 * @return void
	 */
	public function reconfigure() {
		// Also when not configured yet: a saved setting's verdict is known (and its notice shown)
		// right away, not on the next native call.
		$this->configure();
	}

	/**
	 * Calls kc_meet_configure() with the current site's configuration.
	 *
	 * @return bool True when the extension accepted the configuration.
	 */
	public function configure() {
		$this->configured_once = true;
		$this->stale           = false;
		if ( ! self::extension_available() ) {
			$this->ready        = false;
			$this->config_error = array(
				'code'    => 0,
				'message' => __( 'The kc_meet PHP extension is not loaded.', 'kc-googlemeet' ),
			);
			return false;
		}
		try {
			kc_meet_configure( KC_Meet_Config::build() );
			$this->ready        = true;
			$this->config_error = null;
			if ( null !== self::stored_config_error() ) {
				delete_option( self::CONFIG_ERROR_OPTION );
			}
		} catch ( \KcMeet\Exception $e ) {
			$this->fail_configuration( (int) $e->getCode(), $e->getMessage() );
		} catch ( \Throwable $e ) {
			// Never a fatal error: report it like a configuration problem.
			$this->fail_configuration( 1001, $e->getMessage() );
		}
		return $this->ready;
	}

	/**
	 * Makes sure the extension was configured for this request (configures lazily).
	 *
	 * @return bool Whether the extension is configured and usable.
	 */
	public function ensure_configured() {
		if ( ! $this->configured_once || $this->stale ) {
			$this->configure();
		}
		return $this->ready;
	}

	/**
	 * The configuration error (code and secret-free message), or null: this request's when it
	 * configured, else the one kept from the last rejected configuration.
	 *
	 * @return array|null
	 */
	public function config_error() {
		return $this->configured_once ? $this->config_error : self::stored_config_error();
	}

	/**
	 * The error kept from the last rejected configuration, from the loaded options (no query).
	 *
	 * @return array{code:int, message:string}|null
	 */
	public static function stored_config_error() {
		$all = wp_load_alloptions();
		if ( empty( $all[ self::CONFIG_ERROR_OPTION ] ) ) {
			return null;
		}
		$error = maybe_unserialize( $all[ self::CONFIG_ERROR_OPTION ] );
		if ( ! is_array( $error ) || ! isset( $error['code'], $error['message'] ) ) {
			return null;
		}
		return array(
			'code'    => (int) $error['code'],
			'message' => (string) $error['message'],
		);
	}

	/**
	 * Loads translations. Without a file for the locale, WordPress's just-in-time loader would
	 * look again at the first translated string (listing three language folders, a glob each)
	 * and, for en_US, conclude the same: it is told now.
	 *
	 * @return void
	 */
	public function load_textdomain() {
		global $wp_textdomain_registry;
		// The strings are en_US: the plugin ships no en_US file, only a site's own one could apply.
		if ( 'en_US' === determine_locale() && $wp_textdomain_registry instanceof WP_Textdomain_Registry
			&& 'en_US' === apply_filters( 'plugin_locale', 'en_US', self::TEXT_DOMAIN )
			&& ! is_readable( WP_LANG_DIR . '/plugins/' . self::TEXT_DOMAIN . '-en_US.mo' ) ) {
			// What WP_Textdomain_Registry::get_path_from_lang_dir() records for en_US without a file.
			$wp_textdomain_registry->set( self::TEXT_DOMAIN, 'en_US', false );
			return;
		}
		load_plugin_textdomain( self::TEXT_DOMAIN, false, dirname( plugin_basename( $this->file ) ) . '/languages' );
	}

	/**
	 * Hooks every feature that needs a configured extension (once), from {@see KC_Meet_Hooks}:
	 * no component is loaded until one of its hooks fires.
	 *
	 * @return void
	 */
	public function register_features() {
		if ( $this->features_registered ) {
			return;
		}
		$this->features_registered = true;

		add_action( 'admin_init', array( 'KC_Meet_Hooks', 'admin_init' ) );
		if ( is_admin() ) {
			KC_Meet_Hooks::add( 'profile', self::is_admin_post() );
			if ( self::is_admin_post() ) {
				// Nothing but the screens' form actions.
				KC_Meet_Hooks::add( 'admin_doctors' );
				KC_Meet_Hooks::add( 'admin_appointments' );
			}
		}
		foreach ( array( 'rest', 'kivicare4_routes', 'kivicare3', 'kivicare4', 'badge', 'appointments', 'background', 'woocommerce', 'users', 'privacy', 'doctor_notices' ) as $group ) {
			KC_Meet_Hooks::add( $group );
		}
		if ( self::checks_schedule() ) {
			add_action( 'init', array( 'KC_Meet_Background', 'schedule' ), 20 );
		}
	}

	/**
	 * Whether this is a form post to `admin-post.php`, the only request on which WordPress fires
	 * `admin_post_*` actions: other wp-admin pages do not hook the plugin's.
	 *
	 * @return bool
	 */
	public static function is_admin_post() {
		return 'admin-post.php' === ( $GLOBALS['pagenow'] ?? '' );
	}

	/**
	 * Whether this request checks that the background work is scheduled
	 * ({@see KC_Meet_Background::schedule()}): WP-Cron runs (`wp-cron.php`, whether spawned by a
	 * page view or called by a system cron), WP-CLI, and the plugin's own screens. Activation
	 * schedules directly ({@see KC_Meet_Lifecycle::activate()}). Other page views, wp-admin's
	 * included, do not pay for the check.
	 *
	 * A schedule that went missing (another plugin cleared it, a cron array lost in a database
	 * restore, a new hook after an update) is put back by the next WP-Cron run without anyone
	 * visiting a screen, within an hour: WordPress core keeps its own hourly event
	 * (`wp_privacy_delete_old_export_files`, scheduled again on every `init` when missing), so
	 * WP-Cron runs at least hourly on a site that runs its events at all; while one of our
	 * events is still scheduled, it runs every minute (`kc_meet_run_jobs`) or every five
	 * (`kc_meet_sync`). With Action Scheduler, its queue runner is a WP-Cron event every minute.
	 *
	 * @return bool
	 */
	public static function checks_schedule() {
		if ( wp_doing_cron() || ( defined( 'WP_CLI' ) && WP_CLI ) ) {
			return true;
		}
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- compares the screen's slug only.
		return is_admin() && isset( $_GET['page'] ) && is_string( $_GET['page'] ) && 0 === strpos( $_GET['page'], 'kc-meet' );
	}

	/**
	 * Whether the features are hooked.
	 *
	 * @return bool
	 */
	public function features_registered() {
		return $this->features_registered;
	}

	/**
	 * Returns (creating it on first use) a feature component; its hooks are
	 * {@see KC_Meet_Hooks::HOOKS}.
	 *
	 * @param string $name       Component name: a key of {@see KC_Meet_Hooks::COMPONENTS}.
	 * @param string $class_name Class to create when missing (default: the component's).
	 * @return object|null
	 */
	public function component( $name, $class_name = '' ) {
		if ( ! isset( $this->components[ $name ] ) ) {
			$class_name = '' !== $class_name ? $class_name : ( KC_Meet_Hooks::COMPONENTS[ $name ] ?? '' );
			if ( '' === $class_name ) {
				return null;
			}
			$this->components[ $name ] = new $class_name();
		}
		return $this->components[ $name ];
	}

	/**
	 * Records a configuration failure.
	 *
	 * @param int    $code    Exception code.
	 * @param string $message Secret-free message.
	 * @return void
	 */
	private function fail_configuration( $code, $message ) {
		$this->ready        = false;
		$this->config_error = array(
			'code'    => (int) $code,
			'message' => (string) $message,
		);
		if ( self::stored_config_error() !== $this->config_error ) {
			// Kept (autoloaded) until a configuration is accepted: the admin notice shows it and
			// the next requests check the configuration before hooking the features.
			update_option( self::CONFIG_ERROR_OPTION, $this->config_error, true );
		}
		if ( defined( 'WP_DEBUG' ) && WP_DEBUG && defined( 'WP_DEBUG_LOG' ) && WP_DEBUG_LOG ) {
			// Code and message only: the extension never puts secrets in messages.
			error_log( sprintf( 'kc-meet: kc_meet_configure() failed (code %d): %s', $code, $message ) ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log
		}
	}
}
