<?php
/**
 * A configuration holds for the request that gave it: a web worker keeps the extension's pool,
 * client and last configuration between requests (so a page that calls nothing pays nothing), but
 * a request that did not call kc_meet_configure() gets ConfigurationException 1002 instead of the
 * previous request's site. One `php -S` process (one worker) serves every request here.
 */
final class RequestScopeTest extends PHPUnit\Framework\TestCase {
	private $server;
	private string $dir;
	private int $port;

	protected function setUp(): void {
		$ext = getenv('KC_MEET_EXT') ?: dirname(__DIR__, 3) . '/target/release/libkc_meet.so';
		$this->dir = sys_get_temp_dir() . '/kc-meet-scope-' . getmypid() . '-' . bin2hex(random_bytes(4));
		mkdir($this->dir, 0700);
		// An unreachable database: a configured call fails with 2001, an unconfigured one with 1002.
		file_put_contents($this->dir . '/index.php', <<<'PHP'
<?php
header('Content-Type: application/json');
$site = ['db_host' => '127.0.0.1:1', 'db_user' => 'wp', 'db_password' => 'pw', 'db_name' => 'wp', 'table_prefix' => 'wp_',
	'client_id' => 'id', 'client_secret' => 'secret', 'redirect_uri' => 'https://clinic.example/cb', 'encryption_key' => 'k', 'timezone' => 'UTC'];
try {
	if (!empty($_GET['configure'])) {
		kc_meet_configure($site);
	}
	kc_meet_status(1);
	echo json_encode(['pid' => getmypid(), 'code' => 0]);
} catch (KcMeet\Exception $e) {
	echo json_encode(['pid' => getmypid(), 'code' => $e->getCode(), 'class' => get_class($e)]);
}
PHP);
		$s = stream_socket_server('tcp://127.0.0.1:0');
		$name = stream_socket_get_name($s, false);
		fclose($s);
		$this->port = (int) substr($name, strrpos($name, ':') + 1);
		$this->server = proc_open(['php', '-n', '-d', "extension=$ext", '-S', "127.0.0.1:{$this->port}", '-t', $this->dir],
			[0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes, null, ['PHP_CLI_SERVER_WORKERS' => '1']);
		for ($i = 0; $i < 100; $i++) {
			$c = @stream_socket_client("tcp://127.0.0.1:{$this->port}", $errno, $errstr, 0.2);
			if ($c) {
				fclose($c);
				return;
			}
			usleep(50000);
		}
		$this->fail('php -S did not start');
	}

	protected function tearDown(): void {
		if ($this->server) {
			proc_terminate($this->server);
			proc_close($this->server);
		}
		@unlink($this->dir . '/index.php');
		@rmdir($this->dir);
	}

	private function get(bool $configure): array {
		$body = (string) file_get_contents("http://127.0.0.1:{$this->port}/index.php" . ($configure ? '?configure=1' : ''));
		$r = json_decode($body, true);
		$this->assertIsArray($r, $body);
		return $r;
	}

	public function test_a_request_that_did_not_configure_never_uses_the_previous_requests_site(): void {
		$first = $this->get(true);
		$this->assertSame(2001, $first['code'], 'configured: the call reached for the (unreachable) database');
		$second = $this->get(false);
		$this->assertSame($first['pid'], $second['pid'], 'the same worker process');
		$this->assertSame(1002, $second['code'], 'not configured in this request');
		$this->assertSame('KcMeet\ConfigurationException', $second['class']);
		$this->assertSame(2001, $this->get(true)['code'], 'configuring again is enough');
	}
}
