<?php
/**
 * Multisite template, step 2 (after bin/setup-template.php installed a single site): turns it into
 * a subdirectory network the way `wp core multisite-install` / `wp core multisite-convert` does,
 * with WordPress's own install_network() + populate_network(). Runs while the multisite constants
 * are still off (env KC_MEET_MS_INSTALLING=1); multisite/wp-config.php turns them on afterwards.
 * Env: KC_MEET_WP_DIR, KC_MEET_TEST_DB (the template), KC_MEET_WP_URL. Prints one JSON line.
 */
define('WP_INSTALLING', true);
require getenv('KC_MEET_WP_DIR') . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

if (is_multisite()) {
	fwrite(STDERR, "setup-network: the constants are already on (KC_MEET_MS_INSTALLING must be 1)\n");
	exit(1);
}
global $wpdb;
// As WP-CLI does: the network tables' names are not set on a single site.
foreach ($wpdb->tables('ms_global') as $table => $prefixed) {
	$wpdb->$table = $prefixed;
}
install_network();
$u = parse_url(getenv('KC_MEET_WP_URL'));
$domain = $u['host'] . (isset($u['port']) ? ':' . $u['port'] : '');
$r = populate_network(1, $domain, get_option('admin_email'), 'kc-meet test network', '/', false);
if (is_wp_error($r)) {
	fwrite(STDERR, 'populate_network: ' . $r->get_error_code() . ': ' . $r->get_error_message() . "\n");
	exit(1);
}
delete_site_option('upload_space_check_disabled');
update_site_option('upload_space_check_disabled', 1);
// Not get_site_option(): until the constants are on it reads this site's options table.
echo json_encode(['network' => $domain, 'sites' => (int) $wpdb->get_var("SELECT COUNT(*) FROM {$wpdb->blogs}"), 'super_admins' => maybe_unserialize($wpdb->get_var("SELECT meta_value FROM {$wpdb->sitemeta} WHERE site_id = 1 AND meta_key = 'site_admins'"))]), "\n";
