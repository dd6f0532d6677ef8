package spawn

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Keyring is systemd's setup_keyring(), done on every spawn path (KeyringMode=private or
// shared; inherit is a nil Keyring): the child joins a new session keyring of its own,
// created while its real ids are the unit's user's so that the keyring is theirs; with
// Shared the user's keyring is linked in; the invocation ID is added as the "user" key
// "invocation_id". A kernel without keyrings, or one refusing them (ENOSYS, EPERM, EACCES,
// EDQUOT), leaves the manager's session keyring, as systemd: then no key is added.
type Keyring struct {
	Shared       bool
	UID, GID     int    // the unit's user (-1: the manager's)
	InvocationID []byte // 16 bytes, or none
}

// StatusKeyring is systemd's 237/KEYRING.
const StatusKeyring = 237

// keyring compiles c.Keyring. The ids switched for the join are switched back after it
// (twice on success: the restoring ops follow the join's skip target too, so that a
// tolerated failure also ends as root).
func (p *program) keyring(c *Config) {
	k := c.Keyring
	if k == nil {
		return
	}
	step := int(sandboxStepID("keyctl"))
	ruid, rgid := os.Getuid(), os.Getgid()
	var switchOps, restoreOps [][2]int
	if k.GID >= 0 && k.GID != rgid {
		switchOps = append(switchOps, [2]int{syscall.SYS_SETREGID, k.GID})
		restoreOps = append(restoreOps, [2]int{syscall.SYS_SETREGID, rgid})
	}
	if k.UID >= 0 && k.UID != ruid {
		switchOps = append(switchOps, [2]int{syscall.SYS_SETREUID, k.UID})
		restoreOps = append([][2]int{{syscall.SYS_SETREUID, ruid}}, restoreOps...)
	}
	for _, o := range switchOps {
		p.add(step, StatusKeyring, 0, uintptr(o[0]), o[1], -1)
	}
	skip := len(restoreOps)
	if k.Shared {
		skip++
	}
	if len(k.InvocationID) == 16 {
		skip += 2
	}
	p.add(step, StatusKeyring, tolerate(skip, syscall.ENOSYS, syscall.EPERM, syscall.EACCES, syscall.EDQUOT),
		unix.SYS_KEYCTL, unix.KEYCTL_JOIN_SESSION_KEYRING, 0)
	if k.Shared {
		p.add(step, StatusKeyring, 0, unix.SYS_KEYCTL, unix.KEYCTL_LINK, unix.KEY_SPEC_USER_KEYRING, unix.KEY_SPEC_SESSION_KEYRING)
	}
	for _, o := range restoreOps {
		p.add(step, StatusKeyring, 0, uintptr(o[0]), o[1], -1)
	}
	if len(k.InvocationID) == 16 {
		// A key the kernel refuses is left out (systemd logs it and goes on); one it took
		// gets its permissions or the start fails.
		p.add(step, StatusKeyring, opSaveResult|tolerate(1, syscall.EDQUOT, syscall.EACCES, syscall.EPERM, syscall.ENOMEM),
			unix.SYS_ADD_KEY, p.cstring("user", 0), p.cstring("invocation_id", 0), p.bytesData(k.InvocationID), 16,
			unix.KEY_SPEC_SESSION_KEYRING)
		const perm = 0x01000000 | 0x02000000 | 0x08000000 | 0x010000 | 0x020000 | 0x080000 // KEY_{POS,USR}_{VIEW,READ,SEARCH}
		p.add(step, StatusKeyring, opUseSaved1, unix.SYS_KEYCTL, unix.KEYCTL_SETPERM, 0, perm)
	}
	for _, o := range restoreOps {
		p.add(step, StatusKeyring, 0, uintptr(o[0]), o[1], -1)
	}
}
