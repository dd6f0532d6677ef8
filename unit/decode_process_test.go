package unit

import (
	"reflect"
	"strings"
	"testing"
)

// TestDecodeProcess: the typed values of the per-process and logging directives, with
// systemd 252's rules for several lines, resets and bad values.
func TestDecodeProcess(t *testing.T) {
	cases := []struct {
		name  string
		lines string
		check func(p *ProcessSettings) bool
		warns []string // substrings of the warnings, in order
	}{
		{"defaults", "", func(p *ProcessSettings) bool {
			f, l := p.SyslogPriority()
			return p.IgnoresSIGPIPE() && f == 3 && l == 6 && p.LevelPrefix() && p.MaxLevel() == -1 &&
				!p.CPUSchedulingSet && !p.IOPrioSet && !p.TimerSlackSet && !p.CoredumpFilterSet && p.CPUAffinity == nil
		}, nil},
		{"sigpipe", "IgnoreSIGPIPE=no", func(p *ProcessSettings) bool { return !p.IgnoresSIGPIPE() }, nil},
		{"affinity accumulates", "CPUAffinity=0-2\nCPUAffinity=5,7", func(p *ProcessSettings) bool {
			return p.CPUAffinity.String() == "0-2 5 7" && !p.CPUAffinityFromNUMA
		}, nil},
		{"affinity reset", "CPUAffinity=1\nCPUAffinity=\nCPUAffinity=3", func(p *ProcessSettings) bool {
			return p.CPUAffinity.String() == "3"
		}, nil},
		{"affinity numa", "CPUAffinity=1\nCPUAffinity=numa", func(p *ProcessSettings) bool {
			return p.CPUAffinityFromNUMA && p.CPUAffinity == nil
		}, nil},
		{"affinity bad", "CPUAffinity=2\nCPUAffinity=x", func(p *ProcessSettings) bool {
			return p.CPUAffinity.String() == "2"
		}, []string{"Failed to parse CPU affinity 'x'"}},
		{"affinity too high", "CPUAffinity=8192", func(p *ProcessSettings) bool { return p.CPUAffinity == nil }, nil},
		{"numa", "NUMAPolicy=bind\nNUMAMask=0-1\nNUMAMask=3", func(p *ProcessSettings) bool {
			return p.NUMAPolicy == "bind" && p.NUMAMask.String() == "0-1 3"
		}, nil},
		{"sched policy clamps", "CPUSchedulingPriority=50\nCPUSchedulingPolicy=batch", func(p *ProcessSettings) bool {
			return p.CPUSchedulingSet && p.CPUSchedulingPolicy == SchedBatch && p.CPUSchedulingPriority == 0
		}, nil},
		{"sched rt", "CPUSchedulingPolicy=fifo\nCPUSchedulingResetOnFork=yes", func(p *ProcessSettings) bool {
			return p.CPUSchedulingPolicy == SchedFIFO && p.CPUSchedulingPriority == 1 && p.CPUSchedulingResetOnFork
		}, nil},
		{"sched priority alone", "CPUSchedulingPriority=0", func(p *ProcessSettings) bool {
			return p.CPUSchedulingSet && p.CPUSchedulingPolicy == SchedOther
		}, nil},
		{"reset on fork alone", "CPUSchedulingResetOnFork=yes", func(p *ProcessSettings) bool {
			return !p.CPUSchedulingSet
		}, nil},
		{"sched priority range", "CPUSchedulingPriority=100", func(p *ProcessSettings) bool { return !p.CPUSchedulingSet },
			[]string{"CPU scheduling priority is out of range, ignoring: 100"}},
		{"sched reset", "CPUSchedulingPolicy=rr\nCPUSchedulingPolicy=", func(p *ProcessSettings) bool {
			return !p.CPUSchedulingSet && p.CPUSchedulingPolicy == SchedOther
		}, nil},
		{"io class keeps level", "IOSchedulingPriority=7\nIOSchedulingClass=idle", func(p *ProcessSettings) bool {
			return p.IOPrioSet && p.IOPrio == IOPrioClassIdle<<13|7
		}, nil},
		{"io level default class", "IOSchedulingPriority=1", func(p *ProcessSettings) bool {
			return p.IOPrio == IOPrioClassBE<<13|1
		}, nil},
		{"io none normalized", "IOSchedulingPriority=2\nIOSchedulingClass=none", func(p *ProcessSettings) bool {
			return p.IOPrio == IOPrioClassBE<<13|4
		}, nil},
		{"io bad", "IOSchedulingClass=fast", func(p *ProcessSettings) bool { return !p.IOPrioSet },
			[]string{"Failed to parse IO scheduling class, ignoring: fast"}},
		{"timer slack", "TimerSlackNSec=2us", func(p *ProcessSettings) bool {
			return p.TimerSlackSet && p.TimerSlackNSec == 2000
		}, nil},
		{"timer slack bare ns", "TimerSlackNSec=500", func(p *ProcessSettings) bool { return p.TimerSlackNSec == 500 }, nil},
		{"timer slack mixed", "TimerSlackNSec=1ms 2us 3ns", func(p *ProcessSettings) bool { return p.TimerSlackNSec == 1002003 }, nil},
		{"timer slack fraction", "TimerSlackNSec=1.5us", func(p *ProcessSettings) bool { return p.TimerSlackNSec == 1500 }, nil},
		{"timer slack infinity", "TimerSlackNSec=5\nTimerSlackNSec=infinity", func(p *ProcessSettings) bool { return !p.TimerSlackSet }, nil},
		{"coredump", "CoredumpFilter=private-anonymous 0x40\nCoredumpFilter=elf-headers", func(p *ProcessSettings) bool {
			return p.CoredumpFilterSet && p.CoredumpFilter == 0x51
		}, nil},
		{"coredump default all", "CoredumpFilter=default", func(p *ProcessSettings) bool { return p.CoredumpFilter == 0x33 }, nil},
		{"coredump reset", "CoredumpFilter=all\nCoredumpFilter=", func(p *ProcessSettings) bool { return !p.CoredumpFilterSet }, nil},
		{"search path", "ExecSearchPath=/opt/bin:/usr//bin/\nExecSearchPath=/x", func(p *ProcessSettings) bool {
			return reflect.DeepEqual(p.ExecSearchPath, []string{"/opt/bin", "/usr/bin", "/x"})
		}, nil},
		{"search path relative", "ExecSearchPath=/a:rel:/b", func(p *ProcessSettings) bool {
			return reflect.DeepEqual(p.ExecSearchPath, []string{"/a"})
		}, []string{"ExecSearchPath= path is not absolute, ignoring: rel"}},
		{"search path reset", "ExecSearchPath=/a\nExecSearchPath=", func(p *ProcessSettings) bool { return p.ExecSearchPath == nil }, nil},
		{"syslog", "SyslogFacility=local7\nSyslogLevel=3\nSyslogLevelPrefix=no\nLogLevelMax=warning", func(p *ProcessSettings) bool {
			f, l := p.SyslogPriority()
			return f == 23 && l == 3 && !p.LevelPrefix() && p.MaxLevel() == 4
		}, nil},
		{"syslog bad", "SyslogFacility=nope\nLogLevelMax=loud", func(p *ProcessSettings) bool {
			f, _ := p.SyslogPriority()
			return f == 3 && p.MaxLevel() == -1
		}, []string{"Failed to parse log facility, ignoring: nope", "Failed to parse log level, ignoring: loud"}},
		{"extra fields", `LogExtraFields=A=1 "B=two words" c=x NOEQ _P=1` + "\nLogExtraFields=D=\\x41", func(p *ProcessSettings) bool {
			return reflect.DeepEqual(p.LogExtraFields, []string{"A=1", "B=two words", "D=A"})
		}, []string{"Log field name is invalid, ignoring: c=x", "Log field lacks '=' character, ignoring: NOEQ", "Log field name is invalid, ignoring: _P=1"}},
		{"extra fields reset", "LogExtraFields=A=1\nLogExtraFields=", func(p *ProcessSettings) bool { return p.LogExtraFields == nil }, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u, diags := decodeText(t, "p.service", "[Service]\nExecStart=/bin/true\n"+c.lines+"\n")
			p := &u.Service.Exec.ProcessSettings
			if !c.check(p) {
				t.Errorf("settings %+v", *p)
			}
			var got []string
			for _, d := range diags {
				got = append(got, d.Msg)
			}
			if len(got) != len(c.warns) {
				t.Fatalf("warnings %q, want %q", got, c.warns)
			}
			for i, w := range c.warns {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %d: %q, want %q", i, got[i], w)
				}
			}
			if len(u.Service.Exec.NotEnforced) != 0 {
				t.Errorf("NotEnforced %q", u.Service.Exec.NotEnforced)
			}
		})
	}
}

func TestParseCPUSet(t *testing.T) {
	for in, want := range map[string]string{"": "", "0": "0", "3-1": "", "1,2 3\t9-10": "1-3 9-10", "63-65": "63-65"} {
		s, ok := ParseCPUSet(in)
		if !ok || s.String() != want {
			t.Errorf("ParseCPUSet(%q) = %q, %v; want %q", in, s, ok, want)
		}
	}
	if s, _ := ParseCPUSet("3-1"); s == nil {
		t.Error("a reversed range gives an empty set, not none (systemd allocates it)")
	}
	for _, bad := range []string{"x", "1-", "-1", "8192", "1-9000"} {
		if _, ok := ParseCPUSet(bad); ok {
			t.Errorf("ParseCPUSet(%q) accepted", bad)
		}
	}
}
