<?php
/**
 * The bench's summary: every figure of the performance issue from the two JSON files of one run
 * (bench.json from tests/bench/run.php, bench_sync.json from examples/bench_sync.rs), as one
 * table on the terminal.
 *
 *   php tests/bench/report.php [--check] [folder]     folder: default target/bench
 *
 * With --check (the smoke run of `./build.sh test`) it also fails (exit 1) when a figure is
 * missing or not a number, naming each one; times are never judged, only their presence.
 */

$args = array_slice($argv, 1);
$check = in_array('--check', $args, true);
$args = array_values(array_diff($args, ['--check']));
$dir = $args[0] ?? dirname(__DIR__, 2) . '/target/bench';

$missing = [];
$load = static function (string $file) use (&$missing): array {
	$j = is_file($file) ? json_decode((string) file_get_contents($file), true) : null;
	if (!is_array($j)) {
		$missing[] = "$file (not written or not JSON)";
		return [];
	}
	return $j;
};
$bench = $load("$dir/bench.json");
$idle = $load("$dir/bench_sync.json");

/** A figure at a path ('ops.create.kc.cpu_ms'); null (and noted) when absent or not a number. */
$get = static function (array $from, string $name, string $path) use (&$missing): ?float {
	$v = $from;
	foreach (explode('.', $path) as $k) {
		if (!is_array($v) || !array_key_exists($k, $v)) {
			$missing[] = "$name: $path";
			return null;
		}
		$v = $v[$k];
	}
	if (!is_int($v) && !is_float($v) || !is_finite((float) $v)) {
		$missing[] = "$name: $path (" . json_encode($v) . ')';
		return null;
	}
	return (float) $v;
};
$b = static fn(string $path) => $get($bench, 'bench.json', $path);
$s = static fn(string $path) => $get($idle, 'bench_sync.json', $path);
$f = static fn(?float $v, string $fmt = '%.2f ms') => $v === null ? 'MISSING' : sprintf($fmt, $v);

$rows = [];
$row = static function (string $label, string $php, string $kc) use (&$rows): void {
	$rows[] = [$label, $php, $kc];
};
foreach (['create', 'reschedule', 'cancel'] as $op) {
	$row("Google requests per $op", $f($b("ops.$op.php.google_requests"), '%.2f'), $f($b("ops.$op.kc.google_requests"), '%.2f'));
}
$row('new TCP+TLS connections to Google, all creates', $f($b('ops.create.php.google_connections'), '%d'), $f($b('ops.create.kc.google_connections'), '%d'));
foreach (['create' => 'create', 'reschedule' => 'reschedule', 'cancel' => 'cancel', 'again' => 'unchanged (create again)'] as $op => $label) {
	$row("CPU per op, $label", $f($b("ops.$op.php.cpu_ms")), $f($b("ops.$op.kc.cpu_ms")));
	$row("wall per op, $label", $f($b("ops.$op.php.wall_ms")), $f($b("ops.$op.kc.wall_ms")));
	$row("MySQL statements per op, $label", $f($b("ops.$op.php.statements"), '%.1f'), $f($b("ops.$op.kc.statements"), '%.1f'));
	$row("MySQL round trips per op, $label", $f($b("ops.$op.php.round_trips"), '%.1f'), $f($b("ops.$op.kc.round_trips"), '%.1f'));
}
$row('new MySQL connections, all creates', $f($b('ops.create.php.new_mysql_connections'), '%d'), $f($b('ops.create.kc.new_mysql_connections'), '%d'));
$row('kc_meet_status(): statements', '', $f($b('status.statements'), '%.1f'));
$row('floor: insert / patch / delete alone', '', sprintf('%s / %s / %s', $f($b('floor.insert_ms')), $f($b('floor.patch_ms')), $f($b('floor.delete_ms'))));
$row('floor after 10 ms idle: insert / patch / delete', '', sprintf('%s / %s / %s', $f($b('floor_idle.insert_ms')), $f($b('floor_idle.patch_ms')), $f($b('floor_idle.delete_ms'))));
$row('one durable commit (autocommit write, median)', '', $f($b('commit.commit_ms')));
foreach (['create', 'reschedule', 'cancel'] as $op) {
	$row("above the floor, $op: all / commits / left", '', sprintf('%s / %s x %s / %s', $f($b("above_floor.$op.above_floor_ms"), '%+.2f'), $f($b("above_floor.$op.commits"), '%d'), $f($b('commit.commit_ms'), '%.2f'), $f($b("above_floor.$op.left_ms"), '%+.2f ms')));
	$row("above the idle floor, $op", '', $f($b("above_floor.$op.above_idle_floor_ms"), '%+.2f ms'));
}
foreach (is_array($bench['sync'] ?? null) && $bench['sync'] ? array_keys($bench['sync']) : ['(none)'] as $size) {
	foreach (['full', 'incremental', 'idle'] as $kind) {
		$row("sync $size+$size, $kind: CPU", $f($b("sync.$size.$kind.php.cpu_ms")), $f($b("sync.$size.$kind.kc.cpu_ms")));
		$row("sync $size+$size, $kind: wall", $f($b("sync.$size.$kind.php.wall_ms")), $f($b("sync.$size.$kind.kc.wall_ms")));
		$row("sync $size+$size, $kind: events seen", $f($b("sync.$size.$kind.php.seen"), '%d'), $f($b("sync.$size.$kind.kc.seen"), '%d'));
		$peak = static fn(string $impl) => ($p = $b("sync.$size.$kind.$impl.rss_peak_kb")) === null || ($q = $b("sync.$size.$kind.$impl.rss_before_kb")) === null || ($h = $b("sync.$size.$kind.$impl.php_peak_kb")) === null
			? 'MISSING' : sprintf('+%d / %d kB', max(0, $p - $q), $h);
		$row("sync $size+$size, $kind: RSS growth / PHP heap", $peak('php'), $peak('kc'));
	}
}
foreach (['front-end', 'wp-admin'] as $view) {
	$row("page view $view: CPU without / with plugin", '', sprintf('%s / %s', $f($b("page_views.$view.without.cpu_ms")), $f($b("page_views.$view.with.cpu_ms"))));
	$row("page view $view: kc-meet's extra CPU", '', $f($b("page_views.$view.extra_cpu_ms"), '%+.2f ms'));
	$row("page view $view: statements without / with", '', sprintf('%s / %s', $f($b("page_views.$view.without.statements"), '%.1f'), $f($b("page_views.$view.with.statements"), '%.1f')));
}
$row('PHP start-up CPU without / with the extension', '', sprintf('%s / %s', $f($b('extension_load.without.cpu_ms')), $f($b('extension_load.with.cpu_ms'))));
$doctors = $s('doctors');
$row(sprintf('idle round: %s doctors at %s ms latency, wall', $f($doctors, '%d'), $f($s('latency_ms'), '%d')), '', $f($s('wall_s'), '%.2f s'));
$row('idle round: against one by one', '', $f($s('fraction_of_one_by_one'), '%.3f'));
$row('idle round: CPU per doctor', '', $f($s('cpu_ms_per_doctor')));
$row('idle round: Google calls / doctors with errors', '', sprintf('%s / %s', $f($s('google_calls'), '%d'), $f($s('errors'), '%d')));
$row('idle round: MySQL connections, at once / in all (pool)', '', sprintf('%s / %s (%s)', $f($s('mysql_connections_max'), '%d'), $f($s('mysql_connections_distinct'), '%d'), $f($s('pool_max'), '%d')));

echo "\nkc-meet bench summary ($dir)\n\n";
printf("| %-58s | %15s | %31s |\n", 'figure', 'PHP way', 'kc-meet');
printf("|%s|%s|%s|\n", str_repeat('-', 60), str_repeat('-', 17), str_repeat('-', 33));
foreach ($rows as [$label, $php, $kc]) {
	printf("| %-58s | %15s | %31s |\n", $label, $php, $kc);
}
if ($missing) {
	fwrite(STDERR, "\nmissing figures:\n  " . implode("\n  ", array_unique($missing)) . "\n");
	exit($check ? 1 : 0);
}
if ($check) {
	echo "\nevery figure present (" . count($rows) . " rows)\n";
}
