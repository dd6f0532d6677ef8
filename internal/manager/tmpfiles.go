package manager

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/flint-init/flint/internal/logs"
	"github.com/flint-init/flint/internal/tmpfiles"
	"github.com/flint-init/flint/unit"
)

// A system manager on a machine without systemd-tmpfiles applies tmpfiles.d itself, as
// systemd-tmpfiles-setup.service would: `systemd-tmpfiles --create --remove --boot
// --exclude-prefix=/dev` over the host, once, before the boot target starts. The unit
// (unit.Builtin provides it when no unit file does) is then started, a oneshot without a
// command, so that units ordered after it or requiring it find it active. Messages go to
// the unit's log (flint logs -u systemd-tmpfiles-setup.service); a failure also to the
// console.

// tmpfilesSetupPaths are where systemd-tmpfiles-setup.service's command is looked for:
// systemd's default $PATH.
var tmpfilesSetupPaths = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// NeedTmpfilesSetup reports whether no systemd-tmpfiles other than flint itself (under that
// name) is installed, so that a system manager should apply tmpfiles.d at start.
func NeedTmpfilesSetup() bool {
	self, _ := os.Executable()
	selfInfo, _ := os.Stat(self)
	for _, d := range tmpfilesSetupPaths {
		st, err := os.Stat(filepath.Join(d, "systemd-tmpfiles"))
		if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
			continue
		}
		if selfInfo != nil && os.SameFile(st, selfInfo) {
			continue
		}
		return false
	}
	return true
}

// tmpfilesSetup applies the configuration of tmpfiles.d to the host and queues the start of
// the unit. It runs before anything else of the manager
// does work: tmpfiles sets the process umask while it runs.
func (m *Manager) tmpfilesSetup() {
	name := unit.TmpfilesSetupService
	log := func(level tmpfiles.Level, msg string) {
		if level > tmpfiles.LevelInfo {
			return
		}
		m.logs.Append(logs.Line{Unit: name, Stream: "manager", Priority: int(level), Text: msg})
	}
	status := func() (code int) {
		defer func() {
			if r := recover(); r != nil {
				log(tmpfiles.LevelErr, fmt.Sprint("tmpfiles: ", r))
				code = tmpfiles.ExitFailure
			}
		}()
		return tmpfiles.Main(tmpfiles.Options{
			Create: true, Remove: true, Boot: true,
			Exclude: []string{"/dev"},
			Log:     log,
			// The manager's environment ($CREDENTIALS_DIRECTORY, $TMPDIR) is its own, not
			// the service's that systemd would give it.
			Getenv: func(string) string { return "" },
		})
	}()
	switch status {
	case tmpfiles.ExitOK:
	case tmpfiles.ExitDataErr, tmpfiles.ExitCantCreat:
		// SuccessExitStatus=DATAERR CANTCREAT in systemd's unit.
		m.consolef("Some tmpfiles.d lines were not applied (exit status %d); see flint logs -u %s.", status, name)
	default:
		m.consolef("Failed to create system files and directories (exit status %d); see flint logs -u %s.", status, name)
		return
	}
	if u := m.load(name); u.cfg.FragmentPath == "" && u.cfg.LoadState == unit.Loaded {
		m.enqueue("start", u, "replace", nil)
	}
}
