package security

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/flint-init/flint/unit"
)

// FuzzAssess feeds arbitrary [Service] sections through the settings, the assessment and
// both output forms: no panic, every assessor has its row, the exposure stays within 0-100.
func FuzzAssess(f *testing.F) {
	for _, s := range []string{
		"SystemCallFilter=@system-service\nSystemCallFilter=~@mount:EPERM",
		"CapabilityBoundingSet=~\nAmbientCapabilities=~CAP_KILL 63 64 -1",
		"RestrictAddressFamilies=~\nRestrictNamespaces=~\nIPAddressAllow=::1 127.0.0.1/33 fe80::1%x",
		"DeviceAllow=char- r\nDeviceAllow=/dev/\"x y\" rw\nDevicePolicy=closed\nProtectClock=yes",
		"UMask=7777\nUser=nobody\nDynamicUser=yes\nSystemCallArchitectures=native native",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, body string) {
		p := filepath.Join(dir, "f.service")
		if err := os.WriteFile(p, []byte("[Service]\nExecStart=/bin/true\n"+body+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		l := unit.NewLoader(unit.System, []string{dir})
		u := l.Load("f.service")
		if u.LoadState != unit.Loaded {
			return
		}
		info := FromUnit(u, l.SourceFiles(u), l.Expander(u), unit.System)
		rep := Assess(info, nil)
		if len(rep.Rows) != len(assessors) || rep.Exposure > 100 {
			t.Fatalf("%d rows, exposure %d", len(rep.Rows), rep.Exposure)
		}
		var b bytes.Buffer
		for _, o := range []Options{{}, {JSON: "pretty", Debug: true}} {
			if err := WriteReport(&b, rep, o); err != nil {
				t.Fatal(err)
			}
		}
	})
}
