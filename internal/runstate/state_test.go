package runstate

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sample is a state with every kind of record.
func sample() *State {
	return &State{
		BootID:  "0f3c7a2e-5d41-4b7e-9a1c-2e8f4d6b0a13",
		PIDNS:   4026531836,
		Manager: Proc{PID: 812, Start: 1534},
		Written: 98765,
		Units: []Unit{
			{
				Name: "echo.socket", KillMode: "control-group", KillSignal: syscall.SIGTERM, SendSIGKILL: true,
				StopTimeout: 90 * time.Second,
				Sockets: []Socket{
					{Inode: 123456, Family: "tcp", Address: "127.0.0.1:21377"},
					{Inode: 123457, Family: "tcp6", Address: "[::]:21377"},
					{Inode: 123458, Family: "unix", Address: "/run/echo sock \"quoted\""},
					{Inode: 123459, Family: "unix", Address: "@abstract\x01name"},
				},
			},
			{
				Name: "echo.service", InvocationID: "0123456789abcdef0123456789abcdef", KillMode: "mixed",
				KillSignal: syscall.SIGINT, StopTimeout: 1500 * time.Millisecond,
				Procs: []UnitProc{{Proc{4000, 99000}, RoleMain}, {Proc{4001, 99001}, RoleControl}, {Proc{4100, 99100}, RoleOther}},
			},
			{Name: `getty@tty1\x2d.service`, KillMode: "none", KillSignal: syscall.Signal(64)},
		},
	}
}

// TestEncodeDecode: Decode(Encode(s)) is s, and the text is the documented one.
func TestEncodeDecode(t *testing.T) {
	s := sample()
	data := Encode(s)
	want := `flint-state 1
boot 0f3c7a2e-5d41-4b7e-9a1c-2e8f4d6b0a13
pidns 4026531836
manager 812 1534
written 98765
unit echo.socket - control-group 15 90000000 yes
socket 123456 tcp "127.0.0.1:21377"
socket 123457 tcp6 "[::]:21377"
socket 123458 unix "/run/echo sock \"quoted\""
socket 123459 unix "@abstract\x01name"
unit echo.service 0123456789abcdef0123456789abcdef mixed 2 1500000 no
proc 4000 99000 main
proc 4001 99001 control
proc 4100 99100 other
unit getty@tty1\x2d.service - none 64 infinity no
`
	if string(data) != want {
		t.Errorf("Encode:\n%s\nwant:\n%s", data, want)
	}
	got, err := Decode("state", data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("Decode(Encode(s)) = %+v\nwant %+v", got, s)
	}
}

// TestDecodeErrors: every malformed file is refused with its file name and line.
func TestDecodeErrors(t *testing.T) {
	head := "flint-state 1\nboot 0f3c7a2e-5d41-4b7e-9a1c-2e8f4d6b0a13\npidns 1\nmanager 5 6\nwritten 7\n"
	unitLine := "unit a.service - control-group 15 infinity yes\n"
	for _, tc := range []struct{ name, data, want string }{
		{"empty", "", "state:1: not a flint state file"},
		{"other version", "flint-state 2\n", "state:1: not a flint state file"},
		{"no final newline", head + "unit a.service", "state:6: the last line is not complete"},
		{"missing written", "flint-state 1\nboot 0f3c7a2e-5d41-4b7e-9a1c-2e8f4d6b0a13\npidns 1\nmanager 5 6\n", "state: no written line"},
		{"twice", head + "pidns 2\n", "state:6: pidns given twice"},
		{"header after unit", "flint-state 1\nboot 0f3c7a2e-5d41-4b7e-9a1c-2e8f4d6b0a13\npidns 1\nmanager 5 6\n" + unitLine + "written 3\n", "state:6: written after the first unit"},
		{"bad boot id", strings.Replace(head, "0f3c", "0F3C", 1), "state:2: bad boot id"},
		{"manager pid 0", strings.Replace(head, "manager 5 6", "manager 0 6", 1), "state:4: pid 0 out of range"},
		{"manager pid huge", strings.Replace(head, "manager 5 6", "manager 4194305 6", 1), "state:4: pid 4194305 out of range"},
		{"leading zero", strings.Replace(head, "written 7", "written 07", 1), `state:5: bad written "07"`},
		{"sign", strings.Replace(head, "written 7", "written +7", 1), `state:5: bad written "+7"`},
		{"unknown", head + "frobnicate 1\n", `state:6: unknown record "frobnicate"`},
		{"proc first", head + "proc 10 1 main\n", "state:6: proc before any unit"},
		{"socket first", head + "socket 1 tcp \"x\"\n", "state:6: socket before any unit"},
		{"unit pid 1", head + unitLine + "proc 1 1 main\n", "state:7: pid 1 out of range"},
		{"bad role", head + unitLine + "proc 10 1 boss\n", `state:7: bad role "boss"`},
		{"proc fields", head + unitLine + "proc 10 1\n", "state:7: 2 fields, want 3"},
		{"double space", head + unitLine + "proc 10  1 main\n", "state:7: 4 fields, want 3"},
		{"unit twice", head + unitLine + unitLine, "state:7: unit a.service given twice"},
		{"bad name", head + "unit a/b.service - control-group 15 infinity yes\n", `state:6: bad unit name "a/b.service"`},
		{"bad invocation", head + "unit a.service 0123 control-group 15 infinity yes\n", `state:6: bad invocation id "0123"`},
		{"bad kill mode", head + "unit a.service - cgroup 15 infinity yes\n", `state:6: bad kill mode "cgroup"`},
		{"signal 0", head + "unit a.service - mixed 0 infinity yes\n", `state:6: bad signal "0"`},
		{"signal 65", head + "unit a.service - mixed 65 infinity yes\n", `state:6: bad signal "65"`},
		{"timeout 0", head + "unit a.service - mixed 15 0 yes\n", `state:6: bad timeout "0"`},
		{"timeout overflow", head + "unit a.service - mixed 15 9223372036854776 yes\n", `state:6: bad timeout "9223372036854776"`},
		{"sigkill word", head + "unit a.service - mixed 15 infinity true\n", `state:6: bad SendSIGKILL "true"`},
		{"bad family", head + unitLine + "socket 5 sctp \"x\"\n", `state:7: bad socket family "sctp"`},
		{"unquoted address", head + unitLine + "socket 5 tcp 127.0.0.1:1\n", "state:7: bad socket address 127.0.0.1:1"},
		{"empty address", head + unitLine + "socket 5 tcp \"\"\n", `state:7: bad socket address ""`},
		{"noncanonical quoting", head + unitLine + "socket 5 unix \"\\x41\"\n", `state:7: bad socket address "\x41"`},
		{"too large", head + strings.Repeat("#", MaxSize), "state: larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode("state", []byte(tc.data))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Decode: %v, want an error starting %q", err, tc.want)
			}
		})
	}
}

// TestWriteRead: Write then Read gives the state back; the file is replaced whole, is 0600,
// and Remove leaves nothing. Files that another user could have written are refused.
func TestWriteRead(t *testing.T) {
	dir := t.TempDir()
	if s, err := Read(dir); s != nil || err != nil {
		t.Fatalf("Read of an empty directory: %v, %v", s, err)
	}
	// A temporary file left by a killed write, even a symlink, is replaced.
	if err := os.Symlink("/etc/passwd", Path(dir)+".tmp"); err != nil {
		t.Fatal(err)
	}
	s := sample()
	if err := Write(dir, s); err != nil {
		t.Fatal(err)
	}
	got, err := Read(dir)
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("Read: %+v, %v", got, err)
	}
	fi, err := os.Stat(Path(dir))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state file: %v, %v; want mode 0600", fi, err)
	}
	if _, err := os.Lstat(Path(dir) + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left: %v", err)
	}
	if err := os.Chmod(Path(dir), 0o622); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), "writable by group or others") {
		t.Errorf("Read of a group-writable file: %v", err)
	}
	if err := Remove(dir); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left after Remove: %v", ents)
	}
	// Not a regular file: a FIFO is refused without blocking.
	if err := syscall.Mkfifo(Path(dir), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Read of a FIFO: %v", err)
	}
	os.Remove(Path(dir))
	if err := os.Symlink(filepath.Join(dir, "elsewhere"), Path(dir)); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir); err == nil {
		t.Errorf("Read followed a symlink")
	}
}

// TestLock: a locked runtime directory cannot be locked again until the lock is closed; the
// lock file is the manager's alone (mode 0600) and goes with an orderly close.
func TestLock(t *testing.T) {
	dir := t.TempDir()
	l, err := TakeLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, LockName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v, %v", fi, err)
	}
	if _, err := TakeLock(dir); err == nil || !strings.Contains(err.Error(), ErrLocked.Error()) {
		t.Errorf("second lock: %v, want %v", err, ErrLocked)
	}
	l.Close(false) // as a crash: the file stays, the lock goes
	l2, err := TakeLock(dir)
	if err != nil {
		t.Fatalf("lock after close: %v", err)
	}
	l2.Close(true)
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left after an orderly close: %v", ents)
	}
	// Not the manager's own file: refused.
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, LockName)); err != nil {
		t.Fatal(err)
	}
	if _, err := TakeLock(dir); err == nil {
		t.Errorf("a symlinked lock file was taken")
	}
}

// FuzzDecode: Decode never panics, and what it accepts encodes to text that decodes to the
// same state.
func FuzzDecode(f *testing.F) {
	f.Add(Encode(sample()))
	f.Add([]byte("flint-state 1\nboot 0f3c7a2e-5d41-4b7e-9a1c-2e8f4d6b0a13\npidns 1\nmanager 5 6\nwritten 7\n"))
	f.Add([]byte("flint-state 1\nunit a.service - none 9 infinity no\nsocket 1 unix \"\\u00e9\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode("fuzz", data)
		if err != nil {
			return
		}
		again, err := Decode("fuzz", Encode(s))
		if err != nil {
			t.Fatalf("re-encoded state does not decode: %v\n%s", err, Encode(s))
		}
		if !reflect.DeepEqual(s, again) {
			t.Fatalf("round trip changed the state:\n%+v\n%+v", s, again)
		}
	})
}
