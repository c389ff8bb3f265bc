<?php
/**
 * `./build.sh bench`, per-operation figures of the extension as PHP calls it: Google calls,
 * new MySQL connections, CPU and wall time per operation, and the worker's memory, for
 * booking → event (create), reschedule (update), status, cancel (delete). Real MariaDB, the
 * Google emulator, one PHP process (as one FPM worker serving many requests).
 *
 * Run: php -d extension=target/release/libkc_meet.so tests/php/bench.php [appointments=200]
 */

require_once __DIR__ . '/lib/Emulator.php';

$n = (int) ($argv[1] ?? 200);
mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
$host = getenv('KC_MEET_TEST_DB_HOST') ?: '127.0.0.1';
$port = (int) (getenv('KC_MEET_TEST_DB_PORT') ?: 3306);
$user = getenv('KC_MEET_TEST_DB_USER') ?: 'kcmeet_test';
$pass = getenv('KC_MEET_TEST_DB_PASSWORD') ?: 'kcmeet_test_pw';
$db = 'kcm_bench_' . bin2hex(random_bytes(4));
$admin = new mysqli($host, $user, $pass, null, $port);
$admin->query("CREATE DATABASE `$db`");
$m = new mysqli($host, $user, $pass, $db, $port);
$m->query("CREATE TABLE wp_users (ID bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, user_login varchar(60) NOT NULL DEFAULT '', user_email varchar(100) NOT NULL DEFAULT '', display_name varchar(250) NOT NULL DEFAULT '')");
$m->query("CREATE TABLE wp_usermeta (umeta_id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, user_id bigint unsigned NOT NULL DEFAULT 0, meta_key varchar(255) DEFAULT NULL, meta_value longtext, KEY user_id (user_id))");
foreach (explode(";\n", str_replace('{prefix}', 'wp_', file_get_contents(dirname(__DIR__) . '/wordpress/kivicare-schema.sql'))) as $sql) {
	$sql = trim(implode("\n", array_filter(explode("\n", $sql), fn($l) => !str_starts_with(trim($l), '--'))));
	if ($sql !== '') {
		$m->query($sql);
	}
}
$m->query("INSERT INTO wp_users (ID, user_login, user_email, display_name) VALUES (2, 'doc', 'doc@clinic.example', 'Dr. Bench'), (4, 'pat', 'pat@example.org', 'Pat')");
$m->query("INSERT INTO wp_kc_clinics (id, name, address, created_at) VALUES (1, 'Clinic', '1 Main St', NOW())");
$m->query("INSERT INTO wp_kc_services (id, name, created_at) VALUES (1, 'Video Consult', NOW())");
$m->query("INSERT INTO wp_kc_service_doctor_mapping (service_id, clinic_id, doctor_id, telemed_service, created_at) VALUES (1, 1, 2, 'yes', NOW())");

$emu = new Emulator();
$site = [
	'db_host' => "$host:$port", 'db_user' => $user, 'db_password' => $pass, 'db_name' => $db, 'table_prefix' => 'wp_',
	'client_id' => KC_TEST_CLIENT_ID, 'client_secret' => KC_TEST_CLIENT_SECRET, 'redirect_uri' => KC_TEST_REDIRECT,
	'encryption_key' => 'bench', 'timezone' => 'Europe/Paris', 'endpoints' => $emu->endpoints(), 'allow_insecure_loopback' => true,
];
kc_meet_configure($site);
kc_meet_migrate();
$q = $emu->consent(kc_meet_auth_url(2, 2), 'doc@gmail.example');
kc_meet_connect(2, $q['code'], $q['state']);

$ids = [];
for ($i = 0; $i < $n; $i++) {
	$day = date('Y-m-d', strtotime('+' . (10 + intdiv($i, 16)) . ' days'));
	$h = sprintf('%02d:00:00', 8 + $i % 16);
	$m->query("INSERT INTO wp_kc_appointments (appointment_start_date, appointment_start_time, appointment_end_date, appointment_end_time, clinic_id, doctor_id, patient_id, status, created_at) VALUES ('$day', '$h', '$day', '$h', 1, 2, 4, 1, NOW())");
	$id = $m->insert_id;
	$m->query("UPDATE wp_kc_appointments SET appointment_end_time = ADDTIME(appointment_start_time, '00:30:00') WHERE id = $id");
	$m->query("INSERT INTO wp_kc_appointment_service_mapping (appointment_id, service_id, created_at) VALUES ($id, 1, NOW())");
	$ids[] = $id;
}

function connections(mysqli $m): int {
	return (int) $m->query("SHOW GLOBAL STATUS LIKE 'Connections'")->fetch_row()[1];
}
function cpu(): float {
	$r = getrusage();
	return $r['ru_utime.tv_sec'] + $r['ru_utime.tv_usec'] / 1e6 + $r['ru_stime.tv_sec'] + $r['ru_stime.tv_usec'] / 1e6;
}
function rss_kb(): int {
	preg_match('/VmRSS:\s+(\d+)/', (string) file_get_contents('/proc/self/status'), $mm);
	return (int) ($mm[1] ?? 0);
}

kc_meet_status(2); // warm: pool and HTTPS client made once per worker
$rows = [];
$run = function (string $name, callable $op) use (&$rows, $ids, $emu, $m) {
	$emu->call('DELETE', '/__emu/requests');
	$c0 = connections($m);
	$t0 = microtime(true);
	$u0 = cpu();
	foreach ($ids as $id) {
		$op($id);
	}
	$wall = microtime(true) - $t0;
	$cpu = cpu() - $u0;
	$calls = count($emu->requests());
	$conns = connections($m) - $c0;
	$k = count($ids);
	$rows[] = sprintf('  %-10s %6.2f Google calls/op  %5.2f new MySQL connections/op  %6.2f ms CPU/op  %6.2f ms wall/op',
		$name, $calls / $k, $conns / $k, $cpu * 1000 / $k, $wall * 1000 / $k);
};
$rss0 = rss_kb();
$run('status', fn($id) => kc_meet_status(2));
$run('create', function ($id) { $r = kc_meet_create_event($id); if ($r['state'] !== 'created') { throw new RuntimeException($r['state']); } });
$run('again', function ($id) { $r = kc_meet_create_event($id); if ($r['state'] !== 'unchanged') { throw new RuntimeException($r['state']); } });
$m->query('UPDATE wp_kc_appointments SET appointment_start_time = ADDTIME(appointment_start_time, "00:15:00"), appointment_end_time = ADDTIME(appointment_end_time, "00:15:00")');
$run('reschedule', function ($id) { $r = kc_meet_update_event($id); if ($r['state'] !== 'updated') { throw new RuntimeException($r['state']); } });
$run('cancel', function ($id) { $r = kc_meet_delete_event($id); if ($r['state'] !== 'deleted') { throw new RuntimeException($r['state']); } });

echo "per operation, $n appointments, one PHP worker (warm), loopback Google emulator:\n";
echo implode("\n", $rows), "\n";
printf("  worker RSS %d kB before, %d kB after (Rust memory is not in memory_get_usage(): %d kB)\n", $rss0, rss_kb(), memory_get_usage() / 1024);
$admin->query("DROP DATABASE `$db`");
