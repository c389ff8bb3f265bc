<?php
/** KiviCare's tables and a small clinic for the PHP-level suites (boundary abuse, load). */

/**
 * Adds the wp_users columns the extension reads (to the boundary tests' users table), KiviCare's tables
 * (tests/wordpress/kivicare-schema.sql), clinic 1 with a telemedicine service for each of
 * $doctors, and patient 4 (patient@example.org).
 */
function kc_test_kivicare(mysqli $m, array $doctors): void {
	$m->query("ALTER TABLE wp_users ADD user_email varchar(100) NOT NULL DEFAULT '', ADD display_name varchar(250) NOT NULL DEFAULT ''");
	$schema = (string) file_get_contents(dirname(__DIR__, 2) . '/wordpress/kivicare-schema.sql');
	foreach (explode(";\n", str_replace('{prefix}', 'wp_', $schema)) as $stmt) {
		$sql = implode("\n", array_filter(explode("\n", $stmt), static fn($l) => !str_starts_with(ltrim($l), '--')));
		if (trim($sql) !== '') {
			$m->query($sql);
		}
	}
	$m->query("INSERT INTO wp_users (ID, user_login, user_email, display_name) VALUES (4, 'pat', 'patient@example.org', 'Pat')");
	$m->query("INSERT INTO wp_kc_clinics (id, name, created_at) VALUES (1, 'Main Clinic', NOW())");
	$m->query("INSERT INTO wp_kc_services (id, type, name, created_at) VALUES (1, 'consult', 'Video Consult', NOW())");
	foreach ($doctors as $d) {
		$m->query(sprintf("INSERT INTO wp_kc_service_doctor_mapping (service_id, clinic_id, doctor_id, telemed_service, created_at) VALUES (1, 1, %d, 'yes', NOW())", $d));
	}
}

/** Books a telemedicine appointment (4.2+ UTC columns filled) and returns its id. */
function kc_test_book(mysqli $m, int $doctor, string $start_utc, string $end_utc, int $status = 1): int {
	[$sd, $st] = explode(' ', $start_utc);
	[$ed, $et] = explode(' ', $end_utc);
	$q = $m->prepare('INSERT INTO wp_kc_appointments (appointment_start_date, appointment_start_time, appointment_end_date, appointment_end_time,
		clinic_id, doctor_id, patient_id, status, created_at, appointment_start_utc, appointment_end_utc) VALUES (?, ?, ?, ?, 1, ?, 4, ?, NOW(), ?, ?)');
	$q->bind_param('ssssiiss', $sd, $st, $ed, $et, $doctor, $status, $start_utc, $end_utc);
	$q->execute();
	$id = (int) $m->insert_id;
	$m->query("INSERT INTO wp_kc_appointment_service_mapping (appointment_id, service_id, created_at) VALUES ($id, 1, NOW())");
	return $id;
}

/** Half-hour slot $n (UTC), from 2031-01-05 08:00 on. */
function kc_test_slot(int $n): array {
	$t = gmmktime(8, 0, 0, 1, 5, 2031) + ($n % 2000) * 1800;
	return [gmdate('Y-m-d H:i:s', $t), gmdate('Y-m-d H:i:s', $t + 1800)];
}

/** What KiviCare writes when an appointment is cancelled, re-booked or moved to slot $slot. */
function kc_test_set_row(mysqli $m, int $id, ?int $status, ?int $slot): void {
	$sets = [];
	if ($status !== null) {
		$sets[] = 'status = ' . (int) $status;
	}
	if ($slot !== null) {
		[$s, $e] = kc_test_slot($slot);
		[$sd, $st] = explode(' ', $s);
		[$ed, $et] = explode(' ', $e);
		$sets[] = "appointment_start_date = '$sd', appointment_start_time = '$st', appointment_end_date = '$ed', appointment_end_time = '$et', appointment_start_utc = '$s', appointment_end_utc = '$e'";
	}
	$m->query('UPDATE wp_kc_appointments SET ' . implode(', ', $sets) . ' WHERE id = ' . (int) $id);
}

/**
 * The calendar against KiviCare: one live event per booked appointment (status ≠ 0), at its time,
 * in its doctor's calendar; none for cancelled ones; none without an appointment.
 * $calendars maps doctor id => Google account. Returns [figures, problems].
 */
function kc_test_calendar(mysqli $m, string $emu_base, array $calendars): array {
	$rows = $m->query('SELECT id, doctor_id, status, appointment_start_utc, appointment_end_utc FROM wp_kc_appointments')->fetch_all(MYSQLI_ASSOC);
	$live = [];
	foreach ($calendars as $doctor => $email) {
		$ch = curl_init("$emu_base/__emu/events?email=" . rawurlencode($email));
		curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
		foreach (json_decode((string) curl_exec($ch), true)['events'] as $ev) {
			if (($ev['status'] ?? '') !== 'cancelled') {
				$live[(int) ($ev['extendedProperties']['private']['kc_meet_appointment'] ?? 0)][] = $ev + ['_doctor' => $doctor];
			}
		}
	}
	$fig = ['booked' => 0, 'events' => array_sum(array_map('count', $live)), 'duplicates' => 0, 'lost' => 0, 'wrong_time' => 0, 'wrong_doctor' => 0, 'orphans' => 0];
	$problems = [];
	$utc = static fn(array $t) => gmdate('Y-m-d H:i:s', strtotime($t['dateTime']));
	foreach ($rows as $r) {
		$id = (int) $r['id'];
		$evs = $live[$id] ?? [];
		unset($live[$id]);
		if ((int) $r['status'] === 0) {
			if ($evs) {
				$fig['orphans'] += count($evs);
				$problems[] = "appointment $id is cancelled, Google still holds " . implode(', ', array_column($evs, 'id'));
			}
			continue;
		}
		$fig['booked']++;
		if (!$evs) {
			$fig['lost']++;
			$problems[] = "appointment $id is booked, no event";
			continue;
		}
		if (count($evs) > 1) {
			$fig['duplicates'] += count($evs) - 1;
			$problems[] = "appointment $id has " . count($evs) . ' events: ' . implode(', ', array_column($evs, 'id'));
		}
		$ev = $evs[0];
		if ($utc($ev['start']) !== $r['appointment_start_utc'] || $utc($ev['end']) !== $r['appointment_end_utc']) {
			$fig['wrong_time']++;
			$problems[] = "appointment $id at {$r['appointment_start_utc']}, its event at " . $utc($ev['start']);
		}
		if ($ev['_doctor'] !== (int) $r['doctor_id']) {
			$fig['wrong_doctor']++;
			$problems[] = "appointment $id belongs to doctor {$r['doctor_id']}, its event is in doctor {$ev['_doctor']}'s calendar";
		}
	}
	foreach ($live as $id => $evs) {
		$fig['orphans'] += count($evs);
		$problems[] = "events without an appointment ($id): " . implode(', ', array_column($evs, 'id'));
	}
	return [$fig, $problems];
}

/** Prints what the extension knows about an appointment (event row, job, audit trail): to explain a problem. */
function kc_test_explain(int $id): void {
	try {
		$st = kc_meet_appointment_state($id);
	} catch (Throwable $e) {
		echo "    (state of $id: ", get_class($e), ")\n";
		return;
	}
	printf("    appointment %d: event %s, job %s\n", $id, json_encode($st['event'] ? array_intersect_key($st['event'], array_flip(['event_id', 'state', 'generation', 'start_utc'])) : null),
		json_encode($st['job'] ? array_intersect_key($st['job'], array_flip(['action', 'state', 'attempts', 'last_error'])) : null));
	foreach (array_reverse($st['audit']) as $a) {
		printf("      %s %s %s %s\n", $a['time'] ?? '', $a['action'] ?? '', $a['outcome'] ?? '', substr((string) ($a['detail'] ?? $a['message'] ?? ''), 0, 120));
	}
}

/** Cron ticks until no job is queued (each tick makes every queued job due, as time passing would). Returns the rounds run. */
function kc_test_drain_jobs(mysqli $m, int $max_rounds = 30): int {
	for ($round = 0; $round < $max_rounds; $round++) {
		if ((int) $m->query("SELECT COUNT(*) FROM wp_kc_meet_jobs WHERE state = 'queued'")->fetch_row()[0] === 0) {
			break;
		}
		$m->query("UPDATE wp_kc_meet_jobs SET next_run_at = UTC_TIMESTAMP() WHERE state = 'queued'");
		kc_meet_run_jobs(1000, 60.0);
	}
	return $round;
}

/** `--name=value` from the command line of a suite script, else $default. */
function kc_test_arg(string $name, $default) {
	foreach ($GLOBALS['argv'] ?? [] as $a) {
		if (str_starts_with($a, "--$name=")) {
			return substr($a, strlen($name) + 3);
		}
	}
	return $default;
}

/** A site database on a private server: WordPress's users/usermeta (with $users), KiviCare's tables, $doctors' telemedicine service. */
function kc_test_site_db(mysqli $m, array $users, array $doctors): void {
	$m->query("CREATE TABLE wp_users (ID bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, user_login varchar(60) NOT NULL DEFAULT '') DEFAULT CHARSET=utf8mb4");
	$m->query("CREATE TABLE wp_usermeta (umeta_id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, user_id bigint unsigned NOT NULL DEFAULT 0, meta_key varchar(255) DEFAULT NULL, meta_value longtext, KEY user_id (user_id)) DEFAULT CHARSET=utf8mb4");
	foreach ($users as $id) {
		$m->query(sprintf("INSERT INTO wp_users (ID, user_login) VALUES (%d, 'user%d')", $id, $id));
	}
	kc_test_kivicare($m, $doctors);
}

/** The extension's configuration for a site on a private server ($extra wins). */
function kc_test_site_config(PrivateMariaDb $pdb, string $db, Emulator $emu, array $extra = []): array {
	return $extra + [
		'db_host' => $pdb->host(), 'db_user' => PrivateMariaDb::USER, 'db_password' => PrivateMariaDb::PASSWORD,
		'db_name' => $db, 'db_charset' => 'utf8mb4', 'table_prefix' => 'wp_', 'base_prefix' => 'wp_',
		'client_id' => KC_TEST_CLIENT_ID, 'client_secret' => KC_TEST_CLIENT_SECRET, 'redirect_uri' => KC_TEST_REDIRECT,
		'encryption_key' => 'suite test key', 'timezone' => 'UTC', 'endpoints' => $emu->endpoints(), 'allow_insecure_loopback' => true,
		'request_budget_s' => 1.5,
	];
}
