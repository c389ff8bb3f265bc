<?php
namespace KcMeetTest;

require_once __DIR__ . '/../lib/WooCommerceFixtures.php';

/**
 * WooCommerce: the meeting follows the payment, whatever the gateway (stand-in of WooCommerce 7.9's
 * order API and gateways, real WordPress, MariaDB, extension and Google emulator). The appointments
 * are KiviCare 3.x's: awaiting payment with status 0, the same number as a cancelled one — only the
 * order tells them apart.
 */
final class WooCommercePaymentTest extends WpTestCase {
	use KiviCareFixtures;
	use WooCommerceFixtures;

	/** Refunds $amount (null: the whole total) through wc_create_refund() as an admin; returns the order's status then. */
	private function refund(int $orderId, ?float $amount): string {
		return $this->onOrder($orderId, '$refund = wc_create_refund(["order_id" => $order->get_id(), "amount" => $args["amount"] ?? $order->get_total(), "reason" => "patient cannot come"]);
			return is_wp_error($refund) ? $refund->get_error_message() : wc_get_order($order->get_id())->get_status();', ['admin' => true, 'user' => $this->id('admin')], ['amount' => $amount]);
	}

	public function test_card_payment_books_the_appointment_and_creates_one_event_noted_on_the_order(): void {
		$this->readyToBook();
		$id = $this->awaitingPayment3();
		$c = $this->checkout3($id, 'stripe');
		$this->assertSame(['status' => true, 'woocommerce_redirect' => $c['cart']['woocommerce_redirect']], $c['cart']);
		$this->assertSame('completed', $c['status'], 'the card gateway took the payment; a virtual downloadable product needs no processing');
		$this->assertSame('1', (string) $this->appointmentRow($id)['status'], 'paid → booked');
		$event = $this->assertOneEvent($id);
		$this->assertCount(1, $this->inserts());
		$notes = $this->ourNotes($c['order_id']);
		$this->assertCount(1, $notes, implode("\n", $this->orderNotes($c['order_id'])));
		$this->assertStringContainsString("KiviCare appointment #$id is booked", $notes[0]);
		$this->assertStringContainsString($this->meetLink($event), $notes[0], 'the note carries the Meet link');
	}

	public function test_bank_transfer_gets_no_event_while_on_hold_and_one_when_marked_paid_two_days_later(): void {
		$this->readyToBook();
		$id = $this->awaitingPayment3(9);
		$c = $this->checkout3($id, 'bacs');
		$this->assertSame('on-hold', $c['status']);
		$this->assertSame([], $this->googleEvents(), 'no event before the transfer arrives');
		$this->assertSame('0', (string) $this->appointmentRow($id)['status']);
		// Two days later: the order is old, its unpaid timeout long due — an offline order is not cancelled.
		Db::query($this->db, 'UPDATE wp_posts SET post_date = post_date - INTERVAL 2 DAY, post_date_gmt = post_date_gmt - INTERVAL 2 DAY WHERE ID = ?', [$c['order_id']]);
		$this->assertNotFalse($this->timeoutDue($id), 'the unpaid timeout was scheduled');
		$this->assertSame(['kc_meet_woo_unpaid_timeout'], $this->runTimeoutsIn(2 * 86400), 'it ran');
		$this->assertSame('on-hold', $this->orderStatus($c['order_id']), 'the due timeout leaves a bank transfer awaiting payment alone');
		$this->assertSame('0', (string) $this->appointmentRow($id)['status']);
		// The admin marks it paid (WooCommerce's order screen saves the new status; no payment_complete).
		$fired = $this->onOrder($c['order_id'], self::RECORD_CORE_ACTIONS . '$order->update_status("processing", "", true); return $seen;', ['admin' => true, 'user' => $this->id('admin')]);
		$this->assertSame([['kc_appointment_status_update', $id, 1], ['kc_appointment_payment_complete', $id, null]], $fired);
		$this->assertSame('1', (string) $this->appointmentRow($id)['status']);
		$this->assertOneEvent($id);
		$this->assertCount(1, $this->ourNotes($c['order_id']));
	}

	public function test_cash_on_delivery_completed_later_creates_the_event(): void {
		$this->readyToBook();
		$id = $this->awaitingPayment3();
		$c = $this->checkout3($id, 'cod');
		$this->assertSame('on-hold', $c['status'], 'COD: on-hold while the cash is not in (the service product is downloadable)');
		$this->assertSame([], $this->googleEvents());
		$this->onOrder($c['order_id'], '$order->update_status("completed", "", true);', ['admin' => true, 'user' => $this->id('admin')]);
		$this->assertSame('1', (string) $this->appointmentRow($id)['status']);
		$this->assertOneEvent($id);
	}

	/**
	 * KiviCare 4.x's service products are virtual, not downloadable: WooCommerce's COD gateway puts
	 * such an order in `processing` at checkout, with no money in. Paid only once completed.
	 */
	public function test_cash_on_delivery_of_a_virtual_service_gets_no_event_while_processing_only_once_completed(): void {
		$this->readyToBook();
		$id = $this->kcAppointment(self::day(7), '10:00:00', '10:30:00', ['status' => 2]);
		$c = $this->wooOk(self::RECORD_CORE_ACTIONS . '$p = new WC_Product_Simple(); $p->set_name("Video Consultation"); $p->set_regular_price(50); $p->set_price(50);
			$p->set_virtual(true); $p->set_downloadable(false); $pid = $p->save();
			WC()->cart->add_to_cart($pid, 1, 0, [], ["kivicare_appointment_id" => $args["a"], "doctor_id" => $args["d"]]);
			$oid = WC()->checkout()->create_order(["payment_method" => "cod", "customer_id" => $args["p"]]);
			WC()->checkout()->process_order_payment($oid, "cod");
			$o = wc_get_order($oid);
			return ["order_id" => $oid, "status" => $o->get_status(), "wc_is_paid" => $o->is_paid(), "seen" => $seen];',
			['a' => $id, 'd' => $this->id('doctor'), 'p' => $this->id('patient')]);
		$this->assertSame('processing', $c['status'], 'COD without a downloadable item: processing at checkout, as WooCommerce does');
		$this->assertTrue($c['wc_is_paid'], 'WooCommerce calls it paid, but the cash is not in');
		$this->assertSame([], $c['seen'], 'no status change, no payment action');
		$this->assertSame('2', (string) $this->appointmentRow($id)['status'], 'not booked as paid');
		$this->assertSame([], $this->googleEvents(), 'no Meet link before payment');
		$this->assertSame([], $this->ourNotes($c['order_id']));
		$this->assertSame(['kc_meet_woo_unpaid_timeout'], $this->runTimeoutsIn(2 * 86400));
		$this->assertSame('processing', $this->orderStatus($c['order_id']), 'an offline order is never timed out');
		$dry = $this->wooCli(['kc-meet', 'orders', 'reconcile', '--dry-run', '--format=json']);
		$this->assertSame('[]', trim(strtok($dry['stdout'], "\n")), 'reconcile agrees: nothing to book yet. ' . $dry['stdout']);
		// The cash is collected: the admin completes the order.
		$fired = $this->onOrder($c['order_id'], self::RECORD_CORE_ACTIONS . '$order->update_status("completed", "", true); return $seen;', ['admin' => true, 'user' => $this->id('admin')]);
		$this->assertSame([['kc_appointment_status_update', $id, 1], ['kc_appointment_payment_complete', $id, null]], $fired);
		$this->assertSame('1', (string) $this->appointmentRow($id)['status']);
		$this->assertOneEvent($id);
		$this->assertCount(1, $this->ourNotes($c['order_id']));
	}

	public function test_what_counts_as_paid_is_filterable(): void {
		$this->readyToBook();
		$id = $this->awaitingPayment3();
		$c = $this->checkout3($id, 'bacs');
		$hold = 'add_filter("kc_meet_woo_order_is_paid", static fn($paid, $order) => $paid && $order->has_status("completed"), 10, 2); ';
		$this->onOrder($c['order_id'], $hold . '$order->update_status("processing", "", true);', ['admin' => true, 'user' => $this->id('admin')]);
		$this->assertSame('0', (string) $this->appointmentRow($id)['status'], 'held back by the filter');
		$this->assertSame([], $this->googleEvents());
		$this->onOrder($c['order_id'], $hold . '$order->update_status("completed", "", true);', ['admin' => true, 'user' => $this->id('admin')]);
		$this->assertSame('1', (string) $this->appointmentRow($id)['status']);
		$this->assertOneEvent($id);
	}

	/** Scenario: paid by bank transfer, cancelled by the clinic, then the accountant completes the order. */
	public function test_order_completed_after_the_clinic_cancelled_its_paid_appointment_does_not_book_it_again(): void {
		$this->readyToBook();
		$id = $this->awaitingPayment3(9);
		$c = $this->checkout3($id, 'bacs');
		$admin = ['admin' => true, 'user' => $this->id('admin')];
		$this->onOrder($c['order_id'], '$order->update_status("processing", "", true);', $admin);
		$this->assertSame('1', (string) $this->appointmentRow($id)['status']);
		$event = $this->assertOneEvent($id);
		// The clinic cancels the appointment in KiviCare (3.x core: status 0, the event goes).
		$this->wooOk('return \KcMeetTestBed\KiviCare3\Core::update_status((int) $args["a"], 0);', ['a' => $id], ['kc_core' => '3'] + $admin);
		$this->assertSame('0', (string) $this->appointmentRow($id)['status']);
		$this->assertSame('cancelled', $this->googleEvent($event['id'])['status']);
		$inserts = count($this->inserts());
		// Later the accountant marks the order completed.
		$fired = $this->onOrder($c['order_id'], self::RECORD_CORE_ACTIONS . '$order->update_status("completed", "", true); return $seen;', $admin);
		$this->assertSame([], $fired, 'no status write, no payment action');
		$this->assertSame('0', (string) $this->appointmentRow($id)['status'], 'stays cancelled');
		$this->assertSame([], $this->liveEvents(), 'no fresh Google invitation');
		$this->assertCount($inserts, $this->inserts());
		$this->assertSame([], $this->mappingRows($id));
		// `wp kc-meet orders reconcile` agrees.
		$fix = $this->wooCli(['kc-meet', 'orders', 'reconcile', '--yes', '--format=json']);
		$this->assertSame(0, $fix['exit_code'], json_encode($fix));
		$this->assertSame('[]', trim(strtok($fix['stdout'], "\n")), $fix['stdout']);
		$this->assertSame('0', (string) $this->appointmentRow($id)['status']);
		$this->assertSame([], $this->liveEvents());
	}

	/** Scenario: an abandoned pending order is cancelled after a newer order for the same appointment was paid. */
	public function test_cancelling_an_abandoned_order_leaves_the_appointment_a_newer_order_paid_for(): void {
		$this->readyToBook();
		$id = $this->awaitingPayment3();
		$abandoned = $this->checkout3($id, 'stripe', false);
		$this->assertSame('pending', $abandoned['status']);
		$paid = $this->checkout3($id, 'stripe');
		$this->assertSame('completed', $paid['status']);
		$event = $this->assertOneEvent($id);
		$before = count($this->emu()->requests());
		// WooCommerce's hold-stock timeout (or an admin tidying up) cancels the abandoned order.
		$fired = $this->onOrder($abandoned['order_id'], self::RECORD_CORE_ACTIONS . '$order->update_status("cancelled", "Unpaid order cancelled - time limit reached."); return $seen;');
		$this->assertSame([], $fired, 'no cancel action');
		$this->assertSame('1', (string) $this->appointmentRow($id)['status'], 'still booked');
		$this->assertSame($event, $this->assertOneEvent($id), 'the event is untouched');
		$this->assertSame([], $this->requestsSince($before), 'no Google request');
		$this->assertNotContains('cancellation', array_column($this->notifications(), 'kind'), 'the patient is not told of a cancellation');
		$this->assertStringContainsString("KiviCare appointment #$id is left as it is: order #{$paid['order_id']} paid for it.", implode("\n", $this->ourNotes($abandoned['order_id'])));
		// `wp kc-meet orders reconcile` agrees; a refund of the paid order still cancels.
		$fix = $this->wooCli(['kc-meet', 'orders', 'reconcile', '--yes', '--format=json']);
		$this->assertSame('[]', trim(strtok($fix['stdout'], "\n")), $fix['stdout']);
		$this->assertSame($event, $this->assertOneEvent($id));
		$this->assertSame('refunded', $this->refund($paid['order_id'], null));
		$this->assertSame('0', (string) $this->appointmentRow($id)['status']);
		$this->assertSame([], $this->liveEvents());
	}

	public function test_payment_hooks_firing_twice_make_one_event(): void {
		$this->readyToBook();
		$id = $this->awaitingPayment3();
		$c = $this->checkout3($id, 'bacs');
		// Every paid path at once, twice, in two requests: payment_complete, status changes, a re-save.
		foreach ([1, 2] as $round) {
			$this->onOrder($c['order_id'], '$order->payment_complete("txn-1");
				do_action("woocommerce_payment_complete", $order->get_id(), "txn-1");
				$order = wc_get_order($order->get_id());
				$order->update_status("completed");
				do_action("woocommerce_order_status_completed", $order->get_id(), $order, []);
				do_action("woocommerce_order_status_changed", $order->get_id(), "processing", "completed", $order);');
		}
		$this->assertOneEvent($id);
		$this->assertCount(1, $this->inserts(), 'one events.insert for all the hooks');
		$this->assertCount(1, $this->ourNotes($c['order_id']), implode("\n", $this->orderNotes($c['order_id'])));
	}

	public function test_payment_hooks_in_two_processes_at_once_make_one_event(): void {
		$this->readyToBook();
		$id = $this->awaitingPayment3();
		$c = $this->checkout3($id, 'bacs');
		$code = 'while (microtime(true) < $args["at"]) { usleep(2000); }
			$order = wc_get_order((int) $args["o"]);
			do_action("woocommerce_payment_complete", $order->get_id(), "txn");
			$order->update_status("processing");
			return kc_meet_mapping((int) $args["a"]);';
		$at = microtime(true) + 2.5;
		$runs = $this->wooParallel([
			['code' => $code, 'args' => ['o' => $c['order_id'], 'a' => $id, 'at' => $at]],
			['code' => $code, 'args' => ['o' => $c['order_id'], 'a' => $id, 'at' => $at]],
		]);
		foreach ($runs as $r) {
			$this->assertTrue($r->ok(), $r->describe());
		}
		$this->assertSame($runs[0]->result()['url'] ?? null, $runs[1]->result()['url'] ?? null, 'both requests see the same Meet link');
		$this->assertOneEvent($id);
		$this->assertCount(1, $this->googleEvents(), 'not even a second, deleted event');
	}

	public function test_cancelled_order_cancels_the_appointment_and_deletes_its_event(): void {
		$this->readyToBook();
		$id = $this->awaitingPayment3();
		$c = $this->checkout3($id, 'stripe');
		$event = $this->assertOneEvent($id);
		$fired = $this->onOrder($c['order_id'], self::RECORD_CORE_ACTIONS . '$order->update_status("cancelled", "", true); return $seen;', ['admin' => true, 'user' => $this->id('admin')]);
		$this->assertSame([['kc_appointment_status_update', $id, 0], ['kc_appointment_cancel', $id, null]], $fired, 'KiviCare 3.x\'s actions, as core fires them on a cancel');
		$this->assertSame('0', (string) $this->appointmentRow($id)['status']);
		$this->assertSame([], $this->liveEvents());
		$this->assertSame('cancelled', $this->googleEvent($event['id'])['status']);
		$this->assertSame([], $this->mappingRows($id));
		$this->assertContains('cancellation', array_column($this->notifications(), 'kind'), 'the patient is told');
		$notes = $this->ourNotes($c['order_id']);
		$this->assertStringContainsString("KiviCare appointment #$id is cancelled (order cancelled)", end($notes));
	}

	public function test_failed_payment_cancels_the_appointment(): void {
		$this->readyToBook();
		$id = $this->awaitingPayment3();
		$c = $this->checkout3($id, 'stripe', false);
		$this->onOrder($c['order_id'], '$order->update_status("failed", "Card declined.");');
		$this->assertSame('0', (string) $this->appointmentRow($id)['status']);
		$this->assertSame([], $this->googleEvents());
		$this->assertStringContainsString('(order cancelled)', implode("\n", $this->ourNotes($c['order_id'])));
	}

	public function test_full_refund_deletes_the_event(): void {
		$this->readyToBook();
		$id = $this->awaitingPayment3();
		$c = $this->checkout3($id, 'stripe');
		$event = $this->assertOneEvent($id);
		$this->assertSame('refunded', $this->refund($c['order_id'], null));
		$this->assertSame('0', (string) $this->appointmentRow($id)['status']);
		$this->assertSame('cancelled', $this->googleEvent($event['id'])['status']);
		$this->assertSame([], $this->mappingRows($id));
		$this->assertStringContainsString('(order refunded)', implode("\n", $this->ourNotes($c['order_id'])));
	}

	public function test_partial_refund_changes_nothing(): void {
		$this->readyToBook();
		$id = $this->awaitingPayment3();
		$c = $this->checkout3($id, 'stripe');
		$event = $this->assertOneEvent($id);
		$before = count($this->emu()->requests());
		$this->assertSame('completed', $this->refund($c['order_id'], 20.0));
		$this->assertSame('1', (string) $this->appointmentRow($id)['status']);
		$this->assertSame($event, $this->assertOneEvent($id), 'the event is untouched');
		$this->assertSame([], $this->requestsSince($before), 'no Google request for a partial refund');
		$this->assertStringContainsString('Partial refund', implode("\n", $this->orderNotes($c['order_id'])));
	}

	public function test_order_without_appointment_meta_is_ignored(): void {
		$this->readyToBook();
		$id = $this->awaitingPayment3();
		$r = $this->wooOk('$p = new WC_Product_Simple(); $p->set_name("T-shirt"); $p->set_regular_price(20); $p->set_price(20); $pid = $p->save();
			WC()->cart->add_to_cart($pid, 1);
			$oid = WC()->checkout()->create_order(["payment_method" => "stripe"]);
			WC()->checkout()->process_order_payment($oid, "stripe");
			$o = wc_get_order($oid); $o->update_status("completed"); $o->update_status("cancelled");
			return ["order" => $oid, "notes" => array_map(static fn($n) => $n->content, wc_get_order_notes(["order_id" => $oid]))];');
		$this->assertSame([], array_values(array_filter($r['notes'], static fn($n) => strpos($n, 'KiviCare') !== false)), 'no note about an appointment');
		$this->assertSame('0', (string) $this->appointmentRow($id)['status'], 'the appointment is untouched');
		$this->assertSame([], $this->inserts());
		$this->assertSame([], $this->googleEvents());
	}

	public function test_appointment_id_is_read_from_the_line_items_when_the_order_has_none(): void {
		// WooCommerce fires woocommerce_new_order before the line items are saved: KiviCare 3.x's copy onto
		// the order finds nothing, only the line item carries the appointment id.
		$this->readyToBook();
		$id = $this->awaitingPayment3();
		$r = $this->wooOk('$p = new WC_Product_Simple(); $p->set_name("Video Consultation"); $p->set_regular_price(50); $p->set_price(50); $pid = $p->save();
			$seen = [];
			add_action("woocommerce_new_order", static function ($oid, $order) use (&$seen) { $seen["items_at_new_order"] = count(wc_get_order($oid)->get_items()); }, 10, 2);
			$order = wc_create_order(["customer_id" => $args["p"]]);
			$item = $order->add_product(wc_get_product($pid), 1);
			$item->add_meta_data("kivicare_appointment_id", (string) $args["a"]);
			$item->add_meta_data("doctor_id", (string) $args["d"]);
			$order->calculate_totals(); $order->set_payment_method("stripe"); $order->save();
			$order = wc_get_order($order->get_id());
			$meta = $order->get_meta("kivicare_appointment_id");
			$order->payment_complete("ch_1");
			return ["order" => $order->get_id(), "order_meta" => $meta, "seen" => $seen];',
			['a' => $id, 'd' => $this->id('doctor'), 'p' => $this->id('patient')]);
		$this->assertSame(0, $r['seen']['items_at_new_order'], 'the stand-in fires woocommerce_new_order before the items exist');
		$this->assertSame('', $r['order_meta'], 'the order itself carries no appointment id');
		$this->assertSame('1', (string) $this->appointmentRow($id)['status']);
		$this->assertOneEvent($id);
	}

	public function test_unpaid_order_past_the_timeout_cancels_the_appointment_and_frees_the_slot(): void {
		$this->unpaidOrderIsCancelledAfterTheTimeout();
	}

	public function test_unpaid_timeout_falls_back_to_wp_cron_without_action_scheduler(): void {
		$this->wooEnv = ['KC_MEET_WC_NO_ACTION_SCHEDULER' => '1'];
		$this->unpaidOrderIsCancelledAfterTheTimeout();
		$this->assertSame(0, (int) Db::value($this->db, "SELECT COUNT(*) FROM wp_options WHERE option_name = 'kcm_standin_action_scheduler'"), 'nothing went to Action Scheduler');
	}

	private function unpaidOrderIsCancelledAfterTheTimeout(): void {
		$this->readyToBook();
		$id = $this->kcAppointment(self::day(5), '11:00:00', '11:30:00', ['status' => 2]);
		$before = time();
		$c = $this->checkout3($id, 'stripe', false);
		$this->assertSame('pending', $c['status'], 'the patient never completed the card payment');
		$this->assertEqualsWithDelta($before + 30 * 60, $this->timeoutDue($id), 60, 'default: 30 minutes');
		$this->assertSame([], $this->runTimeoutsIn(29 * 60), 'not due after 29 minutes');
		$this->assertSame('pending', $this->orderStatus($c['order_id']));
		$this->assertSame(['kc_meet_woo_unpaid_timeout'], $this->runTimeoutsIn(31 * 60));
		$this->assertSame('cancelled', $this->orderStatus($c['order_id']));
		$this->assertFalse($this->timeoutDue($id));
		$this->assertSame('0', (string) $this->appointmentRow($id)['status'], 'the slot is free again');
		$this->assertSame([], $this->googleEvents());
		$this->assertStringContainsString('Unpaid after 30 minutes', implode("\n", $this->orderNotes($c['order_id'])));
	}

	public function test_unpaid_timeout_is_configurable_and_payment_unschedules_it(): void {
		$this->readyToBook();
		$this->wooOk('update_option("kc_meet_woo_unpaid_minutes", 5);');
		$id = $this->awaitingPayment3();
		$before = time();
		$c = $this->checkout3($id, 'stripe', false);
		$this->assertEqualsWithDelta($before + 5 * 60, $this->timeoutDue($id), 60);
		$this->onOrder($c['order_id'], 'WC()->checkout()->process_order_payment($order->get_id(), "stripe");');
		$this->assertFalse($this->timeoutDue($id), 'paid: no timeout left');
		$this->assertSame([], $this->runTimeoutsIn(3600));
		$this->assertOneEvent($id);
	}
}
