package fs

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Size limits of systemd 252's credentials (CREDENTIAL_SIZE_MAX, CREDENTIALS_TOTAL_SIZE_MAX).
const (
	credentialSizeMax = 1024 * 1024
	credentialsTotal  = 1024 * 1024
)

// CredentialsDir is where a unit's credentials are: $CREDENTIALS_DIRECTORY.
func CredentialsDir(unit string) string { return "/run/credentials/" + unit }

// setupCredentials makes the credentials directory in the child's mount namespace: a
// ramfs (tmpfs where ramfs is missing) on dir (credentialsMount, which the sandbox binds
// onto /run/credentials/<unit>), one file per credential,
// mode 0400, the directory 0500, both owned by the unit's user, then the mount made
// read-only. LoadCredential= wins over SetCredential= of the same ID, which is its
// fallback when the file is missing.
func (s *Spec) setupCredentials(dir string) error {
	failf := func(format string, a ...any) error { return fail(StatusCredentials, format, a...) }
	if err := os.MkdirAll(path.Dir(dir), 0o755); err != nil {
		return failf("Failed to create %s: %v", path.Dir(dir), err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return failf("Failed to create %s: %v", dir, err)
	}
	const flags = unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOSUID
	if err := unix.Mount("ramfs", dir, "ramfs", flags, "mode=0700"); err != nil {
		if err := unix.Mount("tmpfs", dir, "tmpfs", flags, "mode=0700,nr_inodes=1024,size=1024k"); err != nil {
			return failf("Failed to mount credentials directory %s: %v", dir, err)
		}
	}
	total := 0
	written := map[string]bool{}
	setIDs := map[string]bool{}
	for _, c := range s.Credentials {
		if c.Set {
			setIDs[c.ID] = true
		}
	}
	write := func(id string, data []byte) error {
		if written[id] {
			return nil
		}
		if len(data) > credentialSizeMax {
			return failf("Credential %s is too large", id)
		}
		if total += len(data); total > credentialsTotal {
			return failf("Credentials of %s exceed %d bytes in total", s.Unit, credentialsTotal)
		}
		f, err := os.OpenFile(dir+"/"+id, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o400)
		if err != nil {
			return failf("Failed to write credential %s: %v", id, err)
		}
		defer f.Close()
		if _, err := f.Write(data); err != nil {
			return failf("Failed to write credential %s: %v", id, err)
		}
		if err := f.Chmod(0o400); err != nil {
			return failf("Failed to write credential %s: %v", id, err)
		}
		if s.CredentialsUID > 0 || s.CredentialsGID > 0 {
			if err := f.Chown(s.CredentialsUID, s.CredentialsGID); err != nil {
				return failf("Failed to chown credential %s: %v", id, err)
			}
		}
		written[id] = true
		return nil
	}
	for _, c := range s.Credentials {
		if c.Set {
			continue
		}
		src, missingOK := c.Path, false
		if src == "" {
			src = c.ID
		}
		if !path.IsAbs(src) {
			if s.ManagerCredentialsDir == "" {
				continue // no credentials passed to the manager: nothing to find it in
			}
			src, missingOK = s.ManagerCredentialsDir+"/"+src, true
		}
		err := loadCredential(c.ID, src, write)
		if errors.Is(err, os.ErrNotExist) && (missingOK || setIDs[c.ID]) {
			continue
		}
		if err != nil {
			var fe *Error
			if errors.As(err, &fe) {
				return err
			}
			return failf("Failed to read credential '%s': %v", src, err)
		}
	}
	for _, c := range s.Credentials {
		if c.Set {
			if err := write(c.ID, c.Data); err != nil {
				return err
			}
		}
	}
	if s.CredentialsUID > 0 || s.CredentialsGID > 0 {
		if err := os.Chown(dir, s.CredentialsUID, s.CredentialsGID); err != nil {
			return failf("Failed to chown %s: %v", dir, err)
		}
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		return failf("Failed to chmod %s: %v", dir, err)
	}
	if err := unix.Mount("", dir, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|flags, ""); err != nil {
		return failf("Failed to make %s read-only: %v", dir, err)
	}
	return nil
}

// loadCredential reads one LoadCredential= source: a regular file, every regular file of
// a directory (ID_name, as systemd 252), or what an AF_UNIX socket sends when connected.
func loadCredential(id, src string, write func(string, []byte) error) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	switch {
	case fi.IsDir():
		return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			data, err := readLimited(p)
			if err != nil {
				return err
			}
			return write(id+"_"+strings.ReplaceAll(strings.TrimPrefix(p, src+"/"), "/", "_"), data)
		})
	case fi.Mode()&os.ModeSocket != 0:
		c, err := net.Dial("unix", src)
		if err != nil {
			return err
		}
		defer c.Close()
		data, err := io.ReadAll(io.LimitReader(c, credentialSizeMax+1))
		if err != nil {
			return err
		}
		return write(id, data)
	default:
		data, err := readLimited(src)
		if err != nil {
			return err
		}
		return write(id, data)
	}
}

func readLimited(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, credentialSizeMax+1))
	if err != nil {
		return nil, err
	}
	if len(data) > credentialSizeMax {
		return nil, fmt.Errorf("%s: too large", p)
	}
	return data, nil
}
