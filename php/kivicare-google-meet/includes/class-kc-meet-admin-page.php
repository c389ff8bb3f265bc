<?php
/**
 * Settings page (Settings → KiviCare Google Meet).
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Settings → KiviCare Google Meet (`options-general.php?page=kc-meet`, `manage_options` only).
 *
 * The form (`#kc-meet-settings-form`) posts to `admin-post.php` with action
 * `kc_meet_save_settings` and a nonce; it saves the client ID (`#kc-meet-client-id`) and the
 * client secret (`#kc-meet-client-secret`, a password field that is never filled in: empty
 * keeps the stored secret) into `kiviCare_google_meet_setting` ({@see KC_Meet_Settings::save()};
 * Meet is marked enabled when both are set). It shows the redirect URI to register in Google
 * Cloud (`#kc-meet-redirect-uri`, read-only) and a health box (`#kc-meet-health`, with the
 * problems list `#kc-meet-problems` and the doctors table `#kc-meet-doctors`).
 *
 * The "Sync problems" box (`#kc-meet-jobs`, attribute `data-queued` = number of queued jobs)
 * lists the failed background jobs (`#kc-meet-failed-jobs`: appointment, action, attempts,
 * last error, a "Retry" button) and the recent event failures kept by {@see KC_Meet_Events}
 * (`#kc-meet-recent-errors`, with a "Clear" button). Retry posts to `admin-post.php` with action
 * `kc_meet_retry_job`, `job_id` and a nonce (action `kc_meet_retry_job_{id}`) →
 * kc_meet_retry_job(); Clear posts action `kc_meet_clear_errors` with its nonce. Both need
 * `manage_options` and redirect back with `kc_meet_retry` = queued|error (+ `kc_meet_code`) /
 * `kc_meet_cleared` = 1.
 */
class KC_Meet_Admin_Page {

	/**
	 * Page slug.
	 *
	 * @var string
	 */
	const SLUG = 'kc-meet';

	/**
	 * admin-post action and nonce action of the form.
	 *
	 * @var string
	 */
	const SAVE_ACTION = 'kc_meet_save_settings';

	/**
	 * admin-post action (and nonce action prefix) of the Retry buttons.
	 *
	 * @var string
	 */
	const RETRY_ACTION = 'kc_meet_retry_job';

	/**
	 * admin-post action and nonce action of the Clear button of recent errors.
	 *
	 * @var string
	 */
	const CLEAR_ERRORS_ACTION = 'kc_meet_clear_errors';

	/**
	 * How many failed jobs the box lists; how many queued jobs it counts exactly.
	 *
	 * @var int
	 */
	const JOBS_SHOWN = 50;

	/**
	 * Queued jobs counted before showing "N+".
	 *
	 * @var int
	 */
	const QUEUED_COUNTED = 500;

	/**
	 * Hooks the page.
	 *
	 * @return void
	 */
	public function register() {
		add_action( 'admin_menu', array( $this, 'add_menu' ) );
		add_action( 'admin_post_' . self::SAVE_ACTION, array( $this, 'handle_save' ) );
		add_action( 'admin_post_' . self::RETRY_ACTION, array( $this, 'handle_retry' ) );
		add_action( 'admin_post_' . self::CLEAR_ERRORS_ACTION, array( $this, 'handle_clear_errors' ) );
	}

	/**
	 * admin-post handler of a Retry button: capability, nonce, kc_meet_retry_job(), redirect back.
	 *
	 * @return void
	 */
	public function handle_retry() {
		if ( ! current_user_can( KC_Meet_Access::ADMIN_CAP ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to manage these settings.', 'kc-googlemeet' ), '', array( 'response' => 403 ) );
		}
		// phpcs:ignore WordPress.Security.NonceVerification.Missing -- verified right below (the nonce action contains the id).
		$job_id = isset( $_POST['job_id'] ) ? absint( wp_unslash( $_POST['job_id'] ) ) : 0;
		check_admin_referer( self::RETRY_ACTION . '_' . $job_id );
		$args = array( 'kc_meet_retry' => 'queued' );
		try {
			if ( $job_id <= 0 ) {
				throw new InvalidArgumentException( 'job id', 5001 );
			}
			KC_Meet_Native::retry_job( $job_id );
		} catch ( \Throwable $e ) {
			$args = array(
				'kc_meet_retry' => 'error',
				'kc_meet_code'  => (int) $e->getCode(),
			);
		}
		wp_safe_redirect( self::url( $args ) . '#kc-meet-jobs' );
		$this->finish();
	}

	/**
	 * admin-post handler of the Clear button of recent errors.
	 *
	 * @return void
	 */
	public function handle_clear_errors() {
		if ( ! current_user_can( KC_Meet_Access::ADMIN_CAP ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to manage these settings.', 'kc-googlemeet' ), '', array( 'response' => 403 ) );
		}
		check_admin_referer( self::CLEAR_ERRORS_ACTION );
		KC_Meet_Events::clear_errors();
		wp_safe_redirect( self::url( array( 'kc_meet_cleared' => '1' ) ) . '#kc-meet-jobs' );
		$this->finish();
	}

	/**
	 * Adds the submenu under Settings.
	 *
	 * @return void
	 */
	public function add_menu() {
		add_options_page(
			__( 'KiviCare Google Meet', 'kc-googlemeet' ),
			__( 'KiviCare Google Meet', 'kc-googlemeet' ),
			KC_Meet_Access::ADMIN_CAP,
			self::SLUG,
			array( $this, 'render' )
		);
	}

	/**
	 * URL of the page.
	 *
	 * @param array $args Extra query arguments.
	 * @return string
	 */
	public static function url( array $args = array() ) {
		return add_query_arg( array_merge( array( 'page' => self::SLUG ), $args ), admin_url( 'options-general.php' ) );
	}

	/**
	 * admin-post handler of the form: capability, nonce, save, redirect back.
	 *
	 * @return void
	 */
	public function handle_save() {
		if ( ! current_user_can( KC_Meet_Access::ADMIN_CAP ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to manage these settings.', 'kc-googlemeet' ), '', array( 'response' => 403 ) );
		}
		check_admin_referer( self::SAVE_ACTION );

		// phpcs:disable WordPress.Security.NonceVerification.Missing -- verified above.
		$client_id = isset( $_POST['kc_meet_client_id'] ) ? sanitize_text_field( wp_unslash( $_POST['kc_meet_client_id'] ) ) : '';
		$secret    = isset( $_POST['kc_meet_client_secret'] ) ? trim( (string) wp_unslash( $_POST['kc_meet_client_secret'] ) ) : ''; // phpcs:ignore WordPress.Security.ValidatedSanitizedInput.InputNotSanitized -- a secret: cleaned by KC_Meet_Settings::save().
		// phpcs:enable

		self::save( $client_id, $secret );

		wp_safe_redirect( self::url( array( 'kc_meet_saved' => '1' ) ) );
		$this->finish();
	}

	/**
	 * Saves credentials like the form does: empty secret keeps the stored one; Meet is enabled
	 * when both client ID and secret are set.
	 *
	 * @param string $client_id     Client ID.
	 * @param string $client_secret Client secret ('' keeps).
	 * @return array Public view of the settings.
	 */
	public static function save( $client_id, $client_secret ) {
		$current = KC_Meet_Settings::get();
		$secret  = '' !== trim( (string) $client_secret ) ? (string) $client_secret : $current['client_secret'];
		return KC_Meet_Settings::save(
			array(
				'client_id'     => (string) $client_id,
				'client_secret' => (string) $client_secret,
				'enabled'       => '' !== trim( (string) $client_id ) && '' !== trim( $secret ),
			)
		);
	}

	/**
	 * Renders the page.
	 *
	 * @return void
	 */
	public function render() {
		if ( ! current_user_can( KC_Meet_Access::ADMIN_CAP ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to manage these settings.', 'kc-googlemeet' ), '', array( 'response' => 403 ) );
		}
		$settings = KC_Meet_Settings::get();
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- display only.
		$saved = isset( $_GET['kc_meet_saved'] );
		?>
		<div class="wrap" id="kc-meet-settings">
			<h1><?php esc_html_e( 'KiviCare Google Meet', 'kc-googlemeet' ); ?></h1>
			<?php if ( $saved ) : ?>
				<div class="notice notice-success is-dismissible"><p><?php esc_html_e( 'Settings saved.', 'kc-googlemeet' ); ?></p></div>
			<?php endif; ?>

			<form id="kc-meet-settings-form" method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
				<input type="hidden" name="action" value="<?php echo esc_attr( self::SAVE_ACTION ); ?>" />
				<?php wp_nonce_field( self::SAVE_ACTION ); ?>
				<table class="form-table" role="presentation">
					<tr>
						<th scope="row"><label for="kc-meet-client-id"><?php esc_html_e( 'Client ID', 'kc-googlemeet' ); ?></label></th>
						<td>
							<input type="text" class="regular-text code" id="kc-meet-client-id" name="kc_meet_client_id" value="<?php echo esc_attr( $settings['client_id'] ); ?>" autocomplete="off" spellcheck="false" />
							<p class="description"><?php esc_html_e( 'OAuth 2.0 client ID (type "Web application") from Google Cloud Console → APIs & Services → Credentials.', 'kc-googlemeet' ); ?></p>
						</td>
					</tr>
					<tr>
						<th scope="row"><label for="kc-meet-client-secret"><?php esc_html_e( 'Client secret', 'kc-googlemeet' ); ?></label></th>
						<td>
							<input type="password" class="regular-text code" id="kc-meet-client-secret" name="kc_meet_client_secret" value="" autocomplete="new-password" spellcheck="false"
								placeholder="<?php echo esc_attr( '' !== $settings['client_secret'] ? __( '(saved)', 'kc-googlemeet' ) : '' ); ?>" />
							<p class="description"><?php esc_html_e( 'Leave empty to keep the saved secret.', 'kc-googlemeet' ); ?></p>
						</td>
					</tr>
					<tr>
						<th scope="row"><label for="kc-meet-redirect-uri"><?php esc_html_e( 'Authorized redirect URI', 'kc-googlemeet' ); ?></label></th>
						<td>
							<input type="text" class="large-text code" id="kc-meet-redirect-uri" value="<?php echo esc_attr( KC_Meet_Config::redirect_uri() ); ?>" readonly="readonly" onfocus="this.select();" />
							<p class="description"><?php esc_html_e( 'Add exactly this URI to the client\'s "Authorized redirect URIs" in Google Cloud, and enable the Google Calendar API.', 'kc-googlemeet' ); ?></p>
						</td>
					</tr>
				</table>
				<?php submit_button( __( 'Save settings', 'kc-googlemeet' ) ); ?>
			</form>

			<?php $this->render_health(); ?>
			<?php $this->render_jobs(); ?>
		</div>
		<?php
	}

	/**
	 * Renders the health box (`#kc-meet-health`).
	 *
	 * @param array|null $health A kc_meet_health() array; null asks the extension.
	 * @return void
	 */
	public function render_health( $health = null ) {
		$error = null;
		if ( null === $health ) {
			try {
				$health = KC_Meet_Native::health();
			} catch ( \Throwable $e ) {
				$error = $e->getMessage();
			}
		}
		?>
		<div id="kc-meet-health" class="card" style="max-width:none">
			<h2><?php esc_html_e( 'Health', 'kc-googlemeet' ); ?></h2>
			<?php if ( null !== $error || ! is_array( $health ) ) : ?>
				<p class="kc-meet-health-error"><?php echo esc_html( (string) $error ); ?></p>
				<ul id="kc-meet-problems"><li class="kc-meet-problem" data-code="unavailable"><?php echo esc_html__( 'The kc_meet extension is not usable on this site.', 'kc-googlemeet' ); ?></li></ul>
				<table id="kc-meet-doctors" class="widefat striped"><tbody><tr class="kc-meet-no-doctors"><td><?php esc_html_e( 'Doctor status is unavailable.', 'kc-googlemeet' ); ?></td></tr></tbody></table>
			</div>
				<?php
				return;
			endif;

			$db       = isset( $health['db'] ) && is_array( $health['db'] ) ? $health['db'] : array();
			$problems = isset( $health['problems'] ) && is_array( $health['problems'] ) ? $health['problems'] : array();
			$doctors  = isset( $health['doctors'] ) && is_array( $health['doctors'] ) ? $health['doctors'] : array();
			$yes      = __( 'yes', 'kc-googlemeet' );
			$no       = __( 'no', 'kc-googlemeet' );
			?>
			<table class="widefat striped" role="presentation">
				<tbody>
					<tr><th scope="row"><?php esc_html_e( 'Extension version', 'kc-googlemeet' ); ?></th><td class="kc-meet-version"><?php echo esc_html( (string) ( $health['version'] ?? '' ) ); ?></td></tr>
					<tr><th scope="row"><?php esc_html_e( 'Configured', 'kc-googlemeet' ); ?></th><td class="kc-meet-configured"><?php echo esc_html( ! empty( $health['configured'] ) ? $yes : $no ); ?></td></tr>
					<tr>
						<th scope="row"><?php esc_html_e( 'Database reachable', 'kc-googlemeet' ); ?></th>
						<td class="kc-meet-db">
							<?php
							echo esc_html( ! empty( $db['reachable'] ) ? $yes : $no );
							if ( ! empty( $db['error'] ) ) {
								echo ' — ' . esc_html( (string) $db['error'] );
							}
							?>
						</td>
					</tr>
					<tr>
						<th scope="row"><?php esc_html_e( 'Schema version', 'kc-googlemeet' ); ?></th>
						<td class="kc-meet-schema">
							<?php
							printf(
								/* translators: 1: installed schema version, 2: expected schema version */
								esc_html__( '%1$s (expected %2$s)', 'kc-googlemeet' ),
								esc_html( isset( $health['schema_version'] ) ? (string) $health['schema_version'] : __( 'none', 'kc-googlemeet' ) ),
								esc_html( (string) ( $health['schema_expected'] ?? '' ) )
							);
							?>
						</td>
					</tr>
					<?php if ( ! empty( $health['endpoints'] ) && is_array( $health['endpoints'] ) ) : ?>
						<tr>
							<th scope="row"><?php esc_html_e( 'Google endpoints', 'kc-googlemeet' ); ?></th>
							<td class="kc-meet-endpoints">
								<?php foreach ( $health['endpoints'] as $name => $url ) : ?>
									<code><?php echo esc_html( $name . ': ' . ( is_scalar( $url ) ? (string) $url : '' ) ); ?></code><br />
								<?php endforeach; ?>
							</td>
						</tr>
					<?php endif; ?>
				</tbody>
			</table>

			<h3><?php esc_html_e( 'Problems', 'kc-googlemeet' ); ?></h3>
			<ul id="kc-meet-problems">
				<?php if ( empty( $problems ) ) : ?>
					<li class="kc-meet-no-problems"><?php esc_html_e( 'No problems found.', 'kc-googlemeet' ); ?></li>
				<?php endif; ?>
				<?php foreach ( $problems as $problem ) : ?>
					<li class="kc-meet-problem" data-code="<?php echo esc_attr( (string) ( $problem['code'] ?? '' ) ); ?>">
						<code><?php echo esc_html( (string) ( $problem['code'] ?? '' ) ); ?></code>
						<?php echo esc_html( (string) ( $problem['message'] ?? '' ) ); ?>
					</li>
				<?php endforeach; ?>
			</ul>

			<h3><?php esc_html_e( 'Doctors', 'kc-googlemeet' ); ?></h3>
			<table id="kc-meet-doctors" class="widefat striped">
				<thead>
					<tr>
						<th scope="col"><?php esc_html_e( 'Doctor', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Status', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Google account', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Last error', 'kc-googlemeet' ); ?></th>
					</tr>
				</thead>
				<tbody>
					<?php if ( empty( $doctors ) ) : ?>
						<tr class="kc-meet-no-doctors"><td colspan="4"><?php esc_html_e( 'No doctor has connected Google Calendar yet.', 'kc-googlemeet' ); ?></td></tr>
					<?php endif; ?>
					<?php
					foreach ( $doctors as $doctor ) :
						$doctor_id = (int) ( $doctor['doctor_id'] ?? 0 );
						$user      = get_userdata( $doctor_id );
						/* translators: %d: user id */
						$name = $user ? $user->display_name : sprintf( __( 'User #%d', 'kc-googlemeet' ), $doctor_id );
						?>
						<tr class="kc-meet-doctor" data-doctor-id="<?php echo esc_attr( (string) $doctor_id ); ?>" data-status="<?php echo esc_attr( (string) ( $doctor['status'] ?? '' ) ); ?>">
							<td><?php echo esc_html( $name ); ?></td>
							<td><?php echo esc_html( self::status_label( (string) ( $doctor['status'] ?? '' ) ) ); ?></td>
							<td><?php echo esc_html( (string) ( $doctor['email'] ?? '' ) ); ?></td>
							<td><?php echo esc_html( (string) ( $doctor['last_error'] ?? '' ) ); ?></td>
						</tr>
					<?php endforeach; ?>
				</tbody>
			</table>
		</div>
		<?php
	}

	/**
	 * Renders the "Sync problems" box (`#kc-meet-jobs`).
	 *
	 * @param array|null $failed Failed jobs (kc_meet_jobs()['jobs']); null asks the extension.
	 * @param int|null   $queued Number of queued jobs; null asks the extension.
	 * @return void
	 */
	public function render_jobs( $failed = null, $queued = null ) {
		$error = null;
		if ( null === $failed || null === $queued ) {
			try {
				$failed = KC_Meet_Native::jobs(
					array(
						'state' => 'failed',
						'limit' => self::JOBS_SHOWN,
					)
				)['jobs'] ?? array();
				$queued = count(
					KC_Meet_Native::jobs(
						array(
							'state' => 'queued',
							'limit' => self::QUEUED_COUNTED,
						)
					)['jobs'] ?? array()
				);
			} catch ( \Throwable $e ) {
				$error  = $e->getMessage();
				$failed = array();
				$queued = 0;
			}
		}
		$failed = is_array( $failed ) ? $failed : array();
		$queued = (int) $queued;
		$errors = array_reverse( KC_Meet_Events::recent_errors() );
		// phpcs:disable WordPress.Security.NonceVerification.Recommended -- display only, fixed messages.
		$retry   = isset( $_GET['kc_meet_retry'] ) ? sanitize_key( wp_unslash( $_GET['kc_meet_retry'] ) ) : '';
		$code    = isset( $_GET['kc_meet_code'] ) ? absint( $_GET['kc_meet_code'] ) : 0;
		$cleared = isset( $_GET['kc_meet_cleared'] );
		// phpcs:enable
		?>
		<div id="kc-meet-jobs" class="card" style="max-width:none" data-queued="<?php echo esc_attr( (string) $queued ); ?>">
			<h2><?php esc_html_e( 'Sync problems', 'kc-googlemeet' ); ?></h2>
			<?php if ( 'queued' === $retry ) : ?>
				<div class="notice notice-success inline kc-meet-retry-result"><p><?php esc_html_e( 'The job was queued again; it runs within a minute.', 'kc-googlemeet' ); ?></p></div>
			<?php elseif ( 'error' === $retry ) : ?>
				<div class="notice notice-error inline kc-meet-retry-result"><p><?php echo esc_html( KC_Meet_Messages::for_code( $code ) ); ?></p></div>
			<?php endif; ?>
			<?php if ( $cleared ) : ?>
				<div class="notice notice-success inline"><p><?php esc_html_e( 'Recent errors cleared.', 'kc-googlemeet' ); ?></p></div>
			<?php endif; ?>
			<?php if ( null !== $error ) : ?>
				<p class="kc-meet-jobs-error"><?php echo esc_html( $error ); ?></p>
			<?php endif; ?>
			<p class="kc-meet-queued">
				<?php
				$shown = $queued >= self::QUEUED_COUNTED ? self::QUEUED_COUNTED . '+' : (string) $queued;
				printf(
					/* translators: %s: number of jobs */
					esc_html__( 'Google writes waiting in the queue: %s', 'kc-googlemeet' ),
					'<strong>' . esc_html( $shown ) . '</strong>'
				);
				?>
			</p>

			<h3><?php esc_html_e( 'Failed jobs', 'kc-googlemeet' ); ?></h3>
			<table id="kc-meet-failed-jobs" class="widefat striped">
				<thead>
					<tr>
						<th scope="col"><?php esc_html_e( 'Appointment', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Action', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Attempts', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Last error', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Updated', 'kc-googlemeet' ); ?></th>
						<th scope="col"><span class="screen-reader-text"><?php esc_html_e( 'Retry', 'kc-googlemeet' ); ?></span></th>
					</tr>
				</thead>
				<tbody>
					<?php if ( empty( $failed ) ) : ?>
						<tr class="kc-meet-no-failed-jobs"><td colspan="6"><?php esc_html_e( 'No failed jobs.', 'kc-googlemeet' ); ?></td></tr>
					<?php endif; ?>
					<?php
					foreach ( $failed as $job ) :
						$job_id = (int) ( $job['id'] ?? 0 );
						?>
						<tr class="kc-meet-failed-job" data-job-id="<?php echo esc_attr( (string) $job_id ); ?>" data-appointment-id="<?php echo esc_attr( (string) (int) ( $job['appointment_id'] ?? 0 ) ); ?>">
							<td><?php echo esc_html( '#' . (int) ( $job['appointment_id'] ?? 0 ) ); ?></td>
							<td><?php echo esc_html( (string) ( $job['action'] ?? '' ) ); ?></td>
							<td><?php echo esc_html( (string) (int) ( $job['attempts'] ?? 0 ) ); ?></td>
							<td class="kc-meet-last-error"><?php echo esc_html( (string) ( $job['last_error'] ?? '' ) ); ?></td>
							<td><?php echo esc_html( (string) ( $job['updated_at'] ?? '' ) ); ?></td>
							<td>
								<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
									<input type="hidden" name="action" value="<?php echo esc_attr( self::RETRY_ACTION ); ?>" />
									<input type="hidden" name="job_id" value="<?php echo esc_attr( (string) $job_id ); ?>" />
									<input type="hidden" name="_wpnonce" value="<?php echo esc_attr( wp_create_nonce( self::RETRY_ACTION . '_' . $job_id ) ); ?>" />
									<button type="submit" class="button kc-meet-retry"><?php esc_html_e( 'Retry', 'kc-googlemeet' ); ?></button>
								</form>
							</td>
						</tr>
					<?php endforeach; ?>
				</tbody>
			</table>

			<h3><?php esc_html_e( 'Recent errors', 'kc-googlemeet' ); ?></h3>
			<table id="kc-meet-recent-errors" class="widefat striped">
				<thead>
					<tr>
						<th scope="col"><?php esc_html_e( 'Time (UTC)', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Appointment', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Action', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Error', 'kc-googlemeet' ); ?></th>
					</tr>
				</thead>
				<tbody>
					<?php if ( empty( $errors ) ) : ?>
						<tr class="kc-meet-no-recent-errors"><td colspan="4"><?php esc_html_e( 'No recent errors.', 'kc-googlemeet' ); ?></td></tr>
					<?php endif; ?>
					<?php foreach ( $errors as $entry ) : ?>
						<tr class="kc-meet-recent-error" data-appointment-id="<?php echo esc_attr( (string) $entry['appointment_id'] ); ?>" data-code="<?php echo esc_attr( (string) $entry['code'] ); ?>">
							<td><?php echo esc_html( $entry['time'] ); ?></td>
							<td><?php echo esc_html( $entry['appointment_id'] > 0 ? '#' . $entry['appointment_id'] : '—' ); ?></td>
							<td><?php echo esc_html( $entry['action'] ); ?></td>
							<td>
								<?php
								echo esc_html( sprintf( '%s (code %d)', $entry['message'], $entry['code'] ) );
								if ( $entry['count'] > 1 ) {
									echo ' ' . esc_html( '×' . $entry['count'] );
								}
								?>
							</td>
						</tr>
					<?php endforeach; ?>
				</tbody>
			</table>
			<?php if ( ! empty( $errors ) ) : ?>
				<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
					<input type="hidden" name="action" value="<?php echo esc_attr( self::CLEAR_ERRORS_ACTION ); ?>" />
					<?php wp_nonce_field( self::CLEAR_ERRORS_ACTION ); ?>
					<p><button type="submit" class="button" id="kc-meet-clear-errors"><?php esc_html_e( 'Clear', 'kc-googlemeet' ); ?></button></p>
				</form>
			<?php endif; ?>
		</div>
		<?php
	}

	/**
	 * Human label of a status.
	 *
	 * @param string $status connected|not_connected|needs_reconnect.
	 * @return string
	 */
	public static function status_label( $status ) {
		switch ( $status ) {
			case 'connected':
				return __( 'Connected', 'kc-googlemeet' );
			case 'needs_reconnect':
				return __( 'Needs reconnect', 'kc-googlemeet' );
			case 'not_connected':
				return __( 'Not connected', 'kc-googlemeet' );
			default:
				return $status;
		}
	}

	/**
	 * Ends the request after a redirect.
	 *
	 * @return void
	 */
	protected function finish() {
		exit;
	}
}
