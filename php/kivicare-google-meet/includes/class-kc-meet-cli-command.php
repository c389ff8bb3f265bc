<?php
/**
 * WP-CLI command `wp kc-meet`.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Manages the Google Calendar connections of KiviCare doctors, the kc_meet tables and the
 * appointments' Google Meet events.
 *
 * Failures end with WP_CLI::error() and the extension's message (never a token or secret).
 * See also `wp kc-meet event` ({@see KC_Meet_CLI_Event_Command}), `wp kc-meet jobs`
 * ({@see KC_Meet_CLI_Jobs_Command}) and `wp kc-meet channels` ({@see KC_Meet_CLI_Channels_Command}).
 *
 * ## EXAMPLES
 *
 *     # Show every doctor with a Google connection.
 *     $ wp kc-meet status
 *
 *     # Print the consent URL for doctor "drsmith".
 *     $ wp kc-meet connect-url drsmith
 *
 *     # Fail when the site has problems (for monitoring).
 *     $ wp kc-meet health --strict
 *
 *     # Give every telemedicine appointment of June its event.
 *     $ wp kc-meet backfill --from=2024-06-01 --to=2024-06-30
 *
 *     # Show what the reconcile pass would fix.
 *     $ wp kc-meet reconcile --dry-run
 *
 *     # Pull the changes doctors made in Google Calendar now.
 *     $ wp kc-meet sync
 */
class KC_Meet_CLI_Command extends KC_Meet_CLI_Base {

	/**
	 * Fields of `status`.
	 *
	 * @var string[]
	 */
	const STATUS_FIELDS = array( 'doctor_id', 'doctor', 'status', 'email', 'calendar_id', 'connected_at', 'token_expires_at', 'last_error', 'last_error_at' );

	/**
	 * Fields of `sync`.
	 *
	 * @var string[]
	 */
	const SYNC_FIELDS = array( 'doctor_id', 'doctor', 'pages', 'events_seen', 'changes_applied', 'full', 'remaining', 'skipped', 'error' );

	/**
	 * Default seconds per doctor of `sync` (the extension's default).
	 *
	 * @var float
	 */
	const SYNC_BUDGET = 25.0;

	/**
	 * Shows the Google connection of one doctor, or of every doctor that has one.
	 *
	 * ## OPTIONS
	 *
	 * [<doctor>]
	 * : Doctor's user id, login or e-mail. Without it: every doctor whose status is not
	 * "not_connected".
	 *
	 * [--fields=<fields>]
	 * : Comma-separated fields to show.
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
	 *     $ wp kc-meet status
	 *     $ wp kc-meet status 12 --format=json
	 *     $ wp kc-meet status doctor@example.com
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function status( $args, $assoc_args ) {
		try {
			if ( ! empty( $args[0] ) ) {
				$user     = $this->resolve_doctor( $args[0] );
				$statuses = array( KC_Meet_Native::status( $user->ID ) );
			} else {
				$health   = KC_Meet_Native::health();
				$statuses = array_filter(
					isset( $health['doctors'] ) && is_array( $health['doctors'] ) ? $health['doctors'] : array(),
					static function ( $status ) {
						return is_array( $status ) && 'not_connected' !== ( $status['status'] ?? 'not_connected' );
					}
				);
			}
		} catch ( \KcMeet\Exception $e ) {
			$this->fail( $e );
			return;
		}

		$items = array();
		foreach ( $statuses as $status ) {
			$doctor_id = (int) ( $status['doctor_id'] ?? 0 );
			$items[]   = array(
				'doctor_id'        => $doctor_id,
				'doctor'           => $this->user_name( $doctor_id ),
				'status'           => (string) ( $status['status'] ?? '' ),
				'email'            => (string) ( $status['email'] ?? '' ),
				'calendar_id'      => (string) ( $status['calendar_id'] ?? '' ),
				'connected_at'     => (string) ( $status['connected_at'] ?? '' ),
				'token_expires_at' => ! empty( $status['token_expires_at'] ) ? gmdate( 'Y-m-d H:i:s', (int) $status['token_expires_at'] ) . ' UTC' : '',
				'last_error'       => (string) ( $status['last_error'] ?? '' ),
				'last_error_at'    => (string) ( $status['last_error_at'] ?? '' ),
			);
		}
		$fields = ! empty( $assoc_args['fields'] ) ? explode( ',', (string) $assoc_args['fields'] ) : self::STATUS_FIELDS;
		WP_CLI\Utils\format_items( $this->format( $assoc_args ), $items, $fields );
	}

	/**
	 * Prints the Google consent URL that connects a doctor (valid 10 minutes, single use).
	 *
	 * The URL is bound to the doctor and to the user running the command (--user=…); without
	 * --user the doctor is recorded as the initiator (the extension needs a real user), so the
	 * doctor lands on their own profile after consenting.
	 *
	 * ## OPTIONS
	 *
	 * <doctor>
	 * : Doctor's user id, login or e-mail.
	 *
	 * ## EXAMPLES
	 *
	 *     $ wp kc-meet connect-url 12
	 *     $ wp kc-meet connect-url drsmith --user=admin
	 *
	 * @subcommand connect-url
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function connect_url( $args, $assoc_args ) {
		unset( $assoc_args );
		$user = $this->resolve_doctor( $args[0] ?? '' );
		try {
			$initiator = get_current_user_id() > 0 ? get_current_user_id() : $user->ID;
			$url       = KC_Meet_Native::auth_url( $user->ID, $initiator );
		} catch ( \KcMeet\Exception $e ) {
			$this->fail( $e );
			return;
		}
		WP_CLI::line( $url );
	}

	/**
	 * Disconnects a doctor: revokes the grant at Google (best effort) and deletes the tokens.
	 *
	 * ## OPTIONS
	 *
	 * <doctor>
	 * : Doctor's user id, login or e-mail.
	 *
	 * ## EXAMPLES
	 *
	 *     $ wp kc-meet disconnect 12
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function disconnect( $args, $assoc_args ) {
		unset( $assoc_args );
		$user = $this->resolve_doctor( $args[0] ?? '' );
		try {
			$result = KC_Meet_Native::disconnect( $user->ID );
		} catch ( \KcMeet\Exception $e ) {
			$this->fail( $e );
			return;
		}
		if ( empty( $result['was_connected'] ) ) {
			WP_CLI::success( sprintf( 'Doctor %d was not connected.', $user->ID ) );
			return;
		}
		WP_CLI::success(
			sprintf(
				'Doctor %d disconnected (%s).',
				$user->ID,
				! empty( $result['revoked'] ) ? 'access revoked at Google' : 'Google could not confirm the revocation'
			)
		);
	}

	/**
	 * Checks the configuration, the database and the doctors' connections.
	 *
	 * Lists the problems found, one per row.
	 *
	 * ## OPTIONS
	 *
	 * [--strict]
	 * : Exit with an error when there is any problem.
	 *
	 * [--format=<format>]
	 * : Output format of the problems.
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
	 *     $ wp kc-meet health
	 *     $ wp kc-meet health --strict --format=json
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function health( $args, $assoc_args ) {
		unset( $args );
		try {
			$health = KC_Meet_Native::health();
		} catch ( \KcMeet\Exception $e ) {
			$this->fail( $e );
			return;
		}
		$format   = $this->format( $assoc_args );
		$problems = array();
		foreach ( ( isset( $health['problems'] ) && is_array( $health['problems'] ) ? $health['problems'] : array() ) as $problem ) {
			$problems[] = array(
				'code'    => (string) ( $problem['code'] ?? '' ),
				'message' => (string) ( $problem['message'] ?? '' ),
			);
		}

		if ( 'table' === $format ) {
			$db = isset( $health['db'] ) && is_array( $health['db'] ) ? $health['db'] : array();
			WP_CLI::log( sprintf( 'Extension version: %s', (string) ( $health['version'] ?? '' ) ) );
			WP_CLI::log( sprintf( 'Configured: %s', ! empty( $health['configured'] ) ? 'yes' : 'no' ) );
			WP_CLI::log( sprintf( 'Database reachable: %s', ! empty( $db['reachable'] ) ? 'yes' : 'no' ) );
			WP_CLI::log(
				sprintf(
					'Schema version: %s (expected %s)',
					isset( $health['schema_version'] ) ? (string) $health['schema_version'] : 'none',
					(string) ( $health['schema_expected'] ?? '' )
				)
			);
		}
		if ( ! empty( $problems ) || 'table' !== $format ) {
			WP_CLI\Utils\format_items( $format, $problems, array( 'code', 'message' ) );
		}

		if ( ! empty( $problems ) && ! empty( $assoc_args['strict'] ) ) {
			WP_CLI::error( sprintf( '%d problem(s) found.', count( $problems ) ) );
		}
		if ( empty( $problems ) && 'table' === $format ) {
			WP_CLI::success( 'No problems found.' );
		}
	}

	/**
	 * Creates or updates the kc_meet database tables of the current site.
	 *
	 * ## EXAMPLES
	 *
	 *     $ wp kc-meet migrate
	 *     $ wp kc-meet migrate --url=clinic2.example.com
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function migrate( $args, $assoc_args ) {
		unset( $args, $assoc_args );
		try {
			$result = KC_Meet_Native::migrate();
		} catch ( \KcMeet\Exception $e ) {
			$this->fail( $e );
			return;
		}
		WP_CLI::success(
			sprintf(
				'Schema version %d (was %d); tables: %s; mapping table %s.',
				(int) ( $result['schema_version'] ?? 0 ),
				(int) ( $result['previous_version'] ?? 0 ),
				implode( ', ', array_map( 'strval', (array) ( $result['tables'] ?? array() ) ) ),
				(string) ( $result['mapping_table'] ?? '' )
			)
		);
	}

	/**
	 * Creates the missing Google Meet events of telemedicine appointments.
	 *
	 * Asks the extension which telemedicine appointments have no event (a dry reconcile pass that
	 * neither removes nor creates anything), then creates them one by one with a progress bar and
	 * prints how many ended in each state (created, pending, queued, skipped, error). Events
	 * that exist are never touched, orphans are not removed (see `wp kc-meet reconcile`).
	 *
	 * ## OPTIONS
	 *
	 * [--from=<date>]
	 * : First appointment date (Y-m-d). Default: the extension's default window.
	 *
	 * [--to=<date>]
	 * : Last appointment date (Y-m-d).
	 *
	 * [--doctor=<doctor>]
	 * : Only this doctor's appointments (user id, login or e-mail).
	 *
	 * [--dry-run]
	 * : Only list the appointments that would get an event.
	 *
	 * [--format=<format>]
	 * : Output format of the lists.
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
	 *     $ wp kc-meet backfill --dry-run
	 *     $ wp kc-meet backfill --from=2024-06-01 --to=2024-06-30
	 *     $ wp kc-meet backfill --doctor=drsmith
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function backfill( $args, $assoc_args ) {
		unset( $args );
		$format = $this->format( $assoc_args );
		$opts   = $this->range_options(
			$assoc_args,
			array(
				'dry_run'        => true,
				'create_missing' => true,
				'remove_orphans' => false,
			)
		);
		try {
			$report = KC_Meet_Native::reconcile( $opts );
		} catch ( \Throwable $e ) {
			$this->fail( $e );
			return;
		}
		$missing = array();
		foreach ( (array) ( $report['missing'] ?? array() ) as $entry ) {
			if ( is_array( $entry ) && (int) ( $entry['appointment_id'] ?? 0 ) > 0 ) {
				$missing[] = array(
					'appointment_id' => (int) $entry['appointment_id'],
					'doctor_id'      => (int) ( $entry['doctor_id'] ?? 0 ),
					'start_utc'      => (string) ( $entry['start_utc'] ?? '' ),
				);
			}
		}

		if ( ! empty( $assoc_args['dry-run'] ) ) {
			if ( ! empty( $missing ) || 'table' !== $format ) {
				WP_CLI\Utils\format_items( $format, $missing, array( 'appointment_id', 'doctor_id', 'start_utc' ) );
			}
			WP_CLI::success( sprintf( '%d appointment(s) would get an event (dry run: nothing changed).', count( $missing ) ) );
			return;
		}

		$counts   = array();
		$progress = WP_CLI\Utils\make_progress_bar( 'Creating Google Meet events', count( $missing ) );
		foreach ( $missing as $entry ) {
			try {
				$result = KC_Meet_Events::ensure( 'create', $entry['appointment_id'], array(), 'cli' );
				$state  = (string) ( $result['state'] ?? 'unknown' );
				if ( 'skipped' === $state && ! empty( $result['reason'] ) ) {
					$state .= ' (' . $result['reason'] . ')';
				}
			} catch ( \Throwable $e ) {
				$state = 'error';
				WP_CLI::warning( sprintf( 'Appointment %d: %s (code %d)', $entry['appointment_id'], $e->getMessage(), (int) $e->getCode() ) );
			}
			$counts[ $state ] = ( $counts[ $state ] ?? 0 ) + 1;
			$progress->tick();
		}
		$progress->finish();

		$rows = array();
		foreach ( $counts as $state => $count ) {
			$rows[] = array(
				'state' => $state,
				'count' => $count,
			);
		}
		if ( ! empty( $rows ) || 'table' !== $format ) {
			WP_CLI\Utils\format_items( $format, $rows, array( 'state', 'count' ) );
		}
		$errors = (int) ( $counts['error'] ?? 0 );
		if ( $errors > 0 ) {
			WP_CLI::error( sprintf( '%d of %d appointment(s) failed.', $errors, count( $missing ) ) );
		}
		WP_CLI::success( sprintf( 'Processed %d appointment(s).', count( $missing ) ) );
	}

	/**
	 * Finds and fixes differences between appointments and Google events.
	 *
	 * Orphans (events whose appointment was deleted or cancelled, lost its telemedicine service
	 * or changed doctor) are removed; telemedicine appointments without an event get one. Lists
	 * both, then how many were fixed. The same pass runs daily in the background.
	 *
	 * ## OPTIONS
	 *
	 * [--dry-run]
	 * : Only list what would be fixed.
	 *
	 * [--from=<date>]
	 * : First appointment date (Y-m-d).
	 *
	 * [--to=<date>]
	 * : Last appointment date (Y-m-d).
	 *
	 * [--doctor=<doctor>]
	 * : Only this doctor (user id, login or e-mail).
	 *
	 * [--format=<format>]
	 * : Output format of the list.
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
	 *     $ wp kc-meet reconcile --dry-run
	 *     $ wp kc-meet reconcile
	 *     $ wp kc-meet reconcile --doctor=12 --format=json
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function reconcile( $args, $assoc_args ) {
		unset( $args );
		$format  = $this->format( $assoc_args );
		$dry_run = ! empty( $assoc_args['dry-run'] );
		$opts    = $this->range_options( $assoc_args, array( 'dry_run' => $dry_run ) );
		try {
			$report = KC_Meet_Native::reconcile( $opts );
		} catch ( \Throwable $e ) {
			$this->fail( $e );
			return;
		} finally {
			KC_Meet_Events::reset();
		}

		$rows = array();
		foreach ( (array) ( $report['orphans'] ?? array() ) as $orphan ) {
			$rows[] = array(
				'kind'           => 'orphan',
				'appointment_id' => (int) ( $orphan['appointment_id'] ?? 0 ),
				'event_id'       => (string) ( $orphan['event_id'] ?? '' ),
				'doctor_id'      => '',
				'start_utc'      => '',
				'reason'         => (string) ( $orphan['reason'] ?? '' ),
			);
		}
		foreach ( (array) ( $report['missing'] ?? array() ) as $missing ) {
			$rows[] = array(
				'kind'           => 'missing',
				'appointment_id' => (int) ( $missing['appointment_id'] ?? 0 ),
				'event_id'       => '',
				'doctor_id'      => (int) ( $missing['doctor_id'] ?? 0 ),
				'start_utc'      => (string) ( $missing['start_utc'] ?? '' ),
				'reason'         => 'no_event',
			);
		}
		if ( ! empty( $rows ) || 'table' !== $format ) {
			WP_CLI\Utils\format_items( $format, $rows, array( 'kind', 'appointment_id', 'event_id', 'doctor_id', 'start_utc', 'reason' ) );
		}
		$errors = (array) ( $report['errors'] ?? array() );
		foreach ( $errors as $error ) {
			WP_CLI::warning( sprintf( 'Appointment %d: %s', (int) ( $error['appointment_id'] ?? 0 ), (string) ( $error['error'] ?? '' ) ) );
		}
		$orphans = count( (array) ( $report['orphans'] ?? array() ) );
		$missing = count( (array) ( $report['missing'] ?? array() ) );
		if ( $dry_run ) {
			WP_CLI::success( sprintf( 'Found %d orphan(s) and %d missing event(s) (dry run: nothing changed).', $orphans, $missing ) );
			return;
		}
		$message = sprintf( 'Fixed %d of %d orphan(s) and missing event(s).', (int) ( $report['fixed'] ?? 0 ), $orphans + $missing );
		if ( ! empty( $errors ) ) {
			WP_CLI::error( sprintf( '%s %d error(s).', $message, count( $errors ) ) );
		}
		WP_CLI::success( $message );
	}

	/**
	 * Pulls the changes doctors made in Google Calendar into the appointments.
	 *
	 * Syncs the connected doctors one after the other (a progress bar ticks per doctor), or only
	 * --doctor. Each change is applied like the background sync does it (a move moves the
	 * appointment or is reverted, a deletion is flagged for review, cancels or recreates, per the
	 * settings) and the action `kc_meet_appointment_changed_in_google` fires for it. Prints one
	 * row per doctor, then a success, or a warning when a doctor failed, was skipped or has more
	 * to sync (run it again: an unfinished listing resumes where it stopped). The same sync runs
	 * every 5 minutes in the background.
	 *
	 * ## OPTIONS
	 *
	 * [--doctor=<doctor>]
	 * : Only this doctor (user id, login or e-mail).
	 *
	 * [--full]
	 * : Ignore the stored sync token and list the doctor's events again (30 days back to a year
	 * ahead). Nothing is deleted locally.
	 *
	 * [--budget=<seconds>]
	 * : Time each doctor's sync may take.
	 * ---
	 * default: 25
	 * ---
	 *
	 * [--format=<format>]
	 * : Output format of the per-doctor results.
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
	 *     $ wp kc-meet sync
	 *     $ wp kc-meet sync --doctor=drsmith --full
	 *     $ wp kc-meet sync --budget=50 --format=json
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function sync( $args, $assoc_args ) {
		unset( $args );
		if ( ! KC_Meet_Native::has_sync() ) {
			WP_CLI::error( sprintf( 'The loaded kc_meet extension (%s) has no two-way sync: update it.', KC_Meet_Native::version() ) );
		}
		$budget = $this->seconds_option( $assoc_args, 'budget', self::SYNC_BUDGET );
		$full   = ! empty( $assoc_args['full'] );
		if ( isset( $assoc_args['doctor'] ) ) {
			$doctor_ids = array( (int) $this->resolve_doctor( (string) $assoc_args['doctor'] )->ID );
		} else {
			try {
				$health = KC_Meet_Native::health();
			} catch ( \Throwable $e ) {
				$this->fail( $e );
				return;
			}
			$doctor_ids = array();
			foreach ( ( isset( $health['doctors'] ) && is_array( $health['doctors'] ) ? $health['doctors'] : array() ) as $status ) {
				if ( is_array( $status ) && 'connected' === ( $status['status'] ?? '' ) && (int) ( $status['doctor_id'] ?? 0 ) > 0 ) {
					$doctor_ids[] = (int) $status['doctor_id'];
				}
			}
			if ( empty( $doctor_ids ) ) {
				WP_CLI::success( 'No connected doctor to sync.' );
				return;
			}
		}

		$rows     = array();
		$progress = WP_CLI\Utils\make_progress_bar( 'Syncing Google Calendars', count( $doctor_ids ) );
		foreach ( $doctor_ids as $doctor_id ) {
			$opts = array(
				'doctor_id' => $doctor_id,
				'full'      => $full,
				'budget_s'  => $budget,
			);
			try {
				$result  = KC_Meet_Sync_Changes::sync( $opts, 'cli' );
				$doctors = (array) ( $result['doctors'] ?? array() );
				if ( empty( $doctors ) ) {
					$doctors = array(
						array(
							'doctor_id' => $doctor_id,
							'skipped'   => true,
						),
					);
				}
				foreach ( $doctors as $doctor ) {
					$rows[] = $this->sync_row( is_array( $doctor ) ? $doctor : array( 'doctor_id' => $doctor_id ) );
				}
			} catch ( \Throwable $e ) {
				$rows[] = $this->sync_row(
					array(
						'doctor_id' => $doctor_id,
						'error'     => sprintf( '%s (code %d)', $e->getMessage(), (int) $e->getCode() ),
					)
				);
			}
			$progress->tick();
		}
		$progress->finish();

		WP_CLI\Utils\format_items( $this->format( $assoc_args ), $rows, self::SYNC_FIELDS );

		$changes    = array_sum( array_column( $rows, 'changes_applied' ) );
		$failed     = 0;
		$skipped    = 0;
		$unfinished = 0;
		foreach ( $rows as $row ) {
			if ( '' !== $row['error'] ) {
				++$failed;
			} elseif ( 'yes' === $row['skipped'] ) {
				++$skipped;
			} elseif ( 'yes' === $row['remaining'] ) {
				++$unfinished;
			}
		}
		if ( $failed + $skipped + $unfinished > 0 ) {
			WP_CLI::warning(
				sprintf(
					'Synced %d doctor(s), %d change(s) applied; %d failed, %d skipped (not connected, or being synced elsewhere), %d not finished within the budget (run again to continue).',
					count( $rows ) - $failed - $skipped - $unfinished,
					$changes,
					$failed,
					$skipped,
					$unfinished
				)
			);
			return;
		}
		WP_CLI::success( sprintf( 'Synced %d doctor(s), %d change(s) applied.', count( $rows ), $changes ) );
	}

	/**
	 * One row of `sync` from a doctor's result.
	 *
	 * @param array $doctor Per-doctor result of kc_meet_sync().
	 * @return array
	 */
	private function sync_row( array $doctor ) {
		$doctor_id = (int) ( $doctor['doctor_id'] ?? 0 );
		return array(
			'doctor_id'       => $doctor_id,
			'doctor'          => $this->user_name( $doctor_id ),
			'pages'           => (int) ( $doctor['pages'] ?? 0 ),
			'events_seen'     => (int) ( $doctor['events_seen'] ?? 0 ),
			'changes_applied' => (int) ( $doctor['changes_applied'] ?? 0 ),
			'full'            => ! empty( $doctor['full'] ) ? 'yes' : 'no',
			'remaining'       => ! empty( $doctor['remaining'] ) ? 'yes' : 'no',
			'skipped'         => ! empty( $doctor['skipped'] ) ? 'yes' : 'no',
			'error'           => is_scalar( $doctor['error'] ?? null ) ? (string) $doctor['error'] : '',
		);
	}
}
