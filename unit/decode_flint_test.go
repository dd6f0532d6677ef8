package unit

import (
	"strings"
	"testing"
	"time"
)

// TestDecodeFlintDirectives: X-Flint-TriggerLimitCooldownSec= in [Socket] and [Path] (values,
// resets, bad values), unknown X-Flint- keys and the key in a section that has no such
// directive (warned, kept as X- keys); unit/show's TestFlintCooldownProperty shows it.
func TestDecodeFlintDirectives(t *testing.T) {
	const sock = "[Socket]\nListenStream=/run/foo.sock\n"
	const path = "[Path]\nPathExists=/run/foo\n"
	const key = "X-Flint-TriggerLimitCooldownSec"
	for _, tc := range []struct {
		name, unit, content string
		want                time.Duration
		diags               string // one per line, as Diagnostic.String
		extra               string // the X- keys kept in Extra, "Section.Key" space-separated
	}{
		{"socket-unset", "foo.socket", sock, 0, "", ""},
		{"socket-seconds", "foo.socket", sock + key + "=30\n", 30 * time.Second, "", ""},
		{"socket-span", "foo.socket", sock + key + "=1min 30s\n", 90 * time.Second, "", ""},
		{"socket-ms", "foo.socket", sock + key + "=500ms\n", 500 * time.Millisecond, "", ""},
		{"socket-zero-off", "foo.socket", sock + key + "=30s\n" + key + "=0\n", 0, "", ""},
		{"socket-infinity-off", "foo.socket", sock + key + "=infinity\n", 0, "", ""},
		{"socket-empty-resets", "foo.socket", sock + key + "=30s\n" + key + "=\n", 0, "", ""},
		{"socket-bad-ignored", "foo.socket", sock + key + "=20s\n" + key + "=soon\n", 20 * time.Second,
			"/etc/systemd/system/foo.socket:4: warning: Failed to parse sec value, ignoring: soon", ""},
		{"path", "foo.path", path + key + "=2min\n", 2 * time.Minute, "", ""},
		{"unknown-flint-key", "foo.socket", sock + "X-Flint-TriggerLimitCooldown=30s\n", 0,
			"/etc/systemd/system/foo.socket:3: warning: Unknown flint key 'X-Flint-TriggerLimitCooldown' in section [Socket], ignoring.",
			"Socket.X-Flint-TriggerLimitCooldown"},
		{"wrong-section", "foo.service", "[Service]\nExecStart=/bin/true\n" + key + "=30s\n", 0,
			"/etc/systemd/system/foo.service:3: warning: Unknown flint key 'X-Flint-TriggerLimitCooldownSec' in section [Service], ignoring.",
			"Service.X-Flint-TriggerLimitCooldownSec"},
		{"other-x-keys-silent", "foo.socket", sock + "X-Foo=1\n" + key + "=5s\n[X-Flint]\nTriggerLimitCooldownSec=9s\n", 5 * time.Second, "",
			"Socket.X-Foo X-Flint.TriggerLimitCooldownSec"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, diags := decodeText(t, tc.unit, tc.content)
			if u.LoadState != Loaded {
				t.Fatalf("LoadState %s: %s", u.LoadState, u.LoadError)
			}
			var got time.Duration
			switch {
			case u.Socket != nil:
				got = u.Socket.TriggerLimitCooldown
			case u.Path != nil:
				got = u.Path.TriggerLimitCooldown
			}
			if got != tc.want {
				t.Errorf("cooldown %v, want %v", got, tc.want)
			}
			if m := msgs(diags); m != tc.diags {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", m, tc.diags)
			}
			var extra []string
			for _, sec := range []string{"Service", "Socket", "Path", "X-Flint"} {
				for _, e := range u.Extra[sec] {
					extra = append(extra, sec+"."+e.Key)
				}
			}
			if g := strings.Join(extra, " "); g != tc.extra {
				t.Errorf("Extra %q, want %q", g, tc.extra)
			}
		})
	}
}

// TestFlintDirectivesListed: the documentation list has the directive in both sections, and
// the systemd directive table does not (systemd does not know it).
func TestFlintDirectivesListed(t *testing.T) {
	var got []string
	for _, d := range FlintDirectives() {
		got = append(got, d.Section+"."+d.Name)
		if d.Doc == "" || d.Default == "" {
			t.Errorf("%s.%s: no documentation", d.Section, d.Name)
		}
	}
	if want := "Socket.X-Flint-TriggerLimitCooldownSec Path.X-Flint-TriggerLimitCooldownSec"; strings.Join(got, " ") != want {
		t.Errorf("FlintDirectives: %q, want %q", strings.Join(got, " "), want)
	}
	for _, d := range Directives() {
		if strings.HasPrefix(d.Name, "X-") {
			t.Errorf("systemd directive table holds %s.%s", d.Section, d.Name)
		}
	}
}
