<?php
namespace KcMeetTest;

final class Response {
	public int $status;
	/** @var array<string, string[]> lower-case header name => values */
	public array $headers;
	public string $body;
	public string $url;
	public string $method;

	public function __construct(string $method, string $url, int $status, array $headers, string $body) {
		$this->method = $method;
		$this->url = $url;
		$this->status = $status;
		$this->headers = $headers;
		$this->body = $body;
	}

	public function header(string $name): ?string {
		$v = $this->headers[strtolower($name)] ?? null;
		return $v ? end($v) : null;
	}

	public function location(): ?string {
		$loc = $this->header('location');
		if ($loc === null) {
			return null;
		}
		return Http::absolute($this->url, $loc);
	}

	public function json() {
		$j = json_decode($this->body, true);
		if ($j === null && trim($this->body) !== 'null') {
			throw new \RuntimeException("response of {$this->method} {$this->url} is not JSON (status {$this->status}): " . substr($this->body, 0, 500));
		}
		return $j;
	}

	public function describe(): string {
		return sprintf("%s %s → %d%s\n%s", $this->method, $this->url, $this->status,
			$this->location() ? ' Location: ' . $this->location() : '', substr(strip_tags($this->body), 0, 1500));
	}
}
