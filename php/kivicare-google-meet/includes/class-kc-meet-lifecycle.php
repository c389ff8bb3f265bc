<?php
/**
 * Activation, deactivation and schema migration.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Activation (runs `kc_meet_migrate()` and schedules the background work on the site, or on
 * every site when network-activated),
 * lazy migration on `admin_init` when `kc_meet_health()['schema_version']` is behind (at most
 * once per request), and deactivation (clears the plugin's cron hooks and Action Scheduler
 * actions). Migration failures
 * never throw: they become an admin notice stored in a transient.
 *
 * The lazy check costs an admin page view nothing once the site's schema was found current by
 * the loaded extension build: the autoloaded option `kc_meet_schema_checked` remembers that build's
 * version, so only a new build, a failed migration or the plugin's own settings screen asks again.
 */
final class KC_Meet_Lifecycle {

	/**
	 * Cron hook: background job queue, every minute ({@see KC_Meet_Background}).
	 *
	 * @var string
	 */
	const CRON_RUN_JOBS = 'kc_meet_run_jobs';

	/**
	 * Cron hook: daily reconcile pass between appointments and Google events
	 * ({@see KC_Meet_Background}).
	 *
	 * @var string
	 */
	const CRON_RECONCILE = 'kc_meet_reconcile';

	/**
	 * Cron hook: incremental sync from Google Calendar, every 5 minutes
	 * ({@see KC_Meet_Background}).
	 *
	 * @var string
	 */
	const CRON_SYNC = 'kc_meet_sync';

	/**
	 * Cron hook: renewal of Google push-notification channels, twice daily
	 * ({@see KC_Meet_Background}).
	 *
	 * @var string
	 */
	const CRON_RENEW_CHANNELS = 'kc_meet_renew_channels';

	/**
	 * Every cron hook of the plugin.
	 *
	 * @var string[]
	 */
	const CRON_HOOKS = array( self::CRON_RUN_JOBS, self::CRON_RECONCILE, self::CRON_SYNC, self::CRON_RENEW_CHANNELS );

	/**
	 * Option (autoloaded) holding the extension version that last found this site's schema
	 * current.
	 *
	 * @var string
	 */
	const SCHEMA_CHECKED_OPTION = 'kc_meet_schema_checked';

	/**
	 * Whether maybe_migrate() already ran in this request.
	 *
	 * @var bool
	 */
	private static $checked = false;

	/**
	 * Activation hook.
	 *
	 * @param bool $network_wide Whether the plugin is network-activated.
	 * @return void
	 */
	public static function activate( $network_wide = false ) {
		if ( ! KC_Meet_Plugin::extension_available() ) {
			return;
		}
		KC_Meet_Plugin::instance()->ensure_configured();
		if ( $network_wide && is_multisite() ) {
			foreach ( self::site_ids() as $site_id ) {
				switch_to_blog( $site_id );
				self::migrate_now();
				KC_Meet_Background::schedule();
				restore_current_blog();
			}
			return;
		}
		self::migrate_now();
		KC_Meet_Background::schedule();
	}

	/**
	 * Deactivation hook: unschedules the plugin's cron events.
	 *
	 * @param bool $network_wide Whether the plugin was network-active.
	 * @return void
	 */
	public static function deactivate( $network_wide = false ) {
		if ( $network_wide && is_multisite() ) {
			foreach ( self::site_ids() as $site_id ) {
				switch_to_blog( $site_id );
				self::clear_cron();
				restore_current_blog();
			}
			return;
		}
		self::clear_cron();
	}

	/**
	 * Unschedules every cron hook of the plugin on the current site (WP-Cron events and, when
	 * Action Scheduler is loaded, its actions in group `kc-meet`).
	 *
	 * @return void
	 */
	public static function clear_cron() {
		foreach ( self::CRON_HOOKS as $hook ) {
			wp_clear_scheduled_hook( $hook );
		}
		KC_Meet_Background::unschedule_action_scheduler();
	}

	/**
	 * Runs kc_meet_migrate() on the current site.
	 *
	 * @return array|null The migration result, or null on failure (a notice is stored).
	 */
	public static function migrate_now() {
		try {
			$result = KC_Meet_Native::migrate();
			update_option( self::SCHEMA_CHECKED_OPTION, KC_Meet_Native::version(), true );
			// Appointments flagged for review before the notice's marker existed.
			KC_Meet_Notices::mark( KC_Meet_Notices::REVIEW_WAITING, array() !== KC_Meet_Sync_Changes::flagged() );
			return $result;
		} catch ( \Throwable $e ) {
			delete_option( self::SCHEMA_CHECKED_OPTION );
			KC_Meet_Notices::add_persistent(
				sprintf(
					/* translators: 1: message, 2: code */
					__( 'KiviCare Google Meet could not create or update its database tables: %1$s (code %2$d)', 'kc-googlemeet' ),
					$e->getMessage(),
					(int) $e->getCode()
				)
			);
			return null;
		}
	}

	/**
	 * `admin_init`: migrates when the schema is missing or behind (at most once per request).
	 *
	 * @param bool $force Check again even if already checked in this request (tests).
	 * @return array|null Migration result when a migration ran, else null.
	 */
	public static function maybe_migrate( $force = false ) {
		if ( self::$checked && true !== $force ) {
			return null;
		}
		self::$checked = true;
		// kc_meet_health() reads every doctor's state: ask it only when this build has not yet
		// found the schema current, or on the plugin's own settings screen.
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- compares the screen's slug only.
		$own_screen = isset( $_GET['page'] ) && KC_Meet_Admin_Page::SLUG === $_GET['page'];
		if ( true !== $force && ! $own_screen && get_option( self::SCHEMA_CHECKED_OPTION ) === KC_Meet_Native::version() ) {
			return null;
		}
		try {
			$health = KC_Meet_Native::health();
		} catch ( \Throwable $e ) {
			return null;
		}
		if ( empty( $health['db']['reachable'] ) ) {
			return null;
		}
		$current  = isset( $health['schema_version'] ) ? (int) $health['schema_version'] : 0;
		$expected = isset( $health['schema_expected'] ) ? (int) $health['schema_expected'] : 0;
		if ( null !== ( $health['schema_version'] ?? null ) && $current >= $expected ) {
			if ( get_option( self::SCHEMA_CHECKED_OPTION ) !== KC_Meet_Native::version() ) {
				update_option( self::SCHEMA_CHECKED_OPTION, KC_Meet_Native::version(), true );
			}
			return null;
		}
		delete_option( self::SCHEMA_CHECKED_OPTION );
		return self::migrate_now();
	}

	/**
	 * Runs $run( $site_id ) on every other site of the network, switched to it (and back).
	 *
	 * @param callable $run Receives the site id.
	 * @return void
	 */
	public static function on_other_sites( callable $run ) {
		$current = get_current_blog_id();
		foreach ( self::site_ids() as $site_id ) {
			if ( $site_id === $current ) {
				continue;
			}
			switch_to_blog( $site_id );
			try {
				$run( $site_id );
			} finally {
				restore_current_blog();
			}
		}
	}

	/**
	 * Ids of every site of the network.
	 *
	 * @return int[]
	 */
	public static function site_ids() {
		if ( ! is_multisite() ) {
			return array( get_current_blog_id() );
		}
		return array_map(
			'intval',
			get_sites(
				array(
					'fields' => 'ids',
					'number' => 0,
				)
			)
		);
	}
}
