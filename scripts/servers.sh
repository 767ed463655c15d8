# scripts/servers.sh: throwaway servers on free loopback ports, for tests/run.sh, bench/ and demo/.
# Source it, set what differs from the defaults below, then call install_packages, build, begin_run and
# start_postgres / start_mariadb / start_mock. begin_run arranges that everything started is stopped and
# the run directory removed when the script exits, is interrupted or even killed (a watchdog).
#
# Variables it reads (defaults in brackets): repo [the checkout], build [$repo/build-test],
# cmake_flags [sanitizer debug build], run_prefix [/tmp/cleave-test], mock_brokers [3], CLEAVE_NO_APT,
# CLEAVE_KEEP_RUNDIR. It sets: rundir, pg_port, my_port, kafka_brokers, kafka_control, pgbin.

repo=${repo:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
build=${build:-$repo/build-test}
cmake_flags=${cmake_flags:--DCLEAVE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug}
run_prefix=${run_prefix:-/tmp/cleave-test}
pgbin=/usr/lib/postgresql/15/bin
mock_brokers=${mock_brokers:-3}

packages=(build-essential cmake pkg-config libpq-dev postgresql-15 postgresql-client-15 mariadb-server
          default-libmysqlclient-dev librdkafka-dev libavro-dev libcmocka-dev libyaml-dev libjansson-dev
          libmicrohttpd-dev kcat)

say() { printf 'run.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

# --- helpers shared with the teardown of stale runs and with the watchdog (see start_watchdog) ---

# proc_has PID FILE TEXT: true when /proc/PID/FILE (cmdline or environ; NULs read as newlines, and one
# added at each end) contains TEXT. Lets teardown check that a pid from a pid file is still the process
# it was, not a recycled pid of something else.
proc_has() {
	local s
	[[ $1 =~ ^[0-9]+$ ]] || return 1
	s=$(tr '\0' '\n' 2>/dev/null <"/proc/$1/$2") || return 1
	[[ $'\n'$s$'\n' == *"$3"* ]]
}

# alive PID: true while PID runs (a zombie whose parent is gone and that nobody reaps counts as dead).
alive() {
	local stat
	[[ $1 =~ ^[0-9]+$ ]] || return 1
	read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

# wait_gone PID SECONDS: waits for PID to end. Returns 1 if it still runs.
wait_gone() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		alive "$1" || return 0
		sleep 0.05
	done
	return 1
}

# stop_servers DIR: stops whatever a run in DIR started, from the pid files it left: ctest (its process
# group: the tests and the programs they spawned), PostgreSQL (pg_ctl -m immediate), MariaDB and the
# mock (signals). Safe to call twice and on a half-started run.
stop_servers() {
	local dir=$1 pid
	if [[ -s $dir/ctest.pid ]]; then
		pid=$(<"$dir/ctest.pid")
		# ctest's command line does not name the run dir; its environment does
		if alive "$pid" && proc_has "$pid" environ $'\n'"CLEAVE_TEST_RUNDIR=$dir"$'\n'; then
			kill -TERM -- "-$pid" 2>/dev/null || true
			wait_gone "$pid" 5 || true
			kill -KILL -- "-$pid" 2>/dev/null || true # what is left of the group
		fi
	fi
	local pgdir
	for pgdir in "$dir/pg" "$dir"/pg_*; do # pg_NAME: a further server (start_postgres pg_NAME)
		[[ -s $pgdir/data/postmaster.pid ]] || continue
		pid=$(head -n 1 "$pgdir/data/postmaster.pid")
		if proc_has "$pid" cmdline "$dir/"; then
			"$pgdir/pgctl" stop immediate >>"$pgdir/pgctl.log" 2>&1 || kill -KILL "$pid" 2>/dev/null || true
			wait_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	# a throwaway MariaDB needs no clean shutdown: SIGKILL saves the 1-2 s it takes
	pid=$(cat "$dir/mariadb/mariadbd.pid" 2>/dev/null || true)
	if proc_has "$pid" cmdline "$dir/"; then
		kill -KILL "$pid" 2>/dev/null || true
		wait_gone "$pid" 5 || true
	fi
	pid=$(cat "$dir/mock/mock.pid" 2>/dev/null || true)
	if proc_has "$pid" cmdline "$dir/"; then
		kill -TERM "$pid" 2>/dev/null || true
		wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
	fi
}

# --- packages and build ---

install_packages() {
	local missing=() p
	for p in "${packages[@]}"; do
		[[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	[[ ${CLEAVE_NO_APT:-} == 1 ]] && die "missing packages (CLEAVE_NO_APT=1 is set): ${missing[*]}"
	((EUID == 0)) || die "missing packages, and installing them needs root: ${missing[*]}"
	say "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q "${packages[@]}"
}

build() {
	local targets=()
	if [[ -n ${CLEAVE_TEST_BUILD_TARGETS:-} ]]; then
		# shellcheck disable=SC2206 # word splitting of the target list is intended
		targets=(--target ${CLEAVE_TEST_BUILD_TARGETS})
	fi
	mkdir -p "$build"
	{
		flock 9 # two runs in one checkout (each has its own servers) must not build at the same time
		# shellcheck disable=SC2086 # cmake_flags is a list
		cmake -S "$repo" -B "$build" $cmake_flags >"$build/configure.log" 2>&1 ||
			{ cat "$build/configure.log" >&2; die "cmake configure failed"; }
		cmake --build "$build" -j "$(nproc)" "${targets[@]}"
	} 9>"$build/.build.lock"
}

# --- servers ---

# free_ports N: prints N distinct loopback TCP ports that could be bound just now, outside the
# ephemeral range (so outgoing connections do not take them meanwhile). Perl is Essential in Debian.
free_ports() {
	perl -MSocket -e '
		my ($n, %seen, @socks) = ($ARGV[0]);
		for (1 .. 1000) {
			my $port = 20000 + int(rand(12000));
			next if $seen{$port}++;
			socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
			next unless bind($s, sockaddr_in($port, INADDR_LOOPBACK));
			push @socks, $s;
			print "$port\n";
			exit 0 if @socks == $n;
		}
		exit 1' "$1"
}

# start_postgres [pg_NAME]: initdb (as postgres) and start on a free port ($pg_port), in $rundir/pg (or
# $rundir/pg_NAME for a further server). Writes pgctl in that directory, the one way to start and stop the
# server; $rundir/pgctl links to the first server's (tests use it, through tests/support/pgtest.c).
start_postgres() {
	local name=${1:-pg} opts
	local dir=$rundir/$name ctl=$rundir/$name/pgctl
	[[ $name == pg || $name == pg_?* ]] || die "start_postgres: a further server's name starts with pg_ (stop_servers finds it so)"
	as_pg=()
	mkdir "$dir"
	if ((EUID == 0)); then # initdb refuses root
		as_pg=(runuser -u postgres --)
		chown postgres:postgres "$dir"
	fi
	"${as_pg[@]}" "$pgbin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync \
		>"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
	for _ in 1 2 3; do
		pg_port=$(free_ports 1) || die "found no free port"
		opts="-p $pg_port -c listen_addresses=127.0.0.1 -k $dir -c wal_level=logical"
		opts+=" -c max_replication_slots=20 -c max_wal_senders=20 -c fsync=off"
		{
			printf '#!/usr/bin/env bash\n# written by tests/run.sh; used by it and by tests/support/pgtest.c\n'
			printf 'as_pg=(%s)\npg_ctl=%q\ndata=%q\nlog=%q\nopts=%q\n' "${as_pg[*]}" "$pgbin/pg_ctl" \
				"$dir/data" "$dir/postgres.log" "$opts"
			cat <<'EOF'
set -euo pipefail
case ${1:-} in
start) args=(start -w -t 60 -l "$log" -o "$opts") ;;
stop) args=(stop -w -t 60 -m "${2:-fast}") ;;
*) echo "usage: pgctl start | stop [smart|fast|immediate]" >&2; exit 2 ;;
esac
exec "${as_pg[@]}" "$pg_ctl" -D "$data" "${args[@]}"
EOF
		} >"$ctl"
		chmod 755 "$ctl"
		[[ $name != pg ]] || ln -sfn "$ctl" "$rundir/pgctl"
		"$ctl" start >>"$dir/pgctl.log" 2>&1 && return 0
		grep -q 'Address already in use' "$dir/postgres.log" 2>/dev/null || break
		say "PostgreSQL port $pg_port was taken meanwhile; trying another"
	done
	tail -n 30 "$dir/pgctl.log" "$dir/postgres.log" >&2 || true
	die "PostgreSQL did not start"
}

start_mariadb() {
	local dir=$rundir/mariadb pid i user
	user=$(id -un)
	mkdir "$dir"
	mariadb-install-db --no-defaults --datadir="$dir/data" --user="$user" \
		--auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 ||
		{ cat "$dir/install.log" >&2; die "mariadb-install-db failed"; }
	for _ in 1 2 3; do
		my_port=$(free_ports 1) || die "found no free port"
		# binlog options: for the MySQL/MariaDB source that reads the binlog
		setsid mariadbd --no-defaults --user="$user" --datadir="$dir/data" --socket="$dir/sock" \
			--port="$my_port" --bind-address=127.0.0.1 --pid-file="$dir/data/mariadbd.pid" \
			--log-error="$dir/mariadb.log" --server-id=1 --log-bin="$dir/data/binlog" \
			--binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL \
			</dev/null >>"$dir/mariadb.log" 2>&1 &
		pid=$!
		disown "$pid" # stop_servers ends it; no "Killed" job report from bash
		echo "$pid" >"$dir/mariadbd.pid"
		for ((i = 0; i < 600; i++)); do
			if mariadb-admin --no-defaults --protocol=tcp -h127.0.0.1 -P"$my_port" -uroot ping \
				>/dev/null 2>&1; then
				return 0
			fi
			alive "$pid" || break
			sleep 0.05
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		grep -q 'Address already in use\|Do you already have another' "$dir/mariadb.log" || break
		say "MariaDB port $my_port was taken meanwhile; trying another"
	done
	tail -n 30 "$dir/mariadb.log" >&2 || true
	die "MariaDB did not start"
}

start_mock() {
	local dir=$rundir/mock i
	mkdir "$dir"
	setsid "$build/tests/cleave-mock-kafka" --brokers "$mock_brokers" --info "$dir/mock.info" \
		</dev/null >"$dir/mock.log" 2>&1 &
	echo $! >"$dir/mock.pid"
	disown $!
	for ((i = 0; i < 600; i++)); do
		[[ -s $dir/mock.info ]] && break
		alive "$(<"$dir/mock.pid")" || break
		sleep 0.05
	done
	[[ -s $dir/mock.info ]] || { tail -n 30 "$dir/mock.log" >&2; die "cleave-mock-kafka did not start"; }
	kafka_brokers=$(sed -n 's/^bootstrap=//p' "$dir/mock.info")
	kafka_control=$(sed -n 's/^control=//p' "$dir/mock.info")
}

# Run directories of earlier runs whose run.sh is gone (killed with SIGKILL, machine crash): stop what
# they left running and remove them.
sweep_stale() {
	local d owner
	for d in "$run_prefix".*; do
		[[ -d $d && -f $d/owner.pid ]] || continue
		owner=$(<"$d/owner.pid")
		[[ $owner =~ ^[0-9]+$ ]] && alive "$owner" && continue
		say "cleaning up the stale run directory $d"
		stop_servers "$d"
		rm -rf "$d"
	done
}

# A process that outlives a SIGKILL of this script (which runs no trap) and then stops the servers. It
# runs in its own session, so Ctrl-C does not reach it; the EXIT trap kills it.
start_watchdog() {
	# shellcheck disable=SC2016 # $1..$3 are the watchdog's own arguments
	setsid bash -c "$(declare -f alive proc_has wait_gone stop_servers)"'
		while alive "$1"; do sleep 1; done
		stop_servers "$2"
		[[ $3 == 1 ]] || rm -rf "$2"' watchdog "$$" "$rundir" "${CLEAVE_KEEP_RUNDIR:-0}" \
		</dev/null >/dev/null 2>&1 &
	watchdog_pid=$!
	disown "$watchdog_pid"
}

# shellcheck disable=SC2317 # reached through the EXIT trap
print_tails() {
	local f
	for f in "$rundir"/pg/postgres.log "$rundir"/pg_*/postgres.log "$rundir/mariadb/mariadb.log" "$rundir/mock/mock.log"; do
		[[ -s $f ]] || continue
		printf '\n==== last 30 lines of %s ====\n' "$f" >&2
		tail -n 30 "$f" >&2
	done
	if compgen -G "$rundir/logs/*.log" >/dev/null; then
		printf '\n==== logs of the processes the tests started (tests print the relevant ones) ====\n' >&2
		ls -1 "$rundir/logs" >&2
	fi
}

# shellcheck disable=SC2317 # reached through the EXIT trap
cleanup() {
	local status=$?
	trap - EXIT INT TERM HUP
	set +e
	if [[ -n ${watchdog_pid:-} ]]; then
		kill -KILL -- "-$watchdog_pid" 2>/dev/null
	fi
	if [[ -n ${rundir:-} && -d $rundir ]]; then
		if ((status != 0)); then
			print_tails
		fi
		stop_servers "$rundir"
		if [[ ${CLEAVE_KEEP_RUNDIR:-} == 1 ]]; then
			say "kept the run directory $rundir"
		else
			rm -rf "$rundir"
		fi
	fi
	exit "$status"
}


# begin_run: makes the run directory ($run_prefix.XXXXXX) and arranges the teardown.
begin_run() {
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	rundir=$(mktemp -d "$run_prefix.XXXXXX") # /tmp: reachable by the postgres user; short socket paths
	chmod 755 "$rundir"
	echo "$$" >"$rundir/owner.pid"
	mkdir "$rundir/logs"
	start_watchdog
}
