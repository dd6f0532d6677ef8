//go:build linux && amd64

package spawn

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestNativeShimMatchesSource re-assembles testdata/nativeshim.S (when binutils are installed)
// and checks that the bytes in nativecode_amd64.go are its .text.
func TestNativeShimMatchesSource(t *testing.T) {
	as, err := exec.LookPath("as")
	if err != nil {
		t.Skip("no assembler")
	}
	objcopy, err := exec.LookPath("objcopy")
	if err != nil {
		t.Skip("no objcopy")
	}
	dir := t.TempDir()
	obj, bin := filepath.Join(dir, "x.o"), filepath.Join(dir, "x.bin")
	if out, err := exec.Command(as, "--64", "-o", obj, "testdata/nativeshim.S").CombinedOutput(); err != nil {
		t.Fatalf("as: %v\n%s", err, out)
	}
	if out, err := exec.Command(objcopy, "-O", "binary", "-j", ".text", obj, bin).CombinedOutput(); err != nil {
		t.Fatalf("objcopy: %v\n%s", err, out)
	}
	code, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(code, nativeShimCode) {
		t.Fatalf("nativeShimCode (%d bytes) differs from testdata/nativeshim.S (%d bytes): regenerate", len(nativeShimCode), len(code))
	}
}

func TestNativeELFRuns(t *testing.T) {
	path, err := nativeShimPath()
	if err != nil {
		t.Fatal(err)
	}
	// Without a valid control fd the shim must exit 255 (read fails), not crash.
	cmd := exec.Command(path, "99")
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 255 {
		t.Fatalf("shim with a bad fd: %v, want exit 255", err)
	}
}
