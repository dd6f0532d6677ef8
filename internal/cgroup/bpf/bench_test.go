package bpf

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/flint-init/flint/internal/cgroup"
)

// BenchmarkAttach is what a unit with IPAddressDeny=any, IPAddressAllow=localhost,
// IPAccounting=yes and SocketBindDeny=any adds to its first start: four programs loaded
// (the verifier included) and attached, two maps made; then detached.
func BenchmarkAttach(b *testing.B) {
	if err := Supported(); err != nil {
		b.Skip(err)
	}
	l := cgroup.Detect()
	if l.Kind == cgroup.None || !l.Tracking.V2 {
		b.Skip("no writable cgroup2 hierarchy")
	}
	dir := filepath.Join(l.Tracking.Dir(""), fmt.Sprintf("flint-bpf-bench-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	defer syscall.Rmdir(dir)
	spec := &Spec{
		IP:           IPFilter{Allow: prefixes("127.0.0.0/8", "::1/128"), Deny: prefixes("0.0.0.0/0", "::/0")},
		IPAccounting: true,
		BindDeny:     []BindRule{{}},
	}
	for b.Loop() {
		set, err := Attach(dir, spec)
		if err != nil {
			b.Fatal(err)
		}
		set.Close()
	}
}
