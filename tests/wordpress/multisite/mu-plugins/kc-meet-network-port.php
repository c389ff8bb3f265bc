<?php
/**
 * Plugin Name: kc-meet network test bed: keep the port (must-use)
 * Description: TEST BED ONLY. The test network lives on 127.0.0.1:PORT (php -S on a free port, runs
 * of several worktrees at once). WordPress takes a network's domain with its port from wp-config.php
 * (DOMAIN_CURRENT_SITE) and matches requests on it, but wp_insert_site() passes a new site's domain
 * through sanitize_user( …, true ), which drops the ":". For exactly the network's own domain the
 * port is kept, so new sites live on the same host as the network.
 */
add_filter('sanitize_user', static function ($username, $raw, $strict) {
	if ($strict && defined('DOMAIN_CURRENT_SITE') && is_string($raw) && trim($raw) === DOMAIN_CURRENT_SITE) {
		return DOMAIN_CURRENT_SITE;
	}
	return $username;
}, 10, 3);
