package manager

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestMarkBooted: markBooted creates the directory and its parent when missing, and
// unmarkBooted removes exactly what it created while it is empty; a directory that was there
// stays, unless the runtime directory's marker says a killed manager made it.
func TestMarkBooted(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir, runtime string)
		created []string // relative to the root: "systemd/system", "systemd"
		wantErr bool
		// after unmarkBooted, with extra put into the directory first when not "":
		extra       string
		leftDir     bool
		leftParent  bool
		leftMarker  bool
		markerAfter bool // the marker exists between markBooted and unmarkBooted
	}{
		{name: "nothing there", created: []string{"systemd/system", "systemd"}, markerAfter: true},
		{name: "parent there", prepare: func(t *testing.T, dir, _ string) { mkdir(t, filepath.Dir(dir)) },
			created: []string{"systemd/system"}, leftParent: true, markerAfter: true},
		{name: "directory there", prepare: func(t *testing.T, dir, _ string) { mkdir(t, dir) },
			leftDir: true, leftParent: true},
		{name: "left by a killed manager", prepare: func(t *testing.T, dir, runtime string) {
			mkdir(t, dir)
			write(t, filepath.Join(runtime, bootedMarker), dir+"\n"+filepath.Dir(dir))
		}, created: []string{"systemd/system", "systemd"}, markerAfter: true},
		{name: "marker naming another directory", prepare: func(t *testing.T, dir, runtime string) {
			mkdir(t, dir)
			write(t, filepath.Join(runtime, bootedMarker), "/elsewhere")
		}, leftDir: true, leftParent: true, markerAfter: true},
		{name: "not a directory", prepare: func(t *testing.T, dir, _ string) {
			mkdir(t, filepath.Dir(dir))
			write(t, dir, "")
		}, wantErr: true, leftDir: true, leftParent: true},
		// A unit file written to /run/systemd/system since (systemctl --runtime) keeps it.
		{name: "not empty at the end", created: []string{"systemd/system", "systemd"}, extra: "x.service",
			leftDir: true, leftParent: true, markerAfter: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, runtime := t.TempDir(), t.TempDir()
			dir := filepath.Join(root, "systemd", "system")
			if tt.prepare != nil {
				tt.prepare(t, dir, runtime)
			}
			created, err := markBooted(dir, runtime)
			if (err != nil) != tt.wantErr {
				t.Fatalf("markBooted: %v, want error %v", err, tt.wantErr)
			}
			var rel []string
			for _, c := range created {
				r, _ := filepath.Rel(root, c)
				rel = append(rel, r)
			}
			if !slices.Equal(rel, tt.created) {
				t.Errorf("created %q, want %q", rel, tt.created)
			}
			if !tt.wantErr {
				if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
					t.Errorf("%s is not a directory after markBooted: %v", dir, err)
				}
			}
			if got := exists(filepath.Join(runtime, bootedMarker)); got != tt.markerAfter {
				t.Errorf("marker exists %v, want %v", got, tt.markerAfter)
			}
			if tt.extra != "" {
				write(t, filepath.Join(dir, tt.extra), "")
			}
			unmarkBooted(created, runtime)
			if got := exists(dir); got != tt.leftDir {
				t.Errorf("directory left %v, want %v", got, tt.leftDir)
			}
			if got := exists(filepath.Dir(dir)); got != tt.leftParent {
				t.Errorf("parent left %v, want %v", got, tt.leftParent)
			}
			if exists(filepath.Join(runtime, bootedMarker)) {
				t.Error("marker left after unmarkBooted")
			}
		})
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
