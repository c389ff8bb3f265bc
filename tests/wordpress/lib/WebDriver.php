<?php
namespace KcMeetTest;

/**
 * Minimal W3C WebDriver client (curl) for Debian's chromedriver + headless chromium.
 * A missing browser or driver is an error, never a skip: the browser tests are part of the suite.
 */
final class WebDriver {
	public const CHROMIUM = '/usr/bin/chromium';
	public const CHROMEDRIVER = '/usr/bin/chromedriver';
	private const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

	private $proc = null;
	private string $base;
	private ?string $session = null;
	private string $profile;

	/** Throws unless chromium and chromedriver are installed. */
	public static function requireInstalled(): void {
		foreach ([self::CHROMIUM => 'chromium', self::CHROMEDRIVER => 'chromium-driver'] as $binary => $package) {
			if (!is_executable($binary)) {
				throw new \RuntimeException("$binary is missing: install Debian's $package (the browser tests cannot run without it)");
			}
		}
	}

	public function __construct() {
		self::requireInstalled();
		$s = stream_socket_server('tcp://127.0.0.1:0');
		$name = stream_socket_get_name($s, false);
		fclose($s);
		$port = (int) substr($name, strrpos($name, ':') + 1);
		$this->base = "http://127.0.0.1:$port";
		$log = (Env::get('KC_MEET_WP_LOG_DIR') ?? Env::tmp()) . '/chromedriver.log';
		$this->proc = proc_open([self::CHROMEDRIVER, "--port=$port", '--log-path=' . $log],
			[0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'a'], 2 => ['file', '/dev/null', 'a']], $pipes);
		$deadline = microtime(true) + 15;
		$ready = false;
		while (!$ready && microtime(true) < $deadline) {
			$ch = curl_init($this->base . '/status');
			curl_setopt_array($ch, [CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT => 2, CURLOPT_CONNECTTIMEOUT => 1]);
			$st = curl_exec($ch);
			$ready = is_string($st) && (json_decode($st, true)['value']['ready'] ?? false);
			if (!$ready) {
				usleep(100000);
			}
		}
		if (!$ready) {
			$this->quit();
			throw new \RuntimeException("chromedriver did not become ready within 15 s (log: $log)");
		}
		$this->profile = Env::tmp() . '/chromium-' . bin2hex(random_bytes(4));
		mkdir($this->profile);
		$caps = ['capabilities' => ['alwaysMatch' => [
			'browserName'        => 'chrome',
			'goog:chromeOptions' => [
				'binary' => self::CHROMIUM,
				'args'   => ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
					'--disable-background-networking', '--disable-component-update', '--disable-sync',
					'--disable-dev-shm-usage', '--window-size=1280,1600', '--user-data-dir=' . $this->profile],
			],
		]]];
		$r = $this->call('POST', '/session', $caps);
		$this->session = $r['sessionId'] ?? null;
		if (!$this->session) {
			throw new \RuntimeException('WebDriver session not created: ' . json_encode($r));
		}
	}

	private function call(string $method, string $path, $body = null) {
		$ch = curl_init($this->base . $path);
		curl_setopt_array($ch, [
			CURLOPT_CUSTOMREQUEST  => $method,
			CURLOPT_RETURNTRANSFER => true,
			CURLOPT_TIMEOUT        => 90,
			CURLOPT_HTTPHEADER     => ['Content-Type: application/json'],
		]);
		if ($body !== null || $method === 'POST') {
			curl_setopt($ch, CURLOPT_POSTFIELDS, json_encode($body ?? new \stdClass()));
		}
		$out = curl_exec($ch);
		if ($out === false) {
			throw new \RuntimeException("WebDriver $method $path: " . curl_error($ch));
		}
		$j = json_decode($out, true);
		if (isset($j['value']['error'])) {
			throw new \RuntimeException("WebDriver $method $path: {$j['value']['error']}: " . ($j['value']['message'] ?? ''));
		}
		return $path === '/session' ? $j['value'] : $j['value'];
	}

	private function s(string $path, string $method = 'GET', $body = null) {
		return $this->call($method, '/session/' . $this->session . $path, $body);
	}

	public function go(string $url): void {
		$this->s('/url', 'POST', ['url' => $url]);
	}

	public function url(): string {
		return $this->s('/url');
	}

	public function source(): string {
		return $this->s('/source');
	}

	public function addCookie(string $name, string $value): void {
		$this->s('/cookie', 'POST', ['cookie' => ['name' => $name, 'value' => $value, 'path' => '/']]);
	}

	/** @return string element id */
	public function find(string $css): string {
		return $this->s('/element', 'POST', ['using' => 'css selector', 'value' => $css])[self::ELEMENT];
	}

	/** @return string[] */
	public function findAll(string $css): array {
		return array_column($this->s('/elements', 'POST', ['using' => 'css selector', 'value' => $css]), self::ELEMENT);
	}

	public function text(string $el): string {
		return $this->s("/element/$el/text");
	}

	public function property(string $el, string $name) {
		return $this->s("/element/$el/property/$name");
	}

	public function attribute(string $el, string $name) {
		return $this->s("/element/$el/attribute/$name");
	}

	public function click(string $el): void {
		$this->s("/element/$el/click", 'POST', new \stdClass());
	}

	public function clear(string $el): void {
		$this->s("/element/$el/clear", 'POST', new \stdClass());
	}

	public function type(string $el, string $text): void {
		$this->s("/element/$el/value", 'POST', ['text' => $text]);
	}

	public function exec(string $script, array $args = []) {
		return $this->s('/execute/sync', 'POST', ['script' => $script, 'args' => $args]);
	}

	/** Waits until document.readyState is complete and the URL matches (optional). */
	public function waitFor(callable $cond, float $timeout = 20): void {
		$deadline = microtime(true) + $timeout;
		while (microtime(true) < $deadline) {
			try {
				if ($cond($this)) {
					return;
				}
			} catch (\RuntimeException $e) {
				// element not there yet
			}
			usleep(150000);
		}
		$dir = Env::get('KC_MEET_WP_LOG_DIR') ?? Env::tmp();
		$stem = $dir . '/webdriver-timeout-' . date('His') . '-' . bin2hex(random_bytes(2));
		try {
			$this->screenshot($stem . '.png');
			file_put_contents($stem . '.html', $this->source());
		} catch (\Throwable $e) {
		}
		throw new \RuntimeException('WebDriver wait timed out at ' . $this->url() . " (page saved as $stem.png/.html)");
	}

	public function screenshot(string $file): void {
		file_put_contents($file, base64_decode($this->s('/screenshot')));
	}

	public function quit(): void {
		if ($this->session) {
			try {
				$this->s('', 'DELETE');
			} catch (\Throwable $e) {
			}
			$this->session = null;
		}
		if ($this->proc) {
			proc_terminate($this->proc);
			proc_close($this->proc);
			$this->proc = null;
		}
		if (isset($this->profile) && is_dir($this->profile)) {
			exec('rm -rf ' . escapeshellarg($this->profile));
		}
	}

	public function __destruct() {
		$this->quit();
	}
}
