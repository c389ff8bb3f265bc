<?php
/**
 * Permission checks.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Who may do what. A doctor's Google connection may be managed by that doctor (a user with
 * KiviCare's `kiviCare_doctor` role acting on themselves) or by a user who can `manage_options`
 * and may edit that user (`edit_user`); either way the doctor must be a member of the current
 * site with the doctor role there. On a network, where only network administrators have
 * `edit_user` on other users, a site administrator (`manage_options` on their site) manages the
 * doctors of their own site, and cannot connect or disconnect a user of another site, a user who
 * is not a doctor on their site, nor a super admin. The plugin settings only by users who can
 * `manage_options`.
 */
final class KC_Meet_Access {

	/**
	 * KiviCare's doctor role.
	 *
	 * @var string
	 */
	const DOCTOR_ROLE = 'kiviCare_doctor';

	/**
	 * Capability for the plugin settings and for acting on any doctor.
	 *
	 * @var string
	 */
	const ADMIN_CAP = 'manage_options';

	/**
	 * Whether a user has KiviCare's doctor role.
	 *
	 * @param int|WP_User $user User or id.
	 * @return bool
	 */
	public static function is_doctor( $user ) {
		if ( ! $user instanceof WP_User ) {
			$user = get_userdata( (int) $user );
		}
		return $user instanceof WP_User && in_array( self::DOCTOR_ROLE, (array) $user->roles, true );
	}

	/**
	 * Whether a user may manage the plugin settings.
	 *
	 * @param int|null $user_id User (default: current user).
	 * @return bool
	 */
	public static function can_manage_settings( $user_id = null ) {
		$user_id = null === $user_id ? get_current_user_id() : (int) $user_id;
		return $user_id > 0 && user_can( $user_id, self::ADMIN_CAP );
	}

	/**
	 * Whether a user may connect, disconnect or inspect a doctor's Google connection. The target
	 * must be a member of the current site with KiviCare's doctor role on it; the acting user
	 * must be that doctor, or a user who can manage_options and edit_user on the doctor (on a
	 * network: manage_options on this site, and the doctor is not a super admin).
	 *
	 * @param int      $doctor_id Doctor (WP user id).
	 * @param int|null $user_id   Acting user (default: current user).
	 * @return bool
	 */
	public static function can_manage_doctor( $doctor_id, $user_id = null ) {
		$doctor_id = (int) $doctor_id;
		$user_id   = null === $user_id ? get_current_user_id() : (int) $user_id;
		if ( $user_id <= 0 || $doctor_id <= 0 ) {
			return false;
		}
		if ( ! is_user_member_of_blog( $doctor_id, get_current_blog_id() ) || ! self::is_doctor( $doctor_id ) ) {
			return false;
		}
		if ( $user_id === $doctor_id ) {
			return true;
		}
		if ( ! user_can( $user_id, self::ADMIN_CAP ) ) {
			return false;
		}
		if ( user_can( $user_id, 'edit_user', $doctor_id ) ) {
			return true;
		}
		/*
		 * On a network WordPress gives `edit_user` on other users to network administrators only:
		 * a site administrator still manages the doctors of their own site (membership and role
		 * checked above), never a super admin's connection (WordPress's own rule for edit_user).
		 */
		return is_multisite() && ! is_super_admin( $doctor_id );
	}
}
