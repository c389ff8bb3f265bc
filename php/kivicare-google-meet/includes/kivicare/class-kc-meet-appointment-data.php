<?php
/**
 * Appointment data handed to the extension's event functions.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Builds the `$appointment` array of `kc_meet_create_event()` / `kc_meet_update_event()` from
 * KiviCare's tables, read through `$wpdb`.
 *
 * `$wpdb` is the connection KiviCare core writes with: inside core 4.x's open transaction it sees
 * the new (uncommitted) appointment row and its service rows, which the extension's own
 * connection cannot see. Plain, non-locking SELECTs only.
 *
 * What is read:
 * - `{prefix}kc_appointments`: doctor, patient, clinic, status, description and the time —
 *   `appointment_start_utc`/`appointment_end_utc` when those columns exist and are set (4.2+),
 *   else the local date/time columns plus `appointment_timezone` (when it holds a real zone: a row
 *   without UTC times keeps the column default 'UTC', which is ignored), else nothing about the
 *   zone (the extension then uses the doctor's `timezone` meta, else the site's);
 * - `{prefix}kc_clinics`: name; address = address, city, postal code, country joined by ", ";
 * - the patient and doctor users: display name and e-mail;
 * - telemed services: `kc_appointment_service_mapping` ⨝ `kc_service_doctor_mapping`
 *   (`telemed_service = 'yes'` for the appointment's doctor and clinic) ⨝ `kc_services` (name).
 *
 * What core handed over (normalized by {@see self::from_core3()} / {@see self::from_core4()}) is
 * merged in: it fills what the tables do not know (no row yet, no service rows yet). When the row
 * is readable its times always win over core's (`start_time` is "now" when core 4.x regenerates a
 * link, the booking moment in 4.0.3). `status` given by the caller wins over the row's;
 * without a row, `_status_fallback` (from_core4(): 1) applies.
 * `telemed` is true when the caller says so or a telemed service is found, false when the
 * appointment's service rows are readable and none is a telemed service, and left out otherwise.
 *
 * The result only ever holds the keys of the native contract ({@see self::KEYS}), never null or
 * empty values, and passes through the filter `kc_meet_appointment_data`.
 */
final class KC_Meet_Appointment_Data {

	/**
	 * The keys `kc_meet_create_event()` accepts in `$appointment` (any other key is rejected by the
	 * extension).
	 *
	 * @var string[]
	 */
	const KEYS = array(
		'doctor_id',
		'patient_id',
		'clinic_id',
		'status',
		'start_utc',
		'end_utc',
		'start',
		'end',
		'timezone',
		'telemed',
		'services',
		'patient_name',
		'patient_email',
		'doctor_name',
		'doctor_email',
		'clinic_name',
		'clinic_address',
		'description',
		'appointment_date',
		'appointment_time',
	);

	/**
	 * Topic core 4.x sends when an admin regenerates a link (not a service name).
	 *
	 * @var string
	 */
	const REGENERATED_TOPIC = 'Regenerated Telemed Service';

	/**
	 * 'Y-m-d H:i:s' pattern (seconds optional).
	 *
	 * @var string
	 */
	const DATETIME_PATTERN = '/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?$/';

	/**
	 * Builds the `$appointment` array for an appointment.
	 *
	 * @param int        $appointment_id Appointment.
	 * @param array      $handed         What the caller knows (contract keys, e.g. from
	 *                                   from_core3()/from_core4()); fills the gaps of the tables.
	 * @param array|null $snapshot       A snapshot() of the appointment (null reads it now).
	 * @return array Contract keys only.
	 */
	public static function build( $appointment_id, array $handed = array(), $snapshot = null ) {
		$appointment_id = (int) $appointment_id;
		$snapshot       = is_array( $snapshot ) ? $snapshot : self::snapshot( $appointment_id );
		$row            = $snapshot['row'];
		$data           = array();

		foreach ( array( 'doctor_id', 'patient_id', 'clinic_id' ) as $key ) {
			$value        = null !== $row && isset( $row[ $key ] ) ? (int) $row[ $key ] : (int) ( $handed[ $key ] ?? 0 );
			$data[ $key ] = $value > 0 ? $value : null;
		}
		$doctor_id = (int) $data['doctor_id'];

		if ( isset( $handed['status'] ) && is_numeric( $handed['status'] ) ) {
			$data['status'] = (int) $handed['status'];
		} elseif ( null !== $row && isset( $row['status'] ) && is_numeric( $row['status'] ) ) {
			$data['status'] = (int) $row['status'];
		} elseif ( null === $row && isset( $handed['_status_fallback'] ) && is_numeric( $handed['_status_fallback'] ) ) {
			$data['status'] = (int) $handed['_status_fallback'];
		}

		// Times: the row's when readable, else what the caller handed over.
		$times = null !== $row ? self::row_times( $row, $doctor_id ) : self::handed_times( $handed, $doctor_id );
		$data  = array_merge( $data, $times['keys'] );

		// Telemed services.
		$services      = is_array( $snapshot['services'] ) ? $snapshot['services'] : null;
		$telemed_names = array();
		foreach ( (array) $services as $service ) {
			if ( ! empty( $service['telemed'] ) && '' !== $service['name'] ) {
				$telemed_names[] = $service['name'];
			}
		}
		$telemed_names = array_values( array_unique( $telemed_names ) );
		if ( ! empty( $handed['telemed'] ) || ! empty( $telemed_names ) ) {
			$data['telemed'] = true;
		} elseif ( null !== $row && ! empty( $services ) ) {
			$data['telemed'] = false;
		}
		$data['services'] = ! empty( $telemed_names ) ? $telemed_names : self::clean_list( $handed['services'] ?? array() );

		// People.
		foreach ( array( 'patient', 'doctor' ) as $who ) {
			$user                       = $data[ $who . '_id' ] ? get_userdata( (int) $data[ $who . '_id' ] ) : false;
			$data[ $who . '_name' ]     = $user ? (string) $user->display_name : ( $handed[ $who . '_name' ] ?? null );
			$data[ $who . '_email' ]    = $user && is_email( $user->user_email ) ? (string) $user->user_email : ( $handed[ $who . '_email' ] ?? null );
		}

		// Clinic.
		$clinic                 = $snapshot['clinic'];
		$data['clinic_name']    = null !== $clinic ? (string) ( $clinic['name'] ?? '' ) : ( $handed['clinic_name'] ?? null );
		$data['clinic_address'] = null !== $clinic ? self::clinic_address( $clinic ) : ( $handed['clinic_address'] ?? null );

		$data['description'] = null !== $row && isset( $row['description'] ) ? (string) $row['description'] : ( $handed['description'] ?? null );

		// Date and time as the event text shows them (site formats).
		if ( null !== $times['timestamp'] ) {
			$data['appointment_date'] = wp_date( (string) get_option( 'date_format', 'F j, Y' ), $times['timestamp'], $times['zone'] );
			$data['appointment_time'] = wp_date( (string) get_option( 'time_format', 'g:i a' ), $times['timestamp'], $times['zone'] );
		} else {
			$data['appointment_date'] = $handed['appointment_date'] ?? null;
			$data['appointment_time'] = $handed['appointment_time'] ?? null;
		}

		/**
		 * Filters the appointment data handed to kc_meet_create_event()/kc_meet_update_event().
		 * Keys outside the native contract are dropped afterwards.
		 *
		 * @param array $data           Appointment data.
		 * @param int   $appointment_id Appointment.
		 * @param array $handed         What the caller (KiviCare core) handed over.
		 */
		$filtered = apply_filters( 'kc_meet_appointment_data', $data, $appointment_id, $handed );
		return self::sanitize( is_array( $filtered ) ? $filtered : $data );
	}

	/**
	 * What the tables say about an appointment (read through $wpdb, non-locking).
	 *
	 * @param int $appointment_id Appointment.
	 * @return array{row: array|null, services: array|null, clinic: array|null} `services` is a list
	 *               of `['service_id' => int, 'name' => string, 'telemed' => bool]` (null when the
	 *               tables cannot be read), `clinic` the clinic row.
	 */
	public static function snapshot( $appointment_id ) {
		$row = self::row( $appointment_id );
		if ( null === $row ) {
			return array(
				'row'      => null,
				'services' => null,
				'clinic'   => null,
			);
		}
		return array(
			'row'      => $row,
			'services' => self::services( (int) $row['id'], (int) ( $row['doctor_id'] ?? 0 ), (int) ( $row['clinic_id'] ?? 0 ) ),
			'clinic'   => self::clinic( (int) ( $row['clinic_id'] ?? 0 ) ),
		);
	}

	/**
	 * A short hash of a snapshot (to tell whether an appointment changed within a request).
	 *
	 * @param array $snapshot A snapshot().
	 * @return string
	 */
	public static function fingerprint( array $snapshot ) {
		return md5( (string) wp_json_encode( $snapshot ) );
	}

	/**
	 * The appointment row, or null (no such row, or the table is missing).
	 *
	 * @param int $appointment_id Appointment.
	 * @return array|null
	 */
	public static function row( $appointment_id ) {
		global $wpdb;
		$appointment_id = (int) $appointment_id;
		if ( $appointment_id <= 0 ) {
			return null;
		}
		$table = $wpdb->prefix . 'kc_appointments';
		$row   = self::quietly(
			static function () use ( $wpdb, $table, $appointment_id ) {
				// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching,WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- KiviCare's table; fresh read needed.
				return $wpdb->get_row( $wpdb->prepare( "SELECT * FROM `{$table}` WHERE id = %d", $appointment_id ), ARRAY_A );
			}
		);
		return is_array( $row ) ? $row : null;
	}

	/**
	 * Names of the appointment's telemed services (empty when none or unreadable).
	 *
	 * @param int $appointment_id Appointment.
	 * @return string[]
	 */
	public static function telemed_services( $appointment_id ) {
		$snapshot = self::snapshot( $appointment_id );
		$names    = array();
		foreach ( (array) $snapshot['services'] as $service ) {
			if ( ! empty( $service['telemed'] ) ) {
				$names[] = $service['name'];
			}
		}
		return array_values( array_unique( $names ) );
	}

	/**
	 * Normalizes what KiviCare 3.x's `kcgm_save_appointment_event` filter hands over:
	 * `service` ('Svc A,Svc B') → `services`; core calls the filter only for telemed services
	 * (before their rows exist), so `telemed` is true.
	 *
	 * @param array $data Filter argument.
	 * @return array Contract keys.
	 */
	public static function from_core3( array $data ) {
		$services = isset( $data['service'] ) && is_string( $data['service'] ) ? explode( ',', $data['service'] ) : array();
		$handed   = array(
			'telemed'  => true,
			'services' => self::clean_list( $services ),
		);
		// Core 3.x calls with type 'woocommerce' when the order is paid but leaves the appointment
		// at status 0: the meeting must exist once it is paid.
		if ( isset( $data['type'] ) && 'woocommerce' === $data['type'] ) {
			$handed['status'] = 1;
		}
		return $handed;
	}

	/**
	 * Normalizes the meeting data of KiviCare 4.x's `create_meeting()` / `update_meeting()`:
	 * `doctor_id`, `patient_id`, `topic` (service names joined by ", "; not the regenerate topic),
	 * `start_time` (local 'Y-m-d H:i:s', or ISO 8601 with offset), `end_time`, `duration`
	 * (minutes), `timezone`, `attendees` ([patient e-mail, doctor e-mail]). Times are only used
	 * when the appointment row cannot be read; so is status 1 (booked), the status assumed then.
	 *
	 * @param array $data Meeting data.
	 * @return array Contract keys.
	 */
	public static function from_core4( array $data ) {
		// Core calls create/update_meeting for a booked appointment: without a readable row the
		// extension must not take it for a cancelled one.
		$handed = array( '_status_fallback' => 1 );
		foreach ( array( 'doctor_id', 'patient_id' ) as $key ) {
			if ( isset( $data[ $key ] ) && is_numeric( $data[ $key ] ) && (int) $data[ $key ] > 0 ) {
				$handed[ $key ] = (int) $data[ $key ];
			}
		}
		$topic = isset( $data['topic'] ) && is_string( $data['topic'] ) ? trim( $data['topic'] ) : '';
		if ( '' !== $topic && self::REGENERATED_TOPIC !== $topic ) {
			$handed['services'] = self::clean_list( explode( ',', $topic ) );
		}
		if ( isset( $data['attendees'] ) && is_array( $data['attendees'] ) ) {
			$emails = array();
			foreach ( $data['attendees'] as $attendee ) {
				$email = is_array( $attendee ) ? ( $attendee['email'] ?? '' ) : $attendee;
				if ( is_string( $email ) && is_email( $email ) ) {
					$emails[] = $email;
				}
			}
			if ( isset( $emails[0] ) ) {
				$handed['patient_email'] = $emails[0];
			}
			if ( isset( $emails[1] ) ) {
				$handed['doctor_email'] = $emails[1];
			}
		}
		foreach ( array( 'start_time', 'end_time', 'duration', 'timezone' ) as $key ) {
			if ( isset( $data[ $key ] ) && is_scalar( $data[ $key ] ) ) {
				$handed[ '_' . $key ] = (string) $data[ $key ];
			}
		}
		return $handed;
	}

	/**
	 * The appointment id in whatever core passes: an id, a numeric string, an array or an object
	 * with `id` / `appointment_id` / `appointmentId` / `appoinment_id`.
	 *
	 * @param mixed $value Value.
	 * @return int 0 when none.
	 */
	public static function id_of( $value ) {
		if ( is_int( $value ) || ( is_string( $value ) && ctype_digit( trim( $value ) ) ) ) {
			return max( 0, (int) $value );
		}
		$keys = array( 'id', 'appointment_id', 'appointmentId', 'appoinment_id' );
		if ( is_array( $value ) ) {
			foreach ( $keys as $key ) {
				if ( isset( $value[ $key ] ) && is_numeric( $value[ $key ] ) ) {
					return max( 0, (int) $value[ $key ] );
				}
			}
			return 0;
		}
		if ( is_object( $value ) ) {
			foreach ( $keys as $key ) {
				try {
					$found = isset( $value->$key ) ? $value->$key : ( method_exists( $value, '__get' ) ? $value->__get( $key ) : null );
				} catch ( \Throwable $e ) {
					$found = null;
				}
				if ( is_numeric( $found ) ) {
					return max( 0, (int) $found );
				}
			}
		}
		return 0;
	}

	/**
	 * Normalizes a time zone for the extension: an IANA name, or an offset '+05:30' ('UTC+5:30',
	 * '+5.5' accepted); '' when unusable.
	 *
	 * @param mixed $name Time zone.
	 * @return string
	 */
	public static function normalize_timezone( $name ) {
		$name = is_string( $name ) ? trim( $name ) : '';
		if ( '' === $name ) {
			return '';
		}
		if ( preg_match( '/^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2})|\.(\d+))?$/i', $name, $m ) ) {
			$minutes = isset( $m[4] ) && '' !== $m[4] ? (int) round( (float) ( '0.' . $m[4] ) * 60 ) : (int) ( $m[3] ?? 0 );
			return sprintf( '%s%02d:%02d', $m[1], (int) $m[2], $minutes );
		}
		try {
			new DateTimeZone( $name );
		} catch ( \Throwable $e ) {
			return '';
		}
		return $name;
	}

	/**
	 * Times of a row.
	 *
	 * @param array $row       Appointment row.
	 * @param int   $doctor_id Doctor.
	 * @return array{keys: array, timestamp: int|null, zone: DateTimeZone}
	 */
	private static function row_times( array $row, $doctor_id ) {
		$start_date  = (string) ( $row['appointment_start_date'] ?? '' );
		$local_start = self::datetime( $start_date . ' ' . ( $row['appointment_start_time'] ?? '' ) );
		$end_date    = '' !== (string) ( $row['appointment_end_date'] ?? '' ) ? (string) $row['appointment_end_date'] : $start_date;
		$local_end   = self::datetime( $end_date . ' ' . ( $row['appointment_end_time'] ?? '' ) );
		if ( null !== $local_start && null !== $local_end && $local_end <= $local_start ) {
			$local_end = null;
		}
		$utc_start = self::datetime( $row['appointment_start_utc'] ?? '' );
		$utc_end   = self::datetime( $row['appointment_end_utc'] ?? '' );
		$tz_name   = self::normalize_timezone( $row['appointment_timezone'] ?? '' );
		$utc       = new DateTimeZone( 'UTC' );

		if ( null !== $utc_start ) {
			if ( null === $utc_end && null !== $local_start && null !== $local_end ) {
				$length  = strtotime( $local_end . ' UTC' ) - strtotime( $local_start . ' UTC' );
				$utc_end = gmdate( 'Y-m-d H:i:s', strtotime( $utc_start . ' UTC' ) + $length );
			}
			if ( null !== $utc_end && $utc_end <= $utc_start ) {
				$utc_end = null;
			}
			$zone = '' !== $tz_name ? new DateTimeZone( $tz_name ) : self::default_zone( $doctor_id );
			return array(
				'keys'      => array(
					'start_utc' => $utc_start,
					'end_utc'   => $utc_end,
				),
				'timestamp' => ( new DateTimeImmutable( $utc_start, $utc ) )->getTimestamp(),
				'zone'      => $zone,
			);
		}
		if ( null === $local_start ) {
			return array(
				'keys'      => array(),
				'timestamp' => null,
				'zone'      => self::default_zone( $doctor_id ),
			);
		}
		// Without UTC times a 4.2+ row keeps the column default 'UTC': not a real choice of zone.
		$own_zone = '' !== $tz_name && 'UTC' !== strtoupper( $tz_name );
		$zone     = $own_zone ? new DateTimeZone( $tz_name ) : self::default_zone( $doctor_id );
		return array(
			'keys'      => array(
				'start'    => $local_start,
				'end'      => $local_end,
				'timezone' => $own_zone ? $tz_name : null,
			),
			'timestamp' => ( new DateTimeImmutable( $local_start, $zone ) )->getTimestamp(),
			'zone'      => $zone,
		);
	}

	/**
	 * Times from what core handed over (from_core4()'s `_start_time`, `_end_time`, `_duration`,
	 * `_timezone`, or contract keys a caller set directly).
	 *
	 * @param array $handed    Handed data.
	 * @param int   $doctor_id Doctor.
	 * @return array{keys: array, timestamp: int|null, zone: DateTimeZone}
	 */
	private static function handed_times( array $handed, $doctor_id ) {
		$tz_name = self::normalize_timezone( $handed['timezone'] ?? ( $handed['_timezone'] ?? '' ) );
		$zone    = '' !== $tz_name ? new DateTimeZone( $tz_name ) : self::default_zone( $doctor_id );
		$utc     = new DateTimeZone( 'UTC' );
		$none    = array(
			'keys'      => array(),
			'timestamp' => null,
			'zone'      => $zone,
		);

		// Contract keys set directly by a caller.
		$start_utc = self::datetime( $handed['start_utc'] ?? '' );
		if ( null !== $start_utc ) {
			$end_utc = self::datetime( $handed['end_utc'] ?? '' );
			return array(
				'keys'      => array(
					'start_utc' => $start_utc,
					'end_utc'   => null !== $end_utc && $end_utc > $start_utc ? $end_utc : null,
				),
				'timestamp' => ( new DateTimeImmutable( $start_utc, $utc ) )->getTimestamp(),
				'zone'      => $zone,
			);
		}

		$start = self::moment( $handed['start'] ?? ( $handed['_start_time'] ?? '' ), $zone );
		if ( null === $start ) {
			return $none;
		}
		$end = self::moment( $handed['end'] ?? ( $handed['_end_time'] ?? '' ), $zone );
		if ( null === $end && isset( $handed['_duration'] ) && is_numeric( $handed['_duration'] ) && (int) $handed['_duration'] > 0 ) {
			$end = array(
				'at'       => $start['at']->modify( '+' . (int) $handed['_duration'] . ' minutes' ),
				'explicit' => $start['explicit'],
			);
		}
		if ( null !== $end && $end['at'] <= $start['at'] ) {
			$end = null;
		}

		if ( $start['explicit'] || ( null !== $end && $end['explicit'] ) ) {
			$keys = array(
				'start_utc' => $start['at']->setTimezone( $utc )->format( 'Y-m-d H:i:s' ),
				'end_utc'   => null !== $end ? $end['at']->setTimezone( $utc )->format( 'Y-m-d H:i:s' ) : null,
			);
		} else {
			$keys = array(
				'start'    => $start['at']->format( 'Y-m-d H:i:s' ),
				'end'      => null !== $end ? $end['at']->format( 'Y-m-d H:i:s' ) : null,
				'timezone' => '' !== $tz_name ? $tz_name : null,
			);
		}
		return array(
			'keys'      => $keys,
			'timestamp' => $start['at']->getTimestamp(),
			'zone'      => $zone,
		);
	}

	/**
	 * Parses a local 'Y-m-d H:i(:s)' (in $zone) or an ISO 8601 time with offset.
	 *
	 * @param mixed        $value Time.
	 * @param DateTimeZone $zone  Zone of local times.
	 * @return array{at: DateTimeImmutable, explicit: bool}|null
	 */
	private static function moment( $value, DateTimeZone $zone ) {
		$value = is_string( $value ) ? trim( $value ) : '';
		if ( '' === $value ) {
			return null;
		}
		try {
			if ( preg_match( '/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i', $value ) ) {
				return array(
					'at'       => new DateTimeImmutable( $value ),
					'explicit' => true,
				);
			}
			$local = self::datetime( $value );
			if ( null !== $local ) {
				return array(
					'at'       => new DateTimeImmutable( $local, $zone ),
					'explicit' => false,
				);
			}
		} catch ( \Throwable $e ) {
			return null;
		}
		return null;
	}

	/**
	 * A 'Y-m-d H:i:s' string from a date-time column value, or null when empty/zero/invalid.
	 *
	 * @param mixed $value Value.
	 * @return string|null
	 */
	private static function datetime( $value ) {
		$value = is_string( $value ) ? trim( $value ) : '';
		if ( ! preg_match( self::DATETIME_PATTERN, $value ) || 0 === strpos( $value, '0000-00-00' ) ) {
			return null;
		}
		$value = str_replace( 'T', ' ', $value );
		return 16 === strlen( $value ) ? $value . ':00' : $value;
	}

	/**
	 * The zone local times are in when the appointment names none: the doctor's `timezone` user
	 * meta, else the site's.
	 *
	 * @param int $doctor_id Doctor.
	 * @return DateTimeZone
	 */
	private static function default_zone( $doctor_id ) {
		if ( (int) $doctor_id > 0 ) {
			$name = self::normalize_timezone( get_user_meta( (int) $doctor_id, 'timezone', true ) );
			if ( '' !== $name ) {
				return new DateTimeZone( $name );
			}
		}
		return wp_timezone();
	}

	/**
	 * The appointment's services with whether each is a telemed service for its doctor and clinic.
	 *
	 * @param int $appointment_id Appointment.
	 * @param int $doctor_id      Doctor.
	 * @param int $clinic_id      Clinic.
	 * @return array|null List of `['service_id', 'name', 'telemed']`; null when unreadable.
	 */
	private static function services( $appointment_id, $doctor_id, $clinic_id ) {
		global $wpdb;
		$p    = $wpdb->prefix;
		$rows = self::quietly(
			static function () use ( $wpdb, $p, $appointment_id, $doctor_id, $clinic_id ) {
				// phpcs:disable WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching,WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- KiviCare's tables; fresh read needed.
				return $wpdb->get_results(
					$wpdb->prepare(
						"SELECT asm.service_id AS service_id, COALESCE(s.name, '') AS name,
							MAX(CASE WHEN sdm.telemed_service = 'yes' THEN 1 ELSE 0 END) AS telemed
						FROM `{$p}kc_appointment_service_mapping` asm
						LEFT JOIN `{$p}kc_service_doctor_mapping` sdm
							ON sdm.service_id = asm.service_id AND sdm.doctor_id = %d AND sdm.clinic_id = %d
						LEFT JOIN `{$p}kc_services` s ON s.id = asm.service_id
						WHERE asm.appointment_id = %d
						GROUP BY asm.service_id, s.name
						ORDER BY MIN(asm.id)",
						$doctor_id,
						$clinic_id,
						$appointment_id
					),
					ARRAY_A
				);
				// phpcs:enable
			}
		);
		if ( ! is_array( $rows ) ) {
			return null;
		}
		$services = array();
		foreach ( $rows as $row ) {
			$services[] = array(
				'service_id' => (int) $row['service_id'],
				'name'       => trim( (string) $row['name'] ),
				'telemed'    => 1 === (int) $row['telemed'],
			);
		}
		return $services;
	}

	/**
	 * A clinic row (name and address parts), or null.
	 *
	 * @param int $clinic_id Clinic.
	 * @return array|null
	 */
	private static function clinic( $clinic_id ) {
		global $wpdb;
		if ( (int) $clinic_id <= 0 ) {
			return null;
		}
		$table = $wpdb->prefix . 'kc_clinics';
		$row   = self::quietly(
			static function () use ( $wpdb, $table, $clinic_id ) {
				// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching,WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- KiviCare's table.
				return $wpdb->get_row( $wpdb->prepare( "SELECT name, address, city, postal_code, country FROM `{$table}` WHERE id = %d", (int) $clinic_id ), ARRAY_A );
			}
		);
		return is_array( $row ) ? $row : null;
	}

	/**
	 * "address, city, postal code, country" without the empty parts.
	 *
	 * @param array $clinic Clinic row.
	 * @return string
	 */
	private static function clinic_address( array $clinic ) {
		$parts = array();
		foreach ( array( 'address', 'city', 'postal_code', 'country' ) as $key ) {
			$part = trim( (string) ( $clinic[ $key ] ?? '' ) );
			if ( '' !== $part ) {
				$parts[] = $part;
			}
		}
		return implode( ', ', $parts );
	}

	/**
	 * Trimmed, non-empty, unique strings.
	 *
	 * @param mixed $values Values.
	 * @return string[]
	 */
	private static function clean_list( $values ) {
		$clean = array();
		foreach ( (array) $values as $value ) {
			if ( is_scalar( $value ) ) {
				$value = trim( (string) $value );
				if ( '' !== $value ) {
					$clean[] = $value;
				}
			}
		}
		return array_values( array_unique( $clean ) );
	}

	/**
	 * Contract keys only, with their types; null, '' and [] dropped.
	 *
	 * @param array $data Data.
	 * @return array
	 */
	private static function sanitize( array $data ) {
		$clean = array();
		foreach ( self::KEYS as $key ) {
			if ( ! array_key_exists( $key, $data ) || null === $data[ $key ] ) {
				continue;
			}
			$value = $data[ $key ];
			switch ( $key ) {
				case 'doctor_id':
				case 'patient_id':
				case 'clinic_id':
					$value = is_numeric( $value ) && (int) $value > 0 ? (int) $value : null;
					break;
				case 'status':
					$value = is_numeric( $value ) && (int) $value >= 0 && (int) $value <= 4 ? (int) $value : null;
					break;
				case 'telemed':
					$value = (bool) $value;
					break;
				case 'services':
					$value = self::clean_list( $value );
					break;
				default:
					$value = is_scalar( $value ) ? trim( (string) $value ) : null;
			}
			if ( null === $value || '' === $value || array() === $value ) {
				continue;
			}
			$clean[ $key ] = $value;
		}
		return $clean;
	}

	/**
	 * Runs a $wpdb read with errors suppressed (a missing KiviCare table is not our error).
	 *
	 * @param callable $read Read.
	 * @return mixed The read's result; null when the query failed.
	 */
	private static function quietly( callable $read ) {
		global $wpdb;
		$previous = $wpdb->suppress_errors( true );
		try {
			$result = $read();
			$failed = '' !== (string) $wpdb->last_error;
		} finally {
			$wpdb->suppress_errors( $previous );
		}
		return $failed ? null : $result;
	}
}
