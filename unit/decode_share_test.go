package unit

import (
	"reflect"
	"strings"
	"testing"
)

func init() {
	// Every test that decodes checks that what is shared is the same value.
	checkShare = func(own, shared *ExecContext) {
		if !reflect.DeepEqual(own, shared) {
			panic("shareExec: shared an ExecContext of a different value")
		}
	}
}

// Units that set no exec setting share one ExecContext per type; one that sets any keeps its
// own, and the shared one is not changed by it.
func TestShareExec(t *testing.T) {
	decode := func(name, text string) *Unit {
		t.Helper()
		typ := TypeService
		if strings.HasSuffix(name, ".socket") {
			typ = TypeSocket
		}
		f, err := ParseFile("/x/"+name, []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		u := &Unit{Name: name, Type: typ}
		Decode(u, []*File{f}, nil)
		if u.LoadState != Loaded {
			t.Fatalf("%s: %s %s", name, u.LoadState, u.LoadError)
		}
		return u
	}
	a := decode("a.service", "[Service]\nExecStart=/bin/true\nRestart=always\n")
	b := decode("b.service", "[Unit]\nDescription=b\n[Service]\nExecStart=/bin/false\n")
	if a.Service.Exec != b.Service.Exec || a.Service.Exec != sharedExec(TypeService) {
		t.Errorf("two services without exec settings do not share their ExecContext")
	}
	c := decode("c.service", "[Service]\nExecStart=/bin/true\nUser=nobody\n")
	if c.Service.Exec == a.Service.Exec || c.Service.Exec.User != "nobody" || a.Service.Exec.User != "" {
		t.Errorf("a service with User= shares the ExecContext: %q / %q", c.Service.Exec.User, a.Service.Exec.User)
	}
	d := decode("d.service", "[Service]\nExecStart=/bin/true\nStandardOutput=journal\n")
	if d.Service.Exec.StandardOutput != "journal" {
		t.Errorf("StandardOutput=%q", d.Service.Exec.StandardOutput)
	}
	e := decode("e.service", "[Service]\nExecStart=/bin/true\nStandardInput=socket\n")
	if e.Service.Exec == a.Service.Exec || e.Service.Exec.StandardOutput != "inherit" {
		t.Errorf("StandardInput=socket: shared %v, StandardOutput=%q", e.Service.Exec == a.Service.Exec, e.Service.Exec.StandardOutput)
	}
	s1 := decode("s1.socket", "[Socket]\nListenStream=/run/s1\n")
	s2 := decode("s2.socket", "[Socket]\nListenStream=/run/s2\nAccept=yes\n")
	if s1.Socket.Exec != s2.Socket.Exec || s1.Socket.Exec != sharedExec(TypeSocket) || s1.Socket.Exec == a.Service.Exec {
		t.Errorf("sockets: shared %v, same as the services' %v", s1.Socket.Exec == s2.Socket.Exec, s1.Socket.Exec == a.Service.Exec)
	}
	s3 := decode("s3.socket", "[Socket]\nListenStream=/run/s3\nSocketUser=nobody\nUser=nobody\n")
	if s3.Socket.Exec == s1.Socket.Exec || s1.Socket.Exec.User != "" {
		t.Errorf("a socket with User= shares the ExecContext")
	}
	if got, want := *sharedExec(TypeService), *newExecContext(); got.StandardOutput != want.StandardOutput || got.UMask != want.UMask {
		t.Errorf("shared service context %+v is not the defaults", got)
	}
}
