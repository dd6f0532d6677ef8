package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Multi-call: installed as `systemctl` (a symlink to flint), flint takes systemctl's command
// line, so that scripts, container builds (`RUN systemctl enable foo.socket`) and
// configuration tools drive it as they drive systemd. Offline verbs (enable, disable, mask,
// cat, ...) work without a manager; verbs that need one fail, saying where they looked,
// unless flint runs in a chroot, where systemctl ignores them (ignoredOffline).

// versionString is what --version prints: a first line in systemd's form, "systemd 252
// (flint)", which the scripts that check the version (deb-systemd-invoke, `systemctl
// --version | head -1 | awk '{print $2}'`) read as systemd 252, then what flint is.
const versionString = "systemd 252 (flint)\nflint: systemd 252 compatible (systemctl, journalctl, systemd-analyze, systemd-notify, systemd-socket-activate, systemd-tmpfiles)"

// invokedAs is the program name used in messages ("See \"flint status foo.service\"").
var invokedAs = "flint"

func progName() string { return invokedAs }

// logsCommand is the command line that shows the log of unit ("" for all units) in the
// hints of failed jobs: journalctl's, as systemctl prints it, when flint runs as systemctl
// (installed under both names); flint's own otherwise.
func logsCommand(unit string) string {
	switch {
	case invokedAs == "systemctl" && unit == "":
		return "journalctl -xe"
	case invokedAs == "systemctl":
		return "journalctl -xeu " + unit
	case unit == "":
		return "flint logs"
	}
	return "flint logs -u " + unit
}

// ignoredOffline is systemctl's running_in_chroot_or_offline: with $SYSTEMD_OFFLINE=1, or
// in a chroot (the root directory is not PID 1's, unless $SYSTEMD_IGNORE_CHROOT is set),
// systemctl ignores the verbs that need a manager and exits 0. A container build (docker
// build, podman build) is no chroot: its processes share the root of the container's PID 1.
func ignoredOffline() bool {
	if b, ok := parseBool(os.Getenv("SYSTEMD_OFFLINE")); ok {
		return b
	}
	if os.Getenv("SYSTEMD_IGNORE_CHROOT") != "" {
		return false
	}
	var root, pid1 unix.Stat_t
	if unix.Stat("/", &root) != nil || unix.Stat("/proc/1/root", &pid1) != nil {
		return false // as systemd: not knowing is no chroot
	}
	return root.Dev != pid1.Dev || root.Ino != pid1.Ino
}

// noManagerMessage says that no manager answers, and where flint looked.
func noManagerMessage(control string) string {
	return fmt.Sprintf("No flint manager is running: nothing answers on %s.\n"+
		"Start one with 'flint run', or name its control socket with --control=PATH or $FLINT_CONTROL.", control)
}
