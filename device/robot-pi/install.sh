#!/usr/bin/env bash
# Install (or remove) the robot agent as a systemd service on Raspberry Pi OS Bookworm.
#
#   sudo ./install.sh --csr NAME    make this robot's key (it never leaves the Pi) and a
#                                   certificate signing request for `tools.deploy --csr`
#   sudo ./install.sh [--camera|--no-camera] [--bundle NAME.tar.gz]
#                                   install or upgrade (safe to run again)
#   sudo ./install.sh --uninstall   remove the service and the program; keep config and certs
#   sudo ./install.sh --purge       also remove /etc/robot-agent, the state and the user
#
#   --bundle FILE   the robot's bundle from `python -m tools.deploy deploy ... --robot NAME
#                   --csr NAME=NAME.csr` (config.toml and certificate, checked against this Pi's
#                   key), or from the local stack's `--robot NAME` (config.toml alone: its
#                   broker, relay and password): installed (0600, owned by the service user) and
#                   the service is started. Nothing to edit. On a Pi with no camera, video is
#                   turned off in the config (and said so); attach one and run it again.
#   --camera        install the video support (aiortc) on top of Pi OS's own picamera2,
#                   libcamera and numpy; the default when picamera2 is installed or the
#                   config asks for a camera. --no-camera: driving only.
#
# What it does: a system user `robot-agent`; a virtualenv in /opt/robot-agent/venv that sees
# the system's packages (--system-site-packages: picamera2 and numpy come from apt and are
# never replaced by pip; PEP 668 is respected, nothing is pip-installed system-wide); the
# package built from a copy of this folder (nothing is written here); /etc/robot-agent/
# config.toml from config.example.toml (only if absent: your edits stay) or from the bundle;
# /etc/robot-agent/certs (0700, its files 0600); /usr/local/bin/robot-agent (for `robot-agent
# doctor`); the unit robot-agent.service, enabled, and started once the config is filled in.
#
# Overridable for tests and packaging: ROOT (a prefix for every path), SYSTEMCTL, PYTHON, PIP,
# PIP_ARGS, VENV_ARGS, USERADD, USERDEL, CHOWN, APT_GET, PIP_SPEC (what pip installs), OPENSSL,
# CAMERA_PROBE (a command that succeeds when a camera is attached).
set -euo pipefail

ROOT="${ROOT:-}"
SYSTEMCTL="${SYSTEMCTL:-systemctl}"
PYTHON="${PYTHON:-python3}"
USERADD="${USERADD:-useradd}"
USERDEL="${USERDEL:-userdel}"
CHOWN="${CHOWN:-chown}"
APT_GET="${APT_GET:-apt-get}"
VENV_ARGS="${VENV_ARGS:-}"
PIP_ARGS="${PIP_ARGS:-}"
SERVICE_USER="robot-agent"
UNIT="robot-agent.service"
SRC="$(cd "$(dirname "$0")" && pwd)"
CONTRACTS="$(cd "$SRC/../../contracts" 2>/dev/null && pwd || true)"  # shared with the cloud
PREFIX="$ROOT/opt/robot-agent"
VENV="$PREFIX/venv"
ETC="$ROOT/etc/robot-agent"
STATE="$ROOT/var/lib/robot-agent"
UNIT_DIR="$ROOT/etc/systemd/system"
BIN_LINK="$ROOT/usr/local/bin/robot-agent"
PIP="${PIP:-}"
PLACEHOLDER="xxxxxxxxxxxxxx-ats"
BUNDLE_CERTS="certificate.pem.crt AmazonRootCA1.pem"  # never a key: the robot keeps its own
REMAKE="make it again (python -m tools.deploy, or the local stack's --robot)"
OPENSSL="${OPENSSL:-openssl}"
KEY_FILE="private.pem.key"
# what doctor reads to say why video is off (robot_agent/camera/__init__.py, NO_CAMERA)
NO_CAMERA="no camera found on this Pi"

say() { echo "install.sh: $*"; }
die() { echo "install.sh: error: $*" >&2; exit 1; }

has_user() { grep -q "^${SERVICE_USER}:" "$ROOT/etc/passwd" 2>/dev/null; }

WORK=""
cleanup() { if [ -n "$WORK" ]; then rm -rf "$WORK"; fi; }
trap cleanup EXIT

on_a_pi() { grep -qs "Raspberry Pi" "$ROOT/proc/device-tree/model"; }

# --camera given, or picamera2 installed, or the config already asks for a camera.
want_camera() {
  case "$CAMERA" in
    yes) return 0 ;;
    no) return 1 ;;
  esac
  if "$PYTHON" -c "import picamera2" 2>/dev/null; then return 0; fi
  if [ -f "$ETC/config.toml" ] && grep -Eq '^[[:space:]]*driver[[:space:]]*=[[:space:]]*"(aiortc|kvs-c-sdk)"' \
      "$ETC/config.toml"; then return 0; fi
  return 1
}

camera_system_packages() {
  if "$PYTHON" -c "import picamera2" 2>/dev/null; then
    say "using Pi OS's picamera2, libcamera and numpy"
  elif on_a_pi; then
    say "installing python3-picamera2 from apt (Pi OS's libcamera and numpy come with it)"
    "$APT_GET" install -y --no-install-recommends python3-picamera2
  else
    say "not a Raspberry Pi: no picamera2; the v4l2 and test-pattern sources still work"
  fi
}

# The bundle's files, checked before anything is touched: only the expected names, config.toml
# always, and every certificate file its config names (a local stack's bundle names none).
unpack_bundle() {
  local bundle="$1" name allowed="config.toml certs certs/"
  [ -f "$bundle" ] || die "bundle $bundle not found"
  WORK="$(mktemp -d)"
  for name in $BUNDLE_CERTS; do allowed="$allowed certs/$name"; done
  while IFS= read -r name; do
    name="${name#./}"
    case " $allowed " in
      *" $name "*) ;;
      *) die "bundle $bundle holds an unexpected entry '$name'; $REMAKE" ;;
    esac
  done < <(tar -tzf "$bundle" | grep -v '^\.\?/\?$')
  tar -xzf "$bundle" -C "$WORK" --no-same-owner --no-same-permissions
  for name in config.toml $BUNDLE_CERTS; do
    case "$name" in config.toml) ;; *) name="certs/$name" ;; esac
    [ -L "$WORK/$name" ] && die "bundle $bundle: $name is a link; $REMAKE"
  done
  [ -f "$WORK/config.toml" ] || die "bundle $bundle lacks config.toml; $REMAKE"
  for name in $BUNDLE_CERTS; do
    if grep -q "/etc/robot-agent/certs/$name" "$WORK/config.toml" && [ ! -f "$WORK/certs/$name" ]; then
      die "bundle $bundle lacks certs/$name, which its config.toml names; $REMAKE"
    fi
  done
}

# -- the robot's own key: made here, never copied anywhere ---------------------------------------

ensure_user() {
  if has_user; then
    say "user $SERVICE_USER exists"
  else
    say "creating system user $SERVICE_USER"
    "$USERADD" --system --user-group --home-dir /var/lib/robot-agent --no-create-home \
      --shell /usr/sbin/nologin "$SERVICE_USER"
  fi
}

# --csr NAME: an EC P-256 key (0600, the service user's) unless there is one, and its CSR.
make_key_and_csr() {
  local name="$1" key="$ETC/certs/$KEY_FILE" csr="$ETC/certs/$1.csr"
  [[ "$name" =~ ^[A-Za-z0-9_-]{1,122}$ ]] || die "--csr '$name': a robot name is letters, digits, '-' and '_'"
  [ -n "$ROOT" ] || [ "$(id -u)" -eq 0 ] || die "run as root: sudo $0 --csr $name"
  command -v "$OPENSSL" >/dev/null || die "$OPENSSL not found (sudo apt install openssl)"
  ensure_user
  install -d -m 0750 "$ETC"
  install -d -m 0700 "$ETC/certs"
  if [ -f "$key" ]; then
    say "keeping this robot's key $key"
  else
    (umask 077 && "$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key") \
      || die "openssl could not make a key"
    say "made this robot's key $key (it stays on this Pi)"
  fi
  "$OPENSSL" req -new -key "$key" -subj "/CN=$name" -out "$csr" || die "openssl could not make the CSR"
  chmod 0644 "$csr"
  "$CHOWN" "root:$SERVICE_USER" "$ETC"
  "$CHOWN" "$SERVICE_USER:$SERVICE_USER" "$ETC/certs" "$key"
  chmod 0600 "$key"
  say "certificate signing request: $csr (no secret in it)"
  say "copy it to the computer you deploy from, then run there:"
  say "  python -m tools.deploy deploy --stack STACK --region REGION --robot $name --csr $name=$name.csr"
  say "and install the bundle it writes here: sudo $0 --bundle $name.tar.gz"
}

# A bundle whose config uses this Pi's key needs the key here, and its certificate must be for
# that key: both checked before anything changes.
check_bundle_key() {
  local key="$ETC/certs/$KEY_FILE" cert="$WORK/certs/certificate.pem.crt"
  if grep -q "/etc/robot-agent/certs/$KEY_FILE" "$WORK/config.toml" || [ -f "$cert" ]; then
    [ -f "$key" ] || die "this Pi has no key yet: run sudo $0 --csr NAME, deploy with the CSR it makes, then install the new bundle"
  fi
  [ -f "$cert" ] || return 0
  if [ "$("$OPENSSL" x509 -in "$cert" -noout -pubkey 2>/dev/null)" != \
       "$("$OPENSSL" pkey -in "$key" -pubout 2>/dev/null)" ]; then
    die "the bundle's certificate is not for this Pi's key (another robot's, or an older key's): deploy again with this Pi's CSR ($ETC/certs/*.csr)"
  fi
}

# -- video: on, unless this Pi has no camera ------------------------------------------------------

camera_found() {
  if [ -n "${CAMERA_PROBE:-}" ]; then "$CAMERA_PROBE"; return; fi
  local lister
  for lister in rpicam-hello libcamera-hello; do
    if command -v "$lister" >/dev/null 2>&1 && "$lister" --list-cameras 2>/dev/null | grep -Eq '^[0-9]+ : '; then
      return 0
    fi
  done
  # a USB (UVC) camera, for the v4l2 source
  ls -l "$ROOT"/sys/class/video4linux/*/device/driver 2>/dev/null | grep -q uvcvideo
}

video_for_this_pi() {
  local config="$ETC/config.toml"
  on_a_pi && [ -f "$config" ] || return 0
  if grep -q "# install.sh: $NO_CAMERA" "$config"; then
    if camera_found; then
      sed -i -E "s@^([[:space:]]*)driver = \"none\"[[:space:]]*# install.sh: $NO_CAMERA.*\$@\1driver = \"aiortc\"@" "$config"
      say "found a camera: video and the drive channel are on again ([camera] driver = \"aiortc\")"
    else
      say "$NO_CAMERA: video stays off"
    fi
  elif grep -Eq '^[[:space:]]*driver[[:space:]]*=[[:space:]]*"(aiortc|kvs-c-sdk)"' "$config" && ! camera_found; then
    sed -i -E "s@^([[:space:]]*)driver[[:space:]]*=[[:space:]]*\"(aiortc|kvs-c-sdk)\".*\$@\1driver = \"none\"  # install.sh: $NO_CAMERA; video off, the page drives over HTTP@" "$config"
    say "$NO_CAMERA: video is off and the page drives over HTTP; attach a camera and run sudo $0 again"
  fi
}

install_bundle() {
  local name
  if [ -f "$ETC/config.toml" ] && ! cmp -s "$WORK/config.toml" "$ETC/config.toml"; then
    install -m 0640 "$ETC/config.toml" "$ETC/config.toml.bak"
    say "the bundle replaces $ETC/config.toml (the old one is config.toml.bak)"
  fi
  install -m 0640 "$WORK/config.toml" "$ETC/config.toml"
  "$CHOWN" "root:$SERVICE_USER" "$ETC/config.toml"
  for name in $BUNDLE_CERTS; do
    if [ -f "$WORK/certs/$name" ]; then install -m 0600 "$WORK/certs/$name" "$ETC/certs/$name"; fi
  done
  if [ -d "$WORK/certs" ]; then
    say "installed the bundle's config and certificate (for this Pi's own key)"
  else
    say "installed the bundle's config (a local stack's: no certificates)"
  fi
}

install_venv() {
  local extras="pi" lock="$SRC/requirements.lock" numpy build stamp
  if [ -x "$VENV/bin/python" ] && ! grep -qs "include-system-site-packages = true" "$VENV/pyvenv.cfg"; then
    say "recreating $VENV with the system's packages visible"
    rm -rf "$VENV"
  fi
  # With python3-pip installed the venv sees the system's pip (--system-site-packages) and
  # needs none of its own: that saves a slow ensurepip on a small Pi.
  local venv_args="$VENV_ARGS"
  if "$PYTHON" -m pip --version >/dev/null 2>&1; then
    venv_args="--without-pip $venv_args"
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    # shellcheck disable=SC2086  # a list of options
    "$PYTHON" -m venv --system-site-packages $venv_args "$VENV"
  fi
  PIP="${PIP:-$VENV/bin/python -m pip}"
  if want_camera; then
    extras="pi,camera"
    lock="$SRC/requirements-camera.lock"
    camera_system_packages
  fi
  # The same source and extras as last time: nothing to do (pip would rebuild it all).
  stamp="$( (cd "$SRC" && find pyproject.toml ./*.lock robot_agent \
      -name '*.py' -o -name '*.toml' -o -name '*.lock' | LC_ALL=C sort | xargs sha256sum
    cd "$CONTRACTS" && find . -name '*.py' -o -name '*.json' | LC_ALL=C sort | xargs sha256sum) \
    | sha256sum | cut -d' ' -f1)-$extras-${PIP_SPEC:-}"
  if [ -x "$VENV/bin/robot-agent" ] && [ "$(cat "$PREFIX/installed" 2>/dev/null)" = "$stamp" ]; then
    say "the agent [$extras] in $VENV is up to date"
    return
  fi
  # pip builds in the source folder (build/, *.egg-info): build from a copy instead.
  build="$(mktemp -d)"
  cp -R "$SRC/pyproject.toml" "$SRC/robot_agent" "$CONTRACTS" "$build/"
  find "$build" -name __pycache__ -prune -exec rm -rf {} +
  # Never a pip numpy over the system's: picamera2 is built against the apt one.
  : > "$build/constraints.txt"
  if numpy="$("$VENV/bin/python" -c 'import numpy; print(numpy.__version__)' 2>/dev/null)"; then
    echo "numpy==$numpy" > "$build/constraints.txt"
  fi
  say "installing the agent [$extras] into $VENV"
  # Its dependencies exactly as locked (versions and hashes), then the agent itself.
  # shellcheck disable=SC2086  # PIP and PIP_ARGS are lists of words
  if ! { $PIP install --quiet $PIP_ARGS --require-hashes --constraint "$build/constraints.txt" \
           -r "$lock" \
         && $PIP install --quiet --upgrade --no-deps $PIP_ARGS "${PIP_SPEC:-$build[$extras]}"; }; then
    rm -rf "$build"
    die "pip could not install the agent (see above)"
  fi
  rm -rf "$build"
  echo "$stamp" > "$PREFIX/installed"
}

install_agent() {
  local bundle="$1"
  [ -n "$ROOT" ] || [ "$(id -u)" -eq 0 ] || die "run as root: sudo $0"
  command -v "$PYTHON" >/dev/null || die "$PYTHON not found (apt install python3-venv)"
  [ -f "$CONTRACTS/command.schema.json" ] \
    || die "the repository's contracts/ folder is missing: run this from a clone of the repository"
  if [ -n "$bundle" ]; then unpack_bundle "$bundle"; check_bundle_key; fi

  ensure_user

  install -d -m 0755 "$PREFIX" "$UNIT_DIR" "$(dirname "$BIN_LINK")"
  install -d -m 0750 "$ETC"
  install -d -m 0700 "$ETC/certs"
  "$CHOWN" "root:$SERVICE_USER" "$ETC"

  if [ -n "$bundle" ]; then
    install_bundle
  elif [ -f "$ETC/config.toml" ]; then
    say "keeping $ETC/config.toml"
  else
    install -m 0640 "$SRC/config.example.toml" "$ETC/config.toml"
    "$CHOWN" "root:$SERVICE_USER" "$ETC/config.toml"
    say "wrote $ETC/config.toml (fill in name and [mqtt], or use --bundle)"
  fi
  video_for_this_pi
  # Key material: readable by the agent only, whatever mode it was copied with.
  "$CHOWN" "$SERVICE_USER:$SERVICE_USER" "$ETC/certs"
  find "$ETC/certs" -type f -exec chmod 0600 {} + -exec "$CHOWN" "$SERVICE_USER:$SERVICE_USER" {} +

  install_venv
  install -m 0644 "$SRC/README.md" "$PREFIX/README.md"
  ln -sfn /opt/robot-agent/venv/bin/robot-agent "$BIN_LINK"

  install -m 0644 "$SRC/$UNIT" "$UNIT_DIR/$UNIT"
  "$SYSTEMCTL" daemon-reload
  "$SYSTEMCTL" enable "$UNIT"
  if grep -q "$PLACEHOLDER" "$ETC/config.toml"; then
    say "enabled $UNIT; edit $ETC/config.toml and copy your certificates into $ETC/certs"
    say "(or run: sudo $0 --bundle NAME.tar.gz), then: sudo robot-agent doctor"
  else
    "$SYSTEMCTL" restart "$UNIT"
    say "enabled and started $UNIT; check it with: sudo robot-agent doctor"
    say "log: journalctl -u robot-agent -f"
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
  if [ -L "$BIN_LINK" ]; then rm -f "$BIN_LINK"; fi
  if [ "$purge" = yes ]; then
    rm -rf "$ETC" "$STATE"
    if has_user; then "$USERDEL" "$SERVICE_USER"; fi
    say "removed the agent, its configuration, certificates, state and user"
  else
    say "removed the agent; kept $ETC (config and certificates; --purge removes them)"
  fi
}

ACTION=install
CAMERA=auto
BUNDLE=""
CSR_NAME=""
while [ $# -gt 0 ]; do
  case "$1" in
    --uninstall) ACTION=uninstall ;;
    --purge) ACTION=purge ;;
    --camera) CAMERA=yes ;;
    --no-camera) CAMERA=no ;;
    --bundle)
      [ $# -ge 2 ] || die "--bundle needs a file: --bundle NAME.tar.gz"
      BUNDLE="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
      shift ;;
    --bundle=*) BUNDLE="${1#--bundle=}" ;;
    --csr)
      [ $# -ge 2 ] || die "--csr needs the robot's name: --csr NAME"
      ACTION=csr
      CSR_NAME="$2"
      shift ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done

case "$ACTION" in
  install) install_agent "$BUNDLE" ;;
  csr) make_key_and_csr "$CSR_NAME" ;;
  uninstall) uninstall_agent no ;;
  purge) uninstall_agent yes ;;
esac
