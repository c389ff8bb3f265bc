<?php
namespace KcMeetTest;

/**
 * WooCommerce fixtures (use in a WpTestCase with KiviCareFixtures): runs WordPress with the
 * WooCommerce stand-in loaded (env KC_MEET_WOOCOMMERCE=1, see stand-ins/woocommerce.php), makes
 * orders through its checkout and gateways, and reads orders, notes and what the emulator saw.
 */
trait WooCommerceFixtures {
	/** Extra environment of every WooCommerce run (e.g. KC_MEET_WC_NO_ACTION_SCHEDULER => '1'). */
	protected array $wooEnv = [];

	/** Runs PHP in WordPress with WooCommerce present; $job may add 'kc_core' => '4', 'admin', 'user'. */
	protected function woo(string $code, array $args = [], array $job = [], array $opts = []): RunResult {
		$opts['env'] = ($opts['env'] ?? []) + ['KC_MEET_WOOCOMMERCE' => '1'] + $this->wooEnv;
		return $this->wp(['code' => $code] + $job, $args, $opts);
	}

	protected function wooOk(string $code, array $args = [], array $job = [], array $opts = []) {
		$r = $this->woo($code, $args, $job, $opts);
		if (!$r->ok()) {
			$this->fail("WordPress runner failed:\n" . $r->describe());
		}
		return $r->result();
	}

	/** `wp <argv>` through the WP-CLI stand-in, with WooCommerce present; $stdin answers WP_CLI::confirm(). */
	protected function wooCli(array $argv, string $stdin = ''): array {
		$job = ['wpcli' => $argv] + ($stdin === '' ? [] : ['stdin' => $stdin]);
		$r = $this->wp($job, [], ['env' => ['KC_MEET_WOOCOMMERCE' => '1'] + $this->wooEnv]);
		$this->assertNotNull($r->cli(), $r->describe());
		return $r->cli();
	}

	/**
	 * KiviCare 3.x checkout: core calls `kcgm_woocommerce_add_to_cart`, the patient checks out with
	 * $method and (when $pay) the gateway processes the payment. Returns cart answer, order id, status.
	 */
	protected function checkout3(int $appointmentId, string $method, bool $pay = true, array $opts = []): array {
		return $this->wooOk('
			$cart = apply_filters("kcgm_woocommerce_add_to_cart", ["appointment_id" => (string) $args["a"], "doctor_id" => (string) $args["d"]]);
			$items = array_values(array_map(static fn($i) => ["product_id" => $i["product_id"], "kivicare_appointment_id" => $i["kivicare_appointment_id"] ?? null], WC()->cart->get_cart()));
			$id = WC()->checkout()->create_order(["payment_method" => $args["m"], "customer_id" => $args["p"]]);
			$pay = $args["pay"] ? WC()->checkout()->process_order_payment($id, $args["m"]) : null;
			return ["cart" => $cart, "items" => $items, "order_id" => $id, "status" => wc_get_order($id)->get_status(), "pay" => $pay];',
			['a' => $appointmentId, 'd' => $this->id('doctor'), 'p' => $this->id('patient'), 'm' => $method, 'pay' => $pay], [], $opts);
	}

	/** Runs $php with $order = wc_get_order($args["o"]) (e.g. '$order->update_status("completed");'); $args adds to $args. */
	protected function onOrder(int $orderId, string $php, array $job = [], array $args = []) {
		return $this->wooOk('$order = wc_get_order((int) $args["o"]); if (!$order) { throw new RuntimeException("no order"); } ' . $php, ['o' => $orderId] + $args, $job);
	}

	/** When the unpaid timeout of an appointment is due (Action Scheduler, else WP-Cron), or false. */
	protected function timeoutDue(int $appointmentId) {
		return $this->wooOk('return function_exists("as_next_scheduled_action")
			? as_next_scheduled_action(KC_Meet_WooCommerce::TIMEOUT_HOOK, [(int) $args["a"]], "kc-meet")
			: wp_next_scheduled(KC_Meet_WooCommerce::TIMEOUT_HOOK, [(int) $args["a"]]);', ['a' => $appointmentId]);
	}

	/** Runs the due unpaid timeouts $seconds from now, as Action Scheduler's queue runner (or WP-Cron) would then. */
	protected function runTimeoutsIn(int $seconds): array {
		return $this->wooOk('$now = time() + (int) $args["s"];
			if (function_exists("as_next_scheduled_action")) { return \KcMeetTestBed\ActionSchedulerStandIn::run_due($now, KC_Meet_WooCommerce::TIMEOUT_HOOK); }
			$ran = [];
			foreach ((array) _get_cron_array() as $ts => $hooks) {
				foreach ($hooks[KC_Meet_WooCommerce::TIMEOUT_HOOK] ?? [] as $e) {
					if ($ts <= $now) { wp_unschedule_event($ts, KC_Meet_WooCommerce::TIMEOUT_HOOK, $e["args"]); do_action_ref_array(KC_Meet_WooCommerce::TIMEOUT_HOOK, $e["args"]); $ran[] = KC_Meet_WooCommerce::TIMEOUT_HOOK; }
				}
			}
			return $ran;', ['s' => $seconds]);
	}

	/** PHP that records KiviCare's appointment actions into $seen: [hook, id, status|null]. */
	protected const RECORD_CORE_ACTIONS = '$seen = [];
		foreach (["kc_appointment_status_update", "kc_appointment_cancel", "kc_appointment_cancelled", "kc_appointment_payment_complete", "kc_appointment_payment_completed"] as $h) {
			add_action($h, static function (...$a) use (&$seen, $h) { $seen[] = [$h, (int) $a[0], $h === "kc_appointment_status_update" ? (int) $a[1] : null]; }, 1, 3);
		} ';

	/** The order's notes, oldest first. */
	protected function orderNotes(int $orderId): array {
		return array_reverse($this->wooOk('return array_map(static fn($n) => $n->content, wc_get_order_notes(["order_id" => (int) $args["o"]]));', ['o' => $orderId]));
	}

	protected function orderStatus(int $orderId): string {
		return $this->onOrder($orderId, 'return $order->get_status();');
	}

	/** Notes written by kc-meet (not WooCommerce's own status notes). */
	protected function ourNotes(int $orderId): array {
		return array_values(array_filter($this->orderNotes($orderId), static fn($n) => strpos($n, 'KiviCare appointment') !== false));
	}

	/** events.insert requests the emulator answered. */
	protected function inserts(): array {
		return array_values(array_filter($this->emu()->requests(), static fn($r) => $r['operation'] === 'calendar.events.insert'));
	}

	/** A 3.x appointment awaiting payment (status 0, as core 3.x stores it) for the fixture's telemed service. */
	protected function awaitingPayment3(int $days = 7): int {
		return $this->kcAppointment(self::day($days), '10:00:00', '10:30:00', ['status' => 0]);
	}

	/** Asserts one live event for the appointment, with the mapping row holding its Meet link; returns the event. */
	protected function assertOneEvent(int $appointmentId): array {
		$events = $this->liveEvents();
		$this->assertCount(1, $events, 'one live Google event');
		$this->assertSame((string) $appointmentId, $events[0]['extendedProperties']['private']['kc_meet_appointment'] ?? null);
		$rows = $this->mappingRows($appointmentId);
		$this->assertCount(1, $rows, 'one mapping row');
		$this->assertSame($this->meetLink($events[0]), $rows[0]['url']);
		return $events[0];
	}

	/**
	 * Runs jobs in parallel processes (each like WpTestCase::wp() with WooCommerce present) and
	 * returns their results. Each job's code should wait for $args["at"] (a shared start time).
	 */
	protected function wooParallel(array $jobs): array {
		$procs = [];
		foreach ($jobs as $i => $job) {
			$out = tempnam(Env::tmp(), 'run');
			$env = getenv();
			$env['KC_MEET_TEST_DB'] = $this->db;
			$env['KC_MEET_RUN_OUT'] = $out;
			$env = $this->wooEnv + $env;
			$env['KC_MEET_WOOCOMMERCE'] = '1';
			$cmd = ['php'];
			if (Env::hasExt()) {
				array_push($cmd, '-d', 'extension=' . Env::ext());
			}
			$cmd[] = Env::here() . '/bin/wp-run.php';
			$p = proc_open($cmd, [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, Env::root(), $env);
			fwrite($pipes[0], json_encode($job));
			fclose($pipes[0]);
			$procs[$i] = [$p, $pipes, $out, $job];
		}
		$results = [];
		foreach ($procs as $i => [$p, $pipes, $out, $job]) {
			$stdout = stream_get_contents($pipes[1]);
			$stderr = stream_get_contents($pipes[2]);
			fclose($pipes[1]);
			fclose($pipes[2]);
			$status = proc_close($p);
			$report = json_decode((string) @file_get_contents($out), true);
			@unlink($out);
			$results[$i] = new RunResult($job, is_array($report) ? $report : null, $status, $stdout, $stderr);
		}
		return $results;
	}
}
