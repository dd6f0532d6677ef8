package security

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flint-init/flint/unit"
)

// load writes files into a temporary unit directory and returns the Info of name.
func load(t *testing.T, files map[string]string, name string, scope unit.Scope) *Info {
	t.Helper()
	dir := t.TempDir()
	for n, text := range files {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l := unit.NewLoader(scope, []string{dir})
	u := l.Load(name)
	if u.LoadState != unit.Loaded {
		t.Fatalf("%s: %s %s", name, u.LoadState, u.LoadError)
	}
	return FromUnit(u, l.SourceFiles(u), l.Expander(u), scope)
}

func service(lines ...string) map[string]string {
	return map[string]string{"t.service": "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/true\n" + strings.Join(lines, "\n") + "\n"}
}

func caps(names ...int) uint64 {
	var m uint64
	for _, c := range names {
		m |= 1 << c
	}
	return m
}

// TestSettings checks how the directives kept as text are read: lists built over several
// lines, '~', empty assignments, refused values, and what other settings imply.
func TestSettings(t *testing.T) {
	all := ^uint64(0)
	for _, tc := range []struct {
		name  string
		lines []string
		check func(i *Info) bool
	}{
		{"bounding set first list replaces", []string{"CapabilityBoundingSet=CAP_KILL CAP_CHOWN"},
			func(i *Info) bool { return i.CapabilityBoundingSet == caps(capKill, capChown) }},
		{"bounding set lists merge", []string{"CapabilityBoundingSet=CAP_KILL", "CapabilityBoundingSet=cap_chown 21"},
			func(i *Info) bool { return i.CapabilityBoundingSet == caps(capKill, capChown, capSysAdmin) }},
		{"bounding set inverted, then added back", []string{"CapabilityBoundingSet=~CAP_SYS_ADMIN CAP_NET_ADMIN", "CapabilityBoundingSet=CAP_SYS_ADMIN"},
			func(i *Info) bool { return i.CapabilityBoundingSet == all&^caps(capNetAdmin) }},
		{"bounding set emptied", []string{"CapabilityBoundingSet=CAP_KILL", "CapabilityBoundingSet="},
			func(i *Info) bool { return i.CapabilityBoundingSet == 0 }},
		{"unknown capability ignored", []string{"AmbientCapabilities=CAP_BOGUS CAP_KILL"},
			func(i *Info) bool { return i.AmbientCapabilities == caps(capKill) }},
		{"protect settings drop capabilities", []string{"PrivateDevices=yes", "ProtectClock=yes", "ProtectKernelModules=yes", "ProtectKernelLogs=yes"},
			func(i *Info) bool {
				return i.CapabilityBoundingSet == all&^caps(capMknod, capSysRawio, capSysTime, capWakeAlarm, capSysModule, capSyslog)
			}},
		{"namespaces: yes", []string{"RestrictNamespaces=yes"}, func(i *Info) bool { return i.RestrictNamespaces == 0 }},
		{"namespaces: no", []string{"RestrictNamespaces=no"}, func(i *Info) bool { return i.RestrictNamespaces == nsAll }},
		{"namespaces: inverted then merged", []string{"RestrictNamespaces=~user net", "RestrictNamespaces=user"},
			func(i *Info) bool { return i.RestrictNamespaces == nsAll&^nsNet }},
		{"namespaces: a bad word refuses the line", []string{"RestrictNamespaces=ipc", "RestrictNamespaces=user bogus"},
			func(i *Info) bool { return i.RestrictNamespaces == nsIPC }},
		{"families: allow list", []string{"RestrictAddressFamilies=AF_UNIX AF_INET"},
			func(i *Info) bool {
				return !i.RestrictAFUnix && !i.RestrictAFInet && i.RestrictAFNetlink && i.RestrictAFPacket && i.RestrictAFOther
			}},
		{"families: allowed then taken out, AF_LOCAL is AF_UNIX", []string{"RestrictAddressFamilies=AF_LOCAL AF_CAN", "RestrictAddressFamilies=~AF_UNIX"},
			func(i *Info) bool { return i.RestrictAFUnix && !i.RestrictAFOther }},
		{"families: deny list", []string{"RestrictAddressFamilies=~AF_PACKET"},
			func(i *Info) bool { return i.RestrictAFPacket && !i.RestrictAFUnix && !i.RestrictAFOther }},
		{"families: none", []string{"RestrictAddressFamilies=AF_UNIX", "RestrictAddressFamilies=none"},
			func(i *Info) bool { return i.RestrictAFUnix && i.RestrictAFInet && i.RestrictAFOther }},
		{"families: reset", []string{"RestrictAddressFamilies=AF_UNIX", "RestrictAddressFamilies="},
			func(i *Info) bool { return !i.RestrictAFUnix && !i.RestrictAFInet && !i.RestrictAFOther }},
		{"allow list starts from @default", []string{"SystemCallFilter=@clock"},
			func(i *Info) bool {
				return i.SystemCallFilterAllow && i.SystemCallFilter["settimeofday"] && i.SystemCallFilter["brk"] && !i.SystemCallFilter["mount"]
			}},
		{"allow list: '~' takes out", []string{"SystemCallFilter=@clock", "SystemCallFilter=~settimeofday"},
			func(i *Info) bool { return !i.SystemCallFilter["settimeofday"] && i.SystemCallFilter["adjtimex"] }},
		{"deny list: errno kept apart, a plain name taken out", []string{"SystemCallFilter=~@mount:EPERM", "SystemCallFilter=mount"},
			func(i *Info) bool {
				return !i.SystemCallFilterAllow && !i.SystemCallFilter["mount"] && i.SystemCallFilter["umount2"]
			}},
		{"other architectures' calls are not kept", []string{"SystemCallFilter=~socketcall _llseek"},
			func(i *Info) bool { return len(i.SystemCallFilter) == 0 }},
		{"filter reset", []string{"SystemCallFilter=@clock", "SystemCallFilter="},
			func(i *Info) bool { return !i.SystemCallFilterAllow && len(i.SystemCallFilter) == 0 }},
		{"device list is most recent first, patched", []string{"DevicePolicy=closed", "DeviceAllow=/dev/null rw", "DeviceAllow=char-pts", "DeviceAllow=/tmp/x", "ProtectClock=yes"},
			func(i *Info) bool {
				return slices.Equal(i.DeviceAllow, []string{"char-rtc:r", "char-pts:rwm", "/dev/null:rw"})
			}},
		{"PrivateDevices closes the device policy", []string{"PrivateDevices=yes"},
			func(i *Info) bool { return i.DevicePolicy == "closed" }},
		{"deny all needs both families", []string{"IPAddressDeny=0.0.0.0/0"}, func(i *Info) bool { return !i.IPAddressDenyAll }},
		{"deny any, allow localhost", []string{"IPAddressDeny=any", "IPAddressAllow=localhost"},
			func(i *Info) bool { return i.IPAddressDenyAll && i.IPAddressAllowLocalhost && !i.IPAddressAllowOther }},
		{"allow other", []string{"IPAddressAllow=127.0.0.1 10.0.0.0/8"},
			func(i *Info) bool { return i.IPAddressAllowLocalhost && i.IPAddressAllowOther }},
		{"architectures", []string{"SystemCallArchitectures=native bogus x86", "SystemCallArchitectures=native"},
			func(i *Info) bool { return slices.Equal(i.SystemCallArchitectures, []string{"native", "x86"}) }},
		{"DynamicUser's sandbox", []string{"DynamicUser=yes"},
			func(i *Info) bool {
				return i.DynamicUser && i.User != "" && i.PrivateTmp && i.RemoveIPC && i.NoNewPrivileges &&
					i.RestrictSUIDSGID && i.ProtectSystem == "strict" && i.ProtectHome == "read-only"
			}},
		{"service defaults", nil,
			func(i *Info) bool {
				return i.KeyringMode == "private" && i.NotifyAccess == "none" && i.ProtectProc == "default" &&
					i.ProcSubset == "all" && i.UMask == 0o022 && i.RestrictNamespaces == all && !i.DefaultDependencies
			}},
		{"Delegate with controllers", []string{"Delegate=cpu memory"}, func(i *Info) bool { return i.Delegate }},
		{"bad values ignored", []string{"ProtectProc=invisible", "ProtectProc=bogus", "PrivateNetwork=yes", "PrivateNetwork=maybe"},
			func(i *Info) bool { return i.ProtectProc == "invisible" && i.PrivateNetwork }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i := load(t, service(tc.lines...), "t.service", unit.System)
			if !tc.check(i) {
				t.Errorf("%s: unexpected %+v", strings.Join(tc.lines, "; "), *i)
			}
		})
	}
}

// TestDropInAndTemplate reads drop-ins after the fragment, and expands specifiers.
func TestDropInAndTemplate(t *testing.T) {
	i := load(t, map[string]string{
		"d@.service":            "[Service]\nExecStart=/bin/true\nPrivateNetwork=yes\nDevicePolicy=strict\nDeviceAllow=/dev/%i r\n",
		"d@.service.d/10.conf":  "[Service]\nPrivateNetwork=no\n",
		"d@x.service.d/20.conf": "[Service]\nProtectProc=invisible\n",
	}, "d@tty1.service", unit.System)
	if i.PrivateNetwork || i.ProtectProc != "default" || !slices.Equal(i.DeviceAllow, []string{"/dev/tty1:r"}) {
		t.Errorf("got PrivateNetwork=%v ProtectProc=%s DeviceAllow=%v", i.PrivateNetwork, i.ProtectProc, i.DeviceAllow)
	}
	if u := load(t, service(), "t.service", unit.User); u.KeyringMode != "inherit" {
		t.Errorf("user service keyring %s, want inherit", u.KeyringMode)
	}
}

// TestAssess checks scores and rows against what systemd-analyze 252 prints for the
// same units (the differential test compares them all; these stay without systemd).
func TestAssess(t *testing.T) {
	rep := Assess(load(t, map[string]string{"min.service": "[Service]\nExecStart=/bin/true\n"}, "min.service", unit.System), nil)
	if rep.Exposure != 96 || rep.Rating().Name != "UNSAFE" {
		t.Errorf("minimal service: exposure %d %s, want 96 UNSAFE", rep.Exposure, rep.Rating().Name)
	}
	rep = Assess(load(t, map[string]string{"pp.service": "[Service]\nExecStart=/bin/true\nProtectProc=noaccess\nUMask=0027\n"}, "pp.service", unit.System), nil)
	if rep.Exposure != 95 {
		t.Errorf("exposure %d, want 95", rep.Exposure)
	}
	n := len(rep.Rows)
	// a badness between 0 and the range has no description; systemd sorts that row by the
	// order rows were added, which puts it before UMask= here
	if rep.Rows[n-2].Name != "ProtectProc=" || rep.Rows[n-2].Description != "" || rep.Rows[n-2].Exposure != "0.1" ||
		rep.Rows[n-1].Name != "UMask=" || rep.Rows[n-1].Description != "Files created by service are group-readable by default" {
		t.Errorf("last rows: %+v %+v", rep.Rows[n-2], rep.Rows[n-1])
	}
	var b bytes.Buffer
	if err := WriteReport(&b, rep, Options{Glyphs: Glyphs{UTF8: true, Emoji: true}}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if got := lines[len(lines)-2]; got != "→ Overall exposure level for pp.service: 9.5 UNSAFE 😨" {
		t.Errorf("last line %q", got)
	}
	if h := lines[0]; !strings.HasPrefix(h, "  NAME ") || !strings.Contains(h, " DESCRIPTION ") || !strings.HasSuffix(h, " EXPOSURE") {
		t.Errorf("header %q", h)
	}
	policy, err := ParsePolicy([]byte(`{"DeviceAllow": {"weight": 0}, "UMask": "not an object", "ProtectProc": {"weight": "x", "range": 3}}`))
	if err != nil {
		t.Fatal(err)
	}
	rep = Assess(load(t, map[string]string{"pp.service": "[Service]\nExecStart=/bin/true\n"}, "pp.service", unit.System), policy)
	for _, r := range rep.Rows {
		if r.Name == "DeviceAllow=" && (r.Set() != -1 || r.Description != "Option excluded by policy, skipping") {
			t.Errorf("excluded row %+v", r)
		}
	}
	if _, err := ParsePolicy([]byte("{")); err == nil {
		t.Error("invalid JSON accepted")
	}
}

// TestMsort checks the merge sort against a stable sort on a total order.
func TestMsort(t *testing.T) {
	in := []int{5, 3, 9, 3, 1, 8, 2, 7, 7, 0, 4, 6, 5}
	got := slices.Clone(in)
	msort(got, make([]int, len(got)), compareInt)
	want := slices.Clone(in)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("msort %v, want %v", got, want)
	}
}

// TestTerminal checks the choice of glyphs against what systemd-analyze 252 does here.
func TestTerminal(t *testing.T) {
	for _, tc := range []struct {
		env         map[string]string
		utf8, emoji bool
	}{
		{map[string]string{"LANG": "C.UTF-8", "TERM": "xterm"}, true, true},
		{map[string]string{"LANG": "C.UTF-8"}, true, false},
		{map[string]string{"LANG": "C.UTF-8", "TERM": "dumb"}, true, false},
		{map[string]string{"LANG": "C.UTF-8", "TERM": "linux"}, true, false},
		{map[string]string{"LANG": "C.UTF-8", "TERM": "xterm", "SYSTEMD_EMOJI": "0"}, true, false},
		{map[string]string{"LC_ALL": "C", "TERM": "xterm"}, false, false},
		{map[string]string{"LC_ALL": "POSIX", "LANG": "C.UTF-8", "TERM": "xterm"}, false, false},
		{map[string]string{"TERM": "xterm"}, true, true},
		{map[string]string{"LANG": "xx_YY.ISO-8859-1", "TERM": "xterm"}, true, true}, // not installed
	} {
		g := Terminal(func(k string) string { return tc.env[k] })
		if g.UTF8 != tc.utf8 || g.Emoji != tc.emoji {
			t.Errorf("%v: %+v, want utf8 %v emoji %v", tc.env, g, tc.utf8, tc.emoji)
		}
	}
}

// TestOverview checks the summary table: emoji are two columns wide, the last column
// keeps no trailing space.
func TestOverview(t *testing.T) {
	reps := []Report{{ID: "a.service", Exposure: 96}, {ID: "longer-name.service", Exposure: 1}}
	var b bytes.Buffer
	if err := WriteOverview(&b, reps, Options{Glyphs: Glyphs{UTF8: true, Emoji: true}}); err != nil {
		t.Fatal(err)
	}
	want := "UNIT                EXPOSURE PREDICATE HAPPY\n" +
		"a.service                9.6 UNSAFE    😨\n" +
		"longer-name.service      0.1 SAFE      😀\n"
	if b.String() != want {
		t.Errorf("overview:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteOverview(&b, reps, Options{JSON: "short"}); err != nil {
		t.Fatal(err)
	}
	if want := `[{"unit":"a.service","exposure":"9.6","predicate":"UNSAFE","happy":":-{"},{"unit":"longer-name.service","exposure":"0.1","predicate":"SAFE","happy":":-}"}]` + "\n"; b.String() != want {
		t.Errorf("overview JSON %s", b.String())
	}
}
