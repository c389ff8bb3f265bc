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
 * - paid (`woocommerce_payment_complete`, a status change to a paid status, or `is_paid()`) →
 *   appointment status 1 and `kc_meet_create_event()` (idempotent: any number of hooks, in any
 *   number of processes, make one event);
 * - cancelled, failed or fully refunded → status 0 and `kc_meet_delete_event()`;
 * - a partial refund changes nothing;
 * each outcome is recorded as an order note (never a customer note: no e-mail goes out).
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
	 * Decisions made in this request, by "blog:order": the decision.
	 *
	 * @var array<string, string>
	 */
	private $decided = array();

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
		if ( $order->is_paid() || 'payment_complete' === $trigger ) {
			return 'paid';
		}
		return 'none';
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
		foreach ( $queries as $query ) {
			foreach ( (array) wc_get_orders( $query ) as $order ) {
				if ( is_object( $order ) && method_exists( $order, 'is_paid' ) && in_array( $appointment_id, self::appointment_ids( $order ), true ) ) {
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
	 * Brings an order's appointments in line with the order.
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
			return array();
		}
		$slot = get_current_blog_id() . ':' . (int) $order->get_id();
		if ( ! $reassert && ( $this->decided[ $slot ] ?? '' ) === $decision && 'reconcile' !== $trigger ) {
			return array();
		}
		$this->decided[ $slot ] = $decision;

		$outcomes = array();
		foreach ( $ids as $appointment_id ) {
			$outcomes[] = 'paid' === $decision
				? $this->book_appointment( $appointment_id, $order )
				: $this->cancel_appointment( $appointment_id, $order );
		}
		$this->note( $order, $decision, $outcomes, 'reconcile' === $trigger );
		return $outcomes;
	}

	/**
	 * Paid: status 1 (unless checked in/out) and the event.
	 *
	 * @param int    $appointment_id Appointment.
	 * @param object $order          WC_Order.
	 * @return array Outcome.
	 */
	private function book_appointment( $appointment_id, $order ) {
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
	 * Cancelled, failed or fully refunded (or unpaid too long): status 0 and no event.
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
		$row = KC_Meet_Appointment_Data::row( $appointment_id );
		if ( null !== $row && 0 !== (int) $row['status'] ) {
			$outcome['status'] = 0;
			$this->write_status( $appointment_id, 0 );
			$row['status'] = 0;
			/** This action is documented by KiviCare core (status changed). */
			do_action( 'kc_appointment_status_update', $appointment_id, 0, (object) $row );
			do_action( self::is_core4() ? 'kc_appointment_cancelled' : 'kc_appointment_cancel', $appointment_id );
		}
		$outcome['result'] = self::event_call( static fn() => KC_Meet_Events::delete( $appointment_id, 'woocommerce' ) );
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
