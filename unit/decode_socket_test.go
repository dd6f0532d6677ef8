package unit

import (
	"reflect"
	"testing"
	"time"
)

// TestSocketDefaults: a socket unit that sets nothing decodes to DefaultSocketSection, the one
// definition of the defaults (listen.Open and flint activate use it too), with systemd 252's
// values: Backlog= SOMAXCONN_DELUXE (2147483647, what systemctl show prints; the golden files
// of testdata/decode check it against systemd), TriggerLimitIntervalSec=2s, and
// TriggerLimitBurst= 20, or 200 with Accept=yes (socket_add_extras). A path unit's trigger
// limit is 2s and 200 (path_add_extras).
func TestSocketDefaults(t *testing.T) {
	def := DefaultSocketSection()
	if def.Backlog != 2147483647 || def.TriggerLimitInterval != 2*time.Second || def.TriggerLimitBurst != 20 {
		t.Errorf("DefaultSocketSection: Backlog=%d TriggerLimitIntervalSec=%v TriggerLimitBurst=%d, want 2147483647 2s 20",
			def.Backlog, def.TriggerLimitInterval, def.TriggerLimitBurst)
	}
	for _, tc := range []struct {
		name, content string
		burst         int
		service       string // SocketService(), which Decode keeps in the section
	}{
		{"plain", "[Socket]\nListenStream=/run/d.sock\n", 20, "d.service"},
		{"accept", "[Socket]\nListenStream=/run/d.sock\nAccept=yes\n", 200, "d@.service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, diags := decodeText(t, "d.socket", tc.content)
			if len(diags) > 0 || u.Socket == nil {
				t.Fatalf("decode: %v", diags)
			}
			got := *u.Socket
			want := *DefaultSocketSection()
			want.Listen, want.Accept, want.TriggerLimitBurst = got.Listen, got.Accept, tc.burst
			want.service = tc.service
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
			}
		})
	}
	u, _ := decodeText(t, "d.path", "[Path]\nPathExists=/run/d\n")
	if u.Path.TriggerLimitInterval != DefaultTriggerLimitInterval || u.Path.TriggerLimitBurst != 200 {
		t.Errorf("path: TriggerLimitIntervalSec=%v TriggerLimitBurst=%d, want 2s 200", u.Path.TriggerLimitInterval, u.Path.TriggerLimitBurst)
	}
}
