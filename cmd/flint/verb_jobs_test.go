package main

import (
	"strings"
	"testing"
	"time"

	"github.com/flint-init/flint/client"
)

// The messages are systemctl 252's (src/shared/bus-wait-for-jobs.c), with flint's verbs.
func TestJobFailureMessage(t *testing.T) {
	see := "\nSee \"flint status foo.service\" and \"flint logs -u foo.service\" for details."
	for _, tc := range []struct {
		name string
		r    client.JobResult
		want string
	}{
		{"done", client.JobResult{Unit: "foo.service", Result: "done"}, ""},
		{"skipped", client.JobResult{Unit: "foo.service", Result: "skipped"}, ""},
		{"exit_code", client.JobResult{Unit: "foo.service", Result: "failed", UnitResult: "exit-code"},
			"Job for foo.service failed because the control process exited with error code." + see},
		{"signal", client.JobResult{Unit: "foo.service", Result: "failed", UnitResult: "signal"},
			"Job for foo.service failed because a fatal signal was delivered to the control process." + see},
		{"core_dump", client.JobResult{Unit: "foo.service", Result: "failed", UnitResult: "core-dump"},
			"Job for foo.service failed because a fatal signal was delivered causing the control process to dump core." + see},
		{"timeout_result", client.JobResult{Unit: "foo.service", Result: "failed", UnitResult: "timeout"},
			"Job for foo.service failed because a timeout was exceeded." + see},
		{"resources", client.JobResult{Unit: "foo.service", Result: "failed", UnitResult: "resources"},
			"Job for foo.service failed because of unavailable resources or another system error." + see},
		{"protocol", client.JobResult{Unit: "foo.service", Result: "failed", UnitResult: "protocol"},
			"Job for foo.service failed because the service did not take the steps required by its unit configuration." + see},
		// As systemctl 252 prints it (TestServiceDifferential, start-limit).
		{"start_limit_hit", client.JobResult{Unit: "foo.service", Result: "failed", UnitResult: "start-limit-hit"},
			"Job for foo.service failed because start of the service was attempted too often." + see +
				"\nTo force a start use \"flint reset-failed foo.service\"\nfollowed by \"flint start foo.service\" again."},
		{"socket", client.JobResult{Unit: "foo.socket", Result: "failed", UnitResult: "resources"},
			"Job failed. See \"flint logs\" for details."},
		{"canceled", client.JobResult{Unit: "foo.service", Result: "canceled"}, "Job for foo.service canceled."},
		{"timeout", client.JobResult{Unit: "foo.service", Result: "timeout"}, "Job for foo.service timed out."},
		{"dependency", client.JobResult{Unit: "foo.service", Result: "dependency"},
			"A dependency job for foo.service failed. See 'flint logs' for details."},
		{"invalid", client.JobResult{Unit: "foo.service", Result: "invalid"}, "foo.service is not active, cannot reload."},
		{"assert", client.JobResult{Unit: "foo.service", Result: "assert"}, "Assertion failed on job for foo.service."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := jobFailureMessage(tc.r); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestReportJobsExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  []client.JobResult
		code int
	}{
		{"all_done", []client.JobResult{{Unit: "a.service", Result: "done"}}, 0},
		{"not_found", []client.JobResult{{Unit: "a.service", Error: "x", ErrorCode: "not-found"}}, 5},
		{"refused", []client.JobResult{{Unit: "a.service", Error: "x", ErrorCode: "refused"}}, 4},
		{"not_applicable", []client.JobResult{{Unit: "a.service", Error: "x", ErrorCode: "not-applicable"}}, 3},
		{"masked", []client.JobResult{{Unit: "a.service", Error: "x", ErrorCode: "masked"}}, 1},
		{"first_refusal_wins", []client.JobResult{{Unit: "a", Error: "x", ErrorCode: "refused"}, {Unit: "b", Error: "y", ErrorCode: "not-found"}}, 4},
		{"failure_overrides", []client.JobResult{{Unit: "a", Error: "x", ErrorCode: "not-found"}, {Unit: "b.service", Result: "failed"}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if got := reportJobs(&b, tc.res); got != tc.code {
				t.Errorf("exit %d, want %d (output %q)", got, tc.code, b.String())
			}
		})
	}
}

// The order of systemctl 252's verb_start: refusals and the unit-file-changed warnings unit
// by unit, then the failed jobs, then the sockets that can start a stopped unit again.
func TestReportJobsOutput(t *testing.T) {
	changed := "Warning: The unit file, source configuration file or drop-ins of %s changed on disk. Run 'flint daemon-reload' to reload units.\n"
	for _, tc := range []struct {
		name string
		res  []client.JobResult
		want string
	}{
		{"changed", []client.JobResult{{Unit: "a.service", Result: "done", NeedDaemonReload: true}},
			strings.ReplaceAll(changed, "%s", "a.service")},
		{"triggers", []client.JobResult{{Unit: "a.service", Job: "stop", Result: "done", ActiveTriggers: []string{"a.socket", "b.socket"}}},
			"Warning: Stopping a.service, but it can still be activated by:\n  a.socket\n  b.socket\n"},
		{"order", []client.JobResult{
			{Unit: "a.service", Job: "stop", Result: "done", ActiveTriggers: []string{"a.socket"}},
			{Unit: "b.service", Job: "stop", Result: "canceled", NeedDaemonReload: true},
			{Unit: "c.service", Job: "stop", Error: "Unit c.service not loaded.", ErrorCode: "not-loaded"},
		}, strings.ReplaceAll(changed, "%s", "b.service") +
			"Failed to stop c.service: Unit c.service not loaded.\n" +
			"Job for b.service canceled.\n" +
			"Warning: Stopping a.service, but it can still be activated by:\n  a.socket\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			reportJobs(&b, tc.res)
			if b.String() != tc.want {
				t.Errorf("got  %q\nwant %q", b.String(), tc.want)
			}
		})
	}
}

// TestAsSystemctl: the try-* verbs ignore masked units; try-reload-or-restart's failures name
// the job as systemctl's "reload-or-try-restart".
func TestAsSystemctl(t *testing.T) {
	masked := client.JobResult{Job: "try-restart", Unit: "m.service", Error: "Unit m.service is masked.", ErrorCode: "masked"}
	missing := client.JobResult{Job: "try-restart", Unit: "n.service", Error: "Unit n.service not found.", ErrorCode: "not-found"}
	var b strings.Builder
	if code := reportJobs(&b, asSystemctl("try-restart", []client.JobResult{masked, missing})); code != 5 ||
		b.String() != "Failed to try-restart n.service: Unit n.service not found.\n" {
		t.Errorf("try-restart: exit %d, output %q", code, b.String())
	}
	b.Reset()
	masked.Job = "restart"
	if code := reportJobs(&b, asSystemctl("restart", []client.JobResult{masked})); code != 1 ||
		b.String() != "Failed to restart m.service: Unit m.service is masked.\n" {
		t.Errorf("restart: exit %d, output %q", code, b.String())
	}
	b.Reset()
	missing.Job = "try-reload-or-restart"
	if code := reportJobs(&b, asSystemctl("try-reload-or-restart", []client.JobResult{missing})); code != 5 ||
		b.String() != "Failed to reload-or-try-restart n.service: Unit n.service not found.\n" {
		t.Errorf("try-reload-or-restart: exit %d, output %q", code, b.String())
	}
}

func TestWriteDepTree(t *testing.T) {
	nodes := []client.DepNode{
		{Unit: "default.target", Active: "active"},
		{Unit: "multi-user.target", Active: "active", Depth: 1},
		{Unit: "foo.service", Active: "failed", Depth: 2},
		{Unit: "basic.target", Active: "active", Depth: 2},
		{Unit: "sockets.target", Active: "active", Depth: 3},
		{Unit: "bar.socket", Active: "inactive", Depth: 4},
		{Unit: "sysinit.target", Active: "active", Depth: 3},
		{Unit: "graphical.target", Active: "inactive", Depth: 1},
	}
	want := `default.target
● ├─multi-user.target
× │ ├─foo.service
● │ └─basic.target
● │   ├─sockets.target
○ │   │ └─bar.socket
● │   └─sysinit.target
○ └─graphical.target
`
	var b strings.Builder
	writeDepTree(&b, nodes, false)
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestTable(t *testing.T) {
	tb := &table{}
	tb.add(nil, "", "UNIT", "LOAD", "DESCRIPTION")
	tb.add([]string{ansiRed}, "●", "a-long-name.service", "loaded", "A")
	tb.add(nil, " ", "b.socket", "not-found", "")
	var b strings.Builder
	tb.write(&b, false)
	want := "  UNIT                LOAD      DESCRIPTION\n● a-long-name.service loaded    A\n  b.socket            not-found\n"
	if b.String() != want {
		t.Errorf("got:\n%q\nwant:\n%q", b.String(), want)
	}
	b.Reset()
	tb.write(&b, true)
	if !strings.Contains(b.String(), ansiRed+"●"+ansiNormal+" a-long-name.service") {
		t.Errorf("coloured: %q", b.String())
	}
}

func TestDropInLines(t *testing.T) {
	got := dropInLines([]string{"/u/sleepy.service.d/a.conf", "/u/sleepy.service.d/b.conf", "/u/service.d/z.conf"})
	want := []string{"/u/sleepy.service.d", "└─a.conf, b.conf", "/u/service.d", "└─z.conf"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Now()
	y, m, d := now.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, time.Local)
	for _, tc := range []struct {
		in   string
		want time.Time
		tol  time.Duration
	}{
		{"today", midnight, 0},
		{"yesterday", midnight.AddDate(0, 0, -1), 0},
		{"2026-11-25 12:00:00", time.Date(2026, 11, 25, 12, 0, 0, 0, time.Local), 0},
		{"2026-11-25", time.Date(2026, 11, 25, 0, 0, 0, 0, time.Local), 0},
		{"12:30", time.Date(y, m, d, 12, 30, 0, 0, time.Local), 0},
		{"-10min", now.Add(-10 * time.Minute), 2 * time.Second},
		{"-1h 30s", now.Add(-time.Hour - 30*time.Second), 2 * time.Second},
		{"2h ago", now.Add(-2 * time.Hour), 2 * time.Second},
		{"@1700000000", time.Unix(1700000000, 0), 0},
		{"+1d", now.Add(24 * time.Hour), 2 * time.Second},
		{"3h left", now.Add(3 * time.Hour), 2 * time.Second},
		{"2026-11-25T12:00:01.250", time.Date(2026, 11, 25, 12, 0, 1, 250e6, time.Local), 0},
		{"2026-11-25 12:00 UTC", time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), 0},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseSince(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := got.Sub(tc.want); diff > tc.tol || diff < -tc.tol {
				t.Errorf("parseSince(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "soon", "-x", "@y", "+x", "x left"} {
		if _, err := parseSince(bad); err == nil {
			t.Errorf("parseSince(%q) accepted", bad)
		}
	}
}
