#!/usr/bin/env bash
# The README's two commands on a bare Debian 12 (bookworm) with nothing but Node: a debootstrap'd
# minbase root (cached), a fresh copy of it per run, the host's node + npm copied in, a fresh git clone
# of this checkout's HEAD. Then, inside the chroot, as root:
#   1. npm ci && npm run demo
#   1b. deploy/deps.sh --build && npm ci && npm run demo — compilers only, for a machine where npm cannot
#      fetch better-sqlite3's prebuilt binary from github.com (this sandbox); still no image tools
#   2. deploy/deps.sh --test && npm ci && npm test
#   3. (--install) deploy/install.sh twice, a file deleted between: the upgrade removes it
# Prints one line per step with its exit code and wall time; full logs under the work dir.
# Usage: sudo bench/bare-machine.sh [--steps 1,1b,2,3] [--keep] [--ref HEAD]
# Needs: root, debootstrap (apt-get install debootstrap), a reachable Debian mirror and npm registry.
set -euo pipefail

STEPS=1,1b,2,3
KEEP=0
REF=HEAD
while (($#)); do
  case "$1" in
    --steps) STEPS="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --ref) REF="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "bare-machine.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "bare-machine.sh: run as root (chroot, mounts)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "bare-machine.sh: apt-get install -y debootstrap" >&2; exit 1; }

# SKYRIG_REPO: the checkout to clone (default: the one this script is in; set it when running a copy).
REPO="${SKYRIG_REPO:-$(cd "$(dirname "$0")/.." && pwd)}"
CACHE=/var/cache/skyrig-bare
BASE="$CACHE/bookworm-base"
WORK="$(mktemp -d /var/tmp/skyrig-bare.XXXXXX)"
ROOT="$WORK/root"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

cleanup() {
  for m in dev/shm dev/pts dev sys proc; do mountpoint -q "$ROOT/$m" 2>/dev/null && umount -l "$ROOT/$m"; done
  if [ "$KEEP" = 0 ]; then rm -rf "$ROOT"; else echo "kept: $ROOT"; fi
}
trap cleanup EXIT

if [ ! -d "$BASE" ]; then
  echo "== debootstrap bookworm minbase into $BASE (once)"
  mkdir -p "$CACHE"
  debootstrap --variant=minbase bookworm "$BASE.tmp" "$MIRROR" > "$CACHE/debootstrap.log" 2>&1
  mv "$BASE.tmp" "$BASE"
fi

echo "== fresh root $ROOT"
cp -a "$BASE" "$ROOT"
# Node only: the files of the host's nodejs package (node, its headers, npm as upgraded here).
if dpkg -s nodejs >/dev/null 2>&1; then
  dpkg -L nodejs | grep -v '^/\.$' | tar -C / --no-recursion -cf - -T - 2>/dev/null | tar -C "$ROOT" --keep-old-files -xf - 2>/dev/null || true
  [ -d /usr/lib/node_modules/npm ] && rm -rf "$ROOT/usr/lib/node_modules/npm" && cp -a /usr/lib/node_modules/npm "$ROOT/usr/lib/node_modules/npm"
else
  NODE="$(readlink -f "$(command -v node)")"
  NPM_DIR="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  install -m 0755 "$NODE" "$ROOT/usr/bin/node"
  mkdir -p "$ROOT/usr/lib/node_modules"
  cp -a "$NPM_DIR" "$ROOT/usr/lib/node_modules/npm"
fi
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/bin/npx"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# A network that intercepts TLS (a sandbox's egress proxy) signs with its own CA: node/npm in the
# chroot trust it only if told, as they are on the host. Not needed on a real bare machine.
EXTRA_CA=""
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  cp "$NODE_EXTRA_CA_CERTS" "$ROOT/etc/host-extra-ca.pem"
  EXTRA_CA="NODE_EXTRA_CA_CERTS=/etc/host-extra-ca.pem"
fi
# Where nodejs.org is out of reach, node-gyp takes the headers from the nodejs package (as on the host).
NODEDIR="$(npm config get nodedir 2>/dev/null || true)"
[ -n "$NODEDIR" ] && [ "$NODEDIR" != undefined ] && [ "$NODEDIR" != null ] && EXTRA_CA="$EXTRA_CA npm_config_nodedir=$NODEDIR"
git clone -q --no-hardlinks "$REPO" "$ROOT/root/skyrig"
git -C "$ROOT/root/skyrig" -c advice.detachedHead=false checkout -q "$(git -C "$REPO" rev-parse "$REF")"
COMMIT="$(git -C "$REPO" rev-parse --short "$REF")"
rm -rf "$ROOT/root/skyrig/.git"   # git is not on the bare machine; install.sh then copies the tree as is
mount -t proc proc "$ROOT/proc"
mount -t sysfs sys "$ROOT/sys"
mount --bind /dev "$ROOT/dev"
mount -t devpts devpts "$ROOT/dev/pts"
mount -t tmpfs shm "$ROOT/dev/shm"

in_root() { chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 CI=true $EXTRA_CA /bin/bash -c "$1"; }

echo "bare machine: Debian $(cat "$ROOT/etc/debian_version"), $(in_root 'node -v') npm $(in_root 'npm -v'), skyrig $COMMIT${EXTRA_CA:+, passed in from the host: $EXTRA_CA}; none of these tools:"
in_root 'for t in djpeg cjpeg pngtopam dcraw_emu dcraw ffmpeg mosquitto indiserver gphoto2 g++ make python3 git; do command -v $t >/dev/null && echo "  present: $t"; done; true'

results=()
step() {
  local n="$1" cmd="$2" log="$WORK/step$1.log" t0 rc
  t0=$(date +%s)
  echo "== step $n: $cmd   (log: $log)"
  set +e
  in_root "cd /root/skyrig && $cmd" > "$log" 2>&1
  rc=$?
  set -e
  results+=("step $n  exit $rc  $(( $(date +%s) - t0 )) s  $(head -n 1 <<< "$cmd")")
  tail -n 6 "$log" | sed 's/^/    /'
  return 0
}

[[ ",$STEPS," == *",1,"* ]] && step 1 'npm ci && npm run demo'
[[ ",$STEPS," == *",1b,"* ]] && step 1b 'deploy/deps.sh --build && npm ci && npm run demo'
[[ ",$STEPS," == *",2,"* ]] && step 2 'deploy/deps.sh --test && npm ci && npm test'
if [[ ",$STEPS," == *",3,"* ]]; then
  # An upgrade removes what upstream deleted: plant a stale module, delete a tracked file, re-install.
  step 3 'set -e
deploy/install.sh --no-enable
test -f /opt/skyrig/docs/hardware.md
touch /opt/skyrig/dist/stale-module.js
rm docs/hardware.md
deploy/install.sh --no-enable
test ! -e /opt/skyrig/docs/hardware.md
test ! -e /opt/skyrig/dist/stale-module.js
echo "upgrade: the deleted doc and the stale module are gone from /opt/skyrig"
stat -c "%U:%G %a %n" /etc/skyrig /etc/skyrig/config.yaml /var/lib/skyrig
skyrig doctor --config /etc/skyrig/config.yaml || echo "(doctor exit $?)"'
fi

echo
echo "== bare Debian $(cat "$ROOT/etc/debian_version") + Node $(in_root 'node -v'), skyrig $COMMIT"
printf '%s\n' "${results[@]}"
grep -hE '^\s+[0-9]+ tests? (passed|failed)|tests? failed|known failure|^\s+✘' "$WORK"/step2.log 2>/dev/null | head -20 || true
echo "logs: $WORK"
