#!/bin/sh
# Install release REF next to the running one, check it, migrate the database, then switch and
# restart: migrations always run before any process of the new version starts.
#
#   sudo deploy/upgrade.sh v1.4.0                  # the first host (runs the migrations)
#   sudo deploy/upgrade.sh v1.4.0 --skip-migrations  # every other host, afterwards
#
# Rolls back nothing by itself: to go back, point /opt/polybanking/current at the previous release
# and restart (only if the new migrations were additive, which is the rule for this project).
set -eu

REF=${1:?usage: upgrade.sh REF [--skip-migrations]}
MIGRATE=yes
[ "${2:-}" = "--skip-migrations" ] && MIGRATE=no
REPO=${POLYBANKING_REPO:-/opt/polybanking/repo.git}
BASE=/opt/polybanking
RELEASE=$BASE/releases/$REF
ENV_FILE=/etc/polybanking/polybanking.env

as_polybanking() {
    # The units' exact environment (same user, same EnvironmentFile parsing).
    systemd-run --quiet --wait --pipe --collect -p User=polybanking -p EnvironmentFile=$ENV_FILE \
        -p WorkingDirectory="$RELEASE" "$@"
}

if [ ! -d "$RELEASE" ]; then
    echo "== installing $REF into $RELEASE"
    git -C "$REPO" fetch --quiet --tags origin
    sudo -u polybanking git clone --quiet "$REPO" "$RELEASE"
    sudo -u polybanking git -C "$RELEASE" checkout --quiet "$REF"
    sudo -u polybanking python3 -m venv "$RELEASE/.venv"
    sudo -u polybanking "$RELEASE/.venv/bin/pip" install --quiet "$RELEASE"
fi

echo "== checking the configuration with $REF"
as_polybanking "$RELEASE/.venv/bin/polybanking" --ini "$RELEASE/production.ini" check --offline

if [ "$MIGRATE" = yes ]; then
    echo "== migrating the database (before any process of $REF starts)"
    as_polybanking "$RELEASE/.venv/bin/polybanking" --ini "$RELEASE/production.ini" initdb
fi

echo "== switching $BASE/current to $REF"
ln -sfn "$RELEASE" "$BASE/current.new"
mv -T "$BASE/current.new" "$BASE/current"

echo "== restarting, one web process at a time (nginx sends requests to the others meanwhile)"
for unit in $(systemctl list-units --plain --no-legend 'polybanking-web@*.service' | awk '{print $1}'); do
    systemctl restart "$unit"
    port=${unit#polybanking-web@}
    port=${port%.service}
    for _ in $(seq 1 30); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" && break
        sleep 1
    done
    curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" || { echo "$unit is not healthy" >&2; exit 1; }
done
for unit in $(systemctl list-units --plain --no-legend 'polybanking-worker@*.service' | awk '{print $1}'); do
    systemctl restart "$unit"
done
echo "== $REF is running"
