<?php
/** Activates the kc-meet plugin the way wp-admin does: activate_plugin() (runs its activation hook). */
$file = $args['plugin'] ?? 'kivicare-google-meet/kivicare-googlemeet.php';
$r = activate_plugin($file, '', false, false);
if (is_wp_error($r)) {
	return ['activated' => false, 'error' => $r->get_error_code() . ': ' . $r->get_error_message()];
}
return ['activated' => is_plugin_active($file), 'active_plugins' => get_option('active_plugins')];
