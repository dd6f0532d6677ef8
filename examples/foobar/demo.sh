#!/usr/bin/env bash
# The seed example, end to end: flint holds /run/foobar.sk, the first connection starts foobard.
#
#   bash examples/foobar/demo.sh [--go]     (as root; --go uses the Go server instead of server.c)
#
# Builds bin/flint, bin/foobard (server.c, or goserver with --go) and bin/foobar-client, installs
# the server as /usr/local/bin/foobard (the path foobar.service names), writes
# foobar.socket/foobar.service into a temporary unit directory, enables the socket, runs `flint
# run` in the background, shows that the socket exists while no foobard runs, talks to it with
# the client, shows `flint status foobar.service`, and stops flint with SIGTERM. Exits non-zero
# if any step failed.
#
# What it puts on the machine outside the checkout, it takes away when it exits (also when a
# step fails or it is interrupted): /usr/local/bin/foobard is removed, or, if a file was there
# before, put back as it was; the socket /run/foobar.sk is removed unless it was there before;
# the temporary directory goes unless a step failed (it then holds flint run's output). Left:
# the built binaries in bin/ and, when it had to install them, the Debian packages.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1
server=c
[ "${1:-}" = "--go" ] && server=go

failed=0
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { printf '\033[31mFAILED: %s\033[0m\n' "$*"; failed=$((failed + 1)); }
must() { "$@" || { fail "$*"; finish; }; }

installed=/usr/local/bin/foobard
sock=/run/foobar.sk

[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (it installs $installed for the demo and uses /run)" >&2; exit 1; }

work=$(mktemp -d /tmp/foobar-demo.XXXXXX)
units=$work/units
control=$work/control.sock
flint_pid=
# What was there before the demo, to be put back by cleanup.
had_installed=0
if [ -e "$installed" ] || [ -L "$installed" ]; then
  had_installed=1
  cp -a "$installed" "$work/foobard.before" || { echo "demo.sh: cannot keep a copy of $installed" >&2; exit 1; }
fi
had_sock=0
if [ -e "$sock" ] || [ -L "$sock" ]; then had_sock=1; fi

# cleanup stops flint if it still runs and takes away what the demo put outside the checkout;
# finish runs it before the last line, the EXIT trap at any other exit (^C, a failed step).
cleaned=0
cleanup() {
  [ "$cleaned" -eq 1 ] && return
  cleaned=1
  if [ -n "$flint_pid" ] && kill -0 "$flint_pid" 2>/dev/null; then
    kill -TERM "$flint_pid" 2>/dev/null; sleep 1; kill -KILL "$flint_pid" 2>/dev/null
  fi
  if [ "$had_installed" -eq 1 ]; then
    rm -f "$installed" && cp -a "$work/foobard.before" "$installed" && echo "demo: put the earlier $installed back"
  elif [ -e "$installed" ]; then
    rm -f "$installed" && echo "demo: removed $installed"
  fi
  if [ "$had_sock" -eq 0 ] && [ -e "$sock" ]; then rm -f "$sock"; fi
  if [ "$failed" -eq 0 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

finish() {
  cleanup
  if [ "$failed" -eq 0 ]; then
    say "demo OK"; exit 0
  fi
  say "demo FAILED ($failed step(s))"
  if [ -s "$work/flint.log" ]; then echo "flint run's output: $work/flint.log"; fi
  exit 1
}

# A fresh Debian 12 lacks the compiler, libsystemd's header and even pgrep (procps).
need=()
command -v pgrep >/dev/null || need+=(procps)
if [ "$server" = c ]; then
  command -v gcc >/dev/null || need+=(gcc libc6-dev)
  [ -e /usr/include/systemd/sd-daemon.h ] || need+=(libsystemd-dev)
fi
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  must apt-get update -qq
  must env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
command -v go >/dev/null || { echo "demo.sh: go (1.26) is not on PATH" >&2; exit 1; }

say "build flint, the server ($server) and the client"
mkdir -p bin
must env CGO_ENABLED=0 go build -o bin/flint ./cmd/flint
must go build -o bin/foobar-client ./examples/foobar/client
if [ "$server" = c ]; then
  must gcc -O2 -o bin/foobard examples/foobar/server.c -lsystemd
else
  must go build -o bin/foobard ./examples/foobar/goserver
fi
say "install the server as $installed (removed again when the demo ends)"
must install -m 0755 bin/foobard "$installed"

say "unit files ($units)"
mkdir -p "$units"
cp examples/foobar/foobar.socket examples/foobar/foobar.service "$units/"
cat "$units/foobar.socket" "$units/foobar.service"

say "flint --units $units enable foobar.socket"
must bin/flint --units "$units" enable foobar.socket
ls -l "$units/sockets.target.wants/" || fail "no sockets.target.wants/ after enable"

# --no-booted: the demo leaves the machine's /run/systemd/system (sd_booted()) as it is.
say "flint run --no-booted --units $units --control $control &"
if pgrep -a -x foobard; then # a leftover would make the checks below lie
  fail "a foobard process already runs (not started by this demo): stop it first"; finish
fi
bin/flint run --no-booted --no-journal-sockets --units "$units" --control "$control" >"$work/flint.log" 2>&1 &
flint_pid=$!
for _ in $(seq 100); do
  [ -S /run/foobar.sk ] && [ -S "$control" ] && break
  kill -0 "$flint_pid" 2>/dev/null || break
  sleep 0.1
done
if ! kill -0 "$flint_pid" 2>/dev/null; then
  fail "flint run exited early:"; cat "$work/flint.log"; flint_pid=; finish
fi

say "the socket exists, and no foobard runs yet"
ls -l /run/foobar.sk || fail "/run/foobar.sk does not exist"
if pgrep -a -x foobard; then fail "foobard runs before any connection"; else echo "(no foobard process)"; fi

say "connect: the first connection starts foobard"
printf 'hello, flint\nsecond line\n' | bin/foobar-client -socket /run/foobar.sk || fail "echo through /run/foobar.sk"
echo "again" | bin/foobar-client -socket /run/foobar.sk || fail "second connection"
pgrep -a -x foobard || fail "no foobard process after the connection"

say "flint status foobar.service"
bin/flint --control "$control" status foobar.service | tee "$work/status.txt"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || fail "flint status exited $rc (want 0: active)"
grep -Eq 'TriggeredBy:.*foobar\.socket' "$work/status.txt" || fail "status does not say TriggeredBy: foobar.socket"

say "SIGTERM to flint (pid $flint_pid)"
kill -TERM "$flint_pid"
rc=0
for _ in $(seq 150); do kill -0 "$flint_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$flint_pid" 2>/dev/null; then
  fail "flint still running 15s after SIGTERM"
else
  wait "$flint_pid"; rc=$?
  [ "$rc" -eq 0 ] || fail "flint exited $rc after SIGTERM (want 0)"
  echo "flint exited $rc"
fi
flint_pid=
if pgrep -a -x foobard; then fail "foobard still runs after flint stopped"; fi
finish
