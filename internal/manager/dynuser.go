package manager

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/flint-init/flint/internal/dynuser"
	"github.com/flint-init/flint/internal/spawn"
	"github.com/flint-init/flint/unit"
)

// DynamicUser= (systemd.exec(5)), in a system manager, as systemd 252 does it:
//   - User= (the unit's name when not set; unit.DynamicUserName) and Group= (User= when not
//     set) are allocated before the unit's first command: a name of /etc/passwd (/etc/group)
//     is used as it is, any other gets a uid (and the same gid) from 61184-65519 held by the
//     name, not the unit: units naming the same user share it (internal/dynuser). The
//     allocation is released once the unit is inactive again (or waits for an automatic
//     restart), after RemoveIPC= has cleaned what the ids own.
//   - StateDirectory=, CacheDirectory= and LogsDirectory= live under BASE/private, 0700 root's
//     on the host (execdirs.go); every command of the unit runs in a mount namespace of its
//     own where an empty read-only tmpfs, 0755, replaces BASE/private and holds only the
//     unit's own directories, bound from the host (privateMounts).
//   - The name resolves (getpwuid(), id -un) through user records in /run/userdb, which the
//     nss-systemd module reads (internal/dynuser's userdb.go).
//   - The implied NoNewPrivileges= and RemoveIPC= are enforced; PrivateTmp=, ProtectSystem=,
//     ProtectHome= and RestrictSUIDSGID= are not (docs/compatibility.md).
//
// A user manager cannot allocate users: there DynamicUser= only changes User= and Group=.

// runCreds is what one run of a unit runs as: the dynamic user and group it holds (nil
// without DynamicUser=) and the uid and gid RemoveIPC= cleans after it.
type runCreds struct {
	user, group *dynuser.Entry
	uid, gid    uint32
	known       bool // uid and gid are set: a command was started with them
}

// dynamicUsers returns the manager's allocator of dynamic users, made at the first use: its
// lock files in RUNTIME/dynamic-uid, those a killed manager left removed; the uids of
// systemd's own registry (/run/systemd/dynamic-uid) are skipped.
func (m *Manager) dynamicUsers() (*dynuser.Allocator, error) {
	if m.dynAlloc != nil {
		return m.dynAlloc, nil
	}
	a, err := dynuser.New(filepath.Join(m.opt.RuntimeDir, "dynamic-uid"))
	if err != nil {
		return nil, err
	}
	a.Foreign = []string{"/run/systemd/dynamic-uid"}
	a.UserDB = "/run/userdb"
	a.Vacuum()
	m.dynAlloc = a
	return a, nil
}

// privateStage is the directory where the tmpfs that replaces BASE/private in a unit's mount
// namespace is built (privateMounts): empty, root's, 0700.
func (m *Manager) privateStage() (string, error) {
	p := filepath.Join(m.opt.RuntimeDir, "private-stage")
	if err := os.Mkdir(p, 0o700); err != nil && !os.IsExist(err) {
		return "", err
	}
	return p, nil
}

// unitCreds resolves the user, group and supplementary groups a command of u runs as (nil:
// the manager's), allocating the dynamic user first (DynamicUser=, system manager), and
// notes the ids in u.run for RemoveIPC=.
func (m *Manager) unitCreds(u *Unit, ec *unit.ExecContext, dirs [5]execDir) (*creds, error) {
	if !dirs[0].dynamic { // DynamicUser= does not apply: unset, or a user manager's unit
		cr, err := resolveCreds(ec)
		if err == nil && cr != nil {
			if u.mo().run == nil {
				u.wmore().run = &runCreds{}
			}
			u.mo().run.uid, u.mo().run.gid, u.mo().run.known = cr.uid, cr.gid, true
		}
		return cr, err
	}
	fail := func(err error) error {
		return &spawn.ExecError{Status: spawn.StatusUser, Step: "USER", Err: fmt.Errorf("failed to allocate dynamic user %s: %w", ec.User, err)}
	}
	a, err := m.dynamicUsers()
	if err != nil {
		return nil, fail(err)
	}
	if u.mo().run == nil || u.mo().run.user == nil {
		ue, err := a.Acquire(ec.User)
		if err != nil {
			return nil, fail(err)
		}
		var ge *dynuser.Entry
		if ec.Group != "" && ec.Group != ec.User {
			if ge, err = a.Acquire(ec.Group); err != nil {
				a.Release(ue)
				return nil, fail(err)
			}
		}
		u.wmore().run = &runCreds{user: ue, group: ge}
	}
	// Owners of the unit's directories are tried first, so that they need no chown
	// (systemd's compile_suggested_paths: all but ConfigurationDirectory=).
	var suggested []string
	for _, d := range dirs[:4] {
		for _, n := range d.names {
			if d.private {
				suggested = append(suggested, filepath.Join(d.base, "private", n))
			} else {
				suggested = append(suggested, filepath.Join(d.base, n))
			}
		}
	}
	uid, gid, err := a.Realize(u.mo().run.user, true, suggested)
	if err != nil {
		return nil, fail(err)
	}
	if u.mo().run.group != nil {
		if _, gid, err = a.Realize(u.mo().run.group, false, suggested); err != nil {
			return nil, fail(err)
		}
	}
	u.mo().run.uid, u.mo().run.gid, u.mo().run.known = uid, gid, true
	// initgroups(3) of a dynamic user finds no group naming it as a member: its own gid
	// alone, then SupplementaryGroups=; never the manager's groups.
	cr := &creds{uid: uid, gid: gid, name: ec.User, dynamic: true, initGroups: []uint32{gid}}
	cr.groups, cr.setGroups = []uint32{gid}, true
	for _, g := range ec.SupplementaryGroups {
		n, err := lookupGroup(g)
		if err != nil {
			return nil, &spawn.ExecError{Status: spawn.StatusGroup, Step: "GROUP", Err: err}
		}
		cr.groups = appendNew(cr.groups, n)
	}
	return cr, nil
}

// releaseRunCreds ends u's run as its user: the IPC objects of its uid and gid go
// (RemoveIPC=, unless another unit runs with the same id, or it is root's), then its dynamic
// user and group are released.
func (m *Manager) releaseRunCreds(u *Unit) {
	r := u.mo().run
	u.wmore().run = nil
	if ec := u.execContext(); ec != nil && ec.RemoveIPC && r.known {
		uidUsed, gidUsed := false, false
		for _, v := range m.order {
			if v != u && v.mo().run != nil && v.mo().run.known {
				uidUsed = uidUsed || v.mo().run.uid == r.uid
				gidUsed = gidUsed || v.mo().run.gid == r.gid
			}
		}
		if !uidUsed {
			if err := dynuser.RemoveIPCOfUID(r.uid); err != nil {
				m.logUnit(u, "Failed to remove IPC objects of UID %d: %v", r.uid, err)
			}
		}
		if !gidUsed {
			if err := dynuser.RemoveIPCOfGID(r.gid); err != nil {
				m.logUnit(u, "Failed to remove IPC objects of GID %d: %v", r.gid, err)
			}
		}
	}
	if m.dynAlloc != nil {
		m.dynAlloc.Release(r.user)
		m.dynAlloc.Release(r.group)
	}
}

// tmpfsEmpty is the size of an empty tmpfs that holds only mount points (systemd's
// TMPFS_LIMITS_EMPTY_OR_ALMOST).
const tmpfsEmpty = "mode=755,size=4m,nr_inodes=1k"

// privateMounts are the mounts a command of a DynamicUser= unit runs with (see the top of
// this file): for each BASE/private holding directories of the unit, a tmpfs mounted at stage
// receives them (bound from the host, empty directories made for their parents), is made
// read-only, and is then moved over BASE/private. It is built aside because once
// BASE/private is covered, the host's directories under it are out of reach.
func privateMounts(dirs [5]execDir, stage string) []spawn.Mount {
	var ms []spawn.Mount
	for _, d := range dirs {
		if !d.private || len(d.names) == 0 {
			continue
		}
		private := filepath.Join(d.base, "private")
		ms = append(ms, spawn.Mount{Source: "tmpfs", Target: stage, FSType: "tmpfs",
			Flags: syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_STRICTATIME, Data: tmpfsEmpty})
		for _, n := range d.names {
			parts := strings.Split(n, "/")
			for i := 1; i < len(parts); i++ {
				ms = append(ms, spawn.Mount{Target: filepath.Join(stage, filepath.Join(parts[:i]...)), Mkdir: true})
			}
			ms = append(ms, spawn.Mount{Source: filepath.Join(private, n), Target: filepath.Join(stage, n),
				Flags: syscall.MS_BIND | syscall.MS_REC, Mkdir: true})
		}
		ms = append(ms,
			spawn.Mount{Target: stage, Flags: syscall.MS_REMOUNT | syscall.MS_BIND | syscall.MS_RDONLY |
				syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_STRICTATIME},
			spawn.Mount{Source: stage, Target: private, Flags: syscall.MS_MOVE})
	}
	return ms
}
