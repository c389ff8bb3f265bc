<?php
/**
 * wp-config.php of the kc-meet WordPress test bed (copied into the scratch WordPress by run.sh).
 *
 * Everything that changes per run or per test comes from the environment (CLI: bin/wp-run.php,
 * bin/setup-template.php; the php -S server inherits run.sh's environment) or, over HTTP, from
 * request headers set by the test HTTP client:
 *   KC_MEET_TEST_DB   / header X-KC-Test-DB  / cookie kc_test_db (for the browser)  → DB_NAME
 *   KC_MEET_EMU_URL   / header X-KC-Emu-Base                                        → Google endpoints
 * A request naming no database is refused: no test may write into a database it did not make.
 */

$kcm_env = static function (string $name, ?string $default = null): ?string {
	$v = getenv($name);
	return ($v === false || $v === '') ? $default : $v;
};

$kcm_template = $kcm_env('KC_MEET_TEMPLATE_DB');
$kcm_db_ok    = static function ($name) use ($kcm_template): bool {
	return is_string($name)
		&& (preg_match('/^kcm_t_[a-z0-9_]+$/', $name) === 1 || ($kcm_template !== null && $name === $kcm_template));
};

$kcm_db = null;
if (PHP_SAPI === 'cli') {
	$kcm_db = $kcm_env('KC_MEET_TEST_DB');
} else {
	if (isset($_SERVER['HTTP_X_KC_TEST_DB'])) {
		$kcm_db = $_SERVER['HTTP_X_KC_TEST_DB'];
	} elseif (isset($_COOKIE['kc_test_db'])) {
		$kcm_db = $_COOKIE['kc_test_db'];
	}
}
if (!$kcm_db_ok($kcm_db)) {
	if (PHP_SAPI !== 'cli') {
		header('HTTP/1.1 400 Bad Request');
		header('Content-Type: text/plain');
	}
	echo "kc-meet test bed: no valid test database (env KC_MEET_TEST_DB / header X-KC-Test-DB)\n";
	exit(1);
}

define('DB_NAME', $kcm_db);
define('DB_USER', $kcm_env('KC_MEET_DB_USER', 'kcmeet_test'));
define('DB_PASSWORD', $kcm_env('KC_MEET_DB_PASSWORD', 'kcmeet_test_pw'));
define('DB_HOST', $kcm_env('KC_MEET_DB_HOST', '127.0.0.1'));
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');

$kcm_emu = $kcm_env('KC_MEET_EMU_URL');
if (PHP_SAPI !== 'cli' && isset($_SERVER['HTTP_X_KC_EMU_BASE'])
	&& preg_match('#^http://127\.0\.0\.1:[0-9]{2,5}$#', $_SERVER['HTTP_X_KC_EMU_BASE'])) {
	$kcm_emu = $_SERVER['HTTP_X_KC_EMU_BASE'];
}
if ($kcm_emu !== null) {
	$kcm_emu = rtrim($kcm_emu, '/');
	define('KC_MEET_GOOGLE_ENDPOINTS', [
		'auth'     => $kcm_emu . '/o/oauth2/v2/auth',
		'token'    => $kcm_emu . '/token',
		'revoke'   => $kcm_emu . '/revoke',
		'calendar' => $kcm_emu . '/calendar/v3',
	]);
	define('KC_MEET_ALLOW_INSECURE_LOOPBACK', true);
}

// Fixed test key (32 random bytes, base64). Never used outside the test bed.
define('KC_MEET_ENCRYPTION_KEY', $kcm_env('KC_MEET_TEST_ENCRYPTION_KEY', 'q0Z3m3VYkX1c7Vt1e0yO2pI7bq3m0k4Zb2d2a8H9sXc='));

define('AUTH_KEY',         'kc-meet-test-auth-key-0001');
define('SECURE_AUTH_KEY',  'kc-meet-test-secure-auth-key-0002');
define('LOGGED_IN_KEY',    'kc-meet-test-logged-in-key-0003');
define('NONCE_KEY',        'kc-meet-test-nonce-key-0004');
define('AUTH_SALT',        'kc-meet-test-auth-salt-0005');
define('SECURE_AUTH_SALT', 'kc-meet-test-secure-auth-salt-0006');
define('LOGGED_IN_SALT',   'kc-meet-test-logged-in-salt-0007');
define('NONCE_SALT',       'kc-meet-test-nonce-salt-0008');

$table_prefix = 'wp_';

define('WP_DEBUG', true);
define('WP_DEBUG_DISPLAY', false);
define('WP_DEBUG_LOG', $kcm_env('KC_MEET_WP_DEBUG_LOG', false) ?: false);
define('DISABLE_WP_CRON', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_AUTO_UPDATE_CORE', false);
define('FS_METHOD', 'direct');
define('WP_ENVIRONMENT_TYPE', 'local');

unset($kcm_env, $kcm_template, $kcm_db_ok, $kcm_db, $kcm_emu);

if (!defined('ABSPATH')) {
	define('ABSPATH', __DIR__ . '/');
}
require_once ABSPATH . 'wp-settings.php';
