<?php
/**
 * WooCommerce payment: the meeting follows the order.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Keeps KiviCare appointments paid through WooCommerce in step with their order, whatever the
 * gateway: card, bank transfer or cheque marked paid by an admin, cash on delivery completed later.
 *
 * The order decides, not the appointment's status number (KiviCare 3.x stores an appointment
 * awaiting payment with status 0, the number of a cancelled one):
 * - paid ({@see self::is_paid()}: `woocommerce_payment_complete`, else a paid status — for cash
 *   on delivery only `completed`) → appointment status 1 and `kc_meet_create_event()`
 *   (idempotent: any number of hooks, in any number of processes, make one event);
 * - cancelled, failed or fully refunded → status 0 and `kc_meet_delete_event()`;
 * - a partial refund changes nothing;
 * each outcome is recorded as an order note (never a customer note: no e-mail goes out).
 *
 * Only transitions act ("paid → 1, cancelled/failed/fully refunded → 0"), never a repeat:
 * - an order already paid in an earlier request (the order meta `_kc_meet_appointment_sync` says
 *   'paid') is not paid again when its status moves on (processing → completed): an appointment
 *   cancelled in KiviCare since then stays cancelled, without an event;
 * - an order that is cancelled, failed or refunded leaves its appointment alone when another
 *   order for the same appointment is paid (an abandoned pending order cancelled after the
 *   patient paid a newer one).
 * Within one request, what such an appointment was when the order's status hook ran
 * (priority 5) is put back at priority 20 if core's handler (10) changed it.
 *
 * The order ↔ appointment link is the order meta `kivicare_appointment_id` as KiviCare writes it,
 * else the line items' meta of the same name (WooCommerce fires `woocommerce_new_order` before
 * the line items are saved, so KiviCare 3.x's copy onto the order finds nothing). Orders are only
 * read through WooCommerce's order API (`wc_get_order()`, `get_meta()`, `get_items()`), so classic
 * post storage and HPOS both work.
 *
 * Hook priorities: KiviCare 4.x's own `woocommerce_payment_complete` handler (priority 10)
 * redirects and calls `exit`, and its `woocommerce_order_status_failed` handler exits on the front
 * end before `woocommerce_order_status_changed` fires; 4.x also maps refunded → 2 and 3.x maps
 * anything but completed → 0 on `woocommerce_order_status_changed` (10). So the order is read at
 * priority 5 on `woocommerce_payment_complete` and on each `woocommerce_order_status_{status}`,
 * and once more at priority 20 on `woocommerce_order_status_changed` to put back what core
 * overwrote.
 *
 * Appointment status writes go to KiviCare's `kc_appointments` table through `$wpdb` (the
 * connection core uses) and fire core's actions the way core does: `kc_appointment_status_update`
 * (id, status, appointment) on both versions; on cancel also `kc_appointment_cancelled` (4.x) or
 * `kc_appointment_cancel` (3.x); on payment `kc_appointment_payment_completed` (4.x) or
 * `kc_appointment_payment_complete` (3.x).
 *
 * Unpaid orders: when an order for an appointment is created (and when KiviCare 3.x puts the
 * appointment in the cart) a single action `kc_meet_woo_unpaid_timeout` (appointment id) is
 * scheduled {@see self::timeout_seconds()} later — Action Scheduler when present, else WP-Cron.
 * If by then the appointment's order is still awaiting an online payment (pending or failed), or
 * there is no order at all, the order is cancelled (which cancels the appointment) or the
 * appointment is cancelled directly, freeing its slot. Orders awaiting an offline payment
 * (bank transfer, cheque, cash on delivery; status on-hold) are left alone: an admin marks them
 * paid days later. Payment unschedules the action.
 *
 * Also here: the setting `kiviCare_woocommerce_payment` ('on'|'off') with the callbacks of
 * KiviCare 3.x's filters `kcgm_change_woocommerce_module_status` /
 * `kcgm_get_woocommerce_module_status` and `kcgm_woocommerce_add_to_cart`
 * ({@see KC_Meet_WooCommerce_Products}; hooked by {@see KC_Meet_KiviCare3}), and KiviCare 4.x's
 * `woocommerce` gateway on `kc_payment_gateways` (core's own `App\paymentGateways\KCWooCommerce`,
 * registered exactly as the vendor did, only when that class exists).
 *
 * Without WooCommerce none of its hooks ever fires and the 3.x cart filter answers a status
 * array with `status` false: the feature is simply off. Callbacks never throw.
 */
class KC_Meet_WooCommerce {

	/**
	 * The add-on's WooCommerce setting ('on'|'off'), read by core.
	 *
	 * @var string
	 */
	const OPTION = KC_Meet_Settings::WOO_PAYMENT_OPTION;

	/**
	 * Option: minutes an order may stay unpaid before its appointment is cancelled.
	 *
	 * @var string
	 */
	const TIMEOUT_OPTION = KC_Meet_Settings::UNPAID_MINUTES_OPTION;

	/**
	 * Default unpaid timeout, minutes.
	 *
	 * @var int
	 */
	const DEFAULT_TIMEOUT_MINUTES = KC_Meet_Settings::UNPAID_MINUTES_DEFAULT;

	/**
	 * Single action (appointment id) run when the unpaid timeout expires.
	 *
	 * @var string
	 */
	const TIMEOUT_HOOK = 'kc_meet_woo_unpaid_timeout';

	/**
	 * Order/line-item meta key KiviCare writes.
	 *
	 * @var string
	 */
	const APPOINTMENT_META = 'kivicare_appointment_id';

	/**
	 * Order meta: what the plugin last did for the order ('paid'|'cancelled'|'refunded').
	 *
	 * @var string
	 */
	const DONE_META = '_kc_meet_appointment_sync';

	/**
	 * KiviCare 4.x core's WooCommerce gateway class.
	 *
	 * @var string
	 */
	const GATEWAY_CLASS = 'App\\paymentGateways\\KCWooCommerce';

	/**
	 * Order statuses waiting for an online payment (checkout-draft: the block checkout's order
	 * before it is placed), cancelled by the unpaid timeout.
	 *
	 * @var string[]
	 */
	const TIMEOUT_STATUSES = array( 'pending', 'failed', 'checkout-draft' );

	/**
	 * Offline gateways (payment confirmed by an admin later): never timed out.
	 *
	 * @var string[]
	 */
	const OFFLINE_GATEWAYS = array( 'bacs', 'cheque', 'cod' );

	/**
	 * Gateways whose `processing` status does not mean the money is in: cash on delivery puts an
	 * order without a downloadable item in `processing` at checkout ({@see self::is_paid()}).
	 *
	 * @var string[]
	 */
	const PAID_WHEN_COMPLETED_GATEWAYS = array( 'cod' );

	/**
	 * Decisions made in this request, by "blog:order": the decision.
	 *
	 * @var array<string, string>
	 */
	private $decided = array();

	/**
	 * Appointments left alone in this request, by "blog:order:appointment": `decision` (the
	 * order's), `status` (the appointment's then) and `result` (why), put back if core's handler
	 * changes it later in the request while the order's decision is the same.
	 *
	 * @var array<string, array>
	 */
	private $left = array();

	/**
	 * Appointments whose event KiviCare core's own handlers must not make or remove in this
	 * request, by "blog:appointment": 'create' (their order awaits payment: core 4.x books the
	 * appointment of a cash-on-delivery order in `processing`, and its status action would make
	 * the event before the money is in) or 'all' (left alone for another order, see
	 * {@see self::leave_alone()}). Asked by {@see KC_Meet_Appointment_Hooks} through
	 * {@see self::holds()}; this class's own event calls do not ask.
	 *
	 * @var array<string, string>
	 */
	private static $held = array();

	// ------------------------------------------------------------------ environment

	/**
	 * Whether WooCommerce's order API is loaded.
	 *
	 * @return bool
	 */
	public static function woocommerce_active() {
		return function_exists( 'wc_get_order' ) && function_exists( 'WC' );
	}

	/**
	 * The setting's value, 'on' or 'off', read as core reads it ({@see KC_Meet_Settings::woocommerce_payment()}).
	 *
	 * @return string
	 */
	public static function module_status() {
		return KC_Meet_Settings::woocommerce_payment() ? 'on' : 'off';
	}

	/**
	 * Seconds an order may stay unpaid (option `kc_meet_woo_unpaid_minutes` read by
	 * {@see KC_Meet_Settings::unpaid_minutes()}, default 30 minutes; filter
	 * `kc_meet_woo_unpaid_timeout_seconds`).
	 *
	 * @param int $appointment_id Appointment.
	 * @return int At least 60.
	 */
	public static function timeout_seconds( $appointment_id = 0 ) {
		$minutes = KC_Meet_Settings::unpaid_minutes();
		/**
		 * Filters how long (seconds) an appointment's order may stay unpaid before the
		 * appointment is cancelled.
		 *
		 * @param int $seconds        Seconds.
		 * @param int $appointment_id Appointment.
		 */
		$seconds = (int) apply_filters( 'kc_meet_woo_unpaid_timeout_seconds', (int) round( $minutes * MINUTE_IN_SECONDS ), (int) $appointment_id );
		return max( MINUTE_IN_SECONDS, $seconds );
	}

	/**
	 * Whether KiviCare 4.x core is loaded (its abstract classes exist; core autoloads them).
	 *
	 * @return bool
	 */
	private static function is_core4() {
		return class_exists( 'App\\abstracts\\KCAbstractTelemedProvider' )
			|| class_exists( 'App\\abstracts\\KCAbstractPaymentGateway' );
	}

	// ------------------------------------------------------------------ KiviCare filters

	/**
	 * `kcgm_change_woocommerce_module_status` (`['status' => 'on'|'off']`): saves the setting.
	 *
	 * @param mixed $data Filter argument.
	 * @return array Status array with the stored value in `data`.
	 */
	public function change_module_status( $data = array() ) {
		$status = is_array( $data ) && isset( $data['status'] ) && is_scalar( $data['status'] ) ? strtolower( trim( (string) $data['status'] ) ) : '';
		if ( ! in_array( $status, array( 'on', 'off' ), true ) ) {
			return array(
				'status'  => false,
				'message' => KC_Meet_Messages::for_code( 5001 ),
			);
		}
		if ( ! current_user_can( KC_Meet_Access::ADMIN_CAP ) ) {
			return array(
				'status'  => false,
				'message' => __( 'Sorry, you are not allowed to manage these settings.', 'kc-googlemeet' ),
			);
		}
		update_option( self::OPTION, $status );
		return array(
			'status'  => true,
			'message' => 'on' === $status
				? __( 'WooCommerce payment is on.', 'kc-googlemeet' )
				: __( 'WooCommerce payment is off.', 'kc-googlemeet' ),
			'data'    => self::module_status(),
		);
	}

	/**
	 * `kcgm_get_woocommerce_module_status`: 'on' or 'off'.
	 *
	 * @param mixed $unused Core passes [].
	 * @return string
	 */
	public function get_module_status( $unused = array() ) {
		unset( $unused );
		return self::module_status();
	}

	/**
	 * `kcgm_woocommerce_add_to_cart` (`['appointment_id', 'doctor_id']`): puts the appointment's
	 * services in the cart and answers `['status' => true, 'woocommerce_redirect' => checkout URL]`
	 * as core expects (or `status` false with a message).
	 *
	 * @param mixed $data Filter argument.
	 * @return array
	 */
	public function add_to_cart( $data = array() ) {
		try {
			$result = KC_Meet_WooCommerce_Products::add_to_cart( is_array( $data ) ? $data : array() );
		} catch ( \Throwable $e ) {
			$result = array(
				'status'  => false,
				'message' => __( 'The appointment could not be put in the WooCommerce cart.', 'kc-googlemeet' ),
			);
		}
		if ( ! empty( $result['status'] ) && ! empty( $result['appointment_id'] ) ) {
			self::schedule_timeout( (int) $result['appointment_id'] );
		}
		unset( $result['appointment_id'] );
		return $result;
	}

	/**
	 * `kc_payment_gateways` (KiviCare 4.x): registers core's own WooCommerce gateway under
	 * `woocommerce` with the settings key `kiviCare_woocommerce_payment`, as the vendor's add-on
	 * does — without it core rejects a patient's WooCommerce booking. Only when the class exists.
	 *
	 * @param mixed $gateways Gateways so far.
	 * @return array
	 */
	public function register_gateway( $gateways = array() ) {
		$gateways = is_array( $gateways ) ? $gateways : array();
		if ( ! isset( $gateways['woocommerce'] ) && class_exists( self::GATEWAY_CLASS ) ) {
			$gateways['woocommerce'] = array(
				'class'        => self::GATEWAY_CLASS,
				'settings_key' => self::OPTION,
			);
		}
		return $gateways;
	}

	// ------------------------------------------------------------------ cart and checkout

	/**
	 * `woocommerce_get_cart_item_from_session`: restores the appointment id and doctor of a cart
	 * item loaded from the session (KiviCare 3.x core does not hook its own restore).
	 *
	 * @param mixed $item   Cart item.
	 * @param mixed $values Session values.
	 * @return mixed
	 */
	public function restore_cart_item( $item = array(), $values = array() ) {
		if ( is_array( $item ) && is_array( $values ) ) {
			foreach ( array( self::APPOINTMENT_META, 'doctor_id' ) as $key ) {
				if ( isset( $values[ $key ] ) && ! isset( $item[ $key ] ) ) {
					$item[ $key ] = $values[ $key ];
				}
			}
		}
		return $item;
	}

	/**
	 * `woocommerce_checkout_create_order_line_item` ($item, $cart_item_key, $values, $order):
	 * the appointment id (and doctor) from the cart item onto the line item and the (not yet
	 * saved) order.
	 *
	 * @param mixed $item          Line item.
	 * @param mixed $cart_item_key Cart key.
	 * @param mixed $values        Cart item.
	 * @param mixed $order         Order.
	 * @return void
	 */
	public function copy_to_line_item( $item = null, $cart_item_key = '', $values = array(), $order = null ) {
		unset( $cart_item_key );
		try {
			$appointment_id = is_array( $values ) ? KC_Meet_Appointment_Data::id_of( $values[ self::APPOINTMENT_META ] ?? 0 ) : 0;
			if ( $appointment_id <= 0 || ! is_object( $item ) ) {
				return;
			}
			$doctor_id = (int) ( $values['doctor_id'] ?? 0 );
			$item->update_meta_data( self::APPOINTMENT_META, $appointment_id );
			if ( $doctor_id > 0 ) {
				$item->update_meta_data( 'doctor_id', $doctor_id );
			}
			if ( is_object( $order ) && method_exists( $order, 'update_meta_data' ) && '' === (string) $order->get_meta( self::APPOINTMENT_META ) ) {
				$order->update_meta_data( self::APPOINTMENT_META, $appointment_id );
				if ( $doctor_id > 0 ) {
					$order->update_meta_data( 'kivicare_doctor_id', $doctor_id );
				}
			}
		} catch ( \Throwable $e ) {
			unset( $e ); // Never break the checkout.
		}
	}

	/**
	 * `woocommerce_new_order` / `woocommerce_checkout_update_order_meta`: an order for an
	 * appointment exists — start its unpaid timeout (or act at once when it is born paid or
	 * cancelled).
	 *
	 * @param mixed $order_id Order.
	 * @return void
	 */
	public function on_order_created( $order_id = 0 ) {
		try {
			$order = $this->order( $order_id );
			if ( null === $order ) {
				return;
			}
			$ids = self::appointment_ids( $order );
			if ( empty( $ids ) ) {
				return;
			}
			if ( 'none' !== self::decision( $order ) ) {
				$this->sync_order( $order, 'created' );
				return;
			}
			foreach ( $ids as $appointment_id ) {
				self::schedule_timeout( $appointment_id );
			}
		} catch ( \Throwable $e ) {
			unset( $e );
		}
	}

	// ------------------------------------------------------------------ payment and status

	/**
	 * `woocommerce_payment_complete` (priority 5: before KiviCare 4.x's handler exits).
	 *
	 * @param mixed $order_id Order.
	 * @return void
	 */
	public function on_payment_complete( $order_id = 0 ) {
		$this->sync_order_id( $order_id, 'payment_complete' );
	}

	/**
	 * `woocommerce_order_status_{status}` ($order_id, $order): the order's new status.
	 *
	 * @param mixed $order_id Order.
	 * @return void
	 */
	public function on_status( $order_id = 0 ) {
		$this->sync_order_id( $order_id, 'status' );
	}

	/**
	 * `woocommerce_order_status_changed` (priority 20): puts back what core's own handler (10)
	 * wrote over the order's decision.
	 *
	 * @param mixed $order_id Order.
	 * @return void
	 */
	public function on_status_changed( $order_id = 0 ) {
		$this->sync_order_id( $order_id, 'status_changed', true );
	}

	/**
	 * `woocommerce_order_refunded` ($order_id, $refund_id): a full refund cancels, a partial one
	 * changes nothing (an order note says so).
	 *
	 * @param mixed $order_id  Order.
	 * @param mixed $refund_id Refund.
	 * @return void
	 */
	public function on_refunded( $order_id = 0, $refund_id = 0 ) {
		unset( $refund_id );
		try {
			$order = $this->order( $order_id );
			if ( null === $order || empty( self::appointment_ids( $order ) ) ) {
				return;
			}
			if ( 'refunded' === self::decision( $order ) ) {
				$this->sync_order( $order, 'refund' );
				return;
			}
			$order->add_order_note(
				sprintf(
					/* translators: %s: appointment ids */
					__( 'Partial refund: KiviCare appointment %s and its Google Meet event are unchanged.', 'kc-googlemeet' ),
					self::id_list( self::appointment_ids( $order ) )
				)
			);
		} catch ( \Throwable $e ) {
			unset( $e );
		}
	}

	/**
	 * The unpaid timeout of an appointment expired.
	 *
	 * @param mixed $appointment_id Appointment (or `['appointment_id' => id]`).
	 * @return string What happened: paid, offline, cancelled_order, cancelled, nothing.
	 */
	public function on_unpaid_timeout( $appointment_id = 0 ) {
		try {
			$appointment_id = KC_Meet_Appointment_Data::id_of( $appointment_id );
			if ( $appointment_id <= 0 ) {
				return 'nothing';
			}
			$order = self::woocommerce_active() ? self::order_for_appointment( $appointment_id ) : null;
			if ( null !== $order ) {
				$decision = self::decision( $order );
				if ( 'paid' === $decision ) {
					return 'paid';
				}
				if ( 'none' !== $decision ) {
					return 'nothing'; // Already cancelled/refunded: its hooks did the work.
				}
				if ( ! $order->has_status( self::TIMEOUT_STATUSES ) || in_array( (string) $order->get_payment_method(), self::OFFLINE_GATEWAYS, true ) ) {
					return 'offline';
				}
				$order->update_status(
					'cancelled',
					sprintf(
						/* translators: %d: minutes */
						__( 'Unpaid after %d minutes: cancelled, and the KiviCare appointment with it.', 'kc-googlemeet' ),
						(int) round( self::timeout_seconds( $appointment_id ) / MINUTE_IN_SECONDS )
					)
				);
				return 'cancelled_order';
			}
			// No order at all (the cart was abandoned): cancel an appointment still awaiting payment.
			$row = KC_Meet_Appointment_Data::row( $appointment_id );
			if ( null === $row || ! in_array( (int) $row['status'], array( 0, 2 ), true ) ) {
				return 'nothing';
			}
			$this->cancel_appointment( $appointment_id, null );
			return 'cancelled';
		} catch ( \Throwable $e ) {
			return 'nothing';
		}
	}

	// ------------------------------------------------------------------ the decision

	/**
	 * What an order means for its appointments: 'paid', 'cancelled' (cancelled or failed),
	 * 'refunded' (fully), or 'none' (awaiting payment, on hold, partially refunded).
	 *
	 * @param object $order WC_Order.
	 * @param string $trigger Why we look ('payment_complete' counts as paid).
	 * @return string
	 */
	public static function decision( $order, $trigger = '' ) {
		if ( $order->has_status( array( 'cancelled', 'failed' ) ) ) {
			return 'cancelled';
		}
		if ( $order->has_status( 'refunded' ) || self::fully_refunded( $order ) ) {
			return 'refunded';
		}
		if ( 'payment_complete' === $trigger || self::is_paid( $order ) ) {
			return 'paid';
		}
		return 'none';
	}

	/**
	 * Whether the money for an order is in.
	 *
	 * WooCommerce's `is_paid()` (status processing or completed) answers that for every gateway
	 * but cash on delivery: WC_Gateway_COD puts an order without a downloadable item straight in
	 * `processing` at checkout (filter `woocommerce_cod_process_payment_order_status`), with
	 * nothing paid — and KiviCare 4.x's service products are virtual, not downloadable. So:
	 * - payment method in {@see self::PAID_WHEN_COMPLETED_GATEWAYS} (`cod`): paid when
	 *   `completed` (the cash was collected), or when `is_paid()` and there is nothing to
	 *   collect (total 0: WooCommerce calls `payment_complete()` for it);
	 * - any other gateway: `is_paid()`. Bank transfer and cheque orders wait `on-hold`; an admin
	 *   moving one to processing or completed is marking it paid.
	 * A `woocommerce_payment_complete` call counts as paid whatever the gateway ({@see self::decision()}).
	 *
	 * @param object $order WC_Order.
	 * @return bool
	 */
	public static function is_paid( $order ) {
		$paid = (bool) $order->is_paid();
		if ( $paid && in_array( (string) $order->get_payment_method(), self::PAID_WHEN_COMPLETED_GATEWAYS, true ) ) {
			$paid = $order->has_status( 'completed' ) || (float) $order->get_total() <= 0;
		}
		/**
		 * Filters whether an order counts as paid for its KiviCare appointments (booked, Google
		 * Meet event created). Return false to hold back, true to book (e.g. another offline
		 * gateway whose processing status means money not yet received).
		 *
		 * @param bool   $paid  Whether the order is paid.
		 * @param object $order WC_Order.
		 */
		return (bool) apply_filters( 'kc_meet_woo_order_is_paid', $paid, $order );
	}

	/**
	 * Whether the whole order total was refunded.
	 *
	 * @param object $order WC_Order.
	 * @return bool
	 */
	private static function fully_refunded( $order ) {
		$total    = (float) $order->get_total();
		$refunded = (float) $order->get_total_refunded();
		return $total > 0 && $refunded > 0 && $refunded >= $total - 0.005;
	}

	/**
	 * The appointment ids an order carries: the order meta, else its line items' meta.
	 *
	 * @param object $order WC_Order.
	 * @return int[]
	 */
	public static function appointment_ids( $order ) {
		$id = KC_Meet_Appointment_Data::id_of( self::scalar( $order->get_meta( self::APPOINTMENT_META, true ) ) );
		if ( $id > 0 ) {
			return array( $id );
		}
		$ids = array();
		foreach ( (array) $order->get_items() as $item ) {
			$id = is_object( $item ) ? KC_Meet_Appointment_Data::id_of( self::scalar( $item->get_meta( self::APPOINTMENT_META, true ) ) ) : 0;
			if ( $id > 0 ) {
				$ids[ $id ] = $id;
			}
		}
		return array_values( $ids );
	}

	/**
	 * The latest order carrying an appointment (order meta or line item meta), or null.
	 *
	 * @param int $appointment_id Appointment.
	 * @return object|null WC_Order.
	 */
	public static function order_for_appointment( $appointment_id ) {
		return self::find_order( $appointment_id, '__return_true' );
	}

	/**
	 * The latest order other than $order that carries the appointment and is paid
	 * ({@see self::decision()}), or null.
	 *
	 * @param int    $appointment_id Appointment.
	 * @param object $order          WC_Order to leave out.
	 * @return object|null WC_Order.
	 */
	public static function other_paid_order( $appointment_id, $order ) {
		$skip = (int) $order->get_id();
		return self::find_order(
			$appointment_id,
			static fn( $other ) => (int) $other->get_id() !== $skip && 'paid' === self::decision( $other ),
			// Only these can be paid, unless the site decides what is paid: fewer orders to read.
			has_filter( 'kc_meet_woo_order_is_paid' ) ? array() : array( 'status' => wc_get_is_paid_statuses() )
		);
	}

	/**
	 * Whether a paid order's appointment was cancelled after the payment: the order was paid in
	 * an earlier request (its `_kc_meet_appointment_sync` meta says 'paid', written when the
	 * appointment was booked) and the appointment's status is 0 now. Such an appointment is not
	 * booked again by a later status change of the order, nor by `wp kc-meet orders reconcile`.
	 *
	 * @param object $order  WC_Order.
	 * @param int    $status The appointment's status.
	 * @return bool
	 */
	public static function cancelled_after_payment( $order, $status ) {
		return 0 === (int) $status && 'paid' === (string) $order->get_meta( self::DONE_META, true );
	}

	/**
	 * The latest order carrying an appointment (order meta or line item meta) that $accept takes.
	 *
	 * @param int      $appointment_id Appointment.
	 * @param callable $accept         fn( WC_Order ): bool.
	 * @param array    $where          More `wc_get_orders()` arguments (e.g. `status`).
	 * @return object|null WC_Order.
	 */
	private static function find_order( $appointment_id, callable $accept, array $where = array() ) {
		$appointment_id = (int) $appointment_id;
		// meta_query works on both storages (WP_Query on posts, HPOS's own meta query); the result
		// is checked anyway, and line-item-only orders (KiviCare 3.x) are found by the scan below.
		$queries = array(
			array(
				'limit'      => 20,
				'orderby'    => 'date',
				'order'      => 'DESC',
				'meta_query' => array( // phpcs:ignore WordPress.DB.SlowDBQuery.slow_db_query_meta_query
					array(
						'key'   => self::APPOINTMENT_META,
						'value' => (string) $appointment_id,
					),
				),
			),
			array(
				'limit'   => 200,
				'orderby' => 'date',
				'order'   => 'DESC',
			),
		);
		$seen = array();
		foreach ( $queries as $query ) {
			foreach ( (array) wc_get_orders( $where + $query ) as $order ) {
				if ( ! is_object( $order ) || ! method_exists( $order, 'is_paid' ) || isset( $seen[ (int) $order->get_id() ] ) ) {
					continue;
				}
				$seen[ (int) $order->get_id() ] = true;
				if ( in_array( $appointment_id, self::appointment_ids( $order ), true ) && $accept( $order ) ) {
					return $order;
				}
			}
		}
		return null;
	}

	/**
	 * Loads an order and acts on it (never throws).
	 *
	 * @param mixed  $order_id   Order id (or order).
	 * @param string $trigger    Why.
	 * @param bool   $reassert   Act again even if this request already did (core may have
	 *                           overwritten the status in between).
	 * @return void
	 */
	private function sync_order_id( $order_id, $trigger, $reassert = false ) {
		try {
			$order = $this->order( $order_id );
			if ( null !== $order ) {
				$this->sync_order( $order, $trigger, $reassert );
			}
		} catch ( \Throwable $e ) {
			unset( $e ); // Recorded by KC_Meet_Events; WooCommerce's flow goes on.
		}
	}

	/**
	 * Brings an order's appointments in line with the order, on a transition only (see the class
	 * description): a paid order books its appointments unless it was already paid in an earlier
	 * request and the appointment has been cancelled since; a cancelled, failed or refunded one
	 * cancels them unless another order for the appointment is paid.
	 *
	 * @param object $order    WC_Order.
	 * @param string $trigger  Why (payment_complete, status, status_changed, refund, created,
	 *                         reconcile).
	 * @param bool   $reassert See sync_order_id().
	 * @return array[] Per appointment: `appointment_id`, `decision`, `status` (written, or null),
	 *                 `result` (the event result, or null).
	 */
	public function sync_order( $order, $trigger = '', $reassert = false ) {
		$ids = self::appointment_ids( $order );
		if ( empty( $ids ) ) {
			return array(); // Not a KiviCare order.
		}
		$decision = self::decision( $order, $trigger );
		if ( 'none' === $decision ) {
			// Not paid yet: whatever core does to these appointments in this request makes no
			// event (an event and its invitation come with the payment).
			foreach ( $ids as $appointment_id ) {
				self::hold( $appointment_id, 'create' );
				if ( $reassert && $order->has_status( 'processing' ) ) {
					$this->keep_pending( $appointment_id );
				}
			}
			return array();
		}
		$slot  = get_current_blog_id() . ':' . (int) $order->get_id();
		$prior = $this->decided[ $slot ] ?? '';
		if ( ! $reassert && $prior === $decision && 'reconcile' !== $trigger ) {
			return array();
		}
		$this->decided[ $slot ] = $decision;
		// Paid before this request (recorded on the order when it was booked): not a new payment.
		$repeat = 'paid' === $decision && 'paid' !== $prior && 'paid' === (string) $order->get_meta( self::DONE_META, true );

		$outcomes = array();
		foreach ( $ids as $appointment_id ) {
			$key = $slot . ':' . (int) $appointment_id;
			if ( isset( $this->left[ $key ] ) && $this->left[ $key ]['decision'] === $decision ) {
				$outcomes[] = $this->put_back( $appointment_id, $decision, $this->left[ $key ] );
				continue;
			}
			unset( $this->left[ $key ] );
			unset( self::$held[ get_current_blog_id() . ':' . (int) $appointment_id ] );
			$outcomes[] = 'paid' === $decision
				? $this->book_appointment( $appointment_id, $order, $repeat )
				: $this->cancel_appointment( $appointment_id, $order );
		}
		$this->note( $order, $decision, $outcomes, 'reconcile' === $trigger );
		return $outcomes;
	}

	/**
	 * Paid: status 1 (unless checked in/out) and the event — but an appointment cancelled after
	 * an earlier payment of the same order stays cancelled.
	 *
	 * @param int    $appointment_id Appointment.
	 * @param object $order          WC_Order.
	 * @param bool   $repeat         The order was already paid before this request.
	 * @return array Outcome.
	 */
	private function book_appointment( $appointment_id, $order, $repeat = false ) {
		self::unschedule_timeout( $appointment_id );
		$outcome = array(
			'appointment_id' => $appointment_id,
			'decision'       => 'paid',
			'status'         => null,
			'result'         => null,
		);
		$row = KC_Meet_Appointment_Data::row( $appointment_id );
		if ( null === $row ) {
			$outcome['result'] = array(
				'state'  => 'skipped',
				'reason' => 'appointment_not_found',
			);
			return $outcome;
		}
		$status = (int) $row['status'];
		if ( $repeat && self::cancelled_after_payment( $order, $status ) ) {
			return $this->leave_alone(
				$outcome,
				$order,
				'paid',
				$status,
				array(
					'state'  => 'skipped',
					'reason' => 'cancelled_after_payment',
				)
			);
		}
		if ( ! in_array( $status, array( 1, 3, 4 ), true ) ) {
			$status            = 1;
			$outcome['status'] = 1;
			$this->write_status( $appointment_id, 1 );
		}
		$row['status'] = $status;
		if ( null !== $outcome['status'] ) {
			/** This action is documented by KiviCare core (status changed). */
			do_action( 'kc_appointment_status_update', $appointment_id, $status, (object) $row );
			if ( self::is_core4() ) {
				do_action( 'kc_appointment_payment_completed', $appointment_id, array( 'order_id' => (int) $order->get_id(), 'payment_mode' => 'woocommerce' ) );
			} else {
				do_action( 'kc_appointment_payment_complete', $appointment_id );
			}
		}
		if ( ! KC_Meet_Events::doctor_uses_meet( (int) ( $row['doctor_id'] ?? 0 ) ) ) {
			$outcome['result'] = array(
				'state'  => 'skipped',
				'reason' => 'not_google_meet',
			);
			return $outcome;
		}
		$outcome['result'] = self::event_call(
			static fn() => KC_Meet_Events::ensure( 'create', $appointment_id, array( 'status' => $status ), 'woocommerce' )
		);
		return $outcome;
	}

	/**
	 * Cancelled, failed or fully refunded (or unpaid too long): status 0 and no event — unless
	 * another order for the appointment is paid (then the appointment is that order's).
	 *
	 * @param int         $appointment_id Appointment.
	 * @param object|null $order          WC_Order (null: no order).
	 * @return array Outcome.
	 */
	private function cancel_appointment( $appointment_id, $order ) {
		self::unschedule_timeout( $appointment_id );
		$outcome = array(
			'appointment_id' => $appointment_id,
			'decision'       => null !== $order ? self::decision( $order ) : 'unpaid',
			'status'         => null,
			'result'         => null,
		);
		$row  = KC_Meet_Appointment_Data::row( $appointment_id );
		$paid = null !== $order && null !== $row ? self::other_paid_order( $appointment_id, $order ) : null;
		if ( null !== $paid ) {
			return $this->leave_alone(
				$outcome,
				$order,
				$outcome['decision'],
				(int) $row['status'],
				array(
					'state'    => 'skipped',
					'reason'   => 'paid_by_other_order',
					'order_id' => (int) $paid->get_id(),
				)
			);
		}
		if ( null !== $row && 0 !== (int) $row['status'] ) {
			$this->write_cancelled( $appointment_id, $row );
			$outcome['status'] = 0;
		}
		$outcome['result'] = self::event_call( static fn() => KC_Meet_Events::delete( $appointment_id, 'woocommerce' ) );
		return $outcome;
	}

	/**
	 * Status 0 with core's actions (the event goes with them, through the action listeners).
	 *
	 * @param int   $appointment_id Appointment.
	 * @param array $row            Its row.
	 * @return void
	 */
	private function write_cancelled( $appointment_id, array $row ) {
		$this->write_status( $appointment_id, 0 );
		$row['status'] = 0;
		/** This action is documented by KiviCare core (status changed). */
		do_action( 'kc_appointment_status_update', $appointment_id, 0, (object) $row );
		do_action( self::is_core4() ? 'kc_appointment_cancelled' : 'kc_appointment_cancel', $appointment_id );
	}

	/**
	 * An order in `processing` that is not paid (cash on delivery: {@see self::is_paid()}) whose
	 * appointment core 4.3 booked (its handler maps processing → 1): the appointment goes back
	 * to pending payment (2, as core stores a WooCommerce booking until it is paid), so that no
	 * later call, edit or reconcile pass makes the event and its invitation before the money is
	 * in. Run at priority 20, after core's handler; core's actions are fired for the change.
	 *
	 * @param int $appointment_id Appointment.
	 * @return void
	 */
	private function keep_pending( $appointment_id ) {
		$row = KC_Meet_Appointment_Data::row( $appointment_id );
		if ( null === $row || 1 !== (int) $row['status'] ) {
			return;
		}
		$this->write_status( $appointment_id, 2 );
		$row['status'] = 2;
		/** This action is documented by KiviCare core (status changed). */
		do_action( 'kc_appointment_status_update', $appointment_id, 2, (object) $row );
	}

	/**
	 * Holds an appointment's event for the rest of the request ({@see self::$held}).
	 *
	 * @param int    $appointment_id Appointment.
	 * @param string $what           'create' or 'all'.
	 * @return void
	 */
	private static function hold( $appointment_id, $what ) {
		$key = get_current_blog_id() . ':' . (int) $appointment_id;
		if ( 'all' !== ( self::$held[ $key ] ?? '' ) ) {
			self::$held[ $key ] = $what;
		}
	}

	/**
	 * Whether KiviCare core's handlers must leave the appointment's event as it is in this
	 * request ({@see self::$held}).
	 *
	 * @param int    $appointment_id Appointment.
	 * @param string $action         'create' (make or update it) or 'delete'.
	 * @return bool
	 */
	public static function holds( $appointment_id, $action ) {
		$held = self::$held[ get_current_blog_id() . ':' . (int) $appointment_id ] ?? '';
		return 'all' === $held || ( 'create' === $held && 'delete' !== $action );
	}

	/**
	 * Leaves an appointment as it is, and remembers it for the rest of the request.
	 *
	 * @param array  $outcome  Outcome so far.
	 * @param object $order    WC_Order.
	 * @param string $decision The order's decision.
	 * @param int    $status   The appointment's status now.
	 * @param array  $result   Why (`state` 'skipped', `reason`).
	 * @return array Outcome.
	 */
	private function leave_alone( array $outcome, $order, $decision, $status, array $result ) {
		self::hold( (int) $outcome['appointment_id'], 'all' );
		$this->left[ get_current_blog_id() . ':' . (int) $order->get_id() . ':' . (int) $outcome['appointment_id'] ] = array(
			'decision' => (string) $decision,
			'status'   => (int) $status,
			'result'   => $result,
		);
		$outcome['result'] = $result;
		return $outcome;
	}

	/**
	 * An appointment the same order left alone earlier in this request, seen again (priority 20):
	 * core's own handler may have written its status in between (KiviCare 4.x maps completed → 1
	 * and cancelled → 0, and the action listeners create or delete the event accordingly). Puts
	 * back the status it had and the event that goes with it.
	 *
	 * @param int    $appointment_id Appointment.
	 * @param string $decision       The order's decision.
	 * @param array  $left           What was left (`status`, `result`).
	 * @return array Outcome.
	 */
	private function put_back( $appointment_id, $decision, array $left ) {
		$outcome = array(
			'appointment_id' => $appointment_id,
			'decision'       => $decision,
			'status'         => null,
			'result'         => $left['result'],
		);
		$row = KC_Meet_Appointment_Data::row( $appointment_id );
		if ( null === $row || (int) $row['status'] === $left['status'] ) {
			return $outcome;
		}
		$status            = $left['status'];
		$outcome['status'] = $status;
		if ( 0 === $status ) {
			$this->write_cancelled( $appointment_id, $row );
			self::event_call( static fn() => KC_Meet_Events::delete( $appointment_id, 'woocommerce' ) );
			return $outcome;
		}
		$this->write_status( $appointment_id, $status );
		$row['status'] = $status;
		/** This action is documented by KiviCare core (status changed). */
		do_action( 'kc_appointment_status_update', $appointment_id, $status, (object) $row );
		if ( in_array( $status, array( 1, 3, 4 ), true ) && KC_Meet_Events::doctor_uses_meet( (int) ( $row['doctor_id'] ?? 0 ) ) ) {
			self::event_call( static fn() => KC_Meet_Events::ensure( 'create', $appointment_id, array( 'status' => $status ), 'woocommerce' ) );
		}
		return $outcome;
	}

	/**
	 * Runs an event operation: its result, or `state` 'failed' with the (secret-free) message —
	 * already recorded for administrators by KC_Meet_Events; WooCommerce's flow goes on.
	 *
	 * @param callable $call Operation.
	 * @return array
	 */
	private static function event_call( callable $call ) {
		try {
			return $call();
		} catch ( \Throwable $e ) {
			return array(
				'state'   => 'failed',
				'message' => KC_Meet_Messages::for_exception( $e ),
			);
		}
	}

	/**
	 * Writes an appointment's status in KiviCare's table (through $wpdb, core's connection).
	 *
	 * @param int $appointment_id Appointment.
	 * @param int $status         Status.
	 * @return void
	 */
	private function write_status( $appointment_id, $status ) {
		global $wpdb;
		// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching -- KiviCare's table, written as core writes it.
		$wpdb->update( $wpdb->prefix . 'kc_appointments', array( 'status' => (int) $status ), array( 'id' => (int) $appointment_id ), array( '%d' ), array( '%d' ) );
	}

	/**
	 * Adds an order note for what was done, once per decision (the hooks fire many times for one
	 * payment), again when a status had to be written back, and on every repair.
	 *
	 * @param object  $order    WC_Order.
	 * @param string  $decision paid|cancelled|refunded.
	 * @param array[] $outcomes Outcomes.
	 * @param bool    $always   Note even when nothing changed (a repair).
	 * @return void
	 */
	private function note( $order, $decision, array $outcomes, $always = false ) {
		$lines   = array();
		$changed = $always || (string) $order->get_meta( self::DONE_META, true ) !== $decision;
		foreach ( $outcomes as $outcome ) {
			if ( null !== $outcome['status'] ) {
				$changed = true;
			}
			$lines[] = self::outcome_text( $outcome );
		}
		if ( ! $changed ) {
			return;
		}
		$order->update_meta_data( self::DONE_META, $decision );
		$order->save_meta_data();
		$order->add_order_note( implode( ' ', $lines ) );
	}

	/**
	 * One sentence about an outcome (no secrets: the Meet link is the patient's own).
	 *
	 * @param array $outcome Outcome.
	 * @return string
	 */
	private static function outcome_text( array $outcome ) {
		$id     = (int) $outcome['appointment_id'];
		$result = is_array( $outcome['result'] ) ? $outcome['result'] : array();
		if ( 'cancelled_after_payment' === ( $result['reason'] ?? '' ) ) {
			return sprintf(
				/* translators: %d: appointment id */
				__( 'KiviCare appointment #%d was cancelled after this order was paid: it stays cancelled, without a Google Meet event.', 'kc-googlemeet' ),
				$id
			);
		}
		if ( 'paid_by_other_order' === ( $result['reason'] ?? '' ) ) {
			return sprintf(
				/* translators: 1: appointment id, 2: order number */
				__( 'KiviCare appointment #%1$d is left as it is: order #%2$d paid for it.', 'kc-googlemeet' ),
				$id,
				(int) ( $result['order_id'] ?? 0 )
			);
		}
		if ( 'paid' === $outcome['decision'] ) {
			$head = sprintf(
				/* translators: %d: appointment id */
				__( 'Paid: KiviCare appointment #%d is booked.', 'kc-googlemeet' ),
				$id
			);
		} else {
			$head = sprintf(
				/* translators: 1: appointment id, 2: why (cancelled, failed, refunded, unpaid) */
				__( 'KiviCare appointment #%1$d is cancelled (order %2$s).', 'kc-googlemeet' ),
				$id,
				(string) $outcome['decision']
			);
		}
		if ( 'failed' === ( $result['state'] ?? '' ) ) {
			$tail = sprintf(
				/* translators: %s: message */
				__( 'Google Meet: %s', 'kc-googlemeet' ),
				(string) ( $result['message'] ?? '' )
			);
		} elseif ( 'not_google_meet' === ( $result['reason'] ?? '' ) ) {
			$tail = __( 'The doctor does not use Google Meet.', 'kc-googlemeet' );
		} else {
			$tail = KC_Meet_Event_Result::message( $result );
			$url  = KC_Meet_Event_Result::meet_url( $result );
			if ( '' !== $url ) {
				$tail .= ' ' . $url;
			}
		}
		return $head . ' ' . $tail;
	}

	// ------------------------------------------------------------------ unpaid timeout

	/**
	 * Schedules (or moves) the unpaid timeout of an appointment.
	 *
	 * @param int $appointment_id Appointment.
	 * @return int Unix time it runs at.
	 */
	public static function schedule_timeout( $appointment_id ) {
		$appointment_id = (int) $appointment_id;
		if ( $appointment_id <= 0 ) {
			return 0;
		}
		self::unschedule_timeout( $appointment_id );
		$at = time() + self::timeout_seconds( $appointment_id );
		if ( self::use_action_scheduler() ) {
			as_schedule_single_action( $at, self::TIMEOUT_HOOK, array( $appointment_id ), KC_Meet_Background::GROUP );
		} else {
			wp_schedule_single_event( $at, self::TIMEOUT_HOOK, array( $appointment_id ) );
		}
		return $at;
	}

	/**
	 * Removes the unpaid timeout of an appointment (both schedulers).
	 *
	 * @param int $appointment_id Appointment.
	 * @return void
	 */
	public static function unschedule_timeout( $appointment_id ) {
		$args = array( (int) $appointment_id );
		wp_clear_scheduled_hook( self::TIMEOUT_HOOK, $args );
		if ( function_exists( 'as_unschedule_all_actions' ) ) {
			as_unschedule_all_actions( self::TIMEOUT_HOOK, $args, KC_Meet_Background::GROUP );
		}
	}

	/**
	 * Removes every unpaid timeout of the current site (uninstall).
	 *
	 * @return void
	 */
	public static function unschedule_all() {
		wp_unschedule_hook( self::TIMEOUT_HOOK );
		if ( function_exists( 'as_unschedule_all_actions' ) ) {
			as_unschedule_all_actions( self::TIMEOUT_HOOK );
		}
	}

	/**
	 * Whether single actions go to Action Scheduler (present and initialised).
	 *
	 * @return bool
	 */
	private static function use_action_scheduler() {
		return function_exists( 'as_schedule_single_action' ) && function_exists( 'as_unschedule_all_actions' )
			&& did_action( 'action_scheduler_init' ) && KC_Meet_Background::use_action_scheduler();
	}

	// ------------------------------------------------------------------ helpers

	/**
	 * An order by id (or the order itself), or null.
	 *
	 * @param mixed $order_id Order id or order.
	 * @return object|null
	 */
	private function order( $order_id ) {
		if ( ! self::woocommerce_active() ) {
			return null;
		}
		if ( is_object( $order_id ) && method_exists( $order_id, 'get_id' ) ) {
			$order_id = $order_id->get_id();
		}
		$order = (int) $order_id > 0 ? wc_get_order( (int) $order_id ) : false;
		// A refund is an order too: only real orders carry appointments.
		return is_object( $order ) && method_exists( $order, 'is_paid' ) ? $order : null;
	}

	/**
	 * A meta value as a scalar ('' for arrays/objects).
	 *
	 * @param mixed $value Value.
	 * @return mixed
	 */
	private static function scalar( $value ) {
		return is_scalar( $value ) ? $value : '';
	}

	/**
	 * "#1, #2".
	 *
	 * @param int[] $ids Ids.
	 * @return string
	 */
	private static function id_list( array $ids ) {
		return implode( ', ', array_map( static fn( $id ) => '#' . (int) $id, $ids ) );
	}
}
