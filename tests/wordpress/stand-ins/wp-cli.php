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
 *     parameters (--user, --url, --path, …) are not passed to the command; --user sets the current user.
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
			self::$stdout .= $message . "\n";
		}

		public static function success($message) {
			self::$stdout .= 'Success: ' . $message . "\n";
		}

		public static function debug($message, $group = false) {
			// WP-CLI prints debug only with --debug; the stand-in records nothing.
		}

		public static function warning($message) {
			self::$stderr .= 'Warning: ' . self::error_to_string($message) . "\n";
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
						$obj->{$subs[$sub]}(array_slice($rest, 1), $assoc);
					} elseif (method_exists($callable, '__invoke')) {
						$obj = is_object($callable) ? $callable : new $callable();
						$obj($rest, $assoc);
					} else {
						self::error(sprintf("'%s' is not a registered subcommand of '%s'. See 'wp help %s' for available subcommands.", (string) $sub, $best, $best));
					}
				} else {
					call_user_func($callable, $rest, $assoc);
				}
				if (isset($cmd_args['after_invoke'])) {
					call_user_func($cmd_args['after_invoke']);
				}
				return 0;
			} catch (\WP_CLI\ExitException $e) {
				return $e->getCode();
			}
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
