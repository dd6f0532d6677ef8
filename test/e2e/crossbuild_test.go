package e2e

import (
	"os"
	"os/exec"
	"testing"
)

// TestCrossBuild: flint builds, and its tests compile, on the architectures without the amd64
// vfork path (64-bit arm64, and 32-bit 386 and arm, where int is 32 bits) and without cgo.
// go vet type-checks the test files as well as the packages.
func TestCrossBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the whole tree for three more architectures")
	}
	for _, arch := range []string{"arm64", "386", "arm"} {
		t.Run(arch, func(t *testing.T) {
			cmd := exec.Command("nice", "-n", "10", "go", "vet", "./...")
			cmd.Dir = repoRootDir
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("GOARCH=%s go vet ./...: %v\n%s", arch, err, out)
			}
		})
	}
}
