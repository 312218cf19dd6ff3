# Installs and starts a real PostgreSQL for the store's tests, on loopback
# only, with a role and database of its own. Sourced by .ci/run (bash, set
# -euo pipefail, as root, apt_install defined). Idempotent: a cluster already
# running is reused. No systemd: pg_ctl starts the server directly.
#
# Exports VMSTOR_TEST_POSTGRES (a URL without password) and PGPASSFILE (a
# 0600 .pgpass file holding the test role's password), which is how a real
# deployment should pass a password too: never in the URL.

apt_install postgresql

vmstor_pg_ver=$(ls /usr/lib/postgresql | sort -V | tail -1)
vmstor_pg_bin=/usr/lib/postgresql/$vmstor_pg_ver/bin
vmstor_pg_root=/var/lib/vmstor-ci/postgres
vmstor_pg_data=$vmstor_pg_root/data
vmstor_pg_port=55432
# A throwaway password for a role that exists only on this loopback test server.
vmstor_pg_pw=vmstor-ci-only-pw

mkdir -p "$vmstor_pg_root"
chown postgres:postgres "$vmstor_pg_root"
if [ ! -s "$vmstor_pg_data/PG_VERSION" ]; then
	runuser -u postgres -- "$vmstor_pg_bin/initdb" -D "$vmstor_pg_data" -U postgres \
		--auth-local=peer --auth-host=scram-sha-256 >/dev/null
fi
if ! runuser -u postgres -- "$vmstor_pg_bin/pg_ctl" -D "$vmstor_pg_data" status >/dev/null 2>&1; then
	# fsync off: a CI server whose data is thrown away; the store's own
	# crash test kills the client, not the server.
	runuser -u postgres -- "$vmstor_pg_bin/pg_ctl" -D "$vmstor_pg_data" -l "$vmstor_pg_root/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $vmstor_pg_port -c unix_socket_directories=$vmstor_pg_root -c fsync=off -c max_connections=200 -c shared_buffers=256MB" \
		start >/dev/null
fi

vmstor_psql() { runuser -u postgres -- "$vmstor_pg_bin/psql" -h "$vmstor_pg_root" -p "$vmstor_pg_port" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
if [ "$(vmstor_psql -c "SELECT 1 FROM pg_roles WHERE rolname = 'vmstor_test'")" != 1 ]; then
	vmstor_psql -c "CREATE ROLE vmstor_test LOGIN PASSWORD '$vmstor_pg_pw'"
fi
if [ "$(vmstor_psql -c "SELECT 1 FROM pg_database WHERE datname = 'vmstor_test'")" != 1 ]; then
	vmstor_psql -c "CREATE DATABASE vmstor_test OWNER vmstor_test"
fi

umask 077
printf '127.0.0.1:%s:*:vmstor_test:%s\n' "$vmstor_pg_port" "$vmstor_pg_pw" >"$vmstor_pg_root/pgpass"
umask 022
export PGPASSFILE=$vmstor_pg_root/pgpass
export VMSTOR_TEST_POSTGRES="postgres://vmstor_test@127.0.0.1:$vmstor_pg_port/vmstor_test?sslmode=disable"
echo "PostgreSQL $vmstor_pg_ver on 127.0.0.1:$vmstor_pg_port for the store tests (VMSTOR_TEST_POSTGRES)"
