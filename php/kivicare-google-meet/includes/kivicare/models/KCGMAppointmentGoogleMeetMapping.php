<?php
/**
 * KiviCare 4.x's view of the mapping table.
 *
 * @package KC_Meet
 */

namespace KCGMApp\models;

defined( 'ABSPATH' ) || exit;

/**
 * One row of `{prefix}kc_appointment_google_meet_mappings`, under the class name the vendor's
 * 4.x add-on used, because KiviCare core 4.x reads the table only through it and without checking
 * that it exists. Autoloaded by {@see \KC_Meet_Autoloader} whenever the plugin is active.
 *
 * What core 4.0.3 – 4.3.0 calls (see {@see KCGMAppointmentGoogleMeetMappingQuery}, which does
 * exactly that, in SQL):
 * - `KCAppointment::getGoogleMeet()` and the notification e-mails:
 *   `KCGMAppointmentGoogleMeetMapping::query()->where('appointmentId', $id)->first()`, then
 *   `->url`, `->eventUrl`, `->eventId`, `->appointmentId`, `->password`, `->createdAt`;
 * - the reschedule path: `::query()->select(['eventId'])->where('appointmentId', $id)->first()`
 *   followed by `->eventId` (camelCase column names are mapped to the real snake_case columns —
 *   in the vendor's add-on this threw and the event was never moved).
 *
 * Properties exist in both spellings (`appointmentId` / `appointment_id`, `eventId` /
 * `event_id`, `eventUrl` / `event_url`, `createdAt` / `created_at`; `id`, `url`, `password`,
 * `extra`). Reads by appointment id go through `kc_meet_mapping()` (so core sees what the
 * extension wrote, even inside core's own transaction); other reads through `$wpdb`. Rows are
 * written and removed only by the extension: there is no save() or delete().
 *
 * Static calls of query methods are forwarded to a new query (`::where(...)`, `::get()`, …).
 */
class KCGMAppointmentGoogleMeetMapping implements \ArrayAccess, \JsonSerializable {

	/**
	 * Table name without the prefix.
	 *
	 * @var string
	 */
	const TABLE = 'kc_appointment_google_meet_mappings';

	/**
	 * Real columns (1.x tables lack created_at and extra).
	 *
	 * @var string[]
	 */
	const COLUMNS = array( 'id', 'appointment_id', 'event_id', 'url', 'password', 'event_url', 'created_at', 'extra' );

	/**
	 * camelCase names core uses → columns.
	 *
	 * @var array<string, string>
	 */
	const ALIASES = array(
		'appointmentId' => 'appointment_id',
		'eventId'       => 'event_id',
		'eventUrl'      => 'event_url',
		'createdAt'     => 'created_at',
	);

	/**
	 * Row id (null when read through kc_meet_mapping()).
	 *
	 * @var int|null
	 */
	public $id = null;

	/**
	 * Appointment id.
	 *
	 * @var int|null
	 */
	public $appointment_id = null;

	/**
	 * Appointment id (camelCase).
	 *
	 * @var int|null
	 */
	public $appointmentId = null; // phpcs:ignore WordPress.NamingConventions.ValidVariableName.PropertyNotSnakeCase -- core's name.

	/**
	 * Google event id.
	 *
	 * @var string|null
	 */
	public $event_id = null;

	/**
	 * Google event id (camelCase).
	 *
	 * @var string|null
	 */
	public $eventId = null; // phpcs:ignore WordPress.NamingConventions.ValidVariableName.PropertyNotSnakeCase -- core's name.

	/**
	 * Meet link.
	 *
	 * @var string|null
	 */
	public $url = null;

	/**
	 * Always ''.
	 *
	 * @var string|null
	 */
	public $password = null;

	/**
	 * Google Calendar link.
	 *
	 * @var string|null
	 */
	public $event_url = null;

	/**
	 * Google Calendar link (camelCase).
	 *
	 * @var string|null
	 */
	public $eventUrl = null; // phpcs:ignore WordPress.NamingConventions.ValidVariableName.PropertyNotSnakeCase -- core's name.

	/**
	 * Creation time.
	 *
	 * @var string|null
	 */
	public $created_at = null;

	/**
	 * Creation time (camelCase).
	 *
	 * @var string|null
	 */
	public $createdAt = null; // phpcs:ignore WordPress.NamingConventions.ValidVariableName.PropertyNotSnakeCase -- core's name.

	/**
	 * Extra data (4.x tables).
	 *
	 * @var string|null
	 */
	public $extra = null;

	/**
	 * A model from a row (columns or camelCase names; unknown keys ignored).
	 *
	 * @param array $row Row.
	 */
	public function __construct( array $row = array() ) {
		foreach ( $row as $name => $value ) {
			$column = self::column( (string) $name );
			if ( null === $column ) {
				continue;
			}
			if ( null !== $value && in_array( $column, array( 'id', 'appointment_id' ), true ) ) {
				$value = (int) $value;
			} elseif ( null !== $value && ! is_scalar( $value ) ) {
				continue;
			} elseif ( null !== $value ) {
				$value = (string) $value;
			}
			$this->set( $column, $value );
		}
	}

	/**
	 * A new query.
	 *
	 * @return KCGMAppointmentGoogleMeetMappingQuery
	 */
	public static function query() {
		return new KCGMAppointmentGoogleMeetMappingQuery();
	}

	/**
	 * Forwards static query calls (`::where(...)`, `::get()`, …) to a new query.
	 *
	 * @param string $name      Method.
	 * @param array  $arguments Arguments.
	 * @return mixed
	 * @throws \BadMethodCallException For anything that is not a query method.
	 */
	public static function __callStatic( $name, $arguments ) {
		$query = self::query();
		if ( ! is_callable( array( $query, $name ) ) ) {
			throw new \BadMethodCallException( esc_html( 'Unknown method ' . __CLASS__ . '::' . $name ) );
		}
		return $query->$name( ...$arguments );
	}

	/**
	 * The mapping table of the current site.
	 *
	 * @return string
	 */
	public static function table_name() {
		global $wpdb;
		return $wpdb->prefix . self::TABLE;
	}

	/**
	 * Column of a name (camelCase or snake_case), or null when unknown.
	 *
	 * @param string $name Name.
	 * @return string|null
	 */
	public static function column( $name ) {
		$name = (string) $name;
		if ( isset( self::ALIASES[ $name ] ) ) {
			return self::ALIASES[ $name ];
		}
		return in_array( $name, self::COLUMNS, true ) ? $name : null;
	}

	/**
	 * Value of a column (either spelling).
	 *
	 * @param string $name Name.
	 * @return mixed
	 */
	public function getAttribute( $name ) { // phpcs:ignore WordPress.NamingConventions.ValidFunctionName.MethodNameInvalid -- model API.
		$column = self::column( $name );
		return null === $column ? null : $this->$column;
	}

	/**
	 * Columns as an array (snake_case).
	 *
	 * @return array
	 */
	public function toArray() { // phpcs:ignore WordPress.NamingConventions.ValidFunctionName.MethodNameInvalid -- model API.
		$row = array();
		foreach ( self::COLUMNS as $column ) {
			$row[ $column ] = $this->$column;
		}
		return $row;
	}

	/**
	 * Unknown properties read as null (no warnings in core).
	 *
	 * @param string $name Name.
	 * @return mixed
	 */
	public function __get( $name ) {
		return $this->getAttribute( $name );
	}

	/**
	 * Whether a known property is set.
	 *
	 * @param string $name Name.
	 * @return bool
	 */
	public function __isset( $name ) {
		return null !== $this->getAttribute( $name );
	}

	/**
	 * JSON: the columns, both spellings.
	 *
	 * @return array
	 */
	#[\ReturnTypeWillChange]
	public function jsonSerialize() {
		$data = $this->toArray();
		foreach ( self::ALIASES as $alias => $column ) {
			$data[ $alias ] = $this->$column;
		}
		return $data;
	}

	/**
	 * ArrayAccess: whether a known column is set.
	 *
	 * @param mixed $offset Name.
	 * @return bool
	 */
	#[\ReturnTypeWillChange]
	public function offsetExists( $offset ) {
		return null !== $this->getAttribute( (string) $offset );
	}

	/**
	 * ArrayAccess: a column's value.
	 *
	 * @param mixed $offset Name.
	 * @return mixed
	 */
	#[\ReturnTypeWillChange]
	public function offsetGet( $offset ) {
		return $this->getAttribute( (string) $offset );
	}

	/**
	 * ArrayAccess: read-only.
	 *
	 * @param mixed $offset Name.
	 * @param mixed $value  Value.
	 * @return void
	 */
	#[\ReturnTypeWillChange]
	public function offsetSet( $offset, $value ) {
		unset( $offset, $value );
	}

	/**
	 * ArrayAccess: read-only.
	 *
	 * @param mixed $offset Name.
	 * @return void
	 */
	#[\ReturnTypeWillChange]
	public function offsetUnset( $offset ) {
		unset( $offset );
	}

	/**
	 * Sets a column and its camelCase twin.
	 *
	 * @param string $column Column.
	 * @param mixed  $value  Value.
	 * @return void
	 */
	private function set( $column, $value ) {
		$this->$column = $value;
		$alias         = array_search( $column, self::ALIASES, true );
		if ( false !== $alias ) {
			$this->$alias = $value;
		}
	}
}
