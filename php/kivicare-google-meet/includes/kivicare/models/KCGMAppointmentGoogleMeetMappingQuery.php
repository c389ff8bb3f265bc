<?php
/**
 * Query builder of KCGMAppointmentGoogleMeetMapping.
 *
 * @package KC_Meet
 */

namespace KCGMApp\models;

defined( 'ABSPATH' ) || exit;

/**
 * A small fluent query over the mapping table, for KiviCare core 4.x (see
 * {@see KCGMAppointmentGoogleMeetMapping} for the calls it was written for).
 *
 * Supported: `where($column, $value)`, `where($column, $operator, $value)` (operators `=`, `!=`,
 * `<>`, `>`, `>=`, `<`, `<=`, `in`, `not in`, `like`), `where([$column => $value, …])`,
 * `whereIn()`, `select([...])` / `select('a', 'b')`, `orderBy()`, `limit()`/`take()`,
 * `offset()`/`skip()`, `get()` (list of models), `first()`, `count()`, `exists()`, `pluck()`,
 * `delete()` (removes the Google events through `kc_meet_delete_event()`; returns how many).
 * Column names may be camelCase (`appointmentId`, `eventId`, `eventUrl`, `createdAt`) or the real
 * snake_case names; an unknown column matches nothing (never reaches SQL).
 *
 * When the query filters on `appointment_id` with `=` or `in`, rows come from
 * `kc_meet_mapping()` (the extension's connection: it sees what the extension committed even while
 * WordPress's connection is inside core's transaction); otherwise, or after `fromTable()`, from
 * the table through `$wpdb`. Other conditions are applied to those rows the same way in both cases.
 */
class KCGMAppointmentGoogleMeetMappingQuery {

	/**
	 * Operators.
	 *
	 * @var string[]
	 */
	const OPERATORS = array( '=', '!=', '<>', '>', '>=', '<', '<=', 'in', 'not in', 'like' );

	/**
	 * Conditions: list of [column, operator, value].
	 *
	 * @var array[]
	 */
	private $wheres = array();

	/**
	 * Whether a condition can never match (unknown column or operator).
	 *
	 * @var bool
	 */
	private $impossible = false;

	/**
	 * Selected columns (null: all).
	 *
	 * @var string[]|null
	 */
	private $columns = null;

	/**
	 * Order: list of [column, 'ASC'|'DESC'].
	 *
	 * @var array[]
	 */
	private $orders = array();

	/**
	 * Limit (null: none).
	 *
	 * @var int|null
	 */
	private $limit = null;

	/**
	 * Offset.
	 *
	 * @var int
	 */
	private $offset = 0;

	/**
	 * Whether to read the table through $wpdb even for appointment ids.
	 *
	 * @var bool
	 */
	private $from_table = false;

	/**
	 * Adds a condition.
	 *
	 * @param string|array $column   Column, or [column => value, …].
	 * @param mixed        $operator Operator, or the value when only two arguments are given.
	 * @param mixed        $value    Value.
	 * @return $this
	 */
	public function where( $column, $operator = null, $value = null ) {
		if ( is_array( $column ) ) {
			foreach ( $column as $name => $expected ) {
				$this->add_condition( (string) $name, '=', $expected );
			}
			return $this;
		}
		if ( 2 === func_num_args() ) {
			$value    = $operator;
			$operator = '=';
		}
		$this->add_condition( (string) $column, strtolower( trim( (string) $operator ) ), $value );
		return $this;
	}

	/**
	 * Adds an IN condition.
	 *
	 * @param string $column Column.
	 * @param array  $values Values.
	 * @return $this
	 */
	public function whereIn( $column, $values ) { // phpcs:ignore WordPress.NamingConventions.ValidFunctionName.MethodNameInvalid -- query-builder API.
		$this->add_condition( (string) $column, 'in', (array) $values );
		return $this;
	}

	/**
	 * Selects columns.
	 *
	 * @param mixed ...$columns Names, or one array of names; '*' for all.
	 * @return $this
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
			$column = KCGMAppointmentGoogleMeetMapping::column( (string) $name );
			if ( null !== $column ) {
				$selected[] = $column;
			}
		}
		$this->columns = array_values( array_unique( $selected ) );
		return $this;
	}

	/**
	 * Orders the rows.
	 *
	 * @param string $column    Column.
	 * @param string $direction ASC|DESC.
	 * @return $this
	 */
	public function orderBy( $column, $direction = 'ASC' ) { // phpcs:ignore WordPress.NamingConventions.ValidFunctionName.MethodNameInvalid -- query-builder API.
		$column = KCGMAppointmentGoogleMeetMapping::column( (string) $column );
		if ( null !== $column ) {
			$this->orders[] = array( $column, 'DESC' === strtoupper( (string) $direction ) ? 'DESC' : 'ASC' );
		}
		return $this;
	}

	/**
	 * Limits the rows.
	 *
	 * @param int $limit Limit.
	 * @return $this
	 */
	public function limit( $limit ) {
		$this->limit = max( 0, (int) $limit );
		return $this;
	}

	/**
	 * Alias of limit().
	 *
	 * @param int $limit Limit.
	 * @return $this
	 */
	public function take( $limit ) {
		return $this->limit( $limit );
	}

	/**
	 * Skips rows.
	 *
	 * @param int $offset Offset.
	 * @return $this
	 */
	public function offset( $offset ) {
		$this->offset = max( 0, (int) $offset );
		return $this;
	}

	/**
	 * Alias of offset().
	 *
	 * @param int $offset Offset.
	 * @return $this
	 */
	public function skip( $offset ) {
		return $this->offset( $offset );
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
	 * The matching mappings.
	 *
	 * @return KCGMAppointmentGoogleMeetMapping[]
	 */
	public function get() {
		$models = array();
		foreach ( $this->rows() as $row ) {
			if ( null !== $this->columns ) {
				$row = array_intersect_key( $row, array_flip( $this->columns ) );
			}
			$models[] = new KCGMAppointmentGoogleMeetMapping( $row );
		}
		return $models;
	}

	/**
	 * The first matching mapping, or null.
	 *
	 * @return KCGMAppointmentGoogleMeetMapping|null
	 */
	public function first() {
		$query        = clone $this;
		$query->limit = 1;
		$models       = $query->get();
		return $models[0] ?? null;
	}

	/**
	 * How many mappings match.
	 *
	 * @return int
	 */
	public function count() {
		return count( $this->rows() );
	}

	/**
	 * Whether any mapping matches.
	 *
	 * @return bool
	 */
	public function exists() {
		return null !== $this->first();
	}

	/**
	 * One column of the matching mappings.
	 *
	 * @param string $column Column.
	 * @return array
	 */
	public function pluck( $column ) {
		$column = KCGMAppointmentGoogleMeetMapping::column( (string) $column );
		if ( null === $column ) {
			return array();
		}
		return array_map(
			static function ( $row ) use ( $column ) {
				return $row[ $column ] ?? null;
			},
			$this->rows()
		);
	}

	/**
	 * Removes the Google events of the matching appointments (`kc_meet_delete_event()`, which
	 * also removes the mapping rows). Failures are recorded and skipped, never thrown.
	 *
	 * @return int How many appointments' events were removed.
	 */
	public function delete() {
		$query          = clone $this;
		$query->columns = null;
		$ids            = array();
		foreach ( $query->rows() as $row ) {
			if ( (int) ( $row['appointment_id'] ?? 0 ) > 0 ) {
				$ids[ (int) $row['appointment_id'] ] = true;
			}
		}
		$deleted = 0;
		foreach ( array_keys( $ids ) as $appointment_id ) {
			try {
				$result = \KC_Meet_Events::delete( $appointment_id, 'model' );
				if ( \KC_Meet_Event_Result::is_success( $result ) ) {
					++$deleted;
				}
			} catch ( \Throwable $e ) {
				unset( $e ); // Recorded by KC_Meet_Events.
			}
		}
		return $deleted;
	}

	/**
	 * Matching rows (arrays keyed by column), ordered and limited.
	 *
	 * @return array[]
	 */
	private function rows() {
		if ( $this->impossible ) {
			return array();
		}
		$ids  = $this->from_table ? null : $this->appointment_ids();
		$rows = null !== $ids ? $this->mapping_rows( $ids ) : $this->table_rows();
		$rows = array_values( array_filter( $rows, array( $this, 'matches' ) ) );
		if ( ! empty( $this->orders ) ) {
			usort( $rows, array( $this, 'compare_rows' ) );
		}
		return array_slice( $rows, $this->offset, $this->limit );
	}

	/**
	 * Appointment ids of the first `appointment_id` = / in condition, or null.
	 *
	 * @return int[]|null
	 */
	private function appointment_ids() {
		foreach ( $this->wheres as $where ) {
			list( $column, $operator, $value ) = $where;
			if ( 'appointment_id' !== $column || ! in_array( $operator, array( '=', 'in' ), true ) ) {
				continue;
			}
			$ids = array();
			foreach ( (array) $value as $id ) {
				if ( is_numeric( $id ) && (int) $id > 0 ) {
					$ids[] = (int) $id;
				}
			}
			return array_values( array_unique( $ids ) );
		}
		return null;
	}

	/**
	 * Rows from kc_meet_mapping() (through KC_Meet_Events, cached for the request).
	 *
	 * @param int[] $ids Appointment ids.
	 * @return array[]
	 */
	private function mapping_rows( array $ids ) {
		$rows = array();
		foreach ( $ids as $id ) {
			$mapping = \KC_Meet_Events::mapping( $id );
			if ( is_array( $mapping ) ) {
				$row = array_fill_keys( KCGMAppointmentGoogleMeetMapping::COLUMNS, null );
				foreach ( $mapping as $name => $value ) {
					if ( array_key_exists( $name, $row ) ) {
						$row[ $name ] = $value;
					}
				}
				$rows[] = $row;
			}
		}
		return $rows;
	}

	/**
	 * Rows from the table through $wpdb (conditions in SQL, prepared; missing table → none).
	 *
	 * @return array[]
	 */
	private function table_rows() {
		global $wpdb;
		$table  = KCGMAppointmentGoogleMeetMapping::table_name();
		$sql    = array();
		$params = array();
		foreach ( $this->wheres as $where ) {
			list( $column, $operator, $value ) = $where;
			if ( 'in' === $operator || 'not in' === $operator ) {
				$values = array_values( array_filter( (array) $value, 'is_scalar' ) );
				if ( empty( $values ) ) {
					if ( 'in' === $operator ) {
						return array();
					}
					continue;
				}
				$sql[]  = "`{$column}` " . strtoupper( $operator ) . ' (' . implode( ', ', array_fill( 0, count( $values ), '%s' ) ) . ')';
				$params = array_merge( $params, array_map( 'strval', $values ) );
			} elseif ( null === $value ) {
				$sql[] = "`{$column}` IS " . ( in_array( $operator, array( '!=', '<>' ), true ) ? 'NOT NULL' : 'NULL' );
			} else {
				$sql[]    = "`{$column}` " . strtoupper( $operator ) . ' %s';
				$params[] = is_scalar( $value ) ? (string) $value : '';
			}
		}
		$query = "SELECT * FROM `{$table}`" . ( $sql ? ' WHERE ' . implode( ' AND ', $sql ) : '' ) . ' ORDER BY id ASC';
		if ( ! empty( $params ) ) {
			$query = $wpdb->prepare( $query, $params ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared -- columns and operators are whitelisted, values are placeholders.
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
	 * Whether a row meets every condition.
	 *
	 * @param array $row Row.
	 * @return bool
	 */
	private function matches( array $row ) {
		foreach ( $this->wheres as $where ) {
			list( $column, $operator, $expected ) = $where;
			$actual                              = $row[ $column ] ?? null;
			switch ( $operator ) {
				case 'in':
				case 'not in':
					$found = false;
					foreach ( (array) $expected as $candidate ) {
						if ( is_scalar( $candidate ) && null !== $actual && 0 === self::compare( $actual, $candidate ) ) {
							$found = true;
							break;
						}
					}
					$ok = 'in' === $operator ? $found : ! $found;
					break;
				case 'like':
					$pattern = '/^' . str_replace( array( '%', '_' ), array( '.*', '.' ), preg_quote( (string) $expected, '/' ) ) . '$/is';
					$ok      = null !== $actual && 1 === preg_match( $pattern, (string) $actual );
					break;
				default:
					if ( null === $expected || null === $actual ) {
						$same = null === $expected && null === $actual;
						$ok   = in_array( $operator, array( '!=', '<>' ), true ) ? ! $same : ( '=' === $operator && $same );
						break;
					}
					$cmp = self::compare( $actual, $expected );
					$ok  = ( '=' === $operator && 0 === $cmp ) || ( in_array( $operator, array( '!=', '<>' ), true ) && 0 !== $cmp )
						|| ( '>' === $operator && $cmp > 0 ) || ( '>=' === $operator && $cmp >= 0 )
						|| ( '<' === $operator && $cmp < 0 ) || ( '<=' === $operator && $cmp <= 0 );
			}
			if ( ! $ok ) {
				return false;
			}
		}
		return true;
	}

	/**
	 * usort() callback for orderBy().
	 *
	 * @param array $a Row.
	 * @param array $b Row.
	 * @return int
	 */
	private function compare_rows( array $a, array $b ) {
		foreach ( $this->orders as $order ) {
			list( $column, $direction ) = $order;
			$cmp                        = self::compare( $a[ $column ] ?? '', $b[ $column ] ?? '' );
			if ( 0 !== $cmp ) {
				return 'DESC' === $direction ? -$cmp : $cmp;
			}
		}
		return 0;
	}

	/**
	 * Compares two scalars like MySQL would: numerically when both are numeric.
	 *
	 * @param mixed $a Value.
	 * @param mixed $b Value.
	 * @return int
	 */
	private static function compare( $a, $b ) {
		if ( is_numeric( $a ) && is_numeric( $b ) ) {
			return (float) $a <=> (float) $b;
		}
		return strcasecmp( (string) $a, (string) $b );
	}

	/**
	 * Adds a condition, or marks the query impossible for an unknown column/operator.
	 *
	 * @param string $name     Column name.
	 * @param string $operator Operator.
	 * @param mixed  $value    Value.
	 * @return void
	 */
	private function add_condition( $name, $operator, $value ) {
		$column = KCGMAppointmentGoogleMeetMapping::column( $name );
		if ( null === $column || ! in_array( $operator, self::OPERATORS, true ) || ( ! is_scalar( $value ) && null !== $value && ! in_array( $operator, array( 'in', 'not in' ), true ) ) ) {
			$this->impossible = true;
			return;
		}
		$this->wheres[] = array( $column, $operator, $value );
	}
}
