package unit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDecodeGolden decodes each unit file in testdata/decode and compares a JSON dump of the
// Unit (diagnostics included) with the .golden file next to it (go test -run
// TestDecodeGolden -update rewrites them).
func TestDecodeGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/decode/*")
	n := 0
	for _, path := range files {
		name := filepath.Base(path)
		if strings.HasSuffix(name, ".golden") {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			u := newTestUnit(name)
			if u.Template == "" && strings.Contains(name, "@.") {
				u.SetInstance("main", "") // decode templates as an instance would be
			}
			u.FragmentPath = path
			u.setLoadState(Loaded)
			f, diags := ParseFile(path, data)
			u.addDiagnostics(diags...)
			Decode(u, []*File{f}, testExpander(u))
			got, err := json.MarshalIndent(u, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := path + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if string(got) != string(want) {
				t.Errorf("decoded %s differs from %s (run go test -run TestDecodeGolden -update and diff):\n%s", name, golden, got)
			}
		})
	}
	if n == 0 {
		t.Fatal("no golden inputs")
	}
}
