<?php
declare(strict_types=1);

require_once dirname(__DIR__) . '/lib/KiviCare.php';

/**
 * Abuse at the PHP boundary: every native function with wrong types, negative and huge ids,
 * empty and 1 MB strings, invalid UTF-8 and SQL metacharacters. Each call gets a clear error
 * (TypeError / ValueError / ArgumentCountError, or a KcMeet\Exception with a stable code and a
 * short message), the database is left as it was, Google hears nothing it should not, and the
 * process keeps working.
 */
final class AbuseTest extends KcMeetTestCase {
	private const STABLE_CODES = [1001, 1002, 1003, 1004, 2001, 2002, 2003, 3001, 3002, 4001, 4002, 4003, 4004, 4005, 5001];
	private const SQL = "1' OR '1'='1'; DROP TABLE wp_usermeta; -- ";
	private const BAD_UTF8 = "\xff\xfe\xc3\x28 \xed\xa0\x80";

	private int $appointment;

	protected function setUp(): void {
		parent::setUp();
		$m = self::admin($this->db);
		kc_test_kivicare($m, [2]);
		$this->appointment = kc_test_book($m, 2, '2031-05-06 08:00:00', '2031-05-06 08:30:00');
		$this->connectDoctor(2, 'doc@example.com');
		$this->assertSame('created', kc_meet_create_event($this->appointment)['state']);
		$this->emu->call('DELETE', '/__emu/requests');
	}

	/** A checksum per table (the audit trail may note refused calls; it is left out). */
	private function snapshot(): array {
		$m = self::admin($this->db);
		$out = [];
		foreach ($m->query('SHOW TABLES')->fetch_all() as [$t]) {
			if (!str_contains($t, 'audit')) {
				$out[$t] = $m->query("CHECKSUM TABLE `$t`")->fetch_row()[1];
			}
		}
		return $out;
	}

	/**
	 * What is wrong with how $call failed (null: a clear error of $class, the database as it was).
	 * Problems are collected, so one broken case does not hide the others.
	 */
	private function problemOf(callable $call, string $label, ?string $class, array $before): ?string {
		try {
			$r = $call();
			$problem = "$label: accepted, returned " . substr(var_export($r, true), 0, 200);
		} catch (TypeError | ValueError | ArgumentCountError $e) {
			$problem = stripos($e->getMessage(), 'panic') !== false ? "$label: a Rust panic: {$e->getMessage()}" : null;
		} catch (KcMeet\Exception $e) {
			$msg = $e->getMessage();
			$problem = match (true) {
				!in_array($e->getCode(), self::STABLE_CODES, true) => "$label: unstable code {$e->getCode()}: " . substr($msg, 0, 200),
				strlen($msg) > 2000 => "$label: the message echoes the input back (" . strlen($msg) . ' bytes)',
				!mb_check_encoding($msg, 'UTF-8') => "$label: the message is not valid UTF-8",
				default => null,
			};
		} catch (Throwable $e) {
			$problem = "$label: threw " . get_class($e) . ': ' . substr($e->getMessage(), 0, 200);
		}
		if ($problem === null && isset($e) && $class !== null && !$e instanceof $class) {
			$problem = "$label: expected $class, got " . get_class($e) . ' ' . $e->getCode() . ': ' . substr($e->getMessage(), 0, 200);
		}
		if ($problem === null && $before !== $this->snapshot()) {
			$problem = "$label: changed the database";
		}
		return $problem;
	}

	/** Runs $cases (label => callable): each must be refused with a clear error and change nothing. */
	private function allRefused(array $cases, ?string $class = null, bool $googleSilent = true): void {
		$before = $this->snapshot();
		$problems = [];
		foreach ($cases as $label => $call) {
			if (($p = $this->problemOf($call, $label, $class, $before)) !== null) {
				$problems[] = $p;
				$before = $this->snapshot();
			}
		}
		$this->assertSame([], $problems, count($problems) . ' of ' . count($cases) . ' abusive calls were not refused cleanly');
		if ($googleSilent) {
			$this->assertSame([], array_column($this->emu->requests(), 'path'), 'refused calls never reach Google');
		}
		$this->assertStillWorking();
	}

	private function assertStillWorking(): void {
		$this->assertSame('connected', kc_meet_status(2)['status']);
		$this->assertSame($this->appointment, kc_meet_appointment_state($this->appointment)['appointment_id']);
	}

	/** @return array<string, ReflectionFunction> every kc_meet_* function */
	private static function natives(): array {
		$out = [];
		foreach ((new ReflectionExtension('kc_meet'))->getFunctions() as $name => $f) {
			$out[$name] = $f;
		}
		ksort($out);
		return $out;
	}

	/** A valid value for a parameter (so that only one argument at a time is wrong). */
	private function valid(ReflectionParameter $p) {
		$t = (string) $p->getType();
		return match (ltrim($t, '?')) {
			'int' => $p->getName() === 'limit' ? 5 : ($p->getName() === 'appointment_id' ? $this->appointment : 2),
			'float' => 1.0,
			'string' => 'x',
			'array' => [],
			default => null,
		};
	}

	public function test_every_function_refuses_wrong_types_and_wrong_argument_counts(): void {
		$cases = [];
		foreach (self::natives() as $name => $f) {
			$params = $f->getParameters();
			foreach ($params as $i => $p) {
				$type = ltrim((string) $p->getType(), '?');
				$wrongs = match ($type) {
					'int' => ['string' => 'abc', 'numeric string' => '2', 'array' => [2], 'float' => 2.5, 'null' => null],
					'float' => ['string' => 'soon', 'array' => [1.0]],
					'string' => ['array' => ['x'], 'int' => 7, 'object' => new stdClass()],
					'array' => ['string' => 'x', 'int' => 1, 'object' => new stdClass()],
					default => [],
				};
				if ($p->allowsNull()) {
					unset($wrongs['null']);
				}
				foreach ($wrongs as $what => $bad) {
					$args = array_map(fn($q) => $this->valid($q), $params);
					$args[$i] = $bad;
					$cases["$name(\$" . $p->getName() . " = $what)"] = static fn() => $name(...$args);
				}
			}
			$required = $f->getNumberOfRequiredParameters();
			if ($required > 0) {
				$args = array_map(fn($q) => $this->valid($q), array_slice($params, 0, $required - 1));
				$cases["$name() with too few arguments"] = static fn() => $name(...$args);
			}
			$args = array_map(fn($q) => $this->valid($q), $params);
			$args[] = 'extra';
			$cases["$name() with one argument too many"] = static fn() => $name(...$args);
		}
		$this->assertGreaterThan(60, count($cases));
		$this->allRefused($cases, TypeError::class);
	}

	public function test_negative_zero_and_huge_ids_are_invalid_arguments(): void {
		$cases = [];
		$a = $this->appointment;
		foreach (['-1' => -1, '0' => 0, 'PHP_INT_MIN' => PHP_INT_MIN] as $what => $id) {
			$cases += [
				"kc_meet_auth_url(doctor $what)" => static fn() => kc_meet_auth_url($id, 1),
				"kc_meet_auth_url(initiator $what)" => static fn() => kc_meet_auth_url(2, $id),
				"kc_meet_connect($what)" => static fn() => kc_meet_connect($id, 'code', 'state'),
				"kc_meet_connect_postmessage($what)" => static fn() => kc_meet_connect_postmessage($id, 'code'),
				"kc_meet_status($what)" => static fn() => kc_meet_status($id),
				"kc_meet_check_connection($what)" => static fn() => kc_meet_check_connection($id),
				"kc_meet_disconnect($what)" => static fn() => kc_meet_disconnect($id),
				"kc_meet_create_event($what)" => static fn() => kc_meet_create_event($id),
				"kc_meet_update_event($what)" => static fn() => kc_meet_update_event($id, ['status' => 0]),
				"kc_meet_delete_event($what)" => static fn() => kc_meet_delete_event($id),
				"kc_meet_retry_job($what)" => static fn() => kc_meet_retry_job($id),
				"kc_meet_appointment_state($what)" => static fn() => kc_meet_appointment_state($id),
				"kc_meet_mapping($what)" => static fn() => kc_meet_mapping($id),
				"kc_meet_stop_channels($what)" => static fn() => kc_meet_stop_channels($id),
				"kc_meet_run_jobs(limit $what)" => static fn() => kc_meet_run_jobs($id, 1.0),
			];
			if ($id !== 0) {
				$cases["kc_meet_channels($what)"] = static fn() => kc_meet_channels($id);
			}
		}
		// Ids nobody has: the writes refuse them; nothing is created for them.
		foreach (['PHP_INT_MAX' => PHP_INT_MAX, '2^53 + 1' => 2 ** 53 + 1] as $what => $id) {
			$cases += [
				"kc_meet_auth_url(doctor $what)" => static fn() => kc_meet_auth_url($id, 1),
				"kc_meet_create_event($what)" => static fn() => kc_meet_create_event($id),
				"kc_meet_update_event($what)" => static fn() => kc_meet_update_event($id),
				"kc_meet_retry_job($what)" => static fn() => kc_meet_retry_job($id),
				"kc_meet_run_jobs(limit $what)" => static fn() => kc_meet_run_jobs($id, 1.0),
				"kc_meet_check_connection($what)" => static fn() => kc_meet_check_connection($id),
			];
		}
		foreach (['-1.0' => -1.0, 'NAN' => NAN, 'INF' => INF, '-INF' => -INF, '1e300' => 1e300] as $what => $budget) {
			$cases["kc_meet_run_jobs(budget $what)"] = static fn() => kc_meet_run_jobs(5, $budget);
		}
		$this->allRefused($cases, KcMeet\Exception::class);
		$invalid = array_filter($cases, static fn($label) => !preg_match('/PHP_INT_MAX|2\^53|check_connection/', $label), ARRAY_FILTER_USE_KEY);
		$this->allRefused($invalid, KcMeet\InvalidArgumentException::class);
		// Deleting what does not exist is no error, but it must not touch anything either.
		$before = $this->snapshot();
		foreach ([PHP_INT_MAX, 2 ** 53 + 1] as $id) {
			kc_meet_delete_event($id);
			$this->assertNull(kc_meet_mapping($id));
			$this->assertSame('not_connected', kc_meet_status($id)['status']);
		}
		$this->assertSame($before, $this->snapshot());
	}

	public function test_oauth_strings_empty_huge_invalid_utf8_and_sql_are_refused(): void {
		$mb = str_repeat('A', 1 << 20);
		$cases = [];
		foreach (['empty' => '', '1 MB' => $mb, 'invalid UTF-8' => self::BAD_UTF8, 'SQL' => self::SQL, 'NUL' => "a\0b"] as $what => $s) {
			$cases["kc_meet_connect(code $what)"] = static fn() => kc_meet_connect(2, $s, '2.forged-state');
			$cases["kc_meet_connect(state $what)"] = static fn() => kc_meet_connect(2, 'some-code', $s);
		}
		$this->allRefused($cases);
		// A bad popup code is Google's to refuse, but refusing it must not disconnect the doctor.
		$popup = [];
		foreach (['empty' => '', '1 MB' => $mb, 'invalid UTF-8' => self::BAD_UTF8, 'SQL' => self::SQL] as $what => $s) {
			$popup["kc_meet_connect_postmessage(code $what)"] = static fn() => kc_meet_connect_postmessage(2, $s);
		}
		$this->allRefused($popup, null, false);
		foreach ($this->emu->requests() as $r) {
			$this->assertSame('/token', $r['path'], 'a refused code reaches nothing but the token endpoint');
		}
	}

	public function test_oauth_strings_that_are_not_utf8_are_invalid_arguments(): void {
		$cases = [
			'kc_meet_connect(code invalid UTF-8)' => static fn() => kc_meet_connect(2, self::BAD_UTF8, '2.some-state'),
			'kc_meet_connect(state invalid UTF-8)' => static fn() => kc_meet_connect(2, 'some-code', self::BAD_UTF8),
			'kc_meet_connect_postmessage(code invalid UTF-8)' => static fn() => kc_meet_connect_postmessage(2, self::BAD_UTF8),
		];
		$this->allRefused($cases, KcMeet\InvalidArgumentException::class);
		try {
			kc_meet_connect(2, 'some-code', self::BAD_UTF8);
			$this->fail('accepted');
		} catch (KcMeet\InvalidArgumentException $e) {
			$this->assertSame(5001, $e->getCode());
			$this->assertStringContainsString('state', $e->getMessage(), 'the message names the argument');
		}
	}

	public function test_appointment_arrays_with_bad_values_are_invalid_arguments(): void {
		$a = $this->appointment;
		$mb = str_repeat('9', 1 << 20);
		$bad = [
			'doctor_id SQL' => ['doctor_id' => self::SQL],
			'doctor_id negative' => ['doctor_id' => -5],
			'status text' => ['status' => 'booked'],
			'start 1 MB' => ['start' => $mb, 'end' => $mb],
			'start invalid UTF-8' => ['start' => self::BAD_UTF8, 'end' => '2031-05-06 10:30:00'],
			'start SQL' => ['start' => self::SQL, 'end' => '2031-05-06 10:30:00'],
			'ends before it starts' => ['start' => '2031-05-06 10:00:00', 'end' => '2031-05-06 09:00:00'],
			'timezone SQL' => ['start' => '2031-05-06 08:00:00', 'end' => '2031-05-06 08:30:00', 'timezone' => "Europe/Paris'; DROP TABLE wp_users; --"],
			'unknown key' => ['colour' => 'red'],
			'1 MB key' => [str_repeat('k', 1 << 20) => 1],
			'services not a list' => ['services' => 'Video Consult'],
			'telemed an array' => ['telemed' => ['yes']],
			'start alone unreadable' => ['start' => 'soon'],
			'end_utc alone unreadable' => ['end_utc' => '2031-02-30 10:00:00'],
			'timezone unknown' => ['start' => '2031-05-06 08:00:00', 'end' => '2031-05-06 08:30:00', 'timezone' => 'Mars/Olympus'],
			'doctor_id an object' => ['doctor_id' => new stdClass()],
			'key invalid UTF-8' => [self::BAD_UTF8 => 1],
			'service invalid UTF-8' => ['services' => [self::BAD_UTF8]],
			'patient_name invalid UTF-8' => ['patient_name' => self::BAD_UTF8],
		];
		$cases = [];
		foreach ($bad as $what => $data) {
			$cases["kc_meet_create_event($what)"] = static fn() => kc_meet_create_event($a, $data);
			$cases["kc_meet_update_event($what)"] = static fn() => kc_meet_update_event($a, $data);
		}
		$this->allRefused($cases, KcMeet\InvalidArgumentException::class);
	}

	public function test_option_arrays_with_bad_values_are_invalid_arguments(): void {
		$cases = [
			'kc_meet_jobs(state SQL)' => static fn() => kc_meet_jobs(['state' => self::SQL]),
			'kc_meet_jobs(state invalid UTF-8)' => static fn() => kc_meet_jobs(['state' => self::BAD_UTF8]),
			'kc_meet_reconcile(from SQL)' => static fn() => kc_meet_reconcile(['from' => "2031-01-01' OR 1=1 -- "]),
			'kc_meet_reconcile(to 1 MB)' => static fn() => kc_meet_reconcile(['to' => str_repeat('2', 1 << 20)]),
			'kc_meet_reconcile(doctor_id negative)' => static fn() => kc_meet_reconcile(['doctor_id' => -1]),
			'kc_meet_reconcile(unknown key)' => static fn() => kc_meet_reconcile(['remove_everything' => true]),
			'kc_meet_reconcile(budget text)' => static fn() => kc_meet_reconcile(['budget_s' => 'long']),
			'kc_meet_sync(doctor_id SQL)' => static fn() => kc_meet_sync(['doctor_id' => self::SQL]),
			'kc_meet_sync(doctor_id negative)' => static fn() => kc_meet_sync(['doctor_id' => -2]),
			'kc_meet_sync(unknown key)' => static fn() => kc_meet_sync(['everything' => true]),
			'kc_meet_reconcile(budget NAN)' => static fn() => kc_meet_reconcile(['budget_s' => NAN]),
			'kc_meet_reconcile(key invalid UTF-8)' => static fn() => kc_meet_reconcile([self::BAD_UTF8 => true]),
			'kc_meet_reconcile(from invalid UTF-8)' => static fn() => kc_meet_reconcile(['from' => self::BAD_UTF8]),
			'kc_meet_sync(budget INF)' => static fn() => kc_meet_sync(['budget_s' => INF]),
			'kc_meet_sync(doctor_id an object)' => static fn() => kc_meet_sync(['doctor_id' => new stdClass()]),
			'kc_meet_jobs(key invalid UTF-8)' => static fn() => kc_meet_jobs([self::BAD_UTF8 => 'queued']),
			'kc_meet_jobs(unknown key)' => static fn() => kc_meet_jobs(['stat' => 'failed']),
			'kc_meet_jobs(state empty)' => static fn() => kc_meet_jobs(['state' => '']),
			'kc_meet_jobs(state an array)' => static fn() => kc_meet_jobs(['state' => ['failed']]),
			'kc_meet_jobs(limit 0)' => static fn() => kc_meet_jobs(['limit' => 0]),
			'kc_meet_jobs(limit negative)' => static fn() => kc_meet_jobs(['limit' => -5]),
			'kc_meet_jobs(limit over the cap)' => static fn() => kc_meet_jobs(['limit' => 1001]),
			'kc_meet_jobs(limit text)' => static fn() => kc_meet_jobs(['limit' => 'all']),
			'kc_meet_jobs(limit a float)' => static fn() => kc_meet_jobs(['limit' => 2.5]),
			'kc_meet_jobs(a list)' => static fn() => kc_meet_jobs(['failed', 5]),
			'kc_meet_doctors(unknown key)' => static fn() => kc_meet_doctors(['state' => 'connected']),
			'kc_meet_doctors(status an array)' => static fn() => kc_meet_doctors(['status' => ['connected']]),
			'kc_meet_doctors(a list)' => static fn() => kc_meet_doctors(['connected']),
			'kc_meet_appointments(unknown key)' => static fn() => kc_meet_appointments(['status' => 'failed']),
			'kc_meet_appointments(state a number)' => static fn() => kc_meet_appointments(['state' => 3]),
			'kc_meet_sync(a list)' => static fn() => kc_meet_sync([2]),
			'kc_meet_reconcile(a list)' => static fn() => kc_meet_reconcile([true, 2]),
			'kc_meet_create_event(appointment a list)' => fn() => kc_meet_create_event($this->appointment, [2, 4]),
		];
		$this->allRefused($cases, KcMeet\InvalidArgumentException::class);
	}

	public function test_an_unknown_option_is_named_in_the_exception(): void {
		foreach ([
			'kc_meet_jobs' => static fn() => kc_meet_jobs(['stat' => 'failed']),
			'kc_meet_doctors' => static fn() => kc_meet_doctors(['stat' => 'failed']),
			'kc_meet_appointments' => static fn() => kc_meet_appointments(['stat' => 'failed']),
			'kc_meet_sync' => static fn() => kc_meet_sync(['stat' => 'failed']),
			'kc_meet_reconcile' => static fn() => kc_meet_reconcile(['stat' => 'failed']),
		] as $fn => $call) {
			try {
				$call();
				$this->fail("$fn accepted an unknown option");
			} catch (KcMeet\InvalidArgumentException $e) {
				$this->assertSame(5001, $e->getCode());
				$this->assertStringStartsWith("$fn(): unknown option 'stat' (known: ", $e->getMessage());
			}
		}
		$this->assertSame([], kc_meet_jobs(['state' => 'failed', 'limit' => 1000])['jobs'], 'the known options still work');
		$this->assertSame([], kc_meet_jobs([])['jobs']);
		$this->assertSame([], kc_meet_jobs(null)['jobs']);
	}

	/**
	 * A refused configuration leaves the request unconfigured (1002 until configured again), never
	 * on the site configured before it; configuring the working array again works.
	 */
	public function test_configure_refuses_bad_values_and_leaves_the_request_unconfigured(): void {
		$bad = [
			'unknown key' => ['db_nmae' => 'x'],
			'table_prefix SQL' => ['table_prefix' => "wp_; DROP TABLE wp_users; -- "],
			'table_prefix invalid UTF-8' => ['table_prefix' => self::BAD_UTF8],
			'db_user an array' => ['db_user' => ['root']],
			'client_id invalid UTF-8' => ['client_id' => self::BAD_UTF8],
			'timezone SQL' => ['timezone' => self::SQL],
			'endpoints not https' => ['endpoints' => ['token' => 'http://google.example/token'], 'allow_insecure_loopback' => false],
			'request_budget_s huge' => ['request_budget_s' => 1e9],
			'request_budget_s NAN' => ['request_budget_s' => NAN],
			'a key invalid UTF-8' => [self::BAD_UTF8 => 'x'],
			'db_name with NUL' => ['db_name' => "kcmeet\0x"],
			'client_id with a line break' => ['client_id' => "id\r\nX-Injected: 1"],
			'encryption_key_previous an object' => ['encryption_key_previous' => [new stdClass()]],
		];
		$cases = [];
		foreach ($bad as $what => $over) {
			$site = array_merge($this->site, $over);
			$cases["kc_meet_configure($what)"] = function () use ($site, $what): void {
				try {
					kc_meet_configure($site);
				} catch (KcMeet\ConfigurationException $e) {
					try {
						kc_meet_status(2);
						$this->fail("kc_meet_configure($what) was refused, yet the next call acted on the site configured before");
					} catch (KcMeet\ConfigurationException $after) {
						$this->assertSame(1002, $after->getCode(), $after->getMessage());
					}
					kc_meet_configure($this->site);
					throw $e;
				}
			};
		}
		$this->allRefused($cases, KcMeet\ConfigurationException::class);
	}

	public function test_forged_oversized_and_malformed_push_messages_get_an_error_status_and_change_nothing(): void {
		$mb = str_repeat('B', 1 << 20);
		$headers = [
			'no headers' => [],
			'unknown channel' => ['X-Goog-Channel-ID' => 'no-such-channel', 'X-Goog-Resource-ID' => 'r', 'X-Goog-Resource-State' => 'exists', 'X-Goog-Message-Number' => '2'],
			'SQL channel' => ['X-Goog-Channel-ID' => self::SQL, 'X-Goog-Channel-Token' => self::SQL, 'X-Goog-Resource-ID' => self::SQL, 'X-Goog-Resource-State' => 'exists', 'X-Goog-Message-Number' => '2'],
			'1 MB values' => ['X-Goog-Channel-ID' => $mb, 'X-Goog-Channel-Token' => $mb, 'X-Goog-Resource-ID' => $mb, 'X-Goog-Resource-State' => 'exists', 'X-Goog-Message-Number' => $mb],
			'invalid UTF-8' => ['X-Goog-Channel-ID' => self::BAD_UTF8, 'X-Goog-Channel-Token' => self::BAD_UTF8, 'X-Goog-Resource-State' => self::BAD_UTF8],
			'nested arrays' => ['X-Goog-Channel-ID' => ['a' => ['b' => 'c']], 'X-Goog-Message-Number' => ['1']],
			'negative message number' => ['X-Goog-Channel-ID' => 'x', 'X-Goog-Resource-State' => 'exists', 'X-Goog-Message-Number' => '-1'],
			'invalid UTF-8 header name' => [self::BAD_UTF8 => 'x', 'X-Goog-Channel-ID' => 'x', 'X-Goog-Resource-State' => 'exists'],
			'non-finite number' => ['X-Goog-Channel-ID' => 'x', 'X-Goog-Message-Number' => INF],
		];
		$before = $this->snapshot();
		foreach ($headers as $what => $h) {
			try {
				$r = kc_meet_handle_notification($h);
				$this->assertGreaterThanOrEqual(400, $r['status'], "$what: answered " . json_encode($r));
				$this->assertLessThan(500, $r['status'], "$what: a client error, not a server error");
			} catch (KcMeet\InvalidArgumentException $e) {
				$this->assertSame(5001, $e->getCode());
			}
			$this->assertSame($before, $this->snapshot(), "$what changed the database");
		}
		$this->assertSame([], $this->emu->requests(), 'a forged message never makes a Google call');
		$this->assertStillWorking();
	}

	public function test_inputs_that_could_crash_a_native_extension_leave_the_process_alive(): void {
		// In a child process: a crash there shows as its exit status instead of killing PHPUnit.
		$a = $this->appointment;
		$p = $this->startPhp(<<<PHP
			\$deep = [];
			for (\$i = 0; \$i < 300000; \$i++) { \$deep = [\$deep]; }
			\$cyclic = ['x' => 1];
			\$cyclic['self'] = &\$cyclic;
			\$wide = array_fill(0, 200000, str_repeat('w', 64));
			\$cases = [
				'deeply nested appointment' => fn() => kc_meet_create_event($a, ['services' => \$deep]),
				'self-referencing appointment' => fn() => kc_meet_create_event($a, \$cyclic),
				'200,000 services' => fn() => kc_meet_update_event($a, ['services' => \$wide, 'start' => 'x']),
				'deeply nested options' => fn() => kc_meet_reconcile(['doctor_id' => \$deep]),
				'self-referencing headers' => fn() => kc_meet_handle_notification(\$cyclic),
				'deeply nested configuration' => fn() => kc_meet_configure(['endpoints' => \$deep]),
			];
			foreach (\$cases as \$what => \$call) {
				try {
					\$r = \$call();
					echo "\$what: returned ", \$r['status'] ?? '', "\\n";
				} catch (Throwable \$e) {
					echo "\$what: ", get_class(\$e), ' ', \$e->getCode(), "\\n";
				}
			}
			echo "alive ", kc_meet_version(), "\\n";
			PHP);
		[$proc, $pipes] = $p;
		$out = stream_get_contents($pipes[1]);
		$err = stream_get_contents($pipes[2]);
		$code = proc_close($proc);
		$this->assertSame(0, $code, "the PHP process died (exit $code): $out " . substr($err, 0, 500));
		$this->assertStringContainsString('alive ' . kc_meet_version(), $out);
		$this->assertStringNotContainsStringIgnoringCase('panic', $out . $err);
		// Each is refused as what it is, not by accident (a conversion that drops the bad part).
		$this->assertSame([
			'deeply nested appointment: KcMeet\\InvalidArgumentException 5001',
			'self-referencing appointment: KcMeet\\InvalidArgumentException 5001',
			'200,000 services: KcMeet\\InvalidArgumentException 5001',
			'deeply nested options: KcMeet\\InvalidArgumentException 5001',
			'self-referencing headers: returned 400',
			'deeply nested configuration: KcMeet\\ConfigurationException 1001',
		], array_slice(explode("\n", trim($out)), 0, 6));
		$this->assertStillWorking();
	}
}
