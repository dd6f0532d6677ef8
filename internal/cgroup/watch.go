package cgroup

import (
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Watcher tells when files change, by inotify IN_MODIFY: the kernel modifies a cgroup2
// group's cgroup.events when its populated (or frozen) state changes, and memory.events when
// a counter (oom_kill) rises, so that a manager learns of an emptied group or an OOM kill
// without polling. v1 has no such file (its release agent is one program for the whole
// hierarchy, the machine's init's): there the manager polls.
//
// One inotify descriptor and one goroutine serve every watch; each watch's function runs on
// that goroutine.
type Watcher struct {
	f *os.File // the inotify descriptor, non-blocking in Go's poller: Close ends the reader

	mu    sync.Mutex
	fns   map[int32]func()
	paths map[string]int32
}

// NewWatcher makes a Watcher and starts its goroutine.
func NewWatcher() (*Watcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("inotify_init1", err)
	}
	w := &Watcher{f: os.NewFile(uintptr(fd), "inotify"), fns: map[int32]func(){}, paths: map[string]int32{}}
	go w.read()
	return w, nil
}

// Watch calls fn after each modification of file, until Unwatch; a second Watch of the same
// file replaces its function.
func (w *Watcher) Watch(file string, fn func()) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var wd int
	err := w.rawControl(func(fd int) error {
		var err error
		wd, err = unix.InotifyAddWatch(fd, file, unix.IN_MODIFY)
		return err
	})
	if err != nil {
		return &os.PathError{Op: "inotify_add_watch", Path: file, Err: err}
	}
	w.fns[int32(wd)] = fn
	w.paths[file] = int32(wd)
	return nil
}

// Unwatch ends the watch of file (nothing when there is none).
func (w *Watcher) Unwatch(file string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	wd, ok := w.paths[file]
	if !ok {
		return
	}
	delete(w.paths, file)
	delete(w.fns, wd)
	w.rawControl(func(fd int) error { _, err := unix.InotifyRmWatch(fd, uint32(wd)); return err })
}

// Close ends every watch and the goroutine.
func (w *Watcher) Close() error { return w.f.Close() }

func (w *Watcher) rawControl(fn func(fd int) error) error {
	rc, err := w.f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

func (w *Watcher) read() {
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+16))
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			return // closed
		}
		var fire []func()
		seen := map[int32]bool{} // one call per read for a file modified several times
		w.mu.Lock()
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			if fn := w.fns[ev.Wd]; fn != nil && !seen[ev.Wd] {
				seen[ev.Wd] = true
				fire = append(fire, fn)
			}
			if ev.Mask&unix.IN_IGNORED != 0 {
				// The file is gone (its group removed): the kernel dropped the watch.
				delete(w.fns, ev.Wd)
				for p, wd := range w.paths {
					if wd == ev.Wd {
						delete(w.paths, p)
					}
				}
			}
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
		w.mu.Unlock()
		for _, fn := range fire {
			fn()
		}
	}
}
