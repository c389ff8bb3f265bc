<?php
/**
 * kc-meet test runner: boots the scratch WordPress for one test database in a real PHP process and runs
 * a PHP snippet or a named scenario in it, then reports what happened as JSON.
 *
 *   KC_MEET_TEST_DB=kcm_t_x KC_MEET_WP_DIR=/path/to/wp \
 *     php [-d extension=/path/libkc_meet.so] tests/wordpress/bin/wp-run.php < job.json
 *
 * job.json: {
 *   "code":     "return get_option('home');",   // body of a function; $args holds "args"
 *   "scenario": "create-users",                 // or: include scenarios/<name>.php (also sees $args)
 *   "args":     {...},
 *   "user":     2,                               // wp_set_current_user() before the code runs
 *   "cli":      true,                            // load the WP-CLI stand-in first (defines WP_CLI), fire cli_init
 *   "wpcli":    ["kc-meet", "status", "--doctor=2"],  // then run this command through the stand-in
 *   "stdin":    "y\n",                          // what WP_CLI::confirm() reads (one answer per line)
 *   "admin":    true,                            // define WP_ADMIN and load wp-admin/includes/admin.php
 *   "kc_core":  "4"                              // KiviCare 4.x present (loads the provider base stand-in)
 * }
 * The report (JSON) goes to the file named by env KC_MEET_RUN_OUT, else to stdout between
 * "@@KC-RUN-JSON-BEGIN@@" and "@@KC-RUN-JSON-END@@":
 *   {completed, result, output, php_errors[], exception, fatal, exit_called, cli{exit_code, stdout, stderr}, extension_loaded}
 */

$kcm_job_raw = stream_get_contents(STDIN);
$kcm_job = json_decode($kcm_job_raw === '' ? '{}' : $kcm_job_raw, true);
if (!is_array($kcm_job)) {
	fwrite(STDERR, "wp-run: job on stdin is not a JSON object\n");
	exit(2);
}
$kcm_wp_dir = getenv('KC_MEET_WP_DIR');
if (!$kcm_wp_dir || !is_file($kcm_wp_dir . '/wp-load.php')) {
	fwrite(STDERR, "wp-run: KC_MEET_WP_DIR does not point at the scratch WordPress\n");
	exit(2);
}
if (!getenv('KC_MEET_TEST_DB')) {
	fwrite(STDERR, "wp-run: KC_MEET_TEST_DB is not set\n");
	exit(2);
}

$GLOBALS['kcm_report'] = [
	'completed'        => false,
	'result'           => null,
	'output'           => '',
	'php_errors'       => [],
	'exception'        => null,
	'fatal'            => null,
	'exit_called'      => false,
	'cli'              => null,
	'extension_loaded' => extension_loaded('kc_meet'),
];

function kcm_report_emit(): void {
	$r = &$GLOBALS['kcm_report'];
	$out = '';
	while (ob_get_level() > 0) {
		$out = ob_get_clean() . $out;
	}
	$r['output'] .= $out;
	$err = error_get_last();
	if ($err && in_array($err['type'], [E_ERROR, E_PARSE, E_CORE_ERROR, E_COMPILE_ERROR, E_USER_ERROR, E_RECOVERABLE_ERROR], true)) {
		$r['fatal'] = $err;
	}
	if (!$r['completed'] && !$r['fatal'] && !$r['exception']) {
		$r['exit_called'] = true;
	}
	if (class_exists('WP_CLI', false) && $r['cli'] === null && property_exists('WP_CLI', 'stdout')) {
		$r['cli'] = ['exit_code' => null, 'stdout' => WP_CLI::$stdout, 'stderr' => WP_CLI::$stderr];
	}
	$json = json_encode($r, JSON_PARTIAL_OUTPUT_ON_ERROR | JSON_INVALID_UTF8_SUBSTITUTE | JSON_UNESCAPED_SLASHES);
	$file = getenv('KC_MEET_RUN_OUT');
	if ($file) {
		file_put_contents($file, $json);
	} else {
		echo "\n@@KC-RUN-JSON-BEGIN@@" . $json . "@@KC-RUN-JSON-END@@\n";
	}
}

// Report after everything else, WordPress's own shutdown hook included.
register_shutdown_function(static function () {
	register_shutdown_function('kcm_report_emit');
});

set_error_handler(static function ($type, $message, $file, $line) {
	$GLOBALS['kcm_report']['php_errors'][] = ['type' => $type, 'message' => $message, 'file' => $file, 'line' => $line];
	return false;
});

ob_start();

if (!empty($kcm_job['kc_core'])) {
	putenv('KC_MEET_KC_CORE=' . $kcm_job['kc_core']);
}
if (!empty($kcm_job['cli']) || !empty($kcm_job['wpcli'])) {
	require __DIR__ . '/../stand-ins/wp-cli.php';
}
if (!empty($kcm_job['admin'])) {
	define('WP_ADMIN', true);
}

require $kcm_wp_dir . '/wp-load.php';

if (!empty($kcm_job['admin'])) {
	require_once ABSPATH . 'wp-admin/includes/admin.php';
}
if (defined('WP_CLI') && WP_CLI && class_exists('WP_CLI', false)) {
	do_action('cli_init');
}
if (isset($kcm_job['user'])) {
	wp_set_current_user((int) $kcm_job['user']);
}

try {
	$kcm_args = $kcm_job['args'] ?? [];
	if (!empty($kcm_job['wpcli'])) {
		WP_CLI::$stdin = (string) ($kcm_job['stdin'] ?? '');
		$code = WP_CLI::run_command(array_values($kcm_job['wpcli']));
		$GLOBALS['kcm_report']['cli'] = ['exit_code' => $code, 'stdout' => WP_CLI::$stdout, 'stderr' => WP_CLI::$stderr];
	}
	if (isset($kcm_job['scenario'])) {
		if (!preg_match('/^[a-z0-9-]+$/', $kcm_job['scenario'])) {
			throw new InvalidArgumentException('bad scenario name');
		}
		$GLOBALS['kcm_report']['result'] = (static function ($args, $file) {
			return require $file;
		})($kcm_args, __DIR__ . '/../scenarios/' . $kcm_job['scenario'] . '.php');
	} elseif (isset($kcm_job['code'])) {
		$GLOBALS['kcm_report']['result'] = (static function ($args, $code) {
			return eval($code);
		})($kcm_args, $kcm_job['code']);
	}
} catch (Throwable $e) {
	$GLOBALS['kcm_report']['exception'] = [
		'class'   => get_class($e),
		'code'    => $e->getCode(),
		'message' => $e->getMessage(),
		'file'    => $e->getFile(),
		'line'    => $e->getLine(),
		'trace'   => $e->getTraceAsString(),
	];
}
$GLOBALS['kcm_report']['completed'] = true;
