<?php
/**
 * The "Google Meet" admin menu: the Doctors and Appointments screens.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * The two screens of the top-level "Google Meet" menu ({@see KC_Meet_Admin_Doctors},
 * {@see KC_Meet_Admin_Appointments}; the menu entries are {@see KC_Meet_Admin_Menu}'s, the
 * admin-post actions {@see KC_Meet_Hooks}'s), and what both share:
 * the capability check, nonces, the redirect back with a result, times in the site's zone and
 * formats, and the pagination links.
 *
 * Each screen reads one page through one native call (`kc_meet_doctors()` /
 * `kc_meet_appointments()`), never one call per row. Every action is a POST to admin-post.php
 * with a nonce bound to the action and the row's id, and needs `manage_options` on this site.
 */
abstract class KC_Meet_Admin_Screens {

	use KC_Meet_Redirects;

	/**
	 * Menu slug of the top-level menu (the Doctors screen).
	 *
	 * @var string
	 */
	const MENU_SLUG = 'kc-meet-doctors';

	/**
	 * Rows per page.
	 *
	 * @var int
	 */
	const PER_PAGE = 20;

	/**
	 * The page slug of the screen.
	 *
	 * @return string
	 */
	abstract protected function slug();

	/**
	 * URL of the screen with query arguments.
	 *
	 * @param array $args Extra query arguments.
	 * @return string
	 */
	public function url( array $args = array() ) {
		return add_query_arg( array_merge( array( 'page' => $this->slug() ), $args ), admin_url( 'admin.php' ) );
	}

	/**
	 * Dies with 403 unless the current user may manage this site's Google Meet.
	 *
	 * @return void
	 */
	protected static function require_admin() {
		if ( ! current_user_can( KC_Meet_Access::ADMIN_CAP ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to manage Google Meet on this site.', 'kc-googlemeet' ), esc_html__( 'Forbidden', 'kc-googlemeet' ), array( 'response' => 403 ) );
		}
	}

	/**
	 * Checks capability and the nonce of a row action; returns the row's id.
	 *
	 * @param string $action Action name (the nonce action is "{action}_{id}").
	 * @param string $field  POST field with the id.
	 * @return int
	 */
	protected static function verify_row_action( $action, $field ) {
		self::require_admin();
		// phpcs:ignore WordPress.Security.NonceVerification.Missing -- verified right below (the nonce action contains the id).
		$id = isset( $_POST[ $field ] ) ? absint( wp_unslash( $_POST[ $field ] ) ) : 0;
		check_admin_referer( $action . '_' . $id );
		if ( $id <= 0 ) {
			wp_die( esc_html__( 'Invalid request.', 'kc-googlemeet' ), '', array( 'response' => 400 ) );
		}
		return $id;
	}

	/**
	 * A one-button form posting a row action.
	 *
	 * @param string $action Action.
	 * @param string $field  Id field.
	 * @param int    $id     Row id.
	 * @param string $label  Button label.
	 * @param string $confirm Confirmation question, or '' for none.
	 * @param string $css    Extra button class.
	 * @return void
	 */
	protected static function action_button( $action, $field, $id, $label, $confirm = '', $css = '' ) {
		?>
		<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" style="display:inline"<?php echo '' !== $confirm ? ' onsubmit="return window.confirm(this.dataset.confirm)" data-confirm="' . esc_attr( $confirm ) . '"' : ''; ?>>
			<input type="hidden" name="action" value="<?php echo esc_attr( $action ); ?>" />
			<input type="hidden" name="<?php echo esc_attr( $field ); ?>" value="<?php echo esc_attr( (string) (int) $id ); ?>" />
			<input type="hidden" name="_wpnonce" value="<?php echo esc_attr( wp_create_nonce( $action . '_' . (int) $id ) ); ?>" />
			<button type="submit" class="button button-small <?php echo esc_attr( $css ); ?>"><?php echo esc_html( $label ); ?></button>
		</form>
		<?php
	}

	/**
	 * Redirects back to the screen with a result message key and ends the request.
	 *
	 * @param string $result Result key (see messages()).
	 * @param int    $id     Row the result is about.
	 * @param int    $code   Exception code when the action failed.
	 * @return void
	 */
	protected function back( $result, $id, $code = 0 ) {
		$args = array(
			'kc_meet_done' => $result,
			'kc_meet_id'   => (int) $id,
		);
		if ( $code ) {
			$args['kc_meet_code'] = (int) $code;
		}
		// Keep the filters and page the admin was looking at.
		$referer = wp_get_referer();
		$base    = $referer && false !== strpos( $referer, 'page=' . $this->slug() ) ? remove_query_arg( array( 'kc_meet_done', 'kc_meet_id', 'kc_meet_code' ), $referer ) : $this->url();
		$this->redirect_and_exit( add_query_arg( $args, $base ) );
	}

	/**
	 * Result messages of the screen's actions: key => [notice type, text with %d for the id].
	 *
	 * @return array<string, array{0:string, 1:string}>
	 */
	abstract protected function messages();

	/**
	 * Prints the notice of the last action (from the redirect's query arguments).
	 *
	 * @return void
	 */
	protected function render_result() {
		// phpcs:disable WordPress.Security.NonceVerification.Recommended -- display only.
		$done = isset( $_GET['kc_meet_done'] ) ? sanitize_key( wp_unslash( $_GET['kc_meet_done'] ) ) : '';
		$id   = isset( $_GET['kc_meet_id'] ) ? absint( wp_unslash( $_GET['kc_meet_id'] ) ) : 0;
		$code = isset( $_GET['kc_meet_code'] ) ? absint( wp_unslash( $_GET['kc_meet_code'] ) ) : 0;
		// phpcs:enable
		$messages = $this->messages();
		if ( ! isset( $messages[ $done ] ) ) {
			return;
		}
		list( $type, $text ) = $messages[ $done ];
		$text                = sprintf( $text, $id );
		if ( $code ) {
			$text .= ' ' . KC_Meet_Messages::for_code( $code );
		}
		printf( '<div class="notice notice-%1$s is-dismissible kc-meet-result" data-result="%2$s"><p>%3$s</p></div>', esc_attr( $type ), esc_attr( $done ), esc_html( $text ) );
	}

	/**
	 * A UTC time (ISO 8601, as the extension returns them) in the site's zone and formats.
	 *
	 * @param string|null $iso UTC time.
	 * @return string '' when none.
	 */
	public static function site_time( $iso ) {
		$ts = $iso ? strtotime( (string) $iso ) : false;
		return $ts ? (string) wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), $ts ) : '';
	}

	/**
	 * KiviCare's local appointment date and time in the site's formats.
	 *
	 * @param string $date Y-m-d.
	 * @param string $time H:i:s.
	 * @return string
	 */
	public static function local_time( $date, $time ) {
		try {
			$when = new DateTimeImmutable( $date . ' ' . $time, wp_timezone() );
		} catch ( \Exception $e ) {
			return trim( $date . ' ' . $time );
		}
		return (string) wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), $when->getTimestamp() );
	}

	/**
	 * Pagination links under a table.
	 *
	 * @param int $total    Matching rows.
	 * @param int $page     Current page.
	 * @param int $per_page Rows per page.
	 * @return void
	 */
	protected static function render_pagination( $total, $page, $per_page ) {
		$pages = (int) ceil( $total / max( 1, $per_page ) );
		echo '<div class="tablenav bottom"><div class="tablenav-pages">';
		/* translators: %s: number of items */
		echo '<span class="displaying-num">' . esc_html( sprintf( _n( '%s item', '%s items', $total, 'kc-googlemeet' ), number_format_i18n( $total ) ) ) . '</span> ';
		if ( $pages > 1 ) {
			echo wp_kses_post(
				(string) paginate_links(
					array(
						'base'    => add_query_arg( 'paged', '%#%' ),
						'format'  => '',
						'current' => $page,
						'total'   => $pages,
					)
				)
			);
		}
		echo '</div></div>';
	}

	/**
	 * The requested page number.
	 *
	 * @return int
	 */
	protected static function current_page() {
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- display only.
		return isset( $_GET['paged'] ) ? max( 1, absint( wp_unslash( $_GET['paged'] ) ) ) : 1;
	}

	/**
	 * Prints an error box for an exception of the extension.
	 *
	 * @param \Throwable $e Exception.
	 * @return void
	 */
	protected static function render_error( \Throwable $e ) {
		printf( '<div class="notice notice-error inline"><p>%s</p></div>', esc_html( KC_Meet_Messages::for_code( (int) $e->getCode() ) ) );
	}
}
