<?php
/**
 * Class autoloader.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Loads `KC_Meet_*` classes from `includes/class-kc-meet-*.php` on first use.
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
		$key = strtolower( (string) $class_name );
		if ( 0 !== strpos( $key, 'kc_meet_' ) || in_array( $key, self::EXCLUDED, true ) ) {
			return;
		}
		$file = self::$dir . 'class-' . str_replace( '_', '-', $key ) . '.php';
		if ( is_readable( $file ) ) {
			require_once $file;
		}
	}
}
