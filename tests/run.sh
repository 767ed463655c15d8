#!/usr/bin/env bash
# tests/run.sh: the one test command. Installs what is missing (Debian 12, as root), builds with
# ASan/UBSan into build-test/, starts a throwaway PostgreSQL 15, MariaDB and Kafka (librdkafka's mock
# cluster, or a real broker) on free loopback ports, runs ctest with the arguments given here, and always
# stops and removes all of it. Exits with ctest's status. tests/README.md has the details.
#
#   tests/run.sh                  everything
#   tests/run.sh -L unit          only the unit tests (any ctest arguments pass through)
#   tests/run.sh -R harness       one test by name
#
# Environment:
#   CLEAVE_NO_APT=1                   do not install packages
#   CLEAVE_TEST_KAFKA_BROKERS_REAL    a real broker (host:port,...): no mock; fault-injection tests skip
#   CLEAVE_TEST_BUILD_TARGETS         build only these targets (default: all), e.g. "test_harness"
#   CLEAVE_KEEP_RUNDIR=1              keep the run directory (logs, data dirs) after the run
#   CLEAVE_TEST_KAFKA_DEBUG=eos,msg   capture tests: capture logs these librdkafka debug contexts
#   CLEAVE_TEST_BUILD_DIR             build directory (default build-test/)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CLEAVE_TEST_BUILD_DIR:-$repo/build-test}
# shellcheck source=scripts/servers.sh
source "$repo/scripts/servers.sh"


main() {
	local status=0
	sweep_stale
	install_packages
	build

	begin_run

	start_postgres
	start_mariadb
	if [[ -n ${CLEAVE_TEST_KAFKA_BROKERS_REAL:-} ]]; then
		kafka_brokers=$CLEAVE_TEST_KAFKA_BROKERS_REAL
		kafka_control=
	else
		start_mock
	fi

	export CLEAVE_TEST_RUNDIR=$rundir
	export CLEAVE_TEST_PG_BINDIR=$pgbin
	export CLEAVE_TEST_PG_DATADIR=$rundir/pg/data
	export CLEAVE_TEST_PG_PORT=$pg_port
	export CLEAVE_TEST_PG_DSN="host=127.0.0.1 port=$pg_port user=postgres dbname=postgres"
	export CLEAVE_TEST_MYSQL_HOST=127.0.0.1
	export CLEAVE_TEST_MYSQL_PORT=$my_port
	export CLEAVE_TEST_MYSQL_DSN="mysql://root@127.0.0.1:$my_port/"
	export CLEAVE_TEST_KAFKA_BROKERS=$kafka_brokers
	if [[ -n $kafka_control ]]; then
		export CLEAVE_TEST_KAFKA_CONTROL=$kafka_control
	else
		unset CLEAVE_TEST_KAFKA_CONTROL
	fi
	export CTEST_PARALLEL_LEVEL=${CTEST_PARALLEL_LEVEL:-$(nproc)}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
	say "PostgreSQL 127.0.0.1:$pg_port, MariaDB 127.0.0.1:$my_port, Kafka $kafka_brokers${kafka_control:+ (mock, control $kafka_control)}, run dir $rundir"

	# ctest runs in the background in its own process group, so a signal to this script is handled at
	# once (bash defers traps while a foreground child runs) and stops the tests with their children.
	rm -f "$build/Testing/Temporary/LastTestsFailed.log" # only this run's failures count below
	run_ctest "$@" || status=$?
	if ((status != 0)) && only_librdkafka_teardown_aborts; then
		say "every failed test failed because a cleave process aborted inside librdkafka's teardown" \
			"(rd_kafka_broker_destroy_final, confluentinc/librdkafka#3608, a race in librdkafka 2.0 when a" \
			"client is destroyed soon after it started); running those tests once more"
		status=0
		run_ctest --rerun-failed "$@" || status=$?
	fi
	return "$status"
}

run_ctest() {
	local ctest_pid status=0
	setsid ctest --test-dir "$build" --output-on-failure "$@" </dev/null &
	ctest_pid=$!
	echo "$ctest_pid" >"$rundir/ctest.pid"
	wait "$ctest_pid" || status=$?
	rm -f "$rundir/ctest.pid"
	return "$status"
}

# True when ctest's last run failed some tests and the output of each of them shows librdkafka's
# teardown assertion (and so nothing of cleave's failed). A test that fails for any other reason, or
# again, fails the run.
only_librdkafka_teardown_aborts() {
	local tmp=$build/Testing/Temporary failed aborted name
	[[ -s $tmp/LastTestsFailed.log && -s $tmp/LastTest.log ]] || return 1
	aborted=$(awk '/^[0-9]+\/[0-9]+ Test: / { name = $3 }
		/rd_kafka_broker_destroy_final: Assertion/ && name != "" { print name }' "$tmp/LastTest.log" | sort -u)
	failed=$(cut -d: -f2- "$tmp/LastTestsFailed.log")
	[[ -n $failed ]] || return 1
	while IFS= read -r name; do
		grep -qxF "$name" <<<"$aborted" || return 1
	done <<<"$failed"
}

# one line, so bash has read it all before running it: editing this file during a run is harmless
{ main "$@"; exit; }
