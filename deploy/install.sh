#!/usr/bin/env bash
# Install skyrig on Raspberry Pi OS Bookworm (or Debian 12): system packages, Node check, system user,
# directories, example config, systemd unit. Idempotent: safe to run again for upgrades.
# Usage: sudo deploy/install.sh [--prefix /opt/skyrig] [--no-enable]
set -euo pipefail

PREFIX=/opt/skyrig
ENABLE=1
while (($#)); do
  case "$1" in
    --prefix) PREFIX="$2"; shift 2 ;;
    --no-enable) ENABLE=0; shift ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (sudo)" >&2; exit 1; }
SRC="$(cd "$(dirname "$0")/.." && pwd)"

echo "== system packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
  libgphoto2-dev gphoto2 indi-bin libjpeg-turbo-progs netpbm libtiff-tools libraw-bin dcraw \
  build-essential python3 pkg-config ca-certificates

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

echo "== files"
install -d -o skyrig -g skyrig -m 0750 /var/lib/skyrig
install -d -m 0755 /etc/skyrig "$PREFIX"
# Copy the project (without dev clutter) and build it.
# dist/ is rebuilt by npm ci (prepare): drop the old one so no module removed upstream lingers.
rm -rf "$PREFIX/dist"
tar -C "$SRC" --exclude=./node_modules --exclude=./var --exclude=./.git --exclude=./dist -cf - . | tar -C "$PREFIX" -xf -
(cd "$PREFIX" && npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund)
# Native modules: the first three are needed (unix-dgram carries sd_notify: without it Type=notify
# never sees READY=1 and systemd kills the agent after TimeoutStartSec, over and over).
for m in better-sqlite3 sharp unix-dgram; do
  (cd "$PREFIX" && node -e "require('$m')") >/dev/null 2>&1 || { echo "install.sh: npm module $m does not load in $PREFIX; see 'cd $PREFIX && npm rebuild $m'" >&2; exit 1; }
done
for m in gphoto2 onoff; do
  (cd "$PREFIX" && node -e "require('$m')") >/dev/null 2>&1 || echo "warning: optional npm module $m does not load: $([ "$m" = gphoto2 ] && echo 'DSLRs fall back to the gphoto2 command line' || echo 'gpio-rail:// focusers will not work')"
done
[ -f /etc/skyrig/config.yaml ] || install -m 0640 -g skyrig "$SRC/deploy/config.example.yaml" /etc/skyrig/config.yaml
[ -f /etc/skyrig/env ] || install -m 0600 /dev/null /etc/skyrig/env
ln -sf "$PREFIX/bin/skyrig.js" /usr/local/bin/skyrig

# gvfs grabs DSLRs on desktops; the agent cannot claim the camera while it runs.
if pgrep -f gvfs-gphoto2-volume-monitor >/dev/null; then
  echo "warning: gvfs-gphoto2-volume-monitor is running and will hold USB cameras: 'systemctl --user mask gvfs-gphoto2-volume-monitor' or 'apt-get remove gvfs-backends'"
fi

echo "== systemd"
sed -e "s#/opt/skyrig#$PREFIX#g" -e "s#^ExecStart=/usr/bin/node #ExecStart=$NODE_BIN #" "$SRC/systemd/skyrig.service" > /etc/systemd/system/skyrig.service
systemd-analyze verify /etc/systemd/system/skyrig.service
systemctl daemon-reload
skyrig config check --config /etc/skyrig/config.yaml || echo "edit /etc/skyrig/config.yaml, then: systemctl restart skyrig"
if [ "$ENABLE" = 1 ]; then systemctl enable --now skyrig; fi
echo "done: journalctl -u skyrig -f   |   skyrig status --config /etc/skyrig/config.yaml   |   skyrig doctor"
