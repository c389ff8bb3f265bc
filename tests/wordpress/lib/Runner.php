<?php
namespace KcMeetTest;

/** Starts bin/wp-run.php in a fresh PHP process for one test database and returns its JSON report. */
final class Runner {
	/**
	 * @param array $job  see bin/wp-run.php
	 * @param array $opts 'extension' => bool (default true: php -d extension=KC_MEET_EXT), 'env' => [..]
	 */
	public static function run(string $db, array $job, array $opts = []): RunResult {
		$cmd = ['php'];
		if (($opts['extension'] ?? true) && Env::hasExt()) {
			$cmd[] = '-d';
			$cmd[] = 'extension=' . Env::ext();
		}
		$cmd[] = Env::here() . '/bin/wp-run.php';
		$out = tempnam(Env::tmp(), 'run');
		$env = getenv();
		$env['KC_MEET_TEST_DB'] = $db;
		$env['KC_MEET_RUN_OUT'] = $out;
		foreach ($opts['env'] ?? [] as $k => $v) {
			if ($v === null) {
				unset($env[$k]);
			} else {
				$env[$k] = $v;
			}
		}
		$p = proc_open($cmd, [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, Env::root(), $env);
		fwrite($pipes[0], json_encode($job));
		fclose($pipes[0]);
		$stdout = stream_get_contents($pipes[1]);
		$stderr = stream_get_contents($pipes[2]);
		fclose($pipes[1]);
		fclose($pipes[2]);
		$status = proc_close($p);
		$json = (string) @file_get_contents($out);
		@unlink($out);
		$report = json_decode($json, true);
		return new RunResult($job, is_array($report) ? $report : null, $status, $stdout, $stderr);
	}
}

final class RunResult {
	public array $job;
	public ?array $report;
	public int $status;
	public string $stdout;
	public string $stderr;

	public function __construct(array $job, ?array $report, int $status, string $stdout, string $stderr) {
		$this->job = $job;
		$this->report = $report;
		$this->status = $status;
		$this->stdout = $stdout;
		$this->stderr = $stderr;
	}

	public function ok(): bool {
		return $this->report !== null && $this->report['completed'] && !$this->report['exception'] && !$this->report['fatal'];
	}

	public function result() {
		return $this->report['result'] ?? null;
	}

	public function exception(): ?array {
		return $this->report['exception'] ?? null;
	}

	public function cli(): ?array {
		return $this->report['cli'] ?? null;
	}

	public function describe(): string {
		$r = $this->report;
		$s = "runner exit status {$this->status}\n";
		if ($r === null) {
			return $s . "no report. stdout:\n" . substr($this->stdout, 0, 3000) . "\nstderr:\n" . substr($this->stderr, 0, 3000);
		}
		if ($r['fatal']) {
			$s .= 'FATAL: ' . json_encode($r['fatal']) . "\n";
		}
		if ($r['exception']) {
			$e = $r['exception'];
			$s .= "EXCEPTION {$e['class']}({$e['code']}): {$e['message']} at {$e['file']}:{$e['line']}\n{$e['trace']}\n";
		}
		if ($r['exit_called']) {
			$s .= "the code called exit\n";
		}
		if ($r['cli']) {
			$s .= 'CLI: ' . json_encode($r['cli']) . "\n";
		}
		$s .= 'output: ' . substr($r['output'], 0, 2000) . "\n";
		$s .= 'php errors: ' . substr(json_encode($r['php_errors']), 0, 2000) . "\n";
		$s .= 'result: ' . substr(json_encode($r['result']), 0, 2000) . "\n";
		$s .= 'stderr: ' . substr($this->stderr, 0, 1000);
		return $s;
	}
}
