<?php
/**
 * A private MariaDB server for one suite run: own data directory (mariadb-install-db into a temp
 * folder), own port and socket, started and stopped (or killed) by the suite. The machine's shared
 * server is never touched: suites that restart the database, or open hundreds of connections,
 * run here. The account is KC_PRIVATE_USER / KC_PRIVATE_PASSWORD with all privileges.
 */
final class PrivateMariaDb {
	public const USER = 'kcm_private';
	public const PASSWORD = 'kcm_private_pw';

	public string $dir;
	public int $port;
	public string $socket;
	/** @var resource|null */
	private $proc = null;

	public function __construct(int $max_connections = 400) {
		$this->dir = sys_get_temp_dir() . '/kcm-mariadb-' . bin2hex(random_bytes(4));
		mkdir($this->dir, 0700);
		$this->socket = "$this->dir/mysqld.sock";
		$this->port = self::freePort();
		$user = function_exists('posix_geteuid') && posix_geteuid() === 0 ? ['--user=root'] : [];
		$install = array_merge(['mariadb-install-db', '--no-defaults', "--datadir=$this->dir/data", '--auth-root-authentication-method=normal', '--skip-test-db'], $user);
		exec(implode(' ', array_map('escapeshellarg', $install)) . ' >' . escapeshellarg("$this->dir/install.log") . ' 2>&1', $out, $code);
		if ($code !== 0) {
			throw new RuntimeException("mariadb-install-db failed: " . file_get_contents("$this->dir/install.log"));
		}
		$this->args = array_merge(['/usr/sbin/mariadbd', '--no-defaults', "--datadir=$this->dir/data", "--socket=$this->socket",
			"--port=$this->port", '--bind-address=127.0.0.1', "--pid-file=$this->dir/mysqld.pid", "--log-error=$this->dir/error.log",
			"--max-connections=$max_connections", '--innodb-buffer-pool-size=64M', '--innodb-log-file-size=32M', '--skip-name-resolve'], $user);
		$this->start();
		$root = new mysqli('localhost', 'root', '', null, 0, $this->socket);
		$root->query("CREATE USER '" . self::USER . "'@'%' IDENTIFIED BY '" . self::PASSWORD . "'");
		$root->query("GRANT ALL PRIVILEGES ON *.* TO '" . self::USER . "'@'%'");
	}

	private array $args;

	public function __destruct() {
		$this->stop(false);
		exec('rm -rf ' . escapeshellarg($this->dir));
	}

	public static function freePort(): int {
		$s = stream_socket_server('tcp://127.0.0.1:0');
		$name = stream_socket_get_name($s, false);
		fclose($s);
		return (int) substr($name, strrpos($name, ':') + 1);
	}

	/** Starts the server and waits until it accepts the account (up to 30 s). */
	public function start(): void {
		$this->proc = proc_open($this->args, [0 => ['file', '/dev/null', 'r'], 1 => ['file', "$this->dir/stdout.log", 'a'], 2 => ['file', "$this->dir/stdout.log", 'a']], $pipes);
		$until = microtime(true) + 30;
		mysqli_report(MYSQLI_REPORT_OFF);
		while (microtime(true) < $until) {
			$m = @mysqli_connect('localhost', 'root', '', null, 0, $this->socket);
			if ($m) {
				mysqli_close($m);
				mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
				return;
			}
			usleep(100_000);
		}
		throw new RuntimeException('private MariaDB did not start: ' . @file_get_contents("$this->dir/error.log"));
	}

	/** Stops the server: a clean shutdown (SIGTERM), or a crash (SIGKILL). Waits until it is gone. */
	public function stop(bool $crash): void {
		if (!$this->proc) {
			return;
		}
		proc_terminate($this->proc, $crash ? 9 : 15);
		$until = microtime(true) + 60;
		while (proc_get_status($this->proc)['running'] && microtime(true) < $until) {
			usleep(50_000);
		}
		proc_close($this->proc);
		$this->proc = null;
	}

	/** `DB_HOST` for WordPress and the extension. */
	public function host(): string {
		return "127.0.0.1:$this->port";
	}

	public function connect(?string $db = null): mysqli {
		mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
		return new mysqli('127.0.0.1', self::USER, self::PASSWORD, $db, $this->port);
	}
}
