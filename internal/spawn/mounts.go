package spawn

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// Mount is one step of Config.Mounts. With Mkdir the directory Target is made first (mode
// 0755 whatever the umask; one that exists is fine); then mount(2) is called with Source,
// Target, FSType, Flags and Data, unless Source, FSType and Flags are all empty: such a step
// only makes its directory. An empty Source, FSType or Data is passed as NULL.
type Mount struct {
	Source, Target, FSType, Data string
	Flags                        uintptr
	Mkdir                        bool
}

// namespace adds the ops of Config.Mounts: a mount namespace of the child's own, every mount
// in it a slave of the manager's (mounts made in the child never propagate back), then the
// steps in order. The umask is 0 meanwhile (the directories are 0755 as systemd makes them)
// and put back after. Any failure ends the child with 226/NAMESPACE, as systemd's
// exec_child for a namespace it insists on (DynamicUser=).
func (p *program) namespace(c *Config) {
	if len(c.Mounts) == 0 {
		return
	}
	p.add(stepNamespace, StatusNamespace, opSaveResult, syscall.SYS_UMASK, 0)
	p.add(stepNamespace, StatusNamespace, 0, syscall.SYS_UNSHARE, syscall.CLONE_NEWNS)
	p.add(stepNamespace, StatusNamespace, 0, syscall.SYS_MOUNT, 0, p.cstring("/", 0), 0, syscall.MS_REC|syscall.MS_SLAVE, 0)
	for _, m := range c.Mounts {
		target := p.cstring(m.Target, 0)
		if m.Mkdir {
			// An error (EEXIST, or a real one) is left to the mount that follows, or, for a
			// step that only makes the directory, to the mount into it.
			p.add(stepNamespace, StatusNamespace, opIgnoreError, syscall.SYS_MKDIRAT, atFDCWD, target, 0o755)
		}
		if m.Source == "" && m.FSType == "" && m.Flags == 0 {
			continue
		}
		p.add(stepNamespace, StatusNamespace, 0, syscall.SYS_MOUNT,
			p.optString(m.Source), target, p.optString(m.FSType), m.Flags, p.optString(m.Data))
	}
	p.add(stepNamespace, StatusNamespace, opUseSaved, syscall.SYS_UMASK, 0)
}

// optString stores s and returns its offset, or NULL for "".
func (p *program) optString(s string) any {
	if s == "" {
		return 0
	}
	return p.cstring(s, 0)
}

// noNewPrivs adds prctl(PR_SET_NO_NEW_PRIVS) for Config.NoNewPrivs.
func (p *program) noNewPrivs(c *Config) {
	if c.NoNewPrivs {
		p.add(stepNoNewPrivs, StatusNoNewPrivileges, 0, syscall.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
	}
}
