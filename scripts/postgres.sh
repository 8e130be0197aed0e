#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests: initdb in a temporary directory on a free
# port, run by an unprivileged user (PostgreSQL refuses to run as root, and CI runs as
# root), stopped and removed on exit. Exports COMPLAINTFLOW_TEST_POSTGRES, the base URL
# the PostgreSQL tests read; each test makes and drops a schema of its own in it. When
# openssl is there, the cluster speaks TLS with a certificate of a CA made for the run,
# and the URL asks for it (sslmode=require&sslrootcert=…), so the tests go through TLS.
#
#   source scripts/postgres.sh           # in a script: the cluster lives until it exits
#   scripts/postgres.sh CMD [ARGS...]    # runs CMD with the cluster, then removes it
#
# Installs Debian's `postgresql` package when no PostgreSQL binaries are found.
#
# The cluster skips disk flushes (fsync=off): nothing in it outlives the run. Benchmarks
# set COMPLAINTFLOW_PG_FSYNC=on to measure the durable cluster a deployment runs.

# runuser and useradd live there, and not every CI shell has them on its PATH.
PATH="$PATH:/usr/sbin:/sbin"

complaintflow_pg_bin() {
    if command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return
    fi
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true
}

complaintflow_pg_install() {
    echo "== PostgreSQL: not found, installing Debian's package" >&2
    # Only the binaries are needed: no cluster of the package's own.
    mkdir -p /etc/postgresql-common
    grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf ||
        echo 'create_main_cluster = false' >>/etc/postgresql-common/createcluster.conf
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

complaintflow_pg_stop() {
    if [ -n "${COMPLAINTFLOW_PG_DIR:-}" ] && [ -d "$COMPLAINTFLOW_PG_DIR" ]; then
        complaintflow_pg_as "$COMPLAINTFLOW_PG_BIN/pg_ctl" -D "$COMPLAINTFLOW_PG_DIR/data" \
            -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$COMPLAINTFLOW_PG_DIR"
    fi
    unset COMPLAINTFLOW_PG_DIR
}

# Runs a PostgreSQL binary as the cluster's owner.
complaintflow_pg_as() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u complaintflow-ci -- "$@"
    else
        "$@"
    fi
}

# A CA for the run and a server certificate for 127.0.0.1 signed by it, in $1.
complaintflow_pg_certificates() {
    local dir="$1"
    mkdir -p "$dir"
    (
        cd "$dir" &&
            openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=complaintflow-ci-ca \
                -keyout ca.key -out ca.crt &&
            openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr &&
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >server.ext &&
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
                -extfile server.ext -out server.crt &&
            chmod 600 server.key
    ) >/dev/null 2>&1 || return 1
    if [ "$(id -u)" -eq 0 ]; then
        chown -R complaintflow-ci "$dir"
    fi
}

complaintflow_pg_start() {
    COMPLAINTFLOW_PG_BIN="$(complaintflow_pg_bin)"
    if [ -z "$COMPLAINTFLOW_PG_BIN" ] || [ ! -x "$COMPLAINTFLOW_PG_BIN/initdb" ]; then
        complaintflow_pg_install
        COMPLAINTFLOW_PG_BIN="$(complaintflow_pg_bin)"
    fi
    if [ "$(id -u)" -eq 0 ] && ! id complaintflow-ci >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin complaintflow-ci
    fi
    COMPLAINTFLOW_PG_DIR="$(mktemp -d /tmp/complaintflow-pg.XXXXXX)"
    mkdir -p "$COMPLAINTFLOW_PG_DIR/socket"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R complaintflow-ci "$COMPLAINTFLOW_PG_DIR"
    fi
    local port
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    complaintflow_pg_as "$COMPLAINTFLOW_PG_BIN/initdb" -D "$COMPLAINTFLOW_PG_DIR/data" \
        -U postgres --auth=trust -E UTF8 --no-sync >"$COMPLAINTFLOW_PG_DIR/initdb.log" 2>&1 || {
        cat "$COMPLAINTFLOW_PG_DIR/initdb.log" >&2
        return 1
    }
    local tls="" query=""
    if command -v openssl >/dev/null 2>&1 && complaintflow_pg_certificates "$COMPLAINTFLOW_PG_DIR/tls"; then
        tls="-c ssl=on -c ssl_cert_file=$COMPLAINTFLOW_PG_DIR/tls/server.crt -c ssl_key_file=$COMPLAINTFLOW_PG_DIR/tls/server.key"
        query="?sslmode=require&sslrootcert=$COMPLAINTFLOW_PG_DIR/tls/ca.crt"
    fi
    # A test cluster: nothing in it outlives the run, so it skips the disk flushes (the
    # store still commits with synchronous_commit = on; no test cuts the power).
    local flushes="-c fsync=off -c full_page_writes=off"
    if [ "${COMPLAINTFLOW_PG_FSYNC:-off}" = on ]; then
        flushes="-c fsync=on -c full_page_writes=on"
    fi
    complaintflow_pg_as "$COMPLAINTFLOW_PG_BIN/pg_ctl" -D "$COMPLAINTFLOW_PG_DIR/data" -w \
        -l "$COMPLAINTFLOW_PG_DIR/server.log" \
        -o "-p $port -k $COMPLAINTFLOW_PG_DIR/socket -c listen_addresses=127.0.0.1 -c max_connections=400 $flushes $tls" \
        start >/dev/null || {
        cat "$COMPLAINTFLOW_PG_DIR/server.log" >&2
        return 1
    }
    export COMPLAINTFLOW_PG_DIR COMPLAINTFLOW_PG_BIN
    export COMPLAINTFLOW_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres$query"
    echo "== PostgreSQL: throw-away cluster ($("$COMPLAINTFLOW_PG_BIN/postgres" --version)) at $COMPLAINTFLOW_TEST_POSTGRES" >&2
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
    # Sourced: the cluster lives as long as the shell that sourced it.
    trap complaintflow_pg_stop EXIT
    complaintflow_pg_start
else
    set -euo pipefail
    trap complaintflow_pg_stop EXIT
    complaintflow_pg_start
    "$@"
fi
