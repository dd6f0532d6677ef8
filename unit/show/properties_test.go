package show

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/textdiff"
	"github.com/flint-init/flint/unit"
)

// The expected strings below were printed by systemctl 252 (see internal/difftest, which
// checks Properties against the real systemd on a whole corpus).

var update = flag.Bool("update", false, "rewrite golden files")

func TestShellQuote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"sysinit.target", "sysinit.target"},
		{"", ""},
		{"A=1", "A=1"},
		{"B=2 3", `"B=2 3"`},
		{`system-svc\x2dtpl.slice`, `"system-svc\\x2dtpl.slice"`},
		{"DOLLAR=$HOME", `"DOLLAR=\$HOME"`},
		{"BACKTICK=`cmd`", "\"BACKTICK=\\`cmd\\`\""},
		{`QUOTE="q"`, `"QUOTE=\"q\""`},
		{"SINGLE='s'", `"SINGLE='s'"`},
		{"GLOB=*?[x]", `"GLOB=*?[x]"`},
		{"BANG=!", `"BANG=!"`},
		{"TAB=a\tb", `"TAB=a\tb"`},
		{"NL=a\nb", `"NL=a\nb"`},
		{"CTRL=\x01", `"CTRL=\x01"`},
		{"UTF8=héllo", "UTF8=héllo"},
		{"PLAIN=abc-_.:/,+=@%", "PLAIN=abc-_.:/,+=@%"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := ShellQuote(tc.in); got != tc.want {
				t.Errorf("ShellQuote(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

// TestShellQuotePOSIX: the values of systemctl show-environment, as systemctl 252 printed
// them for these.
func TestShellQuotePOSIX(t *testing.T) {
	for in, want := range map[string]string{
		"hello world": `$'hello world'`, "it's": `$'it\'s'`, `a"b`: `$'a"b'`, "$x": `$'$x'`,
		"tab\tx": `$'tab\tx'`, "": "", "new\nline": `$'new\nline'`, `back\slash`: `$'back\\slash'`,
		"ok_-.,:/@%+=": "ok_-.,:/@%+=",
	} {
		if got := ShellQuotePOSIX(in); got != want {
			t.Errorf("ShellQuotePOSIX(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestFormatListen(t *testing.T) {
	for _, tc := range []struct {
		l    unit.Listen
		want string
	}{
		{unit.Listen{Kind: unit.ListenStream, Family: unit.FamilyUnix, Path: "/run/foo.sk"}, "/run/foo.sk (Stream)"},
		{unit.Listen{Kind: unit.ListenSequentialPacket, Family: unit.FamilyUnix, Path: "@abs"}, "@abs (SequentialPacket)"},
		{unit.Listen{Kind: unit.ListenStream, Family: unit.FamilyInet, Host: "127.0.0.1", Port: 20400}, "127.0.0.1:20400 (Stream)"},
		{unit.Listen{Kind: unit.ListenDatagram, Family: unit.FamilyInet6, Port: 20401}, "[::]:20401 (Datagram)"},
		{unit.Listen{Kind: unit.ListenStream, Family: unit.FamilyInet6, Host: "0:0::1", Port: 20402}, "[::1]:20402 (Stream)"},
		{unit.Listen{Kind: unit.ListenStream, Family: unit.FamilyVsock, VsockCID: 2, Port: 20403}, "vsock:2:20403 (Stream)"},
		{unit.Listen{Kind: unit.ListenStream, Family: unit.FamilyVsock, VsockCID: 0xFFFFFFFF, Port: 20404}, "vsock::20404 (Stream)"},
		{unit.Listen{Kind: unit.ListenNetlink, Family: unit.FamilyNetlink, NetlinkFamily: "kobject-uevent", NetlinkGroup: 1}, "kobject-uevent 1 (Netlink)"},
		{unit.Listen{Kind: unit.ListenFIFO, Path: "/run/foo.fifo"}, "/run/foo.fifo (FIFO)"},
		{unit.Listen{Kind: unit.ListenSpecial, Path: "/dev/null"}, "/dev/null (Special)"},
		{unit.Listen{Kind: unit.ListenMessageQueue, Path: "/mq"}, "/mq (MessageQueue)"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := FormatListen(tc.l); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFormatExec(t *testing.T) {
	c := unit.ExecCommand{Path: "/bin/sh", Argv: []string{"sh", "-c", "true"}, Flags: unit.ExecFlags{IgnoreFailure: true, NoEnvExpand: true, ArgvZero: true}}
	want := "{ path=/bin/sh ; argv[]=sh -c true ; ignore_errors=yes ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }"
	if got := formatExec(c, false, nil); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	wantEx := "{ path=/bin/sh ; argv[]=sh -c true ; flags=ignore-failure no-env-expand ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }"
	if got := formatExec(c, true, nil); got != wantEx {
		t.Errorf("got  %s\nwant %s", got, wantEx)
	}
	for _, tc := range []struct {
		f    unit.ExecFlags
		want string
	}{
		{unit.ExecFlags{}, ""},
		{unit.ExecFlags{FullPrivilege: true}, "privileged"},
		{unit.ExecFlags{NoSetuid: true}, "no-setuid"},
		{unit.ExecFlags{NoSetuid: true, AmbientOnly: true}, "ambient"},
		{unit.ExecFlags{AmbientOnly: true}, "ambient"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := strings.Join(execFlagNames(tc.f), " "); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestExecProperties: a command that ran shows its pid, times and exit as systemctl show
// prints them (systemd 252: "status=N" for an exit, "status=N/SIG" for a signal, "0/0"
// while it runs).
func TestExecProperties(t *testing.T) {
	at := time.Date(2026, 12, 7, 17, 7, 54, 0, time.Local)
	stamp := FormatTimestamp(at)
	cmds := []unit.ExecCommand{{Path: "/bin/echo", Argv: []string{"/bin/echo", "pre"}}, {Path: "/bin/true", Argv: []string{"/bin/true"}}}
	tests := []struct {
		name string
		run  *ExecRun
		want string
	}{
		{"never ran", nil, "start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }"},
		{"runs", &ExecRun{PID: 237, Start: at}, "start_time=[n/a] ; stop_time=[n/a] ; pid=237 ; code=(null) ; status=0/0 }"},
		{"exited", &ExecRun{PID: 38, Start: at, Exit: at, Code: "exited", Status: 1}, "start_time=[" + stamp + "] ; stop_time=[" + stamp + "] ; pid=38 ; code=exited ; status=1 }"},
		{"killed", &ExecRun{PID: 32, Start: at, Exit: at, Code: "killed", Status: 9}, "pid=32 ; code=killed ; status=9/KILL }"},
		{"dumped", &ExecRun{PID: 33, Start: at, Exit: at, Code: "dumped", Status: 11}, "pid=33 ; code=dumped ; status=11/SEGV }"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := ExecProperties("ExecStartPre", cmds, true, []*ExecRun{tt.run})
			if len(ps) != 4 || ps[0].Name != "ExecStartPre" || ps[2].Name != "ExecStartPreEx" {
				t.Fatalf("properties %v", ps)
			}
			if !strings.HasSuffix(ps[0].Value, tt.want) || !strings.HasSuffix(ps[2].Value, tt.want) {
				t.Errorf("got %s\nwant ...%s", ps[0].Value, tt.want)
			}
			if !strings.HasSuffix(ps[1].Value, "pid=0 ; code=(null) ; status=0/0 }") {
				t.Errorf("the command that did not run: %s", ps[1].Value)
			}
		})
	}
}

func TestFormatExitStatus(t *testing.T) {
	s := unit.ExitStatusSet{Codes: []int{4, 3, 4}, Signals: []syscall.Signal{syscall.SIGUSR1, syscall.SIGHUP}}
	if got, want := formatExitStatus(s), "3 4 HUP USR1"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSortProperties(t *testing.T) {
	in := []Property{{"Id", "a.service"}, {"ExecStart", "2"}, {"Type", "simple"}, {"X-Unknown", ""}, {"ExecStart", "1"}, {"ExecStartPre", "0"}}
	got := SortProperties(unit.TypeService, in)
	var names []string
	for _, p := range got {
		names = append(names, p.Name+"="+p.Value)
	}
	want := "Type=simple ExecStartPre=0 ExecStart=2 ExecStart=1 Id=a.service X-Unknown="
	if strings.Join(names, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(names, " "), want)
	}
	merged := MergeProperties(unit.TypeService, got, Property{"ActiveState", "active"}, Property{"Type", "notify"})
	if merged[0] != (Property{"Type", "notify"}) {
		t.Errorf("MergeProperties did not replace Type: %v", merged)
	}
	found := false
	for i, p := range merged {
		if p.Name == "ActiveState" {
			found = true
			if merged[i-1].Name != "Id" {
				t.Errorf("ActiveState after %s, want after Id", merged[i-1].Name)
			}
		}
	}
	if !found {
		t.Error("ActiveState not merged")
	}
}

// TestPropertiesGolden renders the properties of the differential test's corpus (the units
// whose output does not depend on the machine) and compares them with golden files that were
// checked against systemctl 252. -update rewrites them.
func TestPropertiesGolden(t *testing.T) {
	dir, err := filepath.Abs("../../internal/difftest/testdata/units")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"svc-tpl@one.service", `svc-tpl@a\x2db.service`, "sock-tpl@x.socket", "does-not-exist.service"}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.Contains(n, "@.") || n == "svc-specifiers.service" {
			continue
		}
		names = append(names, n)
	}
	l := unit.NewLoader(unit.System, []string{dir})
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			var b strings.Builder
			for _, p := range Properties(l.Load(n)) {
				if machineDefault(p.Name, p.Value) {
					p.Value = "<this machine's>" // a limit of this process, its timer slack, ...
				}
				b.WriteString(p.Name + "=" + p.Value + "\n")
			}
			got := strings.ReplaceAll(b.String(), dir, "/UNITS")
			golden := filepath.Join("testdata", "properties", "golden", strings.ReplaceAll(n, `\`, "_")+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if got != string(want) {
				t.Errorf("properties of %s differ from %s:\n%s", n, golden, textdiff.Lines(string(want), got, "- ", "+ "))
			}
		})
	}
}

// TestPropertyOrderFromSystemd checks properties_order.go against the `systemctl show --all`
// outputs it was generated from: every name in the same relative order.
func TestPropertyOrderFromSystemd(t *testing.T) {
	for _, typ := range []unit.Type{unit.TypeService, unit.TypeSocket, unit.TypeTarget, unit.TypeTimer, unit.TypePath} {
		t.Run(string(typ), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "properties", "systemd252-show-all."+string(typ)))
			if err != nil {
				t.Fatal(err)
			}
			rank := propertyRank(typ)
			last := -1
			for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				name, _, _ := strings.Cut(line, "=")
				r, ok := rank[name]
				if !ok {
					t.Errorf("%s missing from the %s order", name, typ)
					continue
				}
				if r < last {
					t.Errorf("%s out of order", name)
				}
				last = r
			}
		})
	}
}

// TestFlintCooldownProperty: X-Flint-TriggerLimitCooldownSec= of a socket or path unit shows
// as FlintTriggerLimitCooldownUSec, and not at all when it is off.
func TestFlintCooldownProperty(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"on.socket":  "[Socket]\nListenStream=/run/on.sock\nX-Flint-TriggerLimitCooldownSec=1min 30s\n",
		"off.socket": "[Socket]\nListenStream=/run/off.sock\nX-Flint-TriggerLimitCooldownSec=0\n",
		"on.path":    "[Path]\nPathExists=/run/foo\nX-Flint-TriggerLimitCooldownSec=500ms\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l := unit.NewLoader(unit.System, []string{dir})
	for name, want := range map[string]string{"on.socket": "1min 30s", "off.socket": "", "on.path": "500ms"} {
		u := l.Load(name)
		if u.LoadState != unit.Loaded {
			t.Fatalf("%s: %s %v", name, u.LoadState, u.LoadError)
		}
		shown := ""
		for _, p := range Properties(u) {
			if p.Name == "FlintTriggerLimitCooldownUSec" {
				shown = p.Value
			}
		}
		if shown != want {
			t.Errorf("%s: FlintTriggerLimitCooldownUSec=%q, want %q", name, shown, want)
		}
	}
}

// TestSourcePathProperty: SourcePath= of a generated unit (systemd-sysv-generator writes the
// init script's path there) is the SourcePath property, as systemd 252 shows it.
func TestSourcePathProperty(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gen.service"), []byte("[Unit]\nSourcePath=/etc/init.d/gen\n[Service]\nExecStart=/bin/true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range Properties(unit.NewLoader(unit.System, []string{dir}).Load("gen.service")) {
		if p.Name == "SourcePath" {
			if p.Value != "/etc/init.d/gen" {
				t.Errorf("SourcePath=%q, want /etc/init.d/gen", p.Value)
			}
			return
		}
	}
	t.Error("no SourcePath property")
}
