<?php
/**
 * Degraded mode: KiviCare's bookings keep working while the extension is unusable.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * The few callbacks hooked when the kc_meet extension is missing (or older than the plugin) or
 * rejected the site's configuration ({@see KC_Meet_Plugin::boot()},
 * {@see KC_Meet_Plugin::on_plugins_loaded()}), instead of the features: without them KiviCare
 * core would break its own bookings, because it sees the add-on as active either way
 * (KIVICARE.md):
 * - core 3.x deletes a new booking ("Failed to generate Video Meeting") when
 *   `kcgm_save_appointment_event` answers no `status` — and with no callback the filter answers
 *   its own argument; an edit or a status change to 0 shows the admin an error on a failed
 *   `kcgm_remove_appointment_event`;
 * - core 4.x rejects a patient's WooCommerce booking ("Invalid parameter(s): paymentGateway")
 *   unless the add-on registers the `woocommerce` gateway on `kc_payment_gateways`.
 *
 * So the save and remove filters answer success (the booking stands, as DESIGN.md promises), the
 * gateway stays registered, and connecting or disconnecting a doctor is refused with a message. Nothing here calls a kc_meet_* function or writes anything: the
 * Google event is left to the reconcile pass (`wp kc-meet reconcile`, or the scheduled
 * `kc_meet_reconcile`) once the extension works again, which creates the missing events of
 * telemedicine appointments and removes those of cancelled or deleted ones. The admin notice
 * says what is wrong.
 */
final class KC_Meet_Degraded {

	/**
	 * `kcgm_save_appointment_event` (core 3.x): success with no link, so that core keeps the
	 * booking (the shape of {@see KC_Meet_Event_Result::core3_status()}).
	 *
	 * @param mixed $data `['appoinment_id' => id, 'service' => 'A,B', …]` (unused).
	 * @return array Status array.
	 */
	public static function save_appointment_event( $data = array() ) {
		unset( $data );
		return array(
			'status'   => true,
			'message'  => __( 'The appointment is saved. Google Meet is unavailable right now: its Google Meet event is created once the kc_meet extension works again.', 'kc-googlemeet' ),
			'join_url' => '',
		);
	}

	/**
	 * `kcgm_remove_appointment_event` (core 3.x): success, so that core shows no error.
	 *
	 * @param mixed $data `['appoinment_id' => id]` (unused).
	 * @return array Status array.
	 */
	public static function remove_appointment_event( $data = array() ) {
		unset( $data );
		return array(
			'status'  => true,
			'message' => __( 'Google Meet is unavailable right now: the appointment\'s Google Meet event is removed once the kc_meet extension works again.', 'kc-googlemeet' ),
		);
	}

	/**
	 * `kcgm_connect_doctor` / `kcgm_disconnect_doctor` (core 3.x's doctor profile): a clear
	 * refusal instead of core's own argument back (which has no `status`), and nothing changed.
	 *
	 * @param mixed $data `['id' => doctor id, …]` (unused).
	 * @return array Status array.
	 */
	public static function unavailable( $data = array() ) {
		unset( $data );
		return array(
			'status'  => false,
			'message' => __( 'Google Meet is unavailable right now (the kc_meet extension is not working): please try again later or ask the site administrator.', 'kc-googlemeet' ),
		);
	}

	/**
	 * `kc_payment_gateways` (core 4.x): core's `woocommerce` gateway, registered exactly as with
	 * the features ({@see KC_Meet_WooCommerce::register_gateway()}, which reads nothing but
	 * whether core's class exists).
	 *
	 * @param mixed $gateways Core's gateways.
	 * @return mixed
	 */
	public static function register_gateway( $gateways = array() ) {
		return KC_Meet_Plugin::instance()->component( 'woocommerce' )->register_gateway( $gateways );
	}
}
