// Package dynuser allocates the users of DynamicUser=yes units as systemd 252 does
// (src/core/dynamic-user.c): a uid/gid pair from 61184-65519 per user name, the first
// candidate derived from the name's hash, locked in a directory of lock files for as long as
// a unit uses the name, so that no two names get one uid while both are in use — across
// managers too, and after a manager was killed. It also finds and removes the IPC objects of
// a uid or gid (RemoveIPC=, ipc.go) and publishes the allocated names as JSON user records
// for nss-systemd (userdb.go).
//
// The package keeps no goroutines and no locks of its own: an Allocator belongs to one
// goroutine (the manager's loop).
package dynuser

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/internal/siphash"
	"github.com/flint-init/flint/unit"
)

// The range systemd 252 allocates dynamic users from (its build's dynamic-uid-min/max).
const (
	MinUID = 61184
	MaxUID = 65519
)

// IsDynamic reports whether uid is in the dynamic range.
func IsDynamic(uid uint32) bool { return uid >= MinUID && uid <= MaxUID }

// hashKey is the key systemd hashes a user name with to pick its first uid (pick_uid).
var hashKey = [16]byte{0x37, 0x53, 0x7e, 0x31, 0xcf, 0xce, 0x48, 0xf5, 0x8a, 0xbb, 0x39, 0x57, 0x8d, 0xd9, 0xec, 0x59}

// HashedUID is the first uid tried for name when no directory suggests one: systemd's
// UID_CLAMP_INTO_RANGE(siphash24(name)), which keeps the low 32 bits of the hash.
func HashedUID(name string) uint32 {
	return clamp(uint32(siphash.Sum64(hashKey, []byte(name))))
}

func clamp(r uint32) uint32 { return r%(MaxUID-MinUID+1) + MinUID }

// maxTries bounds the candidates tried for one name, as systemd's pick_uid (which counts
// from 100 down and stops before 0).
const maxTries = 99

// ErrNameTaken is returned when the name is a static group but not a static user (or, for a
// group, a static user but not a static group): systemd refuses to allocate then.
var ErrNameTaken = errors.New("user or group with specified name already exists")

// ErrNoUID is returned when every candidate tried was taken.
var ErrNoUID = errors.New("no free dynamic uid found")

// Allocator hands out dynamic users. The zero value is not usable: see New.
type Allocator struct {
	dir string // lock files, one per allocated uid: DIR/UID holding "NAME\n", locked (flock)
	// UserDB, when not "", is the directory of JSON user and group records written for each
	// allocated name (userdb.go); "" writes none.
	UserDB string
	// Passwd and Group are the static user and group databases (/etc/passwd, /etc/group).
	Passwd, Group string
	// Foreign are lock directories of other allocators, whose uids are skipped (systemd's
	// /run/systemd/dynamic-uid).
	Foreign []string
	// IPCInUse says whether a uid or gid owns IPC objects (FindIPC); candidates that do are
	// skipped.
	IPCInUse func(uid, gid uint32) bool
	// Rand draws the candidates tried after the suggested and the hashed ones.
	Rand func() uint32

	names map[string]*Entry
}

// Entry is one name in use: a user name, or a group name that differs from the user's.
type Entry struct {
	Name string
	refs int
	// realized once a uid (or gid) was found; static when it is that of a user or group of
	// the static databases (no lock then), dynamic otherwise.
	realized bool
	static   bool
	id       uint32   // the uid (a group entry: the gid)
	gid      uint32   // a user entry: its gid (a static user's primary group, else id)
	lock     *os.File // the lock file of a dynamic id, held open (and flock'ed) while in use
	records  []string // the userdb files written for it
}

// New returns an allocator keeping its lock files in dir (created 0755 when missing).
func New(dir string) (*Allocator, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("dynamic users: %w", err)
	}
	return &Allocator{
		dir:      dir,
		Passwd:   "/etc/passwd",
		Group:    "/etc/group",
		IPCInUse: FindIPC,
		Rand:     rand.Uint32,
		names:    map[string]*Entry{},
	}, nil
}

// Dir is the directory of the lock files.
func (a *Allocator) Dir() string { return a.dir }

// Acquire takes a reference on name, which must be a valid user name in systemd's strict
// sense or a number (unit.ValidDynamicUserName). Nothing is allocated yet (Realize does).
func (a *Allocator) Acquire(name string) (*Entry, error) {
	if e := a.names[name]; e != nil {
		e.refs++
		return e, nil
	}
	if _, err := parseID(name); err != nil && !unit.ValidDynamicUserName(name) {
		return nil, fmt.Errorf("invalid dynamic user or group name %q", name)
	}
	e := &Entry{Name: name, refs: 1}
	a.names[name] = e
	return e, nil
}

// Release drops a reference taken by Acquire. With the last one a dynamically allocated id
// is given back: its lock file and user records are removed and the lock dropped. It
// returns the id released (ok false when there was none: never realized, or static).
func (a *Allocator) Release(e *Entry) (id uint32, ok bool) {
	if e == nil || e.refs <= 0 {
		return 0, false
	}
	e.refs--
	if e.refs > 0 {
		return 0, false
	}
	delete(a.names, e.Name)
	if !e.realized || e.static {
		return 0, false
	}
	a.removeRecords(e)
	os.Remove(a.lockPath(e.id))
	e.lock.Close()
	e.lock, e.realized = nil, false
	return e.id, true
}

// Current returns the id of name while it is allocated.
func (a *Allocator) Current(name string) (uint32, bool) {
	if e := a.names[name]; e != nil && e.realized {
		return e.id, true
	}
	return 0, false
}

// Name returns the name holding the dynamic id, if this allocator gave it out.
func (a *Allocator) Name(id uint32) (string, bool) {
	for _, e := range a.names {
		if e.realized && !e.static && e.id == id {
			return e.Name, true
		}
	}
	return "", false
}

// Realize returns the uid and gid of the user entry e (isUser), or the gid of the group
// entry e, allocating it at the first call (systemd's dynamic_user_realize): a number is
// taken as it is; a name of the static databases gets its ids there; any other name gets a
// dynamic id, trying first the owners of suggested (the unit's directories, so that they
// need no chown), then the name's hash, then random ones.
func (a *Allocator) Realize(e *Entry, isUser bool, suggested []string) (uid, gid uint32, err error) {
	if !e.realized {
		if err := a.realize(e, isUser, suggested); err != nil {
			return 0, 0, err
		}
	}
	return e.id, e.gid, nil
}

func (a *Allocator) realize(e *Entry, isUser bool, suggested []string) error {
	if n, err := parseID(e.Name); err == nil {
		e.id, e.gid, e.static, e.realized = n, n, true, true
		return nil
	}
	db := staticDB{passwdPath: a.Passwd, groupPath: a.Group}
	user, userOK := db.user(e.Name)
	group, groupOK := db.group(e.Name)
	switch {
	case isUser && userOK:
		e.id, e.gid, e.static, e.realized = user.uid, user.gid, true, true
		return nil
	case !isUser && groupOK:
		e.id, e.gid, e.static, e.realized = group, group, true, true
		return nil
	case isUser && groupOK, !isUser && userOK:
		return ErrNameTaken
	}
	id, lock, err := a.pick(e.Name, suggested, db)
	if err != nil {
		return err
	}
	e.id, e.gid, e.lock, e.realized = id, id, lock, true
	a.writeRecords(e)
	return nil
}

// pick finds a free dynamic id for name and returns it with its lock file, locked.
func (a *Allocator) pick(name string, suggested []string, db staticDB) (uint32, *os.File, error) {
	hashed := false
	for try := 0; try < maxTries; try++ {
		var candidate uint32
		switch {
		case len(suggested) > 0:
			var st unix.Stat_t
			p := suggested[0]
			suggested = suggested[1:]
			if unix.Stat(p, &st) != nil {
				continue
			}
			candidate = st.Uid
		case !hashed:
			candidate, hashed = HashedUID(name), true
		default:
			candidate = clamp(a.Rand())
		}
		if !IsDynamic(candidate) {
			continue
		}
		lock, err := a.lockID(candidate)
		if err != nil {
			return 0, nil, err
		}
		if lock == nil {
			continue // another name holds it
		}
		if a.taken(candidate, db) {
			os.Remove(lock.Name())
			lock.Close()
			continue
		}
		// The lock file names its user, for whoever looks at the directory.
		if _, err := lock.WriteAt([]byte(name+"\n"), 0); err != nil {
			os.Remove(lock.Name())
			lock.Close()
			return 0, nil, fmt.Errorf("dynamic user %s: %w", name, err)
		}
		lock.Truncate(int64(len(name) + 1))
		return candidate, lock, nil
	}
	return 0, nil, ErrNoUID
}

// lockID opens and locks the lock file of id; nil (and no error) when it is locked already.
func (a *Allocator) lockID(id uint32) (*os.File, error) {
	p := a.lockPath(id)
	for {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW|syscall.O_NOCTTY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("dynamic user lock: %w", err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, nil
			}
			return nil, &fs.PathError{Op: "flock", Path: p, Err: err}
		}
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil {
			f.Close()
			return nil, &fs.PathError{Op: "stat", Path: p, Err: err}
		}
		if st.Nlink > 0 {
			return f, nil
		}
		// Its holder released it (and removed the file) between our open and our lock: the
		// lock is on a file nobody else will look at. Again, on a new file.
		f.Close()
	}
}

// taken reports whether a candidate id belongs to someone else: a user or group of the static
// databases, IPC objects, another allocator's lock, or a user record (hasRecord).
func (a *Allocator) taken(id uint32, db staticDB) bool {
	if db.hasUID(id) || db.hasGID(id) {
		return true
	}
	if a.IPCInUse != nil && a.IPCInUse(id, id) {
		return true
	}
	for _, d := range a.Foreign {
		if _, err := os.Lstat(filepath.Join(d, strconv.FormatUint(uint64(id), 10))); err == nil {
			return true
		}
	}
	return a.hasRecord(id)
}

func (a *Allocator) lockPath(id uint32) string {
	return filepath.Join(a.dir, strconv.FormatUint(uint64(id), 10))
}

// Vacuum removes the lock files (and user records) that no process holds: those a manager
// killed before it could release them left behind.
func (a *Allocator) Vacuum() {
	ents, err := os.ReadDir(a.dir)
	if err != nil {
		return
	}
	for _, de := range ents {
		id, err := parseID(de.Name())
		if err != nil || !IsDynamic(id) {
			continue
		}
		if _, mine := a.Name(id); mine {
			continue
		}
		lock, err := a.lockID(id)
		if err != nil || lock == nil {
			continue
		}
		name := ""
		if b, err := os.ReadFile(lock.Name()); err == nil && len(b) > 0 && b[len(b)-1] == '\n' {
			name = string(b[:len(b)-1])
		}
		if name != "" {
			a.removeStaleRecords(name, id)
		}
		os.Remove(lock.Name())
		lock.Close()
	}
}

// parseID parses a decimal uid or gid as systemd's parse_uid: not 65535 nor 4294967295.
func parseID(s string) (uint32, error) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, strconv.ErrSyntax
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, err
	}
	if n == 65535 || n == 4294967295 {
		return 0, strconv.ErrRange
	}
	return uint32(n), nil
}
