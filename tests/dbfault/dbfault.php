<?php
/**
 * Database faults: MariaDB is restarted in the middle of a run, once cleanly and once by a crash
 * (SIGKILL), while a long-lived PHP worker (as a PHP-FPM worker is) books, reschedules, cancels
 * and re-books telemedicine appointments and runs jobs. The server is a private one
 * (tests/php/lib/PrivateMariaDb.php): own data directory, port and socket, never the machine's
 * shared server.
 *
 * Pass: the worker's extension reconnects by itself after each restart (no new process, no
 * reconfiguration), every call it retried after a KcMeet\DatabaseException went through, and at
 * the end, after the jobs drain, nothing is lost or doubled: every booked appointment has exactly
 * one event at its time and a mapping row naming it; cancelled ones have none.
 *
 *   php -d extension=target/release/libkc_meet.so tests/dbfault/dbfault.php [--seed=N]
 */

require_once dirname(__DIR__) . '/php/lib/Emulator.php';
require_once dirname(__DIR__) . '/php/lib/KiviCare.php';
require_once dirname(__DIR__) . '/php/lib/PrivateMariaDb.php';

const DOCTOR = 2;
const ACCOUNT = 'doc2@gmail.example';
/** How long a call is retried while the server is down (a restart takes a few seconds). */
const RETRY_FOR_S = 60;

/**
 * Retries $call while the database is away. Returns [result, database errors seen].
 * Only database errors are retried: anything else is a failure of the run.
 */
function retry_db(callable $call): array {
	$errors = 0;
	$until = microtime(true) + RETRY_FOR_S;
	while (true) {
		try {
			return [$call(), $errors];
		} catch (KcMeet\DatabaseException | mysqli_sql_exception $e) {
			$errors++;
			if (microtime(true) > $until) {
				throw $e;
			}
			usleep(200_000);
		}
	}
}

// ------------------------------------------------------------------------- worker

function worker(array $cfg, string $stop_file, int $seed): void {
	kc_meet_configure($cfg['site']);
	mt_srand($seed);
	[$host, $port] = explode(':', $cfg['site']['db_host']);
	$m = null;
	$kivicare = static function (callable $write) use (&$m, $host, $port, $cfg) {
		// KiviCare's own connection ($wpdb): reconnects when the server went away.
		return retry_db(static function () use (&$m, $write, $host, $port, $cfg) {
			try {
				$m ??= new mysqli($host, $cfg['site']['db_user'], $cfg['site']['db_password'], $cfg['site']['db_name'], (int) $port);
				return $write($m);
			} catch (mysqli_sql_exception $e) {
				$m = null;
				throw $e;
			}
		});
	};
	$stats = ['ops' => 0, 'extension_db_errors' => 0, 'kivicare_db_errors' => 0, 'ok_after_error' => 0, 'codes' => [], 'unexpected' => []];
	$ids = $cfg['ids'];
	$trail = [];
	while (!file_exists($stop_file) || $stats['ops'] < 50) {
		$id = $ids[mt_rand(0, count($ids) - 1)];
		try {
			$roll = mt_rand(1, 100);
			[$status, $e1] = $roll <= 25 ? [-1, 0] : $kivicare(static fn(mysqli $m) => (int) $m->query("SELECT status FROM wp_kc_appointments WHERE id = $id")->fetch_row()[0]);
			if ($roll <= 25) {
				// KiviCare's "save" again without a change (the extension's own reads and writes only).
				$op = 'update';
				$e2 = 0;
				$call = static fn() => kc_meet_update_event($id);
			} elseif ($status === 0) {
				$op = 'rebook';
				[, $e2] = $kivicare(static fn(mysqli $m) => kc_test_set_row($m, $id, 1, mt_rand(0, 1999)));
				$call = static fn() => kc_meet_create_event($id);
			} elseif ($roll <= 35) {
				$op = 'cron';
				$e2 = 0;
				$call = static fn() => kc_meet_run_jobs(20, 4.0);
			} elseif ($roll <= 70) {
				$op = 'reschedule';
				[, $e2] = $kivicare(static fn(mysqli $m) => kc_test_set_row($m, $id, null, mt_rand(0, 1999)));
				$call = static fn() => kc_meet_update_event($id);
			} else {
				$op = 'cancel';
				[, $e2] = $kivicare(static fn(mysqli $m) => kc_test_set_row($m, $id, 0, null));
				$call = static fn() => kc_meet_delete_event($id);
			}
			$stats['kivicare_db_errors'] += $e1 + $e2;
			[$result, $errors] = retry_db(static function () use ($call, &$stats) {
				try {
					return $call();
				} catch (KcMeet\DatabaseException $e) {
					$stats['codes'][$e->getCode()] = ($stats['codes'][$e->getCode()] ?? 0) + 1;
					throw $e;
				}
			});
			$stats['extension_db_errors'] += $errors;
			$trail[] = sprintf("%.3f %d %s status-before %d: %s (%d database errors)\n", microtime(true), $id, $op, $status, $result['state'] ?? json_encode($result), $errors);
			if ($errors > 0) {
				$stats['ok_after_error']++;
			}
		} catch (Throwable $e) {
			$stats['unexpected'][] = get_class($e) . ' ' . $e->getCode() . ': ' . substr($e->getMessage(), 0, 200);
		}
		$stats['ops']++;
		usleep(20_000);
	}
	file_put_contents(dirname($stop_file) . '/trail.log', implode('', $trail));
	echo json_encode($stats), "\n";
}

// ------------------------------------------------------------------------- orchestrator

$ext = getenv('KC_MEET_EXT') ?: dirname(__DIR__, 2) . '/target/release/libkc_meet.so';
if (kc_test_arg('worker', null) !== null) {
	worker(json_decode((string) file_get_contents(kc_test_arg('site', '')), true), kc_test_arg('stop', ''), (int) kc_test_arg('seed', 1));
	exit(0);
}
if (!extension_loaded('kc_meet')) {
	fwrite(STDERR, "run with php -d extension=target/release/libkc_meet.so\n");
	exit(2);
}
$seed = (int) kc_test_arg('seed', random_int(1, 1_000_000));
printf("dbfault: seed %d (rerun with --seed=%d)\n", $seed, $seed);
mt_srand($seed);
$t0 = microtime(true);
$pdb = new PrivateMariaDb();
$emu = new Emulator();
$pdb->connect()->query('CREATE DATABASE kcm_dbfault');
$m = $pdb->connect('kcm_dbfault');
kc_test_site_db($m, [DOCTOR], [DOCTOR]);
$site = kc_test_site_config($pdb, 'kcm_dbfault', $emu, ['encryption_key' => 'db fault test key']);
kc_meet_configure($site);
kc_meet_migrate();
$q = $emu->consent(kc_meet_auth_url(DOCTOR, DOCTOR), ACCOUNT);
kc_meet_connect(DOCTOR, $q['code'], $q['state']);
$ids = [];
for ($i = 0; $i < 30; $i++) {
	[$s, $e] = kc_test_slot(mt_rand(0, 1999));
	$ids[] = $id = kc_test_book($m, DOCTOR, $s, $e);
	kc_meet_create_event($id); // booked the way KiviCare books: the event made at once
}
$m->close();
file_put_contents("$pdb->dir/site.json", json_encode(['site' => $site, 'ids' => $ids]));
$stop = "$pdb->dir/stop";
$worker = proc_open([PHP_BINARY, '-d', "extension=$ext", __FILE__, '--worker=1', "--site=$pdb->dir/site.json", "--stop=$stop", "--seed=$seed"],
	[1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);

$restarts = [];
foreach (['clean shutdown' => false, 'crash (SIGKILL)' => true] as $how => $crash) {
	sleep(2);
	$t = microtime(true);
	$pdb->stop($crash);
	sleep(1); // the worker keeps trying meanwhile
	$pdb->start();
	$restarts[] = sprintf('%s: down %.1f s', $how, microtime(true) - $t);
}
sleep(2);
touch($stop);
$out = stream_get_contents($pipes[1]);
$err = stream_get_contents($pipes[2]);
$code = proc_close($worker);
$stats = json_decode(trim($out), true);

// The orchestrator's own extension instance lived through both restarts too: it drains the jobs.
$m = $pdb->connect('kcm_dbfault');
[$drains, $drain_errors] = retry_db(static fn() => kc_test_drain_jobs($m));
[$fig, $problems] = kc_test_calendar($m, $emu->base, [DOCTOR => ACCOUNT]);
$unmapped = $m->query("SELECT a.id FROM wp_kc_appointments a LEFT JOIN wp_kc_appointment_google_meet_mappings g ON g.appointment_id = a.id
	WHERE a.status <> 0 AND (g.event_id IS NULL OR g.url = '')")->fetch_all();
foreach ($unmapped as [$id]) {
	$problems[] = "appointment $id is booked, but KiviCare has no Meet link for it (mapping row)";
}
$jobs = $m->query('SELECT state, COUNT(*) FROM wp_kc_meet_jobs GROUP BY state')->fetch_all();
$health = kc_meet_health();

printf("restarts: %s\n", implode('; ', $restarts));
if (!is_array($stats)) {
	echo "worker exited $code without a report: ", substr($out . $err, 0, 1000), "\n";
	exit(1);
}
printf("worker: %d operations; database errors the extension threw: %d %s; KiviCare's own writes that failed: %d; calls that went through on retry: %d\n",
	$stats['ops'], $stats['extension_db_errors'], json_encode($stats['codes']), $stats['kivicare_db_errors'], $stats['ok_after_error']);
printf("drain: %d rounds (%d database errors); jobs left: %s; health: db reachable %s\n", $drains, $drain_errors, json_encode($jobs), json_encode($health['db']['reachable'] ?? null));
printf("booked: %d, live events: %d, duplicates: %d, lost: %d, wrong time: %d, orphans: %d\n",
	$fig['booked'], $fig['events'], $fig['duplicates'], $fig['lost'], $fig['wrong_time'], $fig['orphans']);
printf("wall time: %.1f s\n", microtime(true) - $t0);
foreach (array_slice($problems, 0, 30) as $p) {
	echo "  PROBLEM: $p\n";
	if (preg_match('/appointment (\d+)/', $p, $mm) && ($explained = ($explained ?? 0) + 1) <= 3) {
		kc_test_explain((int) $mm[1]);
		foreach (file("$pdb->dir/trail.log") ?: [] as $line) {
			if (explode(' ', $line)[1] === $mm[1]) {
				echo "      worker: $line";
			}
		}
	}
}
foreach (array_slice($stats['unexpected'], 0, 10) as $u) {
	echo "  UNEXPECTED: $u\n";
}
$failed = $code !== 0 || $problems || $stats['unexpected'] || $jobs || ($health['db']['reachable'] ?? false) !== true
	// The run must really have hit the restarts, else it proved nothing.
	|| $stats['extension_db_errors'] + $stats['kivicare_db_errors'] === 0;
echo $failed ? "dbfault: FAILED\n" : "dbfault: ok\n";
exit($failed ? 1 : 0);
