package runstate

import (
	"fmt"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

const (
	invA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	invB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// findState: a.service ran 100 (main) and 101 (control), b.service 200, c.socket listened on
// 127.0.0.1:80 (inode 77); the file was written at tick 5000.
func findState() *State {
	return &State{
		Manager: Proc{PID: 10, Start: 10},
		Written: 5000,
		Units: []Unit{
			{Name: "a.service", InvocationID: invA, KillMode: "control-group", KillSignal: syscall.SIGTERM, SendSIGKILL: true,
				Procs: []UnitProc{{Proc{100, 1000}, RoleMain}, {Proc{101, 1001}, RoleControl}}},
			{Name: "b.service", InvocationID: invB, KillMode: "control-group", KillSignal: syscall.SIGTERM, SendSIGKILL: true,
				Procs: []UnitProc{{Proc{200, 2000}, RoleMain}}},
			{Name: "c.socket", KillMode: "control-group", KillSignal: syscall.SIGTERM, SendSIGKILL: true,
				Sockets: []Socket{{Inode: 77, Family: "tcp", Address: "127.0.0.1:80"}}},
		},
	}
}

// summary renders a Found as "unit: pid(why) ..." lines and "replaced: pid ..." for comparison.
func summary(f *Found) []string {
	var out []string
	for _, u := range f.Units {
		if len(u.Procs) == 0 {
			continue
		}
		var ps []string
		for _, p := range u.Procs {
			ps = append(ps, fmt.Sprintf("%d(%s,%s)", p.PID, p.Role, p.Why))
		}
		out = append(out, u.Unit.Name+": "+strings.Join(ps, " "))
	}
	for _, r := range f.Replaced {
		out = append(out, fmt.Sprintf("replaced: %s %d", r.Unit, r.Now.PID))
	}
	return out
}

// TestFind: which running processes are a unit's, and which are not, with pid reuse, dead
// session leaders, inherited INVOCATION_ID, socket holders and descendants.
func TestFind(t *testing.T) {
	// The caller is 50, child of 40, child of 1.
	self := func() []*fakeProc { return []*fakeProc{proc(1, 0, 1), proc(40, 1, 40), proc(50, 40, 50)} }
	withInv := func(p *fakeProc, inv string) *fakeProc { p.inv = inv; return p }
	holding := func(p *fakeProc, ino uint64, addr string) *fakeProc {
		p.socks = map[uint64]string{ino: addr}
		return p
	}
	zombie := func(p *fakeProc) *fakeProc { p.Zombie = true; return p }
	for _, tc := range []struct {
		name  string
		procs []*fakeProc
		want  []string
	}{
		{"nothing left", nil, nil},
		{"recorded alive", []*fakeProc{proc(100, 1, 1000), proc(101, 1, 1001), proc(200, 1, 2000)},
			[]string{"a.service: 100(main,recorded) 101(control,recorded)", "b.service: 200(main,recorded)"}},
		{"pid reused", []*fakeProc{proc(100, 1, 1500)},
			[]string{"replaced: a.service 100"}},
		{"zombie", []*fakeProc{zombie(proc(100, 1, 1000))}, nil},
		{"session of a live leader", []*fakeProc{proc(100, 1, 1000), proc(300, 1, 9000).in(100)},
			[]string{"a.service: 100(main,recorded) 300(other,session of 100)"}},
		{"session of a dead leader, started before the write", []*fakeProc{proc(300, 1, 4999).in(100)},
			[]string{"a.service: 300(other,session of 100)"}},
		{"session of a dead leader, started after the write", []*fakeProc{proc(300, 1, 5000).in(100)}, nil},
		{"session of a reused pid", []*fakeProc{proc(100, 1, 7000), proc(300, 1, 8000).in(100)},
			[]string{"replaced: a.service 100"}},
		{"process group only", []*fakeProc{proc(100, 1, 1000), func() *fakeProc { p := proc(300, 1, 9000); p.PGID = 100; return p }()},
			[]string{"a.service: 100(main,recorded) 300(other,process group of 100)"}},
		{"INVOCATION_ID", []*fakeProc{withInv(proc(400, 1, 9000), invA)},
			[]string{"a.service: 400(other,INVOCATION_ID)"}},
		{"INVOCATION_ID of an unknown unit", []*fakeProc{withInv(proc(400, 1, 9000), "cccccccccccccccccccccccccccccccc")}, nil},
		{"recorded before INVOCATION_ID", []*fakeProc{withInv(proc(200, 1, 2000), invA)},
			[]string{"b.service: 200(main,recorded)"}},
		{"INVOCATION_ID before session", []*fakeProc{proc(100, 1, 1000), withInv(proc(300, 1, 9000).in(100), invB)},
			[]string{"a.service: 100(main,recorded)", "b.service: 300(other,INVOCATION_ID)"}},
		{"socket holder", []*fakeProc{holding(proc(500, 1, 9000), 77, "127.0.0.1:80")},
			[]string{"c.socket: 500(other,holds 127.0.0.1:80)"}},
		{"socket inode bound elsewhere", []*fakeProc{holding(proc(500, 1, 9000), 77, "127.0.0.1:81")}, nil},
		{"socket holder that is a unit's", []*fakeProc{holding(withInv(proc(500, 1, 9000), invB), 77, "127.0.0.1:80")},
			[]string{"b.service: 500(other,INVOCATION_ID)"}},
		{"descendants", []*fakeProc{proc(100, 1, 1000), proc(600, 100, 9000), proc(601, 600, 9001), proc(700, 1, 9000)},
			[]string{"a.service: 100(main,recorded) 600(other,child of 100) 601(other,child of 600)"}},
		{"children of a socket holder", []*fakeProc{holding(proc(500, 1, 9000), 77, "127.0.0.1:80"), proc(501, 500, 9001)},
			[]string{"c.socket: 500(other,holds 127.0.0.1:80) 501(other,child of 500)"}},
		{"caller and its ancestors", []*fakeProc{proc(100, 50, 1000), proc(60, 50, 60)},
			[]string{"a.service: 100(main,recorded)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := findState()
			if tc.name == "caller and its ancestors" {
				// A state naming the caller, its parent and their session must leave them be.
				s.Units[0].Procs = append(s.Units[0].Procs, UnitProc{Proc{50, 50}, RoleOther}, UnitProc{Proc{40, 40}, RoleOther})
				s.Units[1].Procs = append(s.Units[1].Procs, UnitProc{Proc{1, 1}, RoleMain})
			}
			sys := newFakeSystem(append(self(), tc.procs...)...)
			f, err := Find(s, sys, 50, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(f); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Find:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestFindEarlier: a process found once stays its unit's while it lives with the same start
// time, after the session leader that made it the unit's has exited; one with a new start
// time under the same pid does not.
func TestFindEarlier(t *testing.T) {
	s := findState()
	sys := newFakeSystem(proc(1, 0, 1), proc(50, 1, 50), proc(100, 1, 1000), proc(300, 1, 9000).in(100), proc(301, 1, 9001).in(100))
	first, err := Find(s, sys, 50, nil)
	if err != nil {
		t.Fatal(err)
	}
	delete(sys.procs, 100)
	sys.procs[301] = proc(301, 1, 9999).in(100) // 301 exited, its pid reused in the session
	again, err := Find(s, sys, 50, first)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a.service: 300(other,session of 100)"}
	if got := summary(again); !reflect.DeepEqual(got, want) {
		t.Errorf("Find with earlier = %q, want %q", got, want)
	}
}
