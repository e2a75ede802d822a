#!/usr/bin/env bash
# Installs wirecam as a systemd service: the built package under /opt/wirecam (production
# dependencies only), the unit, /etc/wirecam/env from the example; then enables and starts it.
# Running it again upgrades in place (the running service is restarted); /etc/wirecam/env is
# never overwritten. --uninstall removes the package and the unit, and keeps /etc/wirecam/env
# and the data in /var/lib/wirecam.
#
#   npm ci && npm run build && sudo scripts/install-service.sh
#   sudo scripts/install-service.sh --uninstall
#
# DESTDIR=/some/root installs into that root instead of / (packaging, tests). systemctl is not
# run then, nor where it is missing or systemd is not running.
set -euo pipefail

say() { echo "install-service: $*"; }
fail() {
  echo "install-service: $*" >&2
  exit 1
}
usage() { echo "usage: scripts/install-service.sh [--uninstall]   (env: DESTDIR=root, NODE=/path/to/node)"; }

action=install
if (($# > 1)); then
  echo "install-service: too many arguments; $(usage)" >&2
  exit 2
fi
case "${1:-}" in
  '') ;;
  --uninstall) action=uninstall ;;
  -h | --help)
    usage
    exit 0
    ;;
  *)
    echo "install-service: unknown argument \"$1\"; $(usage)" >&2
    exit 2
    ;;
esac

root="${DESTDIR:-}"
root="${root%/}"
source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
app="$root/opt/wirecam"
unit="$root/etc/systemd/system/wirecam.service"
etc="$root/etc/wirecam"
service=wirecam.service

# Only on the live system, with systemd actually running (not in a chroot or a container).
use_systemctl() { [[ -z "$root" ]] && command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; }

install_package() {
  [[ -f "$source_dir/dist/src/cli.js" ]] || fail "no build in $source_dir/dist: run npm ci && npm run build first"
  [[ -d "$source_dir/node_modules" ]] || fail "no node_modules in $source_dir: run npm ci first"
  command -v npm >/dev/null 2>&1 || fail "npm not found in PATH (needed to drop development dependencies)"

  # Built beside the target, then swapped in: a failed copy leaves the installed version alone.
  local staging="$app.new.$$"
  trap 'rm -rf "$staging"' EXIT
  mkdir -p "$staging"
  # cp -R, not -a: files belong to root, not to whoever owns the checkout.
  cp -R "$source_dir/dist" "$source_dir/node_modules" "$source_dir/service" \
    "$source_dir/package.json" "$source_dir/package-lock.json" "$source_dir/README.md" "$staging/"
  (cd "$staging" && npm prune --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null)
  find "$staging/node_modules" -mindepth 1 -maxdepth 1 -type d -empty -delete
  chmod -R u+rwX,go+rX,go-w "$staging"
  if [[ -e "$app" ]]; then
    mv "$app" "$app.old.$$"
    mv "$staging" "$app"
    rm -rf "$app.old.$$"
  else
    mv "$staging" "$app"
  fi
  trap - EXIT
  say "installed $app"
}

install_unit() {
  # The unit says /usr/bin/node; point it at the node this machine has.
  local node="${NODE:-$(command -v node || true)}"
  [[ -n "$node" ]] || fail "node not found in PATH (set NODE=/path/to/node)"
  case "$node" in
    /home/* | /root/*) say "warning: $node is under a home directory, which ProtectHome=yes hides from the service; install Node.js system-wide" ;;
  esac
  mkdir -p "$(dirname "$unit")"
  sed "s#^ExecStart=/usr/bin/node #ExecStart=$node #" "$source_dir/service/wirecam.service" >"$unit.tmp"
  chmod 0644 "$unit.tmp"
  mv "$unit.tmp" "$unit"
  say "installed $unit"

  mkdir -p "$etc"
  chmod 0755 "$etc"
  install -m 0644 "$source_dir/service/wirecam.env.example" "$etc/env.example"
  if [[ -e "$etc/env" ]]; then
    say "kept $etc/env"
  else
    # 0640: it may hold the producer token.
    install -m 0640 "$source_dir/service/wirecam.env.example" "$etc/env"
    say "created $etc/env (edit it, then: systemctl restart wirecam)"
  fi
}

start_service() {
  if ! use_systemctl; then
    say "not running systemctl (DESTDIR set, or no systemd here); on the target: systemctl daemon-reload && systemctl enable --now $service"
    return
  fi
  systemctl daemon-reload
  systemctl enable "$service"
  if systemctl is-active --quiet "$service"; then
    systemctl restart "$service"
    say "restarted $service"
  else
    systemctl start "$service"
    say "started $service"
  fi
}

uninstall() {
  if use_systemctl; then
    systemctl disable --now "$service" 2>/dev/null || true
  fi
  rm -f "$unit" "$etc/env.example"
  rm -rf "$app"
  if use_systemctl; then
    systemctl daemon-reload
    systemctl reset-failed "$service" 2>/dev/null || true
  fi
  say "removed $app and $unit; kept $etc/env (settings) and /var/lib/wirecam (data)"
}

if [[ "$action" == install ]]; then
  install_package
  install_unit
  start_service
else
  uninstall
fi
