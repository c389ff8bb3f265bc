<?php
/**
 * wp-config.php of the kc-meet MULTISITE test bed (copied into the multisite copy of the scratch
 * WordPress by run.sh; the single-site wp-config.php sits next to it as wp-config-site.php and does
 * everything else: database per test, emulator endpoints, keys).
 *
 * A subdirectory network, as `wp core multisite-install` leaves it. While the network is being
 * created (env KC_MEET_MS_INSTALLING=1, CLI only) the site is still a single site: the constants
 * below are written only once install_network() + populate_network() ran, as WP-CLI does.
 *
 * CLI (bin/wp-run.php): the site a process boots on is chosen like `wp --url=`: HTTP_HOST is the
 * network's domain and REQUEST_URI the site's path from env KC_MEET_MS_PATH (default "/").
 */

$kcm_ms_url  = getenv('KC_MEET_WP_URL');
$kcm_ms_host = (string) parse_url((string) $kcm_ms_url, PHP_URL_HOST);
$kcm_ms_port = parse_url((string) $kcm_ms_url, PHP_URL_PORT);
$kcm_ms_domain = $kcm_ms_host . ($kcm_ms_port ? ':' . $kcm_ms_port : '');

define('WP_ALLOW_MULTISITE', true);
if (!(PHP_SAPI === 'cli' && getenv('KC_MEET_MS_INSTALLING') === '1')) {
	define('MULTISITE', true);
	define('SUBDOMAIN_INSTALL', false);
	define('DOMAIN_CURRENT_SITE', $kcm_ms_domain);
	define('PATH_CURRENT_SITE', '/');
	define('SITE_ID_CURRENT_SITE', 1);
	define('BLOG_ID_CURRENT_SITE', 1);
}
if (PHP_SAPI === 'cli' && !isset($_SERVER['HTTP_HOST'])) {
	$_SERVER['HTTP_HOST'] = $kcm_ms_domain;
	$_SERVER['REQUEST_URI'] = getenv('KC_MEET_MS_PATH') ?: '/';
	$_SERVER['SERVER_NAME'] = $kcm_ms_host;
	$_SERVER['SERVER_PORT'] = (string) ($kcm_ms_port ?: 80);
}
unset($kcm_ms_url, $kcm_ms_host, $kcm_ms_port, $kcm_ms_domain);

require __DIR__ . '/wp-config-site.php';
