<?php
/**
 * Google Meet → Appointments.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Telemedicine appointments with the state of their Google event: Meet link, conference still
 * pending at Google, queued (attempts, next try and last error in the site's time), failed,
 * flagged after a change in Google, removed, missing. Filters by doctor, state and date; actions:
 * retry now, re-create, accept or revert a Google-side deletion, accept or revert a move made in
 * Google (the earlier and the doctor's time shown in the site's zone and format; accept: the
 * appointment takes the doctor's time; revert: the event goes back to the appointment's earlier
 * time; see {@see KC_Meet_Sync_Changes::review_move()}), open in Google Calendar.
 *
 * One page is one `kc_meet_appointments()` call (one SQL query) plus one read of the moves
 * waiting for review, so the screen stays fast with 50,000 appointments.
 */
class KC_Meet_Admin_Appointments extends KC_Meet_Admin_Screens {

	/**
	 * Page slug.
	 *
	 * @var string
	 */
	const SLUG = 'kc-meet-appointments';

	/**
	 * admin-post actions.
	 *
	 * @var string
	 */
	const RETRY_ACTION    = 'kc_meet_appointment_retry';
	const RECREATE_ACTION = 'kc_meet_appointment_recreate';
	const ACCEPT_ACTION   = 'kc_meet_appointment_accept';
	const ACCEPT_MOVE     = 'kc_meet_appointment_accept_move';
	const REVERT_MOVE     = 'kc_meet_appointment_revert_move';

	/**
	 * {@inheritDoc}
	 *
	 * @return string
	 */
	protected function slug() {
		return self::SLUG;
	}

	/**
	 * {@inheritDoc}
	 *
	 * @return array<string, array{0:string, 1:string}>
	 */
	protected function messages() {
		return array(
			/* translators: %d: appointment id */
			'linked'   => array( 'success', __( 'Appointment #%d has its Google Calendar event and Meet link.', 'kc-googlemeet' ) ),
			/* translators: %d: appointment id */
			'done'     => array( 'success', __( 'Appointment #%d is up to date in Google Calendar.', 'kc-googlemeet' ) ),
			/* translators: %d: appointment id */
			'queued'   => array( 'warning', __( 'Appointment #%d could not be synced now; it stays queued and is tried again automatically.', 'kc-googlemeet' ) ),
			/* translators: %d: appointment id */
			'accepted' => array( 'success', __( 'The change made in Google Calendar was accepted for appointment #%d.', 'kc-googlemeet' ) ),
			/* translators: %d: appointment id */
			'move_accepted' => array( 'success', __( 'Appointment #%d now has the time the doctor chose in Google Calendar.', 'kc-googlemeet' ) ),
			/* translators: %d: appointment id */
			'move_reverted' => array( 'success', __( 'The Google Calendar event of appointment #%d is back at the appointment\'s time.', 'kc-googlemeet' ) ),
			/* translators: %d: appointment id */
			'move_queued'   => array( 'warning', __( 'Appointment #%d was decided; Google Calendar could not be updated now, it is tried again automatically.', 'kc-googlemeet' ) ),
			/* translators: %d: appointment id */
			'nothing'       => array( 'info', __( 'Nothing waits for review on appointment #%d.', 'kc-googlemeet' ) ),
			/* translators: %d: appointment id */
			'error'    => array( 'error', __( 'The action on appointment #%d failed.', 'kc-googlemeet' ) ),
		);
	}

	/**
	 * Brings an appointment's event in line with the appointment now and redirects back.
	 *
	 * @param int    $appointment_id Appointment.
	 * @param string $op             'update' (retry: create, move or remove as the appointment needs) or 'create'.
	 * @return void
	 */
	private function run_now( $appointment_id, $op ) {
		try {
			$result = KC_Meet_Events::ensure( $op, $appointment_id, array(), 'admin' );
			$state  = (string) ( $result['state'] ?? '' );
			if ( in_array( $state, array( 'queued', 'pending' ), true ) ) {
				$this->back( 'queued', $appointment_id );
				return;
			}
			$this->back( '' !== (string) ( $result['meet_url'] ?? '' ) ? 'linked' : 'done', $appointment_id );
		} catch ( \Throwable $e ) {
			$this->back( 'error', $appointment_id, (int) $e->getCode() );
		}
	}

	/**
	 * Retry now: runs the appointment's job at once instead of waiting for its next attempt.
	 *
	 * @return void
	 */
	public function handle_retry() {
		$appointment_id = self::verify_row_action( self::RETRY_ACTION, 'appointment_id' );
		$this->run_now( $appointment_id, 'update' );
	}

	/**
	 * Re-create: creates the event (again) for the appointment, e.g. after it was deleted in Google.
	 *
	 * @return void
	 */
	public function handle_recreate() {
		$appointment_id = self::verify_row_action( self::RECREATE_ACTION, 'appointment_id' );
		KC_Meet_Sync_Changes::dismiss( $appointment_id );
		$this->run_now( $appointment_id, 'update' );
	}

	/**
	 * Accept a deletion made in Google: the appointment keeps no event; the review flag goes.
	 *
	 * @return void
	 */
	public function handle_accept() {
		$appointment_id = self::verify_row_action( self::ACCEPT_ACTION, 'appointment_id' );
		KC_Meet_Sync_Changes::dismiss( $appointment_id );
		$this->back( 'accepted', $appointment_id );
	}

	/**
	 * Accept a move made in Google: the appointment takes the doctor's time.
	 *
	 * @return void
	 */
	public function handle_accept_move() {
		$this->review_move( self::verify_row_action( self::ACCEPT_MOVE, 'appointment_id' ), 'accept' );
	}

	/**
	 * Revert a move made in Google: the event goes back to the appointment's earlier time.
	 *
	 * @return void
	 */
	public function handle_revert_move() {
		$this->review_move( self::verify_row_action( self::REVERT_MOVE, 'appointment_id' ), 'revert' );
	}

	/**
	 * Runs a decision on a move and redirects back with its result.
	 *
	 * @param int    $appointment_id Appointment.
	 * @param string $decision       'accept' or 'revert'.
	 * @return void
	 */
	private function review_move( $appointment_id, $decision ) {
		try {
			$result = KC_Meet_Sync_Changes::review_move( $appointment_id, $decision );
		} catch ( \Throwable $e ) {
			$this->back( 'error', $appointment_id, (int) $e->getCode() );
			return;
		}
		if ( null === $result || empty( $result['reviewed'] ) ) {
			$this->back( 'nothing', $appointment_id );
			return;
		}
		$state = (string) ( $result['event']['state'] ?? '' );
		if ( in_array( $state, array( 'queued', 'pending' ), true ) ) {
			$this->back( 'move_queued', $appointment_id );
			return;
		}
		$this->back( 'accept' === $decision ? 'move_accepted' : 'move_reverted', $appointment_id );
	}

	/**
	 * Label of a state.
	 *
	 * @param string $state State from kc_meet_appointments().
	 * @return string
	 */
	public static function state_label( $state ) {
		$labels = self::state_labels();
		return $labels[ $state ] ?? $state;
	}

	/**
	 * Every state with its label, in filter order.
	 *
	 * @return array<string, string>
	 */
	private static function state_labels() {
		return array(
			'linked'  => __( 'Meet link ready', 'kc-googlemeet' ),
			'pending' => __( 'Meet link being created', 'kc-googlemeet' ),
			'queued'  => __( 'Queued', 'kc-googlemeet' ),
			'failed'  => __( 'Failed', 'kc-googlemeet' ),
			'flagged' => __( 'Changed in Google', 'kc-googlemeet' ),
			'removed' => __( 'Event removed', 'kc-googlemeet' ),
			'missing' => __( 'No event yet', 'kc-googlemeet' ),
		);
	}

	/**
	 * The current filters from the query string.
	 *
	 * @return array{doctor_id:int, state:string, from:string, to:string}
	 */
	private static function filters() {
		// phpcs:disable WordPress.Security.NonceVerification.Recommended -- filters of a read-only screen.
		$state = isset( $_GET['state'] ) ? sanitize_key( wp_unslash( $_GET['state'] ) ) : '';
		$from  = isset( $_GET['from'] ) ? sanitize_text_field( wp_unslash( $_GET['from'] ) ) : '';
		$to    = isset( $_GET['to'] ) ? sanitize_text_field( wp_unslash( $_GET['to'] ) ) : '';
		$f     = array(
			'doctor_id' => isset( $_GET['doctor_id'] ) ? absint( wp_unslash( $_GET['doctor_id'] ) ) : 0,
			'state'     => array_key_exists( $state, self::state_labels() ) ? $state : '',
			'from'      => preg_match( '/^\d{4}-\d{2}-\d{2}$/', $from ) ? $from : '',
			'to'        => preg_match( '/^\d{4}-\d{2}-\d{2}$/', $to ) ? $to : '',
		);
		// phpcs:enable
		return $f;
	}

	/**
	 * Renders the screen.
	 *
	 * @return void
	 */
	public function render() {
		self::require_admin();
		$f    = self::filters();
		$page = self::current_page();
		?>
		<div class="wrap kc-meet-appointments">
			<h1><?php esc_html_e( 'Google Meet: appointments', 'kc-googlemeet' ); ?></h1>
			<?php $this->render_result(); ?>
			<form method="get" class="kc-meet-filters">
				<input type="hidden" name="page" value="<?php echo esc_attr( self::SLUG ); ?>" />
				<label><?php esc_html_e( 'Doctor', 'kc-googlemeet' ); ?>
					<select name="doctor_id">
						<option value="0"><?php esc_html_e( 'All doctors', 'kc-googlemeet' ); ?></option>
						<?php foreach ( get_users( array( 'role' => KC_Meet_Access::DOCTOR_ROLE, 'orderby' => 'display_name', 'fields' => array( 'ID', 'display_name' ), 'number' => 500 ) ) as $doctor ) : ?>
							<option value="<?php echo esc_attr( (string) $doctor->ID ); ?>" <?php selected( (int) $doctor->ID, $f['doctor_id'] ); ?>><?php echo esc_html( $doctor->display_name ); ?></option>
						<?php endforeach; ?>
					</select>
				</label>
				<label><?php esc_html_e( 'State', 'kc-googlemeet' ); ?>
					<select name="state">
						<option value=""><?php esc_html_e( 'Any state', 'kc-googlemeet' ); ?></option>
						<?php foreach ( self::state_labels() as $key => $label ) : ?>
							<option value="<?php echo esc_attr( $key ); ?>" <?php selected( $key, $f['state'] ); ?>><?php echo esc_html( $label ); ?></option>
						<?php endforeach; ?>
					</select>
				</label>
				<label><?php esc_html_e( 'From', 'kc-googlemeet' ); ?> <input type="date" name="from" value="<?php echo esc_attr( $f['from'] ); ?>" /></label>
				<label><?php esc_html_e( 'To', 'kc-googlemeet' ); ?> <input type="date" name="to" value="<?php echo esc_attr( $f['to'] ); ?>" /></label>
				<button class="button"><?php esc_html_e( 'Filter', 'kc-googlemeet' ); ?></button>
			</form>
			<?php
			try {
				$result = KC_Meet_Native::appointments( array_merge( $f, array( 'page' => $page, 'per_page' => self::PER_PAGE ) ) );
				$moves  = KC_Meet_Sync_Changes::moves();
			} catch ( \Throwable $e ) {
				self::render_error( $e );
				echo '</div>';
				return;
			}
			?>
			<table class="widefat striped kc-meet-appointments-table" style="margin-top:1em">
				<thead>
					<tr>
						<th scope="col"><?php esc_html_e( 'Appointment', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Date', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Doctor', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Patient', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Google Meet', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Actions', 'kc-googlemeet' ); ?></th>
					</tr>
				</thead>
				<tbody>
					<?php if ( empty( $result['rows'] ) ) : ?>
						<tr><td colspan="6"><?php esc_html_e( 'No telemedicine appointments found.', 'kc-googlemeet' ); ?></td></tr>
					<?php endif; ?>
					<?php foreach ( $result['rows'] as $row ) : ?>
						<?php self::render_row( $row, $moves[ (int) $row['appointment_id'] ] ?? null ); ?>
					<?php endforeach; ?>
				</tbody>
			</table>
			<?php self::render_pagination( (int) $result['total'], $page, self::PER_PAGE ); ?>
		</div>
		<?php
	}

	/**
	 * One appointment row.
	 *
	 * @param array      $row  kc_meet_appointments() row.
	 * @param array|null $move The move made in Google waiting for review (KC_Meet_Sync_Changes::moves()).
	 * @return void
	 */
	private static function render_row( array $row, $move = null ) {
		$id    = (int) $row['appointment_id'];
		$state = (string) $row['state'];
		$moved = 'flagged' === $state && KC_Meet_Sync_Changes::MOVE_FLAG === (string) $row['flag'];
		$move  = $moved && is_array( $move ) ? $move : null;
		?>
		<tr class="kc-meet-appointment" data-appointment-id="<?php echo esc_attr( (string) $id ); ?>" data-state="<?php echo esc_attr( $state ); ?>">
			<td><?php echo esc_html( '#' . $id ); ?><?php echo 0 === (int) $row['status'] ? ' <span class="description">' . esc_html__( '(cancelled)', 'kc-googlemeet' ) . '</span>' : ''; ?></td>
			<td><?php echo esc_html( self::local_time( $row['start_date'], $row['start_time'] ) ); ?></td>
			<td><?php echo esc_html( $row['doctor_name'] ); ?></td>
			<td><?php echo esc_html( $row['patient_name'] ); ?></td>
			<td class="kc-meet-state">
				<strong><?php echo esc_html( self::state_label( $state ) ); ?></strong>
				<?php if ( '' !== $row['meet_url'] && in_array( $state, array( 'linked', 'pending', 'flagged' ), true ) ) : ?>
					<br /><a class="kc-meet-link" href="<?php echo esc_url( $row['meet_url'] ); ?>" target="_blank" rel="noopener noreferrer"><?php echo esc_html( $row['meet_url'] ); ?></a>
				<?php endif; ?>
				<?php if ( null !== $move ) : ?>
					<br /><span class="description kc-meet-move" data-kind="<?php echo esc_attr( $move['kind'] ); ?>">
						<?php
						echo esc_html(
							sprintf(
								/* translators: 1: the appointment's earlier date and time, 2: the date and time the doctor chose in Google Calendar */
								__( 'Moved in Google Calendar: %1$s → %2$s', 'kc-googlemeet' ),
								self::site_time( $move['old_start_utc'] . ' UTC' ),
								self::site_time( $move['new_start_utc'] . ' UTC' )
							)
						);
						echo ' ';
						echo esc_html( 'moved' === $move['kind'] ? __( '(the appointment follows it now)', 'kc-googlemeet' ) : __( '(the event was put back)', 'kc-googlemeet' ) );
						?>
					</span>
				<?php elseif ( $moved ) : ?>
					<br /><span class="description"><?php esc_html_e( 'The doctor moved the event in Google Calendar.', 'kc-googlemeet' ); ?></span>
				<?php elseif ( 'flagged' === $state ) : ?>
					<br /><span class="description"><?php esc_html_e( 'The doctor deleted the event in Google Calendar.', 'kc-googlemeet' ); ?></span>
				<?php endif; ?>
				<?php if ( null !== $row['job_state'] ) : ?>
					<br /><span class="description kc-meet-job">
						<?php
						if ( 'queued' === $row['job_state'] ) {
							/* translators: 1: number of attempts, 2: date and time of the next attempt */
							echo esc_html( sprintf( _n( '%1$d attempt, next try %2$s', '%1$d attempts, next try %2$s', (int) $row['attempts'], 'kc-googlemeet' ), (int) $row['attempts'], self::site_time( $row['next_run_at'] ) ) );
						} else {
							/* translators: %d: number of attempts */
							echo esc_html( sprintf( _n( 'Gave up after %d attempt', 'Gave up after %d attempts', (int) $row['attempts'], 'kc-googlemeet' ), (int) $row['attempts'] ) );
						}
						if ( ! empty( $row['last_error'] ) ) {
							echo ': ' . esc_html( (string) $row['last_error'] );
						}
						?>
					</span>
				<?php endif; ?>
			</td>
			<td class="kc-meet-actions">
				<?php
				if ( in_array( $state, array( 'queued', 'failed', 'missing' ), true ) ) {
					self::action_button( self::RETRY_ACTION, 'appointment_id', $id, __( 'Retry now', 'kc-googlemeet' ), '', 'kc-meet-retry' );
				}
				if ( null !== $move ) {
					self::action_button( self::ACCEPT_MOVE, 'appointment_id', $id, __( 'Accept the new time', 'kc-googlemeet' ), __( 'Give the appointment the time the doctor chose in Google Calendar?', 'kc-googlemeet' ), 'kc-meet-accept-move' );
					self::action_button( self::REVERT_MOVE, 'appointment_id', $id, __( 'Revert', 'kc-googlemeet' ), __( 'Put the appointment and its Google Calendar event back at the earlier time?', 'kc-googlemeet' ), 'kc-meet-revert-move' );
				} elseif ( $moved ) {
					self::action_button( self::RECREATE_ACTION, 'appointment_id', $id, __( 'Revert (event back to the appointment\'s time)', 'kc-googlemeet' ), '', 'kc-meet-recreate' );
				} elseif ( 'flagged' === $state ) {
					self::action_button( self::RECREATE_ACTION, 'appointment_id', $id, __( 'Revert (create the event again)', 'kc-googlemeet' ), '', 'kc-meet-recreate' );
					self::action_button( self::ACCEPT_ACTION, 'appointment_id', $id, __( 'Accept', 'kc-googlemeet' ), '', 'kc-meet-accept' );
				} elseif ( in_array( $state, array( 'linked', 'pending', 'removed' ), true ) && 0 !== (int) $row['status'] ) {
					self::action_button( self::RECREATE_ACTION, 'appointment_id', $id, __( 'Re-create', 'kc-googlemeet' ), __( 'Bring this appointment\'s Google Calendar event up to date now?', 'kc-googlemeet' ), 'kc-meet-recreate' );
				}
				if ( '' !== $row['event_url'] && 'removed' !== $state ) {
					printf( ' <a class="button button-small" href="%1$s" target="_blank" rel="noopener noreferrer">%2$s</a>', esc_url( $row['event_url'] ), esc_html__( 'Open in Google Calendar', 'kc-googlemeet' ) );
				}
				?>
			</td>
		</tr>
		<?php
	}
}
