#!/usr/bin/env bash
# Install (or remove) the robot agent as a systemd service on Raspberry Pi OS Bookworm.
#
#   sudo ./install.sh               install or upgrade (safe to run again)
#   sudo ./install.sh --uninstall   remove the service and the program; keep config and certs
#   sudo ./install.sh --purge       also remove /etc/robot-agent and the robot-agent user
#
# What it does: a system user `robot-agent`; a virtualenv in /opt/robot-agent/venv with this
# package; /etc/robot-agent/config.toml from config.example.toml (only if absent: your edits
# stay); /etc/robot-agent/certs (0700, its files 0600) for the AWS IoT certificate and key; the
# unit robot-agent.service, enabled and started (started once config.toml is filled in).
#
# Overridable for tests and packaging: ROOT (a prefix for every path), SYSTEMCTL, PYTHON, PIP,
# VENV_ARGS, USERADD, USERDEL, CHOWN, PIP_SPEC (what pip installs).
set -euo pipefail

ROOT="${ROOT:-}"
SYSTEMCTL="${SYSTEMCTL:-systemctl}"
PYTHON="${PYTHON:-python3}"
USERADD="${USERADD:-useradd}"
USERDEL="${USERDEL:-userdel}"
CHOWN="${CHOWN:-chown}"
VENV_ARGS="${VENV_ARGS:-}"
SERVICE_USER="robot-agent"
UNIT="robot-agent.service"
SRC="$(cd "$(dirname "$0")" && pwd)"
PREFIX="$ROOT/opt/robot-agent"
VENV="$PREFIX/venv"
ETC="$ROOT/etc/robot-agent"
UNIT_DIR="$ROOT/etc/systemd/system"
PIP="${PIP:-$VENV/bin/pip}"
PIP_SPEC="${PIP_SPEC:-$SRC[pi]}"
PLACEHOLDER="xxxxxxxxxxxxxx-ats"

say() { echo "install.sh: $*"; }
die() { echo "install.sh: error: $*" >&2; exit 1; }

has_user() { grep -q "^${SERVICE_USER}:" "$ROOT/etc/passwd" 2>/dev/null; }

install_agent() {
  [ -n "$ROOT" ] || [ "$(id -u)" -eq 0 ] || die "run as root: sudo $0"
  command -v "$PYTHON" >/dev/null || die "$PYTHON not found (apt install python3-venv)"

  if has_user; then
    say "user $SERVICE_USER exists"
  else
    say "creating system user $SERVICE_USER"
    "$USERADD" --system --user-group --home-dir /var/lib/robot-agent --no-create-home \
      --shell /usr/sbin/nologin "$SERVICE_USER"
  fi

  install -d -m 0755 "$PREFIX" "$UNIT_DIR"
  install -d -m 0750 "$ETC"
  install -d -m 0700 "$ETC/certs"
  "$CHOWN" "root:$SERVICE_USER" "$ETC"
  "$CHOWN" "$SERVICE_USER:$SERVICE_USER" "$ETC/certs"
  # Key material: readable by the agent only, whatever mode it was copied with.
  find "$ETC/certs" -type f -exec chmod 0600 {} + -exec "$CHOWN" "$SERVICE_USER:$SERVICE_USER" {} +

  if [ -f "$ETC/config.toml" ]; then
    say "keeping $ETC/config.toml"
  else
    install -m 0640 "$SRC/config.example.toml" "$ETC/config.toml"
    "$CHOWN" "root:$SERVICE_USER" "$ETC/config.toml"
    say "wrote $ETC/config.toml (fill in name and [mqtt])"
  fi

  if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    # shellcheck disable=SC2086  # VENV_ARGS is a list of options
    "$PYTHON" -m venv $VENV_ARGS "$VENV"
  fi
  say "installing the agent into $VENV"
  "$PIP" install --quiet --upgrade "$PIP_SPEC"
  install -m 0644 "$SRC/README.md" "$PREFIX/README.md"

  install -m 0644 "$SRC/$UNIT" "$UNIT_DIR/$UNIT"
  "$SYSTEMCTL" daemon-reload
  if grep -q "$PLACEHOLDER" "$ETC/config.toml"; then
    "$SYSTEMCTL" enable "$UNIT"
    say "enabled $UNIT; edit $ETC/config.toml, copy your certificates into $ETC/certs,"
    say "then run: sudo $0   (or: sudo systemctl restart robot-agent)"
  else
    "$SYSTEMCTL" enable "$UNIT"
    "$SYSTEMCTL" restart "$UNIT"
    say "enabled and started $UNIT (journalctl -u robot-agent -f)"
  fi
}

uninstall_agent() {
  local purge="$1"
  [ -n "$ROOT" ] || [ "$(id -u)" -eq 0 ] || die "run as root: sudo $0 --uninstall"
  if [ -f "$UNIT_DIR/$UNIT" ]; then
    "$SYSTEMCTL" disable --now "$UNIT" || true
    rm -f "$UNIT_DIR/$UNIT"
    "$SYSTEMCTL" daemon-reload
  fi
  rm -rf "$PREFIX"
  if [ "$purge" = yes ]; then
    rm -rf "$ETC"
    if has_user; then "$USERDEL" "$SERVICE_USER"; fi
    say "removed the agent, its configuration, certificates and user"
  else
    say "removed the agent; kept $ETC (config and certificates; --purge removes them)"
  fi
}

case "${1:-}" in
  "") install_agent ;;
  --uninstall) uninstall_agent no ;;
  --purge) uninstall_agent yes ;;
  -h|--help) sed -n '2,16p' "$0" ;;
  *) die "unknown option ${1} (use --uninstall, --purge or --help)" ;;
esac
