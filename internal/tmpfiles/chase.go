package tmpfiles

import (
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Path resolution inside a root directory, as systemd's chase_symlinks(): every component is
// opened with O_PATH|O_NOFOLLOW relative to the previous one, a symlink is read and its
// target walked instead (an absolute target from the root directory, ".." never above it).
// flint resolves every path of a --root run this way, so that nothing outside the root
// directory is touched.

type chaseFlags int

const (
	// chaseSafe refuses a step from a directory owned by a user other than root to an inode
	// owned by someone else (ENOLINK, with a warning).
	chaseSafe chaseFlags = 1 << iota
	// chaseNoFollow does not follow a symlink in the last component.
	chaseNoFollow
	// chaseNonexistent: a missing component ends the walk without error; what is left is
	// appended to the resolved path, and no fd is returned.
	chaseNonexistent
	// chaseNoAutofs refuses to step onto an autofs mount (EREMOTE, with a warning).
	chaseNoAutofs
)

const maxFollow = 32 // CHASE_SYMLINKS_MAX

// fsRoot is the directory paths are resolved in: the root directory, or "/".
type fsRoot struct {
	prefix string // "" for the host, else the root directory ("/srv/img")
	log    Logger
}

// inner is p (with the root directory in front) as a path inside the root.
func (r *fsRoot) inner(p string) string {
	if r.prefix == "" {
		return p
	}
	rest, ok := pathStartsWith(p, r.prefix)
	if !ok {
		return p
	}
	return "/" + rest
}

// outer is an inner path with the root directory in front, as messages print it.
func (r *fsRoot) outer(p string) string {
	if r.prefix == "" {
		return p
	}
	if p == "/" {
		return r.prefix
	}
	return r.prefix + p
}

func (r *fsRoot) openRoot() (int, error) {
	dir := r.prefix
	if dir == "" {
		dir = "/"
	}
	return unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// chase resolves p (an absolute path inside the root). It returns an O_PATH fd of the result
// (-1 with chaseNonexistent), the resolved path inside the root, and whether it exists.
func (r *fsRoot) chase(p string, flags chaseFlags) (fd int, resolved string, exists bool, err error) {
	fd, err = r.openRoot()
	if err != nil {
		return -1, "", false, err
	}
	defer func() {
		if err != nil || flags&chaseNonexistent != 0 {
			unix.Close(fd)
			fd = -1
		}
	}()
	var prev unix.Stat_t
	if flags&chaseSafe != 0 {
		if err := unix.Fstat(fd, &prev); err != nil {
			return fd, "", false, err
		}
	}
	done := "/"
	todo := p
	follows := maxFollow
	for {
		todo = strings.TrimLeft(todo, "/")
		if todo == "" {
			return fd, done, true, nil
		}
		first, rest, _ := strings.Cut(todo, "/")
		todo = rest
		if first == "." {
			continue
		}
		if first == ".." {
			if done == "/" {
				continue
			}
			done = parentPath(done)
			parent, err := unix.Openat(fd, "..", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				return fd, "", false, err
			}
			if flags&chaseSafe != 0 {
				var st unix.Stat_t
				if err := unix.Fstat(parent, &st); err != nil {
					unix.Close(parent)
					return fd, "", false, err
				}
				if unsafeTransition(&prev, &st) {
					err := r.unsafe(fd, parent, p)
					unix.Close(parent)
					return fd, "", false, err
				}
				prev = st
			}
			unix.Close(fd)
			fd = parent
			continue
		}
		child, err := unix.Openat(fd, first, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			if err == unix.ENOENT && flags&chaseNonexistent != 0 && safeRest(todo) {
				return fd, joinPath(joinPath(done, first), todo), false, nil
			}
			return fd, "", false, err
		}
		var st unix.Stat_t
		if err := unix.Fstat(child, &st); err != nil {
			unix.Close(child)
			return fd, "", false, err
		}
		if flags&chaseSafe != 0 && unsafeTransition(&prev, &st) {
			err := r.unsafe(fd, child, p)
			unix.Close(child)
			return fd, "", false, err
		}
		prev = st
		if flags&chaseNoAutofs != 0 {
			var sfs unix.Statfs_t
			if unix.Fstatfs(child, &sfs) == nil && sfs.Type == unix.AUTOFS_SUPER_MAGIC {
				r.warn("Detected autofs mount point %s during canonicalization of %s.", fdPath(child), r.outer(p))
				unix.Close(child)
				return fd, "", false, syscall.EREMOTE
			}
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK && !(flags&chaseNoFollow != 0 && strings.Trim(todo, "/") == "") {
			follows--
			if follows <= 0 {
				unix.Close(child)
				return fd, "", false, syscall.ELOOP
			}
			target, err := readlinkat(fd, first)
			if err != nil {
				unix.Close(child)
				return fd, "", false, err
			}
			if target == "" {
				unix.Close(child)
				return fd, "", false, syscall.EINVAL
			}
			if strings.HasPrefix(target, "/") {
				nfd, err := r.openRoot()
				if err != nil {
					unix.Close(child)
					return fd, "", false, err
				}
				if flags&chaseSafe != 0 {
					var rst unix.Stat_t
					if err := unix.Fstat(nfd, &rst); err != nil {
						unix.Close(nfd)
						unix.Close(child)
						return fd, "", false, err
					}
					if unsafeTransition(&prev, &rst) {
						// As systemd: the link (not its directory) is named as the step's start.
						err := r.unsafe(child, nfd, p)
						unix.Close(nfd)
						unix.Close(child)
						return fd, "", false, err
					}
					prev = rst
				}
				unix.Close(fd)
				fd = nfd
				done = "/"
			}
			unix.Close(child)
			todo = joinPath(target, todo)
			continue
		}
		done = joinPath(done, first)
		unix.Close(fd)
		fd = child
	}
}

// chaseName resolves p inside root to its canonical path.
func chaseName(root, p string) (string, error) {
	r := &fsRoot{prefix: root}
	fd, resolved, _, err := r.chase(p, 0)
	if err != nil {
		return "", err
	}
	unix.Close(fd)
	return resolved, nil
}

// safeRest: the rest of a path after a missing component has no ".." (path_is_safe).
func safeRest(p string) bool {
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return false
		}
	}
	return true
}

func parentPath(p string) string {
	k := strings.LastIndexByte(p, '/')
	if k <= 0 {
		return "/"
	}
	return p[:k]
}

// unsafeTransition: from an inode not owned by root to one of another owner.
func unsafeTransition(a, b *unix.Stat_t) bool {
	return a.Uid != 0 && a.Uid != b.Uid
}

func (r *fsRoot) unsafe(from, to int, p string) error {
	r.warn("Detected unsafe path transition %s (owned by %s) → %s (owned by %s) during canonicalization of %s.",
		fdPath(from), fdOwner(from), fdPath(to), fdOwner(to), r.outer(p))
	return syscall.ENOLINK
}

func (r *fsRoot) warn(format string, a ...any) {
	if r.log != nil {
		r.log(LevelWarning, sprintf(format, a...))
	}
}

// fdPath is the path of an fd (from /proc/self/fd).
func fdPath(fd int) string {
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return "n/a"
	}
	return p
}

func fdOwner(fd int) string {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return "n/a"
	}
	return idName(false, st.Uid)
}

// readlinkat reads a symlink's target.
func readlinkat(dirfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// procPath is the /proc/self/fd path of an fd, to reach an O_PATH fd's inode.
func procPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }
