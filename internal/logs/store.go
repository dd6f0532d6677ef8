// Package logs keeps the output of units as the journal keeps it: each service's stdout and
// stderr arrive through a pipe (Store.Pipe), the manager's own messages through Store.Append.
// Every line is an entry with what journald records about it (its writer's identifier, pid,
// command, invocation; the manager's structured fields), a sequence number and both clocks.
// Lines are kept in a ring buffer per unit (bounded memory), can be selected as journalctl
// selects entries (Select: matches, --since/--until, cursors, -n, -r) and followed (flint
// logs -f), and are optionally appended to dir/<unit>.log.
package logs

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Line is one log entry.
type Line struct {
	Time     time.Time
	Mono     time.Duration // CLOCK_MONOTONIC when stored (journald's __MONOTONIC_TIMESTAMP)
	Seq      uint64        // the store's sequence number, set by Append (1, 2, ...)
	Unit     string        // the unit it is about: its output (_SYSTEMD_UNIT) or the manager's message (UNIT)
	Stream   string        // "stdout", "stderr" or "manager"
	PID      int           // the writer's pid (_PID); 0 when unknown
	Priority int           // syslog level 0 (emerg) .. 7 (debug)
	Text     string        // MESSAGE: without the newline and without a "<N>" prefix
	Source   *Source       // who wrote it; nil when nothing is known
	Fields   []Field       // further journal fields (the manager's MESSAGE_ID, JOB_ID, ...)
}

// Source is what the journal records about the writer of lines, shared by all the lines of
// one stream (or of the manager): never changed once lines refer to it.
type Source struct {
	Ident      string // SYSLOG_IDENTIFIER
	Comm       string // _COMM
	Exe        string // _EXE
	Cmdline    string // _CMDLINE
	UID, GID   int
	Invocation string  // _SYSTEMD_INVOCATION_ID of a service's output
	StreamID   string  // _STREAM_ID
	Transport  string  // _TRANSPORT: "stdout" for a service's output, "journal" for the manager's messages
	Out        *Output // how a service's output lines are recorded (output.go); nil: info, "<N>" parsed
}

// Field is one journal field (NAME=value).
type Field struct {
	Name, Value string
}

// Default priorities: a service's lines are info unless they carry a "<N>" prefix
// (systemd's SyslogLevel= default).
const (
	PriorityErr    = 3
	PriorityNotice = 5
	PriorityInfo   = 6
)

// MaxLineBytes is the longest line kept whole; longer lines are split (journald's
// LineMax= default is 48K; flint uses 64 KiB).
const MaxLineBytes = 64 << 10

// followBuffer is how many lines a follower may lag behind before lines are dropped for it.
const followBuffer = 1024

// ring is one unit's last lines: at most max of them, and no more bytes than maxBytes
// (the newest line is kept whatever its size). A unit that logged once (a socket's
// "Listening on ...") holds one entry of 64 bytes and one string: with thousands of units
// the store is a large part of the manager's memory.
type ring struct {
	buf      []entry // grows as lines come, up to max entries
	bytes    int64   // the sizes of the lines held (lineSize)
	max      int32
	maxBytes int32 // 0: no bound
	start    int32 // index of the oldest
	n        int32
}

// entry is a Line as a ring keeps it: its unit is the ring's, its stream an index into the
// store's stream names, its Text and Fields one string (encodeFields).
type entry struct {
	wall   int64 // Time, ns since the epoch
	mono   int64
	seq    uint64
	data   string // Text, then Fields encoded
	src    *Source
	text   uint32 // len(Text)
	size   uint32 // lineSize of the line
	pid    int32
	prio   int16
	stream uint16
}

// lineOverhead is what a Line costs beyond its strings (the struct, its slice headers): the
// unit of the per-unit bound (SetUnitBytes), kept as it was when lines were stored whole.
const lineOverhead = 160

// lineSize is what l holds in memory, roughly.
func lineSize(l *Line) int {
	n := lineOverhead + len(l.Text)
	for _, f := range l.Fields {
		n += 32 + len(f.Name) + len(f.Value)
	}
	return n
}

// knownFields are the field names most lines carry (the manager's, journald's): encoded as
// a byte (their index) rather than spelled out in each line.
var knownFields = [...]string{"MESSAGE_ID", "JOB_ID", "JOB_TYPE", "JOB_RESULT", "INVOCATION_ID",
	"USER_INVOCATION_ID", "UNIT_RESULT", "N_RESTARTS", "EXIT_STATUS", "EXIT_CODE", "EXECUTABLE",
	"ERRNO", "CPU_USAGE_NSEC", "COMMAND", "CODE_FILE", "CODE_LINE", "CODE_FUNC",
	"SYSLOG_FACILITY", "SYSLOG_IDENTIFIER", "SYSLOG_PID", "SYSLOG_TIMESTAMP"}

// knownField is the index of each of knownFields.
var knownField = func() map[string]byte {
	m := make(map[string]byte, len(knownFields))
	for i, n := range knownFields {
		m[n] = byte(i)
	}
	return m
}()

// encodeFields appends fs to b: for each, its name (one of knownFields: a 0 and its index;
// else its length plus one as a uvarint, then the name), then its value's length (uvarint)
// and the value.
func encodeFields(b []byte, fs []Field) []byte {
	for _, f := range fs {
		if i, ok := knownField[f.Name]; ok {
			b = append(b, 0, i)
		} else {
			b = binary.AppendUvarint(b, uint64(len(f.Name))+1)
			b = append(b, f.Name...)
		}
		b = binary.AppendUvarint(b, uint64(len(f.Value)))
		b = append(b, f.Value...)
	}
	return b
}

// decodeFields reverses encodeFields; the strings share s's memory.
func decodeFields(s string) []Field {
	uvarint := func() uint64 {
		var n uint64
		for i := 0; i < len(s); i++ {
			n |= uint64(s[i]&0x7f) << (7 * i)
			if s[i] < 0x80 {
				s = s[i+1:]
				return n
			}
		}
		s = ""
		return 0
	}
	take := func(n uint64) string {
		n = min(n, uint64(len(s)))
		v := s[:n]
		s = s[n:]
		return v
	}
	var fs []Field
	for len(s) > 0 {
		var name string
		if n := uvarint(); n > 0 {
			name = take(n - 1)
		} else if len(s) > 0 {
			if i := int(s[0]); i < len(knownFields) {
				name = knownFields[i]
			}
			s = s[1:]
		}
		fs = append(fs, Field{Name: name, Value: take(uvarint())})
	}
	return fs
}

// encode is l as its unit's ring keeps it; s.mu is held.
func (s *Store) encode(l *Line) entry {
	e := entry{wall: l.Time.UnixNano(), mono: int64(l.Mono), seq: l.Seq, data: l.Text, src: l.Source,
		text: uint32(len(l.Text)), size: uint32(min(uint64(lineSize(l)), math.MaxUint32)), pid: int32(l.PID),
		prio: int16(l.Priority), stream: s.streamIndex(l.Stream)}
	if len(l.Fields) > 0 {
		e.data = string(encodeFields([]byte(l.Text), l.Fields))
	}
	return e
}

// streamIndex is name's index in s.names, added if new; s.mu is held. The names are the
// writers' kinds ("stdout", "manager", ...): a handful.
func (s *Store) streamIndex(name string) uint16 {
	if i, ok := s.streamIdx[name]; ok {
		return i
	}
	if len(s.names) == math.MaxUint16 {
		return 0 // never with the store's callers; the line shows as the first stream's
	}
	i := uint16(len(s.names))
	s.names = append(s.names, name)
	s.streamIdx[name] = i
	return i
}

// line is e of the unit named unit, without its Fields (withFields adds them); s.mu is held.
func (s *Store) line(unit string, e *entry) Line {
	return Line{Time: time.Unix(0, e.wall), Mono: time.Duration(e.mono), Seq: e.seq, Unit: unit,
		Stream: s.names[e.stream], PID: int(e.pid), Priority: int(e.prio), Text: e.data[:e.text],
		Source: e.src}
}

// withFields sets l's Fields from e.
func withFields(l *Line, e *entry) {
	if int(e.text) < len(e.data) {
		l.Fields = decodeFields(e.data[e.text:])
	}
}

func (r *ring) add(e entry) {
	if r.max <= 0 {
		return
	}
	if r.n == r.max {
		r.drop()
	}
	if int(r.n) == len(r.buf) {
		// Grow as lines come (a unit that logs one line holds one entry, not max), the
		// oldest first.
		nb := make([]entry, min(int(r.max), max(1, 2*len(r.buf))))
		for i := 0; i < int(r.n); i++ {
			nb[i] = r.buf[(int(r.start)+i)%len(r.buf)]
		}
		r.buf, r.start = nb, 0
	}
	r.buf[(int(r.start)+int(r.n))%len(r.buf)] = e
	r.n++
	r.bytes += int64(e.size)
	for r.maxBytes > 0 && r.bytes > int64(r.maxBytes) && r.n > 1 {
		r.drop()
	}
}

// drop forgets the oldest line.
func (r *ring) drop() {
	r.bytes -= int64(r.buf[r.start].size)
	r.buf[r.start] = entry{}
	r.start = int32((int(r.start) + 1) % len(r.buf))
	r.n--
}

func (r *ring) each(f func(e *entry)) {
	for i := 0; i < int(r.n); i++ {
		f(&r.buf[(int(r.start)+i)%len(r.buf)])
	}
}

// follower is one Follow. Its queue holds pointers, so that an idle follower costs 8 KiB
// rather than followBuffer whole Lines; every follower of a line gets the same *Line.
type follower struct {
	match func(*Line) bool // nil: every line
	ch    chan *Line
	fn    func(*Line) // FollowFunc's (ch is nil then)
}

// Store holds the lines of all units. Its methods are safe for concurrent use.
type Store struct {
	perUnit int
	// unitBytes bounds the memory of one unit's lines (DefaultUnitBytes unless SetUnitBytes).
	unitBytes int
	dir       string
	id        string // 128 random bits in hex: the s= of this store's cursors

	mu        sync.Mutex
	seq       uint64
	units     map[string]*ring
	names     []string            // the Stream names of the lines held (entry.stream)
	streamIdx map[string]uint16   // their indexes
	files     map[string]*os.File // dir/<unit>.log, opened on first line
	followers map[*follower]struct{}
	streams   map[*os.File]*stream  // write end handed out by Pipe -> its reader
	byPID     map[int][]*stream     // the streams a process writes to (SetPID), for Sync
	readers   map[*os.File]struct{} // read ends, closed by Close
	pending   []pendingReader       // PipeDeferred's, until StartReaders
	closed    bool
	fileErr   error // first error writing a log file
	tap       func(*Line)
	disk      *disk       // the journal files (Persist); nil: none
	rate      rateLimiter // LogRateLimitIntervalSec=/LogRateLimitBurst= (ratelimit.go)
	wg        sync.WaitGroup

	// uidLast: the rings of unit-less lines per uid (uidring.go).
	uidLast map[string]uint64
}

// NewStore returns a store keeping linesPerUnit lines per unit (at least 1). With dir != "",
// every line is also appended to dir/<unit>.log (the directory is created when needed).
func NewStore(linesPerUnit int, dir string) *Store {
	if linesPerUnit < 1 {
		linesPerUnit = 1
	}
	var id [16]byte
	rand.Read(id[:])
	return &Store{
		perUnit:   linesPerUnit,
		unitBytes: DefaultUnitBytes,
		dir:       dir,
		id:        hex.EncodeToString(id[:]),
		byPID:     map[int][]*stream{},
		units:     map[string]*ring{},
		streamIdx: map[string]uint16{},
		files:     map[string]*os.File{},
		followers: map[*follower]struct{}{},
		streams:   map[*os.File]*stream{},
		readers:   map[*os.File]struct{}{},
	}
}

// DefaultUnitBytes is how much memory one unit's lines may hold by default: older lines are
// dropped beyond it, whatever the unit writes.
const DefaultUnitBytes = 16 << 20

// SetUnitBytes bounds the memory of each unit's lines (from the next unit on; call it before
// lines are stored). n <= 0: no bound beyond the line count.
func (s *Store) SetUnitBytes(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unitBytes = n
}

// SetTap has tap called with every line stored from now on (nil: none), after it is
// stored, outside the store's lock, on the goroutine that stored it; tap must not change
// the line.
func (s *Store) SetTap(tap func(*Line)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tap = tap
}

// ID is the store's identity (random, one per manager run): the s= of its cursors.
func (s *Store) ID() string { return s.id }

// LastSeq is the sequence number of the last line stored (0 before the first).
func (s *Store) LastSeq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq
}

// Append stores one line (the manager's own messages). A zero Time is set to now, a zero
// Mono to CLOCK_MONOTONIC now; Seq is set.
func (s *Store) Append(l Line) {
	if l.Time.IsZero() {
		l.Time = time.Now()
	}
	if l.Mono == 0 {
		l.Mono = Monotonic()
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.seq++
	l.Seq = s.seq
	r := s.ringFor(&l)
	r.add(s.encode(&l))
	s.writeFile(l)
	var shared *Line
	for f := range s.followers {
		if f.match != nil && !f.match(&l) {
			continue
		}
		if shared == nil {
			lc := l // allocated here only: a store without followers allocates nothing
			shared = &lc
		}
		if f.fn != nil {
			f.fn(shared)
			continue
		}
		select {
		case f.ch <- shared:
		default: // a slow follower loses lines; producers never wait
		}
	}
	tap, d := s.tap, s.disk
	s.mu.Unlock()
	if d != nil {
		d.write(&l)
	}
	if tap != nil {
		tap(&l)
	}
}

// Flush writes what is buffered for the journal files (Persist) to them.
func (s *Store) Flush() {
	s.mu.Lock()
	d := s.disk
	s.mu.Unlock()
	if d != nil {
		d.flush()
	}
}

// Persist has every line stored from now on also written to the journal files of dir
// (persist.go), bounded by opt. The directory is made if needed.
func (s *Store) Persist(dir string, opt DiskOptions) error {
	d, err := openDisk(dir, s.id, time.Now(), opt)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.disk != nil {
		s.disk.close()
	}
	s.disk = d
	return nil
}

// FormatLine is the text form used in log files:
// "2006-01-02T15:04:05.000000Z07:00 UNIT[PID] STREAM <PRIORITY> TEXT", one line per Line: a
// newline inside TEXT (possible only in the manager's own messages) is written as "\n".
func FormatLine(l Line) string {
	return fmt.Sprintf("%s %s[%d] %s <%d> %s", l.Time.Format("2006-01-02T15:04:05.000000Z07:00"),
		l.Unit, l.PID, l.Stream, l.Priority, strings.ReplaceAll(l.Text, "\n", `\n`))
}

// writeFile appends l to its unit's file; s.mu is held.
func (s *Store) writeFile(l Line) {
	if s.dir == "" {
		return
	}
	f := s.files[l.Unit]
	if f == nil {
		if err := os.MkdirAll(s.dir, 0o755); err != nil {
			s.noteFileErr(err)
			return
		}
		name := strings.ReplaceAll(l.Unit, "/", "_")
		if name == "" || name == "." || name == ".." {
			name = "_" + name
		}
		var err error
		f, err = os.OpenFile(filepath.Join(s.dir, name+".log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			s.noteFileErr(err)
			return
		}
		s.files[l.Unit] = f
	}
	if _, err := f.WriteString(FormatLine(l) + "\n"); err != nil {
		s.noteFileErr(err)
	}
}

func (s *Store) noteFileErr(err error) {
	if s.fileErr == nil {
		s.fileErr = fmt.Errorf("logs: %w", err)
	}
}

// Query returns the newest n lines (all kept lines when n <= 0) of the given units (all units
// when units is empty) whose Time is not before since (no limit when since is zero), oldest
// first.
func (s *Store) Query(units []string, n int, since time.Time) []Line {
	return s.Tail(&Filter{Units: exactNames(units)}, n, since)
}

// Tail returns the newest n lines (all when n <= 0) that f matches and whose Time is not
// before since (no limit when zero), oldest first.
func (s *Store) Tail(f *Filter, n int, since time.Time) []Line {
	var g Filter
	if f != nil {
		g = *f
	}
	g.notBefore = since
	if n <= 0 {
		n = -1
	}
	return s.Select(&g, Range{Lines: n})
}

// Monotonic is CLOCK_MONOTONIC now.
func Monotonic() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// Follow delivers every line stored from now on that f matches (every line for a nil f). The
// channel has room for a burst; a follower that falls further behind misses lines rather than
// slowing anyone. The lines are shared by all followers: read them, never change them.
// cancel (idempotent) stops delivery and closes the channel; Close does too.
func (s *Store) Follow(f *Filter) (lines <-chan *Line, cancel func()) {
	fl := &follower{ch: make(chan *Line, followBuffer)}
	if f != nil {
		fl.match = f.Match
	}
	return s.follow(fl)
}

// FollowFunc has fn called with every line stored from now on, in the order they are
// stored, with the store's lock held: nothing is missed, and fn must be quick and must not
// call the store. The line is shared (never change it). cancel (idempotent) stops the calls.
func (s *Store) FollowFunc(fn func(*Line)) (cancel func()) {
	_, cancel = s.follow(&follower{fn: fn})
	return cancel
}

func (s *Store) follow(f *follower) (lines <-chan *Line, cancel func()) {
	s.mu.Lock()
	if s.closed {
		if f.ch != nil {
			close(f.ch)
		}
	} else {
		s.followers[f] = struct{}{}
	}
	s.mu.Unlock()
	var once sync.Once
	return f.ch, func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if _, ok := s.followers[f]; ok {
				delete(s.followers, f)
				if f.ch != nil {
					close(f.ch)
				}
			}
		})
	}
}

// Close stops all followers, closes the read ends of all pipes (their readers store what they
// already read and end), waits for the readers, and closes the log files. It returns the first
// error met writing a log file.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	for f := range s.followers {
		if f.ch != nil {
			close(f.ch)
		}
		delete(s.followers, f)
	}
	for r := range s.readers {
		r.Close()
	}
	s.pending = nil
	s.mu.Unlock()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, f := range s.files {
		if err := f.Close(); err != nil {
			s.noteFileErr(err)
		}
	}
	s.files = nil
	if s.disk != nil {
		if err := s.disk.close(); err != nil {
			s.noteFileErr(err)
		}
		s.disk = nil
	}
	return s.fileErr
}
