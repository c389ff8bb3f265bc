<?php
/**
 * Settings page (Settings → KiviCare Google Meet).
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Settings → KiviCare Google Meet (`options-general.php?page=kc-meet`, `manage_options` only),
 * also the "Settings" item of kc-meet's "Google Meet" menu.
 *
 * The form (`#kc-meet-settings-form`) is made with WordPress's Settings API: it posts to
 * options.php (settings group {@see KC_Meet_Settings::GROUP}, its nonce and capability), whose
 * sanitize callbacks are the one validator ({@see KC_Meet_Settings::register()}); WordPress
 * shows the result (`settings_errors()`, called for pages under Settings by options-head.php)
 * and, after a refused save, the fields show what was typed again — never the secret. Sections
 * and fields (ids for tests and support):
 * - Google Meet: the switch `#kc-meet-enabled` (see {@see KC_Meet_Settings} for the one rule of
 *   "enabled"), `#kc-meet-client-id`, `#kc-meet-client-secret` (write-only: never filled in, a
 *   placeholder says whether one is saved, `#kc-meet-secret-state`; empty keeps it),
 *   `#kc-meet-app-name`;
 * - Addresses to register in Google Cloud: the redirect URI sent to Google
 *   (`#kc-meet-redirect-uri`, read-only), every redirect URI the site serves with the one the
 *   client is registered for (`#kc-meet-redirect-uris`, radios) and a warning when the stored
 *   client was made for another one (`#kc-meet-redirect-mismatch`), and the push URL
 *   (`#kc-meet-notify-url`); each with a Copy button (`.kc-meet-copy`,
 *   assets/js/kc-meet-settings.js; without JavaScript the buttons stay hidden and the read-only
 *   fields can be selected and copied by hand);
 * - Changes made in Google Calendar: `#kc-meet-on-google-move` (apply|revert) and
 *   `#kc-meet-on-google-delete` (flag|cancel|recreate), radios with one sentence each;
 * - WooCommerce payment: `#kc-meet-woo-payment` (`kiviCare_woocommerce_payment` on|off) and
 *   `#kc-meet-woo-unpaid-minutes` (`kc_meet_woo_unpaid_minutes`).
 * Below the form: the review box, the health box (`#kc-meet-health`, with the problems list
 * `#kc-meet-problems` and the doctors table `#kc-meet-doctors`), the sync box and the jobs box.
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
 * Two-way sync:
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

	use KC_Meet_Redirects;

	/**
	 * Page slug.
	 *
	 * @var string
	 */
	const SLUG = 'kc-meet';

	/**
	 * Handle of the screen's script (the Copy buttons).
	 *
	 * @var string
	 */
	const SCRIPT = 'kc-meet-settings';

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
	 * What the admin typed when the last save was refused, by option (never the secret).
	 *
	 * @var array
	 */
	private $typed = array();

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
		$this->redirect_and_exit( self::url( array( 'kc_meet_dismissed' => '1' ) ) . '#kc-meet-review' );
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
		$this->redirect_and_exit( self::url( $args ) . '#kc-meet-jobs' );
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
		$this->redirect_and_exit( self::url( array( 'kc_meet_cleared' => '1' ) ) . '#kc-meet-jobs' );
	}

	/**
	 * `load-settings_page_kc-meet` (the page's menu entry is {@see KC_Meet_Admin_Menu}'s): the
	 * form's sections and the page's script.
	 *
	 * @return void
	 */
	public function load() {
		$this->add_sections();
		add_action( 'admin_enqueue_scripts', array( $this, 'enqueue' ) );
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
	 * `admin_enqueue_scripts`: the Copy buttons' script, on this page only.
	 *
	 * @param string $hook_suffix Current page's hook.
	 * @return void
	 */
	public function enqueue( $hook_suffix = '' ) {
		$hook = KC_Meet_Admin_Menu::settings_hook();
		if ( '' === $hook || $hook_suffix !== $hook ) {
			return;
		}
		$file = defined( 'KC_MEET_PLUGIN_FILE' ) ? KC_MEET_PLUGIN_FILE : dirname( __DIR__ ) . '/kivicare-googlemeet.php';
		wp_enqueue_script( self::SCRIPT, plugins_url( 'assets/js/kc-meet-settings.js', $file ), array(), KC_Meet_Plugin::VERSION, true );
		wp_localize_script(
			self::SCRIPT,
			'kcMeetSettings',
			array(
				'copied' => __( 'Copied.', 'kc-googlemeet' ),
				'manual' => __( 'Selected: press Ctrl+C (⌘C on a Mac) to copy.', 'kc-googlemeet' ),
			)
		);
	}

	/**
	 * `load-settings_page_kc-meet`: the sections and fields of the form (Settings API), and what
	 * was typed before a refused save.
	 *
	 * @return void
	 */
	public function add_sections() {
		$this->typed = KC_Meet_Settings::take_typed();
		$page        = self::SLUG;

		add_settings_section( 'kc_meet_google', __( 'Google Meet', 'kc-googlemeet' ), array( $this, 'section_google' ), $page );
		add_settings_field( 'kc_meet_enabled', __( 'Google Meet', 'kc-googlemeet' ), array( $this, 'field_enabled' ), $page, 'kc_meet_google', array( 'label_for' => 'kc-meet-enabled' ) );
		add_settings_field( 'kc_meet_client_id', __( 'Client ID', 'kc-googlemeet' ), array( $this, 'field_client_id' ), $page, 'kc_meet_google', array( 'label_for' => 'kc-meet-client-id' ) );
		add_settings_field( 'kc_meet_client_secret', __( 'Client secret', 'kc-googlemeet' ), array( $this, 'field_client_secret' ), $page, 'kc_meet_google', array( 'label_for' => 'kc-meet-client-secret' ) );
		add_settings_field( 'kc_meet_app_name', __( 'Application name', 'kc-googlemeet' ), array( $this, 'field_app_name' ), $page, 'kc_meet_google', array( 'label_for' => 'kc-meet-app-name' ) );

		add_settings_section( 'kc_meet_addresses', __( 'Addresses to register in Google Cloud', 'kc-googlemeet' ), array( $this, 'section_addresses' ), $page );
		add_settings_field( 'kc_meet_redirect_uri', __( 'Authorized redirect URI', 'kc-googlemeet' ), array( $this, 'field_redirect_uri' ), $page, 'kc_meet_addresses', array( 'label_for' => 'kc-meet-redirect-uri' ) );
		add_settings_field( 'kc_meet_redirect_uris', __( 'Redirect URIs this site serves', 'kc-googlemeet' ), array( $this, 'field_redirect_choice' ), $page, 'kc_meet_addresses' );
		add_settings_field( 'kc_meet_notify_url', __( 'Push notification URL', 'kc-googlemeet' ), array( $this, 'field_notify_url' ), $page, 'kc_meet_addresses', array( 'label_for' => 'kc-meet-notify-url' ) );

		add_settings_section( 'kc_meet_sync_policies', __( 'Changes made in Google Calendar', 'kc-googlemeet' ), array( $this, 'section_sync' ), $page );
		foreach ( self::sync_choice_fields() as $key => $field ) {
			add_settings_field( $key, $field['label'], array( $this, 'field_sync_choice' ), $page, 'kc_meet_sync_policies', array( 'key' => $key ) );
		}

		add_settings_section( 'kc_meet_woocommerce', __( 'WooCommerce payment', 'kc-googlemeet' ), array( $this, 'section_woocommerce' ), $page );
		add_settings_field( 'kc_meet_woo_payment', __( 'Payment through WooCommerce', 'kc-googlemeet' ), array( $this, 'field_woo_payment' ), $page, 'kc_meet_woocommerce', array( 'label_for' => 'kc-meet-woo-payment' ) );
		add_settings_field( 'kc_meet_woo_unpaid_minutes', __( 'Unpaid orders expire after', 'kc-googlemeet' ), array( $this, 'field_woo_unpaid_minutes' ), $page, 'kc_meet_woocommerce', array( 'label_for' => 'kc-meet-woo-unpaid-minutes' ) );
	}

	/**
	 * A value of `kiviCare_google_meet_setting` to show: what was typed before a refused save,
	 * else the stored one.
	 *
	 * @param string $key    Key in the option.
	 * @param mixed  $stored Stored value.
	 * @return mixed
	 */
	private function shown( $key, $stored ) {
		$typed = $this->typed[ KC_Meet_Settings::OPTION ] ?? array();
		return is_array( $typed ) && array_key_exists( $key, $typed ) && is_scalar( $typed[ $key ] ) ? $typed[ $key ] : $stored;
	}

	/**
	 * Name of a form field inside `kiviCare_google_meet_setting`.
	 *
	 * @param string $key Key in the option.
	 * @return string
	 */
	private static function field_name( $key ) {
		return KC_Meet_Settings::OPTION . '[' . $key . ']';
	}

	/**
	 * A Copy button for a read-only field (hidden until the script shows it).
	 *
	 * @param string $target_id Id of the field to copy.
	 * @param string $text      Text to copy instead of the field's value ('' none).
	 * @return void
	 */
	private static function copy_button( $target_id, $text = '' ) {
		printf(
			' <button type="button" class="button button-small kc-meet-copy" data-copy-target="%1$s"%2$s hidden>%3$s</button><span class="kc-meet-copy-status" aria-live="polite"></span>',
			esc_attr( $target_id ),
			'' !== $text ? ' data-copy-text="' . esc_attr( $text ) . '"' : '',
			esc_html__( 'Copy', 'kc-googlemeet' )
		);
	}

	/**
	 * Intro of the Google Meet section (and the marker of a submission of this form).
	 *
	 * @return void
	 */
	public function section_google() {
		printf( '<input type="hidden" name="%s" value="1" />', esc_attr( self::field_name( KC_Meet_Settings::FORM_MARKER ) ) );
		echo '<p>' . esc_html__( 'The OAuth 2.0 client (type "Web application") from Google Cloud Console → APIs & Services → Credentials. Enable the Google Calendar API in the same project.', 'kc-googlemeet' ) . '</p>';
	}

	/**
	 * The on/off switch.
	 *
	 * @return void
	 */
	public function field_enabled() {
		$settings = KC_Meet_Settings::get();
		// A site that never set the switch starts with it on: saving the client turns Meet on.
		$on = KC_Meet_Settings::truthy( $this->shown( 'enabled', KC_Meet_Settings::has_switch() ? $settings['enabled'] : true ) );
		printf( '<input type="hidden" name="%s" value="0" />', esc_attr( self::field_name( 'enabled' ) ) );
		printf(
			'<label><input type="checkbox" id="kc-meet-enabled" name="%1$s" value="1" %2$s /> %3$s</label>',
			esc_attr( self::field_name( 'enabled' ) ),
			checked( $on, true, false ),
			esc_html__( 'On: KiviCare offers Google Meet for video consultations and each booked one gets a Google Calendar event with a Meet link.', 'kc-googlemeet' )
		);
		echo '<p class="description">' . esc_html__( 'Off: KiviCare stops offering Google Meet; events already made stay in Google Calendar. Switching on needs a client ID and a client secret.', 'kc-googlemeet' ) . '</p>';
	}

	/**
	 * Client ID.
	 *
	 * @return void
	 */
	public function field_client_id() {
		printf(
			'<input type="text" class="regular-text code" id="kc-meet-client-id" name="%1$s" value="%2$s" autocomplete="off" spellcheck="false" />',
			esc_attr( self::field_name( 'client_id' ) ),
			esc_attr( (string) $this->shown( 'client_id', KC_Meet_Settings::get()['client_id'] ) )
		);
		echo '<p class="description">' . esc_html__( 'Looks like 1234-abc.apps.googleusercontent.com.', 'kc-googlemeet' ) . '</p>';
	}

	/**
	 * Client secret: write-only (never filled in; a placeholder says whether one is saved).
	 *
	 * @return void
	 */
	public function field_client_secret() {
		$saved = '' !== KC_Meet_Settings::get()['client_secret'];
		printf(
			'<input type="password" class="regular-text code" id="kc-meet-client-secret" name="%1$s" value="" autocomplete="new-password" spellcheck="false" placeholder="%2$s" aria-describedby="kc-meet-secret-state" />',
			esc_attr( self::field_name( 'client_secret' ) ),
			esc_attr( $saved ? __( '•••••••• (saved)', 'kc-googlemeet' ) : '' )
		);
		printf(
			'<p class="description" id="kc-meet-secret-state" data-saved="%1$s">%2$s</p>',
			esc_attr( $saved ? '1' : '0' ),
			esc_html( $saved ? __( 'A secret is saved; it is never shown. Leave empty to keep it, or enter a new one to replace it.', 'kc-googlemeet' ) : __( 'No secret saved yet.', 'kc-googlemeet' ) )
		);
	}

	/**
	 * Application name (KiviCare 4.3 shows Google Meet as set up only with one).
	 *
	 * @return void
	 */
	public function field_app_name() {
		printf(
			'<input type="text" class="regular-text" id="kc-meet-app-name" name="%1$s" value="%2$s" />',
			esc_attr( self::field_name( 'app_name' ) ),
			esc_attr( (string) $this->shown( 'app_name', KC_Meet_Settings::get()['app_name'] ) )
		);
		echo '<p class="description">' . esc_html__( 'Optional: the name of the Google Cloud project. KiviCare 4.3 shows Google Meet as set up only when it is filled in.', 'kc-googlemeet' ) . '</p>';
	}

	/**
	 * Intro of the addresses section.
	 *
	 * @return void
	 */
	public function section_addresses() {
		echo '<p>' . esc_html__( 'Google accepts only the redirect URIs registered for the client. Copy them into the client\'s "Authorized redirect URIs" in Google Cloud.', 'kc-googlemeet' ) . '</p>';
	}

	/**
	 * The redirect URI sent to Google (read-only).
	 *
	 * @return void
	 */
	public function field_redirect_uri() {
		printf(
			'<input type="text" class="large-text code" id="kc-meet-redirect-uri" value="%s" readonly="readonly" onfocus="this.select();" />',
			esc_attr( KC_Meet_Config::redirect_uri() )
		);
		self::copy_button( 'kc-meet-redirect-uri' );
		echo '<p class="description">' . esc_html__( 'The URI the connection sends to Google: it must be registered exactly like this.', 'kc-googlemeet' ) . '</p>';
	}

	/**
	 * Every redirect URI the site serves (`#kc-meet-redirect-uris`, radios: which one the client
	 * is registered for — the vendor add-on's 4.x route keeps working, so a site that swapped it
	 * needs no change in Google Cloud), and a warning (`#kc-meet-redirect-mismatch`) when the
	 * stored client was made for a URI the site does not serve.
	 *
	 * @return void
	 */
	public function field_redirect_choice() {
		$current  = (string) $this->shown( 'redirect_uri', KC_Meet_Config::redirect_uri() );
		$mismatch = KC_Meet_Settings::redirect_uri_mismatch();
		$labels   = array(
			'kc-meet'  => __( 'kc-meet\'s own callback', 'kc-googlemeet' ),
			'kivicare' => __( 'the callback of the vendor\'s KiviCare Google Meet add-on (4.x), kept for clients registered for it', 'kc-googlemeet' ),
		);
		echo '<ul id="kc-meet-redirect-uris">';
		foreach ( KC_Meet_Config::redirect_uris() as $key => $uri ) {
			$id = 'kc-meet-redirect-uri-' . sanitize_key( $key );
			printf(
				'<li data-key="%1$s"><label><input type="radio" id="%2$s" name="%3$s" value="%4$s" %5$s /> <code>%6$s</code> — %7$s</label>',
				esc_attr( $key ),
				esc_attr( $id ),
				esc_attr( self::field_name( 'redirect_uri' ) ),
				esc_attr( $uri ),
				checked( null !== KC_Meet_Settings::served_match( $current, array( $key => $uri ) ), true, false ),
				esc_html( $uri ),
				esc_html( $labels[ $key ] ?? $key )
			);
			self::copy_button( $id, $uri );
			echo '</li>';
		}
		echo '</ul>';
		echo '<p class="description">' . esc_html__( 'Both work. Choose the one registered for this client under "Authorized redirect URIs" in Google Cloud: the connection sends exactly that one.', 'kc-googlemeet' ) . '</p>';
		if ( '' !== $mismatch ) {
			echo '<div class="notice notice-error inline" id="kc-meet-redirect-mismatch"><p>';
			echo esc_html(
				sprintf(
					/* translators: %s: redirect URI */
					__( 'The saved Google client was set up for the redirect URI %s, which this site does not serve: connecting would fail with Google\'s "redirect_uri_mismatch". Add one of the URIs above to the client in Google Cloud, choose it here and save.', 'kc-googlemeet' ),
					$mismatch
				)
			);
			echo '</p></div>';
		}
	}

	/**
	 * The push notification URL (read-only).
	 *
	 * @return void
	 */
	public function field_notify_url() {
		$url = KC_Meet_Config::notify_url();
		printf( '<input type="text" class="large-text code" id="kc-meet-notify-url" value="%s" readonly="readonly" onfocus="this.select();" />', esc_attr( $url ) );
		self::copy_button( 'kc-meet-notify-url' );
		echo '<p class="description">' . esc_html__( 'Google Calendar tells the site about changes here, so they arrive within seconds. Nothing to register in Google Cloud, but Google only calls HTTPS addresses it can reach: otherwise kc-meet asks Google every 5 minutes instead.', 'kc-googlemeet' ) . '</p>';
	}

	/**
	 * Intro of the sync policies section.
	 *
	 * @return void
	 */
	public function section_sync() {
		echo '<p>' . esc_html__( 'What kc-meet does when a doctor changes an appointment\'s event in Google Calendar instead of in KiviCare. When KiviCare has a change of its own waiting for that appointment, KiviCare wins.', 'kc-googlemeet' ) . '</p>';
	}

	/**
	 * One sync policy: radios with a sentence each.
	 *
	 * @param array $args `key`: option key.
	 * @return void
	 */
	public function field_sync_choice( $args ) {
		$key    = (string) ( $args['key'] ?? '' );
		$fields = self::sync_choice_fields();
		if ( ! isset( $fields[ $key ] ) ) {
			return;
		}
		$field = $fields[ $key ];
		$value = KC_Meet_Settings::sync_choice( $key, $this->shown( $key, $field['value'] ) );
		printf( '<fieldset id="%1$s"><legend class="screen-reader-text">%2$s</legend>', esc_attr( $field['id'] ), esc_html( $field['label'] ) );
		foreach ( $field['options'] as $option => $texts ) {
			printf(
				'<p><label><input type="radio" id="%1$s" name="%2$s" value="%3$s" %4$s /> <strong>%5$s</strong></label><br /><span class="description">%6$s</span></p>',
				esc_attr( $field['id'] . '-' . $option ),
				esc_attr( self::field_name( $key ) ),
				esc_attr( $option ),
				checked( $value, $option, false ),
				esc_html( $texts[0] ),
				esc_html( $texts[1] )
			);
		}
		echo '</fieldset>';
	}

	/**
	 * Intro of the WooCommerce section.
	 *
	 * @return void
	 */
	public function section_woocommerce() {
		echo '<p>' . esc_html__( 'When patients pay for video consultations through WooCommerce, the Meet event follows the order: it is made once the order is paid and removed when the order is cancelled, failed or fully refunded.', 'kc-googlemeet' ) . '</p>';
		if ( ! KC_Meet_WooCommerce::woocommerce_active() ) {
			echo '<p class="description" id="kc-meet-woo-missing">' . esc_html__( 'WooCommerce is not active on this site: these settings take effect once it is.', 'kc-googlemeet' ) . '</p>';
		}
	}

	/**
	 * KiviCare's WooCommerce payment switch (`kiviCare_woocommerce_payment`).
	 *
	 * @return void
	 */
	public function field_woo_payment() {
		$typed = $this->typed[ KC_Meet_Settings::WOO_PAYMENT_OPTION ] ?? null;
		$on    = null !== $typed ? KC_Meet_Settings::woocommerce_payment( $typed ) : KC_Meet_Settings::woocommerce_payment();
		printf( '<input type="hidden" name="%s" value="off" />', esc_attr( KC_Meet_Settings::WOO_PAYMENT_OPTION ) );
		printf(
			'<label><input type="checkbox" id="kc-meet-woo-payment" name="%1$s" value="on" %2$s /> %3$s</label>',
			esc_attr( KC_Meet_Settings::WOO_PAYMENT_OPTION ),
			checked( $on, true, false ),
			esc_html__( 'On: patients pay for appointments at WooCommerce\'s checkout (KiviCare\'s own setting, shared with KiviCare\'s screens).', 'kc-googlemeet' )
		);
	}

	/**
	 * Minutes an order may stay unpaid (`kc_meet_woo_unpaid_minutes`).
	 *
	 * @return void
	 */
	public function field_woo_unpaid_minutes() {
		$typed = $this->typed[ KC_Meet_Settings::UNPAID_MINUTES_OPTION ] ?? null;
		printf(
			'<input type="number" class="small-text" id="kc-meet-woo-unpaid-minutes" name="%1$s" value="%2$s" min="%3$d" max="%4$d" step="1" /> %5$s',
			esc_attr( KC_Meet_Settings::UNPAID_MINUTES_OPTION ),
			esc_attr( null !== $typed ? (string) $typed : (string) KC_Meet_Settings::unpaid_minutes() ),
			(int) KC_Meet_Settings::UNPAID_MINUTES_MIN,
			(int) KC_Meet_Settings::UNPAID_MINUTES_MAX,
			esc_html__( 'minutes', 'kc-googlemeet' )
		);
		echo '<p class="description">' . esc_html__( 'An appointment whose order still awaits an online payment this long after checkout is cancelled with its order, freeing the slot. Orders paid by bank transfer, cheque or cash on delivery are left for you.', 'kc-googlemeet' ) . '</p>';
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
		?>
		<div class="wrap" id="kc-meet-settings">
			<h1><?php esc_html_e( 'KiviCare Google Meet', 'kc-googlemeet' ); ?></h1>
			<form id="kc-meet-settings-form" method="post" action="<?php echo esc_url( admin_url( 'options.php' ) ); ?>">
				<?php
				settings_fields( KC_Meet_Settings::GROUP );
				do_settings_sections( self::SLUG );
				submit_button( __( 'Save settings', 'kc-googlemeet' ) );
				?>
			</form>

			<?php $this->render_review(); ?>
			<?php $this->render_health(); ?>
			<?php $this->render_sync(); ?>
			<?php $this->render_jobs(); ?>
		</div>
		<?php
	}

	/**
	 * The sync policies: option key => id, label, options (value => [label, what it means]) and
	 * the stored value.
	 *
	 * @return array<string, array{id:string, label:string, options:array<string, array{0:string, 1:string}>, value:string}>
	 */
	private static function sync_choice_fields() {
		$settings = KC_Meet_Settings::get();
		return array(
			KC_Meet_Settings::ON_GOOGLE_MOVE   => array(
				'id'      => 'kc-meet-on-google-move',
				'label'   => __( 'When the doctor moves an appointment in Google Calendar', 'kc-googlemeet' ),
				'options' => array(
					'apply'  => array(
						__( 'Move the appointment to the new time', 'kc-googlemeet' ),
						__( 'The appointment in KiviCare takes the time the doctor chose in Google Calendar.', 'kc-googlemeet' ),
					),
					'revert' => array(
						__( 'Put the event back at the appointment\'s time', 'kc-googlemeet' ),
						__( 'KiviCare\'s time stands: the event moves back in Google Calendar, the attendees are told.', 'kc-googlemeet' ),
					),
				),
				'value'   => $settings['on_google_move'],
			),
			KC_Meet_Settings::ON_GOOGLE_DELETE => array(
				'id'      => 'kc-meet-on-google-delete',
				'label'   => __( 'When the doctor deletes an appointment in Google Calendar', 'kc-googlemeet' ),
				'options' => array(
					'flag'     => array(
						__( 'Keep the appointment and list it for review here', 'kc-googlemeet' ),
						__( 'Nothing changes in KiviCare; the appointment, now without a Meet link, waits below for you to cancel, reschedule or dismiss.', 'kc-googlemeet' ),
					),
					'cancel'   => array(
						__( 'Cancel the appointment', 'kc-googlemeet' ),
						__( 'The appointment is cancelled in KiviCare, freeing the slot, as if it had been cancelled there.', 'kc-googlemeet' ),
					),
					'recreate' => array(
						__( 'Create the event again', 'kc-googlemeet' ),
						__( 'The appointment stands and gets a new event with a new Meet link; the patient is invited again.', 'kc-googlemeet' ),
					),
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
							<td><?php echo esc_html( KC_Meet_Users::display_name( $doctor_id, true ) ); ?></td>
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
							<td><?php echo esc_html( KC_Meet_Users::display_name( (int) $entry['doctor_id'], true ) ); ?></td>
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
						$name      = KC_Meet_Users::display_name( $doctor_id, true );
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
}
