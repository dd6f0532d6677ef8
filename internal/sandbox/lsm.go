package sandbox

import (
	"os"
	"strings"
	"syscall"
)

// Security labels: SELinuxContext=, AppArmorProfile= and SmackProcessLabel=, each applied
// as systemd 252's exec_child applies it when its security module is enabled, and skipped
// (Compile leaves it out) when the module is not, as systemd skips it. A value with the
// "-" prefix may fail.

// Exit statuses of the labels (systemd's exit-status.h).
const (
	StatusSELinuxContext    = 229
	StatusAppArmorProfile   = 231
	StatusSmackProcessLabel = 236
)

// Where the labels are written, and where the modules show that they are enabled;
// variables for the tests.
var (
	selinuxExecAttr   = "/proc/thread-self/attr/exec" // setexeccon(3)
	apparmorExecAttrs = []string{"/proc/thread-self/attr/apparmor/exec", "/proc/thread-self/attr/exec"}
	smackCurrentAttr  = "/proc/self/attr/current" // mac_smack_apply_pid(0, ...)

	selinuxEnabled  = func() bool { return exists("/sys/fs/selinux/enforce") }
	apparmorEnabled = func() bool {
		b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
		return err == nil && strings.TrimSpace(string(b)) == "Y"
	}
	smackEnabled = func() bool { return exists("/sys/fs/smackfs") }
)

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Label is one label to write: the value without its "-" prefix, and whether a failure
// is ignored.
type Label struct {
	Value  string
	Ignore bool
}

// label is the Label of a setting's value when its module is enabled, else nil.
func label(v string, enabled func() bool) *Label {
	ignore := strings.HasPrefix(v, "-")
	v = strings.TrimPrefix(v, "-")
	if v == "" || !enabled() {
		return nil
	}
	return &Label{Value: v, Ignore: ignore}
}

// writeAttr writes s to an attribute file of the process's own.
func writeAttr(path, s string) syscall.Errno {
	fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return errnoOf(err)
	}
	defer syscall.Close(fd)
	if _, err := syscall.Write(fd, []byte(s)); err != nil {
		return errnoOf(err)
	}
	return 0
}

// applySmack is setup_smack(): the process's own label, before the bounding set goes
// (writing it needs CAP_MAC_ADMIN).
func applySmack(s *Spec) *StageError {
	if l := s.Smack; l != nil {
		if e := writeAttr(smackCurrentAttr, l.Value); e != 0 && !l.Ignore {
			return &StageError{StatusSmackProcessLabel, "smack", e}
		}
	}
	return nil
}

// applyExecLabels sets the SELinux context and the AppArmor profile the execve will
// switch to: setexeccon(3), aa_change_onexec(3).
func applyExecLabels(s *Spec) *StageError {
	if l := s.SELinux; l != nil {
		if e := writeAttr(selinuxExecAttr, l.Value); e != 0 && !l.Ignore {
			return &StageError{StatusSELinuxContext, "selinux", e}
		}
	}
	if l := s.AppArmor; l != nil {
		e := syscall.ENOENT
		for _, p := range apparmorExecAttrs {
			if e = writeAttr(p, "exec "+l.Value); e != syscall.ENOENT {
				break
			}
		}
		if e != 0 && !l.Ignore {
			return &StageError{StatusAppArmorProfile, "apparmor", e}
		}
	}
	return nil
}

// LabelModule names the security module of a label directive (SELinuxContext=,
// AppArmorProfile=, SmackProcessLabel=) and whether it is enabled on this machine; ok is
// false for any other directive.
func LabelModule(directive string) (module string, enabled, ok bool) {
	switch directive {
	case "SELinuxContext":
		return "SELinux", selinuxEnabled(), true
	case "AppArmorProfile":
		return "AppArmor", apparmorEnabled(), true
	case "SmackProcessLabel":
		return "SMACK", smackEnabled(), true
	}
	return "", false, false
}
