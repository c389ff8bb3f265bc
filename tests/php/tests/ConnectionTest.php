<?php
/** The connection lifecycle through the PHP functions, as the plugin calls them. */
final class ConnectionTest extends KcMeetTestCase {
	public function test_connect_status_disconnect_round_trip(): void {
		$auth = kc_meet_auth_url(2, 1);
		$this->assertStringStartsWith($this->emu->base . '/o/oauth2/v2/auth?', $auth);
		$q = $this->emu->consent($auth, 'doc@example.com');
		$r = kc_meet_connect(2, $q['code'], $q['state'], 1);
		$this->assertSame(['doctor_id' => 2, 'status' => 'connected', 'email' => 'doc@example.com', 'calendar_id' => 'primary', 'scopes' => [KC_TEST_CAL], 'initiator_user_id' => 1], $r);
		$s = kc_meet_status(2);
		$this->assertSame('connected', $s['status']);
		$this->assertIsInt($s['token_expires_at']);
		$this->assertSame('on', $this->meta(2, 'kiviCare_google_meet_connect'));
		$this->assertStringStartsWith('kcm1:', $this->meta(2, 'google_meet_access_token'));

		$d = kc_meet_disconnect(2);
		$this->assertSame(['doctor_id' => 2, 'status' => 'not_connected', 'was_connected' => true, 'revoked' => true, 'revoke_error' => null], $d);
		$this->assertSame('not_connected', kc_meet_status(2)['status']);
		$this->assertNull($this->meta(2, 'google_meet_access_token'));
	}

	public function test_bad_state_is_an_authorization_exception_that_names_no_code(): void {
		$q = $this->emu->consent(kc_meet_auth_url(2, 2), 'doc@example.com');
		try {
			kc_meet_connect(2, $q['code'], '2.forged');
			$this->fail('accepted');
		} catch (KcMeet\AuthorizationException $e) {
			$this->assertSame(4002, $e->getCode());
			$this->assertStringNotContainsString($q['code'], $e->getMessage());
		}
	}

	public function test_a_callback_brought_back_by_another_user_than_the_initiator_is_4002(): void {
		$q = $this->emu->consent(kc_meet_auth_url(2, 1), 'doc@example.com');
		try {
			kc_meet_connect(2, $q['code'], $q['state'], 2);
			$this->fail('accepted');
		} catch (KcMeet\AuthorizationException $e) {
			$this->assertSame(4002, $e->getCode());
		}
		$this->assertNull($this->meta(2, 'google_meet_access_token'));
		$this->assertSame([], array_filter($this->emu->requests(), fn($r) => $r['path'] === '/token'), 'the code never reached Google');
	}

	public function test_not_connected_doctor_check_throws_4005_without_asking_google(): void {
		try {
			kc_meet_check_connection(2);
			$this->fail('no exception');
		} catch (KcMeet\AuthorizationException $e) {
			$this->assertSame(4005, $e->getCode());
		}
		$this->assertSame([], $this->emu->requests());
	}

	public function test_health_lists_doctors_and_no_problems_when_all_is_well(): void {
		$this->connectDoctor(2, 'doc@example.com');
		$h = kc_meet_health();
		$this->assertTrue($h['configured']);
		$this->assertTrue($h['db']['reachable']);
		$this->assertSame($h['schema_expected'], $h['schema_version']);
		$this->assertSame([], $h['problems']);
		$this->assertSame([2], array_column($h['doctors'], 'doctor_id'));
		$this->assertSame('doc@example.com', $h['doctors'][0]['email']);
	}

	public function test_two_php_processes_refreshing_at_once_make_one_refresh(): void {
		$this->emu->post('/__emu/config', ['access_token_ttl' => 60]);
		$this->connectDoctor(2, 'doc@example.com');
		$this->emu->post('/__emu/config', ['access_token_ttl' => 3599]);
		$this->emu->post('/__emu/faults', ['method' => 'POST', 'path' => '/token', 'action' => 'delay', 'delay_s' => 0.5, 'times' => 0]);
		$a = $this->startPhp('echo kc_meet_check_connection(2)["status"];');
		$b = $this->startPhp('echo kc_meet_check_connection(2)["status"];');
		$this->assertSame('connected', $this->waitPhp($a));
		$this->assertSame('connected', $this->waitPhp($b));
		$this->assertSame(1, $this->emu->refreshes());
	}

	public function test_a_forked_worker_builds_its_own_connections(): void {
		if (!function_exists('pcntl_fork')) {
			$this->markTestSkipped('pcntl is not available');
		}
		$this->connectDoctor(2, 'doc@example.com');
		kc_meet_check_connection(2); // the parent has a warm HTTP client and MySQL pool now
		$before = count($this->emu->requests());
		$pid = pcntl_fork();
		if ($pid === 0) {
			// As an FPM worker forked after use: the inherited client's thread is gone.
			$ok = false;
			try {
				$ok = kc_meet_check_connection(2)['status'] === 'connected' && kc_meet_status(2)['status'] === 'connected';
			} finally {
				// Leave without PHP's shutdown: the child's copies of the parent's objects (the
				// emulator's process handle among them) must not run their destructors.
				pcntl_exec('/bin/sh', ['-c', 'exit ' . ($ok ? 0 : 3)]);
			}
		}
		pcntl_waitpid($pid, $status);
		$this->assertTrue(pcntl_wifexited($status), 'the child exited');
		$this->assertSame(0, pcntl_wexitstatus($status), 'the child worked with its own connections');
		$this->assertCount($before + 1, $this->emu->requests(), "the child's call reached Google");
		$this->assertSame('connected', kc_meet_check_connection(2)['status'], 'the parent still works after the child exits');
		$this->assertCount($before + 2, $this->emu->requests(), "the parent's call reached Google");
	}

	public function test_repeated_configure_with_the_same_site_keeps_connections(): void {
		kc_meet_status(2);
		$before = (int) self::admin()->query("SHOW GLOBAL STATUS LIKE 'Connections'")->fetch_row()[1];
		for ($i = 0; $i < 50; $i++) {
			kc_meet_configure($this->site);
			kc_meet_status(2);
		}
		$after = (int) self::admin()->query("SHOW GLOBAL STATUS LIKE 'Connections'")->fetch_row()[1];
		$this->assertLessThanOrEqual(3, $after - $before, 'MySQL connections are reused across calls');
	}
}
