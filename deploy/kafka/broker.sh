#!/bin/sh
# The docker-compose broker (apache/kafka image), with access control: clients authenticate
# with SASL/SCRAM-SHA-512 and the StandardAuthorizer allows only what an ACL grants
# (deploy/kafka/acls.sh; README.md beside this file). It replaces the image's own entrypoint,
# which formats the log without `--add-scram`: SCRAM credentials live in the log itself, so the
# admin's must be written when it is formatted, before anyone can log in to add the others.
#
# Environment: CLUSTER_ID, KAFKA_ADMIN_PASSWORD (required); KAFKA_ADMIN_USER (default admin),
# KAFKA_HOME (default /opt/kafka), KAFKA_DATA_DIR (default /var/lib/kafka/data),
# KAFKA_ADVERTISED_HOST (default kafka), KAFKA_HOST_PORT (default 9094: the listener published
# to the host as localhost:$KAFKA_HOST_PORT).
set -eu

: "${CLUSTER_ID:?CLUSTER_ID is not set}"
: "${KAFKA_ADMIN_PASSWORD:?KAFKA_ADMIN_PASSWORD is not set}"
ADMIN="${KAFKA_ADMIN_USER:-admin}"
HOME_DIR="${KAFKA_HOME:-/opt/kafka}"
DATA_DIR="${KAFKA_DATA_DIR:-/var/lib/kafka/data}"
HOST="${KAFKA_ADVERTISED_HOST:-kafka}"
HOST_PORT="${KAFKA_HOST_PORT:-9094}"
MECHANISM=SCRAM-SHA-512
SCRAM_LOGIN="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$ADMIN\" password=\"$KAFKA_ADMIN_PASSWORD\";"
PLAIN_LOGIN="org.apache.kafka.common.security.plain.PlainLoginModule required username=\"$ADMIN\" password=\"$KAFKA_ADMIN_PASSWORD\" user_$ADMIN=\"$KAFKA_ADMIN_PASSWORD\";"

umask 077
CONFIG="$(mktemp -d)/server.properties"
cat >"$CONFIG" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:9093
controller.listener.names=CONTROLLER
# INTERNAL: the services and the broker itself; HOST: published to the host. Every listener
# authenticates; none is reachable anonymously.
listeners=INTERNAL://:9092,CONTROLLER://:9093,HOST://:9094
advertised.listeners=INTERNAL://$HOST:9092,HOST://localhost:$HOST_PORT
listener.security.protocol.map=INTERNAL:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT,HOST:SASL_PLAINTEXT
inter.broker.listener.name=INTERNAL
sasl.enabled.mechanisms=$MECHANISM
sasl.mechanism.inter.broker.protocol=$MECHANISM
listener.name.internal.scram-sha-512.sasl.jaas.config=$SCRAM_LOGIN
listener.name.host.scram-sha-512.sasl.jaas.config=$SCRAM_LOGIN
# KRaft controllers cannot use SCRAM (they serve the log that holds the credentials): PLAIN,
# with the admin as the only user, so no anonymous peer is ever a super user.
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=$PLAIN_LOGIN
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:$ADMIN
# The log is the system of record: kept in a volume; topics only from the topics job.
log.dirs=$DATA_DIR
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF

# Only a fresh volume is formatted (with the admin's credentials); an existing one keeps its
# own: change the admin's password with kafka-configs (README), not here.
"$HOME_DIR/bin/kafka-storage.sh" format --ignore-formatted -t "$CLUSTER_ID" -c "$CONFIG" \
    --add-scram "$MECHANISM=[name=$ADMIN,password=$KAFKA_ADMIN_PASSWORD]"

# The healthcheck's and the jobs' client config (the admin), readable only in this container.
cat >"${KAFKA_ADMIN_CONFIG:-/tmp/admin.properties}" <<EOF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=$MECHANISM
sasl.jaas.config=$SCRAM_LOGIN
EOF

exec "$HOME_DIR/bin/kafka-server-start.sh" "$CONFIG"
