<?php
namespace KcMeetTest;

/**
 * HTTP client of the tests: curl with an in-memory cookie jar (curl's own cookie engine, one handle per
 * client = one browser). Never follows redirects by itself: tests follow them step by step.
 * Requests to the test site carry X-KC-Test-DB (and X-KC-Core when a test says KiviCare 4.x is present).
 */
final class Http {
	private $ch;
	private string $db;
	public array $extraHeaders = [];
	/** @var Response[] */
	public array $history = [];

	public function __construct(string $db) {
		$this->db = $db;
		$this->ch = curl_init();
		curl_setopt($this->ch, CURLOPT_COOKIEFILE, '');
	}

	public static function absolute(string $base, string $ref): string {
		if (preg_match('#^[a-z][a-z0-9+.-]*://#i', $ref)) {
			return $ref;
		}
		$p = parse_url($base);
		$origin = $p['scheme'] . '://' . $p['host'] . (isset($p['port']) ? ':' . $p['port'] : '');
		if (strpos($ref, '//') === 0) {
			return $p['scheme'] . ':' . $ref;
		}
		if ($ref !== '' && $ref[0] === '/') {
			return $origin . $ref;
		}
		if ($ref !== '' && $ref[0] === '?') {
			return $origin . ($p['path'] ?? '/') . $ref;
		}
		$dir = isset($p['path']) ? preg_replace('#/[^/]*$#', '/', $p['path']) : '/';
		return $origin . $dir . $ref;
	}

	public function url(string $pathOrUrl): string {
		return self::absolute(Env::wpUrl() . '/', $pathOrUrl);
	}

	private function isSite(string $url): bool {
		return strpos($url, Env::wpUrl() . '/') === 0 || $url === Env::wpUrl();
	}

	/**
	 * @param array|string|null $body array → form-encoded (application/x-www-form-urlencoded), string → raw
	 */
	public function request(string $method, string $url, $body = null, array $headers = []): Response {
		$url = $this->url($url);
		$ch = $this->ch;
		curl_reset($ch);
		curl_setopt($ch, CURLOPT_COOKIEFILE, '');
		$sendHeaders = [];
		if ($this->isSite($url)) {
			$sendHeaders[] = 'X-KC-Test-DB: ' . $this->db;
			foreach ($this->extraHeaders as $k => $v) {
				$sendHeaders[] = "$k: $v";
			}
		}
		foreach ($headers as $k => $v) {
			$sendHeaders[] = "$k: $v";
		}
		$respHeaders = [];
		curl_setopt_array($ch, [
			CURLOPT_URL            => $url,
			CURLOPT_CUSTOMREQUEST  => $method,
			CURLOPT_RETURNTRANSFER => true,
			CURLOPT_FOLLOWLOCATION => false,
			CURLOPT_TIMEOUT        => 60,
			CURLOPT_HTTPHEADER     => $sendHeaders,
			CURLOPT_HEADERFUNCTION => static function ($ch, $line) use (&$respHeaders) {
				if (strpos($line, ':') !== false) {
					[$k, $v] = explode(':', $line, 2);
					$respHeaders[strtolower(trim($k))][] = trim($v);
				}
				return strlen($line);
			},
		]);
		if ($method === 'HEAD') {
			curl_setopt($ch, CURLOPT_NOBODY, true);
		}
		if ($body !== null) {
			curl_setopt($ch, CURLOPT_POSTFIELDS, is_array($body) ? http_build_query($body) : $body);
		}
		$out = curl_exec($ch);
		if ($out === false) {
			throw new \RuntimeException("HTTP $method $url failed: " . curl_error($ch));
		}
		$r = new Response($method, $url, (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE), $respHeaders, (string) $out);
		$this->history[] = $r;
		return $r;
	}

	public function get(string $url, array $headers = []): Response {
		return $this->request('GET', $url, null, $headers);
	}

	public function post(string $url, $body, array $headers = []): Response {
		return $this->request('POST', $url, $body, $headers);
	}

	public function json(string $method, string $url, $data = null, array $headers = []): Response {
		return $this->request($method, $url, $data === null ? null : json_encode($data), $headers + ['Content-Type' => 'application/json']);
	}

	/** Follows redirects (GET) while they stay on hosts the predicate allows; returns the last response. */
	public function follow(Response $r, int $max = 10, ?callable $allow = null): Response {
		while ($max-- > 0 && in_array($r->status, [301, 302, 303, 307, 308], true) && $r->location()) {
			if ($allow && !$allow($r->location())) {
				break;
			}
			$r = $this->get($r->location());
		}
		return $r;
	}

	/** Cookies in curl's jar: name => value. */
	public function cookies(): array {
		$out = [];
		foreach (curl_getinfo($this->ch, CURLINFO_COOKIELIST) ?: [] as $line) {
			$f = explode("\t", $line);
			if (count($f) >= 7) {
				$out[$f[5]] = $f[6];
			}
		}
		return $out;
	}

	/** Logs in through wp-login.php like a browser (test cookie first). */
	public function login(string $login, string $password): Response {
		$this->get('/wp-login.php');
		$r = $this->post('/wp-login.php', [
			'log'         => $login,
			'pwd'         => $password,
			'wp-submit'   => 'Log In',
			'redirect_to' => Env::wpUrl() . '/wp-admin/',
			'testcookie'  => '1',
		]);
		if ($r->status !== 302) {
			throw new \RuntimeException("login as $login failed: " . $r->describe());
		}
		return $r;
	}
}
