<?php
/**
 * TEST STAND-IN — NOT KiviCare.
 *
 * KiviCare 4.x core's WooCommerce payment gateway, as far as it touches orders and appointments
 * (core 4.3's `App\paymentGateways\KCWooCommerce`, `App\abstracts\KCAbstractPaymentGateway` and
 * `App\baseClasses\KCPaymentGatewayFactory`; see KIVICARE.md). Core ships the gateway class but
 * only offers it when an add-on registers it on `kc_payment_gateways`; without it a patient's
 * WooCommerce booking is rejected ("Invalid parameter(s): paymentGateway").
 *
 * What it does, as core does:
 * - the factory applies `kc_payment_gateways` to core's own list and calls `init_hook()` on every
 *   gateway each time `init()` runs (after a KiviCare REST call in the same request core runs it
 *   again: its WooCommerce handlers are then hooked twice);
 * - `init_hook()` hooks core's handlers at core's priorities: `woocommerce_payment_complete` (10:
 *   when the order is paid, redirect to the success URL and `exit`), `woocommerce_order_status_changed`
 *   (10, 4 args: completed/processing → 1, cancelled/failed → 0, anything else → 2, then
 *   `kc_appointment_status_update`), `woocommerce_order_status_failed` (10: on the front end,
 *   redirect to the cancel URL and `exit`), `woocommerce_checkout_update_order_meta` (order meta from
 *   the session: `kivicare_doctor_id` comes out empty), `woocommerce_new_order` (copies the line items'
 *   meta — there are none yet), `woocommerce_checkout_create_order_line_item` (item meta), and the
 *   needs-processing filter;
 * - `process_payment()` makes one product per service, fills the cart with
 *   `kivicare_appointment_id` / `doctor_id` and answers the checkout URL;
 * - the public payment-success URL ({@see \KcMeetTestBed\KiviCare4PaymentSuccess::hit()}):
 *   `handle_payment_callback()`, then the provider's `create_meeting()` with topic ", " on every hit.
 * Loaded with the WooCommerce stand-in when the runner is asked for KiviCare 4.x.
 */

namespace App\abstracts {
	if (!class_exists(KCAbstractPaymentGateway::class, false)) {
		abstract class KCAbstractPaymentGateway {
			protected $gateway_id;
			protected $gateway_name;
			protected $gateway_description;
			protected $gateway_logo = '';
			protected $settings;
			protected $settings_keys;
			protected $is_enabled = false;
			protected $settings_fields = [];

			public function __construct($settings_key) {
				$this->settings_keys = $settings_key;
				$this->settings = get_option($settings_key, null);
				$this->init();
			}

			abstract protected function init();
			abstract public function process_payment($appointment_data);
			abstract public function handle_payment_callback($callback_data);

			public function init_hook() {
			}
			public function get_gateway_id() {
				return $this->gateway_id;
			}
			public function get_gateway_name() {
				return $this->gateway_name;
			}
			public function get_gateway_logo() {
				return $this->gateway_logo;
			}
			public function get_gateway_description() {
				return $this->gateway_description;
			}
			public function is_enabled() {
				return (bool) $this->is_enabled;
			}
			protected function get_return_url($appointment_id) {
				return add_query_arg(['kivicare_payment' => 'success', 'appointment_id' => $appointment_id, 'gateway' => $this->gateway_id], home_url('/'));
			}
			protected function get_cancel_url($appointment_id) {
				return add_query_arg(['kivicare_payment' => 'failed', 'appointment_id' => $appointment_id, 'gateway' => $this->gateway_id], home_url('/'));
			}
			protected function log($message, $level = 'info') {
			}
			protected function create_payment_response($status, $message, $data = []) {
				return ['status' => $status, 'message' => $message, 'data' => $data];
			}
		}
	}
}

namespace App\baseClasses {
	if (!class_exists(KCPaymentGatewayFactory::class, false)) {
		class KCPaymentGatewayFactory {
			private static $gateways = [];

			public static function init() {
				$gateways = [
					'paypal' => ['class' => 'App\\paymentGateways\\KCPaypalStandIn', 'settings_key' => 'kiviCare_paypalConfig'],
				];
				self::$gateways = apply_filters('kc_payment_gateways', $gateways);
				self::get_available_gateways(false);
			}

			public static function create_gateway($gateway_id) {
				if (!isset(self::$gateways[$gateway_id])) {
					return null;
				}
				$class = self::$gateways[$gateway_id]['class'];
				return class_exists($class) ? new $class(self::$gateways[$gateway_id]['settings_key']) : null;
			}

			public static function get_available_gateways($for_frontend = false) {
				if (empty(self::$gateways)) {
					self::init();
				}
				$available = [];
				foreach (array_keys(self::$gateways) as $gateway_id) {
					$gateway = self::create_gateway($gateway_id);
					if (!$gateway || ($for_frontend && !$gateway->is_enabled())) {
						continue;
					}
					$gateway->init_hook();
					$available[$gateway_id] = ['id' => $gateway->get_gateway_id(), 'instance' => $gateway];
				}
				return $available;
			}

			/** Core's booking validation: an unknown or disabled gateway is "Invalid parameter(s): paymentGateway". */
			public static function get_available_gateway($gateway_id, bool $enabled_only = true) {
				if (empty(self::$gateways)) {
					self::init();
				}
				$gateway = isset(self::$gateways[$gateway_id]) ? self::create_gateway($gateway_id) : null;
				if (!$gateway || ($enabled_only && !$gateway->is_enabled())) {
					return null;
				}
				return $gateway;
			}
		}
	}
}

namespace App\paymentGateways {
	use App\abstracts\KCAbstractPaymentGateway;

	if (!class_exists(KCWooCommerce::class, false)) {
		class KCWooCommerce extends KCAbstractPaymentGateway {
			protected function init() {
				$this->gateway_id = 'woocommerce';
				$this->gateway_name = 'WooCommerce';
				$this->gateway_description = 'Process payment through WooCommerce';
				$this->is_enabled = isset($this->settings) && $this->settings === 'on';
			}

			public function init_hook() {
				add_filter('woocommerce_get_cart_item_from_session', [$this, 'get_cart_items_from_session'], 1, 3);
				add_action('woocommerce_checkout_update_order_meta', [$this, 'add_appointment_meta_to_order'], 10, 2);
				add_action('woocommerce_new_order', [$this, 'handle_new_order_created'], 10, 1);
				add_action('woocommerce_checkout_create_order_line_item', [$this, 'add_cart_item_meta_to_order'], 10, 4);
				add_action('woocommerce_order_status_changed', [$this, 'handle_order_status_change'], 10, 4);
				add_action('woocommerce_payment_complete', [$this, 'handle_payment_complete']);
				add_action('woocommerce_order_status_failed', [$this, 'handle_payment_failure'], 10, 2);
				add_filter('woocommerce_order_item_needs_processing', [$this, 'skip_processing_for_appointments'], 10, 3);
			}

			public function process_payment($appointment_data) {
				if (empty($appointment_data['appointment_id']) || !class_exists('WooCommerce')) {
					return $this->create_payment_response('failed', 'Invalid appointment ID');
				}
				$product_ids = [];
				foreach ($appointment_data['services'] as $service) {
					$product = new \WC_Product_Simple();
					$product->set_name($service['title']);
					$product->set_status('publish');
					$product->set_price($service['price']);
					$product->set_regular_price($service['price']);
					$product->set_virtual(true);
					$product->set_sold_individually(true);
					$product->set_catalog_visibility('hidden');
					$product->set_downloadable(false);
					$product->update_meta_data('kivicare_service_id', $service['id']);
					$product->update_meta_data('kivicare_doctor_id', $appointment_data['doctor_id']);
					$product->update_meta_data('kivicare_clinic_id', $appointment_data['clinic_id']);
					$product_ids[] = $product->save();
				}
				$temp = ['kivicare_appointment_id' => $appointment_data['appointment_id'], 'doctor_id' => $appointment_data['doctor_id']];
				WC()->cart->empty_cart();
				foreach ($product_ids as $product_id) {
					WC()->cart->add_to_cart($product_id, 1, '', '', $temp);
				}
				WC()->session->set('kivicare_appointment_data', $temp);
				return $this->create_payment_response('pending', 'Redirecting to WooCommerce checkout',
					['redirect_url' => wc_get_checkout_url(), 'appointment_id' => $appointment_data['appointment_id']]);
			}

			public function handle_payment_callback($callback_data) {
				$order = wc_get_order((int) ($callback_data['order_id'] ?? 0));
				if (empty($order)) {
					return $this->create_payment_response('failed', 'No order found');
				}
				return $order->is_paid()
					? $this->create_payment_response('success', 'Payment completed successfully', ['appointment_id' => (int) $callback_data['appointment_id'], 'order_id' => $order->get_id()])
					: $this->create_payment_response('pending', 'Payment not completed. Order status: ' . $order->get_status());
			}

			public function get_cart_items_from_session($item, $values, $key) {
				foreach (['kivicare_appointment_id', 'doctor_id', 'widgetType'] as $k) {
					if (isset($values[$k])) {
						$item[$k] = $values[$k];
					}
				}
				return $item;
			}

			/** Core 4.x: classic post meta API (not HPOS-safe); reads keys its own session never sets (doctor id comes out ''). */
			public function add_appointment_meta_to_order($order, $data) {
				$appointment_data = WC()->session->get('kivicare_appointment_data');
				if ($appointment_data && is_array($appointment_data)) {
					update_post_meta((int) $order, 'kivicare_appointment_id', $appointment_data['kivicare_appointment_id'] ?? '');
					update_post_meta((int) $order, 'kivicare_doctor_id', $appointment_data['kivicare_doctor_id'] ?? '');
					WC()->session->set('kivicare_appointment_data', null);
				}
			}

			public function handle_new_order_created($order_id) {
				$order = wc_get_order($order_id);
				foreach ($order->get_items() as $item) {
					$appointment_id = $item->get_meta('kivicare_appointment_id');
					if (!empty($appointment_id)) {
						update_post_meta($order_id, 'kivicare_appointment_id', $appointment_id);
					}
				}
			}

			public function add_cart_item_meta_to_order($item, $cart_item_key, $values, $order) {
				foreach (['kivicare_appointment_id' => $values['kivicare_appointment_id'] ?? null, 'doctor_id' => $values['doctor_id'] ?? null] as $key => $value) {
					if (!empty($value)) {
						$item->add_meta_data($key, $value);
					}
				}
			}

			public function handle_payment_complete($order_id) {
				$order = wc_get_order($order_id);
				$appointment_id = get_post_meta($order_id, 'kivicare_appointment_id', true);
				$success_url = $this->get_return_url($appointment_id);
				if ($appointment_id) {
					if ($order->is_paid()) {
						$redirect_url = add_query_arg('order_id', $order_id, $success_url);
					}
					if (!empty($redirect_url)) {
						wp_safe_redirect(esc_url_raw($redirect_url));
						exit;
					}
				}
			}

			public function handle_payment_failure($order_id, $error_message) {
				$appointment_id = get_post_meta($order_id, 'kivicare_appointment_id', true);
				if (!is_admin()) {
					$url = $appointment_id ? add_query_arg('order_id', $order_id, $this->get_cancel_url($appointment_id)) : home_url();
					wp_safe_redirect(esc_url_raw($url));
					exit;
				}
			}

			public function handle_order_status_change($order_id, $old_status, $new_status, $order) {
				global $wpdb;
				if (empty($order_id) || !get_post_status($order_id)) {
					return;
				}
				$appointment_id = get_post_meta($order_id, 'kivicare_appointment_id', true);
				if (empty($appointment_id)) {
					return;
				}
				$status = 2;
				if ($new_status === 'completed' || $new_status === 'processing') {
					$status = 1;
				} elseif ($new_status === 'cancelled' || $new_status === 'failed') {
					$status = 0;
				}
				$wpdb->update($wpdb->prefix . 'kc_appointments', ['status' => $status], ['id' => (int) $appointment_id]);
				$appointment = $wpdb->get_row($wpdb->prepare("SELECT * FROM {$wpdb->prefix}kc_appointments WHERE id = %d", (int) $appointment_id));
				do_action('kc_appointment_status_update', $appointment_id, $status, $appointment);
			}

			public function skip_processing_for_appointments($needs_processing, $product, $order_id) {
				return $product && $product->get_meta('kivicare_service_id') ? false : $needs_processing;
			}
		}
	}
}

namespace KcMeetTestBed {
	/** Core 4.x's public payment-success URL: the callback, then create_meeting() with topic ", " on every hit. */
	final class KiviCare4PaymentSuccess {
		public static function hit(int $appointment_id, int $order_id) {
			$gateway = \App\baseClasses\KCPaymentGatewayFactory::get_available_gateway('woocommerce');
			if (!$gateway) {
				return ['status' => 'failed', 'message' => 'Invalid parameter(s): paymentGateway'];
			}
			$response = $gateway->handle_payment_callback(['appointment_id' => $appointment_id, 'order_id' => $order_id]);
			if ($response['status'] !== 'success') {
				return $response;
			}
			global $wpdb;
			$row = $wpdb->get_row($wpdb->prepare("SELECT * FROM {$wpdb->prefix}kc_appointments WHERE id = %d", $appointment_id), ARRAY_A);
			$provider = KCTelemedFactoryStandIn::provider_for_doctor((int) $row['doctor_id']);
			$meeting = $provider ? $provider->create_meeting(['topic' => ', ', 'start_time' => current_time('mysql'), 'duration' => 30,
				'timezone' => wp_timezone_string(), 'patient_id' => (int) $row['patient_id'], 'doctor_id' => (int) $row['doctor_id'],
				'appointment_id' => $appointment_id, 'type' => 2, 'password' => '', 'waiting_room' => false]) : null;
			$response['meeting'] = is_wp_error($meeting) ? ['wp_error' => $meeting->get_error_code(), 'data' => $meeting->get_error_data()] : $meeting;
			return $response;
		}
	}
}
