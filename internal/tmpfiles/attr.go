package tmpfiles

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// attrLetters are the letters of h and H lines and the inode flags they stand for (chattr(1)).
var attrLetters = []struct {
	c    byte
	flag uint32
}{
	{'A', 0x00000080},  // FS_NOATIME_FL
	{'S', 0x00000008},  // FS_SYNC_FL
	{'D', dirsyncFlag}, // FS_DIRSYNC_FL
	{'a', 0x00000020},  // FS_APPEND_FL
	{'c', 0x00000004},  // FS_COMPR_FL
	{'d', 0x00000040},  // FS_NODUMP_FL
	{'e', 0x00080000},  // FS_EXTENT_FL
	{'i', 0x00000010},  // FS_IMMUTABLE_FL
	{'j', 0x00004000},  // FS_JOURNAL_DATA_FL
	{'s', 0x00000001},  // FS_SECRM_FL
	{'u', 0x00000002},  // FS_UNRM_FL
	{'t', 0x00008000},  // FS_NOTAIL_FL
	{'T', 0x00020000},  // FS_TOPDIR_FL
	{'C', 0x00800000},  // FS_NOCOW_FL
	{'P', 0x20000000},  // FS_PROJINHERIT_FL
}

const dirsyncFlag = 0x00010000

// allAttrs is systemd's CHATTR_ALL_FL: every flag a letter names.
var allAttrs = func() uint32 {
	var m uint32
	for _, a := range attrLetters {
		m |= a.flag
	}
	return m
}()

// parseAttribute reads the argument of h and H: an optional '+' (add, the default), '-'
// (remove) or '=' (set exactly these, clear the others of the list), then letters.
func parseAttribute(i *Item) error {
	p := string(i.Arg)
	mode := byte('+')
	if p != "" && (p[0] == '+' || p[0] == '-' || p[0] == '=') {
		mode, p = p[0], p[1:]
	}
	if p == "" && mode != '=' {
		return plainErr(true, syscall.EINVAL, "Setting file attribute on '%s' needs an attribute specification.", i.Path)
	}
	var value, mask uint32
	for k := 0; k < len(p); k++ {
		var flag uint32
		for _, a := range attrLetters {
			if a.c == p[k] {
				flag = a.flag
			}
		}
		if flag == 0 {
			return plainErr(true, syscall.EINVAL, "Unknown file attribute '%c' on '%s'.", p[k], i.Path)
		}
		if mode != '-' {
			value |= flag
		} else {
			value &^= flag
		}
		mask |= flag
	}
	if mode == '=' {
		mask |= allAttrs
	}
	i.AttrValue, i.AttrMask, i.AttrSet = value, mask, true
	return nil
}

func getFlags(fd int) (uint32, error) {
	var v uint32
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.FS_IOC_GETFLAGS, uintptr(unsafe.Pointer(&v)))
	if e != 0 {
		return 0, e
	}
	return v, nil
}

func setFlags(fd int, v uint32) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.FS_IOC_SETFLAGS, uintptr(unsafe.Pointer(&v)))
	if e != 0 {
		return e
	}
	return nil
}

// notSupported is systemd's ERRNO_IS_NOT_SUPPORTED().
func notSupported(err error) bool {
	for _, e := range []syscall.Errno{unix.EOPNOTSUPP, unix.ENOTTY, unix.ENOSYS, unix.EAFNOSUPPORT,
		unix.EPFNOSUPPORT, unix.EPROTONOSUPPORT, unix.ESOCKTNOSUPPORT} {
		if isErrno(err, e) {
			return true
		}
	}
	return false
}

// errSomeAttrs: chattr could set only some of the flags (systemd's ENOANO).
var errSomeAttrs = syscall.ENOANO

// chattr sets the flags of mask to value on an open regular file or directory as systemd's
// chattr_full() with CHATTR_FALLBACK_BITWISE: all at once, and when the file system refuses
// (EINVAL or not supported) one by one, keeping those it takes. It returns the flags before
// and after.
func chattr(fd int, value, mask uint32, debug func(string, ...any)) (previous, final uint32, err error) {
	old, err := getFlags(fd)
	if err != nil {
		return 0, 0, err
	}
	want := old&^mask | value&mask
	if want == old {
		return old, old, nil
	}
	serr := setFlags(fd, want)
	if serr == nil {
		got, err := getFlags(fd)
		if err != nil {
			return 0, 0, err
		}
		if got == want {
			return old, want, nil
		}
		serr = syscall.EINVAL
	}
	if !isErrno(serr, syscall.EINVAL) && !notSupported(serr) {
		return 0, 0, serr
	}
	cur := old
	var failed error
	for bit := 0; bit < 32; bit++ {
		one := uint32(1) << bit
		if mask&one == 0 {
			continue
		}
		next := cur&^one | value&one
		if next == cur {
			continue
		}
		if err := setFlags(fd, next); err != nil {
			if !isErrno(err, syscall.EINVAL) && !notSupported(err) {
				return 0, 0, err
			}
			debug("Unable to set file attribute 0x%x, ignoring: %s", one, strerror(err))
			if failed == nil || !notSupported(err) {
				failed = err
			}
			continue
		}
		if cur, err = getFlags(fd); err != nil {
			return 0, 0, err
		}
	}
	if cur == want {
		return old, cur, nil
	}
	if notSupported(failed) {
		return old, cur, failed
	}
	return old, cur, errSomeAttrs
}
