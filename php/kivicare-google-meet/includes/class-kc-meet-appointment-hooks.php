<?php
/**
 * KiviCare core's appointment actions and display filters.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Keeps Google events in step with what KiviCare core does to appointments, beyond the calls core
 * makes to the add-on itself (3.x filters, 4.x provider), and shows the Meet link in core's lists.
 *
 * Actions (every callback catches everything: a failure is recorded by {@see KC_Meet_Events},
 * never thrown into core's flow):
 * - `kc_after_create_appointment` (id, data, request), 4.x: create — skipped when the provider's
 *   create_meeting() already synced the appointment in this request and nothing changed since;
 * - `kc_appointment_updated` (id, update, appointment, request), 4.x: update (same skip);
 * - `kc_appointment_status_update` (id, status, appointment), 3.x and 4.x: status 0 → delete,
 *   1/3/4 → create-or-update with that status, 2 → nothing;
 * - `kc_appointment_cancelled` (id), `kc_appointment_deleted` (id, appointment),
 *   `kc_appointment_payment_cancelled` (id), 4.x, and `kc_appointment_cancel` (id), 3.x: delete
 *   (core 4.x never removes an event itself on cancel);
 * - `kc_appointment_payment_completed` (id, data), 4.x: create (an appointment still at status 2
 *   "pending payment" is handed over as 1, booked);
 * - `kc_appointment_book` (id), 3.x: create (a safety net after the save filter, once the
 *   service rows exist).
 * Creating and updating from actions only happens for doctors whose `telemed_type` meta is
 * 'googlemeet' or empty (a Zoom doctor's appointments are not ours); deleting always runs (it is
 * a no-op without an event). Nothing happens for an appointment whose Google-made change is
 * being dispatched ({@see KC_Meet_Sync_Changes::is_dispatching()}): the cancellation hooks fired
 * for an appointment cancelled in Google Calendar must not act on it again.
 *
 * Filters:
 * - `kc_is_video_consultation` ($is, $appointment or id): true when the appointment has a Meet
 *   link or a telemed service (never turns core's true into false);
 * - `kc_appointment_list_item`, `kc_appointment_data`, `kc_appointment_details_data` ($item, …):
 *   when the appointment has a Meet link, add `google_meet_url`, `join_url` (unless core set one)
 *   and `video_consultation` => true; nothing is removed.
 */
class KC_Meet_Appointment_Hooks {

	/**
	 * Context recorded for action-driven operations.
	 *
	 * @var string
	 */
	const CONTEXT = 'action';

	/**
	 * Whether an appointment has telemed services, by id (request cache for lists).
	 *
	 * @var array<int, bool>
	 */
	private $telemed = array();

	/**
	 * Hooks the actions and filters.
	 *
	 * @return void
	 */
	public function register() {
		// KiviCare 4.x.
		add_action( 'kc_after_create_appointment', array( $this, 'on_created' ), 20, 1 );
		add_action( 'kc_appointment_updated', array( $this, 'on_updated' ), 20, 1 );
		add_action( 'kc_appointment_cancelled', array( $this, 'on_removed' ), 20, 1 );
		add_action( 'kc_appointment_deleted', array( $this, 'on_removed' ), 20, 1 );
		add_action( 'kc_appointment_payment_completed', array( $this, 'on_paid' ), 20, 1 );
		add_action( 'kc_appointment_payment_cancelled', array( $this, 'on_removed' ), 20, 1 );
		// KiviCare 3.x and 4.x.
		add_action( 'kc_appointment_status_update', array( $this, 'on_status_update' ), 20, 2 );
		// KiviCare 3.x.
		add_action( 'kc_appointment_book', array( $this, 'on_created' ), 20, 1 );
		add_action( 'kc_appointment_cancel', array( $this, 'on_removed' ), 20, 1 );

		add_filter( 'kc_is_video_consultation', array( $this, 'is_video_consultation' ), 20, 2 );
		add_filter( 'kc_appointment_list_item', array( $this, 'add_meet_keys' ), 20, 2 );
		add_filter( 'kc_appointment_data', array( $this, 'add_meet_keys' ), 20, 2 );
		add_filter( 'kc_appointment_details_data', array( $this, 'add_meet_keys' ), 20, 2 );
	}

	/**
	 * Created / booked: create the event.
	 *
	 * @param mixed $appointment Appointment id (or array/object with one).
	 * @return void
	 */
	public function on_created( $appointment = 0 ) {
		$this->ensure( KC_Meet_Appointment_Data::id_of( $appointment ), 'create' );
	}

	/**
	 * Updated: update the event.
	 *
	 * @param mixed $appointment Appointment id.
	 * @return void
	 */
	public function on_updated( $appointment = 0 ) {
		$this->ensure( KC_Meet_Appointment_Data::id_of( $appointment ), 'update' );
	}

	/**
	 * Status changed: 0 → delete, 1/3/4 → create-or-update, 2 → nothing.
	 *
	 * @param mixed $appointment Appointment id.
	 * @param mixed $status      New status (read from the row when not given).
	 * @return void
	 */
	public function on_status_update( $appointment = 0, $status = null ) {
		$appointment_id = KC_Meet_Appointment_Data::id_of( $appointment );
		if ( $appointment_id <= 0 ) {
			return;
		}
		if ( ! is_numeric( $status ) ) {
			$row    = KC_Meet_Appointment_Data::row( $appointment_id );
			$status = null !== $row ? ( $row['status'] ?? null ) : null;
		}
		if ( ! is_numeric( $status ) ) {
			return;
		}
		$status = (int) $status;
		if ( 0 === $status ) {
			$this->delete( $appointment_id );
		} elseif ( in_array( $status, array( 1, 3, 4 ), true ) ) {
			$this->ensure( $appointment_id, 'create', array( 'status' => $status ) );
		}
	}

	/**
	 * Paid: create the event (pending payment counts as booked now).
	 *
	 * @param mixed $appointment Appointment id.
	 * @return void
	 */
	public function on_paid( $appointment = 0 ) {
		$appointment_id = KC_Meet_Appointment_Data::id_of( $appointment );
		$row            = KC_Meet_Appointment_Data::row( $appointment_id );
		$handed         = null !== $row && 2 === (int) ( $row['status'] ?? -1 ) ? array( 'status' => 1 ) : array();
		$this->ensure( $appointment_id, 'create', $handed );
	}

	/**
	 * Cancelled / deleted / payment cancelled: delete the event.
	 *
	 * @param mixed $appointment Appointment id.
	 * @return void
	 */
	public function on_removed( $appointment = 0 ) {
		$this->delete( KC_Meet_Appointment_Data::id_of( $appointment ) );
	}

	/**
	 * `kc_is_video_consultation`.
	 *
	 * @param mixed $is          Core's answer so far.
	 * @param mixed $appointment Appointment (id, array or object).
	 * @return bool
	 */
	public function is_video_consultation( $is = false, $appointment = null ) {
		if ( $is ) {
			return true;
		}
		try {
			$appointment_id = KC_Meet_Appointment_Data::id_of( $appointment );
			if ( $appointment_id <= 0 ) {
				return (bool) $is;
			}
			return '' !== KC_Meet_Events::meet_url( $appointment_id ) || $this->has_telemed_service( $appointment_id );
		} catch ( \Throwable $e ) {
			return (bool) $is;
		}
	}

	/**
	 * `kc_appointment_list_item`, `kc_appointment_data`, `kc_appointment_details_data`: adds the
	 * Meet link keys to an appointment array or object.
	 *
	 * @param mixed $item        Appointment data.
	 * @param mixed $appointment Appointment (when the item has no id).
	 * @return mixed The item.
	 */
	public function add_meet_keys( $item = array(), $appointment = null ) {
		try {
			$appointment_id = KC_Meet_Appointment_Data::id_of( $item );
			if ( $appointment_id <= 0 ) {
				$appointment_id = KC_Meet_Appointment_Data::id_of( $appointment );
			}
			$url = $appointment_id > 0 ? KC_Meet_Events::meet_url( $appointment_id ) : '';
			if ( '' === $url ) {
				return $item;
			}
			if ( is_array( $item ) ) {
				$item['google_meet_url']    = $url;
				$item['join_url']           = ! empty( $item['join_url'] ) ? $item['join_url'] : $url;
				$item['video_consultation'] = true;
			} elseif ( $item instanceof stdClass ) {
				$item->google_meet_url    = $url;
				$item->join_url           = ! empty( $item->join_url ) ? $item->join_url : $url;
				$item->video_consultation = true;
			}
		} catch ( \Throwable $e ) {
			unset( $e ); // Never break core's list.
		}
		return $item;
	}

	/**
	 * Whether the appointment has a telemed service (cached for the request).
	 *
	 * @param int $appointment_id Appointment.
	 * @return bool
	 */
	private function has_telemed_service( $appointment_id ) {
		if ( ! isset( $this->telemed[ $appointment_id ] ) ) {
			$this->telemed[ $appointment_id ] = array() !== KC_Meet_Appointment_Data::telemed_services( $appointment_id );
		}
		return $this->telemed[ $appointment_id ];
	}

	/**
	 * Create/update from an action, unless already synced in this request or not our doctor.
	 *
	 * @param int    $appointment_id Appointment.
	 * @param string $action         create|update.
	 * @param array  $handed         Extra data (status).
	 * @return array|null The result, or null when nothing was done or it failed.
	 */
	private function ensure( $appointment_id, $action, array $handed = array() ) {
		if ( $appointment_id <= 0 || KC_Meet_Sync_Changes::is_dispatching( $appointment_id ) ) {
			return null;
		}
		try {
			if ( empty( $handed ) && KC_Meet_Events::synced_this_request( $appointment_id ) ) {
				return null;
			}
			$row = KC_Meet_Appointment_Data::row( $appointment_id );
			if ( null !== $row && ! KC_Meet_Events::doctor_uses_meet( (int) ( $row['doctor_id'] ?? 0 ) ) ) {
				return null;
			}
			unset( $this->telemed[ $appointment_id ] );
			return KC_Meet_Events::ensure( $action, $appointment_id, $handed, self::CONTEXT );
		} catch ( \Throwable $e ) {
			return null; // Recorded by KC_Meet_Events; the booking goes on.
		}
	}

	/**
	 * Delete from an action.
	 *
	 * @param int $appointment_id Appointment.
	 * @return array|null The result, or null when nothing was done or it failed.
	 */
	private function delete( $appointment_id ) {
		if ( $appointment_id <= 0 || KC_Meet_Sync_Changes::is_dispatching( $appointment_id ) ) {
			return null;
		}
		try {
			return KC_Meet_Events::delete( $appointment_id, self::CONTEXT );
		} catch ( \Throwable $e ) {
			return null; // Recorded by KC_Meet_Events.
		}
	}
}
