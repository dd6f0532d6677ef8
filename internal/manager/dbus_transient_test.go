package manager

import (
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
)

func TestTransientUnitText(t *testing.T) {
	prop := func(name string, v any) []any { return []any{name, dbus.MakeVariant(v)} }
	exec := func(path string, argv []string, ignore bool) []any { return []any{path, argv, ignore} }
	for _, tc := range []struct {
		name  string
		props [][]any
		want  string // the lines after the header, or the error
	}{
		{"systemd-run", [][]any{prop("Description", "/bin/sleep 10"), prop("AddRef", true),
			prop("ExecStart", [][]any{exec("/bin/sleep", []string{"/bin/sleep", "10"}, false)})},
			"[Unit]\nDescription=/bin/sleep 10\n\n[Service]\nExecStart=/bin/sleep 10\n"},
		{"quoting, argv0, ignore", [][]any{prop("ExecStart", [][]any{exec("/bin/sh", []string{"sh", "-c", `echo "a b" 100%`}, true)})},
			"[Unit]\n\n[Service]\nExecStart=-@/bin/sh sh -c \"echo \\\"a b\\\" 100%%\"\n"},
		{"types", [][]any{prop("Type", "oneshot"), prop("RemainAfterExit", true), prop("TimeoutStartUSec", uint64(90_000_000)),
			prop("TimeoutStopUSec", uint64(1<<64-1)), prop("UMask", uint32(0o27)), prop("Environment", []string{"A=b c", "D=e"}),
			prop("After", []string{"x.service"})},
			"[Unit]\nAfter=x.service\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nTimeoutStartSec=90000000us\nTimeoutStopSec=infinity\nUMask=0027\nEnvironment=\"A=b c\" D=e\n"},
		{"unknown", [][]any{prop("Frobnicate", "x")}, "Cannot set property Frobnicate, or unknown property."},
		{"line break", [][]any{prop("Description", "a\nb")}, "Invalid value for Description: a line break."},
		{"relative command", [][]any{prop("ExecStart", [][]any{exec("sleep", nil, false)})}, `ExecStart: bad command "sleep"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := transientUnitText(tc.props)
			if err != nil {
				got = err.Error()
			} else {
				_, got, _ = strings.Cut(got, "\n")
			}
			if got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
