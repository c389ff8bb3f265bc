<?php
/**
 * The Google Meet state in KiviCare's own appointment lists and details.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Adds each telemedicine appointment's Google Meet state — `linked` (Meet link ready),
 * `pending` (Meet link being created), `queued`, `failed`, `flagged` (changed in Google, waiting
 * for review), `removed` — to the data KiviCare core hands its screens, through core's own hooks:
 * - core 4.x, appointment list (`AppointmentsController::getAppointments`): the action
 *   `kc_appointments_list_query` ($query) left-joins kc-meet's events and jobs tables into core's
 *   page query and selects the state as `kc_meet_state` (the page stays one query: core's own);
 *   the filter `kc_appointment_list_item` ($item, $row) copies it into the item;
 * - core 4.x, one appointment (`kc_appointment_data`, `kc_appointment_details_data`
 *   ($item, $appointment)): one query for that appointment;
 * - core 3.x, appointment list (`KCAppointmentController::getAppointmentQueue`): core passes the
 *   page's ids to `kct_get_meeting_list` (['appointment_ids' => '1,2,3']) before it builds the
 *   rows — the state of the whole page is read there in one query (the filter's value is
 *   handed back untouched: it belongs to the Zoom add-on) — then `kivicare_appointment_queue_lists`
 *   ($appointment) adds it to each row;
 * - core 3.x, calendar (`KCAppointmentController::index`): `kivicare_appointment_list_data`
 *   ($item, $appointment) row by row, with no hook carrying the page's ids: the first row reads
 *   the state of every appointment in the request's date range (`start_date`, `end_date`, the
 *   calendar's own inputs) in one query; without a range each row is read once.
 * Each item of an appointment kc-meet holds an event or job for gets `kc_meet_state` (the key
 * above) and `kc_meet_state_label` (translated); other items and everything core set are left
 * as they are. No native call is made: the
 * states are read through $wpdb with the same rule as the Appointments screen
 * (src/screens.rs `STATE_SQL`). Nothing is joined before kc-meet's tables exist.
 */
class KC_Meet_Badge {

	/**
	 * Aliases of kc-meet's tables in core's list query.
	 *
	 * @var string
	 */
	const EVENTS_ALIAS = 'kcmeetev';
	const JOBS_ALIAS   = 'kcmeetjob';

	/**
	 * Key the state travels under (core's row and the item).
	 *
	 * @var string
	 */
	const KEY = 'kc_meet_state';

	/**
	 * States known in this request, by "blog:appointment" ('' when kc-meet holds nothing).
	 *
	 * @var array<string, string>
	 */
	private $states = array();

	/**
	 * Whether the 3.x calendar's date range was read in this request.
	 *
	 * @var bool
	 */
	private $range_read = false;

	/**
	 * Labels of the states.
	 *
	 * @return array<string, string>
	 */
	public static function labels() {
		return array(
			'linked'  => __( 'Meet link ready', 'kc-googlemeet' ),
			'pending' => __( 'Meet link being created', 'kc-googlemeet' ),
			'queued'  => __( 'Google Meet: queued', 'kc-googlemeet' ),
			'failed'  => __( 'Google Meet: failed', 'kc-googlemeet' ),
			'flagged' => __( 'Changed in Google Calendar', 'kc-googlemeet' ),
			'removed' => __( 'Google event removed', 'kc-googlemeet' ),
		);
	}

	/**
	 * The state as SQL over the events (`$e`) and jobs (`$j`) rows of an appointment: the rule of
	 * the Appointments screen (src/screens.rs `STATE_SQL`), '' where that says `missing`.
	 * Contains no `%` (core's builder runs the query through `$wpdb->prepare()`).
	 *
	 * @param string $e Alias of the events table.
	 * @param string $j Alias of the jobs table.
	 * @return string
	 */
	public static function state_sql( $e, $j ) {
		return "CASE WHEN {$j}.state = 'failed' THEN 'failed'"
			. " WHEN {$e}.flag IS NOT NULL AND {$e}.flag <> '' THEN 'flagged'"
			. " WHEN {$j}.state = 'queued' THEN 'queued'"
			. " WHEN {$e}.state = 'active' AND {$e}.conference_status = 'pending' THEN 'pending'"
			. " WHEN {$e}.state = 'active' THEN 'linked'"
			. " WHEN {$e}.state = 'deleted' THEN 'removed'"
			. " ELSE '' END";
	}

	/**
	 * Whether kc-meet's tables exist on this site (the autoloaded mark the migration leaves).
	 *
	 * @return bool
	 */
	private static function tables_ready() {
		return '' !== (string) get_option( KC_Meet_Lifecycle::SCHEMA_CHECKED_OPTION, '' );
	}

	/**
	 * `kc_appointments_list_query` (4.x): joins kc-meet's rows into core's page query.
	 *
	 * @param mixed $query Core's KCQueryBuilder.
	 * @return void
	 */
	public function join_list_query( $query = null ) {
		if ( ! is_object( $query ) || ! method_exists( $query, 'leftJoin' ) || ! method_exists( $query, 'select' ) || ! self::tables_ready() ) {
			return;
		}
		try {
			// Table names without the prefix: core's builder prefixes them.
			$query->leftJoin( 'kc_meet_events', 'a.id', '=', self::EVENTS_ALIAS . '.appointment_id', self::EVENTS_ALIAS );
			$query->leftJoin( 'kc_meet_jobs', 'a.id', '=', self::JOBS_ALIAS . '.appointment_id', self::JOBS_ALIAS );
			$query->select( array( self::state_sql( self::EVENTS_ALIAS, self::JOBS_ALIAS ) . ' AS ' . self::KEY ) );
		} catch ( \Throwable $e ) {
			unset( $e ); // Never break core's list: rows are read instead.
		}
	}

	/**
	 * `kct_get_meeting_list` (3.x, before the list's rows are built): reads the page's states in
	 * one query. The value goes back as it came (it is the Zoom add-on's answer).
	 *
	 * @param mixed $value Core's argument (['appointment_ids' => '1,2,3']) or Zoom's answer.
	 * @return mixed
	 */
	public function prefetch_page( $value = null ) {
		try {
			if ( is_array( $value ) && isset( $value['appointment_ids'] ) && is_scalar( $value['appointment_ids'] ) ) {
				$ids = array_filter( array_map( 'absint', explode( ',', (string) $value['appointment_ids'] ) ) );
				$this->read( $ids );
			}
		} catch ( \Throwable $e ) {
			unset( $e ); // Rows are read one by one instead.
		}
		return $value;
	}

	/**
	 * Adds the state to an item of core's (array or object): from the joined column, from what
	 * was read for the page, or read now.
	 *
	 * @param mixed $item        Item core returns.
	 * @param mixed $appointment Core's row (4.x list: carries the joined column).
	 * @return mixed The item.
	 */
	public function add_to_item( $item = array(), $appointment = null ) {
		try {
			$id = KC_Meet_Appointment_Data::id_of( $item );
			if ( $id <= 0 ) {
				$id = KC_Meet_Appointment_Data::id_of( $appointment );
			}
			if ( $id <= 0 ) {
				return $item;
			}
			$joined = self::joined_state( $appointment );
			if ( null === $joined ) {
				$joined = self::joined_state( $item );
			}
			if ( null !== $joined ) {
				$this->states[ KC_Meet_Events::slot( $id ) ] = $joined;
			}
			return $this->with_state( $item, $id );
		} catch ( \Throwable $e ) {
			return $item; // Never break core's screens.
		}
	}

	/**
	 * `kivicare_appointment_list_data` (3.x calendar): the first row reads the request's date
	 * range, then as {@see self::add_to_item()}.
	 *
	 * @param mixed $item        Item core returns.
	 * @param mixed $appointment Core's row.
	 * @return mixed The item.
	 */
	public function add_to_calendar_item( $item = array(), $appointment = null ) {
		if ( ! $this->range_read ) {
			$this->range_read = true;
			try {
				$this->read_calendar_range();
			} catch ( \Throwable $e ) {
				unset( $e ); // Rows are read one by one instead.
			}
		}
		return $this->add_to_item( $item, $appointment );
	}

	/**
	 * The state core's row carries from the joined query, or null.
	 *
	 * @param mixed $row Row.
	 * @return string|null
	 */
	private static function joined_state( $row ) {
		if ( is_object( $row ) && property_exists( $row, self::KEY ) ) {
			return (string) $row->{self::KEY};
		}
		return null;
	}

	/**
	 * The item with `kc_meet_state` and `kc_meet_state_label`.
	 *
	 * @param mixed $item Item (array or object).
	 * @param int   $id   Appointment.
	 * @return mixed
	 */
	private function with_state( $item, $id ) {
		$slot = KC_Meet_Events::slot( $id );
		if ( ! isset( $this->states[ $slot ] ) ) {
			$this->read( array( $id ) );
		}
		$state  = $this->states[ $slot ] ?? '';
		$labels = self::labels();
		if ( ! isset( $labels[ $state ] ) ) {
			return $item; // kc-meet holds nothing for this appointment.
		}
		$label = $labels[ $state ];
		if ( is_array( $item ) ) {
			$item[ self::KEY ]            = $state;
			$item['kc_meet_state_label'] = $label;
		} elseif ( is_object( $item ) ) {
			$item->{self::KEY}          = $state;
			$item->kc_meet_state_label = $label;
		}
		return $item;
	}

	/**
	 * Reads the states of appointments in one query (unknown ones are remembered as '').
	 *
	 * @param int[] $ids Appointments.
	 * @return void
	 */
	private function read( array $ids ) {
		$ids = array_values( array_unique( array_filter( array_map( 'intval', $ids ) ) ) );
		if ( empty( $ids ) ) {
			return;
		}
		foreach ( $ids as $id ) {
			$this->states[ KC_Meet_Events::slot( $id ) ] = '';
		}
		if ( ! self::tables_ready() ) {
			return;
		}
		global $wpdb;
		$in = implode( ',', $ids ); // Integers only.
		$this->store_rows(
			// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching,WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- integer ids and table names; one query per page.
			$wpdb->get_results( 'SELECT e.appointment_id AS id, ' . self::state_sql( 'e', 'j' ) . " AS state FROM `{$wpdb->prefix}kc_meet_events` e LEFT JOIN `{$wpdb->prefix}kc_meet_jobs` j ON j.appointment_id = e.appointment_id WHERE e.appointment_id IN ({$in})"
				. ' UNION ALL SELECT j.appointment_id, ' . self::state_sql( 'e', 'j' ) . " FROM `{$wpdb->prefix}kc_meet_jobs` j LEFT JOIN `{$wpdb->prefix}kc_meet_events` e ON e.appointment_id = j.appointment_id WHERE j.appointment_id IN ({$in}) AND e.appointment_id IS NULL" )
		);
	}

	/**
	 * 3.x calendar: the states of every appointment in the request's date range, one query.
	 *
	 * @return void
	 */
	private function read_calendar_range() {
		// phpcs:disable WordPress.Security.NonceVerification.Recommended -- core's own list request; read-only.
		$from = isset( $_REQUEST['start_date'] ) ? sanitize_text_field( wp_unslash( $_REQUEST['start_date'] ) ) : '';
		$to   = isset( $_REQUEST['end_date'] ) ? sanitize_text_field( wp_unslash( $_REQUEST['end_date'] ) ) : '';
		// phpcs:enable
		if ( ! preg_match( '/^\d{4}-\d{2}-\d{2}$/', $from ) || ! preg_match( '/^\d{4}-\d{2}-\d{2}$/', $to ) || ! self::tables_ready() ) {
			return;
		}
		global $wpdb;
		$rows = $wpdb->get_results( // phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching
			$wpdb->prepare(
				// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- table names.
				'SELECT a.id, ' . self::state_sql( 'e', 'j' ) . " AS state FROM `{$wpdb->prefix}kc_appointments` a LEFT JOIN `{$wpdb->prefix}kc_meet_events` e ON e.appointment_id = a.id LEFT JOIN `{$wpdb->prefix}kc_meet_jobs` j ON j.appointment_id = a.id WHERE a.appointment_start_date BETWEEN %s AND %s",
				$from,
				$to
			)
		);
		$this->store_rows( $rows );
	}

	/**
	 * Remembers rows of (id, state).
	 *
	 * @param mixed $rows Query result.
	 * @return void
	 */
	private function store_rows( $rows ) {
		foreach ( is_array( $rows ) ? $rows : array() as $row ) {
			$this->states[ KC_Meet_Events::slot( (int) $row->id ) ] = (string) $row->state;
		}
	}

}
