<?php
namespace KcMeetTest;

/** MariaDB access of the tests (as the test user, over TCP like WordPress and the extension). */
final class Db {
	private static ?\mysqli $conn = null;

	public static function conn(): \mysqli {
		if (self::$conn === null) {
			\mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
			self::$conn = new \mysqli('127.0.0.1', Env::dbUser(), Env::dbPassword(), '', 3306);
			self::$conn->set_charset('utf8mb4');
		}
		return self::$conn;
	}

	/** Clones the template database into a new kcm_t_<run>_<random> database; returns its name. */
	public static function cloneTemplate(): string {
		$tpl = Env::templateDb();
		$name = 'kcm_t_' . Env::runId() . '_' . bin2hex(random_bytes(4));
		$c = self::conn();
		$c->query("CREATE DATABASE `$name` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci");
		$tables = $c->query("SHOW FULL TABLES FROM `$tpl` WHERE Table_type = 'BASE TABLE'")->fetch_all();
		foreach ($tables as [$t]) {
			$c->query("CREATE TABLE `$name`.`$t` LIKE `$tpl`.`$t`");
			$c->query("INSERT INTO `$name`.`$t` SELECT * FROM `$tpl`.`$t`");
		}
		return $name;
	}

	public static function drop(string $name): void {
		if (!preg_match('/^kcm_t_[a-z0-9_]+$/', $name)) {
			throw new \InvalidArgumentException("refusing to drop $name");
		}
		self::conn()->query("DROP DATABASE IF EXISTS `$name`");
	}

	/** Runs a query in $db with ? placeholders; returns rows (assoc) for SELECTs, affected rows otherwise. */
	public static function query(string $db, string $sql, array $params = []) {
		$c = self::conn();
		$c->select_db($db);
		$stmt = $c->prepare($sql);
		if ($params) {
			$stmt->bind_param(str_repeat('s', count($params)), ...array_map(static fn($p) => $p === null ? null : (string) $p, $params));
		}
		$stmt->execute();
		$res = $stmt->get_result();
		if ($res === false) {
			return $stmt->affected_rows;
		}
		return $res->fetch_all(MYSQLI_ASSOC);
	}

	public static function value(string $db, string $sql, array $params = []) {
		$rows = self::query($db, $sql, $params);
		return $rows ? reset($rows[0]) : null;
	}

	public static function tables(string $db, string $like = '%'): array {
		return array_column(self::conn()->query("SHOW TABLES FROM `$db` LIKE '" . self::conn()->real_escape_string($like) . "'")->fetch_all(), 0);
	}

	/** Full mysqldump of a database (data + schema) as one string. */
	public static function dump(string $db): string {
		$cmd = sprintf(
			'mysqldump --protocol=tcp -h127.0.0.1 -P3306 -u%s -p%s --no-tablespaces --skip-lock-tables --skip-extended-insert %s 2>&1',
			escapeshellarg(Env::dbUser()),
			escapeshellarg(Env::dbPassword()),
			escapeshellarg($db)
		);
		exec($cmd, $out, $status);
		if ($status !== 0) {
			throw new \RuntimeException("mysqldump failed: " . implode("\n", $out));
		}
		return implode("\n", $out);
	}

	/** All user meta of a user as key => [values]. */
	public static function userMeta(string $db, int $userId): array {
		$meta = [];
		foreach (self::query($db, 'SELECT meta_key, meta_value FROM wp_usermeta WHERE user_id = ? ORDER BY umeta_id', [$userId]) as $r) {
			$meta[$r['meta_key']][] = $r['meta_value'];
		}
		return $meta;
	}

	public static function option(string $db, string $name): ?string {
		$v = self::value($db, 'SELECT option_value FROM wp_options WHERE option_name = ?', [$name]);
		return $v === null ? null : (string) $v;
	}
}
