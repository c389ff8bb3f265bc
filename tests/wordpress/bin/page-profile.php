<?php
/**
 * auto_prepend_file of tests/wordpress/bin/page-cost.php's php-fpm pool. Inert unless the request
 * carries the header X-KC-Profile: then it times, inside the request (hrtime), every callback the
 * plugin registers (wrapped the first time its hook fires; inclusive of what it calls, autoloading
 * included), the plugin's own file (from the previous plugin's `plugin_loaded` to its own), and
 * lists the plugin's classes and files loaded; one JSON line per request is appended to the file
 * named by env KC_PAGE_PROFILE_OUT.
 */
if (empty($_SERVER['HTTP_X_KC_PROFILE']) || !getenv('KC_PAGE_PROFILE_OUT')) {
	return;
}

/** A plugin callback with a timer around it. */
final class KC_Page_Profile_Timed {
	public function __construct(public $callback, public string $name) {
	}

	public function __invoke(...$args) {
		$t = hrtime(true);
		try {
			return call_user_func_array($this->callback, $args);
		} finally {
			$p = &$GLOBALS['kc_page_profile'];
			$p['callbacks'][$this->name]['ns'] = ($p['callbacks'][$this->name]['ns'] ?? 0) + hrtime(true) - $t;
			$p['callbacks'][$this->name]['calls'] = ($p['callbacks'][$this->name]['calls'] ?? 0) + 1;
		}
	}
}

/** The plugin's name for a callback, or null when it is not the plugin's. */
function kc_page_profile_name($f): ?string {
	if (is_array($f) && isset($f[0], $f[1])) {
		$class = is_object($f[0]) ? get_class($f[0]) : (string) $f[0];
		return stripos($class, 'KC_Meet') === 0 ? $class . '::' . $f[1] : null;
	}
	if (is_string($f)) {
		return stripos($f, 'KC_Meet') === 0 ? $f : null;
	}
	return null;
}

$GLOBALS['kc_page_profile'] = ['start' => hrtime(true), 'callbacks' => [], 'marks' => []];

// Hooks set before WordPress loads (WP_Hook::build_preinitialized_hooks).
$GLOBALS['wp_filter']['all'][-PHP_INT_MAX][] = ['accepted_args' => 0, 'function' => static function () {
	global $wp_filter;
	$hook = current_filter();
	$GLOBALS['kc_page_profile']['prev_hook'] = $GLOBALS['kc_page_profile']['last_hook'] ?? null;
	$GLOBALS['kc_page_profile']['last_hook'] = [$hook, hrtime(true)];
	if (!isset($wp_filter[$hook]) || !($wp_filter[$hook] instanceof WP_Hook)) {
		return;
	}
	foreach ($wp_filter[$hook]->callbacks as $priority => $callbacks) {
		foreach ($callbacks as $idx => $cb) {
			if ($cb['function'] instanceof KC_Page_Profile_Timed) {
				continue;
			}
			$name = kc_page_profile_name($cb['function']);
			if ($name !== null) {
				$wp_filter[$hook]->callbacks[$priority][$idx]['function'] = new KC_Page_Profile_Timed($cb['function'], $hook . ' ' . $name);
			}
		}
	}
}];
foreach (['muplugins_loaded', 'plugins_loaded', 'setup_theme', 'init', 'wp_loaded', 'admin_init', 'admin_menu', 'shutdown'] as $kc_page_profile_hook) {
	$GLOBALS['wp_filter'][$kc_page_profile_hook][-PHP_INT_MAX][] = ['accepted_args' => 0, 'function' => static function () use ($kc_page_profile_hook) {
		$GLOBALS['kc_page_profile']['marks'][] = [$kc_page_profile_hook, hrtime(true)];
	}];
}
$GLOBALS['wp_filter']['plugin_loaded'][-PHP_INT_MAX][] = ['accepted_args' => 1, 'function' => static function ($file) {
	$now = hrtime(true);
	$GLOBALS['kc_page_profile']['marks'][] = ['plugin_loaded ' . basename((string) $file), $now];
	if (str_ends_with((string) $file, '/kivicare-googlemeet.php')) {
		// From the last hook WordPress fired before including the file (no hook fires inside it).
		$prev = $GLOBALS['kc_page_profile']['prev_hook'];
		$GLOBALS['kc_page_profile']['file_ns'] = $prev ? $now - $prev[1] : 0;
		$GLOBALS['kc_page_profile']['file_after'] = $prev ? $prev[0] : '';
	}
}];
$GLOBALS['wp_filter']['network_plugin_loaded'][-PHP_INT_MAX][] = ['accepted_args' => 1, 'function' => static function ($file) {
	$GLOBALS['kc_page_profile']['marks'][] = ['plugin_loaded ' . basename((string) $file), hrtime(true)];
}];
unset($kc_page_profile_hook);

register_shutdown_function(static function () {
	$p = $GLOBALS['kc_page_profile'];
	$p['total_ns'] = hrtime(true) - $p['start'];
	$p['classes'] = array_values(array_filter(get_declared_classes(), static fn($c) => stripos($c, 'KC_Meet') === 0 || stripos($c, 'KCGMApp') === 0));
	$p['files'] = array_values(array_filter(get_included_files(), static fn($f) => strpos($f, '/kivicare-google-meet') !== false));
	$p['statements'] = isset($GLOBALS['wpdb']) ? (int) $GLOBALS['wpdb']->num_queries : null;
	$p['uri'] = $_SERVER['REQUEST_URI'] ?? '';
	file_put_contents((string) getenv('KC_PAGE_PROFILE_OUT'), json_encode($p) . "\n", FILE_APPEND | LOCK_EX);
});
