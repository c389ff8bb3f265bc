<?php
/**
 * Plugin Name: kc-meet test bed (must-use)
 * Description: TEST BED ONLY. Loads the stand-ins of KiviCare 4.x core (telemed provider base class, list
 * query builder) when a test asks for "KiviCare 4.x present" (header X-KC-Core: 4 over HTTP, env KC_MEET_KC_CORE=4 in the CLI
 * runner). Must-use plugins load before normal plugins, as KiviCare core ("kivicare-clinic-management-system")
 * loads before the add-on.
 */
$kcm_core = PHP_SAPI === 'cli' ? getenv('KC_MEET_KC_CORE') : ($_SERVER['HTTP_X_KC_CORE'] ?? '');
if ($kcm_core === '4') {
	require_once getenv('KC_MEET_STANDINS_DIR') . '/kivicare-telemed-provider.php';
	require_once getenv('KC_MEET_STANDINS_DIR') . '/kivicare4-core.php';
} elseif ($kcm_core === '3') {
	require_once getenv('KC_MEET_STANDINS_DIR') . '/kivicare3-core.php';
}
// WooCommerce present (env KC_MEET_WOOCOMMERCE=1): its stand-in loads after the first normal plugin, as
// "woocommerce/" loads after "kivicare-google-meet/"; with KiviCare 4.x also core's WooCommerce gateway.
if (PHP_SAPI === 'cli' && getenv('KC_MEET_WOOCOMMERCE') === '1') {
	add_action('plugin_loaded', static function () use ($kcm_core) {
		require_once getenv('KC_MEET_STANDINS_DIR') . '/woocommerce.php';
		if ($kcm_core === '4') {
			require_once getenv('KC_MEET_STANDINS_DIR') . '/kivicare-woocommerce-gateway.php';
		}
	});
}
// The plugin's classes a page view loaded (header X-KC-Test-Classes: 1): an HTML comment at the end of the page.
if (PHP_SAPI !== 'cli' && isset($_SERVER['HTTP_X_KC_TEST_CLASSES'])) {
	register_shutdown_function(static function () {
		$ours = array_filter(get_declared_classes(), static fn($c) => stripos($c, 'KC_Meet_') === 0);
		echo "\n<!-- kc-test-classes: " . implode(' ', $ours) . " -->\n";
	});
}
unset($kcm_core);
