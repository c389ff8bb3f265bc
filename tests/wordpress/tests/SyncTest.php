<?php
namespace KcMeetTest;

/**
 * 17. Two-way sync through WordPress: Google's push messages reach the plugin's public route
 *     `/wp-json/kc-meet/v1/notify` (served by php -S), the extension applies what the doctor did in
 *     Google Calendar, the plugin dispatches it; forged messages are refused; `wp kc-meet sync` and
 *     `wp kc-meet channels` through the WP-CLI stand-in.
 *
 * Push needs an address Google (the emulator) can post to. The test site picks its database from
 * the X-KC-Test-DB header, which Google's messages do not carry, so each push test starts a small
 * relay (`php -S` on a free loopback port, router written to the run's temp folder) that adds the
 * header and forwards to the site, and points the test site's `home` option at it: the plugin's
 * notify URL (rest_url('kc-meet/v1/notify')) is then http://127.0.0.1:<relay>/wp-json/kc-meet/v1/notify,
 * accepted by the extension because the test bed's wp-config.php defines
 * KC_MEET_ALLOW_INSECURE_LOOPBACK, and by the emulator with its config `allow_http_webhooks`.
 */
final class SyncTest extends WpTestCase {
	use KiviCareFixtures;

	private const RELAY_ROUTER = <<<'PHP'
<?php
// kc-meet WordPress tests: relay for Google push messages (adds the test database header).
$headers = [];
foreach (getallheaders() as $k => $v) {
	if (!in_array(strtolower($k), ['host', 'content-length', 'connection', 'x-kc-test-db'], true)) {
		$headers[] = "$k: $v";
	}
}
$headers[] = 'X-KC-Test-DB: ' . getenv('KCM_RELAY_DB');
$ch = curl_init(getenv('KCM_RELAY_TARGET') . $_SERVER['REQUEST_URI']);
$opts = [CURLOPT_CUSTOMREQUEST => $_SERVER['REQUEST_METHOD'], CURLOPT_RETURNTRANSFER => true, CURLOPT_HEADER => true,
	CURLOPT_HTTPHEADER => $headers, CURLOPT_TIMEOUT => 30];
if (!in_array($_SERVER['REQUEST_METHOD'], ['GET', 'HEAD'], true)) {
	$opts[CURLOPT_POSTFIELDS] = file_get_contents('php://input');
}
curl_setopt_array($ch, $opts);
$out = (string) curl_exec($ch);
$status = (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
$size = (int) curl_getinfo($ch, CURLINFO_HEADER_SIZE);
file_put_contents(getenv('KCM_RELAY_LOG'), json_encode([
	'method' => $_SERVER['REQUEST_METHOD'], 'path' => parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH), 'status' => $status,
	'state' => $_SERVER['HTTP_X_GOOG_RESOURCE_STATE'] ?? null, 'number' => $_SERVER['HTTP_X_GOOG_MESSAGE_NUMBER'] ?? null,
]) . "\n", FILE_APPEND | LOCK_EX);
http_response_code($status ?: 502);
foreach (explode("\r\n", substr($out, 0, $size)) as $line) {
	if (strpos($line, ':') !== false && !preg_match('/^(transfer-encoding|content-length|connection):/i', $line)) {
		header($line, false);
	}
}
echo substr($out, $size);
return true;
PHP;

	/** @var resource|null */
	private $relay = null;
	private ?string $relayLog = null;

	protected function tearDown(): void {
		if ($this->relay) {
			proc_terminate($this->relay);
			proc_close($this->relay);
			$this->relay = null;
		}
		if ($this->relayLog) {
			@unlink($this->relayLog);
		}
		parent::tearDown();
	}

	/** Starts the relay; returns its base URL (the site's home URL must then point at it). */
	private function startRelay(): string {
		$router = Env::tmp() . '/kcm-push-relay.php';
		if (!is_file($router) || file_get_contents($router) !== self::RELAY_ROUTER) {
			file_put_contents($router, self::RELAY_ROUTER);
		}
		$s = stream_socket_server('tcp://127.0.0.1:0');
		$name = stream_socket_get_name($s, false);
		fclose($s);
		$port = (int) substr($name, strrpos($name, ':') + 1);
		$this->relayLog = tempnam(Env::tmp(), 'kcm-relay');
		$env = getenv();
		$env['KCM_RELAY_TARGET'] = Env::wpUrl();
		$env['KCM_RELAY_DB'] = $this->db;
		$env['KCM_RELAY_LOG'] = $this->relayLog;
		$this->relay = proc_open(['php', '-S', "127.0.0.1:$port", $router],
			[0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes, null, $env);
		for ($i = 0; $i < 100; $i++) {
			$c = @fsockopen('127.0.0.1', $port, $errno, $errstr, 0.2);
			if ($c) {
				fclose($c);
				break;
			}
			usleep(50000);
		}
		return "http://127.0.0.1:$port";
	}

	/** Push set up (relay, emulator accepts http on loopback), doctor connected, one 4.x booking. */
	private function pushBooking(): array {
		$this->emu()->config(['allow_http_webhooks' => true]);
		$relay = $this->startRelay();
		$this->readyToBook(['Video Consultation' => 'yes'], ['home' => $relay]);
		$b = $this->kc4Book(self::day(7));
		$this->assertStringStartsWith('https://meet.google.com/', (string) ($b['meeting']['join_url'] ?? ''), json_encode($b));
		$this->awaitDeliveries();
		return [$b, $relay];
	}

	/** Waits until every push message the emulator queued was answered; returns the deliveries. */
	private function awaitDeliveries(float $timeout = 15.0): array {
		$end = microtime(true) + $timeout;
		do {
			$d = $this->emu()->call('GET', '/__emu/deliveries')['deliveries'];
			if (array_filter($d, static fn($x) => !$x['done']) === []) {
				return $d;
			}
			usleep(100000);
		} while (microtime(true) < $end);
		$this->fail('push messages still in flight after ' . $timeout . ' s: ' . json_encode($d));
	}

	private function setSyncChoice(string $key, string $value): void {
		$this->wpOk('$s = get_option("kiviCare_google_meet_setting", []); $s[$args["k"]] = $args["v"]; update_option("kiviCare_google_meet_setting", $s);',
			['k' => $key, 'v' => $value]);
	}

	private function channel(): array {
		$channels = $this->emu()->call('GET', '/__emu/channels')['channels'];
		$live = array_values(array_filter($channels, static fn($c) => !$c['stopped'] && !$c['expired']));
		$this->assertCount(1, $live, json_encode($channels));
		return $live[0];
	}

	private function uiMove(string $eventId, string $start, string $end): array {
		return $this->emu()->call('POST', '/__emu/ui/move', ['email' => self::GOOGLE_EMAIL, 'event_id' => $eventId,
			'start' => ['dateTime' => $start], 'end' => ['dateTime' => $end]]);
	}

	/**
	 * RFC 3339 of a Berlin wall-clock time on $day, with the offset Berlin has on that date (+01:00
	 * in winter, +02:00 from late March to late October).
	 */
	private static function berlinAt(string $day, string $hm): string {
		return (new \DateTimeImmutable("$day $hm:00", new \DateTimeZone('Europe/Berlin')))->format(DATE_RFC3339);
	}

	/** Local 'Y-m-d H:i' of a UTC instant in the site's zone (Europe/Berlin in the template). */
	private static function berlin(int $ts): string {
		return (new \DateTimeImmutable('@' . $ts))->setTimezone(new \DateTimeZone('Europe/Berlin'))->format('Y-m-d H:i:s');
	}

	// ------------------------------------------------------------------ push

	public function test_connect_opens_a_push_channel_to_the_notify_route_listed_by_wp_kc_meet_channels_list(): void {
		$this->emu()->config(['allow_http_webhooks' => true]);
		$relay = $this->startRelay();
		$this->readyToBook(['Video Consultation' => 'yes'], ['home' => $relay]);
		$this->assertSame("$relay/wp-json/kc-meet/v1/notify", $this->wpOk('return KC_Meet_Config::notify_url();'));
		$channel = $this->channel();
		$this->assertSame("$relay/wp-json/kc-meet/v1/notify", $channel['address']);
		$this->assertTrue($channel['has_token'], 'the channel carries a token');
		$deliveries = $this->awaitDeliveries();
		$this->assertSame('sync', $deliveries[0]['state']);
		$this->assertSame(200, $deliveries[0]['status'], 'the notify route answered the first (sync) message: ' . json_encode($deliveries[0]));
		$this->assertSame('push', $this->wpOk('return kc_meet_health()["sync_mode"] ?? null;'));

		$cli = $this->wpCli(['kc-meet', 'channels', 'list', '--format=json'])->cli();
		$this->assertSame(0, $cli['exit_code'], json_encode($cli));
		$rows = json_decode((string) strtok($cli['stdout'], "\n"), true);
		$this->assertCount(1, $rows, $cli['stdout']);
		$this->assertSame($channel['id'], $rows[0]['channel_id']);
		$this->assertSame($this->id('doctor'), $rows[0]['doctor_id']);
		$this->assertSame($channel['resource_id'], $rows[0]['resource_id']);
		$this->assertSame('active', $rows[0]['state']);
		$this->assertSame(gmdate('Y-m-d H:i:s', intdiv($channel['expiration'], 1000)) . ' UTC', $rows[0]['expires']);
		$this->assertStringNotContainsString('token', strtolower($cli['stdout']), 'no channel token in the listing');
	}

	public function test_move_in_google_calendar_is_pushed_to_the_notify_route_and_moves_the_appointment(): void {
		[$b] = $this->pushBooking();
		$id = $b['id'];
		$eventId = $b['meeting']['id'];
		$day = self::day(7);
		$newStart = strtotime(self::berlinAt($day, '15:00'));
		$this->uiMove($eventId, self::berlinAt($day, '15:00'), self::berlinAt($day, '15:45'));
		$deliveries = $this->awaitDeliveries();
		$last = end($deliveries);
		$this->assertSame(['exists', $eventId, 200], [$last['state'], $last['event_id'], $last['status']], json_encode($last));

		$row = $this->appointmentRow($id);
		$this->assertSame(self::berlin($newStart), $row['appointment_start_date'] . ' ' . $row['appointment_start_time'], 'local start column moved');
		$this->assertSame(self::berlin($newStart + 2700), $row['appointment_end_date'] . ' ' . $row['appointment_end_time'], 'local end column moved');
		$this->assertSame(gmdate('Y-m-d H:i:s', $newStart), $row['appointment_start_utc']);
		$this->assertSame(gmdate('Y-m-d H:i:s', $newStart + 2700), $row['appointment_end_utc']);
		$this->assertSame(1, (int) $row['status'], 'still booked');
		$audit = array_values(array_filter($this->auditRows($id), static fn($a) => $a['action'] === 'google_change'));
		$this->assertCount(1, $audit, json_encode($this->auditRows($id)));
		$this->assertSame('moved', $audit[0]['outcome']);
		$this->assertSame($b['meeting']['join_url'], $this->mappingRows($id)[0]['url'], 'same Meet link');
		$event = $this->liveEvents()[0];
		$this->assertSame($newStart, self::instant($event['start']), 'the move stands at Google (on_google_move = apply)');
		$this->assertSame(null, Db::option($this->db, 'kc_meet_event_errors'), 'no failure recorded');
	}

	public function test_move_in_google_calendar_is_reverted_when_the_site_says_so(): void {
		[$b] = $this->pushBooking();
		$this->setSyncChoice('kc_meet_on_google_move', 'revert');
		$id = $b['id'];
		$before = $this->appointmentRow($id);
		$day = self::day(7);
		$this->uiMove($b['meeting']['id'], self::berlinAt($day, '16:00'), self::berlinAt($day, '16:30'));
		$this->awaitDeliveries(); // the revert is queued at Google before the move's message is answered
		$row = $this->appointmentRow($id);
		$this->assertSame([$before['appointment_start_time'], $before['appointment_start_utc']], [$row['appointment_start_time'], $row['appointment_start_utc']], 'the appointment kept its time');
		$event = $this->liveEvents()[0];
		$this->assertSame(strtotime($before['appointment_start_utc'] . ' UTC'), self::instant($event['start']), 'the event is back at the appointment time at Google');
		$this->assertContains('reverted', array_column($this->auditRows($id), 'outcome'));
	}

	public function test_delete_in_google_calendar_is_pushed_and_flags_the_appointment_for_review(): void {
		[$b] = $this->pushBooking();
		$id = $b['id'];
		$this->emu()->call('POST', '/__emu/ui/delete', ['email' => self::GOOGLE_EMAIL, 'event_id' => $b['meeting']['id']]);
		$deliveries = $this->awaitDeliveries();
		$this->assertSame(200, end($deliveries)['status']);
		$this->assertSame(1, (int) $this->appointmentRow($id)['status'], 'the appointment is kept (on_google_delete = flag)');
		$this->assertSame([], $this->mappingRows($id), 'no link is offered for a deleted event');
		$this->assertContains('deleted_flagged', array_column($this->auditRows($id), 'outcome'));
		$flagged = $this->wpOk('return KC_Meet_Sync_Changes::flagged();');
		$this->assertSame([$id], array_column($flagged, 'appointment_id'), 'the plugin listed the appointment for review');
		[, $html] = $this->settingsPage($this->loggedIn('admin'));
		$this->assertNotNull($html->byId('kc-meet-review'));
		$this->assertStringContainsString('#' . $id, Html::text($html->byId('kc-meet-review')));
	}

	public function test_a_deletion_undone_in_google_calendar_gives_the_link_back_and_leaves_nothing_to_review(): void {
		[$b] = $this->pushBooking();
		$id  = $b['id'];
		$eid = $b['meeting']['id'];
		$this->emu()->call('POST', '/__emu/ui/delete', ['email' => self::GOOGLE_EMAIL, 'event_id' => $eid]);
		$this->awaitDeliveries();
		$this->assertSame([$id], array_column($this->wpOk('return KC_Meet_Sync_Changes::flagged();'), 'appointment_id'));
		// The doctor clicks "Undo" in Google Calendar.
		$this->emu()->call('POST', '/__emu/ui/restore', ['email' => self::GOOGLE_EMAIL, 'event_id' => $eid]);
		$this->awaitDeliveries();
		$this->assertSame([], $this->wpOk('return KC_Meet_Sync_Changes::flagged();'), 'nothing left to review');
		$this->assertSame([$eid], array_column($this->liveEvents(), 'id'), 'the event is not deleted again');
		$this->assertSame($b['meeting']['join_url'], $this->mappingRows($id)[0]['url'] ?? null, 'core shows the same Meet link again');
		$this->assertSame(1, (int) $this->appointmentRow($id)['status']);
		$this->assertContains('restored', array_column($this->auditRows($id), 'outcome'));
	}

	public function test_delete_in_google_calendar_cancels_the_appointment_without_our_listeners_looping(): void {
		[$b] = $this->pushBooking();
		$this->setSyncChoice('kc_meet_on_google_delete', 'cancel');
		$id = $b['id'];
		$before = count($this->emu()->requests());
		$this->emu()->call('POST', '/__emu/ui/delete', ['email' => self::GOOGLE_EMAIL, 'event_id' => $b['meeting']['id']]);
		$this->awaitDeliveries();
		$this->assertSame(0, (int) $this->appointmentRow($id)['status'], 'cancelled in KiviCare');
		$this->assertSame([], $this->liveEvents(), 'and not recreated at Google');
		$this->assertSame([], $this->mappingRows($id));
		$writes = array_filter($this->requestsSince($before), static fn($r) => strpos($r['path'], '/calendar/v3/') === 0 && !in_array($r['method'], ['GET'], true));
		$this->assertSame([], array_values($writes), "KiviCare's cancellation hooks fired by the plugin made no Google write");
		$this->assertContains('cancelled', array_column($this->auditRows($id), 'outcome'));
	}

	public function test_notification_with_a_wrong_channel_token_is_refused_with_403_and_changes_nothing(): void {
		[$b] = $this->pushBooking();
		$channel = $this->channel();
		$row = $this->appointmentRow($b['id']);
		$lastMessage = $this->wpOk('return kc_meet_channels(0)["channels"][0]["last_message"];');
		$before = count($this->emu()->requests());
		$r = $this->http()->post('/wp-json/kc-meet/v1/notify', '', [
			'X-Goog-Channel-ID'      => $channel['id'],
			'X-Goog-Channel-Token'   => 'forged-token-0000000000000000000000000000',
			'X-Goog-Resource-ID'     => $channel['resource_id'],
			'X-Goog-Resource-URI'    => $channel['resource_uri'],
			'X-Goog-Resource-State'  => 'exists',
			'X-Goog-Message-Number'  => (string) ($lastMessage + 1),
			'X-Goog-Channel-Expiration' => gmdate('D, d M Y H:i:s', intdiv($channel['expiration'], 1000)) . ' GMT',
		]);
		$this->assertSame(403, $r->status, $r->describe());
		$this->assertSame('', $r->body, 'the route answers without a body');
		$this->assertSame([], $this->requestsSince($before), 'no Google request for a forged message');
		$this->assertSame($row, $this->appointmentRow($b['id']));
		$this->assertSame($lastMessage, $this->wpOk('return kc_meet_channels(0)["channels"][0]["last_message"];'));
	}

	public function test_notification_for_an_unknown_channel_is_refused_with_404(): void {
		$this->readyToBook();
		$before = count($this->emu()->requests());
		$r = $this->http()->post('/wp-json/kc-meet/v1/notify', '', [
			'X-Goog-Channel-ID'     => 'kcm-no-such-channel',
			'X-Goog-Channel-Token'  => 'whatever',
			'X-Goog-Resource-ID'    => 'no-such-resource',
			'X-Goog-Resource-State' => 'exists',
			'X-Goog-Message-Number' => '2',
		]);
		$this->assertSame(404, $r->status, $r->describe());
		$this->assertSame([], $this->requestsSince($before));
	}

	public function test_notification_without_google_headers_is_refused_with_400(): void {
		$this->readyToBook();
		$r = $this->http()->post('/wp-json/kc-meet/v1/notify', '');
		$this->assertSame(400, $r->status, $r->describe());
	}

	// ------------------------------------------------------------------ polling: wp kc-meet sync

	public function test_wp_kc_meet_sync_applies_a_move_and_fires_kc_meet_appointment_changed_in_google(): void {
		// No push (the default emulator refuses http:// web hooks): changes arrive by polling.
		$this->readyToBook();
		$b = $this->kc4Book(self::day(7));
		$id = $b['id'];
		$day = self::day(7);
		$first = $this->wpCli(['kc-meet', 'sync', '--format=json'])->cli();
		$this->assertSame(0, $first['exit_code'], 'first sync: ' . json_encode($first));
		$this->uiMove($b['meeting']['id'], self::berlinAt($day, '12:00'), self::berlinAt($day, '12:30'));
		$r = $this->wpOk(['cli' => true, 'code' => '
			$seen = [];
			add_action("kc_meet_appointment_changed_in_google", function ($change, $context) use (&$seen) { $seen[] = [$change, $context]; }, 10, 2);
			$exit = WP_CLI::run_command(["kc-meet", "sync", "--format=json"]);
			return ["exit" => $exit, "stdout" => WP_CLI::$stdout, "stderr" => WP_CLI::$stderr, "seen" => $seen];']);
		$this->assertSame(0, $r['exit'], json_encode($r));
		$rows = json_decode((string) strtok($r['stdout'], "\n"), true);
		$this->assertSame($this->id('doctor'), $rows[0]['doctor_id'] ?? null, $r['stdout']);
		$this->assertSame(1, $rows[0]['changes_applied'] ?? null, $r['stdout']);
		$this->assertCount(1, $r['seen'], 'kc_meet_appointment_changed_in_google fired once: ' . json_encode($r['seen']));
		[$change, $context] = $r['seen'][0];
		$this->assertSame('cli', $context);
		$this->assertSame($id, $change['appointment_id']);
		$this->assertSame('moved', $change['kind']);
		$this->assertSame($b['meeting']['id'], $change['event_id']);
		$this->assertSame(gmdate('Y-m-d H:i:s', strtotime(self::berlinAt($day, '12:00'))), $change['to_start_utc']);
		$this->assertSame(gmdate('Y-m-d H:i:s', strtotime(self::berlinAt($day, '10:00'))), $change['from_start_utc']);
		$row = $this->appointmentRow($id);
		$this->assertSame('12:00:00', $row['appointment_start_time']);
		$this->assertSame('12:30:00', $row['appointment_end_time']);
		$this->assertContains('moved', array_column($this->auditRows($id), 'outcome'));

		$again = $this->wpCli(['kc-meet', 'sync', '--format=json'])->cli();
		$this->assertSame(0, json_decode((string) strtok($again['stdout'], "\n"), true)[0]['changes_applied'] ?? null, 'a second sync finds nothing new: ' . $again['stdout']);
	}

	public function test_sync_cron_hook_applies_a_deletion_as_a_review_flag(): void {
		$this->readyToBook();
		$b = $this->kc4Book(self::day(7));
		$this->wpOk('do_action("kc_meet_sync");'); // first pass: nothing changed in Google yet
		$this->emu()->call('POST', '/__emu/ui/delete', ['email' => self::GOOGLE_EMAIL, 'event_id' => $b['meeting']['id']]);
		$r = $this->wpOk('
			$seen = [];
			add_action("kc_meet_appointment_changed_in_google", function ($change, $context) use (&$seen) { $seen[] = [$change["kind"], $change["appointment_id"], $context]; }, 10, 2);
			do_action("kc_meet_sync");
			return ["seen" => $seen, "flagged" => array_column(KC_Meet_Sync_Changes::flagged(), "appointment_id")];');
		$this->assertSame([['deleted_flagged', $b['id'], 'cron']], $r['seen']);
		$this->assertSame([$b['id']], $r['flagged']);
		$this->assertSame(1, (int) $this->appointmentRow($b['id'])['status']);
		$this->assertSame([], $this->mappingRows($b['id']));
	}

	public function test_wp_kc_meet_sync_without_connected_doctors_says_so(): void {
		$this->configureOAuth();
		$cli = $this->wpCli(['kc-meet', 'sync'])->cli();
		$this->assertSame(0, $cli['exit_code'], json_encode($cli));
		$this->assertStringContainsString('Success: No connected doctor to sync.', $cli['stdout']);
		$this->assertSame([], $this->emu()->requests());
	}
}
