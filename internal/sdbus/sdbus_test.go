package sdbus

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

func TestAuthenticate(t *testing.T) {
	uidHex := func(uid int) string { return fmt.Sprintf("%x", strconv.Itoa(uid)) }
	for _, tc := range []struct {
		name, in, out string
		ok            bool
	}{
		{"sd-bus pipelined", "\x00AUTH EXTERNAL " + uidHex(1000) + "\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n", "OK G\r\nAGREE_UNIX_FD\r\n", true},
		{"data challenge", "\x00AUTH EXTERNAL\r\nDATA\r\nBEGIN\r\n", "DATA\r\nOK G\r\n", true},
		{"wrong uid", "\x00AUTH EXTERNAL " + uidHex(0) + "\r\nBEGIN\r\n", "REJECTED EXTERNAL\r\nERROR\r\n", false},
		{"other mechanism", "\x00AUTH ANONYMOUS\r\nAUTH EXTERNAL " + uidHex(1000) + "\r\nBEGIN\r\n", "REJECTED EXTERNAL\r\nOK G\r\n", true},
		{"no NUL", "AUTH EXTERNAL\r\n", "", false},
		{"begin before ok", "\x00BEGIN\r\n", "ERROR\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := authenticate(bufio.NewReader(strings.NewReader(tc.in)), &out, 1000, "G")
			if (err == nil) != tc.ok || out.String() != tc.out {
				t.Errorf("got %q, %v; want %q, ok %v", out.String(), err, tc.out, tc.ok)
			}
		})
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{"foo.service": "foo_2eservice", "a-b@1.socket": "a_2db_401_2esocket",
		"1x.target": "_31x_2etarget", "": "_"} {
		got := escapeLabel(in)
		if got != want {
			t.Errorf("escape %q = %q, want %q", in, got, want)
		}
		if back, ok := UnescapeLabel(got); !ok || back != in {
			t.Errorf("unescape %q = %q %v", got, back, ok)
		}
	}
	for _, bad := range []string{"_2", "_zz", "a_"} {
		if _, ok := UnescapeLabel(bad); ok {
			t.Errorf("unescape %q: ok", bad)
		}
	}
}

func TestFromText(t *testing.T) {
	stamp := time.Date(2026, 12, 7, 10, 0, 0, 0, time.Local)
	for _, tc := range []struct {
		name, sig string
		texts     []string
		want      any
	}{
		{"ActiveState", "s", []string{"active"}, "active"},
		{"RemainAfterExit", "b", []string{"yes"}, true},
		{"MainPID", "u", []string{"42"}, uint32(42)},
		{"TimeoutStartUSec", "t", []string{"1min 30s"}, uint64(90_000_000)},
		{"TimeoutStopUSec", "t", []string{"infinity"}, uint64(1<<64 - 1)},
		{"MemoryCurrent", "t", []string{"[not set]"}, uint64(1<<64 - 1)},
		{"UMask", "u", []string{"0022"}, uint32(0o22)},
		{"ActiveEnterTimestamp", "t", []string{stamp.Format("Mon 2006-01-02 15:04:05 MST")}, uint64(stamp.UnixMicro())},
		{"ActiveEnterTimestamp", "t", []string{""}, uint64(0)},
		{"ExecMainStatus", "i", []string{"-1"}, int32(-1)},
		{"Wants", "as", []string{`a.service "b c.service"`}, []string{"a.service", "b c.service"}},
		{"Bogus", "u", []string{"many"}, uint32(0)},
	} {
		got := fromText(tc.name, tc.sig, tc.texts)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || fmt.Sprintf("%T", got) != fmt.Sprintf("%T", tc.want) {
			t.Errorf("%s %s %q = %#v, want %#v", tc.name, tc.sig, tc.texts, got, tc.want)
		}
	}
	listen := fromText("Listen", "a(ss)", []string{"/run/a.sk (Stream)", "[::]:80 (Stream)"})
	if s := fmt.Sprint(listen); s != "[{Stream /run/a.sk} {Stream [::]:80}]" {
		t.Errorf("Listen: %s", s)
	}
	exec := fromText("ExecStart", "a(sasbttttuii)", []string{"{ path=/bin/sleep ; argv[]=/bin/sleep 10 ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=7 ; code=exited ; status=1 }"})
	if s := fmt.Sprint(exec); s != "[{/bin/sleep [/bin/sleep 10] false 0 0 0 0 7 1 1}]" {
		t.Errorf("ExecStart: %s", s)
	}
	// Every property of every interface has a zero value godbus can send.
	for _, it := range interfaces() {
		for _, p := range it.Props {
			if _, err := dbus.SignatureOf(Zero(p.Type)).String(), error(nil); err != nil {
				t.Fatal(err)
			}
			if got := dbus.SignatureOf(Zero(p.Type)).String(); got != p.Type {
				t.Errorf("%s.%s: zero value has signature %s, want %s", it.Name, p.Name, got, p.Type)
			}
		}
	}
}

// fakeBackend is one unit, /org/freedesktop/systemd1/unit/a_2eservice, with a start method.
type fakeBackend struct {
	srv      *Server
	lastPeer atomic.Value // the Peer of the last StartUnit
}

func (f *fakeBackend) Object(path dbus.ObjectPath) ([]string, []string, bool) {
	switch path {
	case ManagerPath:
		return []string{IfaceManager}, []string{"unit"}, true
	case UnitPath("a.service"):
		return []string{IfaceService, IfaceUnit}, nil, true
	}
	return nil, nil, false
}

// RefuseObject refuses the path of the template t@.service.
func (f *fakeBackend) RefuseObject(path dbus.ObjectPath) (string, string, bool) {
	if path == UnitPath("t@.service") {
		return ErrInvalidArgs, "Unit name t@.service is neither a valid invocation ID nor unit name.", true
	}
	return "", "", false
}

func (f *fakeBackend) Properties(path dbus.ObjectPath, iface string) ([]Prop, error) {
	if path == ManagerPath {
		return []Prop{{Name: "Version", Text: "252"}}, nil
	}
	return []Prop{{Name: "Id", Text: "a.service"}, {Name: "ActiveState", Text: "active"}, {Name: "MainPID", Text: "42"},
		{Name: "ExecMainPID", Text: "43"}, {Name: "TimeoutStartUSec", Text: "1min 30s"}}, nil
}

func (f *fakeBackend) Supported(iface, method string) bool {
	return iface == IfaceManager && (method == "StartUnit" || method == "ListUnits" || method == "StartTransientUnit" || method == "ListUnitsByNames")
}

func (f *fakeBackend) Call(c *Call) {
	switch c.Member {
	case "StartUnit":
		f.lastPeer.Store(c.Peer)
		c.Reply(JobPath(7))
		f.srv.Emit(ManagerPath, IfaceManager, "JobRemoved", uint32(7), JobPath(7), c.Body[0].(string), "done")
	case "StartTransientUnit":
		fakeTransient(c)
	case "ListUnitsByNames":
		c.ReplySig("a(ssssssouso)", []struct {
			A, B, C, D, E, F string
			G                dbus.ObjectPath
			H                uint32
			I                string
			J                dbus.ObjectPath
		}{})
	default:
		c.Fail(ErrFailed, "no")
	}
}

func startServer(t *testing.T, limits ...Limits) (*Server, string) {
	srv, path, _ := startFake(t, limits...)
	return srv, path
}

func startFake(t *testing.T, limits ...Limits) (*Server, string, *fakeBackend) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "private")
	fb := &fakeBackend{}
	srv, err := Listen(path, fb, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if len(limits) > 0 {
		srv.limits = limits[0]
	}
	fb.srv = srv
	go srv.Serve()
	t.Cleanup(srv.Close)
	return srv, path, fb
}

func dial(t *testing.T, path string) *dbus.Conn {
	t.Helper()
	c, err := dbus.Dial("unix:path=" + path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestServer: a godbus client on a real socket: properties typed and in systemd's order,
// introspection, a method with its signal, and the errors for what does not exist.
func TestServer(t *testing.T) {
	_, path := startServer(t)
	c := dial(t, path)
	sigs := make(chan *dbus.Signal, 10)
	c.Signal(sigs)
	unitObj := c.Object(busName, UnitPath("a.service"))

	var all map[string]dbus.Variant
	if err := unitObj.Call(ifaceProps+".GetAll", 0, "").Store(&all); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]any{"Id": "a.service", "MainPID": uint32(42), "TimeoutStartUSec": uint64(90_000_000),
		"CanStart": false, "Names": []string{}} {
		if got := all[name].Value(); fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want) {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
	if n := len(all); n != len(interfaces()[IfaceService].Props)+len(interfaces()[IfaceUnit].Props) {
		t.Errorf("GetAll: %d properties", n)
	}
	var v dbus.Variant
	if err := unitObj.Call(ifaceProps+".Get", 0, IfaceUnit, "ActiveState").Store(&v); err != nil || v.Value() != "active" {
		t.Errorf("Get ActiveState: %v %v", v, err)
	}
	if err := unitObj.Call(ifaceProps+".Set", 0, IfaceUnit, "ActiveState", dbus.MakeVariant("x")).Err; err == nil ||
		err.(dbus.Error).Name != ErrPropertyReadOnly {
		t.Errorf("Set: %v", err)
	}

	var xml string
	if err := c.Object(busName, ManagerPath).Call(ifaceIntro+".Introspect", 0).Store(&xml); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<method name="StartUnit">`, `<signal name="JobRemoved">`, `<property name="Version" type="s" access="read">`, `<node name="unit"/>`} {
		if !strings.Contains(xml, want) {
			t.Errorf("introspection lacks %s", want)
		}
	}
	if strings.Contains(xml, `<method name="StopUnit">`) {
		t.Errorf("introspection lists a method the backend does not implement")
	}

	var job dbus.ObjectPath
	if err := c.Object(busName, ManagerPath).Call(IfaceManager+".StartUnit", 0, "a.service", "replace").Store(&job); err != nil || job != JobPath(7) {
		t.Fatalf("StartUnit: %v %v", job, err)
	}
	select {
	case s := <-sigs:
		if s.Name != IfaceManager+".JobRemoved" || fmt.Sprint(s.Body) != "[7 /org/freedesktop/systemd1/job/7 a.service done]" {
			t.Errorf("signal %s %v", s.Name, s.Body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no JobRemoved")
	}

	for _, tc := range []struct {
		obj          dbus.BusObject
		method, want string
		args         []any
	}{
		{c.Object(busName, "/nope"), ifacePeer + ".Ping", ErrUnknownObject, nil},
		{c.Object(busName, UnitPath("b.service")), ifaceProps + ".GetAll", ErrUnknownObject, []any{""}},
		{c.Object(busName, UnitPath("t@.service")), ifaceProps + ".GetAll", ErrInvalidArgs, []any{""}},
		{c.Object(busName, ManagerPath), IfaceManager + ".StopUnit", ErrUnknownMethod, []any{"a.service", "replace"}},
		{c.Object(busName, ManagerPath), IfaceManager + ".StartUnit", ErrInvalidArgs, []any{"a.service"}},
		{c.Object(busName, ManagerPath), ifaceProps + ".Get", ErrUnknownInterface, []any{"org.example.X", "Y"}},
	} {
		err := tc.obj.Call(tc.method, 0, tc.args...).Err
		if e, ok := err.(dbus.Error); !ok || e.Name != tc.want {
			t.Errorf("%s: %v, want %s", tc.method, err, tc.want)
		}
	}
	if err := c.Object(busName, ManagerPath).Call(ifacePeer+".Ping", 0).Err; err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// TestUnprivileged: a client of another uid may read but not change: the test binary
// connects as nobody.
func TestUnprivileged(t *testing.T) {
	if p := os.Getenv("SDBUS_TEST_CLIENT"); p != "" {
		unprivilegedClient(p)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a client as another uid")
	}
	// One connection per unprivileged uid: the client's second is closed.
	_, path := startServer(t, Limits{Total: 8, Reserved: 2, PerUID: 1})
	os.Chmod(filepath.Dir(path), 0o755)
	// The socket is the owner's only (0700, TestSocketMode); opened up here, the server
	// still refuses a privileged method to another uid.
	os.Chmod(path, 0o666)
	// The test binary, where nobody may run it.
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755) // the test's temporary directory, parent of both
	bin := filepath.Join(dir, "sdbus.test")
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestUnprivileged$")
	cmd.Env = append(os.Environ(), "SDBUS_TEST_CLIENT="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	want := "read ok; start: " + ErrAccessDenied + "; second connection refused; 1024 names answered, over: " + ErrLimitsExceeded +
		": Too many names in one call: 1025 (limit 1024 for unprivileged users)."
	if err != nil || !strings.Contains(string(out), want) {
		t.Errorf("client as nobody: %v\n%s", err, out)
	}
}

func unprivilegedClient(path string) {
	c, err := dbus.Dial("unix:path=" + path)
	if err == nil {
		err = c.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))})
	}
	if err != nil {
		fmt.Println("connect:", err)
		return
	}
	var v dbus.Variant
	if err := c.Object(busName, UnitPath("a.service")).Call(ifaceProps+".Get", 0, IfaceUnit, "Id").Store(&v); err != nil {
		fmt.Println("read:", err)
		return
	}
	err = c.Object(busName, ManagerPath).Call(IfaceManager+".StartUnit", 0, "a.service", "replace").Err
	name := ""
	if e, ok := err.(dbus.Error); ok {
		name = e.Name
	}
	// At the limit on names a call may carry, and over it.
	many := make([]string, 1025)
	for i := range many {
		many[i] = fmt.Sprintf("u%d.service", i)
	}
	limit := "answered"
	if err := c.Object(busName, ManagerPath).Call(IfaceManager+".ListUnitsByNames", 0, many[1:]).Err; err != nil {
		limit = err.Error()
	}
	if e, ok := c.Object(busName, ManagerPath).Call(IfaceManager+".ListUnitsByNames", 0, many).Err.(dbus.Error); ok {
		limit += ", over: " + e.Name + ": " + fmt.Sprint(e.Body...)
	}
	second := "accepted"
	if c2, err := dbus.Dial("unix:path=" + path); err == nil {
		if c2.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}) != nil {
			second = "refused"
		}
	}
	fmt.Printf("read ok; start: %s; second connection %s; 1024 names %s\n", name, second, limit)
}

// TestLimits: connections over the total are closed; one that ends makes room.
func TestLimits(t *testing.T) {
	_, path := startServer(t, Limits{Total: 2, Reserved: 1, PerUID: 1})
	connect := func() (*dbus.Conn, error) {
		c, err := dbus.Dial("unix:path=" + path)
		if err != nil {
			return nil, err
		}
		if err := c.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	a, err := connect()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := connect(); err != nil {
		t.Fatal(err)
	}
	if c, err := connect(); err == nil {
		c.Close()
		t.Fatal("a third connection over Total=2 was accepted")
	}
	a.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := connect()
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no room after a connection closed: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCloseDuringAuth: a client that connected and never authenticated does not hold Close.
func TestCloseDuringAuth(t *testing.T) {
	srv, path := startServer(t)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{0}) // the NUL, then nothing
	done := make(chan struct{})
	go func() { srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second): // the auth deadline is 30s
		t.Fatal("Close waits for a client that does not authenticate")
	}
}

// BenchmarkTyped: the conversion GetAll of a service does (its two interfaces).
func BenchmarkTyped(b *testing.B) {
	props := []Prop{{Name: "Id", Text: "a.service"}, {Name: "ActiveState", Text: "active"}, {Name: "MainPID", Text: "42"},
		{Name: "TimeoutStartUSec", Text: "1min 30s"}, {Name: "ExecStart", Text: "{ path=/bin/sleep ; argv[]=/bin/sleep 10 ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }"}}
	for b.Loop() {
		typed(IfaceService, props)
		typed(IfaceUnit, props)
	}
}

// TestSocketMode: the socket is 0700 as systemd 252's /run/systemd/private (bound under
// umask 0077): another uid cannot even connect; the owner can.
func TestSocketMode(t *testing.T) {
	_, path := startServer(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o700 {
		t.Errorf("socket mode %v, want srwx------", fi.Mode())
	}
	c, err := dbus.Dial("unix:path=" + path)
	if err != nil {
		t.Fatalf("the owner cannot connect: %v", err)
	}
	c.Close()
}
