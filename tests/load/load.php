<?php
/**
 * Load: 8 PHP processes with the built extension run 2,000 mixed create / reschedule / cancel /
 * re-book operations on 200 telemedicine appointments of 4 doctors, with cron job runs and
 * syncs in between, real push notifications (the emulator posts to a `php -S` notify route that
 * calls kc_meet_handle_notification()), and Google faults injected at random (seeded). At the
 * end, after the jobs drain with Google healthy, the calendar must equal KiviCare exactly: one
 * live event per booked appointment, at its time, none else. Prints the figures; exits 1 when
 * the promise is broken.
 *
 *   php -d extension=target/release/libkc_meet.so tests/load/load.php [--seed=N] [--ops=2000]
 *       [--procs=8] [--appointments=200]
 *
 * It runs on a private MariaDB server (tests/php/lib/PrivateMariaDb.php), never the shared one.
 * Env: KC_MEET_EXT.
 */

require_once dirname(__DIR__) . '/php/lib/Emulator.php';
require_once dirname(__DIR__) . '/php/lib/KiviCare.php';
require_once dirname(__DIR__) . '/php/lib/PrivateMariaDb.php';

const DOCTORS = [2, 3, 5, 6];
/** Faults the workers throw at Google: all transient, so nothing may end up failed. */
const FAULTS = [
	['action' => 'status', 'status' => 500],
	['action' => 'status', 'status' => 503],
	['action' => 'status', 'status' => 429, 'headers' => ['Retry-After' => '1']],
	['action' => 'status', 'status' => 403, 'body' => ['error' => ['code' => 403, 'message' => 'Rate Limit Exceeded', 'errors' => [['domain' => 'usageLimits', 'reason' => 'rateLimitExceeded', 'message' => 'Rate Limit Exceeded']]]]],
	['action' => 'status', 'status' => 403, 'body' => ['error' => ['code' => 403, 'message' => 'User Rate Limit Exceeded', 'errors' => [['domain' => 'usageLimits', 'reason' => 'userRateLimitExceeded', 'message' => 'User Rate Limit Exceeded']]]]],
	['action' => 'reset'],
	['action' => 'reset_after'],
	['action' => 'delay', 'delay_s' => 2.5],
];
const FAULT_PATHS = [['POST', '/calendar/v3/calendars/'], ['PATCH', '/calendar/v3/calendars/'], ['DELETE', '/calendar/v3/calendars/'],
	['GET', '/calendar/v3/calendars/'], ['POST', '/token'], [null, '/calendar/v3/']];

/** KiviCare's own connection (what WordPress's $wpdb is) to the site's database. */
function site_db(array $site): mysqli {
	mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
	[$host, $port] = explode(':', $site['db_host']);
	return new mysqli($host, $site['db_user'], $site['db_password'], $site['db_name'], (int) $port);
}

function emu_call(string $base, string $method, string $path, ?array $body = null): array {
	$ch = curl_init($base . $path);
	curl_setopt_array($ch, [CURLOPT_CUSTOMREQUEST => $method, CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT => 30, CURLOPT_HTTPHEADER => ['Content-Type: application/json']]);
	if ($body !== null) {
		curl_setopt($ch, CURLOPT_POSTFIELDS, json_encode($body));
	}
	$out = curl_exec($ch);
	return json_decode((string) $out, true) ?? [];
}

// ------------------------------------------------------------------------- worker

function worker(int $n, string $site_file, int $seed, int $ops, array $ids): void {
	$cfg = json_decode((string) file_get_contents($site_file), true);
	kc_meet_configure($cfg['site']);
	$m = site_db($cfg['site']);
	mt_srand($seed * 1000 + $n);
	$stats = ['ops' => [], 'states' => [], 'faults' => 0, 'errors' => [], 'unexpected' => []];
	for ($i = 0; $i < $ops; $i++) {
		if (mt_rand(1, 100) <= 5) {
			$f = FAULTS[mt_rand(0, count(FAULTS) - 1)];
			[$method, $path] = FAULT_PATHS[mt_rand(0, count(FAULT_PATHS) - 1)];
			emu_call($cfg['emu'], 'POST', '/__emu/faults', $f + ['method' => $method, 'path' => $path, 'times' => mt_rand(1, 8)]);
			$stats['faults']++;
		}
		$id = $ids[mt_rand(0, count($ids) - 1)];
		$roll = mt_rand(1, 100);
		try {
			if ($roll <= 3) {
				$op = 'cron';
				$r = kc_meet_run_jobs(20, 4.0);
			} elseif ($roll <= 5) {
				$op = 'sync';
				$r = kc_meet_sync(['doctor_id' => DOCTORS[mt_rand(0, count(DOCTORS) - 1)], 'budget_s' => 3.0]);
			} else {
				$status = (int) $m->query("SELECT status FROM wp_kc_appointments WHERE id = $id")->fetch_row()[0];
				if ($status === 0) {
					$op = 'rebook';
					kc_test_set_row($m, $id, 1, mt_rand(0, 1999));
					$r = kc_meet_create_event($id);
				} elseif ($roll <= 35) {
					$op = 'create';
					$r = kc_meet_create_event($id);
				} elseif ($roll <= 75) {
					$op = 'reschedule';
					kc_test_set_row($m, $id, null, mt_rand(0, 1999));
					$r = kc_meet_update_event($id);
				} else {
					$op = 'cancel';
					kc_test_set_row($m, $id, 0, null);
					$r = mt_rand(0, 1) ? kc_meet_update_event($id) : kc_meet_delete_event($id);
				}
				$stats['states'][$r['state']] = ($stats['states'][$r['state']] ?? 0) + 1;
			}
		} catch (KcMeet\Exception $e) {
			// A clear, coded error is allowed (the job shows it); count it by code.
			$k = get_class($e) . ' ' . $e->getCode() . ': ' . substr($e->getMessage(), 0, 120);
			$stats['errors'][$k] = ($stats['errors'][$k] ?? 0) + 1;
		} catch (Throwable $e) {
			$stats['unexpected'][] = get_class($e) . ': ' . substr($e->getMessage(), 0, 200);
		}
		$stats['ops'][$op] = ($stats['ops'][$op] ?? 0) + 1;
	}
	echo json_encode($stats), "\n";
}

// ------------------------------------------------------------------------- notify route (php -S)

if (PHP_SAPI === 'cli-server') {
	$cfg = json_decode((string) file_get_contents(getenv('KC_LOAD_SITE')), true);
	kc_meet_configure($cfg['site']);
	$h = [];
	foreach ($_SERVER as $k => $v) {
		if (str_starts_with($k, 'HTTP_')) {
			$h[str_replace('_', '-', substr($k, 5))] = $v;
		}
	}
	try {
		$r = kc_meet_handle_notification($h);
		http_response_code((int) $r['status']);
	} catch (Throwable $e) {
		http_response_code(500);
	}
	return true;
}

// ------------------------------------------------------------------------- orchestrator

$ext = getenv('KC_MEET_EXT') ?: dirname(__DIR__, 2) . '/target/release/libkc_meet.so';
if (($w = kc_test_arg('worker', null)) !== null) {
	worker((int) $w, kc_test_arg('site', ''), (int) kc_test_arg('seed', 1), (int) kc_test_arg('ops', 0), array_map('intval', explode(',', kc_test_arg('ids', ''))));
	exit(0);
}
if (!extension_loaded('kc_meet')) {
	fwrite(STDERR, "run with php -d extension=target/release/libkc_meet.so\n");
	exit(2);
}
$seed = (int) kc_test_arg('seed', random_int(1, 1_000_000));
$total_ops = (int) kc_test_arg('ops', 2000);
$procs = (int) kc_test_arg('procs', 8);
$n_appts = (int) kc_test_arg('appointments', 200);
printf("load: seed %d (rerun with --seed=%d), %d operations, %d processes, %d appointments\n", $seed, $seed, $total_ops, $procs, $n_appts);
mt_srand($seed);

// A private MariaDB: 8 workers and the push route open many connections, which the machine's
// shared server (other suites use it) must not run out of.
$pdb = new PrivateMariaDb(600);
$dbname = 'kcm_load';
$pdb->connect()->query("CREATE DATABASE `$dbname`");
$tmp = $pdb->dir;
$server = null;
$emu = new Emulator();
$failed = true;
try {
	$m = $pdb->connect($dbname);
	kc_test_site_db($m, DOCTORS, DOCTORS);

	$port = PrivateMariaDb::freePort();
	$site = kc_test_site_config($pdb, $dbname, $emu, ['notify_url' => "http://127.0.0.1:$port/notify", 'encryption_key' => 'load test key']);
	$site_file = "$tmp/site.json";
	file_put_contents($site_file, json_encode(['site' => $site, 'emu' => $emu->base]));
	kc_meet_configure($site);
	kc_meet_migrate();
	$emu->post('/__emu/config', ['allow_http_webhooks' => true]);
	// In a session of its own (setsid execs in place, so its pid names the group): the server's
	// forked workers are ended with it, not left behind.
	$server = proc_open(['setsid', PHP_BINARY, '-d', "extension=$ext", '-S', "127.0.0.1:$port", __FILE__],
		[0 => ['file', '/dev/null', 'r'], 1 => ['file', "$tmp/notify.log", 'a'], 2 => ['file', "$tmp/notify.log", 'a']],
		$pipes, null, ['KC_LOAD_SITE' => $site_file, 'PHP_CLI_SERVER_WORKERS' => '3'] + getenv());
	for ($i = 0; $i < 50 && !@fsockopen('127.0.0.1', $port); $i++) {
		usleep(100_000);
	}
	foreach (DOCTORS as $d) {
		$q = $emu->consent(kc_meet_auth_url($d, $d), "doc$d@gmail.example");
		kc_meet_connect($d, $q['code'], $q['state']);
	}
	kc_meet_renew_channels();
	$channels = count(kc_meet_channels()['channels']);
	$ids = [];
	for ($i = 0; $i < $n_appts; $i++) {
		[$s, $e] = kc_test_slot(mt_rand(0, 1999));
		$ids[] = $id = kc_test_book($m, DOCTORS[$i % count(DOCTORS)], $s, $e);
		kc_meet_create_event($id); // booked the way KiviCare books: the event made at once
	}

	$t0 = microtime(true);
	$workers = [];
	for ($w = 0; $w < $procs; $w++) {
		$share = intdiv($total_ops, $procs) + ($w < $total_ops % $procs ? 1 : 0);
		$workers[] = proc_open([PHP_BINARY, '-d', "extension=$ext", '-d', 'memory_limit=256M', __FILE__, "--worker=$w", "--site=$site_file", "--seed=$seed", "--ops=$share", '--ids=' . implode(',', $ids)],
			[1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $p);
		$workers[count($workers) - 1] = [$workers[count($workers) - 1], $p];
	}
	$sum = ['ops' => [], 'states' => [], 'faults' => 0, 'errors' => [], 'unexpected' => []];
	foreach ($workers as $i => [$proc, $p]) {
		$out = stream_get_contents($p[1]);
		$err = stream_get_contents($p[2]);
		$code = proc_close($proc);
		$s = json_decode(trim($out), true);
		if ($code !== 0 || !is_array($s)) {
			$sum['unexpected'][] = "worker $i exited $code: " . substr($out . $err, 0, 500);
			continue;
		}
		foreach (['ops', 'states', 'errors'] as $k) {
			foreach ($s[$k] as $name => $n) {
				$sum[$k][$name] = ($sum[$k][$name] ?? 0) + $n;
			}
		}
		$sum['faults'] += $s['faults'];
		$sum['unexpected'] = array_merge($sum['unexpected'], $s['unexpected']);
	}
	$t_ops = microtime(true) - $t0;

	// Google healthy again; cron ticks until nothing is queued (each tick makes every queued
	// job due, as time passing would), pushes settle, one last sync round.
	$emu->call('DELETE', '/__emu/faults');
	sleep(3); // delayed requests still in flight at Google land first
	$drains = kc_test_drain_jobs($m);
	kc_meet_sync(['budget_s' => 30.0]);
	$wall = microtime(true) - $t0;

	// The calendar against KiviCare.
	$calendars = [];
	foreach (DOCTORS as $d) {
		$calendars[$d] = "doc$d@gmail.example";
	}
	[$fig, $problems] = kc_test_calendar($m, $emu->base, $calendars);
	$jobs = $m->query('SELECT state, COUNT(*) FROM wp_kc_meet_jobs GROUP BY state')->fetch_all();
	$deliveries = $emu->call('GET', '/__emu/deliveries')['deliveries'];
	$pushes = ['sent' => count($deliveries), 'answered_2xx' => count(array_filter($deliveries, static fn($d) => ($d['status'] ?? 0) >= 200 && ($d['status'] ?? 0) < 300))];
	$google = count($emu->requests());

	printf("operations: %d (%s)\n", array_sum($sum['ops']), json_encode($sum['ops']));
	printf("results: %s\n", json_encode($sum['states']));
	printf("faults injected: %d; coded errors thrown: %d %s\n", $sum['faults'], array_sum($sum['errors']), $sum['errors'] ? json_encode($sum['errors']) : '');
	printf("push channels: %d; push messages: %s; Google requests: %d\n", $channels, json_encode($pushes), $google);
	printf("jobs left: %s after %d drain rounds\n", json_encode($jobs), $drains);
	printf("booked: %d, live events: %d, duplicates: %d, lost: %d, wrong time: %d, wrong doctor: %d, orphans: %d\n",
		$fig['booked'], $fig['events'], $fig['duplicates'], $fig['lost'], $fig['wrong_time'], $fig['wrong_doctor'], $fig['orphans']);
	printf("wall time: %.1f s (operations %.1f s, %.0f ops/s)\n", $wall, $t_ops, array_sum($sum['ops']) / max($t_ops, 0.001));
	foreach (array_slice($problems, 0, 30) as $p) {
		echo "  PROBLEM: $p\n";
	if (preg_match('/appointment (\d+)/', $p, $mm) && ($explained = ($explained ?? 0) + 1) <= 3) {
		kc_test_explain((int) $mm[1]);
	}
	}
	foreach (array_slice($sum['unexpected'], 0, 10) as $u) {
		echo "  UNEXPECTED: $u\n";
	}
	$failed = $problems || $sum['unexpected'] || $jobs || array_sum($sum['ops']) !== $total_ops;
	echo $failed ? "load: FAILED\n" : "load: ok\n";
} finally {
	if ($server) {
		$pid = proc_get_status($server)['pid'];
		posix_kill(-$pid, SIGTERM);
		proc_close($server);
	}
}
exit($failed ? 1 : 0);
