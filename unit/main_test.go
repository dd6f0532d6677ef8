package unit

import (
	"fmt"
	"os"
	"testing"
)

// TestMain fails the package's tests when one of them changed a value the decoded units
// share (decode_share.go) instead of copying it.
func TestMain(m *testing.M) {
	code := m.Run()
	if err := SharedIntact(); err != nil && code == 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		code = 1
	}
	os.Exit(code)
}
