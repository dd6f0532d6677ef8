package manager

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// SystemdBootedDir is the directory sd_booted(3) (and `systemd-notify --booted`) tests for:
// systemd creates it at boot, and programs take it to mean that systemd's interfaces are
// there (docs/compatibility.md says which of them flint offers).
const SystemdBootedDir = "/run/systemd/system"

// bootedMarker is the file in the runtime directory that says this manager (or one killed
// before it could remove it) created Options.BootedDir and removes it at its orderly end.
const bootedMarker = "booted-dir"

// markBooted creates dir (Options.BootedDir), and its parent, unless it is there already. It
// returns what the manager created and must remove at its orderly end (innermost first), and
// an error when dir could not be made: then sd_booted() stays false. A directory that was
// there is left alone, unless the runtime directory's marker says that a manager killed on
// it created it: then what that manager created is this one's to remove.
func markBooted(dir, runtimeDir string) (created []string, err error) {
	marker := filepath.Join(runtimeDir, bootedMarker)
	fi, err := os.Lstat(dir)
	switch {
	case err == nil && fi.IsDir():
		owned, _ := os.ReadFile(marker)
		if lines := strings.Split(string(owned), "\n"); lines[0] == dir {
			return lines, nil
		}
		return nil, nil
	case err == nil:
		return nil, fmt.Errorf("%s is not a directory", dir)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	created = []string{dir}
	parent := filepath.Dir(dir)
	if _, err := os.Lstat(parent); errors.Is(err, fs.ErrNotExist) {
		created = append(created, parent)
	}
	// The marker first: a manager killed right after the mkdirs still knows them as its own
	// next time.
	if err := os.WriteFile(marker, []byte(strings.Join(created, "\n")), 0o644); err != nil {
		return nil, err
	}
	for i := len(created) - 1; i >= 0; i-- {
		if err := os.Mkdir(created[i], 0o755); err != nil {
			unmarkBooted(created[i+1:], runtimeDir)
			return nil, err
		}
	}
	return created, nil
}

// unmarkBooted removes what markBooted created, each only while empty (a unit file written to
// /run/systemd/system since, a journal socket in /run/systemd, keep theirs), and the marker.
func unmarkBooted(created []string, runtimeDir string) {
	for _, d := range created {
		os.Remove(d)
	}
	os.Remove(filepath.Join(runtimeDir, bootedMarker))
}
