package spawn

import (
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestKeyringProgram: the ops of setup_keyring. A join the kernel refuses (tolerated)
// skips to the ops that give the real ids back, past the link and the invocation ID key;
// the ids are switched only when they differ from the parent's.
func TestKeyringProgram(t *testing.T) {
	id := []byte("0123456789abcdef")
	ruid, rgid := os.Getuid(), os.Getgid()
	for _, tc := range []struct {
		name string
		k    Keyring
		ops  []uintptr // system calls in order
	}{
		{"private-same-ids", Keyring{UID: ruid, GID: rgid, InvocationID: id},
			[]uintptr{unix.SYS_KEYCTL, unix.SYS_ADD_KEY, unix.SYS_KEYCTL}},
		{"private-user", Keyring{UID: ruid + 1000, GID: rgid + 1000, InvocationID: id},
			[]uintptr{syscall.SYS_SETREGID, syscall.SYS_SETREUID, unix.SYS_KEYCTL, syscall.SYS_SETREUID, syscall.SYS_SETREGID,
				unix.SYS_ADD_KEY, unix.SYS_KEYCTL, syscall.SYS_SETREUID, syscall.SYS_SETREGID}},
		{"shared-user", Keyring{Shared: true, UID: ruid + 1000, GID: -1},
			[]uintptr{syscall.SYS_SETREUID, unix.SYS_KEYCTL, unix.SYS_KEYCTL, syscall.SYS_SETREUID, syscall.SYS_SETREUID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &program{}
			p.keyring(&Config{Keyring: &tc.k})
			var nrs []uintptr
			join := -1
			for i, o := range p.ops {
				nrs = append(nrs, o.nr)
				if o.nr == unix.SYS_KEYCTL && o.args[0] == unix.KEYCTL_JOIN_SESSION_KEYRING {
					join = i
				}
			}
			if len(nrs) != len(tc.ops) {
				t.Fatalf("ops %v, want %v", nrs, tc.ops)
			}
			for i := range nrs {
				if nrs[i] != tc.ops[i] {
					t.Fatalf("ops %v, want %v", nrs, tc.ops)
				}
			}
			// after a refused join: the ops left are the restoring ones only
			skip := int(p.ops[join].flags >> 8 & 0xff)
			for _, o := range p.ops[join+1+skip:] {
				if o.nr != syscall.SYS_SETREUID && o.nr != syscall.SYS_SETREGID {
					t.Errorf("after a refused join the program goes on with %d", o.nr)
				}
			}
			switched := 0
			if tc.k.UID >= 0 && tc.k.UID != ruid {
				switched++
			}
			if tc.k.GID >= 0 && tc.k.GID != rgid {
				switched++
			}
			if got := len(p.ops[join+1+skip:]); got != switched {
				t.Errorf("%d ops restore the ids after a refused join, want %d", got, switched)
			}
		})
	}
}

// BenchmarkStartKeyring is BenchmarkStart's fast path with and without a session keyring
// of the child's own (systemd's default for a service).
func BenchmarkStartKeyring(b *testing.B) {
	for _, k := range []*Keyring{nil, {UID: -1, GID: -1, InvocationID: []byte("0123456789abcdef")}} {
		name := "inherit"
		if k != nil {
			name = "private"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				p, err := Start(&Config{Path: "/bin/true", Argv: []string{"true"}, Keyring: k})
				if err != nil {
					b.Fatal(err)
				}
				if err := p.ExecResult(); err != nil {
					b.Fatal(err)
				}
				var ws syscall.WaitStatus
				syscall.Wait4(p.Pid, &ws, 0, nil)
			}
		})
	}
}
