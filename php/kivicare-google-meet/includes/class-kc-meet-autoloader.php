<?php
/**
 * Class autoloader.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Loads the plugin's classes on first use. The files are grouped by role under `includes/`:
 * - at the top, the core: bootstrap, native bridge, settings, configuration, background work
 *   and the single paths to the extension (`includes/class-kc-meet-<name>.php`);
 * - `kivicare/`: the host contracts (3.x filters, 4.x provider, appointment hooks and data,
 *   the appointment state in core's lists);
 * - `kivicare/models/`: the classes KiviCare core 4.x expects from the vendor's add-on
 *   (namespace `KCGMApp\models`, e.g. `KCGMApp\models\KCGMAppointmentGoogleMeetMapping`),
 *   one `<Class>.php` each;
 * - `woocommerce/`, `rest/`, `admin/`, `cli/`: the WooCommerce host, kc-meet's own REST routes,
 *   the wp-admin screens and notices, the WP-CLI commands.
 *
 * {@see self::FOLDERS} maps each class outside the top folder to its folder; {@see self::MODELS}
 * lists the model classes. A lookup is one array read and one `is_readable()`: no directory is
 * listed. {@see self::file_for()} is the rule, also read by the package test.
 *
 * The KiviCare 4.x provider (`KC_Meet_Telemed_Provider`) is deliberately NOT autoloaded: it
 * extends a core class that may not exist, so it is only ever required by
 * {@see KC_Meet_KiviCare4::load_provider()} after checking that its parent class is there.
 */
final class KC_Meet_Autoloader {

	/**
	 * Classes the autoloader must never load.
	 *
	 * @var string[]
	 */
	const EXCLUDED = array( 'kc_meet_telemed_provider' );

	/**
	 * Subfolder of `includes/` per class (lower-case class name); classes not listed live at the top.
	 *
	 * @var array<string,string>
	 */
	const FOLDERS = array(
		'kc_meet_kivicare3'            => 'kivicare/',
		'kc_meet_kivicare4'            => 'kivicare/',
		'kc_meet_kivicare4_routes'     => 'kivicare/',
		'kc_meet_telemed_provider'     => 'kivicare/',
		'kc_meet_appointment_hooks'    => 'kivicare/',
		'kc_meet_appointment_data'     => 'kivicare/',
		'kc_meet_badge'                => 'kivicare/',
		'kc_meet_woocommerce'          => 'woocommerce/',
		'kc_meet_woocommerce_products' => 'woocommerce/',
		'kc_meet_rest'                 => 'rest/',
		'kc_meet_admin_page'           => 'admin/',
		'kc_meet_admin_menu'           => 'admin/',
		'kc_meet_admin_screens'        => 'admin/',
		'kc_meet_admin_doctors'        => 'admin/',
		'kc_meet_admin_appointments'   => 'admin/',
		'kc_meet_profile'              => 'admin/',
		'kc_meet_notices'              => 'admin/',
		'kc_meet_doctor_notices'       => 'admin/',
		'kc_meet_redirects'            => 'admin/',
		'kc_meet_cli_base'             => 'cli/',
		'kc_meet_cli_command'          => 'cli/',
		'kc_meet_cli_event_command'    => 'cli/',
		'kc_meet_cli_jobs_command'     => 'cli/',
		'kc_meet_cli_orders_command'   => 'cli/',
		'kc_meet_cli_channels_command' => 'cli/',
	);

	/**
	 * Namespace of the KiviCare 4.x model classes.
	 *
	 * @var string
	 */
	const MODELS_NAMESPACE = 'KCGMApp\\models\\';

	/**
	 * Folder of the model classes, under `includes/`.
	 *
	 * @var string
	 */
	const MODELS_DIR = 'kivicare/models/';

	/**
	 * Model classes by lower-case short name (class names are case-insensitive in PHP, file
	 * names are not) → file name without `.php`.
	 *
	 * @var array<string,string>
	 */
	const MODELS = array(
		'kcgmappointmentgooglemeetmapping'      => 'KCGMAppointmentGoogleMeetMapping',
		'kcgmappointmentgooglemeetmappingquery' => 'KCGMAppointmentGoogleMeetMappingQuery',
	);

	/**
	 * Folder holding the class files (with a trailing slash).
	 *
	 * @var string
	 */
	private static $dir = '';

	/**
	 * Registers the autoloader once.
	 *
	 * @param string $dir Folder of the class files.
	 * @return void
	 */
	public static function register( $dir ) {
		if ( '' !== self::$dir ) {
			return;
		}
		self::$dir = trailingslashit( $dir );
		spl_autoload_register( array( __CLASS__, 'load' ) );
	}

	/**
	 * Where a class's file is, relative to `includes/`.
	 *
	 * @param string $class_name Class name, with or without a leading backslash.
	 * @return string Path relative to `includes/`, or '' for a class that is not the plugin's.
	 */
	public static function file_for( $class_name ) {
		$class_name = ltrim( (string) $class_name, '\\' );
		if ( 0 === stripos( $class_name, self::MODELS_NAMESPACE ) ) {
			$short = strtolower( substr( $class_name, strlen( self::MODELS_NAMESPACE ) ) );
			return isset( self::MODELS[ $short ] ) ? self::MODELS_DIR . self::MODELS[ $short ] . '.php' : '';
		}
		$key = strtolower( $class_name );
		if ( 0 !== strpos( $key, 'kc_meet_' ) ) {
			return '';
		}
		return ( self::FOLDERS[ $key ] ?? '' ) . 'class-' . str_replace( '_', '-', $key ) . '.php';
	}

	/**
	 * Autoload callback.
	 *
	 * @param string $class_name Class being looked up.
	 * @return void
	 */
	public static function load( $class_name ) {
		$relative = self::file_for( $class_name );
		if ( '' === $relative || in_array( strtolower( ltrim( (string) $class_name, '\\' ) ), self::EXCLUDED, true ) ) {
			return;
		}
		$file = self::$dir . $relative;
		if ( is_readable( $file ) ) {
			require_once $file;
		}
	}
}
