<?php
/**
 * A minimal FastCGI client (the responder role, one request per connection, as nginx talks to
 * php-fpm by default): enough to drive php-fpm the way a web server does, without cgi-fcgi.
 *
 * Protocol: https://fastcgi-archives.github.io/FastCGI_Specification.html (records of an 8-byte
 * header, BEGIN_REQUEST, PARAMS as name-value pairs, an empty PARAMS, STDIN, an empty STDIN; the
 * answer is STDOUT/STDERR records and END_REQUEST).
 */
final class FastCgi {
	private const VERSION = 1;
	private const BEGIN_REQUEST = 1;
	private const END_REQUEST = 3;
	private const PARAMS = 4;
	private const STDIN = 5;
	private const STDOUT = 6;
	private const STDERR = 7;
	private const RESPONDER = 1;

	public function __construct(private string $address) {
	}

	/**
	 * Sends one request; returns ['status' => int, 'headers' => array, 'body' => string,
	 * 'stderr' => string, 'wall_s' => float].
	 *
	 * @param array<string, string> $params CGI variables (SCRIPT_FILENAME, REQUEST_METHOD, ...).
	 */
	public function request(array $params, string $body = ''): array {
		$t0 = hrtime(true);
		$sock = stream_socket_client($this->address, $errno, $errstr, 5);
		if ($sock === false) {
			throw new RuntimeException("FastCGI connect to {$this->address} failed: $errstr");
		}
		stream_set_timeout($sock, 900);
		$id = 1;
		$out = self::record(self::BEGIN_REQUEST, $id, pack('nCx5', self::RESPONDER, 0));
		$pairs = '';
		foreach ($params as $k => $v) {
			$pairs .= self::length(strlen($k)) . self::length(strlen((string) $v)) . $k . $v;
		}
		foreach (str_split($pairs, 65535) as $chunk) {
			$out .= self::record(self::PARAMS, $id, $chunk);
		}
		$out .= self::record(self::PARAMS, $id, '');
		if ($body !== '') {
			foreach (str_split($body, 65535) as $chunk) {
				$out .= self::record(self::STDIN, $id, $chunk);
			}
		}
		$out .= self::record(self::STDIN, $id, '');
		fwrite($sock, $out);
		$stdout = $stderr = '';
		while (true) {
			$head = self::read($sock, 8);
			$h = unpack('Cversion/Ctype/nid/nlen/Cpad/x', $head);
			$content = self::read($sock, $h['len']);
			self::read($sock, $h['pad']);
			if ($h['type'] === self::STDOUT) {
				$stdout .= $content;
			} elseif ($h['type'] === self::STDERR) {
				$stderr .= $content;
			} elseif ($h['type'] === self::END_REQUEST) {
				break;
			}
		}
		fclose($sock);
		[$rawHeaders, $respBody] = array_pad(explode("\r\n\r\n", $stdout, 2), 2, '');
		$status = 200;
		$headers = [];
		foreach (explode("\r\n", $rawHeaders) as $line) {
			if (!str_contains($line, ':')) {
				continue;
			}
			[$k, $v] = explode(':', $line, 2);
			$headers[strtolower(trim($k))] = trim($v);
			if (strtolower(trim($k)) === 'status') {
				$status = (int) $v;
			}
		}
		return ['status' => $status, 'headers' => $headers, 'body' => $respBody, 'stderr' => $stderr, 'wall_s' => (hrtime(true) - $t0) / 1e9];
	}

	/** A GET of $script with a query string, as a web server would send it. */
	public function get(string $script, string $uri, array $extra = []): array {
		$query = (string) parse_url($uri, PHP_URL_QUERY);
		return $this->request(array_merge([
			'GATEWAY_INTERFACE' => 'CGI/1.1',
			'SERVER_SOFTWARE' => 'kc-meet-bench',
			'SERVER_PROTOCOL' => 'HTTP/1.1',
			'REQUEST_METHOD' => 'GET',
			'SCRIPT_FILENAME' => $script,
			'SCRIPT_NAME' => '/' . basename($script),
			'REQUEST_URI' => $uri,
			'QUERY_STRING' => $query,
			'DOCUMENT_ROOT' => dirname($script),
			'SERVER_NAME' => '127.0.0.1',
			'SERVER_PORT' => '80',
			'SERVER_ADDR' => '127.0.0.1',
			'REMOTE_ADDR' => '127.0.0.1',
			'HTTP_HOST' => '127.0.0.1',
		], $extra));
	}

	private static function record(int $type, int $id, string $content): string {
		$len = strlen($content);
		$pad = (8 - $len % 8) % 8;
		return pack('CCnnCx', self::VERSION, $type, $id, $len, $pad) . $content . str_repeat("\0", $pad);
	}

	private static function length(int $n): string {
		return $n < 128 ? chr($n) : pack('N', $n | 0x80000000);
	}

	private static function read($sock, int $n): string {
		$buf = '';
		while (strlen($buf) < $n) {
			$chunk = fread($sock, $n - strlen($buf));
			if ($chunk === false || $chunk === '') {
				throw new RuntimeException('FastCGI connection closed early');
			}
			$buf .= $chunk;
		}
		return $buf;
	}
}
