<?php
/**
 * KiviCare 3.x: the hidden WooCommerce products of the services.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * What KiviCare 3.x's `kcgm_woocommerce_add_to_cart` filter needs: the appointment's services
 * as WooCommerce products in the cart, and the checkout URL.
 *
 * One hidden, virtual, downloadable product per doctor × clinic × service (a `kc_service_doctor_mapping` row),
 * reused by every booking: its id is kept in that row's `extra` (`{"product_id": N}`, as KiviCare
 * 3.x core keeps it), its price is the row's `charges` (updated when the charges change), and it
 * carries the meta `kivicare_service_id` (the mapping row), `kivicare_doctor_id` and
 * `kivicare_clinic_id`. Creation takes a MySQL lock per mapping row (`GET_LOCK` on WordPress's
 * connection), so two bookings at once cannot make two products.
 *
 * Products are made and read through WooCommerce's product API only (`WC_Product_Simple`,
 * `wc_get_product()`). Each service goes into the cart with the cart item data
 * `kivicare_appointment_id` and `doctor_id`; {@see KC_Meet_WooCommerce} carries them on to the
 * line items and the order.
 */
final class KC_Meet_WooCommerce_Products {

	/**
	 * Seconds to wait for another process creating the same product.
	 *
	 * @var int
	 */
	const LOCK_TIMEOUT = 10;

	/**
	 * Puts an appointment's services in the (emptied) cart.
	 *
	 * @param array $data `appointment_id`, `doctor_id` (ids may be strings).
	 * @return array `['status' => true, 'woocommerce_redirect' => checkout URL, 'appointment_id']`
	 *               or `['status' => false, 'message']`.
	 */
	public static function add_to_cart( array $data ) {
		if ( ! KC_Meet_WooCommerce::woocommerce_active() || ! class_exists( 'WC_Product_Simple' ) ) {
			return self::failure( __( 'WooCommerce is not active.', 'kc-googlemeet' ) );
		}
		$appointment_id = KC_Meet_Appointment_Data::id_of( $data['appointment_id'] ?? 0 );
		$row            = KC_Meet_Appointment_Data::row( $appointment_id );
		if ( null === $row ) {
			return self::failure( KC_Meet_Messages::for_code( 5001 ) );
		}
		$doctor_id = (int) $row['doctor_id'];
		$products  = array();
		foreach ( self::service_rows( $appointment_id, $doctor_id, (int) $row['clinic_id'] ) as $mapping ) {
			$product_id = self::product_for( $mapping, $doctor_id, (int) $row['clinic_id'] );
			if ( $product_id > 0 ) {
				$products[] = $product_id;
			}
		}
		if ( empty( $products ) ) {
			return self::failure( __( 'The appointment has no service that can be paid through WooCommerce.', 'kc-googlemeet' ) );
		}

		$cart = WC()->cart;
		if ( null === $cart && function_exists( 'wc_load_cart' ) ) {
			wc_load_cart();
			$cart = WC()->cart;
		}
		if ( null === $cart ) {
			return self::failure( __( 'The WooCommerce cart is not available.', 'kc-googlemeet' ) );
		}
		$cart->empty_cart();
		foreach ( $products as $product_id ) {
			$cart->add_to_cart(
				$product_id,
				1,
				0,
				array(),
				array(
					KC_Meet_WooCommerce::APPOINTMENT_META => $appointment_id,
					'doctor_id'                           => $doctor_id,
				)
			);
		}
		return array(
			'status'               => true,
			'woocommerce_redirect' => wc_get_checkout_url(),
			'appointment_id'       => $appointment_id,
		);
	}

	/**
	 * The appointment's `kc_service_doctor_mapping` rows (for its doctor and clinic), with the
	 * service name.
	 *
	 * @param int $appointment_id Appointment.
	 * @param int $doctor_id      Doctor.
	 * @param int $clinic_id      Clinic.
	 * @return array[]
	 */
	private static function service_rows( $appointment_id, $doctor_id, $clinic_id ) {
		global $wpdb;
		$p = $wpdb->prefix;
		// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching -- KiviCare's tables.
		$rows = $wpdb->get_results(
			$wpdb->prepare(
				// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- table names.
				"SELECT sdm.id, sdm.service_id, sdm.charges, sdm.extra, s.name FROM `{$p}kc_appointment_service_mapping` asm JOIN `{$p}kc_service_doctor_mapping` sdm ON sdm.service_id = asm.service_id AND sdm.doctor_id = %d AND sdm.clinic_id = %d JOIN `{$p}kc_services` s ON s.id = sdm.service_id WHERE asm.appointment_id = %d ORDER BY asm.id",
				$doctor_id,
				$clinic_id,
				$appointment_id
			),
			ARRAY_A
		);
		return is_array( $rows ) ? $rows : array();
	}

	/**
	 * The hidden product of a mapping row: reused when it still exists (price brought up to
	 * date), else created and its id stored in the row's `extra`.
	 *
	 * @param array $mapping   Mapping row (`id`, `charges`, `extra`, `name`).
	 * @param int   $doctor_id Doctor.
	 * @param int   $clinic_id Clinic.
	 * @return int Product id (0 on failure).
	 */
	private static function product_for( array $mapping, $doctor_id, $clinic_id ) {
		global $wpdb;
		$lock = 'kc_meet_product_' . get_current_blog_id() . '_' . (int) $mapping['id'];
		// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching -- a lock, not data.
		$locked = (int) $wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK(%s, %d)', $lock, self::LOCK_TIMEOUT ) );
		try {
			// Read again under the lock: another booking may have just made it.
			$extra      = self::extra( self::fresh_extra( (int) $mapping['id'] ) );
			$product_id = (int) ( $extra['product_id'] ?? 0 );
			$product    = $product_id > 0 ? wc_get_product( $product_id ) : false;
			$price      = wc_format_decimal( (string) $mapping['charges'] );
			if ( is_object( $product ) && 'trash' !== $product->get_status() ) {
				if ( (string) $product->get_regular_price() !== (string) $price ) {
					$product->set_regular_price( $price );
					$product->set_price( $price );
					$product->save();
				}
				return (int) $product->get_id();
			}
			$product = new WC_Product_Simple();
			$product->set_name( (string) $mapping['name'] );
			$product->set_status( 'publish' );
			$product->set_catalog_visibility( 'hidden' );
			// Virtual and downloadable, as KiviCare 3.x core makes them: no item needs processing, so a
			// card payment completes the order (core's own handler acts on completed orders only).
			$product->set_virtual( true );
			$product->set_downloadable( true );
			$product->set_sold_individually( true );
			$product->set_regular_price( $price );
			$product->set_price( $price );
			$product->update_meta_data( 'kivicare_service_id', (int) $mapping['id'] );
			$product->update_meta_data( 'kivicare_doctor_id', (int) $doctor_id );
			$product->update_meta_data( 'kivicare_clinic_id', (int) $clinic_id );
			$product_id = (int) $product->save();
			if ( $product_id > 0 ) {
				$extra['product_id'] = $product_id;
				// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching -- KiviCare's table, as core 3.x writes it.
				$wpdb->update( $wpdb->prefix . 'kc_service_doctor_mapping', array( 'extra' => wp_json_encode( $extra ) ), array( 'id' => (int) $mapping['id'] ) );
			}
			return $product_id;
		} finally {
			if ( 1 === $locked ) {
				// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching
				$wpdb->get_var( $wpdb->prepare( 'SELECT RELEASE_LOCK(%s)', $lock ) );
			}
		}
	}

	/**
	 * A mapping row's `extra`, read now.
	 *
	 * @param int $mapping_id Mapping row.
	 * @return string
	 */
	private static function fresh_extra( $mapping_id ) {
		global $wpdb;
		// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching,WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- KiviCare's table; fresh read under the lock.
		return (string) $wpdb->get_var( $wpdb->prepare( "SELECT extra FROM `{$wpdb->prefix}kc_service_doctor_mapping` WHERE id = %d", $mapping_id ) );
	}

	/**
	 * The decoded `extra` (an array; other keys are kept).
	 *
	 * @param string $json Stored value.
	 * @return array
	 */
	private static function extra( $json ) {
		$extra = '' !== $json ? json_decode( $json, true ) : array();
		return is_array( $extra ) ? $extra : array();
	}

	/**
	 * A failure status array.
	 *
	 * @param string $message Message.
	 * @return array
	 */
	private static function failure( $message ) {
		return array(
			'status'  => false,
			'message' => (string) $message,
		);
	}
}
