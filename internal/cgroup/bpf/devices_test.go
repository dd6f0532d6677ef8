package bpf

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestResolveDevice(t *testing.T) {
	rules, err := ResolveDevice("/dev/null", "rw")
	if err != nil {
		t.Fatal(err)
	}
	if want := []DeviceRule{{Type: DevChar, Major: 1, Minor: 3, Access: DevRead | DevWrite}}; !reflect.DeepEqual(rules, want) {
		t.Errorf("/dev/null: %+v, want %+v", rules, want)
	}
	if _, err := ResolveDevice("/etc/hostname", "r"); err == nil {
		t.Errorf("a regular file resolved")
	}
	if _, err := ResolveDevice("/dev/no-such-device", "r"); err == nil {
		t.Errorf("a missing node resolved")
	}
	if _, err := ResolveDevice("char-no-such-driver", "r"); err == nil {
		t.Errorf("a missing driver resolved")
	}
}

func TestDriverMajors(t *testing.T) {
	f := filepath.Join(t.TempDir(), "devices")
	os.WriteFile(f, []byte("Character devices:\n  1 mem\n  4 tty\n  4 ttyS\n136 pts\n\nBlock devices:\n  7 loop\n259 blkext\n"), 0o644)
	for _, tc := range []struct {
		section, pat string
		want         []uint32
	}{
		{"Character devices:", "pts", []uint32{136}},
		{"Character devices:", "tty*", []uint32{4, 4}},
		{"Character devices:", "loop", nil},
		{"Block devices:", "loop", []uint32{7}},
		{"Block devices:", "*", []uint32{7, 259}},
	} {
		got, err := driverMajors(f, tc.section, tc.pat)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %s: %v %v, want %v", tc.section, tc.pat, got, err, tc.want)
		}
	}
}

func TestAccess(t *testing.T) {
	if a := Access("rwm"); a != DevRead|DevWrite|DevMknod {
		t.Errorf("rwm: %d", a)
	}
	if a := Access("r"); a != DevRead {
		t.Errorf("r: %d", a)
	}
}

func TestAssembleDropsDeadCode(t *testing.T) {
	var a Asm
	a.Jump("end")
	a.Mov64(R0, 5) // never reached
	a.Label("end")
	a.Return(1)
	insns, err := a.Assemble()
	if err != nil {
		t.Fatal(err)
	}
	if len(insns) != 3 || insns[0].Off != 0 || insns[1].Imm != 1 {
		t.Errorf("got %+v", insns)
	}
	var b Asm
	b.Jump("nowhere")
	if _, err := b.Assemble(); err == nil {
		t.Errorf("a jump to an undefined label assembled")
	}
}
