#!/usr/bin/env bash
# Makes sure a MariaDB server answers on 127.0.0.1:3306 and that the test login works over TCP.
# Installs MariaDB with apt-get if it is absent, starts it if it is down. Prints the server URL
# (without a database) for WOOSYNC_TEST_DATABASE_URL on stdout; everything else goes to stderr.
set -euo pipefail

log() { echo "test-db: $*" >&2; }

if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
  log "MariaDB is not installed; installing it with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq mariadb-server mariadb-client >&2
fi

if ! mariadb-admin --protocol=socket ping >/dev/null 2>&1; then
  log "MariaDB is not answering; starting it"
  mkdir -p /run/mysqld
  chown mysql:mysql /run/mysqld
  if [ ! -d /var/lib/mysql/mysql ]; then
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql >&2
  fi
  start-stop-daemon --start --oknodo --background --chuid mysql --exec /usr/sbin/mariadbd
fi
for _ in $(seq 1 60); do
  mariadb-admin --protocol=socket ping >/dev/null 2>&1 && break
  sleep 1
done
mariadb-admin --protocol=socket ping >/dev/null 2>&1 || { log "MariaDB did not come up in 60 s"; exit 1; }

# A login that works over TCP (a stock Debian root only logs in through the socket).
user=woosync_test
pass=woosync_test
mariadb --protocol=socket <<SQL
CREATE USER IF NOT EXISTS '$user'@'127.0.0.1' IDENTIFIED BY '$pass';
CREATE USER IF NOT EXISTS '$user'@'localhost' IDENTIFIED BY '$pass';
GRANT ALL PRIVILEGES ON \`woosync\\_%\`.* TO '$user'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON \`woosync\\_%\`.* TO '$user'@'localhost' WITH GRANT OPTION;
-- PROCESS and CONNECTION ADMIN: tests kill the run's connections; CREATE USER and GRANT OPTION:
-- tests make logins with narrower grants (read-only, table-level) on their own databases.
-- (mysql_async moves a loopback connection onto the socket, where the login is @localhost.)
GRANT PROCESS, CONNECTION ADMIN, CREATE USER ON *.* TO '$user'@'127.0.0.1';
GRANT PROCESS, CONNECTION ADMIN, CREATE USER ON *.* TO '$user'@'localhost';
FLUSH PRIVILEGES;
SQL
# Throw away logins and databases left behind by interrupted test runs.
for login in $(mariadb --protocol=socket -N -e "SELECT CONCAT(QUOTE(User), '@', QUOTE(Host)) FROM mysql.user WHERE User LIKE 'wst\\_%'"); do
  mariadb --protocol=socket -e "DROP USER $login" || true
done
for db in $(mariadb --protocol=socket -N -e "SHOW DATABASES LIKE 'woosync\\_t\\_%'"); do
  mariadb --protocol=socket -e "DROP DATABASE \`$db\`" || true
done
echo "mysql://$user:$pass@127.0.0.1:3306"
