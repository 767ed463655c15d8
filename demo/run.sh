#!/usr/bin/env bash
# demo/run.sh: the local demo. On a fresh Debian 12 machine, as root: installs what it needs, builds
# cleave, starts a throwaway monolith PostgreSQL 15 (the shop schema of demo/shop.sql, holding the rows of
# demo/history.sql before cleave starts: the initial snapshot copies them), a Kafka
# (librdkafka's mock cluster), a `users` service database on PostgreSQL and an `orders` service database
# on MariaDB; runs `cleave capture` and both sinks, applies a workload (demo/workload.sql) and prints what
# arrived where, table by table; then `cleave status` and `cleave reconcile` (with drift made by hand and
# repaired). Stops and removes all of it.
#
#   demo/run.sh            (CLEAVE_KEEP_RUNDIR=1 keeps the run directory with the logs)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$repo/build-demo
cmake_flags="-DCMAKE_BUILD_TYPE=RelWithDebInfo"
run_prefix=/tmp/cleave-demo
mock_brokers=1
# shellcheck source=scripts/servers.sh
source "$repo/scripts/servers.sh"

tables=(users products orders order_items)
step() { printf '\n== %s\n' "$*"; }
psql_() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres -d monolith "$@"; }
my_() { mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$my_port" -uroot "$@"; }

sweep_stale
step "installing packages (if missing) and building cleave"
install_packages
CLEAVE_TEST_BUILD_TARGETS="cleave cleave-mock-kafka" build >/dev/null
begin_run

step "starting a throwaway monolith PostgreSQL (also hosting the users service database), MariaDB and Kafka"
start_postgres
start_mariadb
start_mock
echo "PostgreSQL 127.0.0.1:$pg_port, MariaDB 127.0.0.1:$my_port, Kafka $kafka_brokers, run directory $rundir"
psql -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -c "CREATE DATABASE monolith" -c "CREATE DATABASE users"
my_ -e "CREATE DATABASE orders"
psql_ -f "$repo/demo/shop.sql"
psql_ -f "$repo/demo/history.sql" # rows the monolith holds before cleave starts
echo "the monolith already holds $(psql_ -At -c "SELECT count(*) FROM users") users and $(psql_ -At -c "SELECT count(*) FROM orders") orders"

cat >"$rundir/cleave.yaml" <<YAML
source:
  dsn: "host=127.0.0.1 port=$pg_port dbname=monolith user=postgres"
  slot: cleave
  publication: cleave
  tables: [public.users, public.products, public.orders, public.order_items]
  snapshot: initial
kafka:
  brokers: "$kafka_brokers"
  topic_prefix: monolith
  properties: {session.timeout.ms: 6000}
sinks:
  - name: users
    type: postgres
    dsn: "host=127.0.0.1 port=$pg_port dbname=users user=postgres"
    create_tables: true
    mappings:
      - source: public.users
        target: users
        columns: [id, email, name]
  - name: orders
    type: mysql
    dsn: "mysql://root@127.0.0.1:$my_port/orders"
    create_tables: true
    mappings:
      - source: public.orders
        target: orders
        columns: [id, customer_id, total_cents, status, created_at]
        rename: {total_cents: total}
      - source: public.order_items
        target: order_items
log:
  level: info
YAML
step "cleave check"
"$build/cleave" check -c "$rundir/cleave.yaml"

step "cleave capture: a new slot; the existing rows are copied first (initial snapshot), then it streams (log: $rundir/capture.log)"
"$build/cleave" capture -c "$rundir/cleave.yaml" 2>"$rundir/capture.log" &
capture_pid=$!
for _ in $(seq 600); do
	grep -q "streaming publication" "$rundir/capture.log" && break
	kill -0 "$capture_pid" 2>/dev/null || { cat "$rundir/capture.log"; exit 1; }
	sleep 0.05
done
grep "snapshot: done\|streaming publication" "$rundir/capture.log"

step "cleave sink --sink users (PostgreSQL) and --sink orders (MariaDB)"
for sink in users orders; do
	"$build/cleave" sink -c "$rundir/cleave.yaml" --sink "$sink" 2>"$rundir/sink_$sink.log" &
	eval "sink_${sink}_pid=\$!"
done

step "workload: users sign up, orders come in, some ship, some are cancelled"
psql_ -f "$repo/demo/workload.sql"
end=$(psql_ -At -c "SELECT pg_current_wal_lsn()")
echo "workload committed up to LSN $end; waiting until capture confirmed it (Kafka acknowledged every event)"
for _ in $(seq 1200); do
	[[ $(psql_ -At -c "SELECT confirmed_flush_lsn >= '$end' FROM pg_replication_slots WHERE slot_name = 'cleave'") == t ]] && break
	sleep 0.1
done

step "what arrived in Kafka"
printf '%-28s %8s | %8s %8s %8s %8s %8s %10s\n' "table" "rows now" "copied" "creates" "updates" "deletes" "truncs" \
	"tombstones"
for t in "${tables[@]}"; do
	"$build/cleave" events -c "$rundir/cleave.yaml" --table "public.$t" >"$rundir/$t.events"
	printf '%-28s %8s | %8s %8s %8s %8s %8s %10s\n' "monolith.public.$t" "$(psql_ -At -c "SELECT count(*) FROM $t")" \
		"$(grep -c '"op":"r"' "$rundir/$t.events" || true)" "$(grep -c '"op":"c"' "$rundir/$t.events" || true)" "$(grep -c '"op":"u"' "$rundir/$t.events" || true)" \
		"$(grep -c '"op":"d"' "$rundir/$t.events" || true)" "$(grep -c '"op":"t"' "$rundir/$t.events" || true)" \
		"$(grep -c '"value":null' "$rundir/$t.events" || true)"
done
echo
echo "one event (cleave events -c cleave.yaml --table public.orders --limit 1):"
"$build/cleave" events -c "$rundir/cleave.yaml" --table public.orders --limit 1 | python3 -m json.tool 2>/dev/null ||
	"$build/cleave" events -c "$rundir/cleave.yaml" --table public.orders --limit 1

step "what arrived in the service databases"
users_ok=false
orders_ok=false
for _ in $(seq 600); do
	src_users=$(psql_ -At -c "SELECT count(*) || ' rows, ' || md5(string_agg(id || '|' || email || '|' || name, ',' ORDER BY id)) FROM users")
	dst_users=$(psql -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d users -At \
		-c "SELECT count(*) || ' rows, ' || md5(string_agg(id || '|' || email || '|' || name, ',' ORDER BY id)) FROM users" 2>/dev/null || true)
	src_orders=$(psql_ -At -c "SELECT count(*) || ' rows, total ' || sum(total_cents) FROM orders")
	dst_orders=$(my_ -N -e "SELECT CONCAT(COUNT(*), ' rows, total ', SUM(total)) FROM orders.orders" 2>/dev/null || true)
	src_items=$(psql_ -At -c "SELECT count(*) || ' rows, quantity ' || sum(quantity) FROM order_items")
	dst_items=$(my_ -N -e "SELECT CONCAT(COUNT(*), ' rows, quantity ', SUM(quantity)) FROM orders.order_items" 2>/dev/null || true)
	[[ $src_users == "$dst_users" ]] && users_ok=true
	[[ $src_orders == "$dst_orders" && $src_items == "$dst_items" ]] && orders_ok=true
	$users_ok && $orders_ok && break
	sleep 0.1
done
printf '%-40s %-40s %s\n' "monolith (PostgreSQL)" "service" "service database"
printf '%-40s %-40s %s\n' "users: $src_users" "users (PostgreSQL)" "$dst_users"
printf '%-40s %-40s %s\n' "orders: $src_orders" "orders (MariaDB, total_cents -> total)" "$dst_orders"
printf '%-40s %-40s %s\n' "order_items: $src_items" "orders (MariaDB)" "$dst_items"
if $users_ok && $orders_ok; then echo "both services match the monolith"; else echo "the services did not catch up"; fi

step "cleave status: the slot, and how far behind each sink is"
"$build/cleave" status -c "$rundir/cleave.yaml" || true

step "cleave reconcile: both services compared with the monolith, range checksums inside each database"
for sink in users orders; do
	"$build/cleave" reconcile -c "$rundir/cleave.yaml" --sink "$sink"
done

step "drift made by hand in the orders service (a row deleted, a total changed), found and repaired"
my_ -e "DELETE FROM orders.orders WHERE id = (SELECT MIN(id) FROM orders.orders);
        UPDATE orders.orders SET total = total + 1 WHERE id = (SELECT MAX(id) FROM orders.orders)"
"$build/cleave" reconcile -c "$rundir/cleave.yaml" --sink orders --table public.orders &&
	{ echo "reconcile missed the drift"; exit 1; }
echo "(exit 1: drift)"
"$build/cleave" reconcile -c "$rundir/cleave.yaml" --sink orders --table public.orders --repair
"$build/cleave" reconcile -c "$rundir/cleave.yaml" --sink orders --table public.orders

step "stopping the sinks"
# shellcheck disable=SC2154 # set through eval above
kill -TERM "$sink_users_pid" "$sink_orders_pid"
wait "$sink_users_pid" "$sink_orders_pid"
tail -n 1 "$rundir/sink_users.log" "$rundir/sink_orders.log"

step "stopping capture (SIGTERM: flush, confirm, exit 0)"
kill -TERM "$capture_pid"
wait "$capture_pid"
tail -n 1 "$rundir/capture.log"
echo
echo "demo finished; everything it started is being stopped and removed"
$users_ok && $orders_ok
