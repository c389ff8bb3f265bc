#!/usr/bin/env bash
# kc-meet WordPress test bed: one command, from a fresh clone.
#
#   tests/wordpress/run.sh [phpunit args...]      e.g. tests/wordpress/run.sh --filter ConnectFlow
#
# 1. installs what is missing from Debian's packages (php, wordpress, phpunit, mariadb client, chromium)
# 2. makes sure the MariaDB test user exists (kcmeet_test, all privileges on `kcm\_%` databases)
# 3. starts the Google emulator (tests/emulator/google_emulator.py) on its own port
# 4. copies Debian's WordPress into a scratch folder with its own wp-config.php and our plugin,
#    installs it with WordPress's installer into a template database, creates KiviCare's tables and
#    activates the plugin (activation hook → kc_meet_migrate())
# 5. serves the scratch WordPress with `php -S` (PHP_CLI_SERVER_WORKERS=4) and the built extension
# 6. runs PHPUnit (tests/wordpress/phpunit.xml); each test clones the template into its own database
# 7. the same for a subdirectory network (multisite/): a second copy of WordPress with
#    multisite/wp-config.php, turned into a network by WordPress's install_network() +
#    populate_network(), a second site, KiviCare's tables on both, kc-meet network-activated, its own
#    template database and php -S; PHPUnit with tests/wordpress/phpunit-multisite.xml. With PHPUnit
#    arguments (e.g. --filter), a bed whose suite has no matching test is not set up.
# 8. cleans up (servers, databases, scratch copies of this run; its logs unless it failed) even on
#    failure; exits with PHPUnit's status.
#
# Each run has its own scratch WordPress, databases (kcm_tpl_<run>, kcm_t_<run>_*) and logs
# (target/wp-test/logs/<run>), so runs in one checkout do not disturb each other.
#
# Env: KC_MEET_EXT (default target/release/libkc_meet.so), KC_MEET_WP_DIR (scratch WordPress, default
# a folder of the run's own, removed at the end; a folder given here is replaced at the start and
# kept), KC_MEET_WP_KEEP=1 (keep databases, scratch copies and logs for inspection),
# KC_MEET_WP_NO_APT=1 (never apt-get install), KC_MEET_PLUGIN_SRC (the plugin folder to install),
# KC_MEET_WP_BENCH=1 (run tests/bench/run.php on the bed instead of PHPUnit: ./build.sh bench),
# KC_MEET_WP_PAGE_COST=1 (run bin/page-cost.php instead: what a page view pays for the plugin, profiled).
# KC_MEET_WP_MULTISITE=0 (skip the multisite run; its scratch copy is KC_MEET_WP_DIR + "-multisite").
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
EXT="${KC_MEET_EXT:-$ROOT/target/release/libkc_meet.so}"
DB_USER="${KC_MEET_DB_USER:-kcmeet_test}"
DB_PASSWORD="${KC_MEET_DB_PASSWORD:-kcmeet_test_pw}"
RUN_ID="r$(date +%s)$$"
LOG_DIR="$ROOT/target/wp-test/logs/$RUN_ID"
TEMPLATE_DB="kcm_tpl_${RUN_ID}"
MS_TEMPLATE_DB="kcm_tpl_${RUN_ID}_ms"
ADMIN_PASSWORD="Admin-pass-123!"

log() { printf '[wp-test] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

PIDS=()
TMP="$(mktemp -d /tmp/kc-meet-wp.XXXXXX)"
# The scratch WordPress (and the network's, next to it) lives in the run's own folder, removed with it.
WP_DIR="${KC_MEET_WP_DIR:-$TMP/site}"

mysql_root() { mysql --protocol=socket -uroot "$@"; }

cleanup() {
	local status=$?
	for pid in "${PIDS[@]}"; do
		# each server was started in its own process group (setsid): end the group we made
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL -- "-$pid" 2>/dev/null || true
	done
	if [[ "${KC_MEET_WP_KEEP:-0}" != 1 ]]; then
		local dbs
		# By the names the run gave them (the network's part points TEMPLATE_DB at its own).
		dbs="$(mysql_root -N -e "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'kcm\\_t\\_${RUN_ID}\\_%' OR schema_name IN ('kcm_tpl_${RUN_ID}', 'kcm_tpl_${RUN_ID}_ms')" 2>/dev/null)"
		for db in $dbs; do mysql_root -e "DROP DATABASE IF EXISTS \`$db\`" 2>/dev/null; done
		rm -rf "$TMP"
		if [[ "$status" == 0 ]]; then
			rm -rf "$LOG_DIR"
		else
			log "logs of run $RUN_ID kept in $LOG_DIR"
		fi
	else
		log "kept databases of run $RUN_ID, $TMP and $LOG_DIR"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- 1. packages
need_pkgs=()
command -v php >/dev/null || need_pkgs+=(php8.2-cli)
php -r 'exit(extension_loaded("mysqli") ? 0 : 1);' 2>/dev/null || need_pkgs+=(php8.2-mysql)
php -r 'exit(extension_loaded("curl") ? 0 : 1);' 2>/dev/null || need_pkgs+=(php8.2-curl)
php -r 'exit(extension_loaded("mbstring") ? 0 : 1);' 2>/dev/null || need_pkgs+=(php8.2-mbstring)
php -r 'exit(extension_loaded("dom") ? 0 : 1);' 2>/dev/null || need_pkgs+=(php8.2-xml)
[[ -f /usr/share/wordpress/wp-settings.php ]] || need_pkgs+=(wordpress)
command -v phpunit >/dev/null || need_pkgs+=(phpunit)
command -v mysqldump >/dev/null || need_pkgs+=(mariadb-client)
command -v python3 >/dev/null || need_pkgs+=(python3)
[[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]] || need_pkgs+=(chromium chromium-driver)
if ((${#need_pkgs[@]})); then
	if [[ "${KC_MEET_WP_NO_APT:-0}" != 1 && "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
		log "installing from Debian: ${need_pkgs[*]}"
		apt-get update -qq >"$TMP/apt.log" 2>&1
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >>"$TMP/apt.log" 2>&1 \
			|| { tail -20 "$TMP/apt.log" >&2; log "apt-get install failed (the browser tests fail if it is missing)"; }
	else
		log "missing packages: ${need_pkgs[*]}"
	fi
fi
for t in php phpunit mysql mysqldump python3; do command -v "$t" >/dev/null || die "$t not found"; done
[[ -f /usr/share/wordpress/wp-settings.php ]] || die "Debian's wordpress package is not installed"
if [[ "$EXT" == none ]]; then
	log "WARNING: KC_MEET_EXT=none: running without the extension (test-bed development only)"
	PHP_EXT=()
else
	[[ -f "$EXT" ]] || die "extension not found: $EXT (build it first, or set KC_MEET_EXT)"
	# One binary for the whole run, even if the extension is rebuilt meanwhile.
	cp "$EXT" "$TMP/libkc_meet.so" || die "could not copy $EXT"
	EXT="$TMP/libkc_meet.so"
	PHP_EXT=(-d "extension=$EXT")
fi

# ---------------------------------------------------------------- 2. database user
mysql_root -e "SELECT 1" >/dev/null 2>&1 || die "MariaDB is not reachable as root over /run/mysqld/mysqld.sock"
bash "$ROOT/tests/db-user.sh" "$DB_USER" "$DB_PASSWORD" || die "could not create the MariaDB test user"
mysql_root -e "CREATE DATABASE \`${TEMPLATE_DB}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci" || die "could not create $TEMPLATE_DB"

mkdir -p "$LOG_DIR"
free_port() { php -r '$s = stream_socket_server("tcp://127.0.0.1:0"); $n = stream_socket_get_name($s, false); echo substr($n, strrpos($n, ":") + 1);'; }

# ---------------------------------------------------------------- 3. emulator
EMU_URL=""
EMU="$ROOT/tests/emulator/google_emulator.py"
if [[ -f "$EMU" ]]; then
	setsid python3 "$EMU" --port 0 --ready-file "$TMP/emu.ready" >"$LOG_DIR/emulator.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 1 100); do
		[[ -s "$TMP/emu.ready" ]] && break
		kill -0 "${PIDS[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	EMU_URL="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$TMP/emu.ready" 2>/dev/null | head -1)"
	[[ -n "$EMU_URL" ]] || { tail -20 "$LOG_DIR/emulator.log" >&2; die "the Google emulator did not become ready"; }
	log "emulator at $EMU_URL"
elif [[ "$EXT" == none ]]; then
	log "WARNING: Google emulator not found: $EMU (test-bed development mode)"
else
	die "Google emulator not found: $EMU"
fi

# ---------------------------------------------------------------- 4. scratch WordPress + template DB
rm -rf "$WP_DIR"
mkdir -p "$(dirname "$WP_DIR")"
cp -rL /usr/share/wordpress "$WP_DIR" || die "could not copy /usr/share/wordpress"
rm -f "$WP_DIR/wp-config.php" "$WP_DIR/.htaccess"
cp "$HERE/site/wp-config.php" "$WP_DIR/wp-config.php"
mkdir -p "$WP_DIR/wp-content/mu-plugins" "$WP_DIR/wp-content/uploads"
cp "$HERE/site/mu-plugins/"*.php "$WP_DIR/wp-content/mu-plugins/"
PLUGIN_SRC="${KC_MEET_PLUGIN_SRC:-$ROOT/php/kivicare-google-meet}"
if [[ -d "$PLUGIN_SRC" ]]; then
	cp -r "$PLUGIN_SRC" "$WP_DIR/wp-content/plugins/kivicare-google-meet"
fi

WP_PORT="$(free_port)"
WP_URL="http://127.0.0.1:${WP_PORT}"
export KC_MEET_WP_DIR="$WP_DIR" KC_MEET_WP_URL="$WP_URL" KC_MEET_EMU_URL="$EMU_URL" KC_MEET_EXT="$EXT"
export KC_MEET_TEMPLATE_DB="$TEMPLATE_DB" KC_MEET_RUN_ID="$RUN_ID" KC_MEET_DB_USER="$DB_USER" KC_MEET_DB_PASSWORD="$DB_PASSWORD"
export KC_MEET_STANDINS_DIR="$HERE/stand-ins" KC_MEET_ADMIN_PASSWORD="$ADMIN_PASSWORD" KC_MEET_WP_TMP="$TMP"
export KC_MEET_WP_DEBUG_LOG="$LOG_DIR/wp-debug.log" KC_MEET_WP_LOG_DIR="$LOG_DIR"
: >"$KC_MEET_WP_DEBUG_LOG"

KC_MEET_TEST_DB="$TEMPLATE_DB" php "${PHP_EXT[@]}" "$HERE/bin/setup-template.php" >"$TMP/setup.json" 2>"$TMP/setup.err" \
	|| { cat "$TMP/setup.json" "$TMP/setup.err" >&2; die "wp_install() failed"; }
log "installed WordPress: $(cat "$TMP/setup.json")"

run_job() { # run_job JSON → prints the runner's report
	local out="$TMP/job.$RANDOM.json"
	printf '%s' "$1" | KC_MEET_TEST_DB="$TEMPLATE_DB" KC_MEET_RUN_OUT="$out" php "${PHP_EXT[@]}" "$HERE/bin/wp-run.php" >/dev/null 2>>"$TMP/setup.err"
	cat "$out" 2>/dev/null
}
job_ok() { php -r '$r = json_decode(stream_get_contents(STDIN), true); exit(is_array($r) && $r["completed"] && !$r["exception"] && !$r["fatal"] ? 0 : 1);'; }

R="$(run_job '{"scenario":"template-kivicare"}')"
printf '%s' "$R" | job_ok || { echo "$R" >&2; die "KiviCare schema setup failed"; }
if [[ -f "$WP_DIR/wp-content/plugins/kivicare-google-meet/kivicare-googlemeet.php" ]]; then
	R="$(run_job '{"scenario":"activate-plugin","user":1,"admin":true}')"
	if ! printf '%s' "$R" | php -r '$r = json_decode(stream_get_contents(STDIN), true); exit(($r["result"]["activated"] ?? false) === true ? 0 : 1);'; then
		echo "$R" >&2
		die "activating the plugin failed"
	fi
	log "plugin activated"
else
	log "WARNING: plugin not found at $PLUGIN_SRC/kivicare-googlemeet.php — template has no plugin"
fi

# ---------------------------------------------------------------- 5. php -S
# serve PORT DOCROOT ROUTER LOG URL TEMPLATE_DB NAME: a php -S site, waited for until its login page answers.
serve() {
	local port="$1" root="$2" router="$3" logf="$4" url="$5" db="$6" name="$7" code=""
	PHP_CLI_SERVER_WORKERS=4 setsid php "${PHP_EXT[@]}" -d variables_order=EGPCS \
		-S "127.0.0.1:${port}" -t "$root" "$router" >"$logf" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 1 100); do
		code="$(php -r '$c = curl_init($argv[1]); curl_setopt_array($c, [CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT => 5, CURLOPT_HTTPHEADER => ["X-KC-Test-DB: " . $argv[2]]]); curl_exec($c); echo curl_getinfo($c, CURLINFO_RESPONSE_CODE);' "$url/wp-login.php" "$db" 2>/dev/null)"
		[[ "$code" == 200 ]] && return 0
		sleep 0.1
	done
	tail -20 "$logf" >&2
	die "$name did not answer on $url (last status $code)"
}
serve "$WP_PORT" "$WP_DIR" "$HERE/site/router.php" "$LOG_DIR/php-server.log" "$WP_URL" "$TEMPLATE_DB" "php -S"
log "WordPress at $WP_URL (template $TEMPLATE_DB)"

# ---------------------------------------------------------------- 6. PHPUnit (or the demo, or the bench)
start=$(date +%s)
if [[ "${KC_MEET_WP_BENCH:-0}" == 1 ]]; then
	php "$ROOT/tests/bench/run.php"
	exit $?
fi
if [[ "${KC_MEET_WP_PAGE_COST:-0}" == 1 ]]; then
	php "$HERE/bin/page-cost.php"
	exit $?
fi
if [[ "${KC_MEET_WP_DEMO:-0}" == 1 ]]; then
	# After the demo the site keeps running for a person to look around (Ctrl-C stops the servers
	# and drops the demo's databases), unless nobody is there: no terminal, or CI=true.
	# KC_MEET_DEMO_KEEP_SERVING=1|0 forces either.
	serve="${KC_MEET_DEMO_KEEP_SERVING:-auto}"
	if [[ "$serve" == auto ]]; then
		serve=0
		[[ -t 0 && -t 1 && "${CI:-}" != true ]] && serve=1
	fi
	KC_MEET_DEMO_SERVE="$serve" php "$HERE/demo.php"
	status=$?
	if [[ $status == 0 && "$serve" == 1 ]]; then
		log "servers keep running; Ctrl-C stops them and removes the demo's databases"
		wait
	fi
	exit "$status"
fi
# Whether a PHPUnit configuration has a test the arguments select (PHPUnit cannot combine
# --list-tests with --filter: the filter, a case-insensitive regex on "Class::method", is applied here).
suite_selected() { # suite_selected CONFIG ARGS...
	local cfg="$1" filter="" prev=""
	shift
	for a in "$@"; do
		if [[ "$prev" == --filter ]]; then filter="$a"; fi
		if [[ "$a" == --filter=* ]]; then filter="${a#--filter=}"; fi
		prev="$a"
	done
	[[ -z "$filter" ]] && return 0
	phpunit -c "$cfg" --list-tests 2>/dev/null | sed -n 's/^ - //p' | grep -Ei -- "$filter" >/dev/null
}

status=0
if suite_selected "$HERE/phpunit.xml" "$@"; then
	phpunit -c "$HERE/phpunit.xml" "$@"
	status=$?
	log "PHPUnit exit status $status after $(( $(date +%s) - start ))s; logs in $LOG_DIR (kept if the run fails)"
fi

# ---------------------------------------------------------------- 7. the same on a network
[[ "${KC_MEET_WP_MULTISITE:-1}" == 0 ]] && exit "$status"
[[ "$EXT" == none ]] && { log "no multisite run without the extension"; exit "$status"; }
suite_selected "$HERE/phpunit-multisite.xml" "$@" || exit "$status"
ms_start=$(date +%s)
MS_DIR="${WP_DIR}-multisite"
rm -rf "$MS_DIR"
cp -a "$WP_DIR" "$MS_DIR" || die "could not copy $WP_DIR"
mv "$MS_DIR/wp-config.php" "$MS_DIR/wp-config-site.php"
cp "$HERE/multisite/wp-config.php" "$MS_DIR/wp-config.php"
cp "$HERE/multisite/mu-plugins/"*.php "$MS_DIR/wp-content/mu-plugins/"
mysql_root -e "CREATE DATABASE \`${MS_TEMPLATE_DB}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci" || die "could not create $MS_TEMPLATE_DB"
MS_PORT="$(free_port)"
MS_URL="http://127.0.0.1:${MS_PORT}"
export KC_MEET_WP_DIR="$MS_DIR" KC_MEET_WP_URL="$MS_URL" KC_MEET_TEMPLATE_DB="$MS_TEMPLATE_DB"
TEMPLATE_DB="$MS_TEMPLATE_DB" # for run_job
KC_MEET_MS_INSTALLING=1 KC_MEET_TEST_DB="$MS_TEMPLATE_DB" php "${PHP_EXT[@]}" "$HERE/bin/setup-template.php" >"$TMP/ms-setup.json" 2>"$TMP/ms-setup.err" \
	|| { cat "$TMP/ms-setup.json" "$TMP/ms-setup.err" >&2; die "wp_install() of the network's main site failed"; }
KC_MEET_MS_INSTALLING=1 KC_MEET_TEST_DB="$MS_TEMPLATE_DB" php "${PHP_EXT[@]}" "$HERE/multisite/setup-network.php" >"$TMP/ms-network.json" 2>>"$TMP/ms-setup.err" \
	|| { cat "$TMP/ms-network.json" "$TMP/ms-setup.err" >&2; die "install_network() / populate_network() failed"; }
log "network: $(cat "$TMP/ms-network.json")"
R="$(run_job '{"scenario":"multisite-template","user":1,"admin":true}')"
if ! printf '%s' "$R" | php -r '$r = json_decode(stream_get_contents(STDIN), true); exit(is_array($r) && $r["completed"] && !$r["exception"] && !$r["fatal"] && ($r["result"]["network_active"] ?? false) === true ? 0 : 1);'; then
	echo "$R" >&2
	die "setting up the network's sites and network-activating the plugin failed"
fi
log "sites with KiviCare's tables, plugin network-active"
serve "$MS_PORT" "$MS_DIR" "$HERE/multisite/router.php" "$LOG_DIR/php-server-multisite.log" "$MS_URL" "$MS_TEMPLATE_DB" "php -S (network)"
log "network at $MS_URL (template $MS_TEMPLATE_DB, set up in $(( $(date +%s) - ms_start ))s)"
phpunit -c "$HERE/phpunit-multisite.xml" "$@"
ms_status=$?
log "PHPUnit (multisite) exit status $ms_status after $(( $(date +%s) - ms_start ))s; logs in $LOG_DIR (kept if the run fails)"
(( status == 0 )) && status=$ms_status
exit "$status"
