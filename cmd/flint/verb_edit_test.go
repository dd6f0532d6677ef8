package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestTrimEditMarkers: what edit installs of the file the editor leaves, as systemctl 252's
// trim_edit_markers: the text between the markers, stripped, without a final newline; a file
// without markers as it is unless stripping shortens its end.
func TestTrimEditMarkers(t *testing.T) {
	const head = "### Editing /etc/x.d/override.conf\n" + editMarkerStart + "\n\n"
	for _, c := range []struct {
		name, in, out string
		empty         bool
	}{
		{"between the markers", head + "[Unit]\nA=1\n\n" + editMarkerEnd + "\n\n### /lib/x\n# [Unit]", "[Unit]\nA=1", false},
		{"nothing between", head + "\n\n" + editMarkerEnd + "\n# x", "", true},
		{"no end marker", head + "[Unit]\nA=1\n", "[Unit]\nA=1", false},
		{"no markers, trailing newline", "[Unit]\nA=1\n", "[Unit]\nA=1", false},
		{"no markers, kept as it is", "  [Unit]\nA=1", "  [Unit]\nA=1", false},
		{"empty", "", "", true},
		{"blank", "\n\n", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "tmp")
			os.WriteFile(p, []byte(c.in), 0o644)
			empty, err := trimEditMarkers(p)
			got, _ := os.ReadFile(p)
			if err != nil || empty != c.empty || string(got) != c.out {
				t.Errorf("got %q empty=%v %v, want %q empty=%v", got, empty, err, c.out, c.empty)
			}
		})
	}
}

// TestDropInTemplate: the file the editor gets for a drop-in (the layout is compared with
// systemctl 252's by test/e2e TestFileVerbsMatchSystemctl).
func TestDropInTemplate(t *testing.T) {
	dir := t.TempDir()
	unitFile, other, dropIn := filepath.Join(dir, "a.service"), filepath.Join(dir, "10-b.conf"), filepath.Join(dir, "override.conf")
	os.WriteFile(unitFile, []byte("[Service]\nExecStart=/bin/true\n\n"), 0o644)
	os.WriteFile(other, nil, 0o644)
	got, err := dropInTemplate(dropIn, []string{unitFile, other, dropIn})
	want := "### Editing " + dropIn + "\n" + editMarkerStart + "\n\n\n\n" + editMarkerEnd +
		"\n\n### " + unitFile + "\n# [Service]\n# ExecStart=/bin/true" + "\n\n### " + other
	if err != nil || got != want {
		t.Errorf("new drop-in:\n%q %v\nwant\n%q", got, err, want)
	}
	os.WriteFile(dropIn, []byte("[Unit]\nA=1"), 0o644)
	got, _ = dropInTemplate(dropIn, []string{unitFile, dropIn})
	want = "### Editing " + dropIn + "\n" + editMarkerStart + "\n\n[Unit]\nA=1\n\n" + editMarkerEnd +
		"\n\n### " + unitFile + "\n# [Service]\n# ExecStart=/bin/true"
	if got != want {
		t.Errorf("existing drop-in:\n%q\nwant\n%q", got, want)
	}
}
