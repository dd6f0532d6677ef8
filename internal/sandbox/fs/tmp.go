package fs

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// SetupTmpDirs is setup_tmp_dirs(), run by the manager when the first unit of a
// JoinsNamespaceOf= group with PrivateTmp= starts: /tmp/systemd-private-<bootid>-<unit>-XXXXXX
// and the same under /var/tmp, each mode 0700 with a "tmp" subdirectory of mode 1777, the
// directories the unit sees as /tmp and /var/tmp. One that cannot be made because the file
// system is read-only or full is EmptyDir(runtimeDir) (the unit then sees a read-only /tmp,
// as under systemd). RemoveTmpDirs removes them when the group's last unit is gone.
func SetupTmpDirs(runtimeDir, unit string) (tmpDir, varTmpDir string, err error) {
	tmpDir, err = setupOneTmpDir(runtimeDir, unit, "/tmp")
	if err != nil {
		return "", "", err
	}
	varTmpDir, err = setupOneTmpDir(runtimeDir, unit, "/var/tmp")
	if err != nil {
		RemoveTmpDirs(tmpDir, "")
		return "", "", err
	}
	return tmpDir, varTmpDir, nil
}

func setupOneTmpDir(runtimeDir, unit, prefix string) (string, error) {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", fmt.Errorf("boot id: %w", err)
	}
	id := strings.ReplaceAll(strings.TrimSpace(string(boot)), "-", "")
	if _, err := os.Stat(prefix); errors.Is(err, os.ErrNotExist) {
		old := unix.Umask(0)
		err = os.MkdirAll(prefix, 0o755)
		if err == nil {
			err = unix.Chmod(prefix, 0o1777)
		}
		unix.Umask(old)
		if err != nil {
			return "", err
		}
	}
	for {
		dir := fmt.Sprintf("%s/systemd-private-%s-%s-%s", prefix, id, unit, randomSuffix())
		err := os.Mkdir(dir, 0o700)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if errors.Is(err, unix.EROFS) || errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) {
			old := unix.Umask(0)
			err = os.MkdirAll(EmptyDir(runtimeDir), 0o500)
			unix.Umask(old)
			if err != nil {
				return "", err
			}
			return EmptyDir(runtimeDir), nil
		}
		if err != nil {
			return "", err
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			return "", err
		}
		if err := os.Mkdir(dir+"/tmp", 0o777); err != nil {
			os.Remove(dir)
			return "", err
		}
		if err := unix.Chmod(dir+"/tmp", 0o1777); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
		return dir, nil
	}
}

// randomSuffix is mkdtemp()'s six characters.
func randomSuffix() string {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}

// RemoveTmpDirs removes what SetupTmpDirs made (namespace_cleanup_tmpdir()); an EmptyDir
// and "" are left alone.
func RemoveTmpDirs(dirs ...string) {
	for _, d := range dirs {
		if d != "" && !strings.HasSuffix(d, "/empty") && strings.Contains(d, "/systemd-private-") {
			_ = os.RemoveAll(d)
		}
	}
}
