#!/usr/bin/env bash
# Does the unit's system call filter (@system-service + pkey_*, minus @privileged) cover what the
# agent really calls? Runs the demo under strace -f (the agent and every codec child it spawns), then
# lists the calls outside the allow-list and those inside @privileged. Calls outside fail with EPERM
# under the unit (SystemCallErrorNumber=EPERM), they do not kill it.
# Usage: bench/unit-syscalls.sh [--cycles N]    (needs strace; as root, the demo runs as nobody: the
#        service is unprivileged, and as root SQLite also fchown()s its files)
set -euo pipefail
cd "$(dirname "$0")/.."
CYCLES=1
[ "${1:-}" = --cycles ] && CYCLES="$2"
command -v strace >/dev/null || { echo "unit-syscalls.sh: apt-get install -y strace" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
as_user=()
if [ "$(id -u)" -eq 0 ]; then chmod 0777 "$work"; as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME="$work"); fi
SKYRIG_FROM_SOURCE=1 "${as_user[@]}" strace -f -qq -c -S name -o "$work/trace.txt" node bin/skyrig.js demo --data-dir "$work/demo" --cycles "$CYCLES" > "$work/demo.log" 2>&1 || { tail "$work/demo.log"; exit 1; }
systemd-analyze syscall-filter > "$work/groups.txt" 2>/dev/null
python3 - "$work" <<'PY'
import re, sys
work = sys.argv[1]
groups, cur = {}, None
for line in open(f'{work}/groups.txt'):
    t = line.strip()
    if not line.startswith(' ') and re.fullmatch(r'@[a-z-]+', t):
        cur = t; groups[cur] = []
    elif cur and t and not t.startswith('#'):
        groups[cur].append(t)
def expand(g):
    out = set()
    for x in groups.get(g, []):
        out |= expand(x) if x.startswith('@') else {x}
    return out
allowed = (expand('@system-service') | {'pkey_alloc', 'pkey_free', 'pkey_mprotect'}) - expand('@privileged')
used = {l.split()[-1] for l in open(f'{work}/trace.txt') if re.fullmatch(r'[a-z_0-9]+', l.split()[-1] if l.split() else '') and l.split()[-1] not in ('total', 'syscall')}
print(f'{len(used)} distinct system calls in the demo (agent + codec children)')
print('outside the unit filter:', ' '.join(sorted(used - allowed)) or 'none')
PY
