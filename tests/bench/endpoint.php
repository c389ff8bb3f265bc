<?php
/**
 * The bench's FastCGI endpoint, run by php-fpm inside WordPress (wp-load.php, the plugin active):
 * one operation per request, timed around the operation itself (wall: hrtime; CPU: getrusage of
 * the worker, which counts the extension's threads too), answered as JSON.
 *
 * GET ?op=...  setup | connect | php_token | cookie | deactivate | noop | floor | commit | sync_php
 *              | kc_create | kc_reschedule | kc_cancel | kc_status | php_create | php_reschedule | php_cancel | kc_sync
 * The database comes from the X-KC-Test-DB header (the test bed's wp-config.php).
 */

require_once __DIR__ . '/PhpWay.php';

$kcb_wp = getenv('KC_MEET_WP_DIR');
require $kcb_wp . '/wp-load.php';

header('Content-Type: application/json');

/** getrusage() of the worker (all threads) in seconds. */
function kcb_cpu(): float {
	$r = getrusage();
	return $r['ru_utime.tv_sec'] + $r['ru_utime.tv_usec'] / 1e6 + $r['ru_stime.tv_sec'] + $r['ru_stime.tv_usec'] / 1e6;
}

function kcb_php_way(): KC_Bench_Php_Way {
	$emu = rtrim((string) getenv('KC_MEET_EMU_URL'), '/');
	return new KC_Bench_Php_Way($emu . '/calendar/v3', $emu . '/token', (string) getenv('KC_BENCH_CLIENT_ID'), (string) getenv('KC_BENCH_CLIENT_SECRET'), getenv('KC_BENCH_CA') ?: null);
}

/** Runs $fn timed; merges the timings into its result. */
function kcb_timed(callable $fn): array {
	global $wpdb;
	$q0 = $wpdb->num_queries;
	$c0 = kcb_cpu();
	$t0 = hrtime(true);
	$r = $fn();
	$wall = (hrtime(true) - $t0) / 1e6;
	$cpu = (kcb_cpu() - $c0) * 1000;
	return (is_array($r) ? $r : ['state' => $r]) + ['wall_ms' => $wall, 'cpu_ms' => $cpu, 'wpdb_queries' => $wpdb->num_queries - $q0];
}

/**
 * The floor: the same Google requests alone over one kept-alive HTTPS connection from PHP's
 * curl (a handle reused within the request), nothing else. Per request kind: mean wall ms.
 * `$like` is an event kc-meet made, as Google shows it: each insert sends what kc-meet sent for
 * it (its fields, with this round's times and a new conference request), each patch what a
 * reschedule sends (times and summary), so the emulator does the same work for both; without
 * it, a bare event (summary, times, conference). With `$gapMs`, each request is sent after
 * that long idle (the connection kept), as an operation's request comes after WordPress's
 * start-up: back to back, the emulator and the loopback path stay hot, which no single
 * operation of a request finds.
 */
function kcb_floor(int $n, string $token, ?array $like = null, int $gapMs = 0): array {
	$emu = rtrim((string) getenv('KC_MEET_EMU_URL'), '/') . '/calendar/v3/calendars/primary/events';
	$ch = curl_init();
	$opts = [CURLOPT_RETURNTRANSFER => true, CURLOPT_HTTPHEADER => ['Authorization: Bearer ' . $token, 'Content-Type: application/json'], CURLOPT_TIMEOUT => 20];
	if (getenv('KC_BENCH_CA')) {
		$opts[CURLOPT_CAINFO] = getenv('KC_BENCH_CA');
	}
	$send = function (string $method, string $url, ?string $body) use ($ch, $opts, $gapMs): array {
		curl_setopt_array($ch, $opts + [CURLOPT_URL => $url, CURLOPT_CUSTOMREQUEST => $method, CURLOPT_POSTFIELDS => $body ?? '']);
		if ($gapMs > 0) {
			usleep($gapMs * 1000);
		}
		$t = hrtime(true);
		$out = curl_exec($ch);
		$ms = (hrtime(true) - $t) / 1e6;
		$code = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
		if ($code >= 300) {
			throw new RuntimeException("floor: $method answered $code");
		}
		return [$ms, json_decode((string) $out, true)];
	};
	// An event time at `$t`, in the zone of `$like` (an event time Google showed), if it has one.
	$when = static fn(string $t, ?array $like): array => ['dateTime' => $t] + array_intersect_key($like ?? [], ['timeZone' => 1]);
	// Warm: the connection and the TLS session exist before the timed requests.
	$send('GET', $emu . '?maxResults=1', null);
	$sum = ['insert' => 0.0, 'patch' => 0.0, 'delete' => 0.0];
	$c0 = kcb_cpu();
	for ($i = 0; $i < $n; $i++) {
		$start = gmdate('Y-m-d\TH:i:s\Z', 1900000000 + $i * 3600);
		$end = gmdate('Y-m-d\TH:i:s\Z', 1900000000 + $i * 3600 + 1800);
		$body = kcb_client_fields($like) + ['summary' => 'floor'];
		$body['start'] = $when($start, $like['start'] ?? null);
		$body['end'] = $when($end, $like['end'] ?? null);
		$body['conferenceData'] = ['createRequest' => ['requestId' => 'floor' . $i . wp_rand(), 'conferenceSolutionKey' => ['type' => 'hangoutsMeet']]];
		[$ms, $ev] = $send('POST', $emu . '?conferenceDataVersion=1&sendUpdates=all', wp_json_encode($body));
		$sum['insert'] += $ms;
		$moved = ['start' => $when($end, $body['start']), 'end' => $when(gmdate('Y-m-d\TH:i:s\Z', 1900000000 + $i * 3600 + 3600), $body['end']), 'summary' => $body['summary']];
		[$ms] = $send('PATCH', $emu . '/' . rawurlencode($ev['id']) . '?sendUpdates=all', wp_json_encode($moved));
		$sum['patch'] += $ms;
		[$ms] = $send('DELETE', $emu . '/' . rawurlencode($ev['id']) . '?sendUpdates=all', null);
		$sum['delete'] += $ms;
	}
	$cpu = (kcb_cpu() - $c0) * 1000 / (3 * $n);
	curl_close($ch);
	return ['insert_ms' => $sum['insert'] / $n, 'patch_ms' => $sum['patch'] / $n, 'delete_ms' => $sum['delete'] / $n, 'cpu_ms_per_request' => $cpu];
}

/** The fields of event `$e` (as Google shows it) that a client sends when it makes one. */
function kcb_client_fields(?array $e): array {
	if (!$e) {
		return [];
	}
	$out = array_intersect_key($e, array_flip(['summary', 'description', 'location', 'visibility', 'reminders', 'extendedProperties']));
	if (!empty($e['attendees'])) {
		$out['attendees'] = array_map(static fn(array $a): array => array_intersect_key($a, ['email' => 1, 'displayName' => 1]), $e['attendees']);
	}
	return $out;
}

/**
 * The cost of one durable commit on the site's server: an autocommit single-row InnoDB write
 * (what each of kc-meet's commits is: the create's intent, every outcome transaction), timed
 * around the statement on $wpdb's connection (the same server over the same kind of client
 * connection), $n times after two untimed ones; the median and the mean, ms. Its scratch table
 * is made once and left in the bench's database copy.
 */
function kcb_commit_cost(int $n): array {
	global $wpdb;
	$table = $wpdb->prefix . 'kcb_commit_cost';
	$wpdb->query("CREATE TABLE IF NOT EXISTS `$table` (id INT UNSIGNED NOT NULL PRIMARY KEY, n BIGINT UNSIGNED NOT NULL) ENGINE=InnoDB");
	$wpdb->query("INSERT IGNORE INTO `$table` (id, n) VALUES (1, 0)");
	$ms = array();
	for ($i = -2; $i < $n; $i++) {
		$t = hrtime(true);
		$ok = $wpdb->query("UPDATE `$table` SET n = n + 1 WHERE id = 1");
		$took = (hrtime(true) - $t) / 1e6;
		if (1 !== $ok) {
			throw new RuntimeException('commit cost: the write changed ' . var_export($ok, true) . ' rows: ' . $wpdb->last_error);
		}
		if ($i >= 0) {
			$ms[] = $took;
		}
	}
	sort($ms);
	$select = array();
	for ($i = -2; $i < $n; $i++) {
		$t = hrtime(true);
		$wpdb->get_var("SELECT n FROM `$table` WHERE id = 1");
		if ($i >= 0) {
			$select[] = (hrtime(true) - $t) / 1e6;
		}
	}
	sort($select);
	return array(
		'commit_ms'      => $ms[intdiv(count($ms), 2)],
		'commit_mean_ms' => array_sum($ms) / count($ms),
		'select_ms'      => $select[intdiv(count($select), 2)],
		'n'              => $n,
	);
}

/**
 * Runs $fn and adds the worker's peak memory during it: PHP's heap (memory_get_peak_usage after
 * memory_reset_peak_usage) and the process's resident peak (VmHWM after resetting it through
 * /proc/self/clear_refs), which is where the extension's Rust memory shows.
 */
function kcb_peak(callable $fn): array {
	$rss = static function (string $field): int {
		return preg_match('/^' . $field . ':\s+(\d+)/m', (string) file_get_contents('/proc/self/status'), $m) ? (int) $m[1] : 0;
	};
	memory_reset_peak_usage();
	@file_put_contents('/proc/self/clear_refs', '5');
	$rss0 = $rss('VmRSS');
	$r = $fn();
	return $r + ['php_peak_kb' => (int) (memory_get_peak_usage() / 1024), 'rss_before_kb' => $rss0, 'rss_peak_kb' => $rss('VmHWM')];
}

// phpcs:disable WordPress.Security -- a bench endpoint inside a scratch test site.
$op = (string) ($_GET['op'] ?? 'noop');
$id = (int) ($_GET['id'] ?? 0);
try {
	switch ($op) {
		case 'noop':
			$out = kcb_timed(fn() => 'noop');
			break;
		case 'setup':
			// Two doctors (one per implementation) and a patient; the OAuth client in KiviCare's option.
			$ids = [];
			foreach (['kcdoc' => 'kiviCare_doctor', 'phpdoc' => 'kiviCare_doctor', 'patient' => 'kiviCare_patient'] as $login => $role) {
				$u = get_user_by('login', $login);
				$ids[$login] = $u ? $u->ID : wp_insert_user(['user_login' => $login, 'user_email' => "$login@clinic.test", 'user_pass' => wp_generate_password(), 'role' => $role, 'display_name' => ucfirst($login)]);
			}
			$s = get_option('kiviCare_google_meet_setting', []);
			update_option('kiviCare_google_meet_setting', array_merge(is_array($s) ? $s : [], ['client_id' => getenv('KC_BENCH_CLIENT_ID'), 'client_secret' => getenv('KC_BENCH_CLIENT_SECRET'), 'enabled' => true, 'enableCal' => 'Yes', 'auth_type' => 'oauth']));
			$out = $ids + ['redirect_uri' => KC_Meet_Config::redirect_uri()];
			break;
		case 'auth_url':
			$out = ['auth_url' => KC_Meet_Native::auth_url($id, $id)];
			break;
		case 'connect':
			// The doctor started the flow (auth_url above): the initiator the state is bound to.
			$out = KC_Meet_Native::connect($id, (string) $_GET['code'], (string) $_GET['state'], $id);
			break;
		case 'php_token':
			$emu = rtrim((string) getenv('KC_MEET_EMU_URL'), '/');
			$args = ['timeout' => 20, 'body' => ['grant_type' => 'authorization_code', 'code' => (string) $_GET['code'], 'redirect_uri' => 'postmessage', 'client_id' => getenv('KC_BENCH_CLIENT_ID'), 'client_secret' => getenv('KC_BENCH_CLIENT_SECRET')]];
			if (getenv('KC_BENCH_CA')) {
				$args['sslcertificates'] = getenv('KC_BENCH_CA');
			}
			$j = json_decode(wp_remote_retrieve_body(wp_remote_post($emu . '/token', $args)), true);
			update_user_meta($id, KC_Bench_Php_Way::TOKEN_META, wp_json_encode(['access_token' => $j['access_token'], 'refresh_token' => $j['refresh_token'], 'expires_at' => time() + (int) $j['expires_in']]));
			$out = ['ok' => !empty($j['access_token'])];
			break;
		case 'cookie':
			$exp = time() + 3600;
			$out = ['cookie' => AUTH_COOKIE . '=' . rawurlencode(wp_generate_auth_cookie(1, $exp, 'auth')) . '; ' . LOGGED_IN_COOKIE . '=' . rawurlencode(wp_generate_auth_cookie(1, $exp, 'logged_in'))];
			break;
		case 'deactivate':
			require_once ABSPATH . 'wp-admin/includes/plugin.php';
			deactivate_plugins('kivicare-google-meet/kivicare-googlemeet.php', true);
			$out = ['active' => get_option('active_plugins')];
			break;
		case 'floor':
			$t = json_decode((string) get_user_meta($id, KC_Bench_Php_Way::TOKEN_META, true), true);
			$like = isset($_GET['like']) ? json_decode((string) $_GET['like'], true) : null;
			$out = kcb_floor((int) ($_GET['n'] ?? 50), (string) $t['access_token'], is_array($like) ? $like : null, (int) ($_GET['gap_ms'] ?? 0));
			break;
		case 'commit':
			$out = kcb_commit_cost(max(1, (int) ($_GET['n'] ?? 50)));
			break;
		case 'kc_create':
		case 'kc_reschedule':
		case 'kc_cancel':
		case 'kc_status':
			// The plugin's facade, as the plugin's hooks call it.
			$method = ['kc_create' => 'create_event', 'kc_reschedule' => 'update_event', 'kc_cancel' => 'delete_event', 'kc_status' => 'status'][$op];
			$out = kcb_timed(static function () use ($method, $id) {
				$r = KC_Meet_Native::$method($id);
				return (string) ($r['state'] ?? $r['status']);
			});
			break;
		case 'php_create':
		case 'php_reschedule':
		case 'php_cancel':
			$method = substr($op, 4);
			$out = kcb_timed(static fn() => kcb_php_way()->$method($id));
			break;
		case 'sync_php':
			$out = kcb_peak(fn() => kcb_timed(fn() => kcb_php_way()->sync_listing($id, (string) $_GET['from'], (string) $_GET['to'], isset($_GET['token']) ? (string) $_GET['token'] : null)));
			break;
		case 'kc_sync':
			$out = kcb_peak(fn() => kcb_timed(function () use ($id) {
				$r = KC_Meet_Native::sync(['doctor_id' => $id, 'full' => !empty($_GET['full']), 'budget_s' => 600]);
				$d = $r['doctors'][0] ?? [];
				return ['state' => empty($d['error']) ? 'synced' : (string) $d['error'], 'pages' => (int) ($d['pages'] ?? 0), 'seen' => (int) ($d['events_seen'] ?? 0), 'changes' => (int) ($d['changes_applied'] ?? 0)];
			}));
			break;
		default:
			throw new InvalidArgumentException("unknown op $op");
	}
	echo wp_json_encode(['ok' => true] + $out);
} catch (Throwable $e) {
	status_header(500);
	echo wp_json_encode(['ok' => false, 'error' => get_class($e) . ': ' . $e->getMessage()]);
}
