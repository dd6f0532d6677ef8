package unit

import (
	"slices"
	"testing"
	"time"
)

func TestDecodePathFields(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		specs   []string // "Kind path", in Specs' (systemd's) order; nil: not checked
		check   func(u *Unit) bool
		diags   []string // substrings of the diagnostics, in order; nil: none allowed
	}{
		{name: "defaults", content: "[Path]\nPathExists=/run/x\n", specs: []string{"PathExists /run/x"},
			check: func(u *Unit) bool {
				p := u.Path
				return p.DirectoryMode == 0o755 && !p.MakeDirectory && p.TriggerLimitInterval == 2*time.Second &&
					p.TriggerLimitBurst == 200 && u.PathUnit() == "foo.service" && u.TriggerUnit() == "foo.service" &&
					u.LoadState == Loaded
			}},
		// Prepended, as systemd's LIST_PREPEND; paths simplified.
		{name: "kinds-and-order", content: "[Path]\nPathExists=/a\nPathExistsGlob=/b/*.x\nPathChanged=//c/./d/\nPathModified=/e\nDirectoryNotEmpty=/f\n",
			specs: []string{"DirectoryNotEmpty /f", "PathModified /e", "PathChanged /c/d", "PathExistsGlob /b/*.x", "PathExists /a"}},
		{name: "reset", content: "[Path]\nPathExists=/a\nPathModified=\nDirectoryNotEmpty=/run/%p\n",
			specs: []string{"DirectoryNotEmpty /run/foo"}},
		{name: "options", content: "[Path]\nPathExists=/a\nMakeDirectory=yes\nDirectoryMode=0700\nTriggerLimitIntervalSec=5s\nTriggerLimitBurst=7\nUnit=bar@.service\n",
			check: func(u *Unit) bool {
				p := u.Path
				return p.MakeDirectory && p.DirectoryMode == 0o700 && p.TriggerLimitInterval == 5*time.Second &&
					p.TriggerLimitBurst == 7 && u.PathUnit() == "bar@foo.service"
			}},
		{name: "bad-paths", content: "[Path]\nPathExists=relative\nPathChanged=/a/../b\nPathModified=%%\nPathExists=/ok\n",
			specs: []string{"PathExists /ok"},
			diags: []string{
				"foo.path:2: warning: PathExists= path is not absolute, ignoring: relative",
				"foo.path:3: warning: PathChanged= path is not normalized, ignoring: /a/../b",
				"foo.path:4: warning: PathModified= path is not absolute, ignoring: %",
			}},
		{name: "no-path", content: "[Path]\nMakeDirectory=yes\n",
			check: func(u *Unit) bool { return u.LoadState == BadSetting },
			diags: []string{"foo.path: error: Path unit lacks path setting. Refusing."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, diags := decodeText(t, "foo.path", tc.content)
			if u.Path == nil {
				t.Fatal("no [Path] section")
			}
			var specs []string
			for _, s := range u.Path.Specs {
				specs = append(specs, string(s.Kind)+" "+s.Path)
			}
			if tc.specs != nil && !slices.Equal(specs, tc.specs) {
				t.Errorf("specs %q, want %q", specs, tc.specs)
			}
			if tc.check != nil && !tc.check(u) {
				t.Errorf("check failed: %+v (load state %s)", *u.Path, u.LoadState)
			}
			wantDiagsInOrder(t, diags, tc.diags)
		})
	}
}
