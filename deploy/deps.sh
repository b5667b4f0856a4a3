#!/usr/bin/env bash
# The one list of system packages skyrig uses (Debian 12 / Raspberry Pi OS Bookworm), by set, and
# their installation. deploy/install.sh installs --runtime, .ci/run installs --test.
#
# Usage: deploy/deps.sh [--build | --runtime | --test] [--list] [--check]
#   --build    only the compilers npm needs when it cannot download a prebuilt better-sqlite3 (no
#              access to github.com, or a platform without prebuilds): g++ make python3
#   --runtime  what the agent spawns or links: image codecs, camera RAW, ffmpeg, INDI, gphoto2, and
#              the compilers npm needs for the native addons (gphoto2, unix-dgram, better-sqlite3 without a prebuild)
#   --test     --runtime plus what the test suite runs against: mosquitto, OpenCV/numpy/h5py for the
#              reference comparisons, enfuse, GNU time, openssl, systemd-analyze
#   --list     print the packages of the set, one a line, and exit
#   --check    install nothing: list the missing ones and exit 1 if any
# Only the missing packages are installed (apt-get update only then), as root or through sudo.
set -euo pipefail

# package — what needs it (keep one line each; doctor's tool table names the same packages)
BUILD=(
  g++                  # native addons: gphoto2, unix-dgram (sd_notify), better-sqlite3 without a prebuild
  make
  python3              # node-gyp
  pkg-config
)
RUNTIME=(
  "${BUILD[@]}"
  libjpeg-turbo-progs  # djpeg/cjpeg: JPEG frames and products, streamed row by row
  netpbm               # pngtopam/pnmtopng/tifftopnm: PNG and TIFF, streamed row by row
  libtiff-tools        # tiffinfo: TIFF checks
  libraw-bin           # dcraw_emu/raw-identify: camera RAW (DSLR, Pi camera DNG)
  dcraw                # RAW fallback and DSLR raw probing
  ffmpeg               # all-sky timelapse videos
  indi-bin             # indiserver and the INDI drivers (indi:// cameras and focusers)
  gphoto2              # DSLRs (command line; the npm binding links libgphoto2)
  libgphoto2-dev       # headers for the npm gphoto2 binding
  ca-certificates      # npm over https
  procps               # pgrep (install.sh looks for gvfs)
  systemd              # the service; systemd-analyze verify/security of the unit
)
TEST=(
  mosquitto            # real broker in the MQTT tests (and a local broker for the agent)
  mosquitto-clients
  python3-numpy        # reference implementations (OpenCV) in the quality tests
  python3-opencv
  python3-h5py         # .npz/.h5 response files written by Python
  enfuse               # focus-stack reference
  time                 # /usr/bin/time -v: peak RSS in the memory tests
  openssl              # TLS broker certificates
)

set_name=runtime
list=0
check=0
while (($#)); do
  case "$1" in
    --build) set_name=build ;;
    --runtime) set_name=runtime ;;
    --test) set_name=test ;;
    --list) list=1 ;;
    --check) check=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "deps.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

case "$set_name" in
  build) packages=("${BUILD[@]}") ;;
  runtime) packages=("${RUNTIME[@]}") ;;
  test) packages=("${RUNTIME[@]}" "${TEST[@]}") ;;
esac

if [ "$list" = 1 ]; then printf '%s\n' "${packages[@]}"; exit 0; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "deps.sh: all ${#packages[@]} $set_name packages installed"
  exit 0
fi
if [ "$check" = 1 ]; then
  echo "deps.sh: missing $set_name packages: ${missing[*]} (install: $0 --$set_name)" >&2
  exit 1
fi
# Root installs directly; a login user through sudo (which asks for the password).
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps.sh: missing ${missing[*]}: run as root" >&2; exit 1; }
  as_root=(sudo)
fi
echo "deps.sh: installing ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
