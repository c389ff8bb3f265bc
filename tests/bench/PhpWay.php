<?php
/**
 * The bench's reference: the same Google requests and the same rows as kc-meet, written the way
 * a PHP WordPress plugin does it (the vendor add-on's shape) — the WordPress HTTP API
 * (`wp_remote_request`: Requests + curl, a new connection per request) and `$wpdb`.
 *
 * Written fairly: no query that kc-meet does not need to do too (the appointment, the doctor's
 * token from user meta, the patient's e-mail, the mapping row), the token refreshed only when it
 * expires, the same event body (summary, times with the time zone, the patient as attendee, a
 * Meet create request) and the same `conferenceDataVersion=1` / `sendUpdates` parameters.
 */
final class KC_Bench_Php_Way {
	/** User meta holding the PHP way's OAuth token (JSON: access_token, refresh_token, expires_at). */
	const TOKEN_META = 'kc_bench_php_token';

	public function __construct(private string $calendar, private string $tokenUrl, private string $clientId, private string $clientSecret, private ?string $caFile) {
	}

	/** Creates the appointment's event unless it has one: 'created' or 'unchanged'. */
	public function create(int $id): string {
		global $wpdb;
		$mapped = $wpdb->get_var($wpdb->prepare("SELECT event_id FROM {$wpdb->prefix}kc_appointment_google_meet_mappings WHERE appointment_id = %d LIMIT 1", $id));
		if ($mapped) {
			return 'unchanged';
		}
		$a = $this->appointment($id);
		$patient = get_userdata((int) $a->patient_id);
		$body = [
			'summary' => 'Video consultation',
			'start' => ['dateTime' => $this->rfc3339($a->appointment_start_date, $a->appointment_start_time), 'timeZone' => wp_timezone_string()],
			'end' => ['dateTime' => $this->rfc3339($a->appointment_end_date, $a->appointment_end_time), 'timeZone' => wp_timezone_string()],
			'attendees' => [['email' => $patient ? $patient->user_email : '']],
			'visibility' => 'private',
			'conferenceData' => ['createRequest' => ['requestId' => 'php' . $id, 'conferenceSolutionKey' => ['type' => 'hangoutsMeet']]],
		];
		$event = $this->google('POST', '/calendars/primary/events?conferenceDataVersion=1&sendUpdates=all', (int) $a->doctor_id, $body);
		$wpdb->insert($wpdb->prefix . 'kc_appointment_google_meet_mappings', [
			'appointment_id' => $id,
			'event_id' => $event['id'],
			'url' => $event['hangoutLink'] ?? '',
			'event_url' => $event['htmlLink'] ?? '',
			'created_at' => current_time('mysql'),
		]);
		return 'created';
	}

	/** Moves the event to the appointment's times (start and end only: the Meet link stays). */
	public function reschedule(int $id): string {
		global $wpdb;
		$event = $wpdb->get_var($wpdb->prepare("SELECT event_id FROM {$wpdb->prefix}kc_appointment_google_meet_mappings WHERE appointment_id = %d LIMIT 1", $id));
		$a = $this->appointment($id);
		$this->google('PATCH', '/calendars/primary/events/' . rawurlencode((string) $event) . '?sendUpdates=all', (int) $a->doctor_id, [
			'start' => ['dateTime' => $this->rfc3339($a->appointment_start_date, $a->appointment_start_time), 'timeZone' => wp_timezone_string()],
			'end' => ['dateTime' => $this->rfc3339($a->appointment_end_date, $a->appointment_end_time), 'timeZone' => wp_timezone_string()],
		]);
		return 'updated';
	}

	/** Deletes the event (attendees told) and the mapping row. */
	public function cancel(int $id): string {
		global $wpdb;
		$row = $wpdb->get_row($wpdb->prepare("SELECT m.event_id, a.doctor_id FROM {$wpdb->prefix}kc_appointment_google_meet_mappings m JOIN {$wpdb->prefix}kc_appointments a ON a.id = m.appointment_id WHERE m.appointment_id = %d LIMIT 1", $id));
		$this->google('DELETE', '/calendars/primary/events/' . rawurlencode((string) $row->event_id) . '?sendUpdates=all', (int) $row->doctor_id, null);
		$wpdb->delete($wpdb->prefix . 'kc_appointment_google_meet_mappings', ['appointment_id' => $id]);
		return 'deleted';
	}

	/**
	 * A listing of the doctor's calendar, full (no sync token) or incremental: every page, each
	 * of our events (by its mapping row, one query per page) compared with the etag stored in the
	 * row's `extra`; a changed one is applied (the appointment's times and the etag written).
	 * Returns counts and the next sync token.
	 */
	public function sync_listing(int $doctor, string $timeMin, string $timeMax, ?string $syncToken = null): array {
		global $wpdb;
		$ours = 0;
		$changed = 0;
		$seen = 0;
		$pages = 0;
		$page = null;
		$next = null;
		$table = $wpdb->prefix . 'kc_appointment_google_meet_mappings';
		do {
			$q = $syncToken !== null ? ['syncToken' => $syncToken] : ['timeMin' => $timeMin, 'timeMax' => $timeMax, 'showDeleted' => 'true'];
			$q['maxResults'] = 2500;
			if ($page !== null) {
				$q['pageToken'] = $page;
			}
			$r = $this->google('GET', '/calendars/primary/events?' . http_build_query($q), $doctor, null);
			$pages++;
			$items = [];
			foreach ($r['items'] ?? [] as $item) {
				$seen++;
				$items[(string) $item['id']] = $item;
			}
			if ($items) {
				// One query per page for the page's events that are ours.
				$in = implode(',', array_fill(0, count($items), '%s'));
				$known = $wpdb->get_results($wpdb->prepare("SELECT appointment_id, event_id, extra FROM $table WHERE event_id IN ($in)", array_keys($items)));
				foreach ($known as $row) {
					$ours++;
					$item = $items[$row->event_id];
					if ((string) $row->extra === (string) ($item['etag'] ?? '') || empty($item['start']['dateTime'])) {
						continue;
					}
					$changed++;
					$start = new DateTimeImmutable($item['start']['dateTime']);
					$end = new DateTimeImmutable($item['end']['dateTime']);
					$tz = wp_timezone();
					$wpdb->update($wpdb->prefix . 'kc_appointments', [
						'appointment_start_date' => $start->setTimezone($tz)->format('Y-m-d'), 'appointment_start_time' => $start->setTimezone($tz)->format('H:i:s'),
						'appointment_end_date' => $end->setTimezone($tz)->format('Y-m-d'), 'appointment_end_time' => $end->setTimezone($tz)->format('H:i:s'),
					], ['id' => (int) $row->appointment_id]);
					$wpdb->update($table, ['extra' => (string) $item['etag']], ['appointment_id' => (int) $row->appointment_id]);
				}
			}
			$page = $r['nextPageToken'] ?? null;
			$next = $r['nextSyncToken'] ?? $next;
		} while ($page !== null);
		return ['state' => 'synced', 'pages' => $pages, 'seen' => $seen, 'ours' => $ours, 'changes' => $changed, 'next_sync_token' => $next];
	}

	private function appointment(int $id): object {
		global $wpdb;
		$a = $wpdb->get_row($wpdb->prepare("SELECT * FROM {$wpdb->prefix}kc_appointments WHERE id = %d", $id));
		if (!$a) {
			throw new RuntimeException("no appointment $id");
		}
		return $a;
	}

	private function rfc3339(string $date, string $time): string {
		return (new DateTimeImmutable("$date $time", wp_timezone()))->format(DATE_RFC3339);
	}

	private function token(int $doctor): string {
		$t = json_decode((string) get_user_meta($doctor, self::TOKEN_META, true), true);
		if (!is_array($t) || empty($t['refresh_token'])) {
			throw new RuntimeException("doctor $doctor has no token");
		}
		if (($t['expires_at'] ?? 0) > time() + 60) {
			return (string) $t['access_token'];
		}
		$r = wp_remote_post($this->tokenUrl, $this->args([
			'body' => ['grant_type' => 'refresh_token', 'refresh_token' => $t['refresh_token'], 'client_id' => $this->clientId, 'client_secret' => $this->clientSecret],
		]));
		$j = json_decode(wp_remote_retrieve_body($r), true);
		if (!is_array($j) || empty($j['access_token'])) {
			throw new RuntimeException('refresh failed: HTTP ' . wp_remote_retrieve_response_code($r));
		}
		$t['access_token'] = $j['access_token'];
		$t['expires_at'] = time() + (int) $j['expires_in'];
		update_user_meta($doctor, self::TOKEN_META, wp_json_encode($t));
		return (string) $t['access_token'];
	}

	private function google(string $method, string $path, int $doctor, ?array $body): array {
		$args = ['method' => $method, 'headers' => ['Authorization' => 'Bearer ' . $this->token($doctor)]];
		if ($body !== null) {
			$args['headers']['Content-Type'] = 'application/json';
			$args['body'] = wp_json_encode($body);
		}
		$r = wp_remote_request($this->calendar . $path, $this->args($args));
		if (is_wp_error($r)) {
			throw new RuntimeException('Google unreachable: ' . $r->get_error_message());
		}
		$code = (int) wp_remote_retrieve_response_code($r);
		if ($code >= 300 && !($method === 'DELETE' && in_array($code, [404, 410], true))) {
			throw new RuntimeException("Google answered HTTP $code");
		}
		return (array) json_decode(wp_remote_retrieve_body($r), true);
	}

	private function args(array $args): array {
		$args['timeout'] = 20;
		if ($this->caFile !== null) {
			$args['sslcertificates'] = $this->caFile;
		}
		return $args;
	}
}
