<?php
/**
 * Installs the scratch WordPress into the (empty) template database with WordPress's own installer,
 * wp_install() from wp-admin/includes/upgrade.php. Env: KC_MEET_WP_DIR, KC_MEET_TEST_DB (the template),
 * KC_MEET_WP_URL (site URL, e.g. http://127.0.0.1:PORT), KC_MEET_ADMIN_PASSWORD.
 * Prints one JSON line.
 */
define('WP_INSTALLING', true);
$_SERVER['HTTP_HOST'] = parse_url(getenv('KC_MEET_WP_URL'), PHP_URL_HOST) . ':' . parse_url(getenv('KC_MEET_WP_URL'), PHP_URL_PORT);
require getenv('KC_MEET_WP_DIR') . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

if (is_blog_installed()) {
	fwrite(STDERR, "setup-template: WordPress is already installed in " . DB_NAME . "\n");
	exit(1);
}
$url = rtrim(getenv('KC_MEET_WP_URL'), '/');
// wp_install() derives the URL with wp_guess_url(); pin it first so the install itself uses it.
define('WP_SITEURL', $url);
$r = wp_install('kc-meet test site', 'admin', 'admin@clinic.test', false, '', getenv('KC_MEET_ADMIN_PASSWORD') ?: 'admin-pass', '');
update_option('siteurl', $url);
update_option('home', $url);
update_option('permalink_structure', '/%postname%/');
update_option('timezone_string', 'Europe/Berlin');
echo json_encode(['installed' => is_blog_installed(), 'user_id' => $r['user_id'], 'db' => DB_NAME, 'url' => get_option('home')]), "\n";
