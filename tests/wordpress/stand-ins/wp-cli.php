<?php
/**
 * TEST STAND-IN — NOT WP-CLI.
 *
 * WP-CLI cannot be installed on this machine, so the kc-meet WordPress tests load this small,
 * faithful stand-in of the part of WP-CLI's PHP API that the kc-meet plugin uses:
 *   WP_CLI::add_command(), ::success(), ::error(), ::warning(), ::log(), ::line(), ::debug(),
 *   ::halt(), ::colorize(), WP_CLI\Utils\format_items(), WP_CLI\Utils\get_flag_value(),
 *   WP_CLI\Utils\make_progress_bar(), WP_CLI\ExitException.
 * Semantics follow WP-CLI 2.x:
 *   - success/log/line write to STDOUT, warning/error/debug to STDERR ("Success: ", "Warning: ", "Error: ").
 *   - error() with $exit = true (the default) ends the command with exit status 1; WP-CLI does that by
 *     throwing WP_CLI\ExitException when capture_exit is on, which is what this stand-in always does
 *     (the test runner catches it and reports the exit status).
 *   - A command registered as a class: each public method that does not start with "__" is a subcommand,
 *     named by its "@subcommand" doc tag or by the method name with "_" replaced by "-"; __invoke makes
 *     the class itself callable. Methods receive ($args, $assoc_args).
 *   - "--flag" → assoc true, "--no-flag" → assoc false, "--key=value" → assoc string; WP-CLI's global
 *     parameters (--user, --url, --path, …) are not passed to the command; --user sets the current user;
 *     --quiet swaps in WP-CLI's Quiet logger (log, success and warning print nothing; error still does).
 *   - Arguments are validated against the subcommand's synopsis before it runs, as WP-CLI 2.12's
 *     Dispatcher\Subcommand::validate_args() does: the synopsis is the docblock's "@synopsis" tag, else
 *     every line followed by a ": description" line (the "## OPTIONS" section); a command without one
 *     accepts anything. Missing required positionals print "usage: wp …" and exit 1; extra positionals,
 *     unknown --flags, a missing required --key, an --key without its value and a value outside the
 *     parameter's YAML "options:" list end with "Error: Parameter errors: …" (exit 1); YAML "default:"
 *     values are filled in. (SynopsisParser, SynopsisValidator and DocParser semantics.)
 *   - WP_CLI::confirm() returns at once with --yes, else writes "question [y/n] " to STDOUT and reads
 *     one answer (WP_CLI::$stdin, one line per question); anything but "y" exits with status 0.
 *   - WP_CLI\Utils\report_batch_operation_results() as WP-CLI words and exits it.
 * Output is collected in WP_CLI::$stdout / WP_CLI::$stderr so the runner can return it as JSON.
 * Progress bars print nothing (real WP-CLI hands out a no-op bar when its output is not a terminal, as
 * in every test); what the plugin did with them is recorded in WP_CLI::$progress_bars (message, count,
 * ticks, finished), so tests assert the plugin's calls, not text this stand-in makes up.
 */

namespace WP_CLI {
	class ExitException extends \Exception {}
}

namespace {
	if (!defined('WP_CLI')) {
		define('WP_CLI', true);
	}

	class WP_CLI {
		/** @var array<string, mixed> command name (space separated) => callable|class|object */
		public static $commands = [];
		/** @var array<string, array> */
		public static $command_args = [];
		public static $stdout = '';
		public static $stderr = '';
		/** @var \WP_CLI\Utils\StandInProgressBar[] every bar the command made, in order */
		public static $progress_bars = [];
		/** @var string What STDIN holds for WP_CLI::confirm() (one answer per line). */
		public static $stdin = '';
		/** @var bool --quiet: WP-CLI's Quiet logger. */
		public static $quiet = false;

		public static function add_command($name, $callable, $args = []) {
			$name = trim(preg_replace('/\s+/', ' ', (string) $name));
			if (isset($args['before_invoke']) && !is_callable($args['before_invoke'])) {
				self::error("Callable for before_invoke hook is not valid.");
			}
			if (is_string($callable) && !class_exists($callable) && !is_callable($callable)) {
				self::error(sprintf("Callable %s does not exist, and cannot be registered as `wp %s`.", json_encode($callable), $name));
			}
			self::$commands[$name] = $callable;
			self::$command_args[$name] = $args;
			return true;
		}

		public static function out($text) {
			self::$stdout .= $text;
		}

		public static function line($message = '') {
			self::$stdout .= $message . "\n";
		}

		public static function log($message) {
			if (!self::$quiet) {
				self::$stdout .= $message . "\n";
			}
		}

		public static function success($message) {
			if (!self::$quiet) {
				self::$stdout .= 'Success: ' . $message . "\n";
			}
		}

		public static function confirm($question, $assoc_args = []) {
			if (!\WP_CLI\Utils\get_flag_value($assoc_args, 'yes')) {
				self::$stdout .= $question . ' [y/n] ';
				$nl = strpos(self::$stdin, "\n");
				$answer = $nl === false ? self::$stdin : substr(self::$stdin, 0, $nl);
				self::$stdin = $nl === false ? '' : substr(self::$stdin, $nl + 1);
				if (strtolower(trim($answer)) !== 'y') {
					// WP-CLI calls a bare exit here: status 0.
					throw new \WP_CLI\ExitException('', 0);
				}
			}
		}

		public static function debug($message, $group = false) {
			// WP-CLI prints debug only with --debug; the stand-in records nothing.
		}

		public static function warning($message) {
			if (!self::$quiet) {
				self::$stderr .= 'Warning: ' . self::error_to_string($message) . "\n";
			}
		}

		public static function error($message, $exit = true) {
			if ($message !== null && $message !== '') {
				self::$stderr .= 'Error: ' . self::error_to_string($message) . "\n";
			}
			$code = $exit === true ? 1 : (is_int($exit) ? $exit : 0);
			if ($code) {
				throw new \WP_CLI\ExitException(self::error_to_string($message), $code);
			}
		}

		public static function halt($code) {
			throw new \WP_CLI\ExitException('', (int) $code);
		}

		public static function colorize($string) {
			return preg_replace('/%[yYgGbBrRcCmMwWkKn0-7UF_]/', '', $string);
		}

		public static function error_to_string($errors) {
			if (is_string($errors)) {
				return $errors;
			}
			if (is_object($errors) && $errors instanceof \WP_Error) {
				foreach ($errors->get_error_messages() as $m) {
					return $m;
				}
				return 'Unknown error';
			}
			if (is_object($errors) && $errors instanceof \Throwable) {
				return $errors->getMessage();
			}
			return (string) json_encode($errors);
		}

		/** Parses argv like WP-CLI's Configurator::extract_assoc. */
		public static function parse_args(array $argv): array {
			$positional = [];
			$assoc = [];
			foreach ($argv as $arg) {
				if (preg_match('/^--no-([^=]+)$/', $arg, $m)) {
					$assoc[$m[1]] = false;
				} elseif (preg_match('/^--([^=]+)$/', $arg, $m)) {
					$assoc[$m[1]] = true;
				} elseif (preg_match('/^--([^=]+)=(.*)$/s', $arg, $m)) {
					$assoc[$m[1]] = $m[2];
				} else {
					$positional[] = $arg;
				}
			}
			return [$positional, $assoc];
		}

		/** Subcommands of a class command: name => method. */
		public static function class_subcommands($class): array {
			$ref = new \ReflectionClass($class);
			$subs = [];
			foreach ($ref->getMethods(\ReflectionMethod::IS_PUBLIC) as $m) {
				if ($m->isStatic() || strpos($m->getName(), '__') === 0) {
					continue;
				}
				$name = str_replace('_', '-', $m->getName());
				$doc = (string) $m->getDocComment();
				if (preg_match('/@subcommand\s+(\S+)/', $doc, $mm)) {
					$name = $mm[1];
				}
				$subs[$name] = $m->getName();
			}
			return $subs;
		}

		/**
		 * Runs `wp <argv...>` (argv without the leading "wp"). Returns the exit status.
		 */
		public static function run_command(array $argv): int {
			[$positional, $assoc] = self::parse_args($argv);
			try {
				self::$quiet = !empty($assoc['quiet']);
				// Global parameters are WP-CLI's, not the command's (--user sets the current user).
				foreach (['path', 'url', 'ssh', 'http', 'skip-plugins', 'skip-themes', 'skip-packages', 'require', 'exec',
					'context', 'color', 'debug', 'prompt', 'quiet'] as $global) {
					unset($assoc[$global]);
				}
				if (isset($assoc['user'])) {
					$u = $assoc['user'];
					unset($assoc['user']);
					$user = ctype_digit((string) $u) ? get_user_by('id', (int) $u) : (get_user_by('email', $u) ?: get_user_by('login', $u));
					if (!$user) {
						self::error(sprintf("Invalid user ID, email or login: '%s'", $u));
					}
					wp_set_current_user($user->ID);
				}
				// Longest registered command name that prefixes the positional args.
				$best = null;
				for ($n = count($positional); $n >= 1; $n--) {
					$name = implode(' ', array_slice($positional, 0, $n));
					if (isset(self::$commands[$name])) {
						$best = $name;
						break;
					}
				}
				if ($best === null) {
					self::error(sprintf("'%s' is not a registered wp command. See 'wp help' for available commands.", $positional[0] ?? ''));
				}
				$rest = array_slice($positional, count(explode(' ', $best)));
				$callable = self::$commands[$best];
				$cmd_args = self::$command_args[$best];
				if (isset($cmd_args['before_invoke'])) {
					call_user_func($cmd_args['before_invoke']);
				}
				if ((is_string($callable) && class_exists($callable)) || (is_object($callable) && !($callable instanceof \Closure))) {
					$subs = self::class_subcommands($callable);
					$sub = $rest[0] ?? null;
					if ($sub !== null && isset($subs[$sub])) {
						$obj = is_object($callable) ? $callable : new $callable();
						$doc = (string) (new \ReflectionMethod($obj, $subs[$sub]))->getDocComment();
						[$sub_args, $assoc] = self::validate_args("$best $sub", $doc, array_slice($rest, 1), $assoc);
						$obj->{$subs[$sub]}($sub_args, $assoc);
					} elseif (method_exists($callable, '__invoke')) {
						$obj = is_object($callable) ? $callable : new $callable();
						$doc = (string) (new \ReflectionMethod($obj, '__invoke'))->getDocComment();
						[$rest, $assoc] = self::validate_args($best, $doc, $rest, $assoc);
						$obj($rest, $assoc);
					} elseif ($sub === null) {
						// WP-CLI shows the command's help (its subcommands) and exits 0.
						self::line(sprintf('usage: wp %s <command>', $best));
						foreach (array_keys($subs) as $name) {
							self::line(sprintf('   or: wp %s %s', $best, $name));
						}
					} else {
						self::error(sprintf("'%s' is not a registered subcommand of '%s'. See 'wp help %s' for available subcommands.", (string) $sub, $best, $best));
					}
				} else {
					$doc = '';
					if ($callable instanceof \Closure || (is_string($callable) && function_exists($callable))) {
						$doc = (string) (new \ReflectionFunction($callable))->getDocComment();
					}
					[$rest, $assoc] = self::validate_args($best, $doc, $rest, $assoc);
					call_user_func($callable, $rest, $assoc);
				}
				if (isset($cmd_args['after_invoke'])) {
					call_user_func($cmd_args['after_invoke']);
				}
				return 0;
			} catch (\WP_CLI\ExitException $e) {
				return $e->getCode();
			} finally {
				self::$quiet = false;
			}
		}

		/**
		 * The synopsis of a subcommand as WP-CLI finds it: the "@synopsis" tag, else every line of the
		 * long description that is followed by a ": description" line (Subcommand::extract_synopsis()).
		 */
		public static function synopsis(string $doc): string {
			$parser = new \WP_CLI\StandInDocParser($doc);
			$synopsis = $parser->get_synopsis();
			if ($synopsis === '' && $parser->get_longdesc() !== '') {
				preg_match_all('/(.+?)[\r\n]+:/', $parser->get_longdesc(), $m);
				$synopsis = implode(' ', $m[1]);
			}
			return $synopsis;
		}

		/**
		 * Dispatcher\Subcommand::validate_args(): checks the arguments against the synopsis, fills in
		 * YAML defaults, enforces YAML option lists. Returns [args, assoc_args] as the command gets them.
		 */
		public static function validate_args(string $path, string $doc, array $args, array $assoc): array {
			$synopsis = self::synopsis($doc);
			if ($synopsis === '') {
				return [$args, $assoc];
			}
			$spec = \WP_CLI\StandInSynopsis::parse($synopsis);
			foreach ($spec as $p) {
				if ($p['type'] === 'unknown') {
					self::warning(sprintf('The `%s` command has an invalid synopsis part: %s', $path, $p['token']));
				}
			}
			$query = static fn(array $where) => array_filter($spec, static function ($p) use ($where) {
				foreach ($where as $k => $v) {
					if (!array_key_exists($k, $p) || $p[$k] !== $v) {
						return false;
					}
				}
				return true;
			});
			if (count($args) < count($query(['type' => 'positional', 'optional' => false]))) {
				self::line('usage: wp ' . $path . ' ' . $synopsis);
				throw new \WP_CLI\ExitException('', 1);
			}
			if (!$query(['type' => 'positional', 'repeating' => true])) {
				$extra = array_slice($args, count($query(['type' => 'positional', 'repeating' => false])));
				if ($extra) {
					self::error('Too many positional arguments: ' . implode(' ', $extra));
				}
			}
			$docparser = new \WP_CLI\StandInDocParser($doc);
			$errors = ['fatal' => [], 'warning' => []];
			$i = 0;
			foreach ($spec as $p) {
				if ($p['type'] === 'positional') {
					$yaml = $docparser->get_arg_args($p['name']);
					if (!isset($args[$i]) && isset($yaml['default'])) {
						$args[$i] = $yaml['default'];
					}
					if (isset($yaml['options'])) {
						do {
							if (isset($args[$i]) && !in_array($args[$i], $yaml['options'])) {
								self::error('Invalid value specified for positional arg.');
							}
							$i++;
						} while (!empty($p['repeating']) && isset($args[$i]));
						continue;
					}
					$i++;
				} elseif ($p['type'] === 'assoc') {
					$yaml = $docparser->get_param_args($p['name']);
					if (!isset($assoc[$p['name']]) && isset($yaml['default'])) {
						$assoc[$p['name']] = $yaml['default'];
					}
					if (isset($assoc[$p['name']], $yaml['options']) && !in_array($assoc[$p['name']], $yaml['options'])) {
						$values = array_map('trim', explode(',', (string) $assoc[$p['name']]));
						if (count($values) < 2 || count(array_intersect($values, $yaml['options'])) !== count($values)) {
							$errors['fatal'][$p['name']] = "Invalid value specified for '{$p['name']}'";
						}
					}
				}
			}
			$to_unset = [];
			foreach ($query(['type' => 'assoc']) as $p) {
				$key = $p['name'];
				if (!isset($assoc[$key])) {
					if (!$p['optional']) {
						$errors['fatal'][$key] = "missing --$key parameter";
					}
				} elseif ($assoc[$key] === true && !$p['value']['optional']) {
					$errors[$p['optional'] ? 'warning' : 'fatal'][$key] = "--$key parameter needs a value";
					$to_unset[] = $key;
				}
			}
			if (!$query(['type' => 'generic'])) {
				$known = array_column(array_filter($spec, static fn($p) => in_array($p['type'], ['assoc', 'flag'], true)), 'name');
				foreach (array_diff(array_keys($assoc), $known) as $key) {
					$errors['fatal'][] = "unknown --$key parameter";
				}
			}
			if ($errors['fatal']) {
				$out = 'Parameter errors:';
				foreach ($errors['fatal'] as $key => $error) {
					$out .= "\n {$error}";
					$desc = is_string($key) ? $docparser->get_param_desc($key) : '';
					if ($desc !== '') {
						$out .= " ({$desc})";
					}
				}
				self::error($out);
			}
			array_map([self::class, 'warning'], $errors['warning']);
			foreach ($to_unset as $key) {
				unset($assoc[$key]);
			}
			return [$args, $assoc];
		}
	}
}

namespace WP_CLI {
	/** WP-CLI's DocParser: what `wp help` and the argument validation read from a docblock. */
	class StandInDocParser {
		private $doc;

		public function __construct(string $doc) {
			$doc = str_replace("\r\n", "\n", $doc);
			$doc = preg_replace('|^/\*\*[\r\n]+|', '', $doc);
			$doc = preg_replace('|\n[\t ]*\*/$|', '', $doc);
			$this->doc = preg_replace('|^[\t ]*\* ?|m', '', $doc);
		}

		/** Only the first line: `wp help` shows nothing else as the short description. */
		public function get_shortdesc(): string {
			return preg_match('|^([^@][^\n]+)\n*|', $this->doc, $m) ? $m[1] : '';
		}

		public function get_longdesc(): string {
			$short = $this->get_shortdesc();
			if ($short === '') {
				return '';
			}
			$lines = [];
			foreach (explode("\n", substr($this->doc, strlen($short))) as $line) {
				if (strpos($line, '@') === 0) {
					break;
				}
				$lines[] = $line;
			}
			return trim(implode("\n", $lines));
		}

		public function get_tag(string $name): string {
			return preg_match('|^@' . $name . '\s+([a-z-_0-9]+)|m', $this->doc, $m) ? $m[1] : '';
		}

		public function get_synopsis(): string {
			return preg_match('|^@synopsis\s+(.+)|m', $this->doc, $m) ? $m[1] : '';
		}

		public function get_param_desc(string $key): string {
			return preg_match('/\[?--' . preg_quote($key, '/') . '=.+\n: (.+?)(\n|$)/', $this->doc, $m) ? $m[1] : '';
		}

		public function get_arg_args(string $name): ?array {
			return $this->yaml('/^\[?<' . preg_quote($name, '/') . '>.*/');
		}

		public function get_param_args(string $key): ?array {
			return $this->yaml('/^\[?--' . preg_quote($key, '/') . '=.*/');
		}

		/** The "---" YAML block after the parameter's line (only the "default:" and "options:" keys WP-CLI acts on). */
		private function yaml(string $regex): ?array {
			$within_arg = $within_doc = false;
			$doc = [];
			foreach (explode("\n", $this->doc) as $bit) {
				if (preg_match($regex, $bit)) {
					$within_arg = true;
				}
				if ($within_arg && $within_doc && $bit === '---') {
					$within_doc = false;
				} elseif ($within_arg && !$within_doc && $bit === '---') {
					$within_doc = true;
					continue;
				}
				if ($within_doc) {
					$doc[] = $bit;
				}
				if ($within_arg && $bit === '') {
					break;
				}
			}
			if (!$doc) {
				return null;
			}
			$out = [];
			$list = null;
			foreach ($doc as $line) {
				if (preg_match('/^\s+-\s*(.*)$/', $line, $m) && $list !== null) {
					$out[$list][] = trim($m[1], " '\"");
				} elseif (preg_match('/^([a-z_]+):\s*(.*)$/', $line, $m)) {
					$list = $m[2] === '' ? $m[1] : null;
					$out[$m[1]] = $m[2] === '' ? [] : trim($m[2], " '\"");
				}
			}
			return $out;
		}
	}

	/** WP-CLI's SynopsisParser::parse(). */
	class StandInSynopsis {
		public static function parse(string $synopsis): array {
			$params = [];
			foreach (array_filter(preg_split('/[\s\t]+/', $synopsis)) as $token) {
				$param = self::classify($token);
				if (isset($param['optional']) && !$param['optional']
					&& ($param['type'] === 'flag' || ($param['type'] === 'assoc' && $param['value']['optional']))) {
					$param['type'] = 'unknown';
				}
				$param['token'] = $token;
				$params[] = $param;
			}
			return $params;
		}

		private static function classify(string $token): array {
			$param = [];
			[$param['optional'], $token] = self::strip($token, '[', ']');
			$param['repeating'] = substr($token, -3) === '...';
			if ($param['repeating']) {
				$token = substr($token, 0, -3);
			}
			$p_name = '([a-z-_0-9]+)';
			$p_value = '([a-zA-Z-_|,0-9]+)';
			if ($token === '--<field>=<value>') {
				$param['type'] = 'generic';
			} elseif (preg_match("/^<($p_value)>$/", $token, $m)) {
				$param['type'] = 'positional';
				$param['name'] = $m[1];
			} elseif (preg_match("/^--(?:\\[no-\\])?$p_name/", $token, $m)) {
				$param['name'] = $m[1];
				$value = substr($token, strlen($m[0]));
				if ($value === '' || $value === false) {
					$param['type'] = 'flag';
				} else {
					$param['type'] = 'assoc';
					[$param['value']['optional'], $value] = self::strip($value, '[', ']');
					if (preg_match("/^=<$p_value>$/", $value, $m)) {
						$param['value']['name'] = $m[1];
					} else {
						$param = ['type' => 'unknown'];
					}
				}
			} else {
				$param['type'] = 'unknown';
			}
			return $param;
		}

		private static function strip(string $token, string $open, string $close): array {
			if (substr($token, 0, 1) === $open && substr($token, -1) === $close) {
				return [true, substr($token, 1, -1)];
			}
			return [false, $token];
		}
	}
}

namespace WP_CLI\Utils {
	function get_flag_value($assoc_args, $flag, $default = null) {
		return isset($assoc_args[$flag]) ? $assoc_args[$flag] : $default;
	}

	/** Like WP-CLI's Formatter: table, json, csv, yaml, ids, count. */
	function format_items($format, $items, $fields) {
		if (is_string($fields)) {
			$fields = array_map('trim', explode(',', $fields));
		}
		$rows = [];
		foreach ($items as $item) {
			$item = is_object($item) ? get_object_vars($item) : (array) $item;
			$row = [];
			foreach ($fields as $f) {
				$row[$f] = array_key_exists($f, $item) ? $item[$f] : null;
			}
			$rows[] = $row;
		}
		$cell = static function ($v) {
			if (is_array($v) || is_object($v)) {
				return json_encode($v);
			}
			if (is_bool($v)) {
				return $v ? 'true' : 'false';
			}
			return (string) $v;
		};
		switch ($format) {
			case 'json':
				\WP_CLI::$stdout .= json_encode($rows) . "\n";
				break;
			case 'count':
				\WP_CLI::$stdout .= count($rows) . "\n";
				break;
			case 'ids':
				\WP_CLI::$stdout .= implode(' ', array_map($cell, array_column($rows, $fields[0]))) . "\n";
				break;
			case 'csv':
				$fh = fopen('php://memory', 'w+');
				fputcsv($fh, $fields);
				foreach ($rows as $r) {
					fputcsv($fh, array_map($cell, array_values($r)));
				}
				rewind($fh);
				\WP_CLI::$stdout .= stream_get_contents($fh);
				fclose($fh);
				break;
			case 'yaml':
				foreach ($rows as $r) {
					$first = true;
					foreach ($r as $k => $v) {
						\WP_CLI::$stdout .= ($first ? '- ' : '  ') . $k . ': ' . $cell($v) . "\n";
						$first = false;
					}
				}
				break;
			case 'table':
			default:
				$widths = [];
				foreach ($fields as $f) {
					$widths[$f] = strlen($f);
					foreach ($rows as $r) {
						$widths[$f] = max($widths[$f], strlen($cell($r[$f])));
					}
				}
				$sep = '+';
				foreach ($fields as $f) {
					$sep .= str_repeat('-', $widths[$f] + 2) . '+';
				}
				$line = static function ($vals) use ($fields, $widths) {
					$s = '|';
					foreach ($fields as $i => $f) {
						$s .= ' ' . str_pad($vals[$i], $widths[$f]) . ' |';
					}
					return $s;
				};
				$out = $sep . "\n" . $line($fields) . "\n" . $sep . "\n";
				foreach ($rows as $r) {
					$out .= $line(array_map($cell, array_values($r))) . "\n";
				}
				$out .= $sep . "\n";
				\WP_CLI::$stdout .= $out;
		}
	}

	/** WP-CLI's Utils\past_tense_verb(). */
	function past_tense_verb($verb) {
		static $irregular = ['reset' => 'reset'];
		if (isset($irregular[$verb])) {
			return $irregular[$verb];
		}
		$last = substr($verb, -1);
		if ($last === 'e') {
			$verb = substr($verb, 0, -1);
		} elseif ($last === 'y' && !preg_match('/[aeiou]y$/', $verb)) {
			$verb = substr($verb, 0, -1) . 'i';
		} elseif (preg_match('/^[^aeiou]*[aeiou][^aeiouhwxy]$/', $verb)) {
			$verb .= $last;
		}
		return $verb . 'ed';
	}

	/** WP-CLI's Utils\report_batch_operation_results(): a failure is an error (exit 1), else success. */
	function report_batch_operation_results($noun, $verb, $total, $successes, $failures, $skips = null) {
		$plural = $noun . 's';
		$past = past_tense_verb($verb);
		if ($failures) {
			$detail = $skips === null ? '' : " ({$failures} failed" . ($skips ? ", {$skips} skipped" : '') . ')';
			\WP_CLI::error($successes ? "Only {$past} {$successes} of {$total} {$plural}{$detail}." : "No {$plural} {$past}{$detail}.");
		} elseif ($successes || $skips) {
			\WP_CLI::success(ucfirst($past) . " {$successes} of {$total} {$plural}" . ($skips ? " ({$skips} skipped)" : '') . '.');
		} else {
			\WP_CLI::success(($total > 1 ? ucfirst($plural) : ucfirst($noun)) . " already {$past}.");
		}
	}

	class StandInProgressBar {
		public $message;
		public $count;
		public $ticks = 0;
		public $finished = false;
		public function __construct($message, $count) {
			$this->message = $message;
			$this->count = $count;
		}
		public function tick($increment = 1, $msg = null) {
			$this->ticks += $increment;
		}
		public function finish() {
			$this->finished = true;
		}
	}

	function make_progress_bar($message, $count, $interval = 100) {
		return \WP_CLI::$progress_bars[] = new StandInProgressBar($message, $count);
	}
}
