<?php
/**
 * Query builder of KCGMAppointmentGoogleMeetMapping.
 *
 * @package KC_Meet
 */

namespace KCGMApp\models;

defined( 'ABSPATH' ) || exit;

/**
 * The query KiviCare core 4.x (4.0 – 4.3) makes on the mapping table through the add-on's model
 * class, and nothing more:
 * - `query()->where('appointmentId', $id)->first()` (`KCAppointment::getGoogleMeet()`, the
 *   notification e-mails' Meet link and event link);
 * - `query()->select(['eventId'])->where('appointmentId', $id)->first()` (the reschedule path);
 * - the plugin's own `where('event_id', $id)->first()` (the provider) and
 *   `fromTable()->where('appointment_id', $id)->first()`.
 *
 * `where($column, $value)`, `where($column, '=', $value)` and `where([$column => $value, …])`
 * (equality only, ANDed); `select(…)`; `first()` (one row: `LIMIT 1`) and `get()` (every row).
 * Column names may be camelCase (`appointmentId`, `eventId`, `eventUrl`, `createdAt`) or the real
 * snake_case names. An unknown column or another operator is a programming error: it throws
 * `\InvalidArgumentException` instead of quietly matching nothing or everything.
 *
 * Rows come in table order (`ORDER BY id`: core reads the first row per appointment). When the
 * only condition is `appointment_id`, the row comes from `kc_meet_mapping()` — the extension's
 * connection sees what the extension committed even while WordPress's connection is inside
 * core's transaction — unless `fromTable()` asks for `$wpdb`; otherwise one SQL query through
 * `$wpdb` does the filtering and the limit.
 */
class KCGMAppointmentGoogleMeetMappingQuery {

	/**
	 * Conditions: column => value (equality).
	 *
	 * @var array<string, mixed>
	 */
	private $wheres = array();

	/**
	 * Selected columns (null: all).
	 *
	 * @var string[]|null
	 */
	private $columns = null;

	/**
	 * Whether two conditions contradict each other (nothing matches).
	 *
	 * @var bool
	 */
	private $contradictory = false;

	/**
	 * Whether to read the table through $wpdb even for an appointment id.
	 *
	 * @var bool
	 */
	private $from_table = false;

	/**
	 * Adds an equality condition.
	 *
	 * @param string|array $column   Column, or [column => value, …].
	 * @param mixed        $operator '=', or the value when only two arguments are given.
	 * @param mixed        $value    Value.
	 * @return $this
	 * @throws \InvalidArgumentException For an unknown column, another operator or a non-scalar value.
	 */
	public function where( $column, $operator = null, $value = null ) {
		if ( is_array( $column ) ) {
			foreach ( $column as $name => $expected ) {
				$this->add_condition( (string) $name, $expected );
			}
			return $this;
		}
		if ( 2 === func_num_args() ) {
			$value = $operator;
		} elseif ( '=' !== trim( (string) $operator ) ) {
			throw new \InvalidArgumentException( esc_html( sprintf( 'KCGMAppointmentGoogleMeetMapping: only "=" conditions are supported, not "%s".', (string) $operator ) ) );
		}
		$this->add_condition( (string) $column, $value );
		return $this;
	}

	/**
	 * Selects columns.
	 *
	 * @param mixed ...$columns Names, or one array of names; '*' for all.
	 * @return $this
	 * @throws \InvalidArgumentException For an unknown column.
	 */
	public function select( ...$columns ) {
		if ( 1 === count( $columns ) && is_array( $columns[0] ) ) {
			$columns = $columns[0];
		}
		$selected = array();
		foreach ( $columns as $name ) {
			if ( '*' === $name ) {
				$this->columns = null;
				return $this;
			}
			$selected[] = self::column_of( (string) $name );
		}
		$this->columns = array_values( array_unique( $selected ) );
		return $this;
	}

	/**
	 * Reads the table through $wpdb even when filtering by appointment id.
	 *
	 * @return $this
	 */
	public function fromTable() { // phpcs:ignore WordPress.NamingConventions.ValidFunctionName.MethodNameInvalid -- query-builder API.
		$this->from_table = true;
		return $this;
	}

	/**
	 * The first matching mapping (lowest row id), or null.
	 *
	 * @return KCGMAppointmentGoogleMeetMapping|null
	 */
	public function first() {
		$models = $this->models( 1 );
		return $models[0] ?? null;
	}

	/**
	 * Every matching mapping, in table order.
	 *
	 * @return KCGMAppointmentGoogleMeetMapping[]
	 */
	public function get() {
		return $this->models( null );
	}

	/**
	 * Matching rows as models.
	 *
	 * @param int|null $limit At most this many (null: all).
	 * @return KCGMAppointmentGoogleMeetMapping[]
	 */
	private function models( $limit ) {
		if ( $this->contradictory ) {
			return array();
		}
		$rows   = $this->uses_extension() ? $this->mapping_rows() : $this->table_rows( $limit );
		$models = array();
		foreach ( $rows as $row ) {
			if ( null !== $this->columns ) {
				$row = array_intersect_key( $row, array_flip( $this->columns ) );
			}
			$models[] = new KCGMAppointmentGoogleMeetMapping( $row );
		}
		return $models;
	}

	/**
	 * Whether the row comes from kc_meet_mapping(): the only condition is an appointment id.
	 *
	 * @return bool
	 */
	private function uses_extension() {
		return ! $this->from_table && array( 'appointment_id' ) === array_keys( $this->wheres );
	}

	/**
	 * The appointment's mapping from kc_meet_mapping() (through KC_Meet_Events, which falls back
	 * to $wpdb when the extension cannot answer).
	 *
	 * @return array[]
	 */
	private function mapping_rows() {
		$id = $this->wheres['appointment_id'];
		if ( ! is_numeric( $id ) || (int) $id <= 0 ) {
			return array();
		}
		$mapping = \KC_Meet_Events::mapping( (int) $id );
		if ( ! is_array( $mapping ) ) {
			return array();
		}
		return array( array_intersect_key( $mapping, array_flip( KCGMAppointmentGoogleMeetMapping::COLUMNS ) ) );
	}

	/**
	 * Rows from the table through $wpdb: conditions, order and limit in one prepared query (a
	 * missing table or column: none).
	 *
	 * @param int|null $limit At most this many (null: all).
	 * @return array[]
	 */
	private function table_rows( $limit ) {
		global $wpdb;
		$table  = KCGMAppointmentGoogleMeetMapping::table_name();
		$sql    = array();
		$params = array();
		foreach ( $this->wheres as $column => $value ) {
			if ( null === $value ) {
				$sql[] = "`{$column}` IS NULL";
			} else {
				$sql[]    = "`{$column}` = %s";
				$params[] = (string) $value;
			}
		}
		$query = "SELECT * FROM `{$table}`" . ( $sql ? ' WHERE ' . implode( ' AND ', $sql ) : '' ) . ' ORDER BY id ASC'
			. ( null !== $limit ? ' LIMIT ' . (int) $limit : '' );
		if ( ! empty( $params ) ) {
			$query = $wpdb->prepare( $query, $params ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared -- columns are whitelisted, values are placeholders.
		}
		$previous = $wpdb->suppress_errors( true );
		try {
			$rows = $wpdb->get_results( $query, ARRAY_A ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching,WordPress.DB.PreparedSQL.NotPrepared -- prepared above.
		} finally {
			$wpdb->suppress_errors( $previous );
		}
		return is_array( $rows ) ? $rows : array();
	}

	/**
	 * Adds an equality condition (a second one on the same column must agree with the first).
	 *
	 * @param string $name  Column name.
	 * @param mixed  $value Value.
	 * @return void
	 * @throws \InvalidArgumentException For an unknown column or a non-scalar value.
	 */
	private function add_condition( $name, $value ) {
		$column = self::column_of( $name );
		if ( null !== $value && ! is_scalar( $value ) ) {
			throw new \InvalidArgumentException( esc_html( sprintf( 'KCGMAppointmentGoogleMeetMapping: the value of "%s" must be a scalar.', $name ) ) );
		}
		if ( array_key_exists( $column, $this->wheres ) && $this->wheres[ $column ] !== $value && (string) $this->wheres[ $column ] !== (string) $value ) {
			$this->contradictory = true; // Two different values for one column: nothing matches.
		}
		$this->wheres[ $column ] = $value;
	}

	/**
	 * The column of a name (camelCase or snake_case).
	 *
	 * @param string $name Name.
	 * @return string
	 * @throws \InvalidArgumentException For an unknown column.
	 */
	private static function column_of( $name ) {
		$column = KCGMAppointmentGoogleMeetMapping::column( $name );
		if ( null === $column ) {
			throw new \InvalidArgumentException( esc_html( sprintf( 'KCGMAppointmentGoogleMeetMapping has no column "%s".', $name ) ) );
		}
		return $column;
	}
}
