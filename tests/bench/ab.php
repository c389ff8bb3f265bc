<?php
/**
 * Two builds of the extension side by side: the WordPress part of the bench (tests/bench/run.php
 * through tests/wordpress/run.sh) run with each build in turn, `runs` times, interleaved, so
 * that both see the machine in the same state. On a shared 2-core machine one run's figures move
 * by more than a change is worth; a pair run back to back does not. Prints, per figure, the
 * median over runs of each build's medians (with their range) and the median of the paired
 * differences (now minus earlier).
 *
 *   php tests/bench/ab.php EARLIER.so NOW.so [runs=5] [out=target/bench/ab]
 *
 * The sizes come from the usual environment (KC_MEET_BENCH_APPOINTMENTS, …); each run's
 * bench.json and log stay in out/earlier-N and out/now-N.
 */

$args = array_slice($argv, 1);
if (count($args) < 2) {
	fwrite(STDERR, "usage: php tests/bench/ab.php EARLIER.so NOW.so [runs=5] [out]\n");
	exit(2);
}
$root = dirname(__DIR__, 2);
$builds = ['earlier' => $args[0], 'now' => $args[1]];
$runs = max(1, (int) ($args[2] ?? 5));
$out = $args[3] ?? "$root/target/bench/ab";
foreach ($builds as $name => $so) {
	if (!is_file($so)) {
		fwrite(STDERR, "ab: the $name build is not a file: $so\n");
		exit(2);
	}
}

/** Runs the WordPress bench once with extension `$so`, its output in `$dir`; its bench.json. */
$bench = static function (string $so, string $dir) use ($root): array {
	if (!is_dir($dir) && !mkdir($dir, 0777, true)) {
		throw new RuntimeException("ab: cannot make $dir");
	}
	$env = array_merge(getenv(), [
		'KC_MEET_EXT' => $so,
		'KC_MEET_WP_BENCH' => '1',
		'KC_MEET_BENCH_OUT' => $dir,
		'KC_MEET_WP_DIR' => getenv('KC_MEET_WP_DIR') ?: "$root/target/bench/ab-site",
	]);
	$log = fopen("$dir/bench.log", 'w');
	$p = proc_open(['bash', "$root/tests/wordpress/run.sh"], [0 => ['file', '/dev/null', 'r'], 1 => $log, 2 => $log], $pipes, $root, $env);
	$status = is_resource($p) ? proc_close($p) : -1;
	fclose($log);
	$json = is_file("$dir/bench.json") ? json_decode((string) file_get_contents("$dir/bench.json"), true) : null;
	if ($status !== 0 || !is_array($json)) {
		throw new RuntimeException("ab: the bench failed (exit $status); see $dir/bench.log");
	}
	return $json;
};

/** The figures compared: label => path in bench.json. */
$figures = [];
foreach (['create' => 'create', 'reschedule' => 'reschedule', 'cancel' => 'cancel', 'again' => 'create again (nothing to do)'] as $op => $label) {
	$figures["wall median, $label"] = "ops.$op.kc.wall_median_ms";
	$figures["CPU, $label"] = "ops.$op.kc.cpu_ms";
	$figures["MySQL round trips, $label"] = "ops.$op.kc.round_trips";
}
$figures['kc_meet_status() wall median'] = 'status.wall_median_ms';
$figures['PHP way: wall median, create (same runs)'] = 'ops.create.php.wall_median_ms';
$figures['floor after 10 ms idle: insert (same runs)'] = 'floor_idle.insert_ms';
$figures['page view wp-admin: extra CPU'] = 'page_views.wp-admin.extra_cpu_ms';
$figures['page view front-end: extra CPU'] = 'page_views.front-end.extra_cpu_ms';

$at = static function (array $j, string $path): ?float {
	foreach (explode('.', $path) as $k) {
		if (!is_array($j) || !array_key_exists($k, $j)) {
			return null;
		}
		$j = $j[$k];
	}
	return is_int($j) || is_float($j) ? (float) $j : null;
};
$median = static function (array $v): float {
	sort($v);
	$n = count($v);
	return $n % 2 ? $v[intdiv($n, 2)] : ($v[$n / 2 - 1] + $v[$n / 2]) / 2;
};

$seen = ['earlier' => [], 'now' => []];
for ($i = 1; $i <= $runs; $i++) {
	// Alternate which build goes first, so neither always runs on a machine the other warmed.
	$order = $i % 2 ? ['earlier', 'now'] : ['now', 'earlier'];
	foreach ($order as $name) {
		fwrite(STDERR, "[ab] run $i of $runs: $name\n");
		$seen[$name][] = $bench($builds[$name], "$out/$name-$i");
	}
}

$rows = [];
foreach ($figures as $label => $path) {
	$a = array_map(static fn ($j) => $at($j, $path), $seen['earlier']);
	$b = array_map(static fn ($j) => $at($j, $path), $seen['now']);
	if (in_array(null, $a, true) || in_array(null, $b, true)) {
		$rows[] = [$label, 'missing', 'missing', ''];
		continue;
	}
	$cell = static fn (array $v) => sprintf('%.2f (%.2f-%.2f)', $median($v), min($v), max($v));
	$diff = array_map(static fn ($x, $y) => $y - $x, $a, $b);
	$rows[] = [$label, $cell($a), $cell($b), sprintf('%+.2f', $median($diff))];
}

printf("\n%d interleaved runs of each build, %s operations each (medians over runs; ms unless a count)\n", $runs, $seen['now'][0]['appointments'] ?? '?');
printf("  earlier: %s\n  now:     %s\n\n", $builds['earlier'], $builds['now']);
$head = ['figure', 'earlier', 'now', 'now - earlier (paired)'];
$w = [48, 22, 22, 22];
$line = static function (array $cells) use ($w): string {
	$s = '|';
	foreach ($cells as $k => $c) {
		$s .= ' ' . ($k === 0 ? str_pad($c, $w[$k]) : str_pad($c, $w[$k], ' ', STR_PAD_LEFT)) . ' |';
	}
	return $s . "\n";
};
echo $line($head);
echo '|' . implode('|', array_map(static fn ($n) => str_repeat('-', $n + 2), $w)) . "|\n";
foreach ($rows as $r) {
	echo $line($r);
}
file_put_contents("$out/ab.json", json_encode(['runs' => $runs, 'builds' => $builds, 'rows' => $rows], JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE) . "\n");
printf("\nJSON: %s/ab.json\n", $out);
