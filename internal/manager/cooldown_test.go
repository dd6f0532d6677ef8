package manager

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/listen"
)

// TestTriggerLimitCooldownStates: the re-arm after trigger-limit-hit (cooldown.go) as a table
// of event sequences on an Accept=no socket with X-Flint-TriggerLimitCooldownSec=1h, without
// processes: "due" stands for the cooldown's timer firing, "svc-run"/"svc-stop" for the
// socket's service running and stopping. Each row says where the socket ends and whether a
// re-arm is still pending (and for which service it waits).
func TestTriggerLimitCooldownStates(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cooldown string // the setting; "" leaves it out
		events   []string
		sub      string
		pending  bool
		waitsFor string
	}{
		{"without the setting the socket stays failed", "", []string{"fail", "due"}, "failed", false, ""},
		{"failed: a re-arm is pending", "1h", []string{"fail"}, "failed", true, ""},
		{"due: listening again", "1h", []string{"fail", "due"}, "listening", false, ""},
		{"another failure is not re-armed", "1h", []string{"fail-resources", "due"}, "failed", false, ""},
		{"reset-failed cancels", "1h", []string{"fail", "reset-failed", "due"}, "dead", false, ""},
		{"a stop cancels", "1h", []string{"fail", "stop", "due"}, "failed", false, ""},
		{"a start starts at once and cancels", "1h", []string{"fail", "start"}, "listening", false, ""},
		{"daemon-reload keeps it", "1h", []string{"fail", "reload", "due"}, "listening", false, ""},
		{"daemon-reload without the setting cancels", "1h", []string{"fail", "reload-off", "due"}, "failed", false, ""},
		{"the service runs: wait for it", "1h", []string{"fail", "svc-run", "due"}, "failed", true, "s.service"},
		{"the service stops: re-armed", "1h", []string{"fail", "svc-run", "due", "svc-stop"}, "listening", false, ""},
		{"the service stops before the cooldown ends", "1h", []string{"fail", "svc-run", "svc-stop"}, "failed", true, ""},
		{"shutdown cancels", "1h", []string{"fail", "shutdown", "due"}, "failed", false, ""},
		{"failing again cools down again", "1h", []string{"fail", "due", "fail"}, "failed", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			setting := ""
			if tc.cooldown != "" {
				setting = "X-Flint-TriggerLimitCooldownSec=" + tc.cooldown + "\n"
			}
			sock := "[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=" + filepath.Join(dir, "s.sk") + "\n" + setting
			m, _ := testManager(t, map[string]string{
				"s.socket":  sock,
				"s.service": "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/true\n",
			})
			p, err := listen.NewPoller()
			if err != nil {
				t.Fatal(err)
			}
			m.poller = p
			u, svc := m.load("s.socket"), m.load("s.service")
			t.Cleanup(func() { socketMachine{m}.sockClose(u); p.Close(); m.cooldownCancel(u, "") })
			if err := m.enqueueErr("start", u, "replace", nil); err != nil || u.sub != sockListening {
				t.Fatalf("start: %v, %s", err, u.sub)
			}
			for _, ev := range tc.events {
				switch ev {
				case "fail", "fail-resources":
					result := map[string]Result{"fail": resultTriggerLimitHit, "fail-resources": resultResources}[ev]
					u.sock.triggerLimit = rateLimit{begin: monoOf(time.Now()), num: 99}
					socketMachine{m}.sockEnterStopPre(u, result) // as triggerLimitFail
				case "due":
					if c := u.mo().cooldown; c != nil && c.timer != nil {
						c.timer.Stop()
						c.timer = nil
						m.cooldownDue(u)
					}
				case "reset-failed":
					if err := m.resetFailed([]string{"s.socket"}); err != nil {
						t.Fatal(err)
					}
				case "stop", "start":
					if err := m.enqueueErr(ev, u, "replace", nil); err != nil {
						t.Fatal(err)
					}
				case "reload", "reload-off":
					cfg := *u.cfg
					s := *cfg.Socket
					if ev == "reload-off" {
						s.OwnCommands().TriggerLimitCooldown = 0
					}
					cfg.Socket = &s
					u.cfg = &cfg
					m.cooldownReload(u)
				case "svc-run":
					svc.sub = svcRunning
				case "svc-stop":
					svc.sub = svcStopPost // as a stop that ends
					m.setState(svc, svcDead)
				case "shutdown":
					m.shuttingDown = true
				default:
					t.Fatalf("unknown event %s", ev)
				}
			}
			if u.sub.String() != tc.sub {
				t.Errorf("socket %s, want %s (result %s)", u.sub, tc.sub, u.result)
			}
			c := u.mo().cooldown
			if (c != nil) != tc.pending {
				t.Fatalf("re-arm pending %v, want %v", c != nil, tc.pending)
			}
			if c != nil && c.waitsFor != tc.waitsFor {
				t.Errorf("waits for %q, want %q", c.waitsFor, tc.waitsFor)
			}
			if c != nil && c.due.Sub(c.failed) != time.Hour {
				t.Errorf("due %v after the failure, want 1h", c.due.Sub(c.failed))
			}
			// A re-arm opens a fresh trigger limit window; a start by hand keeps it, as systemd.
			if last := tc.events[len(tc.events)-1]; u.sub == sockListening && (last == "start") != (u.sock.triggerLimit.num > 1) {
				t.Errorf("listening after %s with %d triggers in the trigger limit window", last, u.sock.triggerLimit.num)
			}
			if c != nil && m.mayCollect(u) {
				t.Errorf("a socket with a pending re-arm may be collected")
			}
			rearm := ""
			for _, pr := range m.properties(u) {
				if pr.Name == "FlintTriggerLimitRearmTimestamp" {
					rearm = pr.Value
				}
			}
			if (rearm != "") != tc.pending {
				t.Errorf("FlintTriggerLimitRearmTimestamp=%q with a re-arm pending %v", rearm, tc.pending)
			}
		})
	}
}

// TestTriggerLimitCooldownReloadRetimes: a daemon-reload that changes the setting times the
// pending re-arm anew from the failure.
func TestTriggerLimitCooldownReloadRetimes(t *testing.T) {
	dir := t.TempDir()
	m, rec := testManager(t, map[string]string{
		"s.socket":  "[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=" + filepath.Join(dir, "s.sk") + "\nX-Flint-TriggerLimitCooldownSec=1h\n",
		"s.service": "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/true\n",
	})
	u := m.load("s.socket")
	u.sub = sockListening
	socketMachine{m}.sockEnterStopPre(u, resultTriggerLimitHit) // as triggerLimitFail
	c := u.mo().cooldown
	if c == nil {
		t.Fatalf("no re-arm pending; console:\n%s", rec.text())
	}
	t.Cleanup(func() { m.cooldownCancel(u, "") })
	cfg := *u.cfg
	s := *cfg.Socket
	s.OwnCommands().TriggerLimitCooldown = 2 * time.Hour
	cfg.Socket = &s
	u.cfg = &cfg
	m.cooldownReload(u)
	if u.mo().cooldown != c || c.due.Sub(c.failed) != 2*time.Hour || c.delay != 2*time.Hour {
		t.Errorf("after the reload: due %v after the failure, delay %v; want 2h", c.due.Sub(c.failed), c.delay)
	}
}
