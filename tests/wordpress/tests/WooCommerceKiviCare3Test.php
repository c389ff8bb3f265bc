<?php
namespace KcMeetTest;

require_once __DIR__ . '/../lib/WooCommerceFixtures.php';

/**
 * WooCommerce with KiviCare 3.x: the filters core calls (`kcgm_woocommerce_add_to_cart`,
 * `kcgm_change_woocommerce_module_status`, `kcgm_get_woocommerce_module_status`) and a completed
 * bank transfer whose appointment core leaves at status 0.
 */
final class WooCommerceKiviCare3Test extends WpTestCase {
	use KiviCareFixtures;
	use WooCommerceFixtures;

	private function mappingExtra(): ?array {
		$extra = Db::value($this->db, 'SELECT extra FROM wp_kc_service_doctor_mapping WHERE service_id = ?', [$this->kc['services']['Video Consultation']]);
		return $extra ? json_decode($extra, true) : null;
	}

	public function test_add_to_cart_reuses_one_hidden_virtual_product_per_doctor_clinic_and_service(): void {
		$this->readyToBook();
		$first = $this->awaitingPayment3(7);
		$second = $this->awaitingPayment3(8);
		$a = $this->checkout3($first, 'bacs', false);
		$productId = $a['items'][0]['product_id'];
		$this->assertSame(['product_id' => $productId], $this->mappingExtra(), 'the product id is kept in the mapping row, as core 3.x keeps it');
		$this->assertSame([['product_id' => $productId, 'kivicare_appointment_id' => $first]], $a['items'], 'the cart item carries the appointment id');
		$this->assertSame(['status' => true, 'woocommerce_redirect' => $a['cart']['woocommerce_redirect']], $a['cart']);
		$this->assertStringEndsWith('/checkout/', $a['cart']['woocommerce_redirect'], 'core sends the patient to the checkout');

		$b = $this->checkout3($second, 'bacs', false);
		$this->assertSame($productId, $b['items'][0]['product_id'], 'the second booking reuses the product');
		$this->assertSame(1, (int) Db::value($this->db, "SELECT COUNT(*) FROM wp_posts WHERE post_type = 'product'"), 'one product, not one per booking');

		$p = $this->wooOk('$p = wc_get_product((int) $args["p"]); return ["price" => $p->get_price(), "visibility" => $p->get_catalog_visibility(), "virtual" => $p->is_virtual(),
			"service" => (int) $p->get_meta("kivicare_service_id"), "doctor" => (int) $p->get_meta("kivicare_doctor_id"), "clinic" => (int) $p->get_meta("kivicare_clinic_id")];', ['p' => $productId]);
		$mappingId = (int) Db::value($this->db, 'SELECT id FROM wp_kc_service_doctor_mapping WHERE service_id = ?', [$this->kc['services']['Video Consultation']]);
		$this->assertSame(['price' => '50', 'visibility' => 'hidden', 'virtual' => true, 'service' => $mappingId, 'doctor' => $this->id('doctor'), 'clinic' => $this->kc['clinic']], $p);

		// The order and its line item carry the appointment id.
		$o = $this->onOrder($b['order_id'], 'return ["order" => $order->get_meta("kivicare_appointment_id"), "items" => array_values(array_map(static fn($i) => [$i->get_meta("kivicare_appointment_id"), wc_get_order_item_meta($i->get_id(), "kivicare_appointment_id")], $order->get_items()))];');
		$this->assertSame($second, (int) $o['order']);
		$this->assertSame([[(string) $second, (string) $second]], $o['items'], 'get_meta() and wc_get_order_item_meta() agree');
	}

	public function test_add_to_cart_follows_a_change_of_the_doctors_charges(): void {
		$this->readyToBook();
		$a = $this->checkout3($this->awaitingPayment3(7), 'bacs', false);
		Db::query($this->db, 'UPDATE wp_kc_service_doctor_mapping SET charges = ? WHERE service_id = ?', ['75', $this->kc['services']['Video Consultation']]);
		$b = $this->checkout3($this->awaitingPayment3(8), 'bacs', false);
		$this->assertSame($a['items'][0]['product_id'], $b['items'][0]['product_id']);
		$this->assertEquals(75, $this->onOrder($b['order_id'], 'return $order->get_total();'), 'the product costs the new charges');
	}

	public function test_add_to_cart_without_woocommerce_answers_a_status_false(): void {
		$this->readyToBook();
		$id = $this->awaitingPayment3();
		$r = $this->wpOk('return apply_filters("kcgm_woocommerce_add_to_cart", ["appointment_id" => (string) $args["a"], "doctor_id" => "2"]);', ['a' => $id]);
		$this->assertFalse($r['status']);
		$this->assertSame('WooCommerce is not active.', $r['message']);
	}

	public function test_module_status_filters_save_and_read_the_setting_for_admins_only(): void {
		$this->wooOk('return null;');
		$this->assertSame('off', $this->wpOk('return apply_filters("kcgm_get_woocommerce_module_status", []);'));
		$on = $this->wpOk(['user' => $this->id('admin'), 'code' => 'return apply_filters("kcgm_change_woocommerce_module_status", ["status" => "on"]);']);
		$this->assertTrue($on['status']);
		$this->assertSame('on', Db::option($this->db, 'kiviCare_woocommerce_payment'));
		$this->assertSame('on', $this->wpOk('return apply_filters("kcgm_get_woocommerce_module_status", []);'));
		$bad = $this->wpOk(['user' => $this->id('admin'), 'code' => 'return apply_filters("kcgm_change_woocommerce_module_status", ["status" => "maybe"]);']);
		$this->assertFalse($bad['status']);
		$doctor = $this->wpOk(['user' => $this->id('doctor'), 'code' => 'return apply_filters("kcgm_change_woocommerce_module_status", ["status" => "off"]);']);
		$this->assertFalse($doctor['status']);
		$this->assertSame('on', Db::option($this->db, 'kiviCare_woocommerce_payment'), 'unchanged by bad values and non-admins');
	}

	public function test_completed_bank_transfer_keeps_its_event_through_reconcile_and_sync(): void {
		$this->readyToBook();
		$id = $this->awaitingPayment3();
		$c = $this->checkout3($id, 'bacs');
		// The admin completes the order. KiviCare 3.x core's own handler (hooked by the vendor's add-on on
		// sites that had it) calls the save filter with type "woocommerce" and leaves the row at 0.
		$this->onOrder($c['order_id'], '
			add_action("woocommerce_order_status_completed", static function ($order_id) use ($args) {
				$o = wc_get_order($order_id);
				if (in_array($o->get_payment_method(), ["bacs", "cheque"], true)) {
					apply_filters("kcgm_save_appointment_event", ["appoinment_id" => (string) $args["a"], "type" => "woocommerce"]);
				}
			}, 10, 1);
			$order->update_status("completed", "", true);', ['admin' => true, 'user' => $this->id('admin')], ['a' => $id]);
		$event = $this->assertOneEvent($id);
		$this->assertSame('1', (string) $this->appointmentRow($id)['status'], 'the order is paid: booked, not "0"');

		$rec = $this->wpCli(['kc-meet', 'reconcile', '--yes', '--format=json'])->cli();
		$this->assertSame(0, $rec['exit_code'], json_encode($rec));
		$sync = $this->wpCli(['kc-meet', 'sync'])->cli();
		$this->assertSame(0, $sync['exit_code'], json_encode($sync));
		$this->assertSame($event['id'], $this->assertOneEvent($id)['id'], 'the event survived reconcile and sync');
		$this->assertSame('1', (string) $this->appointmentRow($id)['status']);
	}
}
