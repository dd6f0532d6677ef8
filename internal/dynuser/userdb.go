package dynuser

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
)

// systemd's nss-systemd module answers getpwnam()/getpwuid() for a dynamic user by asking
// PID 1 over Varlink, which flint does not serve. The module also reads JSON user and group
// records from drop-in directories (nss-systemd(8), "Static drop-in JSON user/group
// records"), /run/userdb among them: for each name it allocates, flint writes there the
// records systemd would answer with, NAME.user and NAME.group and the symlinks UID.user and
// GID.group that find them by number, and removes them with the name. A program of the
// unit that looks its user up (id -un, getpwuid()) then finds it on a machine whose
// nsswitch.conf lists "systemd" (Debian's libnss-systemd); elsewhere it finds nothing, as
// under systemd without the module.

// recordService marks the records flint writes; a record without it is someone else's and
// is never removed. No record that exists is replaced: one of another flint manager (whose
// lock directory is another) holds the name or the id.
const recordService = "io.flint.DynamicUser"

// nologin is the shell of a dynamic user (systemd's NOLOGIN on Debian).
const nologin = "/usr/sbin/nologin"

type userRecord struct {
	UserName      string `json:"userName"`
	UID           uint32 `json:"uid"`
	GID           uint32 `json:"gid"`
	RealName      string `json:"realName"`
	HomeDirectory string `json:"homeDirectory"`
	Shell         string `json:"shell"`
	Locked        bool   `json:"locked"`
	Service       string `json:"service"`
	Disposition   string `json:"disposition"`
}

type groupRecord struct {
	GroupName   string `json:"groupName"`
	GID         uint32 `json:"gid"`
	Description string `json:"description"`
	Service     string `json:"service"`
	Disposition string `json:"disposition"`
}

// writeRecords publishes the dynamic entry e as a user and a group of its name and id, as
// systemd answers for every dynamic name. Failures only leave the name unpublished.
func (a *Allocator) writeRecords(e *Entry) {
	if a.UserDB == "" {
		return
	}
	if err := os.MkdirAll(a.UserDB, 0o755); err != nil {
		return
	}
	id := strconv.FormatUint(uint64(e.id), 10)
	user, _ := json.Marshal(userRecord{e.Name, e.id, e.id, "Dynamic User", "/", nologin, true, recordService, "dynamic"})
	group, _ := json.Marshal(groupRecord{e.Name, e.id, "Dynamic Group", recordService, "dynamic"})
	for _, r := range []struct {
		suffix string
		data   []byte
	}{{".user", user}, {".group", group}} {
		file := filepath.Join(a.UserDB, e.Name+r.suffix)
		link := filepath.Join(a.UserDB, id+r.suffix)
		if exists(file) || exists(link) {
			continue
		}
		tmp := file + ".flint-new"
		if os.WriteFile(tmp, append(r.data, '\n'), 0o644) != nil || os.Rename(tmp, file) != nil {
			os.Remove(tmp)
			continue
		}
		e.records = append(e.records, file)
		os.Remove(link)
		if os.Symlink(e.Name+r.suffix, link) == nil {
			e.records = append(e.records, link)
		}
	}
}

// removeRecords removes the records written for e.
func (a *Allocator) removeRecords(e *Entry) {
	for _, p := range e.records {
		if a.ours(p) {
			os.Remove(p)
		}
	}
	e.records = nil
}

// removeStaleRecords removes the records of name and id that a killed manager left.
func (a *Allocator) removeStaleRecords(name string, id uint32) {
	if a.UserDB == "" {
		return
	}
	n := strconv.FormatUint(uint64(id), 10)
	for _, f := range []string{n + ".user", n + ".group", name + ".user", name + ".group"} {
		p := filepath.Join(a.UserDB, f)
		if _, err := os.Lstat(p); err == nil && a.ours(p) {
			os.Remove(p)
		}
	}
}

// hasRecord reports whether a user or group record has id: someone else's, or that of another
// flint manager (an allocator's own ids are locked, never candidates).
func (a *Allocator) hasRecord(id uint32) bool {
	if a.UserDB == "" {
		return false
	}
	n := strconv.FormatUint(uint64(id), 10)
	return exists(filepath.Join(a.UserDB, n+".user")) || exists(filepath.Join(a.UserDB, n+".group"))
}

// exists reports whether there is something at p (a dangling symlink too).
func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// ours reports whether p is missing, or a record of flint's (a symlink is judged by the
// record it leads to; a dangling one counts as flint's own leftover).
func (a *Allocator) ours(p string) bool { return oursAt(p, 0) }

func oursAt(p string, depth int) bool {
	fi, err := os.Lstat(p)
	if err != nil {
		return true
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		target, err := os.Readlink(p)
		if err != nil || filepath.Base(target) != target || depth > 0 {
			return false // not a link of the kind flint makes
		}
		if _, err := os.Lstat(filepath.Join(filepath.Dir(p), target)); err != nil {
			return true
		}
		return oursAt(filepath.Join(filepath.Dir(p), target), depth+1)
	}
	if !fi.Mode().IsRegular() || fi.Size() > 64<<10 {
		return false
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return false
	}
	var r struct {
		Service string `json:"service"`
	}
	return json.Unmarshal(data, &r) == nil && r.Service == recordService
}
