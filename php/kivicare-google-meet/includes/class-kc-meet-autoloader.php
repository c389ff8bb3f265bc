<?php
/**
 * Class autoloader.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Loads `KC_Meet_*` classes from `includes/class-kc-meet-*.php` on first use, and the classes
 * KiviCare core 4.x expects from the vendor's add-on (namespace `KCGMApp\models`, e.g.
 * `KCGMApp\models\KCGMAppointmentGoogleMeetMapping`) from `includes/models/<Class>.php`.
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
	 * Namespace of the KiviCare 4.x model classes (`includes/models/<Class>.php`).
	 *
	 * @var string
	 */
	const MODELS_NAMESPACE = 'KCGMApp\\models\\';

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
	 * Autoload callback.
	 *
	 * @param string $class_name Class being looked up.
	 * @return void
	 */
	public static function load( $class_name ) {
		$class_name = ltrim( (string) $class_name, '\\' );
		if ( 0 === stripos( $class_name, self::MODELS_NAMESPACE ) ) {
			// Class names are case-insensitive in PHP, file names are not.
			$short = substr( $class_name, strlen( self::MODELS_NAMESPACE ) );
			foreach ( (array) glob( self::$dir . 'models/*.php' ) as $file ) {
				if ( 0 === strcasecmp( basename( (string) $file, '.php' ), $short ) ) {
					require_once $file;
					return;
				}
			}
			return;
		}
		$key = strtolower( $class_name );
		if ( 0 !== strpos( $key, 'kc_meet_' ) || in_array( $key, self::EXCLUDED, true ) ) {
			return;
		}
		$file = self::$dir . 'class-' . str_replace( '_', '-', $key ) . '.php';
		if ( is_readable( $file ) ) {
			require_once $file;
		}
	}
}
