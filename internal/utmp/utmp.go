// Package utmp writes the login records of UtmpIdentifier= (systemd.exec(5)) as systemd 252's
// utmp-wtmp.c does through glibc: utmp (/run/utmp) is a table with one record per ut_id,
// overwritten in place (pututxline), wtmp (/var/log/wtmp) a log each record is appended to
// (updwtmpx). Records are glibc's struct utmpx on Linux (384 bytes, little-endian, 32-bit
// times). A missing file means the records are not wanted: nothing is written to it, as
// systemd ignores ENOENT.
package utmp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Default paths (glibc's _PATH_UTMPX and _PATH_WTMPX).
const (
	DefaultUtmp = "/run/utmp"
	DefaultWtmp = "/var/log/wtmp"
)

// Record types (ut_type).
const (
	InitProcess  = 5
	LoginProcess = 6
	UserProcess  = 7
	DeadProcess  = 8
)

const (
	recordSize = 384
	offPID     = 4
	offLine    = 8
	offID      = 40
	offUser    = 44
	offHost    = 76
	offExit    = 332
	offSession = 336
	offTV      = 340
	lineSize   = 32
	idSize     = 4
	userSize   = 32
	hostSize   = 256
)

// Record is one utmpx record.
type Record struct {
	Type        int
	PID         int
	Line        string // the terminal without "/dev/" ("" none)
	ID          string // at most 4 bytes
	User        string
	Host        string
	Termination int // ut_exit.e_termination
	Exit        int // ut_exit.e_exit
	Session     int
	Time        time.Time // zero: none (0)
}

func putString(b []byte, s string) {
	clear(b)
	copy(b, s)
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// Marshal is r as the 384 bytes of a struct utmpx.
func (r *Record) Marshal() []byte {
	b := make([]byte, recordSize)
	binary.LittleEndian.PutUint16(b[0:], uint16(r.Type))
	binary.LittleEndian.PutUint32(b[offPID:], uint32(r.PID))
	putString(b[offLine:offLine+lineSize], r.Line)
	putString(b[offID:offID+idSize], r.ID)
	putString(b[offUser:offUser+userSize], r.User)
	putString(b[offHost:offHost+hostSize], r.Host)
	binary.LittleEndian.PutUint16(b[offExit:], uint16(r.Termination))
	binary.LittleEndian.PutUint16(b[offExit+2:], uint16(r.Exit))
	binary.LittleEndian.PutUint32(b[offSession:], uint32(r.Session))
	if !r.Time.IsZero() {
		binary.LittleEndian.PutUint32(b[offTV:], uint32(r.Time.Unix()))
		binary.LittleEndian.PutUint32(b[offTV+4:], uint32(r.Time.Nanosecond()/1000))
	}
	return b
}

// Unmarshal parses a struct utmpx.
func Unmarshal(b []byte) Record {
	r := Record{
		Type:        int(int16(binary.LittleEndian.Uint16(b[0:]))),
		PID:         int(int32(binary.LittleEndian.Uint32(b[offPID:]))),
		Line:        cString(b[offLine : offLine+lineSize]),
		ID:          cString(b[offID : offID+idSize]),
		User:        cString(b[offUser : offUser+userSize]),
		Host:        cString(b[offHost : offHost+hostSize]),
		Termination: int(int16(binary.LittleEndian.Uint16(b[offExit:]))),
		Exit:        int(int16(binary.LittleEndian.Uint16(b[offExit+2:]))),
		Session:     int(int32(binary.LittleEndian.Uint32(b[offSession:]))),
	}
	if sec := binary.LittleEndian.Uint32(b[offTV:]); sec != 0 {
		r.Time = time.Unix(int64(sec), int64(binary.LittleEndian.Uint32(b[offTV+4:]))*1000)
	}
	return r
}

// Files are the utmp and wtmp files written ("" leaves one out).
type Files struct {
	Utmp, Wtmp string
	Now        func() time.Time // nil: time.Now
}

// Default are the system's files.
var Default = Files{Utmp: DefaultUtmp, Wtmp: DefaultWtmp}

func (f Files) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// idSuffix is id as ut_id holds it: whole if it fits, else its last 4 bytes.
func idSuffix(id string) string {
	if len(id) <= idSize {
		return id
	}
	return id[len(id)-idSize:]
}

// InitProcess writes the records of a process started with UtmpIdentifier=id
// (utmp_put_init_process): INIT_PROCESS; for typ LoginProcess or UserProcess then
// LOGIN_PROCESS; for UserProcess then USER_PROCESS with user. line is the terminal
// (TTYPath= without "/dev/"), sid the process's session.
func (f Files) InitProcess(id string, pid, sid int, line string, typ int, user string) error {
	r := Record{Type: InitProcess, PID: pid, Session: sid, ID: idSuffix(id), Line: line, Time: f.now()}
	if err := f.both(&r); err != nil {
		return err
	}
	if typ == LoginProcess || typ == UserProcess {
		r.Type = LoginProcess
		if err := f.both(&r); err != nil {
			return err
		}
	}
	if typ == UserProcess {
		r.Type = UserProcess
		if len(user) > userSize-1 {
			user = user[:userSize-1]
		}
		r.User = user
		return f.both(&r)
	}
	return nil
}

// DeadProcess marks the record of id dead when it is process pid's
// (utmp_put_dead_process): code is how it ended (CLD_EXITED 1, CLD_KILLED 2, CLD_DUMPED 3),
// status its exit status or signal. The wtmp record has the current time, the utmp one none.
func (f Files) DeadProcess(id string, pid, code, status int) error {
	if f.Utmp == "" {
		return nil
	}
	found, ok, err := find(f.Utmp, idSuffix(id))
	if err != nil || !ok || found.PID != pid {
		return ignoreMissing(err)
	}
	found.Type = DeadProcess
	found.Termination, found.Exit = code, status
	found.User, found.Host, found.Time = "", "", time.Time{}
	err = f.putUtmp(&found)
	w := found
	w.Time = f.now()
	if werr := f.appendWtmp(&w); err == nil {
		err = werr
	}
	return err
}

func (f Files) both(r *Record) error {
	err := f.putUtmp(r)
	if werr := f.appendWtmp(r); err == nil {
		err = werr
	}
	return err
}

func ignoreMissing(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// lock takes fd's write lock (as glibc does around its access), waiting at most a second.
func lock(fd int, typ int16) error {
	fl := unix.Flock_t{Type: typ, Whence: io.SeekStart}
	deadline := time.Now().Add(time.Second)
	for {
		err := unix.FcntlFlock(uintptr(fd), unix.F_SETLK, &fl)
		if err == nil || err != unix.EAGAIN && err != unix.EACCES && err != unix.EINTR || time.Now().After(deadline) {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func unlock(fd int) {
	fl := unix.Flock_t{Type: unix.F_UNLCK, Whence: io.SeekStart}
	unix.FcntlFlock(uintptr(fd), unix.F_SETLK, &fl)
}

// matches is getutxid's rule for a record of the process types: the same ut_id.
func matches(b []byte, id string) bool {
	t := int(int16(binary.LittleEndian.Uint16(b[0:])))
	if t < InitProcess || t > DeadProcess {
		return false
	}
	var want [idSize]byte
	copy(want[:], id)
	return bytes.Equal(b[offID:offID+idSize], want[:])
}

// scan returns the offset of the first record of id in file f (-1: none) and the size of the
// file in whole records.
func scan(f *os.File, id string) (int64, int64, error) {
	buf := make([]byte, recordSize)
	var off int64
	for {
		_, err := f.ReadAt(buf, off)
		if err == io.EOF {
			return -1, off, nil
		}
		if err != nil {
			return -1, off, err
		}
		if matches(buf, id) {
			return off, off, nil
		}
		off += recordSize
	}
}

func find(path, id string) (Record, bool, error) {
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return Record{}, false, err
	}
	defer f.Close()
	if err := lock(int(f.Fd()), unix.F_RDLCK); err != nil {
		return Record{}, false, fmt.Errorf("lock %s: %w", path, err)
	}
	defer unlock(int(f.Fd()))
	off, _, err := scan(f, id)
	if err != nil || off < 0 {
		return Record{}, false, err
	}
	buf := make([]byte, recordSize)
	if _, err := f.ReadAt(buf, off); err != nil {
		return Record{}, false, err
	}
	return Unmarshal(buf), true, nil
}

// putUtmp is pututxline: r replaces the record of its ut_id, or is appended.
func (f Files) putUtmp(r *Record) error {
	if f.Utmp == "" {
		return nil
	}
	fl, err := os.OpenFile(f.Utmp, os.O_RDWR, 0)
	if err != nil {
		return ignoreMissing(err)
	}
	defer fl.Close()
	if err := lock(int(fl.Fd()), unix.F_WRLCK); err != nil {
		return fmt.Errorf("lock %s: %w", f.Utmp, err)
	}
	defer unlock(int(fl.Fd()))
	off, end, err := scan(fl, r.ID)
	if err != nil {
		return err
	}
	if off < 0 {
		off = end // a partial record at the end is overwritten
	}
	_, err = fl.WriteAt(r.Marshal(), off)
	return err
}

// appendWtmp is updwtmpx: r is appended (after a partial record, if any, is cut off).
func (f Files) appendWtmp(r *Record) error {
	if f.Wtmp == "" {
		return nil
	}
	fl, err := os.OpenFile(f.Wtmp, os.O_WRONLY, 0)
	if err != nil {
		return ignoreMissing(err)
	}
	defer fl.Close()
	if err := lock(int(fl.Fd()), unix.F_WRLCK); err != nil {
		return fmt.Errorf("lock %s: %w", f.Wtmp, err)
	}
	defer unlock(int(fl.Fd()))
	st, err := fl.Stat()
	if err != nil {
		return err
	}
	end := st.Size()
	if rem := end % recordSize; rem != 0 {
		end -= rem
		if err := fl.Truncate(end); err != nil {
			return err
		}
	}
	_, err = fl.WriteAt(r.Marshal(), end)
	return err
}
