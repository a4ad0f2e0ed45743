#!/bin/sh
# Who may do what on the event log: one SCRAM user per service, and ACLs by which a service
# writes only its own events topic (deploy/kafka/README.md). docker-compose runs it as the
# one-shot `kafka-acls` job, as the admin (the broker's only super user); it is idempotent, so
# run it again after changing a password or a grant. tests/integration/test_kafka_acls.py runs
# this very script against a real broker (KAFKA_BIN pointing at scripts that run the jars).
#
# Environment:
#   KAFKA_ADMIN_PASSWORD                     required; KAFKA_ADMIN_USER (default admin)
#   KAFKA_<SERVICE>_PASSWORD                 required for each service below, e.g.
#                                            KAFKA_REQUESTS_PASSWORD (letters, digits, - and _)
#   KAFKA_BOOTSTRAP (default kafka:9092), KAFKA_BIN (default /opt/kafka/bin),
#   KAFKA_SCRAM_MECHANISM (default SCRAM-SHA-512)
#
# Grants never removed here: a grant taken out of the table below stays on the broker until
# `kafka-acls.sh --remove` deletes it (README).
set -eu

BOOTSTRAP="${KAFKA_BOOTSTRAP:-kafka:9092}"
BIN="${KAFKA_BIN:-/opt/kafka/bin}"
MECHANISM="${KAFKA_SCRAM_MECHANISM:-SCRAM-SHA-512}"
ADMIN_USER="${KAFKA_ADMIN_USER:-admin}"
: "${KAFKA_ADMIN_PASSWORD:?KAFKA_ADMIN_PASSWORD is not set}"

umask 077
CONFIG="$(mktemp)"
trap 'rm -f "$CONFIG"' EXIT
cat >"$CONFIG" <<EOF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=$MECHANISM
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$ADMIN_USER" password="$KAFKA_ADMIN_PASSWORD";
EOF

acls() {
    "$BIN/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$CONFIG" --add "$@" >/dev/null
}

IDEMPOTENT=""

# grant SERVICE "SERVICES WHOSE EVENTS IT CONSUMES" "ITS CONSUMER GROUP PREFIXES"
#
# SERVICE gets a SCRAM user of its name, and may
#   - write (and describe) gongkai.SERVICE.events, its own topic, and no other events topic;
#   - read (and describe) gongkai.C.events for each consumed C, and write gongkai.C.events.dlq,
#     where its consumers dead-letter what they cannot apply;
#   - join and commit in consumer groups whose names start with a listed prefix;
#   - use an idempotent producer (IDEMPOTENT_WRITE on the cluster: the relay's and the
#     dead-letter producers are idempotent).
grant() {
    service=$1
    consumes=$2
    groups=$3
    upper=$(printf '%s' "$service" | tr '[:lower:]' '[:upper:]')
    eval "password=\${KAFKA_${upper}_PASSWORD:?KAFKA_${upper}_PASSWORD is not set}"

    "$BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$CONFIG" \
        --alter --entity-type users --entity-name "$service" \
        --add-config "$MECHANISM=[password=$password]" >/dev/null

    set -- --topic "gongkai.$service.events"
    for source in $consumes; do
        set -- "$@" --topic "gongkai.$source.events.dlq"
    done
    acls --allow-principal "User:$service" --operation Write --operation Describe "$@"

    if [ -n "$consumes" ]; then
        set --
        for source in $consumes; do
            set -- "$@" --topic "gongkai.$source.events"
        done
        acls --allow-principal "User:$service" --operation Read --operation Describe "$@"
    fi

    set --
    for prefix in $groups; do
        set -- "$@" --group "$prefix"
    done
    if [ $# -gt 0 ]; then
        acls --allow-principal "User:$service" --operation Read \
            --resource-pattern-type prefixed "$@"
    fi

    IDEMPOTENT="$IDEMPOTENT User:$service"
    echo "kafka-acls: $service writes gongkai.$service.events; reads [${consumes}]; groups [${groups}]"
}

# The table. Consumers (services/*/entrypoints/http.py, reporting_service/bootstrap.py):
# catalogue and requests react to review's decisions; review opens cases from requests' and
# catalogue's submissions; reporting projects requests and catalogue (and its replay,
# `gongkai replay`, reads them again in groups gongkai-replay.reporting.*).
# tests/unit/test_docker_compose.py checks this table against the code.
grant catalogue "review" "catalogue."
grant requests "review" "requests."
grant review "requests catalogue" "review."
grant reporting "requests catalogue" "reporting. gongkai-replay.reporting."

set --
for principal in $IDEMPOTENT; do
    set -- "$@" --allow-principal "$principal"
done
acls "$@" --operation IdempotentWrite --cluster
echo "kafka-acls: done"
