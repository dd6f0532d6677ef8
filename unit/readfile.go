package unit

import (
	"io/fs"
	"syscall"
	"time"
)

// readFileInto is os.ReadFile in plain system calls: open, fstat, read to the end, close.
// os.Open first tries every file with Go's netpoller (fcntl, epoll_ctl, fcntl back): calls
// more per unit file, on the path of every start job that loads units. It reads into buf's
// storage when it is large enough (a caller's scratch buffer: the result then aliases it) and
// also returns the file's modification time; both come from the one fstat of the open file,
// rather than a second lookup of the path (os.Stat) for the time, and the size it gives lets
// a regular file's read end without the extra read that finds the end of the file. Errors
// are *fs.PathError, as os.ReadFile's.
func readFileInto(path string, buf []byte) ([]byte, time.Time, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	for err == syscall.EINTR {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, time.Time{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	var mtime time.Time
	size := -1 // unknown: read until a read returns nothing
	if syscall.Fstat(fd, &st) == nil {
		mtime = time.Unix(st.Mtim.Unix())
		if st.Mode&syscall.S_IFMT == syscall.S_IFREG && st.Size > 0 && st.Size < 1<<30 {
			size = int(st.Size)
		}
	}
	if need := max(size+1, 1024); cap(buf) < need {
		buf = make([]byte, 0, need)
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		want := cap(buf) - len(buf)
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, time.Time{}, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, mtime, nil
		}
		buf = buf[:len(buf)+n]
		if n < want && len(buf) == size {
			// A short read of a regular file that ends where fstat said it does: its end.
			return buf, mtime, nil
		}
	}
}
