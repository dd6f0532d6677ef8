package manager

import (
	"os"
	"path/filepath"
	"testing"
)

// logStorage is journald's Storage=: auto picks the persistent directory only when it exists.
func TestLogStorage(t *testing.T) {
	base := t.TempDir()
	persistent := filepath.Join(base, "var-log-flint")
	runtime := filepath.Join(base, "run")
	for _, tc := range []struct {
		name, storage string
		exists        bool
		want          string
		maxUse        int64
	}{
		{"auto without the directory", "auto", false, VolatileLogDir(runtime), 2},
		{"auto with it", "auto", true, persistent, 1},
		{"persistent", "persistent", false, persistent, 1},
		{"volatile", "volatile", true, VolatileLogDir(runtime), 2},
		{"none", "none", true, "", 0},
		{"unset", "", true, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.RemoveAll(persistent)
			if tc.exists {
				os.Mkdir(persistent, 0o755)
			}
			o := Options{LogStorage: tc.storage, PersistentLogDir: persistent, RuntimeDir: runtime, LogMaxUse: 1, LogRuntimeMaxUse: 2}
			dir, dopt := o.logStorage()
			if dir != tc.want || dopt.MaxUse != tc.maxUse {
				t.Errorf("got %q %+v, want %q max %d", dir, dopt, tc.want, tc.maxUse)
			}
		})
	}
}
