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
 * - `kc_after_create_appointment` (id, data, request), 4.x: create (after the provider's
 *   create_meeting() the extension answers `unchanged`, without a Google request);
 * - `kc_appointment_updated` (id, update, appointment, request), 4.x: update;
 * - `kc_appointment_status_update` (id, status, appointment), 3.x and 4.x: status 0 → delete,
 *   1/3/4 → create-or-update with that status, 2 → nothing;
 * - `kc_appointment_cancelled` (id), `kc_appointment_deleted` (id, appointment),
 *   `kc_appointment_payment_cancelled` (id), 4.x, and `kc_appointment_cancel` (id), 3.x: delete
 *   (core 4.x never removes an event itself on cancel);
 * - `kc_appointment_payment_completed` (id, data), 4.x: create (an appointment still at status 2
 *   "pending payment" is handed over as 1, booked);
 * - `kc_appointment_book` (id), 3.x: create (a safety net after the save filter, once the
 *   service rows exist);
 * - `kc_appointment_delete` (id), 3.x: delete — core 3.x's `KCAppointment::delete` fires it for
 *   each appointment before deleting the row and makes no add-on call (3.x never fires the 4.x
 *   `kc_appointment_deleted`);
 * - `kc_meet_doctor_connected` (doctor id; fired by {@see KC_Meet_Native} after every successful
 *   connect): schedules `kc_meet_backfill_doctor` (WP-Cron, at once), which creates the missing
 *   events of the doctor's upcoming telemedicine appointments (kc_meet_reconcile() for that
 *   doctor, no orphan removal) — what was booked while the doctor was not connected.
 * Results that leave an appointment waiting for its link (queued, doctor not connected) are
 * noted for the grouped notices of {@see KC_Meet_Waiting} (shown by {@see KC_Meet_Hooks::admin_notices()}).
 * Creating and updating from actions only happens for doctors whose `telemed_type` meta is
 * 'googlemeet' or empty (a Zoom doctor's appointments are not ours); deleting always runs (it is
 * a no-op without an event). Nothing happens for an appointment whose Google-made change is
 * being dispatched ({@see KC_Meet_Sync_Changes::is_dispatching()}): the cancellation hooks fired
 * for an appointment cancelled in Google Calendar must not act on it again. Nor for one whose
 * WooCommerce order holds it in this request ({@see KC_Meet_WooCommerce::holds()}): core 4.x
 * books the appointment of an unpaid cash-on-delivery order, and maps the statuses of an order
 * the appointment no longer follows.
 *
 * Filters (what core 4.x's lists and details read, as the vendor's 4.x add-on and Zoom's set it):
 * - `kc_appointments_list_query` ($query, $params), an action on core's query builder: left-joins
 *   the mapping table and selects its `url` as `kc_meet_url`, so a list page costs no query of
 *   ours at all (one query for the page: core's own);
 * - `kc_appointment_list_item` ($item, $appointment): when the row has a Meet link, add
 *   `join_url` and `start_url` (unless set), `zoom_data.startUrl` (the key core's join button
 *   reads; unless another provider set it), `google_meet_url` and `video_consultation` => true;
 *   a row of a list that was not joined is looked up (one query, cached for the request);
 * - `kc_appointment_data`, `kc_appointment_details_data` ($item, $appointment): the same keys for
 *   one appointment (one query, cached for the request); nothing is ever removed;
 * - `kc_is_video_consultation` ($is, $appointment or id): true only when the appointment has a
 *   Meet link (never turns core's true into false). Inside a list core asks it before the list
 *   item filter, row by row: there it answers from what is known without a query, and the list
 *   item filter sets `video_consultation` from the joined link.
 * Links are read through $wpdb (the mapping table, first row per appointment, as core's e-mails
 * do), never through a native call.
 */
class KC_Meet_Appointment_Hooks {

	/**
	 * Context recorded for action-driven operations.
	 *
	 * @var string
	 */
	const CONTEXT = 'action';

	/**
	 * WP-Cron hook of a doctor's backfill (argument: doctor id).
	 *
	 * @var string
	 */
	const BACKFILL_HOOK = 'kc_meet_backfill_doctor';

	/**
	 * Alias of the mapping table in core's list query.
	 *
	 * @var string
	 */
	const LIST_ALIAS = 'kcmeetgm';

	/**
	 * Column core's list rows carry the joined Meet link in.
	 *
	 * @var string
	 */
	const LIST_COLUMN = 'kc_meet_url';

	/**
	 * Meet links known in this request, by "blog:appointment" ('' when none).
	 *
	 * @var array<string, string>
	 */
	private $urls = array();

	/**
	 * Whether core is building an appointment list in this request (its query was joined).
	 *
	 * @var bool
	 */
	private $in_list = false;

	/**
	 * A doctor connected (any path: OAuth redirect, 3.x popup, WP-CLI): what was booked while
	 * they were not connected gets its events, in the background (the connect redirect does
	 * not wait for Google).
	 *
	 * @param mixed $doctor_id Doctor.
	 * @return void
	 */
	public function on_doctor_connected( $doctor_id = 0 ) {
		$doctor_id = (int) $doctor_id;
		if ( $doctor_id <= 0 ) {
			return;
		}
		KC_Meet_KiviCare4::make_meet_the_provider( $doctor_id );
		KC_Meet_Waiting::doctor_connected( $doctor_id );
		if ( false === wp_next_scheduled( self::BACKFILL_HOOK, array( $doctor_id ) ) ) {
			wp_schedule_single_event( time(), self::BACKFILL_HOOK, array( $doctor_id ) );
		}
	}

	/**
	 * `kc_meet_backfill_doctor`: creates the missing events of the doctor's telemedicine
	 * appointments from yesterday on (kc_meet_reconcile() for that doctor; orphans are left to
	 * the daily pass). Runs again when its time budget ran out before all were done.
	 *
	 * @param mixed $doctor_id Doctor.
	 * @return array|null The reconcile report, or null on failure (recorded).
	 */
	public function backfill_doctor( $doctor_id = 0 ) {
		$doctor_id = (int) $doctor_id;
		if ( $doctor_id <= 0 ) {
			return null;
		}
		try {
			$report = KC_Meet_Native::reconcile(
				array(
					'doctor_id'      => $doctor_id,
					'create_missing' => true,
					'remove_orphans' => false,
					'budget_s'       => 20.0,
				)
			);
		} catch ( \Throwable $e ) {
			KC_Meet_Events::record_failure( 0, 'backfill', $e, 'connect' );
			return null;
		}
		$missing = is_array( $report['missing'] ?? null ) ? count( $report['missing'] ) : 0;
		$errors  = is_array( $report['errors'] ?? null ) ? count( $report['errors'] ) : 0;
		if ( (int) ( $report['fixed'] ?? 0 ) + $errors < $missing ) {
			wp_schedule_single_event( time() + MINUTE_IN_SECONDS, self::BACKFILL_HOOK, array( $doctor_id ) );
		}
		return $report;
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
	 * `kc_appointments_list_query` (action; core 4.x's query builder, before it runs): joins
	 * the mapping table so every row carries its Meet link. Core groups the rows by `a.id`.
	 *
	 * @param mixed $query Core's KCQueryBuilder.
	 * @return void
	 */
	public function join_list_query( $query = null ) {
		if ( ! is_object( $query ) || ! method_exists( $query, 'leftJoin' ) || ! method_exists( $query, 'select' ) ) {
			return;
		}
		try {
			// The table name without prefix, as the vendor's add-on passed it (core prefixes it).
			$query->leftJoin( \KCGMApp\models\KCGMAppointmentGoogleMeetMapping::TABLE, 'a.id', '=', self::LIST_ALIAS . '.appointment_id', self::LIST_ALIAS );
			$query->select( array( self::LIST_ALIAS . '.url as ' . self::LIST_COLUMN ) );
			$this->in_list = true;
		} catch ( \Throwable $e ) {
			unset( $e ); // Never break core's list: rows are looked up instead.
		}
	}

	/**
	 * `kc_is_video_consultation`: true only when the appointment has a Meet link.
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
			$slot = KC_Meet_Events::slot( $appointment_id );
			if ( ! isset( $this->urls[ $slot ] ) && $this->in_list ) {
				return (bool) $is; // The list item filter sets it from the joined link.
			}
			return '' !== $this->meet_urls( array( $appointment_id ) )[ $appointment_id ];
		} catch ( \Throwable $e ) {
			return (bool) $is;
		}
	}

	/**
	 * `kc_appointment_list_item`: the Meet link keys of one row of core's list, from the joined
	 * column (no query), else looked up.
	 *
	 * @param mixed $item        Row data core returns.
	 * @param mixed $appointment Core's row (carries `kc_meet_url` when the query was joined).
	 * @return mixed The item.
	 */
	public function add_list_keys( $item = array(), $appointment = null ) {
		try {
			$appointment_id = KC_Meet_Appointment_Data::id_of( $item );
			if ( $appointment_id <= 0 ) {
				$appointment_id = KC_Meet_Appointment_Data::id_of( $appointment );
			}
			$joined = self::joined_url( $appointment );
			if ( $appointment_id > 0 && null !== $joined ) {
				$this->urls[ KC_Meet_Events::slot( $appointment_id ) ] = $joined;
			}
			return $this->with_meet_keys( $item, $appointment_id );
		} catch ( \Throwable $e ) {
			return $item; // Never break core's list.
		}
	}

	/**
	 * `kc_appointment_data`, `kc_appointment_details_data`: the Meet link keys of one
	 * appointment.
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
			return $this->with_meet_keys( $item, $appointment_id );
		} catch ( \Throwable $e ) {
			return $item; // Never break core's screens.
		}
	}

	/**
	 * Adds the keys core's join buttons read to an item (array or stdClass) when the appointment
	 * has a Meet link; keys another provider set are kept.
	 *
	 * @param mixed $item           Item.
	 * @param int   $appointment_id Appointment.
	 * @return mixed
	 */
	private function with_meet_keys( $item, $appointment_id ) {
		$url = $appointment_id > 0 ? $this->meet_urls( array( $appointment_id ) )[ $appointment_id ] : '';
		if ( '' === $url ) {
			return $item;
		}
		$is_object = $item instanceof stdClass;
		if ( ! $is_object && ! is_array( $item ) ) {
			return $item;
		}
		$data = $is_object ? get_object_vars( $item ) : $item;
		$zoom = $data['zoom_data'] ?? array();
		$zoom = is_object( $zoom ) ? get_object_vars( $zoom ) : ( is_array( $zoom ) ? $zoom : array() );
		if ( empty( $zoom['startUrl'] ) ) {
			$zoom['startUrl'] = $url;
		}
		$data['google_meet_url']    = $url;
		$data['join_url']           = ! empty( $data['join_url'] ) ? $data['join_url'] : $url;
		$data['start_url']          = ! empty( $data['start_url'] ) ? $data['start_url'] : $url;
		$data['zoom_data']          = $zoom;
		$data['video_consultation'] = true;
		return $is_object ? (object) $data : $data;
	}

	/**
	 * The link core's joined list row carries (null when the row was not joined).
	 *
	 * @param mixed $row Core's row (object or array).
	 * @return string|null
	 */
	private static function joined_url( $row ) {
		if ( is_object( $row ) && ( property_exists( $row, self::LIST_COLUMN ) || isset( $row->{self::LIST_COLUMN} ) ) ) {
			return trim( (string) $row->{self::LIST_COLUMN} );
		}
		if ( is_array( $row ) && array_key_exists( self::LIST_COLUMN, $row ) ) {
			return trim( (string) $row[ self::LIST_COLUMN ] );
		}
		return null;
	}

	/**
	 * Meet links of appointments ('' when none), from the request cache, else with one query
	 * for all the unknown ones (the first mapping row per appointment, as core's e-mails read).
	 *
	 * @param int[] $appointment_ids Appointments.
	 * @return array<int, string>
	 */
	public function meet_urls( array $appointment_ids ) {
		global $wpdb;
		$urls    = array();
		$unknown = array();
		foreach ( array_unique( array_map( 'intval', $appointment_ids ) ) as $id ) {
			$slot = KC_Meet_Events::slot( $id );
			if ( isset( $this->urls[ $slot ] ) ) {
				$urls[ $id ] = $this->urls[ $slot ];
			} elseif ( $id > 0 ) {
				$unknown[] = $id;
				$urls[ $id ] = '';
			}
		}
		if ( ! empty( $unknown ) ) {
			$table    = \KCGMApp\models\KCGMAppointmentGoogleMeetMapping::table_name();
			$in       = implode( ',', $unknown );
			$suppress = $wpdb->suppress_errors( true );
			// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching,WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- integer ids; the mapping table.
			$rows = $wpdb->get_results( "SELECT m.appointment_id, m.url FROM `{$table}` m JOIN (SELECT MIN(id) AS id FROM `{$table}` WHERE appointment_id IN ({$in}) GROUP BY appointment_id) f ON f.id = m.id", ARRAY_A );
			$wpdb->suppress_errors( $suppress );
			foreach ( is_array( $rows ) ? $rows : array() as $row ) {
				$urls[ (int) $row['appointment_id'] ] = trim( (string) $row['url'] );
			}
			foreach ( $unknown as $id ) {
				$this->urls[ KC_Meet_Events::slot( $id ) ] = $urls[ $id ];
			}
		}
		return $urls;
	}

	/**
	 * Forgets the links known in this request (after an event operation changed one).
	 *
	 * @param int $appointment_id Appointment.
	 * @return void
	 */
	private function forget_url( $appointment_id ) {
		unset( $this->urls[ KC_Meet_Events::slot( $appointment_id ) ] );
	}


	/**
	 * Create/update from an action, unless not our doctor.
	 *
	 * @param int    $appointment_id Appointment.
	 * @param string $action         create|update.
	 * @param array  $handed         Extra data (status).
	 * @return array|null The result, or null when nothing was done or it failed.
	 */
	private function ensure( $appointment_id, $action, array $handed = array() ) {
		if ( $appointment_id <= 0 || KC_Meet_Sync_Changes::is_dispatching( $appointment_id ) || KC_Meet_WooCommerce::holds( $appointment_id, $action ) ) {
			return null;
		}
		try {
			$row = KC_Meet_Appointment_Data::row( $appointment_id );
			if ( null !== $row && ! KC_Meet_Events::doctor_uses_meet( (int) ( $row['doctor_id'] ?? 0 ) ) ) {
				return null;
			}
			$this->forget_url( $appointment_id );
			$result = KC_Meet_Events::ensure( $action, $appointment_id, $handed, self::CONTEXT );
			KC_Meet_Waiting::note_result( $appointment_id, $result );
			return $result;
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
		if ( $appointment_id <= 0 || KC_Meet_Sync_Changes::is_dispatching( $appointment_id ) || KC_Meet_WooCommerce::holds( $appointment_id, 'delete' ) ) {
			return null;
		}
		$this->forget_url( $appointment_id );
		try {
			$result = KC_Meet_Events::delete( $appointment_id, self::CONTEXT );
			KC_Meet_Waiting::drop( $appointment_id );
			return $result;
		} catch ( \Throwable $e ) {
			return null; // Recorded by KC_Meet_Events.
		}
	}
}
