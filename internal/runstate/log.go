package runstate

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The state file is written whole (WriteData) now and then; between two such writes the
// changed units go to a log beside it (AppendLog), so that one unit's change costs a write
// of that unit's lines, not of every unit's. The log names the state file it follows by that
// file's written ticks and is made of blocks, each ended by an "end" line:
//
//	flint-state-log 1 WRITTEN
//	unit ...              a unit's lines, replacing the unit's lines before
//	proc ... / socket ...
//	gone NAME             the unit has nothing left to record
//	end TICKS             the block is complete; TICKS is when it was written
//
// Read applies the complete blocks of a log that follows the file it read, and takes the
// last block's ticks as the state's Written. A log that follows another file (one left
// after the file was written whole again) is ignored; an incomplete last block (a manager
// killed while appending) too.

// LogName is the name of the state file's log in the runtime directory.
const LogName = "state.log"

const logHeader = "flint-state-log 1"

// LogPath is where the log of runtime directory dir is.
func LogPath(dir string) string { return filepath.Join(dir, LogName) }

// AppendLog appends one block to dir's log: the units' lines (AppendUnit's), then a gone
// line for each name in gone, then the end line with ticks. fresh starts the log anew for
// the state file written at ticks written (the header first). It returns the bytes written.
func AppendLog(dir string, fresh bool, written, ticks uint64, units [][]byte, gone []string) (int, error) {
	path := LogPath(dir)
	flags := unix.O_WRONLY | unix.O_APPEND | unix.O_CREAT | unix.O_NOFOLLOW | unix.O_CLOEXEC
	if fresh {
		flags |= unix.O_TRUNC
	}
	fd, err := unix.Open(path, flags, 0o600)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	var head, tail []byte
	if fresh {
		head = strconv.AppendUint([]byte(logHeader+" "), written, 10)
		head = append(head, '\n')
	}
	for _, n := range gone {
		tail = append(append(append(tail, "gone "...), n...), '\n')
	}
	tail = strconv.AppendUint(append(tail, "end "...), ticks, 10)
	tail = append(tail, '\n')
	parts := make([][]byte, 0, len(units)+2)
	parts = append(parts, head)
	parts = append(parts, units...)
	parts = append(parts, tail)
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	err = writeAll(fd, parts)
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// applyLog applies dir's log to s, the state file read from dir.
func applyLog(dir string, s *State) error {
	path := LogPath(dir)
	data, err := readTrusted(path)
	if err != nil || data == nil {
		return err
	}
	lines := strings.Split(string(data), "\n")
	lines = lines[:len(lines)-1] // after the last newline: empty, or a line not complete
	if len(lines) == 0 || lines[0] != logHeader+" "+strconv.FormatUint(s.Written, 10) {
		return nil // the log of another state file
	}
	hdr := string(AppendHeader(nil, s))
	start := 1
	for i := 1; i < len(lines); i++ {
		key, rest, _ := strings.Cut(lines[i], " ")
		if key != "end" {
			continue
		}
		ticks, err := parseUint(rest, "end")
		if err != nil {
			return fmt.Errorf("%s:%d: %v", path, i+1, err)
		}
		var text strings.Builder
		text.WriteString(hdr)
		var gone []string
		for j := start; j < i; j++ {
			if n, ok := strings.CutPrefix(lines[j], "gone "); ok {
				if !validName(n) {
					return fmt.Errorf("%s:%d: bad unit name %q", path, j+1, n)
				}
				gone = append(gone, n)
				continue
			}
			text.WriteString(lines[j])
			text.WriteByte('\n')
		}
		block, err := Decode(fmt.Sprintf("%s (block ending at line %d)", path, i+1), []byte(text.String()))
		if err != nil {
			return err
		}
		for _, n := range gone {
			s.Units = deleteUnit(s.Units, n)
		}
		for _, u := range block.Units {
			s.Units = append(deleteUnit(s.Units, u.Name), u)
		}
		s.Written = ticks
		start = i + 1
	}
	return nil
}

func deleteUnit(units []Unit, name string) []Unit {
	for i := range units {
		if units[i].Name == name {
			return append(units[:i], units[i+1:]...)
		}
	}
	return units
}

// readTrusted reads path, trusted only when it is a regular file owned by this process's user
// and writable by nobody else (its pids will be signalled); nil, nil when there is none.
func readTrusted(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err == unix.ENOENT {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return nil, fmt.Errorf("%s: not a regular file", path)
	case int(st.Uid) != os.Geteuid():
		return nil, fmt.Errorf("%s: owned by uid %d, not %d", path, st.Uid, os.Geteuid())
	case st.Mode&0o022 != 0:
		return nil, fmt.Errorf("%s: writable by group or others (mode %04o)", path, st.Mode&0o7777)
	case st.Size > MaxSize:
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxSize)
	}
	return data, nil
}
