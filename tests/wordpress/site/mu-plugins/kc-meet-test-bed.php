<?php
/**
 * Plugin Name: kc-meet test bed (must-use)
 * Description: TEST BED ONLY. Loads the stand-in of KiviCare 4.x core's telemed provider base class when
 * a test asks for "KiviCare 4.x present" (header X-KC-Core: 4 over HTTP, env KC_MEET_KC_CORE=4 in the CLI
 * runner). Must-use plugins load before normal plugins, as KiviCare core ("kivicare-clinic-management-system")
 * loads before the add-on.
 */
$kcm_core = PHP_SAPI === 'cli' ? getenv('KC_MEET_KC_CORE') : ($_SERVER['HTTP_X_KC_CORE'] ?? '');
if ($kcm_core === '4') {
	require_once getenv('KC_MEET_STANDINS_DIR') . '/kivicare-telemed-provider.php';
}
unset($kcm_core);
