<?php
namespace KcMeetTest;

/**
 * KiviCare fixtures for the appointment and sync tests (use in a WpTestCase):
 * clinics, services and appointments as KiviCare core writes them (KIVICARE.md), the 4.x booking
 * scenario (scenarios/kc4-book.php), and readers of what Google (the emulator) and our tables hold.
 */
trait KiviCareFixtures {
	/** @var array{clinic:int, services:array<string,int>}|null */
	protected ?array $kc = null;

	/**
	 * OAuth client configured (as WpTestCase::configureOAuth() does), the doctor connected as
	 * GOOGLE_EMAIL through the plugin's callback, a clinic with telemed services. One WordPress run
	 * does the settings and the authorization URL (the suites book in almost every test).
	 * $site: options to set first in the same run (e.g. 'home').
	 */
	protected function readyToBook(array $services = ['Video Consultation' => 'yes'], array $site = []): array {
		$r = $this->wpOk('
			foreach ($args["site"] as $k => $v) { update_option($k, $v); }
			$s = get_option("kiviCare_google_meet_setting", []);
			$s = is_array($s) ? $s : [];
			$s = array_merge($s, ["client_id" => $args["id"], "client_secret" => $args["secret"], "enabled" => true, "enableCal" => "Yes", "auth_type" => "oauth"]);
			update_option("kiviCare_google_meet_setting", $s);
			return ["redirect_uri" => KC_Meet_Config::redirect_uri(), "auth_url" => kc_meet_auth_url((int) $args["d"], (int) $args["d"])];',
			['site' => (object) $site, 'id' => self::CLIENT_ID, 'secret' => self::CLIENT_SECRET, 'd' => $this->id('doctor')]);
		$this->emu()->registerClient(self::CLIENT_ID, self::CLIENT_SECRET, [$r['redirect_uri']]);
		$consent = $this->emu()->authorize($r['auth_url'], 'allow', self::GOOGLE_EMAIL);
		$this->assertSame(200, $consent['_status'], 'emulator consent: ' . json_encode($consent));
		$cb = $this->loggedIn('doctor')->get($consent['redirect']);
		$this->assertSame('connected', self::query((string) $cb->location())['kc_meet_result'] ?? null, 'doctor connects: ' . $cb->describe());
		return $this->kc = $this->kcClinic($services);
	}

	/**
	 * A clinic and services mapped to a doctor (committed). $services: name => telemed 'yes'|'no'.
	 * @return array{clinic:int, services:array<string,int>}
	 */
	protected function kcClinic(array $services = ['Video Consultation' => 'yes'], string $doctor = 'doctor'): array {
		$now = gmdate('Y-m-d H:i:s');
		Db::query($this->db, 'INSERT INTO wp_kc_clinics (name, email, address, city, postal_code, country, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
			['Princeton Plainsboro', 'clinic@example.org', '1 Hospital Rd', 'Princeton', '08540', 'US', $now]);
		$clinic = (int) Db::value($this->db, 'SELECT MAX(id) FROM wp_kc_clinics');
		$ids = [];
		foreach ($services as $name => $telemed) {
			Db::query($this->db, 'INSERT INTO wp_kc_services (type, name, price, created_at) VALUES (?, ?, ?, ?)', ['consult', $name, '50', $now]);
			$ids[$name] = (int) Db::value($this->db, 'SELECT MAX(id) FROM wp_kc_services');
			Db::query($this->db, 'INSERT INTO wp_kc_service_doctor_mapping (service_id, clinic_id, doctor_id, telemed_service, charges, duration, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
				[$ids[$name], $clinic, $this->id($doctor), $telemed, '50', 30, $now]);
		}
		return ['clinic' => $clinic, 'services' => $ids];
	}

	/**
	 * An appointment row committed in MySQL (as core 3.x writes it: local date/time columns; UTC
	 * columns NULL unless given in $row). $services: service ids whose rows to add (null: all of the
	 * fixture's telemed services; [] none).
	 */
	protected function kcAppointment(string $day, string $start = '10:00:00', string $end = '10:30:00', array $row = [], ?array $services = null): int {
		$row += [
			'appointment_start_date' => $day,
			'appointment_start_time' => $start,
			'appointment_end_date'   => $day,
			'appointment_end_time'   => $end,
			'visit_type'             => 'consultation',
			'clinic_id'              => $this->kc['clinic'],
			'doctor_id'              => $this->id('doctor'),
			'patient_id'             => $this->id('patient'),
			'status'                 => 1,
			'description'            => 'booked by reception',
			'created_at'             => gmdate('Y-m-d H:i:s'),
		];
		$cols = array_keys($row);
		Db::query($this->db, 'INSERT INTO wp_kc_appointments (' . implode(', ', $cols) . ') VALUES (' . implode(', ', array_fill(0, count($cols), '?')) . ')', array_values($row));
		$id = (int) Db::value($this->db, 'SELECT MAX(id) FROM wp_kc_appointments');
		$this->kcServiceRows($id, $services ?? array_values($this->kc['services']));
		return $id;
	}

	protected function kcServiceRows(int $appointmentId, array $serviceIds): void {
		foreach ($serviceIds as $sid) {
			Db::query($this->db, 'INSERT INTO wp_kc_appointment_service_mapping (appointment_id, service_id, status, created_at) VALUES (?, ?, 1, ?)',
				[$appointmentId, $sid, gmdate('Y-m-d H:i:s')]);
		}
	}

	/** KiviCare 4.x booking through scenarios/kc4-book.php (core's transaction, provider, action, model read). */
	protected function kc4Book(string $day, array $args = []): array {
		$args += [
			'doctor'   => $this->id('doctor'),
			'patient'  => $this->id('patient'),
			'clinic'   => $this->kc['clinic'],
			'services' => array_values($this->kc['services']),
			'topic'    => implode(', ', array_keys($this->kc['services'])),
			'day'      => $day,
		];
		return $this->wpOk(['kc_core' => '4', 'scenario' => 'kc4-book', 'args' => $args]);
	}

	/** Runs PHP in WordPress with KiviCare 4.x's stand-in loaded; $p is the doctor's provider as core picks it. */
	protected function kc4(string $code, array $args = []) {
		return $this->wpOk(['kc_core' => '4', 'args' => $args, 'code' => '
			$p = \KcMeetTestBed\KCTelemedFactoryStandIn::provider_for_doctor(' . $this->id('doctor') . ');
			if (!$p) { throw new RuntimeException("core found no telemed provider for the doctor"); }
			' . $code]);
	}

	/** A day $days ahead (site time is UTC in the template). */
	/**
	 * A Berlin (the test site's zone) wall-clock slot on $day as core 4.x sends it: ISO 8601 with
	 * the offset Berlin has on that date (`start`, `end`), and the same instants in UTC as the
	 * 4.2+ columns hold them (`start_utc`, `end_utc`).
	 */
	protected static function berlin(string $day, string $start, string $end): array {
		$zone = new \DateTimeZone('Europe/Berlin');
		$utc  = new \DateTimeZone('UTC');
		$s    = new \DateTimeImmutable("$day $start", $zone);
		$e    = new \DateTimeImmutable("$day $end", $zone);
		return [
			'start'     => $s->format('c'),
			'end'       => $e->format('c'),
			'start_utc' => $s->setTimezone($utc)->format('Y-m-d H:i:s'),
			'end_utc'   => $e->setTimezone($utc)->format('Y-m-d H:i:s'),
		];
	}

	protected static function day(int $days = 7): string {
		return gmdate('Y-m-d', time() + $days * 86400);
	}

	// ------------------------------------------------------------------ what Google holds

	/** Every event of a calendar (deleted ones included), as the emulator holds them. */
	protected function googleEvents(string $email = WpTestCase::GOOGLE_EMAIL): array {
		return $this->emu()->call('GET', '/__emu/events?email=' . rawurlencode($email))['events'];
	}

	/** Events that are not cancelled. */
	protected function liveEvents(string $email = WpTestCase::GOOGLE_EMAIL): array {
		return array_values(array_filter($this->googleEvents($email), static fn($e) => ($e['status'] ?? '') !== 'cancelled'));
	}

	protected function googleEvent(string $eventId, string $email = WpTestCase::GOOGLE_EMAIL): ?array {
		foreach ($this->googleEvents($email) as $e) {
			if ($e['id'] === $eventId) {
				return $e;
			}
		}
		return null;
	}

	protected function meetLink(array $event): ?string {
		foreach ($event['conferenceData']['entryPoints'] ?? [] as $ep) {
			if (($ep['entryPointType'] ?? '') === 'video') {
				return $ep['uri'];
			}
		}
		return $event['hangoutLink'] ?? null;
	}

	/** Unix time of an event's start/end ({dateTime, timeZone?}). */
	protected static function instant(array $t): int {
		$dt = $t['dateTime'];
		if (preg_match('/(Z|[+-]\d{2}:\d{2})$/i', $dt)) {
			return (new \DateTimeImmutable($dt))->getTimestamp();
		}
		return (new \DateTimeImmutable($dt, new \DateTimeZone($t['timeZone'])))->getTimestamp();
	}

	protected function notifications(): array {
		return $this->emu()->call('GET', '/__emu/notifications')['notifications'];
	}

	// ------------------------------------------------------------------ our tables

	protected function mappingRows(int $appointmentId): array {
		return Db::query($this->db, 'SELECT * FROM wp_kc_appointment_google_meet_mappings WHERE appointment_id = ? ORDER BY id', [$appointmentId]);
	}

	protected function jobRows(?int $appointmentId = null): array {
		return $appointmentId === null
			? Db::query($this->db, 'SELECT * FROM wp_kc_meet_jobs ORDER BY id')
			: Db::query($this->db, 'SELECT * FROM wp_kc_meet_jobs WHERE appointment_id = ? ORDER BY id', [$appointmentId]);
	}

	protected function auditRows(int $appointmentId): array {
		return Db::query($this->db, 'SELECT * FROM wp_kc_meet_audit WHERE appointment_id = ? ORDER BY id', [$appointmentId]);
	}

	protected function appointmentRow(int $id): ?array {
		$rows = Db::query($this->db, 'SELECT * FROM wp_kc_appointments WHERE id = ?', [$id]);
		return $rows[0] ?? null;
	}
}
