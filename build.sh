#!/usr/bin/env bash
# kc-meet build and test entry point.
#
#   ./build.sh build    install what is missing, build the release extension (target/release/libkc_meet.so)
#   ./build.sh test     build once, then run every test: Rust unit + integration (with the fault matrix),
#                       emulator self-test, PHP boundary tests, WordPress tests (real MariaDB, real
#                       WordPress, Chromium), the load suite, the database-fault suite and a smoke run
#                       of the bench (tiny sizes: every figure produced and the JSON written, no time
#                       judged; also alone: ./build.sh bench-smoke)
#   ./build.sh demo     build, then walk a doctor through connect → book → Meet link → reschedule →
#                       cancel → disconnect on a real WordPress against the bundled Google emulator
#   ./build.sh bench    kc-meet vs the PHP way side by side (php-fpm over FastCGI, WordPress, HTTPS
#                       Google emulator): per-operation wall/CPU/statements/connections, the floor,
#                       one large calendar's sync, page views with and without the plugin, extension
#                       load; then one idle sync round over 1,000 doctors at 50 ms Google latency.
#                       Table on the terminal (then a summary of every figure), JSON under target/bench/
#   ./build.sh bench-ab REV [RUNS]
#                       the WordPress part of the bench for the build of git revision REV (or an
#                       extension file) and this checkout's, RUNS times each (default 5), interleaved:
#                       per figure, each build's median over runs and the paired difference
#                       (a change is judged in one sitting; single runs drift with the machine)
#   ./build.sh stubs    regenerate stubs/kc_meet.stub.php from the built extension
#   ./build.sh pot      regenerate the plugin's translation template (languages/kc-googlemeet.pot)
#   ./build.sh deps     only install the Debian packages and start MariaDB
#
# Environment: KC_MEET_SKIP_DEPS=1 skips the package check; KC_MEET_DB_ADMIN is the admin client used to
# create the test user (default: root over the local socket), see tests/db-user.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
EXT="$ROOT/target/release/libkc_meet.so"
export KC_MEET_EXT="$EXT"
# The test database account (what a WordPress site has: a user with a password, no socket auth).
export KC_MEET_TEST_DB_HOST="${KC_MEET_TEST_DB_HOST:-127.0.0.1}"
export KC_MEET_TEST_DB_PORT="${KC_MEET_TEST_DB_PORT:-3306}"
export KC_MEET_TEST_DB_USER="${KC_MEET_TEST_DB_USER:-kcmeet_test}"
export KC_MEET_TEST_DB_PASSWORD="${KC_MEET_TEST_DB_PASSWORD:-kcmeet_test_pw}"

PACKAGES=(php8.2-dev php8.2-cli php8.2-fpm php8.2-mysql php8.2-curl php8.2-xml php8.2-mbstring clang libclang-dev
          mariadb-server mariadb-client wordpress phpunit chromium chromium-driver python3 openssl curl gettext)

log() { printf '\n==> %s\n' "$*"; }

deps() {
  if [ "${KC_MEET_SKIP_DEPS:-0}" != 1 ]; then
    local missing=()
    for p in "${PACKAGES[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
      log "installing ${missing[*]}"
      local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
      $sudo apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    command -v cargo >/dev/null || { echo "cargo (Rust >= 1.85, from rustup) is required" >&2; exit 1; }
  fi
  start_mariadb
  ensure_test_user
}

start_mariadb() {
  if mariadb-admin ping -h 127.0.0.1 -P "$KC_MEET_TEST_DB_PORT" --silent 2>/dev/null \
     || mariadb-admin ping --silent 2>/dev/null; then
    return
  fi
  log "starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  if [ ! -d /var/lib/mysql/mysql ]; then
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
  fi
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  for _ in $(seq 1 60); do
    mariadb-admin ping --silent 2>/dev/null && return
    sleep 0.5
  done
  echo "MariaDB did not start" >&2
  exit 1
}

ensure_test_user() {
  bash tests/db-user.sh "$KC_MEET_TEST_DB_USER" "$KC_MEET_TEST_DB_PASSWORD"
}

build() {
  log "building the extension (release)"
  local t0=$SECONDS
  cargo build --release --features php --locked
  echo "extension built in $((SECONDS - t0)) s: $EXT"
  php -n -d extension="$EXT" -r 'echo "loaded kc_meet ", kc_meet_version(), PHP_EOL;'
}

stubs() {
  build
  php -n -d extension="$EXT" tests/php/gen-stubs.php > stubs/kc_meet.stub.php
  echo "wrote stubs/kc_meet.stub.php"
}

run_step() {
  local name="$1"; shift
  log "$name"
  local t0=$SECONDS
  if "$@"; then
    TIMES+=("$name: $((SECONDS - t0)) s ok")
  else
    TIMES+=("$name: $((SECONDS - t0)) s FAILED")
    FAILED+=("$name")
  fi
}

# clippy over the library (with and without the PHP layer), the tests and the bench: a warning
# fails it. Checks only: the extension built by `build` is left as it is.
lint() {
  cargo clippy --version >/dev/null 2>&1 || { echo "clippy is missing: rustup component add clippy" >&2; return 1; }
  cargo clippy --release --locked --features php --all-targets -- -D warnings &&
    cargo clippy --release --locked --lib -- -D warnings
}

test_all() {
  TIMES=(); FAILED=()
  local t0=$SECONDS
  run_step "build extension" build
  [ -f "$EXT" ] || { echo "no extension, stopping" >&2; exit 1; }
  run_step "Rust lints (clippy: a warning fails the step)" lint
  run_step "Rust unit + integration tests" cargo test --locked --no-fail-fast -- --test-threads=4
  run_step "Google emulator self-test" python3 -m unittest tests/emulator/test_google_emulator.py
  run_step "PHP boundary tests" php -d extension="$EXT" -d zend.assertions=1 /usr/bin/phpunit -c tests/php/phpunit.xml
  run_step "WordPress tests" bash tests/wordpress/run.sh
  run_step "load (8 PHP processes, 2,000 operations, random faults)" php -d extension="$EXT" tests/load/load.php
  run_step "database faults (private MariaDB restarted mid-run)" php -d extension="$EXT" tests/dbfault/dbfault.php
  run_step "bench smoke run (tiny sizes: every figure and the JSON, no times judged)" bench_smoke
  log "summary (total $((SECONDS - t0)) s)"
  printf '  %s\n' "${TIMES[@]}"
  if [ ${#FAILED[@]} -gt 0 ]; then
    echo "FAILED: ${FAILED[*]}"
    exit 1
  fi
}

bench() {
  build
  log "kc-meet vs the PHP way, side by side (php-fpm over FastCGI, WordPress, HTTPS Google emulator)"
  KC_MEET_WP_BENCH=1 KC_MEET_WP_DIR="$ROOT/target/bench/site" bash tests/wordpress/run.sh
  log "sync: one doctor's large calendar, and an idle round over many doctors"
  cargo run --release --locked --example bench_sync -- "${KC_MEET_BENCH_DOCTORS:-1000}" "${KC_MEET_BENCH_LATENCY_MS:-50}"
  php tests/bench/report.php "$ROOT/target/bench"
}

# The extension of git revision $1 (or the file $1), built in a worktree of its own under
# target/ab with its own target folder (built once per revision), then ab.php against this
# checkout's build.
bench_ab() {
  local rev="${1:?usage: ./build.sh bench-ab REV [RUNS]}" runs="${2:-5}" earlier
  if [ -f "$rev" ]; then
    earlier="$(cd "$(dirname "$rev")" && pwd)/$(basename "$rev")"
  else
    local sha; sha="$(git rev-parse --verify "$rev^{commit}")"
    earlier="$ROOT/target/ab/$sha.so"
    if [ ! -f "$earlier" ]; then
      log "building the extension of $rev (${sha:0:10})"
      rm -rf "$ROOT/target/ab/src"
      git worktree prune
      git worktree add --detach --force "$ROOT/target/ab/src" "$sha" >/dev/null
      (cd "$ROOT/target/ab/src" && CARGO_TARGET_DIR="$ROOT/target/ab/target" cargo build --release --features php --locked)
      cp "$ROOT/target/ab/target/release/libkc_meet.so" "$earlier"
      git worktree remove --force "$ROOT/target/ab/src"
    fi
  fi
  log "earlier ($rev) against this checkout, $runs interleaved runs each"
  php tests/bench/ab.php "$earlier" "$EXT" "$runs" "$ROOT/target/bench/ab"
}

# The bench is not part of the test suites; this runs all of it with tiny sizes (2 operations of
# each kind, 3 page views, a 20-event calendar, 5 doctors at 5 ms) into target/bench/smoke, so a
# change that breaks it fails `./build.sh test`. Output only on failure, then the summary.
bench_smoke() {
  local out="$ROOT/target/bench/smoke"
  rm -rf "$out"
  mkdir -p "$out"
  if ! KC_MEET_WP_BENCH=1 KC_MEET_WP_DIR="$ROOT/target/bench/smoke-site" KC_MEET_BENCH_OUT="$out" \
       KC_MEET_BENCH_APPOINTMENTS=2 KC_MEET_BENCH_PAGES=3 KC_MEET_BENCH_SYNC_EVENTS=20 \
       KC_MEET_BENCH_FLOOR=2 KC_MEET_BENCH_STARTUP_RUNS=2 \
       bash tests/wordpress/run.sh >"$out/bench.log" 2>&1; then
    tail -40 "$out/bench.log"
    return 1
  fi
  if ! KC_MEET_BENCH_OUT="$out" cargo run --locked --quiet --example bench_sync -- 5 5 >"$out/bench_sync.log" 2>&1; then
    tail -40 "$out/bench_sync.log"
    return 1
  fi
  php tests/bench/report.php --check "$out"
}

case "${1:-}" in
  deps) deps ;;
  build) deps; build ;;
  stubs) deps; stubs ;;
  pot) bash tests/make-pot.sh ;;
  bench) deps; bench ;;
  bench-smoke) deps; build; bench_smoke ;;
  bench-ab) deps; build; bench_ab "${2:-}" "${3:-5}" ;;
  demo) deps; build; KC_MEET_WP_DEMO=1 bash tests/wordpress/run.sh ;;
  test) deps; test_all ;;
  *) sed -n '2,27p' "$0"; exit 2 ;;
esac
