<?php
namespace KcMeetTest;

require_once __DIR__ . '/../lib/WooCommerceFixtures.php';

/**
 * `wp kc-meet orders reconcile`: orders and appointments that drifted apart while the plugin could
 * not act (here: PHP ran without the kc_meet extension) are found, reported (--dry-run) and fixed;
 * and the checkout itself never fails without the extension or without WooCommerce.
 */
final class WooCommerceReconcileTest extends WpTestCase {
	use KiviCareFixtures;
	use WooCommerceFixtures;

	/** An order for the appointment made and paid by card in PHP without the extension (the plugin is inert). */
	private function paidWithoutExtension(int $appointmentId): RunResult {
		return $this->woo('$p = new WC_Product_Simple(); $p->set_name("Video Consultation"); $p->set_regular_price(50); $p->set_price(50); $pid = $p->save();
			$order = wc_create_order(["customer_id" => $args["p"]]);
			$item = $order->add_product(wc_get_product($pid), 1);
			$item->add_meta_data("kivicare_appointment_id", $args["a"]);
			$order->update_meta_data("kivicare_appointment_id", $args["a"]);
			$order->calculate_totals(); $order->set_payment_method("stripe"); $order->save();
			$order = wc_get_order($order->get_id());
			$order->payment_complete("ch_x");
			return ["order_id" => $order->get_id(), "status" => wc_get_order($order->get_id())->get_status(), "ext" => extension_loaded("kc_meet")];',
			['a' => $appointmentId, 'p' => $this->id('patient')], [], ['extension' => false]);
	}

	public function test_checkout_and_payment_without_the_extension_are_not_fatal(): void {
		$this->readyToBook();
		$r = $this->paidWithoutExtension($this->awaitingPayment3());
		$this->assertTrue($r->ok(), $r->describe());
		$this->assertFalse($r->result()['ext']);
		$this->assertSame('processing', $r->result()['status']);
		$ours = array_filter($r->report['php_errors'], static fn($e) => strpos($e['file'], 'kivicare-google-meet') !== false);
		$this->assertSame([], array_values($ours), 'no PHP error from the plugin');
	}

	public function test_orders_reconcile_reports_both_kinds_of_drift_with_dry_run_then_fixes_them(): void {
		$this->readyToBook();
		// Paid while the plugin could not act: booked nowhere, no event.
		$unbooked = $this->awaitingPayment3(7);
		$paid = $this->paidWithoutExtension($unbooked);
		$this->assertTrue($paid->ok(), $paid->describe());
		$paidOrder = $paid->result()['order_id'];
		// Booked with its event, then cancelled while the plugin could not act.
		$stale = $this->awaitingPayment3(8);
		$c = $this->checkout3($stale, 'stripe');
		$event = $this->assertOneEvent($stale);
		$cancelled = $this->woo('wc_get_order((int) $args["o"])->update_status("cancelled"); return true;', ['o' => $c['order_id']], [], ['extension' => false]);
		$this->assertTrue($cancelled->ok(), $cancelled->describe());
		$this->assertSame('1', (string) $this->appointmentRow($stale)['status']);

		$dry = $this->wooCli(['kc-meet', 'orders', 'reconcile', '--dry-run', '--format=json']);
		$this->assertSame(0, $dry['exit_code'], json_encode($dry));
		$rows = json_decode($dry['stdout'], true);
		$this->assertSame([
			['order_id' => $c['order_id'], 'order_status' => 'cancelled', 'appointment_id' => $stale, 'appointment_status' => 1, 'event_id' => $event['id'], 'drift' => 'not_cancelled', 'action' => 'none (dry run)'],
			['order_id' => $paidOrder, 'order_status' => 'processing', 'appointment_id' => $unbooked, 'appointment_status' => 0, 'event_id' => '', 'drift' => 'unbooked', 'action' => 'none (dry run)'],
		], $rows, 'JSON only: ' . $dry['stdout']);
		$table = $this->wooCli(['kc-meet', 'orders', 'reconcile', '--dry-run']);
		$this->assertStringContainsString('Success: Found 2 appointment(s)', $table['stdout']);
		$this->assertStringNotContainsString('[y/n]', $table['stdout'], 'a dry run asks nothing');
		$this->assertSame('0', (string) $this->appointmentRow($unbooked)['status'], 'dry run: nothing changed');
		$this->assertSame($event, $this->assertOneEvent($stale));

		$fix = $this->wooCli(['kc-meet', 'orders', 'reconcile', '--yes', '--format=json']);
		$this->assertSame(0, $fix['exit_code'], json_encode($fix));
		$rows = json_decode($fix['stdout'], true);
		$this->assertIsArray($rows, 'JSON only: ' . $fix['stdout']);
		$this->assertSame(['cancelled; event deleted', 'booked; event created'], array_column($rows, 'action'), $fix['stdout']);
		$this->assertSame('0', (string) $this->appointmentRow($stale)['status']);
		$this->assertSame('cancelled', $this->googleEvent($event['id'])['status']);
		$this->assertSame('1', (string) $this->appointmentRow($unbooked)['status']);
		$this->assertOneEvent($unbooked);
		$this->assertNotEmpty($this->ourNotes($paidOrder), 'the repair is noted on the order');

		$again = $this->wooCli(['kc-meet', 'orders', 'reconcile', '--yes', '--format=json']);
		$this->assertSame('[]', trim($again['stdout']), $again['stdout']);
		$table = $this->wooCli(['kc-meet', 'orders', 'reconcile', '--yes']);
		$this->assertStringContainsString('Success: Fixed 0 of 0', $table['stdout']);
	}

	public function test_orders_reconcile_checks_only_the_given_days(): void {
		$this->readyToBook();
		$id = $this->awaitingPayment3();
		$paid = $this->paidWithoutExtension($id);
		Db::query($this->db, 'UPDATE wp_posts SET post_date = post_date - INTERVAL 10 DAY, post_date_gmt = post_date_gmt - INTERVAL 10 DAY WHERE ID = ?', [$paid->result()['order_id']]);
		$week = $this->wooCli(['kc-meet', 'orders', 'reconcile', '--days=7', '--dry-run', '--format=json']);
		$this->assertSame('[]', trim(strtok($week['stdout'], "\n")), $week['stdout']);
		$month = $this->wooCli(['kc-meet', 'orders', 'reconcile', '--dry-run', '--format=json']);
		$this->assertCount(1, json_decode(strtok($month['stdout'], "\n"), true), 'default: 30 days');
		$bad = $this->wooCli(['kc-meet', 'orders', 'reconcile', '--days=soon']);
		$this->assertSame(1, $bad['exit_code']);
		$this->assertStringContainsString('--days must be a positive number', $bad['stderr']);
	}

	public function test_orders_reconcile_asks_before_changing_anything(): void {
		$this->readyToBook();
		$id = $this->awaitingPayment3();
		$paid = $this->paidWithoutExtension($id);
		$this->assertTrue($paid->ok(), $paid->describe());
		$before = count($this->emu()->requests());
		foreach (["n\n", "\n"] as $answer) {
			$no = $this->wooCli(['kc-meet', 'orders', 'reconcile'], $answer);
			$this->assertSame(0, $no['exit_code'], json_encode($no));
			$this->assertStringContainsString('[y/n]', $no['stdout']);
			$this->assertStringNotContainsString('Success', $no['stdout'], 'refused: nothing was done');
			$this->assertSame('0', (string) $this->appointmentRow($id)['status'], 'not booked without a yes');
			$this->assertSame([], $this->requestsSince($before), 'no Google request');
			$this->assertSame([], $this->ourNotes($paid->result()['order_id']));
		}
		$yes = $this->wooCli(['kc-meet', 'orders', 'reconcile'], "y\n");
		$this->assertSame(0, $yes['exit_code'], json_encode($yes));
		$this->assertStringContainsString('Success: Fixed 1 of 1', $yes['stdout']);
		$this->assertSame('1', (string) $this->appointmentRow($id)['status']);
		$this->assertOneEvent($id);
	}

	public function test_orders_reconcile_json_output_is_nothing_but_json(): void {
		$this->readyToBook();
		$id = $this->awaitingPayment3();
		$this->assertTrue($this->paidWithoutExtension($id)->ok());
		foreach ([['--dry-run'], ['--yes'], ['--yes']] as $flags) {
			$cli = $this->wooCli(array_merge(['kc-meet', 'orders', 'reconcile', '--format=json'], $flags));
			$this->assertSame(0, $cli['exit_code'], json_encode($cli));
			$this->assertStringNotContainsString('Success', $cli['stdout']);
			$rows = json_decode($cli['stdout'], true);
			$this->assertIsArray($rows, 'stdout parses as JSON: ' . $cli['stdout']);
		}
		$this->assertSame([], $rows, 'fixed by the first real run');
		$this->assertSame('1', (string) $this->appointmentRow($id)['status']);
	}

	public function test_orders_reconcile_without_woocommerce_is_a_clear_error(): void {
		$cli = $this->wpCli(['kc-meet', 'orders', 'reconcile'])->cli();
		$this->assertSame(1, $cli['exit_code']);
		$this->assertStringContainsString('WooCommerce is not active', $cli['stderr']);
	}
}
