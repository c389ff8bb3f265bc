#!/usr/bin/env bash
# Creates (or resets) the MariaDB account the tests use, as a WordPress site has one: a user with a
# password and every privilege on the `kcm_*` databases the tests create and drop.
#   tests/db-user.sh USER PASSWORD        (admin client: $KC_MEET_DB_ADMIN, default root over the socket)
set -euo pipefail
u="$1" p="$2"
${KC_MEET_DB_ADMIN:-mariadb --protocol=socket -uroot} <<SQL
CREATE USER IF NOT EXISTS '$u'@'localhost' IDENTIFIED BY '$p';
CREATE USER IF NOT EXISTS '$u'@'127.0.0.1' IDENTIFIED BY '$p';
ALTER USER '$u'@'localhost' IDENTIFIED BY '$p';
ALTER USER '$u'@'127.0.0.1' IDENTIFIED BY '$p';
GRANT ALL PRIVILEGES ON \`kcm\\_%\`.* TO '$u'@'localhost';
GRANT ALL PRIVILEGES ON \`kcm\\_%\`.* TO '$u'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
