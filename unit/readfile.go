package unit

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
)

// MaxFileSize is the most flint reads of any one file on behalf of a unit (unit files,
// drop-ins, EnvironmentFile=, presets): systemd's READ_FULL_BYTES_MAX, 64 MiB − 1. systemd
// reads unit files line by line without a total limit; flint holds a file in memory while
// it parses it, so a larger file is refused rather than read.
const MaxFileSize = 64<<20 - 1

// ErrNotRegular is matched (errors.Is) by the errors of reads refused because the file is a
// FIFO, socket or device: a FIFO blocks open(2) or read(2) until a writer comes, and a device
// such as /dev/zero or a disk never ends. Such errors also match syscall.EBADFD, the errno
// systemd gives a file that is not regular (stat_verify_regular).
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is matched by the errors of reads refused because the file is larger than
// MaxFileSize; they also match syscall.E2BIG, as systemd's read_full_file.
var ErrTooLarge = errors.New("file larger than 64 MiB")

// fileTypeError is the Err of a *fs.PathError for a file that is not regular.
type fileTypeError struct{ mode uint32 }

func (e fileTypeError) Error() string {
	return "not a regular file (" + fileTypeName(e.mode) + ")"
}
func (e fileTypeError) Is(target error) bool { return target == ErrNotRegular }
func (e fileTypeError) Unwrap() error        { return syscall.EBADFD }

type tooLargeError struct{}

func (tooLargeError) Error() string        { return ErrTooLarge.Error() }
func (tooLargeError) Is(target error) bool { return target == ErrTooLarge }
func (tooLargeError) Unwrap() error        { return syscall.E2BIG }

// fileTypeName names the file type of a stat mode for messages.
func fileTypeName(mode uint32) string {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFIFO:
		return "a FIFO"
	case syscall.S_IFSOCK:
		return "a socket"
	case syscall.S_IFCHR:
		return "a character device"
	case syscall.S_IFBLK:
		return "a block device"
	case syscall.S_IFDIR:
		return "a directory"
	case syscall.S_IFLNK:
		return "a symbolic link"
	}
	return fmt.Sprintf("file type %#o", mode&syscall.S_IFMT)
}

// isDevNullStat reports whether st is /dev/null (character device 1:3).
func isDevNullStat(st *syscall.Stat_t) bool {
	return st.Mode&syscall.S_IFMT == syscall.S_IFCHR && st.Rdev == 1<<8|3
}

// ReadFile returns the contents of a file flint reads on behalf of a unit: a regular file of
// at most MaxFileSize bytes, or /dev/null (empty). It never blocks and never reads a device:
// the path is stat'ed first and anything else is refused before it is opened; the open is
// O_NONBLOCK (a FIFO swapped in after the stat does not block it) and the open file is
// checked again. Errors are *fs.PathError naming the file; a refused file type matches
// ErrNotRegular, a file too large ErrTooLarge.
func ReadFile(path string) ([]byte, error) {
	data, _, err := readFileInto(path, nil)
	return data, err
}

// readFileInto is ReadFile in plain system calls: stat, open, fstat, read to the end, close.
// os.Open first tries every file with Go's netpoller (fcntl, epoll_ctl, fcntl back): calls
// more per unit file, on the path of every start job that loads units. It reads into buf's
// storage when it is large enough (a caller's scratch buffer: the result then aliases it) and
// also returns the identity of the file read (fileID: its modification time, and what tells
// an unchanged file at the next reload); both come from the one fstat of the open file,
// and the size it gives lets a regular file's read end without the extra read that finds the
// end of the file.
func readFileInto(path string, buf []byte) ([]byte, fileID, error) {
	var st syscall.Stat_t
	if err := statRetry(path, &st); err != nil {
		return nil, fileID{}, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if isDevNullStat(&st) {
		return buf[:0], idOf(&st), nil
	}
	// A socket is let through to open(2), which fails at once with ENXIO, the error
	// systemd reports for it.
	if err := checkRegular(st.Mode); err != nil && st.Mode&syscall.S_IFMT != syscall.S_IFSOCK {
		return nil, fileID{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	const flags = syscall.O_RDONLY | syscall.O_CLOEXEC | syscall.O_NONBLOCK | syscall.O_NOCTTY
	fd, err := syscall.Open(path, flags, 0)
	for err == syscall.EINTR {
		fd, err = syscall.Open(path, flags, 0)
	}
	if err != nil {
		return nil, fileID{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, fileID{}, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if err := checkRegular(st.Mode); err != nil {
		return nil, fileID{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	id := idOf(&st)
	if st.Size > MaxFileSize {
		return nil, fileID{}, &fs.PathError{Op: "read", Path: path, Err: tooLargeError{}}
	}
	size := -1 // unknown (procfs files say 0): read until a read returns nothing
	if st.Size > 0 {
		size = int(st.Size)
	}
	if need := max(size+1, 1024); cap(buf) < need {
		buf = make([]byte, 0, need)
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		want := min(cap(buf)-len(buf), MaxFileSize+1-len(buf))
		n, err := syscall.Read(fd, buf[len(buf):len(buf)+want])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, fileID{}, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, id, nil
		}
		buf = buf[:len(buf)+n]
		if len(buf) > MaxFileSize {
			// a file that grew while it was read, or a procfs file: refused as a whole
			return nil, fileID{}, &fs.PathError{Op: "read", Path: path, Err: tooLargeError{}}
		}
		if n < want && len(buf) == size {
			// A short read of a regular file that ends where fstat said it does: its end.
			return buf, id, nil
		}
	}
}

// checkRegular refuses what is not a regular file: a directory with EISDIR (what read(2)
// says of it, and systemd), anything else with a fileTypeError.
func checkRegular(mode uint32) error {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFREG:
		return nil
	case syscall.S_IFDIR:
		return syscall.EISDIR
	}
	return fileTypeError{mode}
}

func statRetry(path string, st *syscall.Stat_t) error {
	for {
		err := syscall.Stat(path, st)
		if err != syscall.EINTR {
			return err
		}
	}
}

// Strerror is err as systemd prints an error after the file it is about: the text of its
// errno as glibc's strerror gives it ("No such file or directory"), "Not a regular file (a
// FIFO)" or "File larger than 64 MiB" for the reads ReadFile refuses, else err's own text.
func Strerror(err error) string {
	var ft fileTypeError
	var errno syscall.Errno
	switch {
	case errors.As(err, &ft):
		return capitalize(ft.Error())
	case errors.Is(err, ErrTooLarge):
		return capitalize(ErrTooLarge.Error())
	case errors.As(err, &errno):
		return capitalize(errno.Error())
	}
	return err.Error()
}

func capitalize(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
