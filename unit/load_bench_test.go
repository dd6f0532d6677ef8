package unit

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkLoadPairs loads 1000 socket units with their services as bench/cmd/scale writes
// them (decode speed and the memory the loaded units keep: -benchmem counts what a load
// allocates, garbage included).
func BenchmarkLoadPairs(b *testing.B) {
	dir := b.TempDir()
	const n = 1000
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("idle%05d", i)
		sock := fmt.Sprintf("[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=%s/s/%05d.sk\n", dir, i)
		svc := "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/usr/local/bin/foobard\n"
		if err := os.WriteFile(filepath.Join(dir, name+".socket"), []byte(sock), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".service"), []byte(svc), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		l := NewLoader(System, []string{dir})
		for i := 0; i < n; i++ {
			l.Load(fmt.Sprintf("idle%05d.socket", i))
			l.Load(fmt.Sprintf("idle%05d.service", i))
		}
	}
}
