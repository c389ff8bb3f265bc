<?php
namespace KcMeetTest;

/** What run.sh set up. */
final class Env {
	public static function get(string $name, ?string $default = null): ?string {
		$v = getenv($name);
		return ($v === false || $v === '') ? $default : $v;
	}
	public static function wpDir(): string { return self::get('KC_MEET_WP_DIR'); }
	public static function wpUrl(): string { return rtrim(self::get('KC_MEET_WP_URL'), '/'); }
	public static function emuUrl(): ?string { return self::get('KC_MEET_EMU_URL'); }
	public static function ext(): string { return self::get('KC_MEET_EXT'); }
	public static function hasExt(): bool { return self::ext() !== 'none'; }
	public static function templateDb(): string { return self::get('KC_MEET_TEMPLATE_DB'); }
	public static function runId(): string { return self::get('KC_MEET_RUN_ID'); }
	public static function tmp(): string { return self::get('KC_MEET_WP_TMP', sys_get_temp_dir()); }
	public static function root(): string { return dirname(__DIR__, 3); }
	public static function here(): string { return dirname(__DIR__); }
	public static function dbUser(): string { return self::get('KC_MEET_DB_USER', 'kcmeet_test'); }
	public static function dbPassword(): string { return self::get('KC_MEET_DB_PASSWORD', 'kcmeet_test_pw'); }
	public static function adminPassword(): string { return self::get('KC_MEET_ADMIN_PASSWORD', 'Admin-pass-123!'); }
	public static function keep(): bool { return self::get('KC_MEET_WP_KEEP') === '1'; }
}
