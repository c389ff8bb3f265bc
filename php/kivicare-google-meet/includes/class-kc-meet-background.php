<?php
/**
 * Background work: the job queue, the reconcile pass and two-way sync.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Schedules and runs the extension's background work:
 * - `kc_meet_run_jobs` every minute → `kc_meet_run_jobs(50, 20.0)` (queued Google writes,
 *   pending Meet links, retries);
 * - `kc_meet_reconcile` daily → `kc_meet_reconcile()` (events whose appointment is gone or
 *   cancelled are removed, telemedicine appointments without an event get one). Its options
 *   pass through the filter `kc_meet_reconcile_options` (default: the extension's defaults);
 * - `kc_meet_sync` every 5 minutes → `kc_meet_sync(['budget_s' => 20.0])`, its changes
 *   dispatched by {@see KC_Meet_Sync_Changes} (the safety net under push notifications, and the
 *   only way changes arrive when the site is not reachable over HTTPS), and
 *   `kc_meet_renew_channels` twice daily → `kc_meet_renew_channels()`.
 *
 * With Action Scheduler (WooCommerce ships it; `as_schedule_recurring_action()` exists and
 * `action_scheduler_init` fired) they are recurring actions in group `kc-meet`, and the WP-Cron
 * events are removed; otherwise WP-Cron events (schedules `kc_meet_minute` and
 * `kc_meet_five_minutes`, registered on `cron_schedules` by {@see self::add_schedule()},
 * `twicedaily` and `daily`). The filter `kc_meet_use_action_scheduler` overrides the choice.
 * Both schedulers fire the same action hooks. Schedules are checked on `init` of WP-Cron runs,
 * WP-CLI and the plugin's screens, and on activation ({@see self::schedule()}); deactivation
 * removes them ({@see KC_Meet_Lifecycle::clear_cron()}). `wp kc-meet jobs run` and
 * `wp kc-meet sync` let a system cron drive the work instead.
 *
 * Callbacks never throw: a failure is recorded by {@see KC_Meet_Events::record_failure()}.
 */
class KC_Meet_Background {

	/**
	 * WP-Cron schedule of the job queue.
	 *
	 * @var string
	 */
	const SCHEDULE = 'kc_meet_minute';

	/**
	 * WP-Cron schedule of the sync.
	 *
	 * @var string
	 */
	const SYNC_SCHEDULE = 'kc_meet_five_minutes';

	/**
	 * Seconds per scheduled sync.
	 *
	 * @var float
	 */
	const SYNC_BUDGET = 20.0;

	/**
	 * Action Scheduler group.
	 *
	 * @var string
	 */
	const GROUP = 'kc-meet';

	/**
	 * Jobs per run.
	 *
	 * @var int
	 */
	const JOBS_LIMIT = 50;

	/**
	 * Seconds per run.
	 *
	 * @var float
	 */
	const JOBS_BUDGET = 20.0;

	/**
	 * `cron_schedules`: adds `kc_meet_minute` and `kc_meet_five_minutes`.
	 *
	 * @param mixed $schedules Schedules.
	 * @return array
	 */
	public static function add_schedule( $schedules = array() ) {
		$schedules = is_array( $schedules ) ? $schedules : array();
		if ( ! isset( $schedules[ self::SCHEDULE ] ) ) {
			$schedules[ self::SCHEDULE ] = array(
				'interval' => MINUTE_IN_SECONDS,
				'display'  => __( 'Every minute (KiviCare Google Meet)', 'kc-googlemeet' ),
			);
		}
		if ( ! isset( $schedules[ self::SYNC_SCHEDULE ] ) ) {
			$schedules[ self::SYNC_SCHEDULE ] = array(
				'interval' => 5 * MINUTE_IN_SECONDS,
				'display'  => __( 'Every 5 minutes (KiviCare Google Meet)', 'kc-googlemeet' ),
			);
		}
		return $schedules;
	}

	/**
	 * The recurring hooks: hook => [WP-Cron schedule, interval in seconds].
	 *
	 * @return array<string, array{0:string, 1:int}>
	 */
	public static function recurring_hooks() {
		return array(
			KC_Meet_Lifecycle::CRON_RUN_JOBS       => array( self::SCHEDULE, MINUTE_IN_SECONDS ),
			KC_Meet_Lifecycle::CRON_RECONCILE      => array( 'daily', DAY_IN_SECONDS ),
			KC_Meet_Lifecycle::CRON_SYNC           => array( self::SYNC_SCHEDULE, 5 * MINUTE_IN_SECONDS ),
			KC_Meet_Lifecycle::CRON_RENEW_CHANNELS => array( 'twicedaily', 12 * HOUR_IN_SECONDS ),
		);
	}

	/**
	 * Whether Action Scheduler runs our hooks.
	 *
	 * @return bool
	 */
	public static function use_action_scheduler() {
		$available = function_exists( 'as_schedule_recurring_action' ) && function_exists( 'as_next_scheduled_action' )
			&& did_action( 'action_scheduler_init' );
		/**
		 * Filters whether kc-meet schedules its background work with Action Scheduler.
		 *
		 * @param bool $available Whether Action Scheduler is loaded and initialised.
		 */
		return (bool) apply_filters( 'kc_meet_use_action_scheduler', $available ) && $available;
	}

	/**
	 * Makes sure the hooks are scheduled: on `init` of the requests that check
	 * ({@see KC_Meet_Plugin::checks_schedule()}: WP-Cron runs, WP-CLI, the plugin's screens) and
	 * on activation. Activation schedules them; this puts back what went missing. A page view
	 * does not pay for the check (with Action Scheduler it costs a query, with WP-Cron a read of
	 * the cron array).
	 *
	 * @return void
	 */
	public static function schedule() {
		try {
			if ( self::use_action_scheduler() ) {
				foreach ( self::recurring_hooks() as $hook => $schedule ) {
					if ( false !== wp_next_scheduled( $hook ) ) {
						wp_clear_scheduled_hook( $hook ); // Moved to Action Scheduler.
					}
					if ( false === as_next_scheduled_action( $hook, array(), self::GROUP ) ) {
						as_schedule_recurring_action( time(), $schedule[1], $hook, array(), self::GROUP );
					}
				}
				return;
			}
			$recurring = self::recurring_hooks();
			foreach ( self::unscheduled_hooks( array_keys( $recurring ) ) as $hook ) {
				wp_schedule_event( time(), $recurring[ $hook ][0], $hook );
			}
		} catch ( \Throwable $e ) {
			unset( $e ); // Scheduling is retried on the next request.
		}
	}

	/**
	 * The hooks WP-Cron has no event of: one read of the cron array (wp_next_scheduled() reads and
	 * unserializes it once per hook), unless a plugin keeps the events elsewhere
	 * (`pre_get_scheduled_event`): then WordPress is asked per hook.
	 *
	 * @param string[] $hooks Hooks.
	 * @return string[]
	 */
	private static function unscheduled_hooks( array $hooks ) {
		if ( has_filter( 'pre_get_scheduled_event' ) ) {
			return array_values( array_filter( $hooks, static fn( $hook ) => false === wp_next_scheduled( $hook ) ) );
		}
		$scheduled = array();
		foreach ( (array) _get_cron_array() as $events ) {
			foreach ( $hooks as $hook ) {
				if ( isset( $events[ $hook ] ) ) {
					$scheduled[ $hook ] = true;
				}
			}
		}
		return array_values( array_diff( $hooks, array_keys( $scheduled ) ) );
	}

	/**
	 * Removes the Action Scheduler actions of the current site (WP-Cron events are cleared by
	 * KC_Meet_Lifecycle::clear_cron()).
	 *
	 * @return void
	 */
	public static function unschedule_action_scheduler() {
		if ( ! function_exists( 'as_unschedule_all_actions' ) ) {
			return;
		}
		foreach ( KC_Meet_Lifecycle::CRON_HOOKS as $hook ) {
			try {
				as_unschedule_all_actions( $hook, array(), self::GROUP );
			} catch ( \Throwable $e ) {
				unset( $e );
			}
		}
	}

	/**
	 * `kc_meet_run_jobs`: runs due jobs.
	 *
	 * @return array|null The run's summary, or null on failure.
	 */
	public static function run_jobs() {
		try {
			return KC_Meet_Native::run_jobs( self::JOBS_LIMIT, self::JOBS_BUDGET );
		} catch ( \Throwable $e ) {
			KC_Meet_Events::record_failure( 0, 'run_jobs', $e, 'cron' );
			return null;
		} finally {
			KC_Meet_Events::reset(); // The jobs changed mappings behind this request's back.
		}
	}

	/**
	 * `kc_meet_sync`: incremental sync of every connected doctor; dispatches the changes.
	 *
	 * @return array|null kc_meet_sync()'s result, or null on failure.
	 */
	public static function sync() {
		try {
			return KC_Meet_Sync_Changes::sync( array( 'budget_s' => self::SYNC_BUDGET ), 'cron' );
		} catch ( \Throwable $e ) {
			KC_Meet_Events::record_failure( 0, 'sync', $e, 'cron' );
			return null;
		}
	}

	/**
	 * `kc_meet_renew_channels`: renews push channels before they expire, opens missing ones.
	 *
	 * @return array|null kc_meet_renew_channels()'s result, or null on failure.
	 */
	public static function renew_channels() {
		try {
			return KC_Meet_Native::renew_channels();
		} catch ( \Throwable $e ) {
			KC_Meet_Events::record_failure( 0, 'renew_channels', $e, 'cron' );
			return null;
		}
	}

	/**
	 * `kc_meet_reconcile`: the reconcile pass.
	 *
	 * @return array|null The pass's summary, or null on failure.
	 */
	public static function reconcile() {
		try {
			/**
			 * Filters the options of the scheduled reconcile pass (see kc_meet_reconcile():
			 * `dry_run`, `doctor_id`, `from`, `to`, `create_missing`, `remove_orphans`, `limit`).
			 *
			 * @param array $opts Options (default: none, the extension's defaults).
			 */
			$opts = apply_filters( 'kc_meet_reconcile_options', array() );
			return KC_Meet_Native::reconcile( is_array( $opts ) ? $opts : array() );
		} catch ( \Throwable $e ) {
			KC_Meet_Events::record_failure( 0, 'reconcile', $e, 'cron' );
			return null;
		} finally {
			KC_Meet_Events::reset();
		}
	}
}
