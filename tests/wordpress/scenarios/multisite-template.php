<?php
/**
 * Multisite template, step 3 (on the network, as the super admin): a second site /site2/, KiviCare's
 * tables and roles on both sites (scenarios/template-kivicare.php on each, as KiviCare's
 * network activation leaves them), then kc-meet network-activated with activate_plugin(…, true),
 * whose activation hook migrates every site.
 */
if (!is_multisite()) {
	throw new RuntimeException('multisite-template: not a network');
}
$site2 = wp_insert_site(['domain' => get_network()->domain, 'path' => '/site2/', 'title' => 'Clinic two', 'user_id' => 1]);
if (is_wp_error($site2)) {
	throw new RuntimeException('wp_insert_site: ' . $site2->get_error_message());
}
$out = ['sites' => []];
foreach ([1, (int) $site2] as $site_id) {
	switch_to_blog($site_id);
	$out['sites'][$site_id] = (static function ($args) {
		return require __DIR__ . '/template-kivicare.php';
	})([]);
	restore_current_blog();
}
$plugin = $args['plugin'] ?? 'kivicare-google-meet/kivicare-googlemeet.php';
$r = activate_plugin($plugin, '', true, false);
if (is_wp_error($r)) {
	throw new RuntimeException('activate_plugin: ' . $r->get_error_code() . ': ' . $r->get_error_message());
}
$out['network_active'] = is_plugin_active_for_network($plugin);
$out['site2'] = (int) $site2;
return $out;
