#!/usr/bin/env bash
# Install or upgrade skyrig on Raspberry Pi OS Bookworm (or Debian 12): system packages
# (deploy/deps.sh --runtime), Node check, 'skyrig' user, directories, example config, systemd unit.
# Re-run from a newer checkout to upgrade: the new code is built next to the old one, then the
# service is stopped, the code swapped whole (files deleted upstream go), and the service started.
# Usage: sudo deploy/install.sh [--prefix /opt/skyrig] [--no-enable] [--no-deps]
set -euo pipefail

PREFIX=/opt/skyrig
ENABLE=1
DEPS=1
while (($#)); do
  case "$1" in
    --prefix) PREFIX="${2%/}"; shift 2 ;;
    --no-enable) ENABLE=0; shift ;;
    --no-deps) DEPS=0; shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (sudo)" >&2; exit 1; }
SRC="$(cd "$(dirname "$0")/.." && pwd)"
[ "$SRC" != "$PREFIX" ] || { echo "install.sh: run it from a checkout, not from $PREFIX itself" >&2; exit 1; }
# systemd as init (not a chroot or a container without it): the service, and sd_notify, are real.
HAVE_SYSTEMD=0
[ -d /run/systemd/system ] && HAVE_SYSTEMD=1

if [ "$DEPS" = 1 ]; then
  echo "== system packages"
  "$SRC/deploy/deps.sh" --runtime
fi

echo "== node"
if ! command -v node >/dev/null; then
  echo "install.sh: Node.js >= 20.19 is required: install it (e.g. 'apt-get install nodejs' on a distribution that ships 20.19+, or NodeSource), then run again" >&2
  exit 1
fi
node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("install.sh: node >= 20.19 required, have "+process.version); process.exit(1) }'
# The service runs as the skyrig user with ProtectHome=yes: a node under /root or /home (nvm) is
# invisible to it. The unit gets the absolute path of this node.
NODE_BIN="$(readlink -f "$(command -v node)")"
case "$NODE_BIN" in
  /root/*|/home/*|/run/user/*)
    echo "install.sh: node is $NODE_BIN (a per-user install, e.g. nvm): the skyrig service cannot run it. Install Node.js >= 20.19 system-wide (NodeSource: /usr/bin/node), then run again" >&2
    exit 1 ;;
esac

echo "== user and groups"
for g in gpio plugdev video; do getent group "$g" >/dev/null || groupadd --system "$g"; done
id skyrig >/dev/null 2>&1 || useradd --system --home-dir /var/lib/skyrig --shell /usr/sbin/nologin --user-group skyrig
usermod -a -G gpio,plugdev,video skyrig
# The login user who ran sudo reads the config and the run log through group skyrig
# (skyrig config check / status / runs / doctor as written in the README).
if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ] && ! id -nG "$SUDO_USER" | tr ' ' '\n' | grep -qx skyrig; then
  usermod -a -G skyrig "$SUDO_USER"
  echo "added $SUDO_USER to group skyrig: log out and in for it to apply"
fi

echo "== build $PREFIX"
# A fresh tree next to the old one: the tracked files of this checkout (or, without git, the
# checkout minus node_modules/var/dist), then npm ci (its prepare builds dist/) and dev deps pruned.
STAGE="$PREFIX.new"
rm -rf "$STAGE"
install -d -m 0755 "$STAGE"
if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # --ignore-failed-read: a tracked file deleted in the working tree is simply not copied.
  (cd "$SRC" && git ls-files -z | tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -C "$STAGE" -xf -
else
  tar -C "$SRC" --exclude=./node_modules --exclude=./var --exclude=./.git --exclude=./dist -cf - . | tar -C "$STAGE" -xf -
fi
(cd "$STAGE" && npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund)
# Native modules: better-sqlite3 and sharp always; unix-dgram wherever systemd runs the service (it
# carries sd_notify: without it Type=notify never sees READY=1 and systemd kills the agent after
# TimeoutStartSec, over and over).
required=(better-sqlite3 sharp)
[ "$HAVE_SYSTEMD" = 1 ] && required+=(unix-dgram)
for m in "${required[@]}"; do
  (cd "$STAGE" && node -e "require('$m')") >/dev/null 2>&1 || {
    echo "install.sh: npm module $m does not load in $STAGE ($( [ "$m" = unix-dgram ] && echo 'sd_notify for Type=notify' || echo 'the run log and images')); try 'cd $STAGE && npm rebuild $m' (needs g++ make python3: deploy/deps.sh --runtime); $PREFIX is unchanged" >&2
    exit 1
  }
done
for m in gphoto2 onoff; do
  (cd "$STAGE" && node -e "require('$m')") >/dev/null 2>&1 || echo "warning: optional npm module $m does not load: $([ "$m" = gphoto2 ] && echo 'DSLRs fall back to the gphoto2 command line' || echo 'gpio-rail:// focusers will not work')"
done

echo "== files"
install -d -o skyrig -g skyrig -m 0750 /var/lib/skyrig
install -d -m 0750 -g skyrig /etc/skyrig
[ -f /etc/skyrig/config.yaml ] || install -m 0640 -g skyrig "$SRC/deploy/config.example.yaml" /etc/skyrig/config.yaml
# An older install left these world-readable or root-only: group skyrig reads, others do not.
chgrp skyrig /etc/skyrig /etc/skyrig/config.yaml && chmod 0750 /etc/skyrig && chmod 0640 /etc/skyrig/config.yaml
[ -f /etc/skyrig/env ] || install -m 0600 /dev/null /etc/skyrig/env
# The run log and products the agent wrote before UMask=0027: group-readable too.
chgrp -R skyrig /var/lib/skyrig && chmod -R g+rX,o-rwx /var/lib/skyrig

# gvfs grabs DSLRs on desktops; the agent cannot claim the camera while it runs.
if pgrep -f gvfs-gphoto2-volume-monitor >/dev/null 2>&1; then
  echo "warning: gvfs-gphoto2-volume-monitor is running and will hold USB cameras: 'systemctl --user mask gvfs-gphoto2-volume-monitor' or 'apt-get remove gvfs-backends'"
fi

echo "== systemd"
WAS_ACTIVE=0
if [ "$HAVE_SYSTEMD" = 1 ] && systemctl is-active --quiet skyrig; then
  WAS_ACTIVE=1
  echo "stopping skyrig for the upgrade"
  systemctl stop skyrig
fi
# The swap: the old tree goes whole, so no module deleted upstream lingers.
if [ -e "$PREFIX" ]; then rm -rf "$PREFIX.old"; mv "$PREFIX" "$PREFIX.old"; fi
mv "$STAGE" "$PREFIX"
rm -rf "$PREFIX.old"
ln -sf "$PREFIX/bin/skyrig.js" /usr/local/bin/skyrig

sed -e "s#/opt/skyrig#$PREFIX#g" -e "s#^ExecStart=/usr/bin/node #ExecStart=$NODE_BIN #" "$SRC/systemd/skyrig.service" > /etc/systemd/system/skyrig.service
systemd-analyze verify /etc/systemd/system/skyrig.service
# No RTC on a Pi: time-sync.target is only reached after NTP has set the clock when this runs. Capped
# so a station without network still starts (after 5 min, on its stale clock).
systemctl enable systemd-time-wait-sync.service
install -d /etc/systemd/system/systemd-time-wait-sync.service.d
printf '[Service]\n# skyrig: start anyway after 5 min without network time\nTimeoutStartSec=5min\n' > /etc/systemd/system/systemd-time-wait-sync.service.d/skyrig.conf

CONFIG_OK=1
skyrig config check --config /etc/skyrig/config.yaml || CONFIG_OK=0
if [ "$HAVE_SYSTEMD" = 1 ]; then
  systemctl daemon-reload
  [ "$ENABLE" = 1 ] && systemctl enable skyrig
  if [ "$CONFIG_OK" = 0 ]; then
    echo "not starting skyrig: fix /etc/skyrig/config.yaml, then: sudo systemctl restart skyrig"
  elif [ "$ENABLE" = 1 ] || [ "$WAS_ACTIVE" = 1 ]; then
    systemctl restart skyrig
    systemctl is-active --quiet skyrig && echo "skyrig is running"
  fi
else
  [ "$ENABLE" = 1 ] && systemctl enable skyrig >/dev/null 2>&1 || true
  echo "systemd is not running here (chroot/container): the unit is installed, start it on the booted system"
fi
echo "done: journalctl -u skyrig -f   |   skyrig status --config /etc/skyrig/config.yaml   |   skyrig doctor --config /etc/skyrig/config.yaml"
