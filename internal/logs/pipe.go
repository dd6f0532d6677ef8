package logs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// stream is one pipe's reader.
type stream struct {
	unit, name string
	pid        atomic.Int64
	// known is closed once the PID is known (at Pipe, by SetPID, or after pidWait): the first
	// line a child writes right after its exec waits for it, so that it carries the PID.
	known     chan struct{}
	knownOnce sync.Once
	// tmpl is what the manager knows of the writer (identifier, command, credentials); src,
	// made from it at the first line with what /proc says of the process then (its _COMM and
	// _EXE after its exec), is shared by every line. Only the reader goroutine sets src.
	tmpl *Source
	src  *Source
	// read counts the bytes read from the pipe and done those of them whose lines are
	// stored: both equal while the reader waits for more (Sync).
	read, done atomic.Int64
	// readMu is held by the reader around each read(2) and the count of its bytes, and by
	// Sync around its look at the pipe and the counts: bytes are either still in the pipe or
	// already counted in read, never in between.
	readMu sync.Mutex
	r      *os.File // the read end (FIONREAD)
}

// pidWait bounds how long a line waits for SetPID (a caller that never calls it).
const pidWait = 200 * time.Millisecond

func (st *stream) markKnown() { st.knownOnce.Do(func() { close(st.known) }) }

// Pipe returns the write end of a new pipe whose lines are stored for unit, with Stream set to
// stream ("stdout" or "stderr") and PID to pid (0 if not known yet: see SetPID); src (may be
// nil) is what is known of the writer. Hand the write end to the child (it is close-on-exec
// here and blocking, as a child expects its stdout to be) and close it after the child is
// started. Lines end at '\n'; longer than MaxLineBytes they are split; a last line without
// '\n' is stored when every writer has closed the pipe. A leading "<N>" (N 0-7) sets the
// line's priority, as with journald's SyslogLevelPrefix=.
func (s *Store) Pipe(unit, streamName string, pid int, src *Source) (*os.File, error) {
	return s.pipe(unit, streamName, pid, src, false)
}

// PipeDeferred is Pipe whose reader starts only at the next StartReaders: a manager starting
// many services in one go then creates no goroutine (and wakes no other thread) per pipe while
// it spawns them. Until then the pipe buffers what the child writes.
func (s *Store) PipeDeferred(unit, streamName string, src *Source) (*os.File, error) {
	return s.pipe(unit, streamName, 0, src, true)
}

// StartReaders starts the readers of the pipes PipeDeferred made since the last call.
func (s *Store) StartReaders() {
	s.mu.Lock()
	if len(s.pending) == 0 {
		s.mu.Unlock()
		return
	}
	p := s.pending
	s.pending = nil
	s.wg.Add(len(p))
	s.mu.Unlock()
	for _, x := range p {
		go s.read(x.r, x.w, x.st)
	}
}

type pendingReader struct {
	r, w *os.File
	st   *stream
}

func (s *Store) pipe(unit, streamName string, pid int, src *Source, deferred bool) (*os.File, error) {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("logs: pipe for %s %s: %w", unit, streamName, err)
	}
	// Only our read end is non-blocking (for the poller); the write end stays blocking.
	if err := syscall.SetNonblock(p[0], true); err != nil {
		syscall.Close(p[0])
		syscall.Close(p[1])
		return nil, fmt.Errorf("logs: pipe for %s %s: %w", unit, streamName, err)
	}
	r := os.NewFile(uintptr(p[0]), unit+" "+streamName+" (read)")
	w := os.NewFile(uintptr(p[1]), unit+" "+streamName)
	st := &stream{r: r, unit: unit, name: streamName, known: make(chan struct{}), tmpl: src}
	st.pid.Store(int64(pid))
	s.mu.Lock()
	if pid != 0 {
		st.markKnown()
		s.byPID[pid] = append(s.byPID[pid], st)
	}
	if s.closed {
		s.mu.Unlock()
		r.Close()
		w.Close()
		return nil, errors.New("logs: store closed")
	}
	s.streams[w] = st
	s.readers[r] = struct{}{}
	if deferred {
		s.pending = append(s.pending, pendingReader{r, w, st})
		s.mu.Unlock()
		return w, nil
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go s.read(r, w, st)
	return w, nil
}

// SetPID sets the PID recorded for lines read from now on from the pipe whose write end w
// Pipe returned (the child's pid is known only after it started).
func (s *Store) SetPID(w *os.File, pid int) {
	s.mu.Lock()
	st := s.streams[w]
	if st != nil {
		s.byPID[pid] = append(s.byPID[pid], st)
	}
	s.mu.Unlock()
	if st != nil {
		st.pid.Store(int64(pid))
		st.markKnown()
	}
}

// syncWait bounds how long Sync waits for a reader to store what is in its pipe (a variable
// so that a test on a loaded machine can wait for the order itself, not race the bound).
var syncWait = 100 * time.Millisecond

// Sync waits until the lines that process pid (just reaped) left in its pipes are stored,
// so that the manager's message about its exit comes after them, as in the journal; a
// reader that does not catch up within syncWait is not waited for longer. Lines written
// after the call (by processes that share the pipe) are not waited for.
func (s *Store) Sync(pid int) {
	s.mu.Lock()
	sts := s.byPID[pid]
	delete(s.byPID, pid)
	s.mu.Unlock()
	waitStored(sts, syncWait)
}

// Drain waits until what is in every pipe now has been read and stored (the manager's end:
// the last lines of its units reach the journal files and the console), for at most
// timeout. Readers of PipeDeferred pipes are started first. Lines written meanwhile (by
// processes still running) may or may not be waited for.
func (s *Store) Drain(timeout time.Duration) {
	s.StartReaders()
	s.mu.Lock()
	sts := make([]*stream, 0, len(s.streams))
	for _, st := range s.streams {
		sts = append(sts, st)
	}
	s.mu.Unlock()
	waitStored(sts, timeout)
}

// waitStored waits until each of sts has nothing left in its pipe and has stored all it
// read, giving up once limit has passed since the first stream found behind.
func waitStored(sts []*stream, limit time.Duration) {
	var deadline time.Time
	for _, st := range sts {
		for {
			st.readMu.Lock()
			n, err := pending(st.r)
			r, d := st.read.Load(), st.done.Load()
			st.readMu.Unlock()
			if err != nil || n == 0 && d == r {
				break // nothing left in the pipe, and all that was read is stored (or the pipe is gone)
			}
			if deadline.IsZero() {
				deadline = time.Now().Add(limit)
			} else if time.Now().After(deadline) {
				return
			}
			time.Sleep(50 * time.Microsecond)
		}
	}
}

func (s *Store) read(r, w *os.File, st *stream) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.streams, w)
		delete(s.readers, r)
		if pid := int(st.pid.Load()); pid != 0 {
			if l := slices.DeleteFunc(s.byPID[pid], func(x *stream) bool { return x == st }); len(l) > 0 {
				s.byPID[pid] = l
			} else {
				delete(s.byPID, pid)
			}
		}
		s.mu.Unlock()
		r.Close()
	}()
	br := &lineReader{r: &pipeReader{f: r, st: st}, read: &st.read, done: &st.done}
	split := false // the previous piece was a full buffer without '\n'
	for {
		b, err := br.ReadSlice()
		switch {
		case err == nil:
			// The '\n' right after a split piece ends that line; it is not an empty one.
			if !split || len(b) > 1 {
				s.store(st, b[:len(b)-1])
			}
			split = false
		case errors.Is(err, bufio.ErrBufferFull):
			s.store(st, b)
			split = true
		default:
			if len(b) > 0 {
				s.store(st, b)
			}
			if err != io.EOF && !errors.Is(err, os.ErrClosed) {
				s.Append(Line{Unit: st.unit, Stream: "manager", Priority: PriorityErr,
					Text: fmt.Sprintf("reading %s: %v", st.name, err)})
			}
			return
		}
	}
}

func (s *Store) store(st *stream, b []byte) {
	select {
	case <-st.known:
	default:
		t := time.NewTimer(pidWait)
		select {
		case <-st.known:
		case <-t.C:
			st.markKnown()
		}
		t.Stop()
	}
	pid := int(st.pid.Load())
	if st.src == nil {
		st.src = sourceOf(st.tmpl, pid)
	}
	if o := st.src.Out; o != nil {
		prio, text, keep := o.line(b)
		if keep && s.Admit(st.unit, o.Rate, prio) {
			s.Append(Line{Unit: st.unit, Stream: st.name, PID: pid, Priority: prio, Text: string(text), Source: st.src, Fields: o.fields})
		}
		return
	}
	prio, text := ParsePriority(b, PriorityInfo)
	if !s.Admit(st.unit, DefaultRateLimit, prio) {
		return
	}
	s.Append(Line{Unit: st.unit, Stream: st.name, PID: pid, Priority: prio, Text: string(text), Source: st.src})
}

// pending is how many bytes wait in pipe r (FIONREAD, which Linux calls TIOCINQ); an error
// once r is closed.
func pending(r *os.File) (int, error) {
	rc, err := r.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	cerr := rc.Control(func(fd uintptr) { n, err = unix.IoctlGetInt(int(fd), unix.TIOCINQ) })
	if cerr != nil {
		return 0, cerr
	}
	return n, err
}

// sourceOf completes what the manager knew of a stream's writer (tmpl) with its _COMM and
// _EXE as /proc shows them now (after its exec), as journald reads them; the manager's
// guesses stay when the process is gone.
func sourceOf(tmpl *Source, pid int) *Source {
	src := &Source{Transport: "stdout"}
	if tmpl != nil {
		*src = *tmpl
		src.Transport = "stdout"
	}
	if pid <= 0 {
		return src
	}
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); err == nil {
		src.Comm = strings.TrimSuffix(string(b), "\n")
	}
	if exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe"); err == nil {
		src.Exe = exe
	} else if exe, err := filepath.EvalSymlinks(src.Exe); err == nil {
		src.Exe = exe // gone already: the file it ran, as /proc would have shown it
	}
	return src
}

// ParsePriority splits a leading "<N>" (N a single digit 0-7) off line and returns N, or def
// and the line unchanged when there is no such prefix.
func ParsePriority(line []byte, def int) (int, []byte) {
	if len(line) >= 3 && line[0] == '<' && line[2] == '>' && line[1] >= '0' && line[1] <= '7' {
		return int(line[1] - '0'), line[3:]
	}
	return def, line
}

// lineReader reads lines as bufio.Reader.ReadSlice('\n') with a MaxLineBytes buffer would,
// but its buffer starts small and grows only as long lines need: every service has two log
// pipes, and most write nothing or short lines.
type lineReader struct {
	r          io.Reader
	buf        []byte
	start, end int // buffered data is buf[start:end]
	err        error
	// read and done (may be nil): read counts the bytes r has read (r counts them); done
	// catches up with read when the buffer holds no complete line any more (the caller has
	// stored them all), before the next read.
	read, done *atomic.Int64
}

const lineReaderStart = 512

// ReadSlice returns the next line including its '\n'; MaxLineBytes without a '\n' with
// bufio.ErrBufferFull; at the end, what is left with the read error. The slice is valid until
// the next call.
func (l *lineReader) ReadSlice() ([]byte, error) {
	scanned := 0
	for {
		if i := bytes.IndexByte(l.buf[l.start+scanned:l.end], '\n'); i >= 0 {
			line := l.buf[l.start : l.start+scanned+i+1]
			l.start += scanned + i + 1
			return line, nil
		}
		scanned = l.end - l.start
		if scanned >= MaxLineBytes {
			line := l.buf[l.start : l.start+MaxLineBytes]
			l.start += MaxLineBytes
			return line, bufio.ErrBufferFull
		}
		if l.err != nil {
			line := l.buf[l.start:l.end]
			l.start = l.end
			return line, l.err
		}
		if l.start > 0 {
			copy(l.buf, l.buf[l.start:l.end])
			l.end -= l.start
			l.start = 0
		}
		if l.end == len(l.buf) {
			size := max(lineReaderStart, 2*len(l.buf))
			l.buf = append(l.buf, make([]byte, min(size, MaxLineBytes)-len(l.buf))...)
		}
		if l.done != nil {
			l.done.Store(l.read.Load())
		}
		n, err := l.r.Read(l.buf[l.end:])
		l.end += n
		if err != nil {
			l.err = err
		}
	}
}

// pipeReader reads a stream's pipe and counts what it read in st.read under st.readMu, so
// that Sync never sees bytes that have left the pipe but are not counted yet. It waits for
// data in the poller, without the lock.
type pipeReader struct {
	f  *os.File
	st *stream
}

func (p *pipeReader) Read(b []byte) (int, error) {
	rc, err := p.f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var rerr error
	cerr := rc.Read(func(fd uintptr) bool {
		p.st.readMu.Lock()
		for {
			n, rerr = unix.Read(int(fd), b)
			if rerr != unix.EINTR {
				break
			}
		}
		if n > 0 {
			p.st.read.Add(int64(n))
		}
		p.st.readMu.Unlock()
		return rerr != unix.EAGAIN
	})
	if cerr != nil {
		// The poller's only error here (no deadlines are set): the file was closed.
		return 0, &os.PathError{Op: "read", Path: p.f.Name(), Err: os.ErrClosed}
	}
	if rerr != nil {
		return 0, &os.PathError{Op: "read", Path: p.f.Name(), Err: rerr}
	}
	if n <= 0 {
		return 0, io.EOF
	}
	return n, nil
}
