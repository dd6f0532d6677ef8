package logs

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The journal on disk (journald's Storage=): every line a store keeps is also appended, as
// one JSON record, to files in a directory — /var/log/flint when it exists (persistent), else
// the manager's runtime directory (volatile) — so that the lines of earlier runs of the
// manager can be read after it restarted (flint logs -b -1, --list-boots). A run writes
// files named run-START-ID-N.jsonl (START its start in µs, ID the store's ID, N from 0);
// the current file is rotated at MaxFileBytes, and the oldest files of earlier runs (then the
// current run's older files) are removed while the directory holds more than MaxUse bytes,
// as journald's SystemMaxUse=/RuntimeMaxUse= and SystemMaxFileSize=.

// DiskOptions bound a journal directory.
type DiskOptions struct {
	MaxUse       int64 // all files together; 0: DefaultMaxUse of the directory's file system
	MaxFileBytes int64 // one file; 0: MaxUse/8, at most 128 MiB
}

// DefaultMaxUse is journald's default: a tenth of the file system, at most 4 GiB (and at
// least 1 MiB).
func DefaultMaxUse(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 64 << 20
	}
	return min(max(int64(st.Blocks)*int64(st.Bsize)/10, 1<<20), 4<<30)
}

// record is a line as the files hold it.
type record struct {
	Time       int64   `json:"t"` // µs since the epoch
	Mono       int64   `json:"m"` // µs
	Seq        uint64  `json:"i"`
	Boot       string  `json:"b,omitempty"` // the kernel's boot id
	Unit       string  `json:"u,omitempty"`
	Stream     string  `json:"s,omitempty"`
	PID        int     `json:"p,omitempty"`
	Priority   int     `json:"pr"`
	Text       string  `json:"x"`
	Ident      string  `json:"id,omitempty"`
	Comm       string  `json:"c,omitempty"`
	Exe        string  `json:"e,omitempty"`
	Cmdline    string  `json:"cl,omitempty"`
	UID        int     `json:"uid"`
	GID        int     `json:"gid"`
	Transport  string  `json:"tr,omitempty"`
	Invocation string  `json:"inv,omitempty"`
	StreamID   string  `json:"sid,omitempty"`
	Fields     []Field `json:"f,omitempty"`
}

func recordOf(l *Line) record {
	r := record{Time: l.Time.UnixMicro(), Mono: l.Mono.Microseconds(), Seq: l.Seq, Boot: BootID(), Unit: l.Unit,
		Stream: l.Stream, PID: l.PID, Priority: l.Priority, Text: l.Text, Fields: l.Fields}
	if s := l.Source; s != nil {
		r.Ident, r.Comm, r.Exe, r.Cmdline, r.UID, r.GID = s.Ident, s.Comm, s.Exe, s.Cmdline, s.UID, s.GID
		r.Transport, r.Invocation, r.StreamID = s.Transport, s.Invocation, s.StreamID
	}
	return r
}

func (r *record) line() Line {
	return Line{Time: time.UnixMicro(r.Time), Mono: time.Duration(r.Mono) * time.Microsecond, Seq: r.Seq, Unit: r.Unit,
		Stream: r.Stream, PID: r.PID, Priority: r.Priority, Text: r.Text, Fields: r.Fields,
		Source: &Source{Ident: r.Ident, Comm: r.Comm, Exe: r.Exe, Cmdline: r.Cmdline, UID: r.UID, GID: r.GID,
			Transport: r.Transport, Invocation: r.Invocation, StreamID: r.StreamID}}
}

// disk writes a store's lines to its directory. Lines are queued by the goroutines that
// store them and written by the disk's own goroutine, so that a unit's output is never read
// more slowly for the files: at most maxQueued bytes wait, lines beyond are counted and the
// count is written in their place.
type disk struct {
	dir    string
	opt    DiskOptions
	prefix string // run-START-ID-

	mu      sync.Mutex // guards queue, queued, dropped
	queue   []Line
	queued  int
	dropped int
	wake    chan struct{}      // a line was queued
	flushes chan chan struct{} // flush requests: closed once what was queued is written
	stop    chan struct{}
	done    chan struct{}

	// The writer goroutine's own.
	f    *os.File
	w    *bufio.Writer
	n    int   // the current file's number
	size int64 // the current file's size
	err  error // the first error; writing stops at it
	// Scratch of writeLine: a line's record and its encoding, reused from line to line
	// (json.Marshal's copy of each line was most of a boot's garbage in the manager).
	rec record
	buf bytes.Buffer
	enc *json.Encoder
}

const (
	// flushEvery is how often what was written is pushed to the file (journald syncs less
	// often; a line is on disk within this time unless flint is killed).
	flushEvery = 200 * time.Millisecond
	maxQueued  = 16 << 20
)

func openDisk(dir, id string, start time.Time, opt DiskOptions) (*disk, error) {
	if err := os.MkdirAll(dir, 0o2755); err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	if opt.MaxUse <= 0 {
		opt.MaxUse = DefaultMaxUse(dir)
	}
	if opt.MaxFileBytes <= 0 {
		opt.MaxFileBytes = min(opt.MaxUse/8, 128<<20)
	}
	opt.MaxFileBytes = max(opt.MaxFileBytes, 4<<10)
	d := &disk{dir: dir, opt: opt, prefix: fmt.Sprintf("run-%020d-%s-", start.UnixMicro(), id),
		wake: make(chan struct{}, 1), flushes: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	if err := d.open(); err != nil {
		return nil, err
	}
	d.vacuum()
	go d.writer()
	return d, nil
}

func (d *disk) name(n int) string { return filepath.Join(d.dir, d.prefix+strconv.Itoa(n)+".jsonl") }

// open starts file d.n.
func (d *disk) open() error {
	f, err := os.OpenFile(d.name(d.n), os.O_WRONLY|os.O_CREATE|os.O_APPEND|syscall.O_CLOEXEC, 0o640)
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	d.f, d.w, d.size = f, bufio.NewWriterSize(f, 64<<10), 0
	return nil
}

// write queues l for the writer.
func (d *disk) write(l *Line) {
	size := lineSize(l)
	d.mu.Lock()
	if d.queued+size > maxQueued {
		d.dropped++
		d.mu.Unlock()
		return
	}
	d.queue = append(d.queue, *l)
	d.queued += size
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// writer writes what is queued, flushes flushEvery after the first line written since the
// last flush and when asked, until stop. Nothing wakes it while nothing is written: an idle
// manager uses no CPU.
func (d *disk) writer() {
	defer close(d.done)
	var t *time.Timer
	var tick <-chan time.Time // nil (never ready) while no flush is due
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	var spare []Line
	dirty := false
	drain := func() {
		d.mu.Lock()
		q, dropped := d.queue, d.dropped
		d.queue, d.queued, d.dropped = spare[:0], 0, 0
		d.mu.Unlock()
		if dropped > 0 {
			d.writeLine(&Line{Time: time.Now(), Mono: Monotonic(), Stream: "manager", Priority: PriorityErr,
				Text: fmt.Sprintf("%d lines were not written here: they came faster than the disk took them.", dropped)})
		}
		for i := range q {
			d.writeLine(&q[i])
			q[i] = Line{}
		}
		spare = q
		dirty = dirty || len(q) > 0 || dropped > 0
		if dirty && tick == nil {
			if t == nil {
				t = time.NewTimer(flushEvery)
			} else {
				t.Reset(flushEvery)
			}
			tick = t.C
		}
	}
	flush := func() {
		if dirty && d.err == nil && d.w != nil {
			if err := d.w.Flush(); err != nil {
				d.err = fmt.Errorf("logs: %w", err)
			}
		}
		dirty = false
	}
	for {
		select {
		case <-d.wake:
			drain()
		case <-tick:
			tick = nil
			flush()
		case ack := <-d.flushes:
			drain()
			flush()
			close(ack)
		case <-d.stop:
			drain()
			flush()
			if d.f != nil {
				d.f.Close()
				d.f = nil
			}
			return
		}
	}
}

// writeLine appends one record, rotating first when the file is full; on the first error
// writing stops.
func (d *disk) writeLine(l *Line) {
	if d.err != nil || d.f == nil {
		return
	}
	if d.enc == nil {
		d.enc = json.NewEncoder(&d.buf)
	}
	d.buf.Reset()
	d.rec = recordOf(l)
	err := d.enc.Encode(&d.rec) // as json.Marshal, and a newline
	d.rec = record{}
	if err != nil {
		return
	}
	b := d.buf.Bytes()
	if d.size > 0 && d.size+int64(len(b)) > d.opt.MaxFileBytes {
		d.rotate()
		if d.err != nil {
			return
		}
	}
	if _, err := d.w.Write(b); err != nil {
		d.err = fmt.Errorf("logs: %w", err)
		return
	}
	d.size += int64(len(b))
}

// rotate closes the current file and starts the next.
func (d *disk) rotate() {
	if err := d.w.Flush(); err != nil {
		d.err = fmt.Errorf("logs: %w", err)
	}
	d.f.Close()
	d.n++
	if err := d.open(); err != nil {
		d.err, d.f = err, nil
		return
	}
	d.vacuum()
}

// vacuum removes the oldest files (never the current one) while the directory's journal
// files, the current one counted as full, take more than MaxUse.
func (d *disk) vacuum() {
	files, err := listFiles(d.dir)
	if err != nil {
		return
	}
	// The current file may still grow to MaxFileBytes: room is kept for it.
	cur := filepath.Base(d.name(d.n))
	total := d.opt.MaxFileBytes
	for _, f := range files {
		if f.name != cur {
			total += f.size
		}
	}
	for _, f := range files {
		if total <= d.opt.MaxUse {
			break
		}
		if f.name == cur {
			continue
		}
		if os.Remove(filepath.Join(d.dir, f.name)) == nil {
			total -= f.size
		}
	}
}

// flush returns once what was queued is written to the file.
func (d *disk) flush() {
	ack := make(chan struct{})
	select {
	case d.flushes <- ack:
		<-ack
	case <-d.done:
	}
}

// close writes what is queued and closes the file; it returns the first error met.
func (d *disk) close() error {
	select {
	case <-d.stop:
	default:
		close(d.stop)
	}
	<-d.done
	return d.err
}

// journalFile is one file of a journal directory.
type journalFile struct {
	name  string
	start int64  // the run's start, µs
	run   string // the run's ID
	n     int
	size  int64
}

// listFiles lists the journal files of dir, oldest first (by run start, then number).
func listFiles(dir string) ([]journalFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []journalFile
	for _, e := range ents {
		name := e.Name()
		rest, ok := strings.CutPrefix(name, "run-")
		if !ok || !strings.HasSuffix(rest, ".jsonl") {
			continue
		}
		parts := strings.Split(strings.TrimSuffix(rest, ".jsonl"), "-")
		if len(parts) != 3 {
			continue
		}
		start, err1 := strconv.ParseInt(parts[0], 10, 64)
		n, err2 := strconv.Atoi(parts[2])
		if err1 != nil || err2 != nil || !isID128(parts[1]) {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		out = append(out, journalFile{name: name, start: start, run: parts[1], n: n, size: info.Size()})
	}
	slices.SortFunc(out, func(a, b journalFile) int {
		if a.start != b.start {
			return cmp.Compare(a.start, b.start)
		}
		return a.n - b.n
	})
	return out, nil
}

// Run is one run of a manager whose lines a journal directory holds.
type Run struct {
	ID          string // the store's ID (the s= of its cursors)
	Start       time.Time
	First, Last time.Time // its first and last line kept
	files       []string  // paths, oldest first
}

// Runs lists the runs whose lines the directories hold, oldest first. A directory that does
// not exist holds none.
func Runs(dirs ...string) ([]Run, error) {
	var runs []Run
	for _, dir := range dirs {
		files, err := listFiles(dir)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if n := len(runs); n > 0 && runs[n-1].ID == f.run {
				runs[n-1].files = append(runs[n-1].files, filepath.Join(dir, f.name))
				continue
			}
			runs = append(runs, Run{ID: f.run, Start: time.UnixMicro(f.start), files: []string{filepath.Join(dir, f.name)}})
		}
	}
	slices.SortStableFunc(runs, func(a, b Run) int { return a.Start.Compare(b.Start) })
	out := runs[:0]
	for _, r := range runs {
		first, last, ok := r.bounds()
		if !ok {
			continue // no line left in its files
		}
		r.First, r.Last = first, last
		out = append(out, r)
	}
	return out, nil
}

// bounds reads the times of the run's first and last lines.
func (r *Run) bounds() (first, last time.Time, ok bool) {
	for _, p := range r.files {
		err := eachRecord(p, func(rec *record) bool {
			if !ok {
				first, ok = time.UnixMicro(rec.Time), true
			}
			last = time.UnixMicro(rec.Time)
			return true
		})
		if err != nil {
			continue
		}
	}
	return first, last, ok
}

// Select returns the run's lines that f matches, positioned by rg as Store.Select does.
func (r *Run) Select(f *Filter, rg Range) ([]Line, error) {
	if f == nil {
		f = &Filter{}
	}
	var es []Line
	for _, p := range r.files {
		err := eachRecord(p, func(rec *record) bool {
			l := rec.line()
			if f.Match(&l) {
				es = append(es, l)
			}
			return true
		})
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
	}
	// Lines are written as they are stored, not always in the order of their numbers.
	slices.SortStableFunc(es, func(a, b Line) int { return cmp.Compare(a.Seq, b.Seq) })
	return Position(es, rg, r.ID), nil
}

// eachRecord calls fn with each record of file p (lines that do not parse, such as a last
// one cut short by a crash, are skipped) until fn returns false.
func eachRecord(p string, fn func(*record) bool) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		var rec record
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			continue
		}
		if !fn(&rec) {
			return nil
		}
	}
	return sc.Err()
}

// Units are the names of the units the run has lines of.
func (r *Run) Units() []string {
	seen := map[string]bool{}
	for _, p := range r.files {
		eachRecord(p, func(rec *record) bool { seen[rec.Unit] = true; return true })
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
