<?php
/**
 * What a page view pays for the plugin, quicker than the whole bench and with a profile:
 *
 *   KC_MEET_WP_PAGE_COST=1 tests/wordpress/run.sh      (run.sh sets up the bed, then runs this)
 *
 * Two copies of the template site (the plugin active in one, deactivated in the other, the OAuth
 * client saved in both), one php-fpm worker with the extension and opcache as shipped, driven over
 * FastCGI (tests/bench/FastCgi.php), the two copies asked in turn like the bench does: the
 * worker's CPU per request (median, /proc schedstat) and the MariaDB statements (USER_STATISTICS
 * of an account only this script uses) of the front page and of the wp-admin dashboard (and of
 * any page in KC_PAGE_COST_URIS, e.g. "/wp-admin/options-privacy.php,/wp-admin/users.php").
 * Then, with KC_PAGE_COST_PROFILE rounds (default 50), a profile of the plugin's side
 * (tests/wordpress/bin/page-profile.php): median µs of each plugin callback, of the plugin's file,
 * and the plugin's classes loaded. KC_PAGE_COST_N: page views per side (default 200);
 * KC_PAGE_COST_BASELINE: a folder with another version of the plugin, measured as a third side.
 */

namespace KcMeetTest;

require_once dirname(__DIR__) . '/lib/Env.php';
require_once dirname(__DIR__) . '/lib/Db.php';
require_once dirname(__DIR__) . '/lib/Runner.php';
require_once dirname(__DIR__, 2) . '/bench/FastCgi.php';

// An account of this run's own: its statements are counted, and another run's must not be.
define(__NAMESPACE__ . '\\USER', 'kcm_pc_' . Env::runId());
const PASSWORD = 'kcmeet_pagecost_pw';

$n = (int) (getenv('KC_PAGE_COST_N') ?: 200);
$profileRounds = getenv('KC_PAGE_COST_PROFILE') !== false ? (int) getenv('KC_PAGE_COST_PROFILE') : 50;
$tmp = Env::tmp() . '/page-cost';
@mkdir($tmp, 0700, true);

function say(string $s): void {
	fwrite(STDERR, "[page-cost] $s\n");
}

function root_sql(string $sql): string {
	return trim((string) shell_exec('mysql --protocol=socket -uroot -N -e ' . escapeshellarg($sql) . ' 2>&1'));
}

function statements(): int {
	return (int) root_sql("SELECT SELECT_COMMANDS + UPDATE_COMMANDS + OTHER_COMMANDS FROM information_schema.USER_STATISTICS WHERE USER = '" . USER . "'");
}

function cpu_ns(int $pid): int {
	$sum = 0;
	foreach (glob("/proc/$pid/task/*/schedstat") ?: [] as $f) {
		$sum += (int) explode(' ', (string) @file_get_contents($f))[0];
	}
	return $sum;
}

function job(string $db, string $code): mixed {
	$r = Runner::run($db, ['code' => $code, 'user' => 1, 'admin' => true]);
	if (!$r->ok()) {
		throw new \RuntimeException($r->describe());
	}
	return $r->result();
}

$children = [];
$dbs = [];
register_shutdown_function(static function () use (&$children, &$dbs) {
	foreach ($children as $proc) {
		$st = proc_get_status($proc);
		if ($st['running']) {
			posix_kill($st['pid'], SIGTERM);
		}
		proc_close($proc);
	}
	if (!Env::keep()) {
		foreach ($dbs as $db) {
			Db::drop($db);
		}
		root_sql("DROP USER IF EXISTS '" . USER . "'@'localhost', '" . USER . "'@'127.0.0.1'");
	}
});

passthru('bash ' . escapeshellarg(Env::root() . '/tests/db-user.sh') . ' ' . USER . ' ' . PASSWORD);
$userstatWas = root_sql('SELECT @@userstat');
root_sql('SET GLOBAL userstat = 1');
register_shutdown_function(static fn() => root_sql('SET GLOBAL userstat = ' . ((int) $userstatWas)));

$with = $dbs[] = Db::cloneTemplate();
$without = $dbs[] = Db::cloneTemplate();
$settings = '$s = get_option("kiviCare_google_meet_setting", []); update_option("kiviCare_google_meet_setting", array_merge(is_array($s) ? $s : [], ["client_id" => "kc-page-cost.apps.googleusercontent.com", "client_secret" => "kc-page-cost-secret", "enabled" => true, "enableCal" => "Yes", "auth_type" => "oauth"])); return true;';
job($with, $settings);
job($without, $settings);
job($without, 'deactivate_plugins("kivicare-google-meet/kivicare-googlemeet.php", true); return get_option("active_plugins");');
$cookieCode = '$exp = time() + 3600; return AUTH_COOKIE . "=" . rawurlencode(wp_generate_auth_cookie(1, $exp, "auth")) . "; " . LOGGED_IN_COOKIE . "=" . rawurlencode(wp_generate_auth_cookie(1, $exp, "logged_in"));';
$cookies = [$with => job($with, $cookieCode), $without => job($without, $cookieCode)];
$sides = ['without' => $without, 'with' => $with];
// KC_PAGE_COST_BASELINE: another copy of the plugin (e.g. `git archive` of an older commit) to
// measure in the same run, in a third copy of the site.
$baselineSrc = (string) getenv('KC_PAGE_COST_BASELINE');
if ($baselineSrc !== '') {
	$dst = Env::wpDir() . '/wp-content/plugins/kivicare-google-meet-baseline';
	passthru('rm -rf ' . escapeshellarg($dst) . ' && cp -r ' . escapeshellarg($baselineSrc) . ' ' . escapeshellarg($dst));
	$baseline = $dbs[] = Db::cloneTemplate();
	job($baseline, $settings);
	job($baseline, 'deactivate_plugins("kivicare-google-meet/kivicare-googlemeet.php", true); return true;');
	job($baseline, '$r = activate_plugin("kivicare-google-meet-baseline/kivicare-googlemeet.php"); if (is_wp_error($r)) { throw new RuntimeException($r->get_error_message()); } return get_option("active_plugins");');
	$cookies[$baseline] = job($baseline, $cookieCode);
	$sides = ['without' => $without, 'baseline' => $baseline, 'with' => $with];
}

$s = stream_socket_server('tcp://127.0.0.1:0');
$port = (int) substr(stream_socket_get_name($s, false), strrpos(stream_socket_get_name($s, false), ':') + 1);
fclose($s);
$profileOut = "$tmp/profile.jsonl";
@unlink($profileOut);
$conf = "$tmp/php-fpm.conf";
file_put_contents($conf, implode("\n", [
	'[global]', "pid = $tmp/php-fpm.pid", "error_log = $tmp/php-fpm.log", 'daemonize = no',
	'[pagecost]', "listen = 127.0.0.1:$port",
	'pm = static', 'pm.max_children = 1', 'pm.max_requests = 0', 'clear_env = no', 'catch_workers_output = yes',
	'php_admin_value[extension] = ' . Env::ext(),
	'php_value[auto_prepend_file] = ' . __DIR__ . '/page-profile.php',
	'',
]));
$env = array_merge(getenv(), ['KC_MEET_DB_USER' => USER, 'KC_MEET_DB_PASSWORD' => PASSWORD, 'KC_PAGE_PROFILE_OUT' => $profileOut]);
$children[] = $fpm = proc_open(['php-fpm8.2', '-F', '-R', '-y', $conf], [1 => ['file', "$tmp/fpm.out", 'w'], 2 => ['file', "$tmp/fpm.err", 'w']], $pp, null, $env);
for ($i = 0; $i < 100; $i++) {
	$c = @stream_socket_client("tcp://127.0.0.1:$port", $e, $es, 0.2);
	if ($c) {
		fclose($c);
		break;
	}
	usleep(100000);
}
usleep(300000);
$master = proc_get_status($fpm)['pid'];
$worker = (int) explode(' ', trim((string) @file_get_contents("/proc/$master/task/$master/children")))[0];
$fcgi = new \FastCgi("tcp://127.0.0.1:$port");
$site = parse_url(Env::wpUrl());
$host = ['HTTP_HOST' => $site['host'] . ':' . $site['port'], 'SERVER_NAME' => $site['host'], 'SERVER_PORT' => (string) $site['port']];
$wp = Env::wpDir();

$pages = ['front-end' => ["$wp/index.php", '/', false], 'wp-admin' => ["$wp/wp-admin/index.php", '/wp-admin/index.php', true]];
foreach (array_filter(explode(',', (string) getenv('KC_PAGE_COST_URIS'))) as $uri) {
	$path = (string) parse_url($uri, PHP_URL_PATH);
	$pages[$uri] = [$wp . $path, $uri, str_starts_with($path, '/wp-admin/')];
}

$ask = static function (string $db, array $page, array $extra = []) use ($fcgi, $host, $cookies, $wp): array {
	[$script, $uri, $admin] = $page;
	// The script's path from the site's root, as a web server sends it: WordPress takes the admin
	// screen ($pagenow) from it.
	$paths = ['SCRIPT_NAME' => substr($script, strlen($wp)), 'DOCUMENT_ROOT' => $wp];
	$r = $fcgi->get($script, $uri, $paths + $host + ['HTTP_X_KC_TEST_DB' => $db] + ($admin ? ['HTTP_COOKIE' => $cookies[$db]] : []) + $extra);
	if ($r['status'] !== 200) {
		throw new \RuntimeException("$uri answered {$r['status']}: " . substr($r['body'], 0, 500) . substr($r['stderr'], 0, 500));
	}
	return $r;
};

printf("%-34s %s\n", 'page (worker CPU, median; statements)', implode('  ', array_map(static fn($s) => sprintf('%22s', $s), array_keys($sides))));
foreach ($pages as $name => $page) {
	$cpu = array_fill_keys(array_keys($sides), []);
	$stm = array_fill_keys(array_keys($sides), 0);
	for ($i = -5; $i < $n; $i++) {
		foreach ($sides as $side => $db) {
			$s0 = $i >= 0 ? statements() : 0;
			$c0 = cpu_ns($worker);
			$ask($db, $page);
			$c1 = cpu_ns($worker);
			if ($i >= 0) {
				$cpu[$side][] = ($c1 - $c0) / 1e6;
				$stm[$side] += statements() - $s0;
			}
		}
	}
	$med = [];
	foreach ($cpu as $side => $v) {
		sort($v);
		$med[$side] = $v[intdiv(count($v), 2)];
	}
	$cells = [];
	foreach ($sides as $side => $db) {
		$cells[] = sprintf('%22s', $side === 'without' ? sprintf('%.3f ms; %.1f', $med[$side], $stm[$side] / $n) : sprintf('%+.3f ms; %.1f', $med[$side] - $med['without'], $stm[$side] / $n));
	}
	printf("%-34s %s\n", $name, implode('  ', $cells));
}

if ($profileRounds <= 0) {
	exit(0);
}
// Phases of the request (between WordPress's main hooks), median µs per side.
$phases = [];
foreach ($sides as $side => $db) {
	foreach ($pages as $name => $page) {
		@unlink($profileOut);
		for ($i = 0; $i < $profileRounds; $i++) {
			$ask($db, $page, ['HTTP_X_KC_PROFILE' => '1']);
		}
		$runs = array_map(static fn($l) => json_decode($l, true), file($profileOut, FILE_IGNORE_NEW_LINES) ?: []);
		$k = count($runs);
		// Medians over the runs (wall time inside the worker: the median keeps preemption out).
		$median = static function (array $v): float {
			sort($v);
			return $v ? $v[intdiv(count($v), 2)] : 0.0;
		};
		$samples = [];
		$loads = [];
		foreach ($runs as $r) {
			foreach ($r['callbacks'] as $cname => $c) {
				$samples[$cname]['us'][] = $c['ns'] / 1e3;
				$samples[$cname]['calls'][] = $c['calls'];
			}
			$loads[] = ($r['file_ns'] ?? 0) / 1e3;
			$after = $r['file_after'] ?? '';
		}
		$load = $median($loads);
		$spans = [];
		foreach ($runs as $r) {
			$prev = null;
			foreach ($r['marks'] as [$mark, $t]) {
				if (str_starts_with($mark, 'plugin_loaded')) {
					continue;
				}
				if ($prev !== null) {
					$spans[$prev[0] . ' → ' . $mark][] = ($t - $prev[1]) / 1e3;
				}
				$prev = [$mark, $t];
			}
		}
		foreach ($spans as $span => $v) {
			$phases[$name][$span][$side] = $median($v);
		}
		if ($side === 'without') {
			continue;
		}
		$cb = [];
		foreach ($samples as $cname => $v) {
			$cb[$cname] = ['us' => $median($v['us']), 'calls' => array_sum($v['calls']) / $k];
		}
		uasort($cb, static fn($a, $b) => $b['us'] <=> $a['us']);
		printf("\nprofile of %s, %s (median of %d, inclusive µs):\n  %8.1f µs  plugin file (include + boot, after hook %s)\n", $side, $name, $k, $load, $after);
		$sum = $load;
		foreach ($cb as $cname => $c) {
			printf("  %8.1f µs  %s (%.1f calls)\n", $c['us'], $cname, $c['calls']);
			$sum += $c['us'];
		}
		printf("  %8.1f µs  sum (nested callbacks counted twice)\n", $sum);
		$last = end($runs);
		printf("  classes: %s\n  files: %d; wpdb statements %d\n", implode(' ', $last['classes']), count($last['files']), $last['statements']);
	}
}
foreach ($phases as $name => $spans) {
	printf("\nphases of %s (median µs):\n%-40s %s\n", $name, '', implode(' ', array_map(static fn($s) => sprintf('%10s', $s), array_keys($sides))));
	foreach ($spans as $span => $bySide) {
		printf("%-40s %s\n", $span, implode(' ', array_map(static fn($s) => sprintf('%10.1f', $bySide[$s] ?? 0), array_keys($sides))));
	}
}
