<?php
/**
 * TEST STAND-IN — NOT WooCommerce.
 *
 * WooCommerce is in no package registry reachable here, so the WordPress tests use this small
 * stand-in of the parts of WooCommerce's API that kc-meet calls or that drive it. It follows the
 * signatures, hook names, hook arguments and hook ORDER of WooCommerce 7.9 (classic post storage:
 * the plugin only goes through the order API, so HPOS needs nothing else). What it keeps:
 *
 * - Orders (`WC_Order`): posts `shop_order` with status `wc-<status>`, props and meta in post meta
 *   (`get_meta`/`update_meta_data`/`save_meta_data`), line items in WooCommerce's own tables
 *   `{prefix}woocommerce_order_items` / `..._itemmeta` (created on load when missing), notes as
 *   comments of type `order_note`, refunds as `shop_order_refund` children.
 * - `WC_Order::save()`: a new order fires `woocommerce_new_order` ($id, $order) from the data
 *   store's create() BEFORE the line items are saved (as 7.9 does: KiviCare 3.x's copy of the
 *   appointment id onto the order finds no item then), then saves the items, then runs
 *   status_transition(): `woocommerce_order_status_{to}` ($id, $order, $transition), the note
 *   "Order status changed from X to Y.", `woocommerce_order_status_{from}_to_{to}` ($id, $order),
 *   `woocommerce_order_status_changed` ($id, $from, $to, $order).
 * - `payment_complete($transaction_id)`: only from on-hold/pending/failed/cancelled; sets the paid
 *   date and `processing` (or `completed` when no item needs processing, filter
 *   `woocommerce_order_item_needs_processing`), saves (status hooks), THEN fires
 *   `woocommerce_payment_complete` ($id, $transaction_id). A handler may `exit` there (KiviCare
 *   4.x's does): the stand-in does nothing to prevent it, so the test process really ends.
 * - `is_paid()`: status in `wc_get_is_paid_statuses()` (processing, completed).
 * - `wc_create_refund()`: a partial refund fires `woocommerce_order_partially_refunded`
 *   ($order_id, $refund_id); a full one `woocommerce_order_fully_refunded` then
 *   `update_status('refunded')`; both then `woocommerce_order_refunded` ($order_id, $refund_id).
 * - Checkout (`WC()->checkout()->create_order()`): line items from the cart with
 *   `woocommerce_checkout_create_order_line_item` ($item, $cart_item_key, $values, $order), then
 *   `woocommerce_checkout_create_order` ($order, $data), save (→ `woocommerce_new_order`), then
 *   `woocommerce_checkout_update_order_meta` ($order_id, $data);
 *   `process_order_payment($order_id, $method)` runs the gateway: `stripe` (a card gateway:
 *   payment_complete), `bacs` and `cheque` (on-hold), `cod` (processing, or on-hold when an item
 *   is downloadable) — each as WooCommerce's own gateway does it.
 * - Cart (`WC()->cart->add_to_cart()` with `woocommerce_add_cart_item_data`), session, products
 *   (`WC_Product_Simple`: posts `product`, catalog visibility kept in `_visibility`),
 *   `wc_get_order()`, `wc_get_orders()` (limit, type, status, date_created '>ts', meta_query,
 *   orderby date; the order statuses are registered post statuses, as WooCommerce registers them,
 *   so 'status' filters), `wc_get_order_notes()`, `wc_get_order_item_meta()`.
 * - Action Scheduler, which WooCommerce bundles (see the block near the end of this file).
 * Not simulated: payment gateways' remote calls, e-mails, stock, taxes, shipping, coupons, HPOS tables.
 *
 * Loaded by the must-use test bed plugin (env KC_MEET_WOOCOMMERCE=1) right after the first normal
 * plugin loaded: WordPress loads plugins alphabetically, so "woocommerce/" comes after
 * "kivicare-google-meet/", before `plugins_loaded`.
 */

namespace {
if (!class_exists('WooCommerce', false)) {

	function kcm_wc_install_tables(): void {
		global $wpdb;
		$items = $wpdb->prefix . 'woocommerce_order_items';
		$meta  = $wpdb->prefix . 'woocommerce_order_itemmeta';
		$wpdb->query("CREATE TABLE IF NOT EXISTS `$items` (order_item_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, order_item_name TEXT NOT NULL, order_item_type VARCHAR(200) NOT NULL DEFAULT '', order_id BIGINT UNSIGNED NOT NULL, KEY order_id (order_id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
		$wpdb->query("CREATE TABLE IF NOT EXISTS `$meta` (meta_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, order_item_id BIGINT UNSIGNED NOT NULL, meta_key VARCHAR(255) NULL, meta_value LONGTEXT NULL, KEY order_item_id (order_item_id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
	}

	final class WooCommerce {
		public $version = '7.9.0';
		public $cart;
		public $session;
		private static $instance;
		private $checkout;
		private $gateways;

		public static function instance(): self {
			return self::$instance ??= new self();
		}

		private function __construct() {
			$this->session = new WC_Session_Handler();
			$this->cart = new WC_Cart();
		}

		public function checkout(): WC_Checkout {
			return $this->checkout ??= new WC_Checkout();
		}

		public function payment_gateways(): WC_Payment_Gateways {
			return $this->gateways ??= new WC_Payment_Gateways();
		}
	}

	function WC(): WooCommerce {
		return WooCommerce::instance();
	}

	function wc_load_cart(): void {
	}

	class WC_Session_Handler {
		private $data = [];
		public function get($key, $default = null) {
			return $this->data[$key] ?? $default;
		}
		public function set($key, $value): void {
			$this->data[$key] = $value;
		}
		public function get_session_cookie() {
			return false;
		}
		public function set_customer_session_cookie($set): void {
		}
	}

	class WC_Cart {
		private $contents = [];

		public function add_to_cart($product_id = 0, $quantity = 1, $variation_id = 0, $variation = array(), $cart_item_data = array()) {
			$product = wc_get_product($product_id);
			if (!$product) {
				return false;
			}
			$cart_item_data = (array) apply_filters('woocommerce_add_cart_item_data', $cart_item_data, $product_id, $variation_id, $quantity);
			$key = md5($product_id . '_' . serialize($cart_item_data));
			$this->contents[$key] = apply_filters('woocommerce_add_cart_item', array_merge($cart_item_data, [
				'key' => $key, 'product_id' => (int) $product_id, 'variation_id' => (int) $variation_id, 'variation' => $variation,
				'quantity' => (int) $quantity, 'data' => $product,
			]), $key);
			do_action('woocommerce_add_to_cart', $key, $product_id, $quantity, $variation_id, $variation, $cart_item_data);
			return $key;
		}

		public function get_cart(): array {
			return $this->contents;
		}

		public function is_empty(): bool {
			return empty($this->contents);
		}

		public function empty_cart($clear_persistent_cart = true): void {
			$this->contents = [];
		}

		public function get_total($context = 'view') {
			$total = 0.0;
			foreach ($this->contents as $item) {
				$total += (float) $item['data']->get_price() * (int) $item['quantity'];
			}
			return $total;
		}
	}

	abstract class WC_Data {
		protected $id = 0;
		protected $meta = [];      // key => list of values (as stored)
		protected $meta_changed = false;
		protected $object_read = false;

		public function get_id() {
			return (int) $this->id;
		}

		public function get_meta($key = '', $single = true, $context = 'view') {
			$values = $this->meta[$key] ?? [];
			if ($single) {
				return $values ? $values[0] : '';
			}
			return array_map(static fn($v) => (object) ['key' => $key, 'value' => $v], $values);
		}

		public function update_meta_data($key, $value, $meta_id = 0): void {
			$this->meta[$key] = [$value];
			$this->meta_changed = true;
		}

		public function add_meta_data($key, $value, $unique = false): void {
			if ($unique && isset($this->meta[$key])) {
				return;
			}
			$this->meta[$key][] = $value;
			$this->meta_changed = true;
		}

		public function delete_meta_data($key): void {
			$this->meta[$key] = [];
			$this->meta_changed = true;
		}

		public function get_meta_data(): array {
			$out = [];
			foreach ($this->meta as $key => $values) {
				foreach ($values as $v) {
					$out[] = (object) ['key' => $key, 'value' => $v];
				}
			}
			return $out;
		}
	}

	/** Post-backed objects (orders, refunds, products): meta in post meta. */
	abstract class KCM_WC_Post_Data extends WC_Data {
		const INTERNAL = ['_order_total', '_payment_method', '_payment_method_title', '_transaction_id', '_date_paid', '_date_completed',
			'_customer_user', '_refund_amount', '_refund_reason', '_edit_lock', '_edit_last'];

		protected function read_post_meta(): void {
			$this->meta = [];
			foreach ((array) get_post_meta($this->id) as $key => $values) {
				if (in_array($key, self::INTERNAL, true)) {
					continue; // Props, not meta.
				}
				$this->meta[$key] = array_map('maybe_unserialize', $values);
			}
		}

		public function save_meta_data(): void {
			if (!$this->id) {
				return;
			}
			foreach ($this->meta as $key => $values) {
				delete_post_meta($this->id, $key);
				foreach ($values as $v) {
					add_post_meta($this->id, $key, $v);
				}
			}
			$this->meta_changed = false;
		}
	}

	class WC_Order_Item_Product extends WC_Data {
		private $props = ['name' => '', 'product_id' => 0, 'quantity' => 1, 'total' => 0.0, 'order_id' => 0];

		public function __construct($item = 0) {
			if (is_numeric($item) && (int) $item > 0) {
				global $wpdb;
				$row = $wpdb->get_row($wpdb->prepare("SELECT * FROM {$wpdb->prefix}woocommerce_order_items WHERE order_item_id = %d", (int) $item), ARRAY_A);
				if ($row) {
					$this->id = (int) $row['order_item_id'];
					$this->props['name'] = $row['order_item_name'];
					$this->props['order_id'] = (int) $row['order_id'];
					foreach ($wpdb->get_results($wpdb->prepare("SELECT meta_key, meta_value FROM {$wpdb->prefix}woocommerce_order_itemmeta WHERE order_item_id = %d ORDER BY meta_id", $this->id), ARRAY_A) as $m) {
						$internal = ['_product_id' => 'product_id', '_qty' => 'quantity', '_line_total' => 'total'];
						if (isset($internal[$m['meta_key']])) {
							$this->props[$internal[$m['meta_key']]] = $m['meta_value'];
						} else {
							$this->meta[$m['meta_key']][] = maybe_unserialize($m['meta_value']);
						}
					}
				}
			}
			$this->object_read = true;
		}

		public function get_type() {
			return 'line_item';
		}
		public function get_name($context = 'view') {
			return $this->props['name'];
		}
		public function set_name($v): void {
			$this->props['name'] = (string) $v;
		}
		public function get_product_id($context = 'view') {
			return (int) $this->props['product_id'];
		}
		public function set_product_id($v): void {
			$this->props['product_id'] = (int) $v;
		}
		public function get_product() {
			return wc_get_product($this->get_product_id());
		}
		public function get_quantity($context = 'view') {
			return (int) $this->props['quantity'];
		}
		public function set_quantity($v): void {
			$this->props['quantity'] = (int) $v;
		}
		public function get_total($context = 'view') {
			return (float) $this->props['total'];
		}
		public function set_total($v): void {
			$this->props['total'] = (float) $v;
		}
		public function get_order_id() {
			return (int) $this->props['order_id'];
		}
		public function set_order_id($v): void {
			$this->props['order_id'] = (int) $v;
		}

		public function save() {
			global $wpdb;
			$items = $wpdb->prefix . 'woocommerce_order_items';
			$meta  = $wpdb->prefix . 'woocommerce_order_itemmeta';
			if (!$this->id) {
				$wpdb->insert($items, ['order_item_name' => $this->props['name'], 'order_item_type' => 'line_item', 'order_id' => $this->props['order_id']]);
				$this->id = (int) $wpdb->insert_id;
			}
			$wpdb->delete($meta, ['order_item_id' => $this->id]);
			$all = ['_product_id' => [$this->props['product_id']], '_qty' => [$this->props['quantity']], '_line_total' => [$this->props['total']]] + $this->meta;
			foreach ($all as $key => $values) {
				foreach ($values as $v) {
					$wpdb->insert($meta, ['order_item_id' => $this->id, 'meta_key' => $key, 'meta_value' => maybe_serialize($v)]);
				}
			}
			return $this->id;
		}
	}

	abstract class WC_Abstract_Order extends KCM_WC_Post_Data {
		protected $post_type = 'shop_order';
		protected $props = ['status' => 'pending', 'parent_id' => 0, 'total' => 0.0, 'payment_method' => '', 'payment_method_title' => '',
			'transaction_id' => '', 'date_paid' => null, 'date_completed' => null, 'customer_id' => 0, 'date_created' => null, 'amount' => 0.0, 'reason' => ''];
		protected $items = null;      // WC_Order_Item_Product[] (null: not read)
		protected $new_items = [];

		public function __construct($order = 0) {
			$id = is_object($order) ? $order->get_id() : (int) $order;
			if ($id > 0) {
				$post = get_post($id);
				if (!$post || $post->post_type !== $this->post_type) {
					throw new Exception('Invalid order.');
				}
				$this->id = $id;
				$this->props['status'] = preg_replace('/^wc-/', '', $post->post_status);
				$this->props['parent_id'] = (int) $post->post_parent;
				$this->props['date_created'] = strtotime($post->post_date_gmt . ' UTC');
				foreach (['total' => '_order_total', 'payment_method' => '_payment_method', 'payment_method_title' => '_payment_method_title',
					'transaction_id' => '_transaction_id', 'date_paid' => '_date_paid', 'date_completed' => '_date_completed',
					'customer_id' => '_customer_user', 'amount' => '_refund_amount', 'reason' => '_refund_reason'] as $prop => $key) {
					$v = get_post_meta($id, $key, true);
					if ($v !== '') {
						$this->props[$prop] = $v;
					}
				}
				$this->read_post_meta();
			}
			$this->object_read = true;
		}

		public function get_status($context = 'view') {
			return (string) $this->props['status'];
		}
		public function has_status($status): bool {
			return apply_filters('woocommerce_order_has_status', (is_array($status) && in_array($this->get_status(), $status, true)) || $this->get_status() === $status, $this, $status);
		}
		public function get_total($context = 'view') {
			return (float) $this->props['total'];
		}
		public function set_total($v): void {
			$this->props['total'] = (float) $v;
		}
		public function get_parent_id($context = 'view') {
			return (int) $this->props['parent_id'];
		}
		public function get_date_created($context = 'view') {
			return $this->props['date_created'] ? new DateTimeImmutable('@' . $this->props['date_created']) : null;
		}

		public function set_status($new_status) {
			$new_status = preg_replace('/^wc-/', '', (string) $new_status);
			$old = $this->props['status'];
			$this->props['status'] = $new_status;
			return ['from' => $old, 'to' => $new_status];
		}

		public function get_items($types = 'line_item'): array {
			if ($this->items === null) {
				$this->items = [];
				if ($this->id) {
					global $wpdb;
					$ids = $wpdb->get_col($wpdb->prepare("SELECT order_item_id FROM {$wpdb->prefix}woocommerce_order_items WHERE order_id = %d AND order_item_type = 'line_item' ORDER BY order_item_id", $this->id));
					foreach ($ids as $item_id) {
						$this->items[(int) $item_id] = new WC_Order_Item_Product((int) $item_id);
					}
				}
			}
			return $this->items + $this->new_items;
		}

		public function add_item($item): void {
			$this->get_items();
			$this->new_items['new:' . count($this->new_items)] = $item;
		}

		public function save_items(): void {
			foreach ($this->new_items as $item) {
				$item->set_order_id($this->id);
				$this->items[$item->save()] = $item;
			}
			$this->new_items = [];
		}

		/** The data store's create()/update(): post + props + meta; fires woocommerce_new_order / woocommerce_update_order. */
		protected function data_store_save(): void {
			$post = ['post_type' => $this->post_type, 'post_status' => ($this->post_type === 'shop_order' ? 'wc-' : '') . $this->get_status(),
				'post_parent' => (int) $this->props['parent_id'], 'post_title' => 'Order', 'post_author' => 1];
			$creating = !$this->id;
			if ($creating) {
				$this->id = (int) wp_insert_post($post, true);
				$this->props['date_created'] = time();
			} else {
				wp_update_post(['ID' => $this->id] + $post);
			}
			foreach (['total' => '_order_total', 'payment_method' => '_payment_method', 'payment_method_title' => '_payment_method_title',
				'transaction_id' => '_transaction_id', 'date_paid' => '_date_paid', 'date_completed' => '_date_completed',
				'customer_id' => '_customer_user', 'amount' => '_refund_amount', 'reason' => '_refund_reason'] as $prop => $key) {
				update_post_meta($this->id, $key, $this->props[$prop] ?? '');
			}
			$this->save_meta_data();
			if ($this->post_type === 'shop_order') {
				do_action($creating ? 'woocommerce_new_order' : 'woocommerce_update_order', $this->id, $this);
			}
		}

		public function save() {
			$this->data_store_save();
			$this->save_items();
			return $this->id;
		}
	}

	class WC_Order extends WC_Abstract_Order {
		protected $status_transition = false;

		public function get_payment_method($context = 'view') {
			return (string) $this->props['payment_method'];
		}
		public function set_payment_method($v): void {
			$this->props['payment_method'] = (string) $v;
		}
		public function get_payment_method_title($context = 'view') {
			return (string) $this->props['payment_method_title'];
		}
		public function get_transaction_id($context = 'view') {
			return (string) $this->props['transaction_id'];
		}
		public function set_transaction_id($v): void {
			$this->props['transaction_id'] = (string) $v;
		}
		public function get_date_paid($context = 'view') {
			return $this->props['date_paid'] ? new DateTimeImmutable('@' . (int) $this->props['date_paid']) : null;
		}
		public function set_date_paid($v): void {
			$this->props['date_paid'] = (int) $v;
		}
		public function get_customer_id($context = 'view') {
			return (int) $this->props['customer_id'];
		}
		public function set_customer_id($v): void {
			$this->props['customer_id'] = (int) $v;
		}
		public function get_billing_email($context = 'view') {
			$user = get_userdata($this->get_customer_id());
			return $user ? $user->user_email : '';
		}
		public function get_currency($context = 'view') {
			return 'USD';
		}
		public function calculate_totals($and_taxes = true) {
			$total = 0.0;
			foreach ($this->get_items() as $item) {
				$total += $item->get_total();
			}
			$this->set_total($total);
			return $total;
		}
		public function add_product($product, $qty = 1, $args = array()) {
			$item = new WC_Order_Item_Product();
			$item->set_name($product->get_name());
			$item->set_product_id($product->get_id());
			$item->set_quantity($qty);
			$item->set_total((float) $product->get_price() * $qty);
			$this->add_item($item);
			return $item;
		}

		public function is_paid() {
			return apply_filters('woocommerce_order_is_paid', $this->has_status(wc_get_is_paid_statuses()), $this);
		}

		public function needs_processing() {
			$needs = false;
			foreach ($this->get_items() as $item) {
				$product = $item->get_product();
				if (!$product) {
					continue;
				}
				$virtual_downloadable = $product->is_downloadable() && $product->is_virtual();
				if (apply_filters('woocommerce_order_item_needs_processing', !$virtual_downloadable, $product, $this->get_id())) {
					$needs = true;
					break;
				}
			}
			return $needs;
		}

		public function has_downloadable_item() {
			foreach ($this->get_items() as $item) {
				$product = $item->get_product();
				if ($product && $product->is_downloadable()) {
					return true;
				}
			}
			return false;
		}

		public function set_status($new_status, $note = '', $manual_update = false) {
			$result = parent::set_status($new_status);
			if ($this->object_read && $this->id && !empty($result['from']) && $result['from'] !== $result['to']) {
				$this->status_transition = ['from' => !empty($this->status_transition['from']) ? $this->status_transition['from'] : $result['from'],
					'to' => $result['to'], 'note' => $note, 'manual' => (bool) $manual_update];
				if (!$this->props['date_paid'] && in_array($result['to'], wc_get_is_paid_statuses(), true)) {
					$this->props['date_paid'] = time();
				}
				if ($result['to'] === 'completed' && !$this->props['date_completed']) {
					$this->props['date_completed'] = time();
				}
			}
			return $result;
		}

		public function update_status($new_status, $note = '', $manual = false) {
			if (!$this->get_id()) {
				return false;
			}
			$this->set_status($new_status, $note, $manual);
			$this->save();
			return true;
		}

		public function save() {
			parent::save();
			$this->status_transition();
			return $this->get_id();
		}

		protected function status_transition(): void {
			$transition = $this->status_transition;
			$this->status_transition = false;
			if (!$transition) {
				return;
			}
			do_action('woocommerce_order_status_' . $transition['to'], $this->get_id(), $this, $transition);
			if (!empty($transition['from'])) {
				$this->add_order_note(trim($transition['note'] . ' ' . sprintf('Order status changed from %1$s to %2$s.', wc_get_order_status_name($transition['from']), wc_get_order_status_name($transition['to']))), 0, $transition['manual']);
				do_action('woocommerce_order_status_' . $transition['from'] . '_to_' . $transition['to'], $this->get_id(), $this);
				do_action('woocommerce_order_status_changed', $this->get_id(), $transition['from'], $transition['to'], $this);
			}
		}

		public function payment_complete($transaction_id = '') {
			if (!$this->get_id()) {
				return false;
			}
			do_action('woocommerce_pre_payment_complete', $this->get_id(), $transaction_id);
			if ($this->has_status(apply_filters('woocommerce_valid_order_statuses_for_payment_complete', ['on-hold', 'pending', 'failed', 'cancelled'], $this))) {
				if (!empty($transaction_id)) {
					$this->set_transaction_id($transaction_id);
				}
				if (!$this->props['date_paid']) {
					$this->set_date_paid(time());
				}
				$this->set_status(apply_filters('woocommerce_payment_complete_order_status', $this->needs_processing() ? 'processing' : 'completed', $this->get_id(), $this));
				$this->save();
				do_action('woocommerce_payment_complete', $this->get_id(), $transaction_id);
			} else {
				do_action('woocommerce_payment_complete_order_status_' . $this->get_status(), $this->get_id(), $transaction_id);
			}
			return true;
		}

		public function add_order_note($note, $is_customer_note = 0, $added_by_user = false) {
			if (!$this->get_id()) {
				return 0;
			}
			$id = wp_insert_comment(['comment_post_ID' => $this->get_id(), 'comment_author' => 'WooCommerce', 'comment_content' => (string) $note,
				'comment_agent' => 'WooCommerce', 'comment_type' => 'order_note', 'comment_approved' => 1]);
			add_comment_meta($id, 'is_customer_note', (int) $is_customer_note);
			if ($is_customer_note) {
				do_action('woocommerce_new_customer_note', ['order_id' => $this->get_id(), 'customer_note' => $note]);
			}
			return $id;
		}

		public function get_refunds() {
			$ids = get_posts(['post_type' => 'shop_order_refund', 'post_parent' => $this->get_id(), 'post_status' => 'any', 'numberposts' => -1, 'fields' => 'ids']);
			return array_map(static fn($id) => new WC_Order_Refund($id), $ids);
		}

		public function get_total_refunded() {
			return array_sum(array_map(static fn($r) => $r->get_amount(), $this->get_refunds()));
		}

		public function get_remaining_refund_amount() {
			return wc_format_decimal($this->get_total() - $this->get_total_refunded());
		}

		public function get_checkout_payment_url($on_checkout = false) {
			return add_query_arg(['pay_for_order' => 'true', 'key' => 'wc_order_' . $this->get_id()], home_url('/checkout/order-pay/' . $this->get_id() . '/'));
		}
	}

	class WC_Order_Refund extends WC_Abstract_Order {
		protected $post_type = 'shop_order_refund';

		public function get_amount($context = 'view') {
			return (float) $this->props['amount'];
		}
		public function set_amount($v): void {
			$this->props['amount'] = (float) $v;
		}
		public function get_reason($context = 'view') {
			return (string) $this->props['reason'];
		}
		public function set_reason($v): void {
			$this->props['reason'] = (string) $v;
		}
		public function set_parent_id($v): void {
			$this->props['parent_id'] = (int) $v;
		}
		public function set_status($new_status) {
			return parent::set_status('completed');
		}
	}

	class WC_Product {
		protected $id = 0;
		protected $props = ['name' => '', 'status' => 'publish', 'price' => '', 'regular_price' => '', 'virtual' => false, 'downloadable' => false,
			'sold_individually' => false, 'catalog_visibility' => 'visible'];
		protected $meta = [];

		public function __construct($product = 0) {
			$id = is_object($product) ? $product->get_id() : (int) $product;
			if ($id > 0) {
				$post = get_post($id);
				if ($post && $post->post_type === 'product') {
					$this->id = $id;
					$this->props['name'] = $post->post_title;
					$this->props['status'] = $post->post_status;
					foreach (['price' => '_price', 'regular_price' => '_regular_price'] as $p => $k) {
						$this->props[$p] = (string) get_post_meta($id, $k, true);
					}
					foreach (['virtual' => '_virtual', 'downloadable' => '_downloadable', 'sold_individually' => '_sold_individually'] as $p => $k) {
						$this->props[$p] = get_post_meta($id, $k, true) === 'yes';
					}
					$this->props['catalog_visibility'] = get_post_meta($id, '_visibility', true) ?: 'visible';
				}
			}
		}
		public function get_id() {
			return (int) $this->id;
		}
		public function exists() {
			return $this->id > 0;
		}
		public function get_type() {
			return 'simple';
		}
		public function get_name($context = 'view') {
			return $this->props['name'];
		}
		public function set_name($v): void {
			$this->props['name'] = (string) $v;
		}
		public function get_status($context = 'view') {
			return $this->props['status'];
		}
		public function set_status($v): void {
			$this->props['status'] = (string) $v;
		}
		public function get_price($context = 'view') {
			return $this->props['price'];
		}
		public function set_price($v): void {
			$this->props['price'] = wc_format_decimal($v);
		}
		public function get_regular_price($context = 'view') {
			return $this->props['regular_price'];
		}
		public function set_regular_price($v): void {
			$this->props['regular_price'] = wc_format_decimal($v);
		}
		public function is_virtual() {
			return (bool) $this->props['virtual'];
		}
		public function set_virtual($v): void {
			$this->props['virtual'] = (bool) $v;
		}
		public function is_downloadable() {
			return (bool) $this->props['downloadable'];
		}
		public function set_downloadable($v): void {
			$this->props['downloadable'] = (bool) $v;
		}
		public function is_sold_individually() {
			return (bool) $this->props['sold_individually'];
		}
		public function set_sold_individually($v): void {
			$this->props['sold_individually'] = (bool) $v;
		}
		public function get_catalog_visibility($context = 'view') {
			return $this->props['catalog_visibility'];
		}
		public function set_catalog_visibility($v): void {
			$this->props['catalog_visibility'] = (string) $v;
		}
		public function get_meta($key = '', $single = true, $context = 'view') {
			if (array_key_exists($key, $this->meta)) {
				return $this->meta[$key];
			}
			return $this->id ? get_post_meta($this->id, $key, $single) : '';
		}
		public function update_meta_data($key, $value, $meta_id = 0): void {
			$this->meta[$key] = $value;
		}
		public function save() {
			$post = ['post_type' => 'product', 'post_title' => $this->props['name'], 'post_status' => $this->props['status']];
			if ($this->id) {
				wp_update_post(['ID' => $this->id] + $post);
			} else {
				$this->id = (int) wp_insert_post($post, true);
			}
			update_post_meta($this->id, '_price', $this->props['price']);
			update_post_meta($this->id, '_regular_price', $this->props['regular_price']);
			foreach (['virtual' => '_virtual', 'downloadable' => '_downloadable', 'sold_individually' => '_sold_individually'] as $p => $k) {
				update_post_meta($this->id, $k, $this->props[$p] ? 'yes' : 'no');
			}
			update_post_meta($this->id, '_visibility', $this->props['catalog_visibility']);
			foreach ($this->meta as $k => $v) {
				update_post_meta($this->id, $k, $v);
			}
			do_action('woocommerce_update_product', $this->id, $this);
			return $this->id;
		}
	}

	class WC_Product_Simple extends WC_Product {
	}

	class WC_Checkout {
		/** WooCommerce 7.9 WC_Checkout::create_order() for the cart (no taxes, shipping, coupons). */
		public function create_order($data) {
			$order = new WC_Order();
			$order->set_payment_method((string) ($data['payment_method'] ?? ''));
			$order->set_customer_id((int) ($data['customer_id'] ?? get_current_user_id()));
			foreach (WC()->cart->get_cart() as $cart_item_key => $values) {
				$item = new WC_Order_Item_Product();
				$item->set_name($values['data']->get_name());
				$item->set_product_id($values['product_id']);
				$item->set_quantity($values['quantity']);
				$item->set_total((float) $values['data']->get_price() * $values['quantity']);
				do_action('woocommerce_checkout_create_order_line_item', $item, $cart_item_key, $values, $order);
				$order->add_item($item);
			}
			$order->set_total(WC()->cart->get_total('edit'));
			do_action('woocommerce_checkout_create_order', $order, $data);
			$order_id = $order->save();
			do_action('woocommerce_checkout_update_order_meta', $order_id, $data);
			do_action('woocommerce_checkout_order_created', $order);
			return $order_id;
		}

		/** WC_Checkout::process_order_payment(): the gateway's process_payment(), then the cart is emptied. */
		public function process_order_payment($order_id, $payment_method) {
			$gateways = WC()->payment_gateways()->payment_gateways();
			if (!isset($gateways[$payment_method])) {
				throw new Exception('Invalid payment method.');
			}
			WC()->session->set('order_awaiting_payment', $order_id);
			$result = $gateways[$payment_method]->process_payment($order_id);
			if (isset($result['result']) && $result['result'] === 'success') {
				WC()->cart->empty_cart();
			}
			return $result;
		}
	}

	class WC_Payment_Gateways {
		public function payment_gateways(): array {
			return ['bacs' => new WC_Gateway_BACS(), 'cheque' => new WC_Gateway_Cheque(), 'cod' => new WC_Gateway_COD(), 'stripe' => new WC_Gateway_Card_StandIn()];
		}
	}

	abstract class WC_Payment_Gateway {
		public $id = '';
		protected function success($order): array {
			return ['result' => 'success', 'redirect' => add_query_arg('key', 'wc_order_' . $order->get_id(), home_url('/checkout/order-received/' . $order->get_id() . '/'))];
		}
	}

	/**
	 * WooCommerce 7.9's offline gateways (WC_Gateway_BACS, WC_Gateway_Cheque, WC_Gateway_COD)
	 * share one process_payment(): a paying order goes to the gateway's filtered status with its note.
	 */
	abstract class KCM_WC_Offline_Gateway extends WC_Payment_Gateway {
		protected $note = '';
		abstract protected function initial_status($order): string;
		public function process_payment($order_id) {
			$order = wc_get_order($order_id);
			if ($order->get_total() > 0) {
				$order->update_status(apply_filters('woocommerce_' . $this->id . '_process_payment_order_status', $this->initial_status($order), $order), $this->note);
			} else {
				$order->payment_complete();
			}
			return $this->success($order);
		}
	}

	class WC_Gateway_BACS extends KCM_WC_Offline_Gateway {
		public $id = 'bacs';
		protected $note = 'Awaiting BACS payment';
		protected function initial_status($order): string {
			return 'on-hold';
		}
	}

	class WC_Gateway_Cheque extends KCM_WC_Offline_Gateway {
		public $id = 'cheque';
		protected $note = 'Awaiting check payment';
		protected function initial_status($order): string {
			return 'on-hold';
		}
	}

	class WC_Gateway_COD extends KCM_WC_Offline_Gateway {
		public $id = 'cod';
		protected $note = 'Payment to be made upon delivery.';
		protected function initial_status($order): string {
			return $order->has_downloadable_item() ? 'on-hold' : 'processing';
		}
	}

	/** A card gateway (as Stripe's): the charge succeeds remotely, then payment_complete($charge_id). */
	class WC_Gateway_Card_StandIn extends WC_Payment_Gateway {
		public $id = 'stripe';
		public function process_payment($order_id) {
			$order = wc_get_order($order_id);
			$order->payment_complete('ch_' . $order_id);
			return $this->success($order);
		}
	}

	function wc_get_order($the_order = false) {
		$id = is_object($the_order) ? $the_order->get_id() : (int) $the_order;
		$type = $id > 0 ? get_post_type($id) : false;
		if ($type === 'shop_order') {
			return new WC_Order($id);
		}
		if ($type === 'shop_order_refund') {
			return new WC_Order_Refund($id);
		}
		return false;
	}

	function wc_create_order($args = array()) {
		$order = new WC_Order();
		if (!empty($args['customer_id'])) {
			$order->set_customer_id($args['customer_id']);
		}
		$order->save();
		return $order;
	}

	/** wc_get_orders() over classic storage: limit, type, status, date_created ('>ts'), meta_query, orderby date, order. */
	function wc_get_orders($args) {
		$statuses = isset($args['status']) ? array_map(static fn($s) => 'wc-' . preg_replace('/^wc-/', '', $s), (array) $args['status']) : 'any';
		$query = ['post_type' => $args['type'] ?? 'shop_order', 'post_status' => $statuses, 'numberposts' => (int) ($args['limit'] ?? get_option('posts_per_page')),
			'orderby' => ['date' => 'date', 'ID' => 'ID'][$args['orderby'] ?? 'date'] ?? 'date', 'order' => $args['order'] ?? 'DESC', 'fields' => 'ids', 'suppress_filters' => true];
		if ($query['orderby'] === 'date') {
			$query['orderby'] = ['date' => $query['order'], 'ID' => $query['order']];
		}
		if (isset($args['meta_query'])) {
			$query['meta_query'] = $args['meta_query']; // The CPT data store hands it to WP_Query.
		}
		if (isset($args['date_created']) && preg_match('/^>(\d+)$/', (string) $args['date_created'], $m)) {
			$query['date_query'] = [['column' => 'post_date_gmt', 'after' => gmdate('Y-m-d H:i:s', (int) $m[1])]];
		}
		if ($statuses === 'any') {
			$query['post_status'] = array_keys(wc_get_order_statuses());
		}
		return array_values(array_filter(array_map('wc_get_order', get_posts($query))));
	}

	function wc_get_order_statuses() {
		return ['wc-pending' => 'Pending payment', 'wc-processing' => 'Processing', 'wc-on-hold' => 'On hold', 'wc-completed' => 'Completed',
			'wc-cancelled' => 'Cancelled', 'wc-refunded' => 'Refunded', 'wc-failed' => 'Failed', 'wc-checkout-draft' => 'Draft'];
	}

	function wc_get_order_status_name($status) {
		$statuses = wc_get_order_statuses();
		$status = 'wc-' . preg_replace('/^wc-/', '', (string) $status);
		return $statuses[$status] ?? $status;
	}

	function wc_get_is_paid_statuses() {
		return apply_filters('woocommerce_order_is_paid_statuses', ['processing', 'completed']);
	}

	function wc_get_order_item_meta($item_id, $key, $single = true) {
		global $wpdb;
		$values = $wpdb->get_col($wpdb->prepare("SELECT meta_value FROM {$wpdb->prefix}woocommerce_order_itemmeta WHERE order_item_id = %d AND meta_key = %s ORDER BY meta_id", (int) $item_id, (string) $key));
		$values = array_map('maybe_unserialize', $values);
		return $single ? ($values[0] ?? '') : $values;
	}

	/** wc_get_order_notes(['order_id' => id]): newest first, objects with id, content, customer_note, added_by. */
	function wc_get_order_notes($args) {
		$comments = get_comments(['post_id' => (int) $args['order_id'], 'type' => 'order_note', 'orderby' => 'comment_ID', 'order' => 'DESC', 'status' => 'approve']);
		return array_map(static fn($c) => (object) ['id' => (int) $c->comment_ID, 'content' => $c->comment_content,
			'customer_note' => (bool) get_comment_meta($c->comment_ID, 'is_customer_note', true), 'added_by' => $c->comment_author], $comments);
	}

	function wc_get_product($the_product = false, $deprecated = array()) {
		$product = new WC_Product_Simple($the_product);
		return $product->exists() ? $product : false;
	}

	function wc_get_checkout_url() {
		return home_url('/checkout/');
	}

	function wc_get_cart_url() {
		return home_url('/cart/');
	}

	function wc_format_decimal($number, $dp = false, $trim_zeros = false) {
		$number = is_numeric($number) ? (string) $number : (string) (float) $number;
		return $dp === false ? $number : number_format((float) $number, (int) $dp, '.', '');
	}

	/** WooCommerce 7.9 wc_create_refund() (no line items, no remote refund). */
	function wc_create_refund($args = array()) {
		$order = wc_get_order($args['order_id'] ?? 0);
		if (!$order) {
			return new WP_Error('error', 'Invalid order ID.');
		}
		$remaining = (float) $order->get_remaining_refund_amount();
		$amount = (float) ($args['amount'] ?? 0);
		if ($amount > $remaining || $amount <= 0) {
			return new WP_Error('error', 'Invalid refund amount.');
		}
		$refund = new WC_Order_Refund();
		$refund->set_parent_id($order->get_id());
		$refund->set_amount($amount);
		$refund->set_reason((string) ($args['reason'] ?? ''));
		$refund->save();
		$order = wc_get_order($order->get_id());
		if (($remaining - $amount) > 0) {
			do_action('woocommerce_order_partially_refunded', $order->get_id(), $refund->get_id());
		} else {
			do_action('woocommerce_order_fully_refunded', $order->get_id(), $refund->get_id());
			$parent_status = apply_filters('woocommerce_order_fully_refunded_status', 'refunded', $order->get_id(), $refund->get_id());
			if ($parent_status) {
				$order->update_status($parent_status);
			}
		}
		do_action('woocommerce_refund_created', $refund->get_id(), $args);
		do_action('woocommerce_order_refunded', $order->get_id(), $refund->get_id());
		return $refund;
	}

	kcm_wc_install_tables();
	do_action('woocommerce_loaded');
}

/*
 * Action Scheduler, as bundled with WooCommerce (3.x API: as_schedule_single_action(),
 * as_schedule_recurring_action(), as_next_scheduled_action(), as_unschedule_all_actions(); the
 * action `action_scheduler_init` fires on `init`, priority 1). Actions are kept in the option
 * `kcm_standin_action_scheduler`; KcMeetTestBed\ActionSchedulerStandIn::run_due($now) is the queue
 * runner. Env KC_MEET_WC_NO_ACTION_SCHEDULER=1 leaves it out (a site whose Action Scheduler is off).
 */
if (!function_exists('as_schedule_single_action') && getenv('KC_MEET_WC_NO_ACTION_SCHEDULER') !== '1') {
	function as_schedule_single_action($timestamp, $hook, $args = array(), $group = '', $unique = false, $priority = 10) {
		return \KcMeetTestBed\ActionSchedulerStandIn::add((int) $timestamp, 0, (string) $hook, (array) $args, (string) $group);
	}

	function as_schedule_recurring_action($timestamp, $interval_in_seconds, $hook, $args = array(), $group = '', $unique = false, $priority = 10) {
		return \KcMeetTestBed\ActionSchedulerStandIn::add((int) $timestamp, (int) $interval_in_seconds, (string) $hook, (array) $args, (string) $group);
	}

	function as_next_scheduled_action($hook, $args = null, $group = '') {
		$next = false;
		foreach (\KcMeetTestBed\ActionSchedulerStandIn::pending($hook, $args, $group) as $a) {
			$next = $next === false ? $a['timestamp'] : min($next, $a['timestamp']);
		}
		return $next;
	}

	function as_unschedule_all_actions($hook, $args = array(), $group = '') {
		\KcMeetTestBed\ActionSchedulerStandIn::cancel((string) $hook, empty($args) ? null : (array) $args, (string) $group);
	}

	add_action('init', static function () {
		do_action('action_scheduler_init');
	}, 1);

	// The order statuses, registered as WooCommerce does (WC_Post_Types::register_post_status,
	// init priority 9): WP_Query filters on registered post statuses only, so without them a
	// wc_get_orders() 'status' argument would match every order.
	$register_statuses = static function () {
		foreach (wc_get_order_statuses() as $status => $label) {
			register_post_status($status, ['label' => $label, 'public' => false, 'exclude_from_search' => false,
				'show_in_admin_all_list' => true, 'show_in_admin_status_list' => true]);
		}
	};
	if (did_action('init')) {
		$register_statuses();
	} else {
		add_action('init', $register_statuses, 9);
	}
}
}

namespace KcMeetTestBed {
	/** The Action Scheduler stand-in's store and queue runner (see above). */
	final class ActionSchedulerStandIn {
		private const OPTION = 'kcm_standin_action_scheduler';

		public static function all(): array {
			return (array) get_option(self::OPTION, []);
		}

		public static function add(int $timestamp, int $interval, string $hook, array $args, string $group): int {
			$actions = self::all();
			$id = $actions ? max(array_keys($actions)) + 1 : 1;
			$actions[$id] = ['hook' => $hook, 'args' => array_values($args), 'group' => $group, 'timestamp' => $timestamp, 'interval' => $interval, 'status' => 'pending'];
			update_option(self::OPTION, $actions, false);
			return $id;
		}

		public static function pending($hook, $args = null, string $group = ''): array {
			return array_filter(self::all(), static fn($a) => $a['status'] === 'pending' && ($hook === '' || $hook === null || $a['hook'] === $hook)
				&& ($args === null || $a['args'] === array_values((array) $args)) && ($group === '' || $a['group'] === $group));
		}

		public static function cancel(string $hook, ?array $args, string $group): void {
			$actions = self::all();
			foreach (array_keys(self::pending($hook, $args, $group)) as $id) {
				$actions[$id]['status'] = 'canceled';
			}
			update_option(self::OPTION, $actions, false);
		}

		/** Runs the pending actions (of $hook, or all) due at $now, as the queue runner would then; returns the hooks run. */
		public static function run_due(int $now, ?string $hook = null): array {
			$ran = [];
			foreach (self::pending($hook) as $id => $a) {
				if ($a['timestamp'] > $now) {
					continue;
				}
				$actions = self::all();
				$actions[$id]['status'] = 'complete';
				update_option(self::OPTION, $actions, false);
				do_action_ref_array($a['hook'], $a['args']);
				$ran[] = $a['hook'];
			}
			return $ran;
		}
	}
}
