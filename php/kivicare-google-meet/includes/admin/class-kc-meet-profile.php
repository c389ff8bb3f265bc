<?php
/**
 * Doctor connection UI on the user profile.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * The "Google Calendar" section of the user profile (`#kc-meet-profile`), shown on
 * `show_user_profile` / `edit_user_profile` for doctors (role `kiviCare_doctor`) and, when the
 * viewer can `manage_options`, for any user. It shows the status (`#kc-meet-status`, with a
 * `data-status` attribute), a "Connect Google Calendar" link (`#kc-meet-connect`) and, unless
 * not connected, a "Disconnect" button (`#kc-meet-disconnect`, a nonce link styled as a
 * button: the profile page is already a form).
 *
 * Both go through admin-post.php: `kc_meet_connect_start` and `kc_meet_disconnect`, each with
 * query `doctor_id` and nonce `_wpnonce` (nonce actions `kc_meet_connect_start_{id}` /
 * `kc_meet_disconnect_{id}`), allowed for the doctor themselves (with the doctor role) or a
 * `manage_options` user; anyone else gets `wp_die()` with status 403.
 */
class KC_Meet_Profile {

	use KC_Meet_Redirects;

	/**
	 * admin-post action that starts the Google consent.
	 *
	 * @var string
	 */
	const CONNECT_ACTION = 'kc_meet_connect_start';

	/**
	 * admin-post action that disconnects.
	 *
	 * @var string
	 */
	const DISCONNECT_ACTION = 'kc_meet_disconnect';

	/**
	 * Whether the section is shown for a profile to a viewer.
	 *
	 * @param WP_User|int $profile_user Profile being viewed.
	 * @param int|null    $viewer_id    Viewer (default: current user).
	 * @return bool
	 */
	public static function should_show( $profile_user, $viewer_id = null ) {
		$profile_user = $profile_user instanceof WP_User ? $profile_user : get_userdata( (int) $profile_user );
		if ( ! $profile_user instanceof WP_User ) {
			return false;
		}
		$viewer_id = null === $viewer_id ? get_current_user_id() : (int) $viewer_id;
		if ( ! KC_Meet_Access::can_manage_doctor( $profile_user->ID, $viewer_id ) ) {
			return false;
		}
		return KC_Meet_Access::is_doctor( $profile_user ) || user_can( $viewer_id, KC_Meet_Access::ADMIN_CAP );
	}

	/**
	 * Nonce URL that starts connecting a doctor.
	 *
	 * @param int $doctor_id Doctor.
	 * @return string
	 */
	public static function connect_url( $doctor_id ) {
		return self::action_url( self::CONNECT_ACTION, (int) $doctor_id );
	}

	/**
	 * Nonce URL that disconnects a doctor.
	 *
	 * @param int $doctor_id Doctor.
	 * @return string
	 */
	public static function disconnect_url( $doctor_id ) {
		return self::action_url( self::DISCONNECT_ACTION, (int) $doctor_id );
	}

	/**
	 * The page showing a doctor's profile to a user: profile.php for the doctor themselves,
	 * user-edit.php?user_id=… for a user who may edit them, else (a site administrator of a
	 * network) the Google Meet doctors screen.
	 *
	 * @param int $doctor_id Doctor.
	 * @param int $viewer_id User who will see the page.
	 * @return string
	 */
	public static function profile_url( $doctor_id, $viewer_id ) {
		if ( (int) $doctor_id > 0 && (int) $doctor_id === (int) $viewer_id ) {
			return admin_url( 'profile.php' );
		}
		if ( (int) $doctor_id > 0 && ! user_can( (int) $viewer_id, 'edit_user', (int) $doctor_id ) ) {
			// A site administrator of a network may not open other users' profiles: their doctors screen.
			return add_query_arg( 'page', KC_Meet_Admin_Screens::MENU_SLUG, admin_url( 'admin.php' ) );
		}
		return add_query_arg( 'user_id', (int) $doctor_id, admin_url( 'user-edit.php' ) );
	}

	/**
	 * Human status line for a kc_meet_status() array.
	 *
	 * @param array $status Status.
	 * @return string
	 */
	public static function status_text( array $status ) {
		switch ( $status['status'] ?? '' ) {
			case 'connected':
				return sprintf(
					/* translators: 1: Google account e-mail, 2: calendar id */
					__( 'Connected as %1$s, calendar: %2$s', 'kc-googlemeet' ),
					(string) ( $status['email'] ?? '' ),
					(string) ( $status['calendar_id'] ?? 'primary' )
				);
			case 'needs_reconnect':
				return sprintf(
					/* translators: %s: last error */
					__( 'Needs reconnect: %s', 'kc-googlemeet' ),
					(string) ( $status['last_error'] ?? '' )
				);
			default:
				return __( 'Not connected', 'kc-googlemeet' );
		}
	}

	/**
	 * Renders the profile section.
	 *
	 * @param WP_User $user Profile user.
	 * @return void
	 */
	public function render( $user ) {
		if ( ! self::should_show( $user ) ) {
			return;
		}
		$doctor_id = (int) $user->ID;
		$state     = 'unknown';
		try {
			$status = KC_Meet_Native::status( $doctor_id );
			$state  = (string) ( $status['status'] ?? 'not_connected' );
			$text   = self::status_text( $status );
		} catch ( \Throwable $e ) {
			/* translators: %s: error message */
			$text = sprintf( __( 'Status unavailable: %s', 'kc-googlemeet' ), $e->getMessage() );
		}
		$connect_label = 'not_connected' === $state || 'unknown' === $state
			? __( 'Connect Google Calendar', 'kc-googlemeet' )
			: __( 'Reconnect Google Calendar', 'kc-googlemeet' );
		?>
		<div id="kc-meet-profile" class="kc-meet-profile">
			<h2><?php esc_html_e( 'Google Calendar (Google Meet)', 'kc-googlemeet' ); ?></h2>
			<table class="form-table" role="presentation">
				<tr>
					<th scope="row"><?php esc_html_e( 'Status', 'kc-googlemeet' ); ?></th>
					<td>
						<p id="kc-meet-status" data-status="<?php echo esc_attr( $state ); ?>"><?php echo esc_html( $text ); ?></p>
						<p>
							<a id="kc-meet-connect" class="button button-primary" href="<?php echo esc_url( self::connect_url( $doctor_id ) ); ?>"><?php echo esc_html( $connect_label ); ?></a>
							<?php if ( 'not_connected' !== $state ) : ?>
								<a id="kc-meet-disconnect" class="button" role="button" href="<?php echo esc_url( self::disconnect_url( $doctor_id ) ); ?>"
									onclick="return window.confirm('<?php echo esc_js( __( 'Disconnect Google Calendar? Google access will be revoked.', 'kc-googlemeet' ) ); ?>');"><?php esc_html_e( 'Disconnect', 'kc-googlemeet' ); ?></a>
							<?php endif; ?>
						</p>
						<p class="description"><?php esc_html_e( 'Video consultations get a Google Meet link in this Google Calendar.', 'kc-googlemeet' ); ?></p>
					</td>
				</tr>
			</table>
		</div>
		<?php
	}

	/**
	 * admin-post `kc_meet_connect_start`: nonce, permission, then redirect to Google (to exactly
	 * the URL kc_meet_auth_url() returned).
	 *
	 * @return void
	 */
	public function handle_connect_start() {
		$doctor_id = $this->authorize_request( self::CONNECT_ACTION );
		try {
			$url = KC_Meet_Native::auth_url( $doctor_id, get_current_user_id() );
		} catch ( \Throwable $e ) {
			$this->redirect_back( $doctor_id, 'error', (int) $e->getCode() );
			return;
		}
		// Not wp_safe_redirect(): the target is Google (or the configured auth endpoint).
		$this->redirect_and_exit( $url, true );
	}

	/**
	 * admin-post `kc_meet_disconnect`: nonce, permission, disconnect, redirect back.
	 *
	 * @return void
	 */
	public function handle_disconnect() {
		$doctor_id = $this->authorize_request( self::DISCONNECT_ACTION );
		try {
			KC_Meet_Native::disconnect( $doctor_id );
		} catch ( \Throwable $e ) {
			$this->redirect_back( $doctor_id, 'error', (int) $e->getCode() );
			return;
		}
		$this->redirect_back( $doctor_id, 'disconnected' );
	}

	/**
	 * Checks nonce and permission of an admin-post request; dies with 403 otherwise.
	 *
	 * @param string $action Action name.
	 * @return int The doctor id.
	 */
	protected function authorize_request( $action ) {
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- checked right below.
		$doctor_id = isset( $_REQUEST['doctor_id'] ) ? absint( wp_unslash( $_REQUEST['doctor_id'] ) ) : 0;
		$nonce     = isset( $_REQUEST['_wpnonce'] ) ? sanitize_text_field( wp_unslash( $_REQUEST['_wpnonce'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification.Recommended
		if ( $doctor_id <= 0 || ! wp_verify_nonce( $nonce, $action . '_' . $doctor_id ) ) {
			wp_die(
				esc_html__( 'The link you followed has expired. Please go back to the profile and try again.', 'kc-googlemeet' ),
				esc_html__( 'Forbidden', 'kc-googlemeet' ),
				array( 'response' => 403 )
			);
		}
		if ( ! KC_Meet_Access::can_manage_doctor( $doctor_id ) ) {
			wp_die(
				esc_html__( 'Sorry, you are not allowed to manage this doctor\'s Google Calendar connection.', 'kc-googlemeet' ),
				esc_html__( 'Forbidden', 'kc-googlemeet' ),
				array( 'response' => 403 )
			);
		}
		if ( ! get_userdata( $doctor_id ) ) {
			wp_die( esc_html__( 'Invalid user ID.', 'kc-googlemeet' ), '', array( 'response' => 404 ) );
		}
		return $doctor_id;
	}

	/**
	 * Redirects back to the doctor's profile with a result.
	 *
	 * @param int    $doctor_id Doctor.
	 * @param string $result    connected|denied|disconnected|error.
	 * @param int    $code      Exception code for 'error'.
	 * @return void
	 */
	protected function redirect_back( $doctor_id, $result, $code = 0 ) {
		$args = array( 'kc_meet_result' => $result );
		if ( 'error' === $result ) {
			$args['kc_meet_code'] = (int) $code;
		}
		$this->redirect_and_exit( add_query_arg( $args, self::profile_url( $doctor_id, get_current_user_id() ) ) );
	}

	/**
	 * Builds an admin-post nonce URL (raw, not HTML-escaped).
	 *
	 * @param string $action    Action.
	 * @param int    $doctor_id Doctor.
	 * @return string
	 */
	private static function action_url( $action, $doctor_id ) {
		$url = add_query_arg(
			array(
				'action'    => $action,
				'doctor_id' => $doctor_id,
			),
			admin_url( 'admin-post.php' )
		);
		return add_query_arg( '_wpnonce', wp_create_nonce( $action . '_' . $doctor_id ), $url );
	}
}
