<?php
/**
 * Google Meet → Doctors.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Every KiviCare doctor of this site (connected or not) with their state (connected as …, needs
 * reconnect and why, not connected), calendar, push channel or polling, last sync and failing
 * jobs; actions: connect (through Google's consent page), test connection
 * (`kc_meet_check_connection`), sync now (`kc_meet_sync` for that doctor) and disconnect.
 * Paginated; filter by state and search by name.
 */
class KC_Meet_Admin_Doctors extends KC_Meet_Admin_Screens {

	/**
	 * admin-post actions.
	 *
	 * @var string
	 */
	const CHECK_ACTION      = 'kc_meet_doctor_check';
	const SYNC_ACTION       = 'kc_meet_doctor_sync';
	const DISCONNECT_ACTION = 'kc_meet_doctor_disconnect';

	/**
	 * {@inheritDoc}
	 *
	 * @return string
	 */
	protected function slug() {
		return self::MENU_SLUG;
	}

	/**
	 * {@inheritDoc}
	 *
	 * @return array<string, array{0:string, 1:string}>
	 */
	protected function messages() {
		return array(
			/* translators: %d: doctor's user id */
			'checked'      => array( 'success', __( 'Google accepted the connection of doctor #%d.', 'kc-googlemeet' ) ),
			/* translators: %d: doctor's user id */
			'check_failed' => array( 'error', __( 'The connection of doctor #%d does not work.', 'kc-googlemeet' ) ),
			/* translators: %d: doctor's user id */
			'synced'       => array( 'success', __( 'Doctor #%d was synced with Google Calendar.', 'kc-googlemeet' ) ),
			/* translators: %d: doctor's user id */
			'sync_failed'  => array( 'error', __( 'Syncing doctor #%d failed.', 'kc-googlemeet' ) ),
			/* translators: %d: doctor's user id */
			'disconnected' => array( 'success', __( 'Doctor #%d was disconnected: the grant was revoked at Google and the tokens erased.', 'kc-googlemeet' ) ),
			/* translators: %d: doctor's user id */
			'error'        => array( 'error', __( 'The action on doctor #%d failed.', 'kc-googlemeet' ) ),
		);
	}

	/**
	 * The doctor id of a row action, which must be a doctor of this site whose connection the
	 * current user may manage ({@see KC_Meet_Access::can_manage_doctor()}, the rule of the
	 * profile, the REST routes and KiviCare's filters: on a network, not a super admin's).
	 *
	 * @param string $action Action.
	 * @return int
	 */
	private static function doctor_from_request( $action ) {
		$doctor_id = self::verify_row_action( $action, 'doctor_id' );
		if ( ! KC_Meet_Access::is_doctor( $doctor_id ) ) {
			wp_die( esc_html__( 'This user is not a doctor of this site.', 'kc-googlemeet' ), '', array( 'response' => 404 ) );
		}
		if ( ! KC_Meet_Access::can_manage_doctor( $doctor_id ) ) {
			wp_die( esc_html( KC_Meet_Messages::for_code( KC_Meet_Messages::FORBIDDEN ) ), esc_html__( 'Forbidden', 'kc-googlemeet' ), array( 'response' => 403 ) );
		}
		return $doctor_id;
	}

	/**
	 * Test connection: asks Google (refreshing the token when due).
	 *
	 * @return void
	 */
	public function handle_check() {
		$doctor_id = self::doctor_from_request( self::CHECK_ACTION );
		try {
			$status = KC_Meet_Native::check_connection( $doctor_id );
			$this->back( 'connected' === ( $status['status'] ?? '' ) ? 'checked' : 'check_failed', $doctor_id );
		} catch ( \Throwable $e ) {
			$this->back( 'check_failed', $doctor_id, (int) $e->getCode() );
		}
	}

	/**
	 * Sync now: one doctor's incremental sync, its changes dispatched like the cron's.
	 *
	 * @return void
	 */
	public function handle_sync() {
		$doctor_id = self::doctor_from_request( self::SYNC_ACTION );
		try {
			$result = KC_Meet_Sync_Changes::sync( array( 'doctor_id' => $doctor_id ), 'admin' );
			$failed = false;
			foreach ( (array) ( $result['doctors'] ?? array() ) as $doctor ) {
				$failed = $failed || ! empty( $doctor['error'] );
			}
			$this->back( $failed ? 'sync_failed' : 'synced', $doctor_id );
		} catch ( \Throwable $e ) {
			$this->back( 'sync_failed', $doctor_id, (int) $e->getCode() );
		}
	}

	/**
	 * Disconnect: revoke at Google, erase tokens, stop channels.
	 *
	 * @return void
	 */
	public function handle_disconnect() {
		$doctor_id = self::doctor_from_request( self::DISCONNECT_ACTION );
		try {
			KC_Meet_Native::disconnect( $doctor_id );
			$this->back( 'disconnected', $doctor_id );
		} catch ( \Throwable $e ) {
			$this->back( 'error', $doctor_id, (int) $e->getCode() );
		}
	}

	/**
	 * State label of a doctor row.
	 *
	 * @param array $row kc_meet_doctors() row.
	 * @return string
	 */
	public static function state_text( array $row ) {
		switch ( $row['status'] ) {
			case 'connected':
				/* translators: %s: Google account e-mail */
				return sprintf( __( 'Connected as %s', 'kc-googlemeet' ), (string) $row['google_email'] );
			case 'needs_reconnect':
				return __( 'Needs reconnect', 'kc-googlemeet' );
			default:
				return __( 'Not connected', 'kc-googlemeet' );
		}
	}

	/**
	 * Renders the screen.
	 *
	 * @return void
	 */
	public function render() {
		self::require_admin();
		// phpcs:disable WordPress.Security.NonceVerification.Recommended -- filters of a read-only screen.
		$status = isset( $_GET['status'] ) ? sanitize_key( wp_unslash( $_GET['status'] ) ) : '';
		$search = isset( $_GET['s'] ) ? sanitize_text_field( wp_unslash( $_GET['s'] ) ) : '';
		// phpcs:enable
		$statuses = array(
			''                => __( 'All', 'kc-googlemeet' ),
			'connected'       => __( 'Connected', 'kc-googlemeet' ),
			'needs_reconnect' => __( 'Needs reconnect', 'kc-googlemeet' ),
			'not_connected'   => __( 'Not connected', 'kc-googlemeet' ),
		);
		$status = isset( $statuses[ $status ] ) ? $status : '';
		$page   = self::current_page();
		?>
		<div class="wrap kc-meet-doctors">
			<h1><?php esc_html_e( 'Google Meet: doctors', 'kc-googlemeet' ); ?></h1>
			<?php $this->render_result(); ?>
			<ul class="subsubsub">
				<?php
				$links = array();
				foreach ( $statuses as $key => $label ) {
					$links[] = sprintf( '<li><a href="%1$s"%2$s>%3$s</a></li>', esc_url( $this->url( '' === $key ? array() : array( 'status' => $key ) ) ), $key === $status ? ' class="current" aria-current="page"' : '', esc_html( $label ) );
				}
				echo implode( ' | ', $links ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped above.
				?>
			</ul>
			<form method="get" class="search-form" style="float:right">
				<input type="hidden" name="page" value="<?php echo esc_attr( self::MENU_SLUG ); ?>" />
				<?php if ( '' !== $status ) : ?>
					<input type="hidden" name="status" value="<?php echo esc_attr( $status ); ?>" />
				<?php endif; ?>
				<label class="screen-reader-text" for="kc-meet-doctor-search"><?php esc_html_e( 'Search doctors', 'kc-googlemeet' ); ?></label>
				<input type="search" id="kc-meet-doctor-search" name="s" value="<?php echo esc_attr( $search ); ?>" />
				<button class="button"><?php esc_html_e( 'Search doctors', 'kc-googlemeet' ); ?></button>
			</form>
			<?php
			try {
				$result = KC_Meet_Native::doctors(
					array(
						'status'   => $status,
						'search'   => $search,
						'page'     => $page,
						'per_page' => self::PER_PAGE,
					)
				);
			} catch ( \Throwable $e ) {
				self::render_error( $e );
				echo '</div>';
				return;
			}
			?>
			<table class="widefat striped kc-meet-doctors-table" style="clear:both">
				<thead>
					<tr>
						<th scope="col"><?php esc_html_e( 'Doctor', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Google Calendar', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Calendar', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Changes from Google', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Last sync', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Actions', 'kc-googlemeet' ); ?></th>
					</tr>
				</thead>
				<tbody>
					<?php if ( empty( $result['rows'] ) ) : ?>
						<tr><td colspan="6"><?php esc_html_e( 'No doctors found.', 'kc-googlemeet' ); ?></td></tr>
					<?php endif; ?>
					<?php foreach ( $result['rows'] as $row ) : ?>
						<?php $this->render_row( $row ); ?>
					<?php endforeach; ?>
				</tbody>
			</table>
			<?php self::render_pagination( (int) $result['total'], $page, self::PER_PAGE ); ?>
		</div>
		<?php
	}

	/**
	 * One doctor row.
	 *
	 * @param array $row kc_meet_doctors() row.
	 * @return void
	 */
	private function render_row( array $row ) {
		$id         = (int) $row['doctor_id'];
		$may_manage = KC_Meet_Access::can_manage_doctor( $id );
		?>
		<tr class="kc-meet-doctor" data-doctor-id="<?php echo esc_attr( (string) $id ); ?>" data-status="<?php echo esc_attr( $row['status'] ); ?>">
			<td>
				<strong><a href="<?php echo esc_url( KC_Meet_Profile::profile_url( $id, get_current_user_id() ) ); ?>"><?php echo esc_html( $row['name'] ); ?></a></strong><br />
				<span class="description"><?php echo esc_html( $row['user_email'] ); ?></span>
			</td>
			<td class="kc-meet-state">
				<?php echo esc_html( self::state_text( $row ) ); ?>
				<?php if ( 'needs_reconnect' === $row['status'] && ! empty( $row['last_error'] ) ) : ?>
					<br /><span class="description"><?php echo esc_html( (string) $row['last_error'] ); ?></span>
				<?php endif; ?>
				<?php if ( (int) $row['jobs_failed'] > 0 ) : ?>
					<br /><a href="<?php echo esc_url( add_query_arg( array( 'page' => KC_Meet_Admin_Appointments::SLUG, 'doctor_id' => $id, 'state' => 'failed' ), admin_url( 'admin.php' ) ) ); ?>">
						<?php
						/* translators: %d: number of appointments */
						echo esc_html( sprintf( _n( '%d appointment failed', '%d appointments failed', (int) $row['jobs_failed'], 'kc-googlemeet' ), (int) $row['jobs_failed'] ) );
						?>
					</a>
				<?php endif; ?>
			</td>
			<td><?php echo esc_html( (string) ( $row['calendar_id'] ?? '—' ) ); ?></td>
			<td>
				<?php
				if ( 'not_connected' === $row['status'] ) {
					echo '—';
				} elseif ( ! empty( $row['channel_expires_at'] ) ) {
					/* translators: %s: date and time */
					echo esc_html( sprintf( __( 'Push notifications (channel until %s)', 'kc-googlemeet' ), (string) wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), (int) floor( $row['channel_expires_at'] / 1000 ) ) ) );
				} else {
					esc_html_e( 'Polling every 5 minutes', 'kc-googlemeet' );
				}
				?>
			</td>
			<td>
				<?php
				$last = self::site_time( $row['last_sync_at'] );
				echo esc_html( '' !== $last ? $last : '—' );
				if ( ! empty( $row['last_sync_error'] ) ) {
					echo '<br /><span class="description">' . esc_html( (string) $row['last_sync_error'] ) . '</span>';
				}
				?>
			</td>
			<td class="kc-meet-actions">
				<?php if ( ! $may_manage ) : ?>
					—
				<?php elseif ( 'connected' !== $row['status'] ) : ?>
					<a class="button button-small button-primary kc-meet-connect" href="<?php echo esc_url( KC_Meet_Profile::connect_url( $id ) ); ?>"><?php 'needs_reconnect' === $row['status'] ? esc_html_e( 'Reconnect', 'kc-googlemeet' ) : esc_html_e( 'Connect', 'kc-googlemeet' ); ?></a>
				<?php endif; ?>
				<?php if ( $may_manage && 'not_connected' !== $row['status'] ) : ?>
					<?php self::action_button( self::CHECK_ACTION, 'doctor_id', $id, __( 'Test connection', 'kc-googlemeet' ), '', 'kc-meet-check' ); ?>
					<?php self::action_button( self::SYNC_ACTION, 'doctor_id', $id, __( 'Sync now', 'kc-googlemeet' ), '', 'kc-meet-sync' ); ?>
					<?php
					self::action_button(
						self::DISCONNECT_ACTION,
						'doctor_id',
						$id,
						__( 'Disconnect', 'kc-googlemeet' ),
						/* translators: %s: doctor's name */
						sprintf( __( 'Disconnect %s from Google Calendar? New appointments will get no Meet link until the doctor connects again.', 'kc-googlemeet' ), $row['name'] ),
						'kc-meet-disconnect'
					);
					?>
				<?php endif; ?>
			</td>
		</tr>
		<?php
	}
}
