<?php
namespace KcMeetTest;

require_once __DIR__ . '/../lib/WooCommerceFixtures.php';

/**
 * WooCommerce with KiviCare 4.x: core's own gateway (`App\paymentGateways\KCWooCommerce`, stand-in in
 * stand-ins/kivicare-woocommerce-gateway.php) registered by us on `kc_payment_gateways`, its order
 * handlers (the `exit` inside `payment_complete()`, refunded → 2, the failed-payment redirect) and its
 * payment-success URL, which calls create_meeting() on every hit: one event whatever the path.
 */
final class WooCommerceKiviCare4Test extends WpTestCase {
	use KiviCareFixtures;
	use WooCommerceFixtures;

	private const K4 = ['kc_core' => '4'];

	/** A 4.x WooCommerce booking: pending appointment (status 2), core's gateway fills the cart, the patient checks out with $method. */
	private function book4(string $method): array {
		$this->readyToBook();
		$this->wooOk('update_option("kiviCare_woocommerce_payment", "on");');
		$b = $this->kc4Book(self::day(7), ['status' => 2]);
		$this->assertSame('pending_status', $b['meeting']['data']['reason'] ?? null, '4.0.3 calls create_meeting for a pending booking: no event yet');
		return ['id' => $b['id']] + $this->order4($b['id'], $method);
	}

	/** Core's gateway puts appointment $id in the cart, the patient checks out with $method and (when $pay) pays. */
	private function order4(int $id, string $method, bool $pay = true): array {
		$r = $this->woo('
			\App\baseClasses\KCPaymentGatewayFactory::init();
			\App\baseClasses\KCPaymentGatewayFactory::init(); // after a KiviCare REST call core hooks its handlers twice
			$g = \App\baseClasses\KCPaymentGatewayFactory::get_available_gateway("woocommerce");
			if (!$g) { return "Invalid parameter(s): paymentGateway"; }
			$g->process_payment(["appointment_id" => $args["a"], "doctor_id" => $args["d"], "clinic_id" => $args["c"],
				"services" => [["id" => $args["s"], "title" => "Video Consultation", "price" => "50"]]]);
			$oid = WC()->checkout()->create_order(["payment_method" => $args["m"], "customer_id" => $args["p"]]);
			update_option("kcm_test_order", $oid);
			if ($args["pay"]) { WC()->checkout()->process_order_payment($oid, $args["m"]); }
			return ["order_id" => $oid, "status" => wc_get_order($oid)->get_status()];',
			['a' => $id, 'd' => $this->id('doctor'), 'c' => $this->kc['clinic'], 's' => $this->kc['services']['Video Consultation'],
				'p' => $this->id('patient'), 'm' => $method, 'pay' => $pay], self::K4);
		$this->assertNull($r->exception(), $r->describe());
		$this->assertNull($r->report['fatal'] ?? null, $r->describe());
		$this->assertNotSame('Invalid parameter(s): paymentGateway', $r->result(), 'core found the woocommerce gateway');
		return ['order_id' => (int) Db::option($this->db, 'kcm_test_order'), 'run' => $r];
	}

	public function test_core_woocommerce_gateway_is_registered_on_kc_payment_gateways_only_when_core_has_it(): void {
		$with = $this->wooOk('return apply_filters("kc_payment_gateways", ["paypal" => ["class" => "X", "settings_key" => "kiviCare_paypalConfig"]]);', [], self::K4);
		$this->assertSame(['class' => 'App\\paymentGateways\\KCWooCommerce', 'settings_key' => 'kiviCare_woocommerce_payment'], $with['woocommerce']);
		$this->assertSame(['class' => 'X', 'settings_key' => 'kiviCare_paypalConfig'], $with['paypal'], 'core\'s own gateways are kept');
		$without = $this->wpOk('return apply_filters("kc_payment_gateways", []);');
		$this->assertSame([], $without, 'no KCWooCommerce class (no KiviCare 4.x): nothing registered');
	}

	public function test_card_payment_creates_one_event_before_core_exits_and_the_success_redirect_hit_twice_keeps_it(): void {
		$b = $this->book4('stripe');
		$this->assertTrue($b['run']->report['exit_called'], 'core\'s woocommerce_payment_complete handler redirected and called exit: ' . $b['run']->describe());
		$this->assertSame('completed', $this->orderStatus($b['order_id']));
		$this->assertSame('1', (string) $this->appointmentRow($b['id'])['status']);
		$event = $this->assertOneEvent($b['id']);
		$this->assertStringContainsString("KiviCare appointment #{$b['id']} is booked", implode("\n", $this->ourNotes($b['order_id'])));
		// The patient's browser follows core's redirect — twice (reload).
		foreach ([1, 2] as $hit) {
			$h = $this->wooOk('return \KcMeetTestBed\KiviCare4PaymentSuccess::hit((int) $args["a"], (int) $args["o"]);', ['a' => $b['id'], 'o' => $b['order_id']], self::K4);
			$this->assertSame('success', $h['status'], "hit $hit: " . json_encode($h));
			$this->assertSame($this->meetLink($event), $h['meeting']['join_url'] ?? null, "hit $hit answers the same link");
		}
		$this->assertSame($event, $this->assertOneEvent($b['id']), 'the event did not move to "now" nor change');
		$this->assertCount(1, $this->googleEvents());
		$this->assertCount(1, $this->inserts());
	}

	public function test_bank_transfer_completed_by_the_admin_then_refunded_follows_the_order_not_cores_mapping(): void {
		$b = $this->book4('bacs');
		$this->assertSame(['order_id' => $b['order_id'], 'status' => 'on-hold'], $b['run']->result());
		$this->assertSame('2', (string) $this->appointmentRow($b['id'])['status'], 'core maps on-hold to 2');
		$this->assertSame([], $this->googleEvents());
		$this->onOrder($b['order_id'], '\App\baseClasses\KCPaymentGatewayFactory::init(); $order->update_status("completed", "", true);', ['admin' => true, 'user' => $this->id('admin')] + self::K4);
		$this->assertSame('1', (string) $this->appointmentRow($b['id'])['status']);
		$event = $this->assertOneEvent($b['id']);
		// Full refund: core maps "refunded" to 2 after us; the order says cancelled.
		$r = $this->onOrder($b['order_id'], '\App\baseClasses\KCPaymentGatewayFactory::init(); ' . self::RECORD_CORE_ACTIONS . '
			$refund = wc_create_refund(["order_id" => $order->get_id(), "amount" => $order->get_total(), "reason" => "no show"]);
			return [is_wp_error($refund) ? $refund->get_error_message() : wc_get_order($order->get_id())->get_status(), $seen];', ['admin' => true, 'user' => $this->id('admin')] + self::K4);
		$this->assertSame('refunded', $r[0]);
		$this->assertSame([
			['kc_appointment_status_update', $b['id'], 0], ['kc_appointment_cancelled', $b['id'], null], // ours (priority 5)
			['kc_appointment_status_update', $b['id'], 2],                                               // core's mapping (10)
			['kc_appointment_status_update', $b['id'], 0], ['kc_appointment_cancelled', $b['id'], null], // ours again (20)
		], $r[1], 'KiviCare 4.x\'s actions as core fires them, and the order\'s word last');
		$this->assertSame('0', (string) $this->appointmentRow($b['id'])['status'], 'refunded → cancelled, whatever core wrote');
		$this->assertSame('cancelled', $this->googleEvent($event['id'])['status']);
		$this->assertSame([], $this->mappingRows($b['id']));
	}

	public function test_cancelling_an_abandoned_order_keeps_the_appointment_a_newer_order_paid_for_although_core_maps_it_to_0(): void {
		$this->readyToBook();
		$this->wooOk('update_option("kiviCare_woocommerce_payment", "on");');
		$b = $this->kc4Book(self::day(7), ['status' => 2]);
		$abandoned = $this->order4($b['id'], 'stripe', false)['order_id'];
		$this->assertSame('pending', $this->orderStatus($abandoned), 'the patient left the card form');
		$b['order_id'] = $this->order4($b['id'], 'stripe')['order_id'];
		$this->assertSame('completed', $this->orderStatus($b['order_id']), 'and paid a second order later');
		$this->assertSame('1', (string) $this->appointmentRow($b['id'])['status']);
		$event = $this->assertOneEvent($b['id']);
		$this->emu()->call('DELETE', '/__emu/requests');
		$r = $this->onOrder($abandoned, '\App\baseClasses\KCPaymentGatewayFactory::init(); ' . self::RECORD_CORE_ACTIONS . '
			$order->update_status("cancelled", "Unpaid order cancelled - time limit reached."); return $seen;', [] + self::K4);
		$this->assertSame([
			['kc_appointment_status_update', $b['id'], 0],                                                // core's mapping (10)
			['kc_appointment_status_update', $b['id'], 1],                                                // put back by us (20)
		], $r, 'the paid order\'s word last');
		$this->assertSame('1', (string) $this->appointmentRow($b['id'])['status'], 'still booked');
		$this->assertSame($event['id'], $this->assertOneEvent($b['id'])['id'], 'the same event');
		$this->assertSame([], array_column($this->emu()->requests(), 'operation'), 'core\'s mapping made no cancellation and no new invitation');
		$this->assertStringContainsString("order #{$b['order_id']} paid for it", implode("\n", $this->ourNotes($abandoned)));
	}

	public function test_order_completed_after_the_clinic_cancelled_its_paid_appointment_stays_cancelled_although_core_maps_it_to_1(): void {
		$b = $this->book4('bacs');
		$admin = ['admin' => true, 'user' => $this->id('admin')] + self::K4;
		$this->onOrder($b['order_id'], '\App\baseClasses\KCPaymentGatewayFactory::init(); $order->update_status("processing", "", true);', $admin);
		$this->assertSame('1', (string) $this->appointmentRow($b['id'])['status']);
		$this->assertOneEvent($b['id']);
		// The clinic cancels the appointment (4.x core: status 0, kc_appointment_cancelled).
		$this->wooOk('global $wpdb; $wpdb->update($wpdb->prefix . "kc_appointments", ["status" => 0], ["id" => (int) $args["a"]]);
			do_action("kc_appointment_status_update", (int) $args["a"], 0, null); do_action("kc_appointment_cancelled", (int) $args["a"]);', ['a' => $b['id']], self::K4);
		$this->assertSame([], $this->liveEvents());
		$this->emu()->call('DELETE', '/__emu/requests');
		$r = $this->onOrder($b['order_id'], '\App\baseClasses\KCPaymentGatewayFactory::init(); ' . self::RECORD_CORE_ACTIONS . '$order->update_status("completed", "", true); return $seen;', $admin);
		$this->assertSame([], $this->inserts(), 'core\'s mapping sent the patient no new invitation');
		$this->assertSame([
			['kc_appointment_status_update', $b['id'], 1],                                                // core's mapping (10)
			['kc_appointment_status_update', $b['id'], 0], ['kc_appointment_cancelled', $b['id'], null], // put back by us (20)
		], $r);
		$this->assertSame('0', (string) $this->appointmentRow($b['id'])['status'], 'stays cancelled');
		$this->assertSame([], $this->liveEvents());
		$this->assertSame([], $this->mappingRows($b['id']));
	}

	public function test_cash_on_delivery_gets_no_event_while_core_books_it_at_checkout_only_once_the_order_is_completed(): void {
		$b = $this->book4('cod');
		$this->assertSame('processing', $this->orderStatus($b['order_id']), 'WooCommerce puts a cash-on-delivery order of a virtual service in processing');
		$this->assertSame('2', (string) $this->appointmentRow($b['id'])['status'], 'core 4.x maps processing to 1; kc-meet keeps it pending payment');
		$this->assertSame([], $this->googleEvents(), 'no event and no invitation before the cash is in');
		$this->assertSame([], $this->mappingRows($b['id']));
		// Nor later: the daily reconcile pass makes the events of booked appointments only.
		$r = $this->wp('return kc_meet_reconcile();');
		$this->assertTrue($r->ok(), $r->describe());
		$this->assertSame([], $this->googleEvents(), 'reconcile made no event for an unpaid order');
		// The clinic collects the cash and completes the order.
		$this->onOrder($b['order_id'], '\App\baseClasses\KCPaymentGatewayFactory::init(); $order->update_status("completed", "", true);', ['admin' => true, 'user' => $this->id('admin')] + self::K4);
		$this->assertSame('1', (string) $this->appointmentRow($b['id'])['status']);
		$this->assertOneEvent($b['id']);
		$this->assertCount(1, $this->inserts());
	}

	public function test_an_order_the_site_counts_as_paid_keeps_its_appointment_when_an_abandoned_one_is_cancelled(): void {
		// The site counts bank transfers on hold as paid (kc_meet_woo_order_is_paid): the paid
		// order found for the appointment is not only a processing or completed one.
		$this->readyToBook();
		$this->wooOk('update_option("kiviCare_woocommerce_payment", "on");');
		$b         = $this->kc4Book(self::day(7), ['status' => 2]);
		$abandoned = $this->order4($b['id'], 'stripe', false)['order_id'];
		$bacs      = $this->order4($b['id'], 'bacs')['order_id'];
		$this->assertSame('on-hold', $this->orderStatus($bacs));
		$onHoldIsPaid = 'add_filter("kc_meet_woo_order_is_paid", static fn($paid, $order) => $paid || $order->has_status("on-hold"), 10, 2); ';
		$before       = (string) $this->appointmentRow($b['id'])['status'];
		$this->onOrder($abandoned, $onHoldIsPaid . '\App\baseClasses\KCPaymentGatewayFactory::init(); $order->update_status("cancelled", "Unpaid order cancelled - time limit reached.");', [] + self::K4);
		$this->assertNotSame('0', (string) $this->appointmentRow($b['id'])['status'], 'not cancelled: the bank transfer counts as paid');
		$this->assertSame($before, (string) $this->appointmentRow($b['id'])['status']);
		$this->assertStringContainsString("order #{$bacs} paid for it", implode("\n", $this->ourNotes($abandoned)));
	}

	public function test_failed_payment_cancels_the_appointment_although_core_exits_before_its_own_mapping(): void {
		$b = $this->book4('bacs');
		$r = $this->woo('\App\baseClasses\KCPaymentGatewayFactory::init(); wc_get_order((int) $args["o"])->update_status("failed", "Card declined."); return "not reached";',
			['o' => $b['order_id']], self::K4);
		$this->assertTrue($r->report['exit_called'], 'core\'s failed-payment handler redirected and exited: ' . $r->describe());
		$this->assertSame('0', (string) $this->appointmentRow($b['id'])['status'], 'failed → cancelled, slot free');
		$this->assertSame([], $this->googleEvents());
	}
}
