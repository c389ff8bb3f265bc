<?php
/**
 * Plugin bootstrap.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Bootstraps the plugin: checks for the kc_meet extension, configures it for the current site
 * (on `plugins_loaded`, on `switch_blog` and whenever a setting it depends on changes) and hooks
 * the features.
 *
 * Without the extension the plugin registers exactly one admin notice and nothing else. When
 * `kc_meet_configure()` rejects the configuration, an admin notice shows the (secret-free)
 * message and the features that need the extension are not hooked; the settings page stays
 * available so the problem can be seen and fixed.
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
			// Exactly one admin notice, nothing else (activation stays possible).
			add_action( 'admin_notices', array( 'KC_Meet_Notices', 'render_missing_extension' ) );
			return;
		}

		register_activation_hook( $plugin->file, array( 'KC_Meet_Lifecycle', 'activate' ) );
		// Keep our WP-Cron schedule known even while the configuration is rejected (the event
		// stays scheduled and runs again once the configuration is fixed).
		add_filter( 'cron_schedules', array( 'KC_Meet_Background', 'add_schedule' ) );

		add_action( 'init', array( $plugin, 'load_textdomain' ) );
		add_action( 'switch_blog', array( $plugin, 'on_switch_blog' ), 1, 3 );
		foreach ( self::CONFIG_OPTIONS as $option ) {
			add_action( 'add_option_' . $option, array( $plugin, 'reconfigure' ), 10, 0 );
			add_action( 'update_option_' . $option, array( $plugin, 'reconfigure' ), 10, 0 );
			add_action( 'delete_option_' . $option, array( $plugin, 'reconfigure' ), 10, 0 );
		}
		add_action( 'admin_notices', array( 'KC_Meet_Notices', 'render' ) );

		if ( did_action( 'plugins_loaded' ) ) {
			// Loaded late (activation sandbox, tests): configure now.
			$plugin->on_plugins_loaded();
		} else {
			add_action( 'plugins_loaded', array( $plugin, 'on_plugins_loaded' ), 1 );
		}
	}

	/**
	 * Whether the kc_meet extension is loaded.
	 *
	 * @return bool
	 */
	public static function extension_available() {
		return extension_loaded( 'kc_meet' ) && function_exists( 'kc_meet_configure' );
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
	 * `plugins_loaded` (priority 1): configures the extension and hooks the features.
	 *
	 * @return void
	 */
	public function on_plugins_loaded() {
		$this->configure();
		// The settings page is where configuration problems are seen and fixed: always hook it.
		$this->component( 'admin', 'KC_Meet_Admin_Page' );
		if ( $this->ready ) {
			$this->register_features();
		}
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
		unset( $new_blog_id, $prev_blog_id, $context );
		if ( $this->configured_once ) {
			$this->configure();
		}
	}

	/**
	 * Re-runs kc_meet_configure() after a setting it depends on changed (cheap when unchanged).
	 *
	 * @return void
	 */
	public function reconfigure() {
		if ( $this->configured_once ) {
			$this->configure();
		}
	}

	/**
	 * Calls kc_meet_configure() with the current site's configuration.
	 *
	 * @return bool True when the extension accepted the configuration.
	 */
	public function configure() {
		$this->configured_once = true;
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
		if ( ! $this->configured_once ) {
			$this->configure();
		}
		return $this->ready;
	}

	/**
	 * Whether the last configuration succeeded.
	 *
	 * @return bool
	 */
	public function is_ready() {
		return $this->ready;
	}

	/**
	 * The last configuration error (code and secret-free message), or null.
	 *
	 * @return array|null
	 */
	public function config_error() {
		return $this->config_error;
	}

	/**
	 * Loads translations.
	 *
	 * @return void
	 */
	public function load_textdomain() {
		load_plugin_textdomain( self::TEXT_DOMAIN, false, dirname( plugin_basename( $this->file ) ) . '/languages' );
	}

	/**
	 * Hooks every feature that needs a configured extension (once).
	 *
	 * @return void
	 */
	public function register_features() {
		if ( $this->features_registered ) {
			return;
		}
		$this->features_registered = true;

		add_action( 'admin_init', array( 'KC_Meet_Lifecycle', 'maybe_migrate' ) );
		$this->component( 'profile', 'KC_Meet_Profile' );
		$this->component( 'rest', 'KC_Meet_Rest' );
		$this->component( 'kivicare3', 'KC_Meet_KiviCare3' );
		$this->component( 'kivicare4', 'KC_Meet_KiviCare4' );
		$this->component( 'appointments', 'KC_Meet_Appointment_Hooks' );
		$this->component( 'background', 'KC_Meet_Background' );
		$this->component( 'woocommerce', 'KC_Meet_WooCommerce' );
		$this->component( 'admin_doctors', 'KC_Meet_Admin_Doctors' );
		$this->component( 'admin_appointments', 'KC_Meet_Admin_Appointments' );
		$this->component( 'users', 'KC_Meet_Users' );
		$this->component( 'privacy', 'KC_Meet_Privacy' );
		$this->component( 'doctor_notices', 'KC_Meet_Doctor_Notices' );
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
	 * Returns (creating and hooking it on first use) a feature component.
	 *
	 * @param string $name       Component name: admin, profile, rest, kivicare3, kivicare4,
	 *                           appointments, background.
	 * @param string $class_name Class to create when missing.
	 * @return object|null
	 */
	public function component( $name, $class_name = '' ) {
		if ( ! isset( $this->components[ $name ] ) && '' !== $class_name ) {
			$component = new $class_name();
			$component->register();
			$this->components[ $name ] = $component;
		}
		return $this->components[ $name ] ?? null;
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
		if ( defined( 'WP_DEBUG' ) && WP_DEBUG && defined( 'WP_DEBUG_LOG' ) && WP_DEBUG_LOG ) {
			// Code and message only: the extension never puts secrets in messages.
			error_log( sprintf( 'kc-meet: kc_meet_configure() failed (code %d): %s', $code, $message ) ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log
		}
	}
}
