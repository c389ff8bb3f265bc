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
 * Cloud (`#kc-meet-redirect-uri`, read-only), every redirect URI the site serves with the one the
 * client is registered for (`#kc-meet-redirect-uris`, radio `kc_meet_redirect_uri`) and a warning
 * when the stored client was made for another one (`#kc-meet-redirect-mismatch`), and a health box (`#kc-meet-health`, with the
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
 *
 * Two-way sync (with an extension that has it):
 * - the form's selects `#kc-meet-on-google-move` (`apply`|`revert`) and
 *   `#kc-meet-on-google-delete` (`flag`|`cancel`|`recreate`) save
 *   `kc_meet_on_google_move` / `kc_meet_on_google_delete` ({@see KC_Meet_Settings::SYNC_CHOICES});
 * - the "Sync with Google Calendar" box (`#kc-meet-sync`) shows the mode from
 *   `kc_meet_health()['sync_mode']` (`#kc-meet-sync-mode`, attribute `data-mode` = push|polling,
 *   or unavailable) and the push channels (`#kc-meet-channels`: doctor, expiry as a relative
 *   time, state);
 * - the box `#kc-meet-review` lists the appointments whose event the doctor deleted in Google
 *   Calendar ({@see KC_Meet_Sync_Changes::flagged()}), each with a "Dismiss" button posting to
 *   `admin-post.php` with action `kc_meet_dismiss_flag`, `appointment_id` and a nonce (action
 *   `kc_meet_dismiss_flag_{id}`); it needs `manage_options` and redirects back with
 *   `kc_meet_dismissed` = 1.
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
	 * admin-post action (and nonce action prefix) of the Dismiss buttons of the review box.
	 *
	 * @var string
	 */
	const DISMISS_FLAG_ACTION = 'kc_meet_dismiss_flag';

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
	 * kc_meet_health() of this request, or the Throwable it threw (see health()).
	 *
	 * @var array|\Throwable|null
	 */
	private $health = null;

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
		add_action( 'admin_post_' . self::DISMISS_FLAG_ACTION, array( $this, 'handle_dismiss_flag' ) );
	}

	/**
	 * admin-post handler of a Dismiss button of the review box.
	 *
	 * @return void
	 */
	public function handle_dismiss_flag() {
		if ( ! current_user_can( KC_Meet_Access::ADMIN_CAP ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to manage these settings.', 'kc-googlemeet' ), '', array( 'response' => 403 ) );
		}
		// phpcs:ignore WordPress.Security.NonceVerification.Missing -- verified right below (the nonce action contains the id).
		$appointment_id = isset( $_POST['appointment_id'] ) ? absint( wp_unslash( $_POST['appointment_id'] ) ) : 0;
		check_admin_referer( self::DISMISS_FLAG_ACTION . '_' . $appointment_id );
		if ( $appointment_id > 0 ) {
			KC_Meet_Sync_Changes::dismiss( $appointment_id );
		}
		wp_safe_redirect( self::url( array( 'kc_meet_dismissed' => '1' ) ) . '#kc-meet-review' );
		$this->finish();
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
		$redirect  = isset( $_POST['kc_meet_redirect_uri'] ) ? esc_url_raw( wp_unslash( $_POST['kc_meet_redirect_uri'] ) ) : '';
		$sync      = array();
		foreach ( array_keys( KC_Meet_Settings::SYNC_CHOICES ) as $key ) {
			if ( isset( $_POST[ $key ] ) ) {
				$sync[ $key ] = sanitize_key( wp_unslash( $_POST[ $key ] ) );
			}
		}
		// phpcs:enable

		self::save( $client_id, $secret, $sync, $redirect );

		wp_safe_redirect( self::url( array( 'kc_meet_saved' => '1' ) ) );
		$this->finish();
	}

	/**
	 * Saves credentials like the form does: empty secret keeps the stored one; Meet is enabled
	 * when both client ID and secret are set.
	 *
	 * @param string $client_id     Client ID.
	 * @param string $client_secret Client secret ('' keeps).
	 * @param array  $sync          Two-way sync choices by option key (`kc_meet_on_google_move`,
	 *                              `kc_meet_on_google_delete`); missing or invalid ones keep theirs.
	 * @param string $redirect_uri  The redirect URI the client is registered for (one of
	 *                              {@see KC_Meet_Config::redirect_uris()}; '' or another keeps it).
	 * @return array Public view of the settings.
	 */
	public static function save( $client_id, $client_secret, array $sync = array(), $redirect_uri = '' ) {
		$current = KC_Meet_Settings::get();
		$secret  = '' !== trim( (string) $client_secret ) ? (string) $client_secret : $current['client_secret'];
		$changes = array(
			'client_id'     => (string) $client_id,
			'client_secret' => (string) $client_secret,
			'enabled'       => '' !== trim( (string) $client_id ) && '' !== trim( $secret ),
		);
		if ( '' !== (string) $redirect_uri ) {
			$changes['redirect_uri'] = (string) $redirect_uri;
		}
		return KC_Meet_Settings::save( array_merge( KC_Meet_Settings::pick_sync_choices( $sync )['changes'], $changes ) );
	}

	/**
	 * The form rows of the redirect URIs: every URI the site serves (`#kc-meet-redirect-uris`,
	 * radio `kc_meet_redirect_uri`: which one the client is registered for — the vendor add-on's
	 * 4.x route keeps working, so a site that swapped it needs no change in Google Cloud), and a
	 * warning (`#kc-meet-redirect-mismatch`) when the stored client was made for a URI the site
	 * does not serve.
	 *
	 * @return void
	 */
	private static function render_redirect_choice() {
		$current  = KC_Meet_Config::redirect_uri();
		$mismatch = KC_Meet_Settings::redirect_uri_mismatch();
		$labels   = array(
			'kc-meet'  => __( 'kc-meet\'s own callback', 'kc-googlemeet' ),
			'kivicare' => __( 'the callback of the vendor\'s KiviCare Google Meet add-on (4.x), kept for clients registered for it', 'kc-googlemeet' ),
		);
		?>
		<tr>
			<th scope="row"><?php esc_html_e( 'Redirect URIs this site serves', 'kc-googlemeet' ); ?></th>
			<td>
				<ul id="kc-meet-redirect-uris">
					<?php foreach ( KC_Meet_Config::redirect_uris() as $key => $uri ) : ?>
						<li data-key="<?php echo esc_attr( $key ); ?>">
							<label>
								<input type="radio" name="kc_meet_redirect_uri" value="<?php echo esc_attr( $uri ); ?>" <?php checked( null !== KC_Meet_Settings::served_match( $current, array( $key => $uri ) ) ); ?> />
								<code><?php echo esc_html( $uri ); ?></code>
								— <?php echo esc_html( $labels[ $key ] ?? $key ); ?>
							</label>
						</li>
					<?php endforeach; ?>
				</ul>
				<p class="description"><?php esc_html_e( 'Both work. Choose the one registered for this client under "Authorized redirect URIs" in Google Cloud: the connection sends exactly that one.', 'kc-googlemeet' ); ?></p>
				<?php if ( '' !== $mismatch ) : ?>
					<div class="notice notice-error inline" id="kc-meet-redirect-mismatch">
						<p>
							<?php
							echo esc_html(
								sprintf(
									/* translators: %s: redirect URI */
									__( 'The saved Google client was set up for the redirect URI %s, which this site does not serve: connecting would fail with Google\'s "redirect_uri_mismatch". Add one of the URIs above to the client in Google Cloud, choose it here and save.', 'kc-googlemeet' ),
									$mismatch
								)
							);
							?>
						</p>
					</div>
				<?php endif; ?>
			</td>
		</tr>
		<?php
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
					<?php self::render_redirect_choice(); ?>
				</table>
				<?php if ( KC_Meet_Native::has_sync() ) : ?>
					<h2><?php esc_html_e( 'Changes made in Google Calendar', 'kc-googlemeet' ); ?></h2>
					<table class="form-table" role="presentation">
						<?php foreach ( self::sync_choice_fields() as $key => $field ) : ?>
							<tr>
								<th scope="row"><label for="<?php echo esc_attr( $field['id'] ); ?>"><?php echo esc_html( $field['label'] ); ?></label></th>
								<td>
									<select id="<?php echo esc_attr( $field['id'] ); ?>" name="<?php echo esc_attr( $key ); ?>">
										<?php foreach ( $field['options'] as $value => $label ) : ?>
											<option value="<?php echo esc_attr( $value ); ?>" <?php selected( $field['value'], $value ); ?>><?php echo esc_html( $label ); ?></option>
										<?php endforeach; ?>
									</select>
								</td>
							</tr>
						<?php endforeach; ?>
					</table>
				<?php endif; ?>
				<?php submit_button( __( 'Save settings', 'kc-googlemeet' ) ); ?>
			</form>

			<?php $this->render_review(); ?>
			<?php $this->render_health(); ?>
			<?php $this->render_sync(); ?>
			<?php $this->render_jobs(); ?>
		</div>
		<?php
	}

	/**
	 * The two-way sync selects of the form: option key => id, label, options (value => label)
	 * and the current value.
	 *
	 * @return array<string, array{id:string, label:string, options:array<string, string>, value:string}>
	 */
	private static function sync_choice_fields() {
		$settings = KC_Meet_Settings::get();
		return array(
			KC_Meet_Settings::ON_GOOGLE_MOVE   => array(
				'id'      => 'kc-meet-on-google-move',
				'label'   => __( 'When the doctor moves an appointment in Google Calendar', 'kc-googlemeet' ),
				'options' => array(
					'apply'  => __( 'Move the appointment to the new time', 'kc-googlemeet' ),
					'revert' => __( 'Put the event back at the appointment\'s time', 'kc-googlemeet' ),
				),
				'value'   => $settings['on_google_move'],
			),
			KC_Meet_Settings::ON_GOOGLE_DELETE => array(
				'id'      => 'kc-meet-on-google-delete',
				'label'   => __( 'When the doctor deletes an appointment in Google Calendar', 'kc-googlemeet' ),
				'options' => array(
					'flag'     => __( 'Keep the appointment and list it for review here', 'kc-googlemeet' ),
					'cancel'   => __( 'Cancel the appointment', 'kc-googlemeet' ),
					'recreate' => __( 'Create the event again', 'kc-googlemeet' ),
				),
				'value'   => $settings['on_google_delete'],
			),
		);
	}

	/**
	 * kc_meet_health() for this request (asked once), or the Throwable it threw.
	 *
	 * @return array|\Throwable
	 */
	private function health() {
		if ( null === $this->health ) {
			try {
				$health       = KC_Meet_Native::health();
				$this->health = is_array( $health ) ? $health : new UnexpectedValueException( 'kc_meet_health' );
			} catch ( \Throwable $e ) {
				$this->health = $e;
			}
		}
		return $this->health;
	}

	/**
	 * Renders the "Sync with Google Calendar" box (`#kc-meet-sync`): the sync mode
	 * (`#kc-meet-sync-mode`) and the push channels (`#kc-meet-channels`).
	 *
	 * @param array|null $health   A kc_meet_health() array; null asks the extension.
	 * @param array|null $channels kc_meet_channels()['channels']; null asks the extension.
	 * @return void
	 */
	public function render_sync( $health = null, $channels = null ) {
		if ( ! KC_Meet_Native::has_sync() ) {
			return;
		}
		$health = null === $health ? $this->health() : $health;
		$mode   = is_array( $health ) && isset( $health['sync_mode'] ) && in_array( $health['sync_mode'], array( 'push', 'polling' ), true )
			? (string) $health['sync_mode'] : 'unavailable';
		$error  = null;
		if ( null === $channels ) {
			try {
				$channels = KC_Meet_Native::channels( 0 )['channels'] ?? array();
			} catch ( \Throwable $e ) {
				$error    = $e->getMessage();
				$channels = array();
			}
		}
		$channels = is_array( $channels ) ? $channels : array();
		$texts    = array(
			'push'        => __( 'Push notifications (changes arrive within seconds)', 'kc-googlemeet' ),
			'polling'     => __( 'Polling every 5 minutes — the site is not reachable over HTTPS, so Google cannot notify it', 'kc-googlemeet' ),
			'unavailable' => __( 'Unknown: the kc_meet extension did not report the sync mode.', 'kc-googlemeet' ),
		);
		?>
		<div id="kc-meet-sync" class="card" style="max-width:none">
			<h2><?php esc_html_e( 'Sync with Google Calendar', 'kc-googlemeet' ); ?></h2>
			<p>
				<?php esc_html_e( 'Sync mode:', 'kc-googlemeet' ); ?>
				<strong id="kc-meet-sync-mode" data-mode="<?php echo esc_attr( $mode ); ?>"><?php echo esc_html( $texts[ $mode ] ); ?></strong>
			</p>
			<?php if ( null !== $error ) : ?>
				<p class="kc-meet-channels-error"><?php echo esc_html( $error ); ?></p>
			<?php endif; ?>
			<h3><?php esc_html_e( 'Push channels', 'kc-googlemeet' ); ?></h3>
			<table id="kc-meet-channels" class="widefat striped">
				<thead>
					<tr>
						<th scope="col"><?php esc_html_e( 'Doctor', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Expires', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'State', 'kc-googlemeet' ); ?></th>
					</tr>
				</thead>
				<tbody>
					<?php if ( empty( $channels ) ) : ?>
						<tr class="kc-meet-no-channels"><td colspan="3"><?php esc_html_e( 'No push channels.', 'kc-googlemeet' ); ?></td></tr>
					<?php endif; ?>
					<?php
					foreach ( $channels as $channel ) :
						$doctor_id = (int) ( $channel['doctor_id'] ?? 0 );
						$expires   = (int) floor( (int) ( $channel['expires_at'] ?? 0 ) / 1000 );
						?>
						<tr class="kc-meet-channel" data-channel-id="<?php echo esc_attr( (string) ( $channel['channel_id'] ?? '' ) ); ?>" data-doctor-id="<?php echo esc_attr( (string) $doctor_id ); ?>" data-state="<?php echo esc_attr( (string) ( $channel['state'] ?? '' ) ); ?>">
							<td><?php echo esc_html( self::user_name( $doctor_id ) ); ?></td>
							<td title="<?php echo esc_attr( self::date_time( $expires ) ); ?>"><?php echo esc_html( self::relative_time( $expires ) ); ?></td>
							<td><?php echo esc_html( (string) ( $channel['state'] ?? '' ) ); ?></td>
						</tr>
					<?php endforeach; ?>
				</tbody>
			</table>
		</div>
		<?php
	}

	/**
	 * Renders the review box (`#kc-meet-review`): appointments whose event the doctor deleted in
	 * Google Calendar.
	 *
	 * @param array|null $flagged KC_Meet_Sync_Changes::flagged(); null reads it.
	 * @return void
	 */
	public function render_review( $flagged = null ) {
		if ( ! KC_Meet_Native::has_sync() ) {
			return;
		}
		$flagged = is_array( $flagged ) ? $flagged : KC_Meet_Sync_Changes::flagged();
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- display only.
		$dismissed = isset( $_GET['kc_meet_dismissed'] );
		?>
		<div id="kc-meet-review" class="card" style="max-width:none" data-count="<?php echo esc_attr( (string) count( $flagged ) ); ?>">
			<h2><?php esc_html_e( 'Deleted in Google Calendar by the doctor — review these appointments', 'kc-googlemeet' ); ?></h2>
			<?php if ( $dismissed ) : ?>
				<div class="notice notice-success inline"><p><?php esc_html_e( 'The appointment was removed from the list.', 'kc-googlemeet' ); ?></p></div>
			<?php endif; ?>
			<p class="description"><?php esc_html_e( 'The doctor deleted the Google Calendar event of these appointments. The appointments were kept and have no Google Meet link now: cancel or reschedule them in KiviCare (or tell the patient), then dismiss them here.', 'kc-googlemeet' ); ?></p>
			<table class="widefat striped">
				<thead>
					<tr>
						<th scope="col"><?php esc_html_e( 'Appointment', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Date', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Doctor', 'kc-googlemeet' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Deleted in Google', 'kc-googlemeet' ); ?></th>
						<th scope="col"><span class="screen-reader-text"><?php esc_html_e( 'Dismiss', 'kc-googlemeet' ); ?></span></th>
					</tr>
				</thead>
				<tbody>
					<?php if ( empty( $flagged ) ) : ?>
						<tr class="kc-meet-no-review"><td colspan="5"><?php esc_html_e( 'Nothing to review.', 'kc-googlemeet' ); ?></td></tr>
					<?php endif; ?>
					<?php
					foreach ( $flagged as $entry ) :
						$appointment_id = (int) $entry['appointment_id'];
						$row            = KC_Meet_Appointment_Data::row( $appointment_id );
						$when           = null !== $row ? trim( (string) ( $row['appointment_start_date'] ?? '' ) . ' ' . (string) ( $row['appointment_start_time'] ?? '' ) ) : '';
						?>
						<tr class="kc-meet-review-item" data-appointment-id="<?php echo esc_attr( (string) $appointment_id ); ?>" data-doctor-id="<?php echo esc_attr( (string) (int) $entry['doctor_id'] ); ?>">
							<td><?php echo esc_html( '#' . $appointment_id ); ?></td>
							<td>
								<?php
								if ( null === $row ) {
									esc_html_e( '(appointment deleted)', 'kc-googlemeet' );
								} elseif ( '' !== $when ) {
									echo esc_html( mysql2date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), $when ) );
								}
								?>
							</td>
							<td><?php echo esc_html( self::user_name( (int) $entry['doctor_id'] ) ); ?></td>
							<td title="<?php echo esc_attr( self::date_time( (int) $entry['flagged_at'] ) ); ?>"><?php echo esc_html( self::relative_time( (int) $entry['flagged_at'] ) ); ?></td>
							<td>
								<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
									<input type="hidden" name="action" value="<?php echo esc_attr( self::DISMISS_FLAG_ACTION ); ?>" />
									<input type="hidden" name="appointment_id" value="<?php echo esc_attr( (string) $appointment_id ); ?>" />
									<input type="hidden" name="_wpnonce" value="<?php echo esc_attr( wp_create_nonce( self::DISMISS_FLAG_ACTION . '_' . $appointment_id ) ); ?>" />
									<button type="submit" class="button kc-meet-dismiss"><?php esc_html_e( 'Dismiss', 'kc-googlemeet' ); ?></button>
								</form>
							</td>
						</tr>
					<?php endforeach; ?>
				</tbody>
			</table>
		</div>
		<?php
	}

	/**
	 * Display name of a user, or "User #id".
	 *
	 * @param int $user_id User.
	 * @return string
	 */
	private static function user_name( $user_id ) {
		$user = $user_id > 0 ? get_userdata( $user_id ) : false;
		/* translators: %d: user id */
		return $user ? (string) $user->display_name : sprintf( __( 'User #%d', 'kc-googlemeet' ), (int) $user_id );
	}

	/**
	 * A unix time relative to now: "in 6 days", "3 mins ago".
	 *
	 * @param int $timestamp Unix time.
	 * @return string
	 */
	private static function relative_time( $timestamp ) {
		if ( $timestamp <= 0 ) {
			return '—';
		}
		$now = time();
		if ( $timestamp >= $now ) {
			/* translators: %s: time span, e.g. "6 days" */
			return sprintf( __( 'in %s', 'kc-googlemeet' ), human_time_diff( $now, $timestamp ) );
		}
		/* translators: %s: time span, e.g. "3 mins" */
		return sprintf( __( '%s ago', 'kc-googlemeet' ), human_time_diff( $timestamp, $now ) );
	}

	/**
	 * A unix time in the site's time zone and formats.
	 *
	 * @param int $timestamp Unix time.
	 * @return string
	 */
	private static function date_time( $timestamp ) {
		if ( $timestamp <= 0 ) {
			return '';
		}
		return (string) wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), $timestamp );
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
			$health = $this->health();
			if ( $health instanceof \Throwable ) {
				$error  = $health->getMessage();
				$health = null;
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
						$name      = self::user_name( $doctor_id );
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
