package dynuser

import (
	"os"
	"strconv"
	"strings"
)

// staticDB reads the static user and group databases, /etc/passwd and /etc/group: flint is
// built without cgo, so the NSS modules systemd's getpwnam() would also ask are not.
type staticDB struct{ passwdPath, groupPath string }

type passwdEntry struct{ uid, gid uint32 }

// records calls f with the fields of each line of the file p.
func records(p string, f func(fields []string) bool) {
	data, err := os.ReadFile(p)
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		if !f(strings.Split(line, ":")) {
			return
		}
	}
}

func num(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}

// user returns the static user named name.
func (db staticDB) user(name string) (passwdEntry, bool) {
	var out passwdEntry
	found := false
	records(db.passwdPath, func(f []string) bool {
		if len(f) >= 4 && f[0] == name {
			uid, ok1 := num(f[2])
			gid, ok2 := num(f[3])
			out, found = passwdEntry{uid, gid}, ok1 && ok2
			return false
		}
		return true
	})
	return out, found
}

// group returns the gid of the static group named name.
func (db staticDB) group(name string) (uint32, bool) {
	var gid uint32
	found := false
	records(db.groupPath, func(f []string) bool {
		if len(f) >= 3 && f[0] == name {
			gid, found = num(f[2])
			return false
		}
		return true
	})
	return gid, found
}

// hasUID reports whether a static user has the uid.
func (db staticDB) hasUID(uid uint32) bool { return db.hasID(db.passwdPath, uid) }

// hasGID reports whether a static group has the gid.
func (db staticDB) hasGID(gid uint32) bool { return db.hasID(db.groupPath, gid) }

func (db staticDB) hasID(p string, id uint32) bool {
	found := false
	records(p, func(f []string) bool {
		if len(f) >= 3 {
			if n, ok := num(f[2]); ok && n == id {
				found = true
				return false
			}
		}
		return true
	})
	return found
}
