package tmpfiles

import (
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"
)

// IDs resolves the user and group fields of lines: a number as it is, else a name. On the
// host (Root empty) "root" and "nobody" are known without a look-up and other names are read
// from /etc/passwd and /etc/group (flint is static: no NSS modules); with a root directory, as
// systemd-tmpfiles --root, "root" is known and the root directory's /etc/passwd and
// /usr/lib/passwd (/etc/group, /usr/lib/group) are read. A name found nowhere is ESRCH.
type IDs struct {
	Root           string
	users, groups  map[string]uint32
	usersErr       error
	groupsErr      error
	loadedU, loadG bool
}

// UID resolves a user field.
func (l *IDs) UID(s string) (uint32, error) {
	return l.resolve(s, false)
}

// GID resolves a group field.
func (l *IDs) GID(s string) (uint32, error) {
	return l.resolve(s, true)
}

func (l *IDs) resolve(s string, group bool) (uint32, error) {
	if id, err := parseID(s); err == nil {
		return id, nil
	}
	if s == "root" {
		return 0, nil
	}
	if l.Root == "" && s == "nobody" && synthesizeNobody() {
		return 65534, nil
	}
	m, err := l.table(group)
	if err != nil {
		return 0, err
	}
	if id, ok := m[s]; ok {
		return id, nil
	}
	return 0, syscall.ESRCH
}

// table reads the names of users or groups once.
func (l *IDs) table(group bool) (map[string]uint32, error) {
	if group {
		if !l.loadG {
			l.groups, l.groupsErr = readIDFiles(l.Root, "group")
			l.loadG = true
		}
		return l.groups, l.groupsErr
	}
	if !l.loadedU {
		l.users, l.usersErr = readIDFiles(l.Root, "passwd")
		l.loadedU = true
	}
	return l.users, l.usersErr
}

// readIDFiles reads name → id from /etc/NAME and (in a root directory) /usr/lib/NAME, the
// first entry of a name winning.
func readIDFiles(root, name string) (map[string]uint32, error) {
	files := []string{"/etc/" + name}
	if root != "" {
		files = append(files, "/usr/lib/"+name)
	}
	m := map[string]uint32{}
	for _, f := range files {
		data, err := os.ReadFile(path.Join("/", root, f))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(data), "\n") {
			fs := strings.Split(line, ":")
			if len(fs) < 3 || fs[0] == "" || strings.HasPrefix(fs[0], "+") || strings.HasPrefix(fs[0], "-") {
				continue
			}
			id, err := strconv.ParseUint(fs[2], 10, 32)
			if err != nil {
				continue
			}
			if _, ok := m[fs[0]]; !ok {
				m[fs[0]] = uint32(id)
			}
		}
	}
	return m, nil
}

// synthesizeNobody is systemd's synthesize_nobody(): on unless
// /etc/systemd/dont-synthesize-nobody exists.
func synthesizeNobody() bool {
	_, err := os.Lstat("/etc/systemd/dont-synthesize-nobody")
	return err != nil
}

// passwdEntry is one line of /etc/passwd.
type passwdEntry struct {
	name string
	uid  uint32
	home string
}

// lookupPasswd finds a user of root's file (by uid when byID, else by name).
func lookupPasswd(root, file, key string, byID bool) (passwdEntry, bool) {
	data, err := os.ReadFile(path.Join("/", root, file))
	if err != nil {
		return passwdEntry{}, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		fs := strings.Split(line, ":")
		if len(fs) < 7 {
			continue
		}
		if (byID && fs[2] == key) || (!byID && fs[0] == key) {
			id, _ := strconv.ParseUint(fs[2], 10, 32)
			return passwdEntry{name: fs[0], uid: uint32(id), home: fs[5]}, true
		}
	}
	return passwdEntry{}, false
}

// idName is uid_to_name()/gid_to_name() on the host: the name, or the number.
func idName(group bool, id uint32) string {
	if id == 0 {
		return "root"
	}
	if id == 65534 && synthesizeNobody() {
		if group {
			return "nogroup"
		}
		return "nobody"
	}
	file := "/etc/passwd"
	if group {
		file = "/etc/group"
	}
	data, err := os.ReadFile(file)
	if err == nil {
		want := strconv.FormatUint(uint64(id), 10)
		for _, line := range strings.Split(string(data), "\n") {
			fs := strings.Split(line, ":")
			if len(fs) >= 3 && fs[2] == want {
				return fs[0]
			}
		}
	}
	return strconv.FormatUint(uint64(id), 10)
}
