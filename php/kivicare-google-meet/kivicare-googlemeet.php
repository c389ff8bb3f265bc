<?php
/**
 * Plugin Name:       KiviCare - Google Meet (kc-meet)
 * Description:       Google Calendar and Google Meet telemedicine for KiviCare: a drop-in replacement for the "Google Meet telemed & WooCommerce" add-on, powered by the kc_meet PHP extension.
 * Version:           4.1.0
 * Requires at least: 6.0
 * Requires PHP:      8.1
 * Requires Plugins:  kivicare-clinic-management-system
 * Author:            kc-meet
 * License:           GPLv2 or later
 * License URI:       https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:       kc-googlemeet
 * Domain Path:       /languages
 * Update URI:        false
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/*
 * Constants KiviCare core looks for. Core 4.x treats the add-on as active when
 * KIVICARE_GOOGLE_MEET_ADDON_VERSION is defined; both prefixes are the vendor's.
 */
if ( ! defined( 'KIVICARE_GOOGLE_MEET_ADDON_VERSION' ) ) {
	define( 'KIVICARE_GOOGLE_MEET_ADDON_VERSION', '4.1.0' );
}
if ( ! defined( 'KIVI_CARE_GOOGLE_PREFIX' ) ) {
	define( 'KIVI_CARE_GOOGLE_PREFIX', 'kiviCare_' );
}
if ( ! defined( 'KIVICARE_GOOGLE_MEET_PREFIX' ) ) {
	define( 'KIVICARE_GOOGLE_MEET_PREFIX', 'kiviCare_' );
}

if ( ! defined( 'KC_MEET_PLUGIN_FILE' ) ) {
	define( 'KC_MEET_PLUGIN_FILE', __FILE__ );
}
if ( ! defined( 'KC_MEET_PLUGIN_DIR' ) ) {
	define( 'KC_MEET_PLUGIN_DIR', __DIR__ . '/' );
}

require_once __DIR__ . '/includes/class-kc-meet-autoloader.php';
KC_Meet_Autoloader::register( __DIR__ . '/includes/' );

KC_Meet_Plugin::boot( __FILE__ );
