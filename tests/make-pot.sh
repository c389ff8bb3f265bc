#!/usr/bin/env bash
# Writes the plugin's translation template (every translatable string of text domain
# kc-googlemeet) with xgettext from Debian's gettext package.
#
#   tests/make-pot.sh [output]   default: php/kivicare-google-meet/languages/kc-googlemeet.pot
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PLUGIN="$ROOT/php/kivicare-google-meet"
OUT="${1:-$PLUGIN/languages/kc-googlemeet.pot}"
command -v xgettext >/dev/null || { echo "xgettext is missing: apt-get install gettext" >&2; exit 1; }
VERSION="$(sed -n 's/^ \* Version: *//p' "$PLUGIN/kivicare-googlemeet.php")"
cd "$PLUGIN"
# WordPress's gettext functions (wp-includes/l10n.php); sorted, without line numbers or dates, so
# the file only changes when a string does.
find . -name '*.php' -not -path './languages/*' | LC_ALL=C sort | xargs xgettext --language=PHP --from-code=UTF-8 \
	--keyword=__ --keyword=_e --keyword=esc_html__ --keyword=esc_html_e --keyword=esc_attr__ --keyword=esc_attr_e \
	--keyword=_x:1,2c --keyword=_ex:1,2c --keyword=esc_html_x:1,2c --keyword=esc_attr_x:1,2c \
	--keyword=_n:1,2 --keyword=_nx:1,2,4c --keyword=_n_noop:1,2 --keyword=_nx_noop:1,2,3c \
	--add-comments=translators: --sort-output --no-location --no-wrap \
	--package-name="KiviCare - Google Meet (kc-meet)" --package-version="$VERSION" -o - 2>"$OUT.log" \
	| sed -e '/^"POT-Creation-Date: /d' -e 's/^"Content-Type: text\/plain; charset=CHARSET\\n"$/"Content-Type: text\/plain; charset=UTF-8\\n"/' \
	      -e 's/^# SOME DESCRIPTIVE TITLE./# Translation template of KiviCare - Google Meet (kc-meet)./' \
	      -e 's/^# This file is distributed under the same license as the .* package./# This file is distributed under the same license as the plugin (GPLv2 or later)./' \
	      -e '/^# Copyright (C) YEAR/d' -e '/^# FIRST AUTHOR/d' -e 's/^"Language: \\n"$/"Language: \\n"\n"X-Domain: kc-googlemeet\\n"/' \
	> "$OUT"
if grep -v 'non-ASCII\|This will cause problems\|different from yours\|Consider using\|^ ' "$OUT.log" | grep -q .; then
	cat "$OUT.log" >&2
	rm -f "$OUT.log"
	exit 1
fi
rm -f "$OUT.log"
echo "wrote $OUT ($(grep -c '^msgid "' "$OUT") strings)"
