<?php
/**
 * `./build.sh bench`, side by side in one run: kc-meet (the extension through the plugin) against
 * the PHP way (tests/bench/PhpWay.php: WordPress HTTP API + $wpdb), both inside WordPress run by
 * php-fpm (one static worker, driven over FastCGI by tests/bench/FastCgi.php as a web server
 * would), Google over HTTPS on loopback (the emulator with its own CA), real MariaDB.
 *
 * Started by tests/wordpress/run.sh with KC_MEET_WP_BENCH=1 (its scratch WordPress, template
 * database with KiviCare's tables and the plugin active, environment). Prints the table and
 * writes target/bench/bench.json.
 *
 * Sizes (environment): KC_MEET_BENCH_APPOINTMENTS (operations per kind, default 100),
 * KC_MEET_BENCH_PAGES (page views per side, default 100), KC_MEET_BENCH_SYNC_EVENTS (calendar
 * sizes, default 10000), KC_MEET_BENCH_FLOOR (floor rounds, default 50),
 * KC_MEET_BENCH_STARTUP_RUNS (PHP start-ups per side, default 40); KC_MEET_BENCH_OUT is the
 * output folder (default target/bench). The smoke run of `./build.sh test` sets them tiny.
 *
 * Statements are the server's own counts (information_schema.USER_STATISTICS of a MariaDB account
 * only this run uses, dropped at its end, so runs on one server do not count each other's
 * statements; WordPress's bootstrap queries, measured by a no-op request, subtracted). Round trips
 * are the server's too: its general log (one entry per command a client sends, a multi-statement
 * query being one), on only while a few extra operations of each kind run after the timed ones, so
 * that it costs the timed ones nothing.
 */

namespace KcMeetTest;

require_once dirname(__DIR__) . '/wordpress/lib/Env.php';
require_once dirname(__DIR__) . '/wordpress/lib/Db.php';
require_once __DIR__ . '/FastCgi.php';

const CLIENT_ID = 'kc-bench-client.apps.googleusercontent.com';
const CLIENT_SECRET = 'kc-bench-client-secret';
/** This run's own account (USER_STATISTICS counts per account). */
define('KcMeetTest\\BENCH_USER', 'kcmeet_bench_' . getmypid());
const BENCH_PASSWORD = 'kcmeet_bench_pw';

$n = (int) (getenv('KC_MEET_BENCH_APPOINTMENTS') ?: 100);
$pages = (int) (getenv('KC_MEET_BENCH_PAGES') ?: 100);
$root = Env::root();
$tmp = Env::tmp() . '/bench';
@mkdir($tmp, 0700, true);
$floorRounds = (int) (getenv('KC_MEET_BENCH_FLOOR') ?: 50);
$startupRuns = (int) (getenv('KC_MEET_BENCH_STARTUP_RUNS') ?: 40);
$out = getenv('KC_MEET_BENCH_OUT') ?: $root . '/target/bench';
@mkdir("$out/logs", 0755, true);
$children = [];
register_shutdown_function(static function () use (&$children) {
	foreach ($children as $proc) {
		$st = proc_get_status($proc);
		if ($st['running']) {
			posix_kill($st['pid'], SIGTERM);
		}
		proc_close($proc);
	}
});

function say(string $s): void {
	fwrite(STDERR, "[bench] $s\n");
}

function root_sql(string $sql): string {
	return trim((string) shell_exec('mysql --protocol=socket -uroot -N -e ' . escapeshellarg($sql) . ' 2>&1'));
}

/**
 * A global server setting this run needs changed (USER_STATISTICS on, the general log written to
 * its table), shared with overlapping runs: the value from before the first of them is kept in a
 * file with the runs that hold it, and put back by the last one to let go. A run that died
 * without letting go (its process is gone) no longer holds it, so nothing stays changed for good.
 */
final class ServerSetting {
	private string $file;

	public function __construct(private string $name, private string $value) {
		$this->file = sys_get_temp_dir() . "/kc-meet-bench-setting-$name.json";
	}

	public function hold(): void {
		$this->update(function (array $s): array {
			$s['was'] ??= root_sql("SELECT @@GLOBAL.{$this->name}");
			$s['holders'][] = getmypid();
			root_sql("SET GLOBAL {$this->name} = " . self::literal($this->value));
			return $s;
		});
	}

	/** Lets go (again: harmless); the last run out puts the value back. */
	public function release(): void {
		$this->update(function (array $s): array {
			$s['holders'] = array_values(array_diff($s['holders'], [getmypid()]));
			if (!$s['holders'] && $s['was'] !== null) {
				root_sql("SET GLOBAL {$this->name} = " . self::literal($s['was']));
				$s['was'] = null;
			}
			return $s;
		});
	}

	private static function literal(string $v): string {
		return ctype_digit($v) ? $v : "'" . addslashes($v) . "'";
	}

	private function update(callable $change): void {
		$fh = fopen($this->file, 'c+');
		flock($fh, LOCK_EX);
		$s = json_decode((string) stream_get_contents($fh), true) ?: ['was' => null, 'holders' => []];
		$s['holders'] = array_values(array_filter($s['holders'], static fn($pid) => posix_kill((int) $pid, 0)));
		$s = $change($s);
		ftruncate($fh, 0);
		rewind($fh);
		fwrite($fh, json_encode($s));
		fflush($fh);
		flock($fh, LOCK_UN);
		fclose($fh);
	}
}

/** Round trips this run's account has made so far (the general log must be on: see ServerSetting). */
function round_trips(): int {
	return (int) root_sql("SELECT COUNT(*) FROM mysql.general_log WHERE SUBSTRING_INDEX(user_host, '[', 1) = '" . BENCH_USER . "' AND command_type NOT IN ('Close stmt', 'Quit')");
}

function free_port(): int {
	$s = stream_socket_server('tcp://127.0.0.1:0');
	$name = stream_socket_get_name($s, false);
	fclose($s);
	return (int) substr($name, strrpos($name, ':') + 1);
}

/** The bench account's statement and connection counters (USER_STATISTICS). */
function user_stats(): array {
	$row = explode("\t", root_sql("SELECT SELECT_COMMANDS + UPDATE_COMMANDS + OTHER_COMMANDS, TOTAL_CONNECTIONS FROM information_schema.USER_STATISTICS WHERE USER = '" . BENCH_USER . "'"));
	return ['statements' => (int) ($row[0] ?? 0), 'connections' => (int) ($row[1] ?? 0)];
}

/** CPU time (ns) a process has run, from /proc (all threads). */
function proc_cpu_ns(int $pid): int {
	$sum = 0;
	foreach (glob("/proc/$pid/task/*/schedstat") ?: [] as $f) {
		$sum += (int) explode(' ', (string) @file_get_contents($f))[0];
	}
	return $sum;
}

// ------------------------------------------------------------------ Google emulator over HTTPS
say('TLS certificate and HTTPS Google emulator');
// A CA and a server certificate it signed (rustls, like Google's clients, refuses a CA
// certificate as a server's own).
$ca = "$tmp/ca.pem";
$cert = "$tmp/srv.pem";
$key = "$tmp/srv.key";
$sh = 'cd ' . escapeshellarg($tmp) . ' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=kc-bench-ca 2>/dev/null'
	. ' && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr -subj /CN=127.0.0.1 2>/dev/null'
	. " && printf 'subjectAltName=IP:127.0.0.1\\n' > ext.cnf"
	. ' && openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext.cnf 2>/dev/null';
exec($sh, $o, $rc);
if ($rc !== 0) {
	throw new \RuntimeException('openssl failed');
}
@unlink("$tmp/emu.ready");
$children[] = proc_open(['python3', "$root/tests/emulator/google_emulator.py", '--port', '0', '--tls-cert', $cert, '--tls-key', $key, '--ready-file', "$tmp/emu.ready"], [1 => ['file', '/dev/null', 'w'], 2 => ['file', "$out/logs/emulator.log", 'w']], $pp);
for ($i = 0; $i < 100 && !is_file("$tmp/emu.ready"); $i++) {
	usleep(100000);
}
$emuUrl = trim((string) @file_get_contents("$tmp/emu.ready"));
if (!str_starts_with($emuUrl, 'https://')) {
	throw new \RuntimeException('the HTTPS emulator did not start');
}
/** The emulator's control API (as tests/wordpress/lib/Emulator.php), trusting the emulator's CA. */
$emu = new class($emuUrl, $ca) {
	public function __construct(private string $base, private string $ca) {
	}
	public function call(string $method, string $path, $data = null): array {
		$c = curl_init($this->base . $path);
		curl_setopt_array($c, [CURLOPT_RETURNTRANSFER => true, CURLOPT_CUSTOMREQUEST => $method, CURLOPT_CAINFO => $this->ca, CURLOPT_TIMEOUT => 60, CURLOPT_HTTPHEADER => ['Content-Type: application/json']]
			+ ($data !== null ? [CURLOPT_POSTFIELDS => json_encode($data)] : []));
		$body = (string) curl_exec($c);
		$r = json_decode($body, true);
		if (!is_array($r)) {
			throw new \RuntimeException("emulator $method $path: " . substr($body, 0, 300) . curl_error($c));
		}
		$r['_status'] = curl_getinfo($c, CURLINFO_RESPONSE_CODE);
		return $r;
	}
	public function registerClient(string $id, string $secret, array $uris): void {
		$this->call('POST', '/__emu/clients', ['client_id' => $id, 'client_secret' => $secret, 'redirect_uris' => $uris]);
	}
	public function authorize(string $authUrl, string $email): array {
		return $this->call('POST', '/__emu/authorize', ['auth_url' => $authUrl, 'decision' => 'allow', 'email' => $email]);
	}
	public function mintCode(string $clientId, string $email, array $scopes): string {
		return $this->call('POST', '/__emu/mint_code', ['client_id' => $clientId, 'email' => $email, 'scopes' => $scopes, 'redirect_uri' => 'postmessage'])['code'];
	}
	public function requests(): array {
		return $this->call('GET', '/__emu/requests')['requests'];
	}
};

// ------------------------------------------------------------------ databases and the bench account
say('MariaDB: bench account, statistics, two copies of the test site');
passthru('bash ' . escapeshellarg("$root/tests/db-user.sh") . ' ' . BENCH_USER . ' ' . BENCH_PASSWORD);
$userstat = new ServerSetting('userstat', '1');
$logOutput = new ServerSetting('log_output', 'FILE,TABLE');
$generalLog = new ServerSetting('general_log', '1');
$userstat->hold();
register_shutdown_function(static function () use ($userstat, $logOutput, $generalLog) {
	foreach (['localhost', '127.0.0.1'] as $host) {
		root_sql("DROP USER IF EXISTS '" . BENCH_USER . "'@'$host'");
	}
	foreach ([$generalLog, $logOutput, $userstat] as $setting) {
		$setting->release();
	}
});
$dbWith = Db::cloneTemplate();
$dbWithout = Db::cloneTemplate();

// ------------------------------------------------------------------ php-fpm
say('php-fpm (one static worker, the extension, opcache as shipped)');
$fpmPort = free_port();
$ext = Env::ext();
$conf = "$tmp/php-fpm.conf";
file_put_contents($conf, implode("\n", [
	'[global]', "pid = $tmp/php-fpm.pid", "error_log = $out/logs/php-fpm.log", 'daemonize = no',
	// Workers run as the bench's user (-R): the extension and the CA live in its private folder.
	'[bench]', "listen = 127.0.0.1:$fpmPort",
	'pm = static', 'pm.max_children = 1', 'pm.max_requests = 0', 'clear_env = no', 'catch_workers_output = yes',
	'request_terminate_timeout = 600',
	"php_admin_value[extension] = $ext",
	'php_admin_value[memory_limit] = 1024M',
	'php_admin_value[max_execution_time] = 600',
	'php_value[auto_prepend_file] = ' . __DIR__ . '/prepend.php',
	'',
]));
$env = array_merge(getenv(), [
	'KC_MEET_EMU_URL' => $emuUrl, 'KC_BENCH_CA' => $ca,
	'KC_BENCH_CLIENT_ID' => CLIENT_ID, 'KC_BENCH_CLIENT_SECRET' => CLIENT_SECRET,
	'KC_MEET_DB_USER' => BENCH_USER, 'KC_MEET_DB_PASSWORD' => BENCH_PASSWORD,
]);
$fpm = proc_open(['php-fpm8.2', '-F', '-R', '-y', $conf], [1 => ['file', "$out/logs/php-fpm.out", 'w'], 2 => ['file', "$out/logs/php-fpm.err", 'w']], $pp, null, $env);
$children[] = $fpm;
$fcgi = new \FastCgi("tcp://127.0.0.1:$fpmPort");
// The site's own host and port, so WordPress serves pages instead of redirecting to its URL.
$site = parse_url(Env::wpUrl());
$hostParams = ['HTTP_HOST' => $site['host'] . ':' . $site['port'], 'SERVER_NAME' => $site['host'], 'SERVER_PORT' => (string) $site['port']];
$endpoint = __DIR__ . '/endpoint.php';
$wp = Env::wpDir();
for ($i = 0; $i < 100; $i++) {
	$s = @stream_socket_client("tcp://127.0.0.1:$fpmPort", $e, $es, 0.2);
	if ($s) {
		fclose($s);
		break;
	}
	usleep(100000);
}
$call = static function (string $db, array $q) use ($fcgi, $endpoint, $hostParams): array {
	$r = $fcgi->get($endpoint, '/kc-bench.php?' . http_build_query($q), ['HTTP_X_KC_TEST_DB' => $db] + $hostParams);
	$j = json_decode($r['body'], true);
	if (!is_array($j) || empty($j['ok'])) {
		throw new \RuntimeException('bench endpoint ' . json_encode(array_diff_key($q, ['code' => 1, 'state' => 1])) . ': HTTP ' . $r['status'] . ' ' . substr($r['body'], 0, 2000) . ' ' . substr($r['stderr'], 0, 2000));
	}
	$j['fcgi_wall_ms'] = $r['wall_s'] * 1000;
	return $j;
};
$workerPid = static function () use ($fpm): int {
	$master = proc_get_status($fpm)['pid'];
	$kids = trim((string) @file_get_contents("/proc/$master/task/$master/children"));
	return (int) explode(' ', $kids)[0];
};

// ------------------------------------------------------------------ site set-up
say('site: doctors, OAuth client, connections, KiviCare rows');
$setup = $call($dbWith, ['op' => 'setup']);
$call($dbWithout, ['op' => 'deactivate']);
$emu->registerClient(CLIENT_ID, CLIENT_SECRET, [$setup['redirect_uri'], 'postmessage']);
$kcDoc = (int) $setup['kcdoc'];
$phpDoc = (int) $setup['phpdoc'];
$patient = (int) $setup['patient'];
$auth = $call($dbWith, ['op' => 'auth_url', 'id' => $kcDoc])['auth_url'];
$consent = $emu->authorize($auth, 'kcdoc@gmail.example');
parse_str((string) parse_url($consent['redirect'], PHP_URL_QUERY), $cb);
$call($dbWith, ['op' => 'connect', 'id' => $kcDoc, 'code' => $cb['code'], 'state' => $cb['state']]);
$code = $emu->mintCode(CLIENT_ID, 'phpdoc@gmail.example', ['https://www.googleapis.com/auth/calendar']);
$call($dbWith, ['op' => 'php_token', 'id' => $phpDoc, 'code' => $code]);

$now = gmdate('Y-m-d H:i:s');
Db::query($dbWith, 'INSERT INTO wp_kc_clinics (name, email, address, city, postal_code, country, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', ['Bench Clinic', 'c@clinic.test', '1 Main St', 'Town', '1000', 'US', $now]);
$clinic = (int) Db::value($dbWith, 'SELECT MAX(id) FROM wp_kc_clinics');
Db::query($dbWith, 'INSERT INTO wp_kc_services (type, name, price, created_at) VALUES (?, ?, ?, ?)', ['consult', 'Video Consultation', '50', $now]);
$service = (int) Db::value($dbWith, 'SELECT MAX(id) FROM wp_kc_services');
$appts = [];
// A few more appointments per side, for the operations whose round trips are counted.
$countN = max(1, min(5, $n));
$countAppts = [];
foreach (['kc' => $kcDoc, 'php' => $phpDoc] as $impl => $doc) {
	Db::query($dbWith, 'INSERT INTO wp_kc_service_doctor_mapping (service_id, clinic_id, doctor_id, telemed_service, charges, duration, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [$service, $clinic, $doc, 'yes', '50', 30, $now]);
	for ($i = 0; $i < $n + $countN; $i++) {
		$day = gmdate('Y-m-d', time() + 86400 * (10 + intdiv($i, 16)));
		$h = sprintf('%02d:00:00', 6 + $i % 16);
		$e = sprintf('%02d:30:00', 6 + $i % 16);
		Db::query($dbWith, 'INSERT INTO wp_kc_appointments (appointment_start_date, appointment_start_time, appointment_end_date, appointment_end_time, visit_type, clinic_id, doctor_id, patient_id, status, description, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)',
			[$day, $h, $day, $e, 'consultation', $clinic, $doc, $patient, 'bench', $now]);
		$id = (int) Db::value($dbWith, 'SELECT MAX(id) FROM wp_kc_appointments');
		Db::query($dbWith, 'INSERT INTO wp_kc_appointment_service_mapping (appointment_id, service_id, status, created_at) VALUES (?, ?, 1, ?)', [$id, $service, $now]);
		$appts[$impl][] = $id;
	}
	$countAppts[$impl] = array_splice($appts[$impl], $n);
}

// ------------------------------------------------------------------ per-operation batches
$call($dbWith, ['op' => 'kc_status', 'id' => $kcDoc]); // the worker's pool and HTTPS client, made once
$call($dbWith, ['op' => 'noop']);
$batch = static function (string $op, array $ids, array $expect) use ($call, $dbWith, $emu): array {
	$emu->call('DELETE', '/__emu/requests');
	$s0 = user_stats();
	$sum = ['wall_ms' => 0.0, 'cpu_ms' => 0.0, 'fcgi_wall_ms' => 0.0, 'wpdb_queries' => 0];
	$walls = [];
	foreach ($ids as $id) {
		$r = $call($dbWith, ['op' => $op, 'id' => $id]);
		if (!in_array($r['state'], $expect, true)) {
			throw new \RuntimeException("$op $id answered " . json_encode($r));
		}
		foreach ($sum as $k => $_) {
			$sum[$k] += $r[$k];
		}
		$walls[] = $r['wall_ms'];
	}
	sort($walls);
	$s1 = user_stats();
	$reqs = $emu->requests();
	$k = count($ids);
	return [
		'wall_ms' => $sum['wall_ms'] / $k, 'cpu_ms' => $sum['cpu_ms'] / $k, 'request_wall_ms' => $sum['fcgi_wall_ms'] / $k,
		// The mean hides how wall times spread (a few slow requests or every one a little slow).
		'wall_median_ms' => $walls[intdiv($k, 2)], 'wall_p90_ms' => $walls[min($k - 1, intdiv($k * 9, 10))],
		'wpdb_queries' => $sum['wpdb_queries'] / $k,
		'google_requests' => count(array_filter($reqs, static fn($q) => $q['operation'] !== null)) / $k,
		'google_connections' => count(array_unique(array_column($reqs, 'connection'))),
		'statements_raw' => ($s1['statements'] - $s0['statements']) / $k,
		'mysql_connections_per_request' => ($s1['connections'] - $s0['connections']) / $k,
	];
};
// The same operations on the extra appointments with the general log on: round trips per
// operation (WordPress's bootstrap's, the no-op request's, subtracted by the caller).
$counted = static function (string $op, array $ids, array $expect) use ($call, $dbWith, $logOutput, $generalLog): float {
	$logOutput->hold();
	$generalLog->hold();
	try {
		$r0 = round_trips();
		foreach ($ids as $id) {
			$r = $call($dbWith, ['op' => $op, 'id' => $id]);
			if (!in_array($r['state'], $expect, true)) {
				throw new \RuntimeException("$op $id answered " . json_encode($r));
			}
		}
		return (round_trips() - $r0) / count($ids);
	} finally {
		$generalLog->release();
		$logOutput->release();
	}
};
say("per operation: $n appointments per implementation");
$noop = $batch('noop', array_fill(0, 20, 0), ['noop']);
$noop['round_trips_raw'] = $counted('noop', array_fill(0, $countN, 0), ['noop']);
$ops = [];
$likeEvent = null;
foreach (['create' => ['created'], 'again' => ['unchanged'], 'reschedule' => ['updated'], 'cancel' => ['deleted']] as $op => $expect) {
	if ($op === 'again') {
		// An event kc-meet made, for the floor to send the same (below).
		$made = array_filter(
			$emu->call('GET', '/__emu/events?email=' . rawurlencode('kcdoc@gmail.example'))['events'] ?? [],
			static fn(array $e): bool => ($e['status'] ?? '') !== 'cancelled' && isset($e['extendedProperties']['private']['kc_meet_appointment'])
		);
		$likeEvent = $made ? end($made) : null;
	}
	if ($op === 'reschedule') {
		Db::query($dbWith, 'UPDATE wp_kc_appointments SET appointment_start_time = ADDTIME(appointment_start_time, "00:15:00"), appointment_end_time = ADDTIME(appointment_end_time, "00:15:00")');
	}
	foreach (['kc', 'php'] as $impl) {
		$name = $op === 'again' ? 'create' : $op;
		$expected = $op === 'again' && $impl === 'php' ? ['unchanged'] : $expect;
		$r = $batch("{$impl}_{$name}", $appts[$impl], $expected);
		$r['round_trips_raw'] = $counted("{$impl}_{$name}", $countAppts[$impl], $expected);
		// WordPress's own bootstrap statements and round trips (the no-op request) are not the operation's.
		$r['statements'] = $r['statements_raw'] - $noop['statements_raw'];
		$r['round_trips'] = $r['round_trips_raw'] - $noop['round_trips_raw'];
		// $wpdb connects once per request on both sides: what is left is the operation's own.
		$r['new_mysql_connections'] = round(($r['mysql_connections_per_request'] - $noop['mysql_connections_per_request']) * $n);
		$ops[$op][$impl] = $r;
		say(sprintf('%-10s %-3s wall %6.2f ms (median %.2f, p90 %.2f)  cpu %5.2f ms  statements %5.1f  round trips %5.1f  google %4.2f', $op, $impl, $r['wall_ms'], $r['wall_median_ms'], $r['wall_p90_ms'], $r['cpu_ms'], $r['statements'], $r['round_trips'], $r['google_requests']));
	}
}
$status = $batch('kc_status', array_fill(0, $n, $kcDoc), ['connected']);
$status['statements'] = $status['statements_raw'] - $noop['statements_raw'];
// The floor sends what kc-meet sent (one of the events it made in this run, as Google shows it).
$floorArgs = ['op' => 'floor', 'id' => $phpDoc, 'n' => $floorRounds] + ($likeEvent ? ['like' => json_encode($likeEvent)] : []);
$floor = $call($dbWith, $floorArgs);
$floor['like_kc_meet'] = (bool) $likeEvent;
// The same after 10 ms idle before each request: what an operation's request finds.
$floorIdle = $call($dbWith, $floorArgs + ['gap_ms' => 10]);
// One durable commit on the same server in the same run (an autocommit single-row write, median
// of as many as the floor's rounds), and how many each kc-meet operation makes: the create's
// intent and outcome, one outcome for a reschedule and a cancel (tests/statements.rs asserts
// these counts). What is left above the floor once they are paid for is the rest of kc-meet's
// cost (lock, reads, the round trips of the outcome transaction).
$commit = $call($dbWith, ['op' => 'commit', 'n' => max(5, $floorRounds)]);
$commits = ['create' => 2, 'reschedule' => 1, 'cancel' => 1];
$above = [];
foreach (['create' => 'insert_ms', 'reschedule' => 'patch_ms', 'cancel' => 'delete_ms'] as $op => $req) {
	$over = $ops[$op]['kc']['wall_ms'] - $floor[$req];
	$paid = $commits[$op] * $commit['commit_ms'];
	$above[$op] = ['above_floor_ms' => $over, 'commits' => $commits[$op], 'commits_ms' => $paid, 'left_ms' => $over - $paid,
		'above_idle_floor_ms' => $ops[$op]['kc']['wall_ms'] - $floorIdle[$req]];
}

// ------------------------------------------------------------------ sync of one large calendar
// Each doctor's calendar gets $size events of its implementation (with KiviCare appointments and
// mapping rows; kc-meet's also with its event rows and private properties) plus $size foreign
// ones, all inside the sync window. Then: a full listing, 100 of ours moved in Google and an
// incremental listing, and an idle one.
$sync = [];
$siteKey = substr(hash('sha256', $setup['redirect_uri'] . '|' . $dbWith . '|wp_'), 0, 12);
$sizes = array_filter(array_map('intval', explode(',', getenv('KC_MEET_BENCH_SYNC_EVENTS') ?: '10000')));
$nextAppt = 1000000;
foreach ($sizes as $size) {
	say("sync: seeding $size + $size foreign events per implementation");
	$seed = static function (int $doctor, string $email, bool $kc) use ($emu, $dbWith, $size, $siteKey, $clinic, $patient, &$nextAppt): array {
		$first = $nextAppt;
		$nextAppt += $size;
		$ours = [];
		for ($k = 0; $k < $size; $k += 2000) {
			$batch = [];
			$rows = [];
			for ($i = $k; $i < min($size, $k + 2000); $i++) {
				$appt = $first + $i;
				$start = time() + 86400 * (2 + $i % 300) + 600 * intdiv($i, 300);
				$ev = ['summary' => 'Video consultation', 'start' => ['dateTime' => gmdate('Y-m-d\TH:i:s\Z', $start)], 'end' => ['dateTime' => gmdate('Y-m-d\TH:i:s\Z', $start + 600)]];
				if ($kc) {
					$ev['id'] = sprintf('kcm%sg%xg0', $siteKey, $appt);
					$ev['extendedProperties'] = ['private' => ['kc_meet_site' => $siteKey, 'kc_meet_appointment' => (string) $appt]];
				}
				$batch[] = $ev;
				$rows[] = [$appt, $start];
			}
			$made = $emu->call('POST', '/__emu/ui/create_many', ['email' => $email, 'events' => $batch])['events'];
			$appts = $maps = $events = $services = [];
			foreach ($made as $j => $m) {
				[$appt, $start] = $rows[$j];
				$ours[] = $m['id'];
				$d = gmdate('Y-m-d', $start);
				$appts[] = sprintf("(%d, '%s', '%s', '%s', '%s', 'consultation', %d, %d, %d, 1, 'bench', UTC_TIMESTAMP())", $appt, $d, gmdate('H:i:s', $start), $d, gmdate('H:i:s', $start + 600), $clinic, $doctor, $patient);
				$maps[] = sprintf("(%d, '%s', 'https://meet.google.com/aaa-bbbb-ccc', '', UTC_TIMESTAMP(), '%s')", $appt, $m['id'], addslashes($m['etag']));
				$events[] = sprintf("(%d, %d, 'primary', '%s', 0, 'active', 'https://meet.google.com/aaa-bbbb-ccc', '', 'success', '%s', 0, '', '%s', '%s', 'Video consultation', UTC_TIMESTAMP(), UTC_TIMESTAMP())",
					$appt, $doctor, $m['id'], addslashes($m['etag']), gmdate('Y-m-d H:i:s', $start), gmdate('Y-m-d H:i:s', $start + 600));
			}
			Db::query($dbWith, 'INSERT INTO wp_kc_appointments (id, appointment_start_date, appointment_start_time, appointment_end_date, appointment_end_time, visit_type, clinic_id, doctor_id, patient_id, status, description, created_at) VALUES ' . implode(',', $appts));
			Db::query($dbWith, 'INSERT INTO wp_kc_appointment_google_meet_mappings (appointment_id, event_id, url, event_url, created_at, extra) VALUES ' . implode(',', $maps));
			if ($kc) {
				Db::query($dbWith, 'INSERT INTO wp_kc_meet_events (appointment_id, doctor_id, calendar_id, event_id, generation, state, meet_url, event_url, conference_status, etag, sequence, google_updated, start_utc, end_utc, summary, created_at, updated_at) VALUES ' . implode(',', $events));
			}
			// As many events that are not ours.
			$foreign = [];
			foreach ($batch as $ev) {
				$foreign[] = ['summary' => 'Lunch', 'start' => $ev['start'], 'end' => $ev['end']];
			}
			$emu->call('POST', '/__emu/ui/create_many', ['email' => $email, 'events' => $foreign]);
		}
		return $ours;
	};
	$oursKc = $seed($kcDoc, 'kcdoc@gmail.example', true);
	$oursPhp = $seed($phpDoc, 'phpdoc@gmail.example', false);
	$from = gmdate('Y-m-d\T00:00:00\Z', time() - 30 * 86400);
	$to = gmdate('Y-m-d\T00:00:00\Z', time() + 365 * 86400);
	$move = static function (string $email, array $ids) use ($emu): void {
		foreach (array_slice($ids, 0, 100) as $i => $id) {
			$t = time() + 86400 * 400 - 86400 * 20 + $i * 3600;
			$emu->call('POST', '/__emu/ui/move', ['email' => $email, 'event_id' => $id, 'start' => ['dateTime' => gmdate('Y-m-d\TH:i:s\Z', $t)], 'end' => ['dateTime' => gmdate('Y-m-d\TH:i:s\Z', $t + 600)]]);
		}
	};
	$runs = [];
	say("sync: full listings of $size + $size");
	$runs['full']['kc'] = $call($dbWith, ['op' => 'kc_sync', 'id' => $kcDoc, 'full' => 1]);
	$runs['full']['php'] = $call($dbWith, ['op' => 'sync_php', 'id' => $phpDoc, 'from' => $from, 'to' => $to]);
	$move('kcdoc@gmail.example', $oursKc);
	$move('phpdoc@gmail.example', $oursPhp);
	$runs['incremental']['kc'] = $call($dbWith, ['op' => 'kc_sync', 'id' => $kcDoc]);
	$runs['incremental']['php'] = $call($dbWith, ['op' => 'sync_php', 'id' => $phpDoc, 'from' => $from, 'to' => $to, 'token' => $runs['full']['php']['next_sync_token']]);
	$runs['idle']['kc'] = $call($dbWith, ['op' => 'kc_sync', 'id' => $kcDoc]);
	$runs['idle']['php'] = $call($dbWith, ['op' => 'sync_php', 'id' => $phpDoc, 'from' => $from, 'to' => $to, 'token' => $runs['incremental']['php']['next_sync_token']]);
	foreach ($runs as $kind => $pair) {
		foreach ($pair as $impl => $r) {
			if ($r['state'] !== 'synced') {
				throw new \RuntimeException("sync $kind $impl: " . json_encode($r));
			}
			say(sprintf('sync %-11s %-3s %6d events in %7.1f ms wall, %7.1f ms CPU, %d changes, peak RSS +%d kB, PHP heap %d kB', $kind, $impl, $r['seen'], $r['wall_ms'], $r['cpu_ms'], $r['changes'], $r['rss_peak_kb'] - $r['rss_before_kb'], $r['php_peak_kb']));
		}
	}
	$sync[$size] = $runs;
}

// ------------------------------------------------------------------ page views with and without the plugin
say("page views: $pages each, with and without the plugin");
// An administrator's login cookies, one per site copy (the session token lives in each).
$cookies = [$dbWith => $call($dbWith, ['op' => 'cookie'])['cookie'], $dbWithout => $call($dbWithout, ['op' => 'cookie'])['cookie']];
// The two sites are asked in turn, request by request, so the machine's load drifts alike for
// both; each request's CPU is the worker's own (/proc schedstat, all threads) around it, and
// the median is reported (the mean is in the JSON).
$pageCost = static function (string $script, string $uri, bool $admin) use ($fcgi, $workerPid, $pages, $hostParams, $cookies, $dbWith, $dbWithout): array {
	$pid = $workerPid();
	$samples = ['without' => [], 'with' => []];
	$statements = ['without' => 0, 'with' => 0];
	$wall = ['without' => 0.0, 'with' => 0.0];
	for ($i = -3; $i < $pages; $i++) { // three rounds to warm opcache first
		foreach (['without' => $dbWithout, 'with' => $dbWith] as $side => $db) {
			$extra = $hostParams + ['HTTP_X_KC_TEST_DB' => $db] + ($admin ? ['HTTP_COOKIE' => $cookies[$db]] : []);
			$s0 = $i >= 0 ? user_stats()['statements'] : 0;
			$c0 = proc_cpu_ns($pid);
			$r = $fcgi->get($script, $uri, $extra);
			$cpu = (proc_cpu_ns($pid) - $c0) / 1e6;
			if ($r['status'] !== 200) {
				throw new \RuntimeException("$uri answered {$r['status']}: " . substr($r['body'], 0, 300));
			}
			if ($i >= 0) {
				$samples[$side][] = $cpu;
				$statements[$side] += user_stats()['statements'] - $s0; // read as root: not counted itself
				$wall[$side] += $r['wall_s'] * 1000;
			}
		}
	}
	$out = [];
	foreach ($samples as $side => $v) {
		sort($v);
		$out[$side] = ['cpu_ms' => $v[intdiv(count($v), 2)], 'cpu_mean_ms' => array_sum($v) / count($v), 'wall_ms' => $wall[$side] / $pages, 'statements' => $statements[$side] / $pages];
	}
	$out['extra_cpu_ms'] = $out['with']['cpu_ms'] - $out['without']['cpu_ms'];
	return $out;
};
$views = [];
foreach (['front-end' => ["$wp/index.php", '/', false], 'wp-admin' => ["$wp/wp-admin/index.php", '/wp-admin/index.php', true]] as $name => [$script, $uri, $admin]) {
	$views[$name] = $pageCost($script, $uri, $admin);
	say(sprintf('%-9s without %.2f ms CPU, with %.2f ms CPU (medians)', $name, $views[$name]['without']['cpu_ms'], $views[$name]['with']['cpu_ms']));
}

// ------------------------------------------------------------------ extension load
say('PHP start-up with and without the extension');
$startup = static function (array $args) use ($startupRuns): array {
	$k = $startupRuns;
	$r0 = getrusage(1);
	$t0 = hrtime(true);
	for ($i = 0; $i < $k; $i++) {
		exec(implode(' ', array_map('escapeshellarg', array_merge(['php', '-n'], $args, ['-r', '']))));
	}
	$r1 = getrusage(1);
	$cpu = ($r1['ru_utime.tv_sec'] - $r0['ru_utime.tv_sec']) + ($r1['ru_utime.tv_usec'] - $r0['ru_utime.tv_usec']) / 1e6
		+ ($r1['ru_stime.tv_sec'] - $r0['ru_stime.tv_sec']) + ($r1['ru_stime.tv_usec'] - $r0['ru_stime.tv_usec']) / 1e6;
	return ['wall_ms' => (hrtime(true) - $t0) / 1e6 / $k, 'cpu_ms' => $cpu * 1000 / $k];
};
$load = ['without' => $startup([]), 'with' => $startup(['-d', "extension=$ext"])];

// ------------------------------------------------------------------ report
$result = ['appointments' => $n, 'ops' => $ops, 'sync' => $sync, 'status' => $status, 'noop' => $noop, 'floor' => $floor, 'floor_idle' => $floorIdle, 'commit' => $commit, 'above_floor' => $above, 'page_views' => $views, 'extension_load' => $load, 'php' => PHP_VERSION];
file_put_contents("$out/bench.json", json_encode($result, JSON_PRETTY_PRINT) . "\n");

$row = static fn(string $label, string $php, string $kc) => sprintf("| %-58s | %13s | %13s |\n", $label, $php, $kc);
$ms = static fn(float $v) => sprintf('%.2f ms', $v);
echo "\nkc-meet vs the PHP way — php-fpm (1 worker) over FastCGI, WordPress loaded, Google (emulator) over HTTPS on loopback, $n operations each\n\n";
echo $row('per operation', 'PHP way', 'kc-meet'), $row(str_repeat('-', 58), str_repeat('-', 13), str_repeat('-', 13));
foreach (['create', 'reschedule', 'cancel'] as $op) {
	echo $row("Google requests, $op", sprintf('%.2f', $ops[$op]['php']['google_requests']), sprintf('%.2f', $ops[$op]['kc']['google_requests']));
}
echo $row("new TCP+TLS connections to Google in $n creates", (string) $ops['create']['php']['google_connections'], (string) $ops['create']['kc']['google_connections']);
foreach (['create' => 'create', 'reschedule' => 'reschedule', 'cancel' => 'cancel', 'again' => 'create again (nothing to do)'] as $op => $label) {
	echo $row("CPU, $label", $ms($ops[$op]['php']['cpu_ms']), $ms($ops[$op]['kc']['cpu_ms']));
	echo $row("wall, $label", $ms($ops[$op]['php']['wall_ms']), $ms($ops[$op]['kc']['wall_ms']));
}
foreach (['create' => 'create', 'reschedule' => 'reschedule', 'cancel' => 'cancel', 'again' => 'create again'] as $op => $label) {
	echo $row("MySQL statements, $label", sprintf('%.1f', $ops[$op]['php']['statements']), sprintf('%.1f', $ops[$op]['kc']['statements']));
	echo $row("MySQL round trips, $label", sprintf('%.1f', $ops[$op]['php']['round_trips']), sprintf('%.1f', $ops[$op]['kc']['round_trips']));
}
echo $row("new MySQL connections in $n creates (besides \$wpdb's)", (string) $ops['create']['php']['new_mysql_connections'], (string) $ops['create']['kc']['new_mysql_connections']);
echo $row('kc_meet_status(): wall / statements', '', sprintf('%.2f ms / %.1f', $status['wall_ms'], $status['statements']));
printf("\nfloor (the request alone, kept-alive HTTPS from PHP's curl%s): insert %.2f ms, patch %.2f ms, delete %.2f ms (%.2f ms CPU per request)\n", $floor['like_kc_meet'] ? ", kc-meet's event body" : '', $floor['insert_ms'], $floor['patch_ms'], $floor['delete_ms'], $floor['cpu_ms_per_request']);
printf("floor after 10 ms idle before each request (as an operation's request comes): insert %.2f ms, patch %.2f ms, delete %.2f ms\n", $floorIdle['insert_ms'], $floorIdle['patch_ms'], $floorIdle['delete_ms']);
printf("one durable commit on this server (autocommit single-row write, median of %d): %.2f ms; a plain SELECT round trip %.2f ms\n", $commit['n'], $commit['commit_ms'], $commit['select_ms']);
foreach ($above as $op => $a) {
	printf("kc-meet above the floor, %-10s %+6.2f ms = commits %d x %.2f ms = %5.2f ms, left %+6.2f ms; above the idle floor %+6.2f ms\n", "$op:", $a['above_floor_ms'], $a['commits'], $commit['commit_ms'], $a['commits_ms'], $a['left_ms'], $a['above_idle_floor_ms']);
}
printf("whole FastCGI request (WordPress bootstrap included), create: PHP way %.2f ms, kc-meet %.2f ms; no-op request %.2f ms\n", $ops['create']['php']['request_wall_ms'], $ops['create']['kc']['request_wall_ms'], $noop['request_wall_ms']);
foreach ($sync as $size => $runs) {
	echo "\nsync of one doctor's calendar: $size of ours + $size foreign events in the window (wall, CPU, events/s, events per CPU-second, peak memory growth)\n";
	foreach ($runs as $kind => $pair) {
		foreach (['php' => 'PHP way', 'kc' => 'kc-meet'] as $impl => $label) {
			$r = $pair[$impl];
			printf("  %-12s %-8s %6d events %4d changes %9.1f ms %8.1f ms CPU %7.0f ev/s %7.0f ev/CPU-s  RSS +%6d kB  PHP heap %6d kB\n", $kind, $label, $r['seen'], $r['changes'], $r['wall_ms'], $r['cpu_ms'],
				$r['seen'] / max($r['wall_ms'] / 1000, 1e-6), $r['seen'] / max($r['cpu_ms'] / 1000, 1e-6), max(0, $r['rss_peak_kb'] - $r['rss_before_kb']), $r['php_peak_kb']);
		}
	}
}
echo "\npage views (worker CPU per request, median of $pages, and MySQL statements)   without plugin        with plugin      difference\n";
foreach ($views as $name => $v) {
	printf("  %-45s %8.2f ms %5.1f st   %8.2f ms %5.1f st   %+7.2f ms\n", $name, $v['without']['cpu_ms'], $v['without']['statements'], $v['with']['cpu_ms'], $v['with']['statements'], $v['extra_cpu_ms']);
}
printf("\nPHP start-up (php -n -r ''): %.2f ms wall / %.2f ms CPU without the extension, %.2f ms / %.2f ms with it\n", $load['without']['wall_ms'], $load['without']['cpu_ms'], $load['with']['wall_ms'], $load['with']['cpu_ms']);
echo "JSON: $out/bench.json\n";
