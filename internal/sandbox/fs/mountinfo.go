package fs

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// mountPoint is one line of /proc/self/mountinfo: where, and its per-mount flags.
type mountPoint struct {
	path  string
	flags uintptr
}

// readMountinfo returns the mounts of the calling thread's namespace in mount order.
func readMountinfo() ([]mountPoint, error) {
	f, err := os.Open("/proc/thread-self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []mountPoint
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 {
			continue
		}
		out = append(out, mountPoint{path: unescapeOctal(fields[4]), flags: perMountFlags(fields[5])})
	}
	return out, sc.Err()
}

// perMountFlags turns mountinfo's per-mount options into the flags a bind remount must
// keep (a remount that dropped nodev or nosuid, which a user namespace locks, would fail).
func perMountFlags(opts string) uintptr {
	var f uintptr
	for _, o := range strings.Split(opts, ",") {
		switch o {
		case "ro":
			f |= unix.MS_RDONLY
		case "nosuid":
			f |= unix.MS_NOSUID
		case "nodev":
			f |= unix.MS_NODEV
		case "noexec":
			f |= unix.MS_NOEXEC
		case "noatime":
			f |= unix.MS_NOATIME
		case "nodiratime":
			f |= unix.MS_NODIRATIME
		case "relatime":
			f |= unix.MS_RELATIME
		}
	}
	return f
}

func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isMountPoint reports whether p is the root of a mount (the mount id differs from its
// parent's, or it is the root).
func isMountPoint(p string) (bool, error) {
	mis, err := readMountinfo()
	if err != nil {
		return false, err
	}
	if _, err := os.Lstat(p); err != nil {
		return false, err
	}
	for _, m := range mis {
		if m.path == p {
			return true, nil
		}
	}
	return false, nil
}

// remount sets the flags in mask to the values in set on p, and with recursive on every
// mount below it too, except those at or below a path in deny (other than p itself).
// That is systemd's bind_remount_recursive_with_mountinfo().
func remount(p string, set, mask uintptr, recursive bool, deny []string) error {
	mis, err := readMountinfo()
	if err != nil {
		return err
	}
	found := false
	// The last mount on a path is the visible one; later lines win.
	last := map[string]uintptr{}
	var order []string
	for _, m := range mis {
		if m.path == p || recursive && hasPathPrefix(m.path, p) {
			if _, seen := last[m.path]; !seen {
				order = append(order, m.path)
			}
			last[m.path] = m.flags
		}
	}
	for _, mp := range order {
		if mp != p && denied(mp, p, deny) {
			continue
		}
		if mp == p {
			found = true
		}
		flags := last[mp]&^mask | set
		if err := unix.Mount("", mp, "", unix.MS_BIND|unix.MS_REMOUNT|flags, ""); err != nil {
			if mp != p && (err == unix.EACCES || err == unix.ENOENT) {
				continue // a mount we cannot reach (below an inaccessible one)
			}
			return &os.PathError{Op: "remount", Path: mp, Err: err}
		}
	}
	if !found {
		// p is not a mount point: make it one first.
		if _, err := os.Lstat(p); err != nil {
			return err
		}
		if err := unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return &os.PathError{Op: "bind", Path: p, Err: err}
		}
		return remount(p, set, mask, recursive, deny)
	}
	return nil
}

func denied(mp, top string, deny []string) bool {
	for _, d := range deny {
		if d != top && hasPathPrefix(d, top) && hasPathPrefix(mp, d) {
			return true
		}
	}
	return false
}
