package manager

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// FuzzParseProcInfo: a /proc/PID/stat line as the kernel writes it, whatever the command name
// (spaces, parentheses, newlines), reads back the state, parent, session and start time it
// was written with; any other input reads without a panic.
func FuzzParseProcInfo(f *testing.F) {
	f.Add([]byte("sleep"), byte('S'), int32(1), int32(1), uint64(100), []byte("1 (x) S 0 1 1"))
	f.Add([]byte("a) Z 9 9 9 (b"), byte('Z'), int32(77), int32(12), uint64(1<<40), []byte(")"))
	f.Add([]byte("two words\n"), byte('R'), int32(-1), int32(0), uint64(0), []byte("1 (x)"))
	f.Fuzz(func(t *testing.T, comm []byte, state byte, ppid, sid int32, start uint64, raw []byte) {
		parseProcStat(raw)
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
		pi, ok := parseProcStat([]byte(line))
		want := procInfo{ppid: int(ppid), sid: int(sid), zombie: state == 'Z', start: start}
		if !ok || pi != want {
			t.Fatalf("%q: %+v %v, want %+v", line, pi, ok, want)
		}
		if f := statFields([]byte(line)); len(f) < 18 || f[17] != "1" || f[0] != string(state) {
			t.Fatalf("%q: fields %q", line, f)
		}
	})
}
