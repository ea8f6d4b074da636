#!/usr/bin/env bash
# Installs Dørvakt on Raspberry Pi OS / Debian (bookworm or later). Idempotent: run it again after
# an update; it never overwrites the config, the card HMAC key or an edited udev rule.
#
#   sudo hardware/install.sh [--reader-vendor VVVV --reader-product PPPP [--reader-serial S]]
#                            [--with-nvr-agent] [--start]
#
# Needs Node.js >= 20 on PATH (Debian's own nodejs is older: use NodeSource or the Node.js binaries).
# DORVAKT_ROOT=/some/dir installs into a fake root and only prints the system commands it would run
# (user, groups, chown, npm, udevadm, systemctl): that is how test/deploy/install.test.ts runs it.
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="${DORVAKT_ROOT:-}"
USER_NAME=dorvakt
OPT="$ROOT/opt/dorvakt"
ETC="$ROOT/etc/dorvakt"
VAR="$ROOT/var/lib/dorvakt"
UNIT_DIR="$ROOT/etc/systemd/system"
UDEV_DIR="$ROOT/etc/udev/rules.d"

reader_vendor=""
reader_product=""
reader_serial=""
with_agent=0
start=0

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --reader-vendor) reader_vendor="${2:?}"; shift 2 ;;
    --reader-product) reader_product="${2:?}"; shift 2 ;;
    --reader-serial) reader_serial="${2:?}"; shift 2 ;;
    --with-nvr-agent) with_agent=1; shift ;;
    --start) start=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage 2 ;;
  esac
done

say() { printf 'dorvakt-install: %s\n' "$*"; }
die() { printf 'dorvakt-install: error: %s\n' "$*" >&2; exit 1; }

# System-wide changes go through sys: run for real, or only printed under DORVAKT_ROOT.
sys() {
  if [ -n "$ROOT" ]; then
    printf 'would run: %s\n' "$*"
  else
    "$@"
  fi
}

hex4() { [[ "$1" =~ ^[0-9a-fA-F]{4}$ ]]; }

# --- checks -----------------------------------------------------------------------------------
if [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then die "run as root (sudo)"; fi
if [ -n "$reader_vendor$reader_product" ]; then
  hex4 "$reader_vendor" || die "--reader-vendor must be 4 hex digits (lsusb: ID vvvv:pppp)"
  hex4 "$reader_product" || die "--reader-product must be 4 hex digits"
fi
if [[ "$reader_serial" == *'"'* ]]; then die "--reader-serial must not contain quotes"; fi
command -v node >/dev/null 2>&1 || die "node not found; install Node.js >= 20 first"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "Node.js $node_major found; Dørvakt needs >= 20"
node_bin="$(command -v node)"
if [ "$node_bin" != /usr/bin/node ]; then
  say "note: node is $node_bin; the units call /usr/bin/node (link it: ln -s $node_bin /usr/bin/node)"
fi

# --- packages ---------------------------------------------------------------------------------
# socat forwards sd_notify messages (src/ops/systemd-notify.ts); python3 would do too.
if ! command -v socat >/dev/null 2>&1; then
  sys env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends socat
fi

# --- user and groups --------------------------------------------------------------------------
for group in gpio dialout; do
  getent group "$group" >/dev/null 2>&1 || sys groupadd --system "$group"
done
if ! id "$USER_NAME" >/dev/null 2>&1; then
  sys useradd --system --user-group --home-dir /var/lib/dorvakt --no-create-home \
    --shell /usr/sbin/nologin --comment "Dørvakt door controller" "$USER_NAME"
fi
sys usermod --append --groups gpio,dialout "$USER_NAME"

# --- directories ------------------------------------------------------------------------------
install -d -m 0755 "$OPT"
install -d -m 0750 "$ETC"
install -d -m 0700 "$VAR"
install -d -m 0755 "$UNIT_DIR" "$UDEV_DIR"
sys chown root:"$USER_NAME" "$ETC"
sys chown "$USER_NAME":"$USER_NAME" "$VAR"

# --- code -------------------------------------------------------------------------------------
if [ ! -f "$SRC/dist/cli/dorvakt.js" ]; then
  say "no build in $SRC/dist: building (npm ci && npm run build)"
  sys sh -c "cd '$SRC' && npm ci --no-audit --no-fund && npm run build"
fi
if [ "$SRC" -ef "$OPT" ]; then
  say "running from $OPT itself: code left as it is"
else
  for item in package.json package-lock.json bin config hardware systemd README.md docs dist; do
    if [ -e "$SRC/$item" ]; then
      rm -rf "${OPT:?}/$item"
      cp -a "$SRC/$item" "$OPT/$item"
    fi
  done
fi
# Native modules (better-sqlite3, serialport, onoff) are built for this machine, without dev tools.
sys sh -c "cd '/opt/dorvakt' && npm ci --omit=dev --no-audit --no-fund"

# --- config and secrets -----------------------------------------------------------------------
install -m 0640 "$SRC/config/dorvakt.example.yaml" "$ETC/dorvakt.example.yaml"
if [ ! -e "$ETC/dorvakt.yaml" ]; then
  install -m 0640 "$SRC/config/dorvakt.example.yaml" "$ETC/dorvakt.yaml"
  sys chown root:"$USER_NAME" "$ETC/dorvakt.yaml"
  say "wrote $ETC/dorvakt.yaml from the example: edit site, doors, schedule and pins"
else
  say "kept $ETC/dorvakt.yaml (the example is beside it as dorvakt.example.yaml)"
fi
key="$ETC/card-hmac.key"
if [ ! -s "$key" ]; then
  # 48 random bytes; card hashes depend on it: back it up, losing it orphans every stored card.
  (umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$key")
  chmod 0600 "$key"
  sys chown "$USER_NAME":"$USER_NAME" "$key"
  say "generated the card HMAC key $key (0600): back it up somewhere safe"
else
  chmod 0600 "$key"
  say "kept the card HMAC key $key"
fi

# --- udev rule for the reader -----------------------------------------------------------------
rule="$UDEV_DIR/99-dorvakt-reader.rules"
if [ -n "$reader_vendor" ]; then
  serial_match=""
  [ -n "$reader_serial" ] && serial_match=", ATTRS{serial}==\"$reader_serial\""
  {
    grep '^#' "$SRC/hardware/99-dorvakt-reader.rules"
    printf 'SUBSYSTEM=="tty", ATTRS{idVendor}=="%s", ATTRS{idProduct}=="%s"%s, SYMLINK+="dorvakt-reader", GROUP="dialout", MODE="0660"\n' \
      "${reader_vendor,,}" "${reader_product,,}" "$serial_match"
  } >"$rule.new"
  mv "$rule.new" "$rule"
  chmod 0644 "$rule"
  say "udev rule for reader $reader_vendor:$reader_product written to $rule"
elif [ ! -e "$rule" ]; then
  install -m 0644 "$SRC/hardware/99-dorvakt-reader.rules" "$rule"
  say "installed the udev rule template $rule: put in the reader's ids (see the comments in it)"
else
  say "kept $rule"
fi
sys udevadm control --reload-rules
sys udevadm trigger --subsystem-match=tty --action=add

# --- systemd ----------------------------------------------------------------------------------
units=(dorvakt.service)
[ "$with_agent" -eq 1 ] && units+=(dorvakt-nvr-agent.service)
for unit in "${units[@]}"; do
  install -m 0644 "$SRC/systemd/$unit" "$UNIT_DIR/$unit"
done
if [ "$with_agent" -eq 1 ]; then
  install -d -m 0700 "$ROOT/var/lib/dorvakt-nvr-agent"
  sys chown "$USER_NAME":"$USER_NAME" "$ROOT/var/lib/dorvakt-nvr-agent"
  [ -e "$ETC/nvr-agent.yaml" ] || say "write $ETC/nvr-agent.yaml before starting dorvakt-nvr-agent"
fi
sys systemctl daemon-reload
sys systemctl enable "${units[@]}"

if [ "$start" -eq 1 ]; then
  sys runuser -u "$USER_NAME" -- node /opt/dorvakt/dist/cli/dorvakt.js check-config /etc/dorvakt/dorvakt.yaml
  sys systemctl restart "${units[@]}"
  say "started: journalctl -fu dorvakt ; curl -s 127.0.0.1:9105/healthz"
else
  say "enabled (starts at boot). When the config is done:"
  say "  sudo -u $USER_NAME node /opt/dorvakt/dist/cli/dorvakt.js check-config /etc/dorvakt/dorvakt.yaml"
  say "  sudo systemctl start dorvakt && journalctl -fu dorvakt"
fi
