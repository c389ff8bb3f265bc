<?php
/**
 * WP-CLI command `wp kc-meet orders`.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Checks KiviCare's WooCommerce orders against their appointments and Google events.
 *
 * ## EXAMPLES
 *
 *     $ wp kc-meet orders reconcile --dry-run
 *     $ wp kc-meet orders reconcile --days=90 --format=json
 */
class KC_Meet_CLI_Orders_Command extends KC_Meet_CLI_Base {

	/**
	 * Fields of `reconcile`.
	 *
	 * @var string[]
	 */
	const FIELDS = array( 'order_id', 'order_status', 'appointment_id', 'appointment_status', 'event_id', 'drift', 'action' );

	/**
	 * Finds and fixes drift between WooCommerce orders and their appointments.
	 *
	 * Looks at the orders created in the last --days days that carry a KiviCare appointment
	 * (order meta `kivicare_appointment_id`, else line item meta). "Paid" is what the payment
	 * hooks go by (KC_Meet_WooCommerce::decision(): a cash-on-delivery order only once
	 * completed). Two kinds of drift:
	 * - `unbooked`: the order is paid but its appointment is not booked or has no Google Meet
	 *   event (a telemedicine appointment of a Google Meet doctor) → booked (status 1), event
	 *   created — except an appointment cancelled in KiviCare after the order was booked;
	 * - `not_cancelled`: the order is cancelled, failed or fully refunded but its appointment is
	 *   not cancelled or still has an event → cancelled (status 0), event removed — except when
	 *   another order for the appointment is paid.
	 * Each fix also adds an order note. Asks before changing anything (skipped with --yes or
	 * --dry-run). Prints one row per drifting appointment, then a summary (not with a
	 * machine-readable --format: the data only).
	 *
	 * ## OPTIONS
	 *
	 * [--days=<n>]
	 * : How many days of orders to check.
	 * ---
	 * default: 30
	 * ---
	 *
	 * [--dry-run]
	 * : Only report; change nothing.
	 *
	 * [--yes]
	 * : Do not ask for confirmation before booking or cancelling appointments and their events.
	 *
	 * [--format=<format>]
	 * : Output format.
	 * ---
	 * default: table
	 * options:
	 *   - table
	 *   - json
	 *   - csv
	 *   - yaml
	 * ---
	 *
	 * ## EXAMPLES
	 *
	 *     $ wp kc-meet orders reconcile --dry-run
	 *     $ wp kc-meet orders reconcile --days=7 --yes
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function reconcile( $args, $assoc_args ) {
		unset( $args );
		$days    = $this->int_option( $assoc_args, 'days', 30 );
		$dry_run = ! empty( $assoc_args['dry-run'] );
		$format  = $this->format( $assoc_args );
		if ( ! KC_Meet_WooCommerce::woocommerce_active() ) {
			WP_CLI::error( 'WooCommerce is not active: there are no orders to reconcile.' );
			return;
		}
		if ( ! $dry_run ) {
			$this->confirm( 'Book the paid orders\' appointments and cancel the cancelled or refunded orders\' appointments that are out of step, creating and removing their Google Calendar events?', $assoc_args );
		}
		$woo = KC_Meet_Plugin::instance()->component( 'woocommerce', 'KC_Meet_WooCommerce' );

		$rows   = array();
		$errors = 0;
		$fixed  = 0;
		foreach ( $this->orders( $days ) as $order ) {
			$drifting = array();
			foreach ( KC_Meet_WooCommerce::appointment_ids( $order ) as $appointment_id ) {
				$row = $this->drift( $order, $appointment_id );
				if ( null !== $row ) {
					$drifting[] = $row;
				}
			}
			if ( empty( $drifting ) ) {
				continue;
			}
			$outcomes = array();
			if ( ! $dry_run ) {
				KC_Meet_Events::reset();
				foreach ( $woo->sync_order( $order, 'reconcile' ) as $outcome ) {
					$outcomes[ (int) $outcome['appointment_id'] ] = $outcome;
				}
			}
			foreach ( $drifting as $row ) {
				$outcome       = $outcomes[ $row['appointment_id'] ] ?? null;
				$row['action'] = $dry_run ? 'none (dry run)' : $this->action_text( $outcome );
				if ( ! $dry_run ) {
					$state = (string) ( $outcome['result']['state'] ?? '' );
					if ( null === $outcome || 'failed' === $state ) {
						++$errors;
					} else {
						++$fixed;
					}
				}
				$rows[] = $row;
			}
		}

		$machine = $this->is_machine( $format );
		if ( ! empty( $rows ) || $machine ) {
			WP_CLI\Utils\format_items( $format, $rows, self::FIELDS );
		}
		if ( $dry_run ) {
			if ( ! $machine ) {
				WP_CLI::success( sprintf( 'Found %d appointment(s) out of step with their order (dry run: nothing changed).', count( $rows ) ) );
			}
			return;
		}
		$message = sprintf( 'Fixed %d of %d appointment(s) out of step with their order.', $fixed, count( $rows ) );
		if ( $errors > 0 ) {
			WP_CLI::error( sprintf( '%s %d error(s).', $message, $errors ) );
		}
		if ( ! $machine ) {
			WP_CLI::success( $message );
		}
	}

	/**
	 * Orders created in the last $days days, newest first.
	 *
	 * @param int $days Days.
	 * @return object[] WC_Order objects.
	 */
	private function orders( $days ) {
		$orders = wc_get_orders(
			array(
				'limit'        => -1,
				'type'         => 'shop_order',
				'orderby'      => 'date',
				'order'        => 'DESC',
				'date_created' => '>' . ( time() - (int) $days * DAY_IN_SECONDS ),
			)
		);
		return array_values( array_filter( (array) $orders, 'is_object' ) );
	}

	/**
	 * The drift of one appointment of an order, or null when it is in step.
	 *
	 * @param object $order          WC_Order.
	 * @param int    $appointment_id Appointment.
	 * @return array|null Row (see FIELDS).
	 */
	private function drift( $order, $appointment_id ) {
		$decision = KC_Meet_WooCommerce::decision( $order );
		if ( 'none' === $decision ) {
			return null;
		}
		$row = KC_Meet_Appointment_Data::row( $appointment_id );
		if ( null === $row ) {
			return null; // Deleted: `wp kc-meet reconcile` removes an event left behind.
		}
		$status  = (int) $row['status'];
		$mapping = KC_Meet_Events::mapping( $appointment_id );
		$drift   = '';
		if ( 'paid' === $decision ) {
			if ( KC_Meet_WooCommerce::cancelled_after_payment( $order, $status ) ) {
				return null; // Cancelled in KiviCare after the payment: stays cancelled.
			}
			$wants_event = KC_Meet_Events::doctor_uses_meet( (int) $row['doctor_id'] ) && array() !== KC_Meet_Appointment_Data::telemed_services( $appointment_id );
			if ( ! in_array( $status, array( 1, 3, 4 ), true ) || ( $wants_event && null === $mapping ) ) {
				$drift = 'unbooked';
			}
		} elseif ( ( 0 !== $status || null !== $mapping ) && null === KC_Meet_WooCommerce::other_paid_order( $appointment_id, $order ) ) {
			$drift = 'not_cancelled';
		}
		if ( '' === $drift ) {
			return null;
		}
		return array(
			'order_id'           => (int) $order->get_id(),
			'order_status'       => (string) $order->get_status(),
			'appointment_id'     => (int) $appointment_id,
			'appointment_status' => $status,
			'event_id'           => null !== $mapping ? (string) ( $mapping['event_id'] ?? '' ) : '',
			'drift'              => $drift,
			'action'             => '',
		);
	}

	/**
	 * What was done for a drifting appointment.
	 *
	 * @param array|null $outcome KC_Meet_WooCommerce::sync_order() outcome.
	 * @return string
	 */
	private function action_text( $outcome ) {
		if ( null === $outcome ) {
			return 'failed';
		}
		$result = is_array( $outcome['result'] ) ? $outcome['result'] : array();
		$state  = (string) ( $result['state'] ?? '' );
		if ( in_array( $result['reason'] ?? '', array( 'cancelled_after_payment', 'paid_by_other_order' ), true ) ) {
			return 'left alone (' . (string) $result['reason'] . ')';
		}
		$text  = 'paid' === $outcome['decision'] ? 'booked' : 'cancelled';
		$text .= '; event ' . ( '' !== $state ? $state : 'unchanged' );
		if ( ! empty( $result['reason'] ) ) {
			$text .= ' (' . (string) $result['reason'] . ')';
		}
		if ( 'failed' === $state && ! empty( $result['message'] ) ) {
			$text .= ': ' . (string) $result['message'];
		}
		return $text;
	}
}
