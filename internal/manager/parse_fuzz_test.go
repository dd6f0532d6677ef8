package manager

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// FuzzParsePIDFile: whatever a PID file holds, the pid read is in pid_t's range above 0 and
// is the number on its first line; a file written as daemons write it reads back.
func FuzzParsePIDFile(f *testing.F) {
	for _, s := range []string{"123\n", " 42 \r\n", "7\ngarbage", "0", "-5", "+9", "4294967297", "2147483648", "0x10", "", "\n12", "1e3"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pid, ok := parsePIDFile(data)
		if ok {
			if pid <= 0 || pid > math.MaxInt32 {
				t.Fatalf("%q: pid %d out of range", data, pid)
			}
			line, _, _ := bytes.Cut(data, []byte("\n"))
			digits := strings.TrimLeft(strings.TrimSpace(string(line)), "+0")
			if digits != strconv.Itoa(pid) {
				t.Fatalf("%q: pid %d is not its first line", data, pid)
			}
		}
		if len(data) > 0 && len(data) < 16 {
			// As a daemon writes it.
			n := int(data[0]) | int(data[len(data)-1])<<8 + 1
			if got, ok := parsePIDFile([]byte(fmt.Sprintf("%d\n", n))); !ok || got != n {
				t.Fatalf("%d written, read %d %v", n, got, ok)
			}
		}
	})
}

// TestReadPIDFileSpecial: a PID file that is not a regular file is refused at once (a FIFO
// would block open(2), /dev/zero never ends); the first line of a regular one counts.
func TestReadPIDFileSpecial(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.pid")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero.pid")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.pid")
	os.WriteFile(good, []byte(strconv.Itoa(os.Getpid())+"\nleft over\n"), 0o644)
	for _, p := range []string{fifo, zero} {
		if _, err := readPIDFile(p); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: %v, want not a regular file", p, err)
		}
	}
	if pid, err := readPIDFile(good); err != nil || pid != os.Getpid() {
		t.Errorf("good: %d %v", pid, err)
	}
}

// FuzzParseProcInfo: a /proc/PID/stat line as the kernel writes it, whatever the command name
// (spaces, parentheses, newlines), reads back the state, parent, session and start time it
// was written with; any other input reads without a panic.
func FuzzParseProcInfo(f *testing.F) {
	f.Add([]byte("sleep"), byte('S'), int32(1), int32(1), uint64(100), []byte("1 (x) S 0 1 1"))
	f.Add([]byte("a) Z 9 9 9 (b"), byte('Z'), int32(77), int32(12), uint64(1<<40), []byte(")"))
	f.Add([]byte("two words\n"), byte('R'), int32(-1), int32(0), uint64(0), []byte("1 (x)"))
	f.Fuzz(func(t *testing.T, comm []byte, state byte, ppid, sid int32, start uint64, raw []byte) {
		parseProcInfo(raw)
		statFields(raw)
		// The kernel's state letters (fs/proc/array.c task_state_array); the command name
		// holds any byte but NUL.
		if len(comm) > 64 || bytes.IndexByte(comm, 0) >= 0 || !strings.ContainsRune("RSDTtXZPIKW", rune(state)) || ppid < 0 || sid < 0 {
			return
		}
		// pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
		// utime stime cutime cstime priority nice num_threads itrealvalue starttime vsize ...
		line := fmt.Sprintf("4242 (%s) %c %d 4242 %d 0 -1 4194560 99 0 0 0 1 2 0 0 20 0 1 0 %d 1000 10 18446744073709551615\n",
			comm, state, ppid, sid, start)
		pi, ok := parseProcInfo([]byte(line))
		want := procInfo{ppid: int(ppid), sid: int(sid), zombie: state == 'Z', start: start}
		if !ok || pi != want {
			t.Fatalf("%q: %+v %v, want %+v", line, pi, ok, want)
		}
		if f := statFields([]byte(line)); len(f) < 18 || f[17] != "1" || f[0] != string(state) {
			t.Fatalf("%q: fields %q", line, f)
		}
	})
}
