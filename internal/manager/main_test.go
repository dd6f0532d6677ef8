package manager

import (
	"fmt"
	"os"
	"reflect"
	"testing"
)

// TestMain fails the package's tests when any of them made a state machine report a bug (an
// illegal transition, a state without a handler): the tests that run real units check the
// transition tables as they go.
func TestMain(m *testing.M) {
	bugHook = func(msg string) { fmt.Fprintf(os.Stderr, "BUG: %s\n", msg) }
	code := m.Run()
	if n := bugs.Load(); n > 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d internal errors reported (BUG: lines above)\n", n)
		code = 1
	}
	if !reflect.DeepEqual(idleService, serviceRT{}) && code == 0 {
		// Read only: a write through svcState would give every service never started that state.
		fmt.Fprintf(os.Stderr, "FAIL: idleService written to: %+v\n", idleService)
		code = 1
	}
	if !reflect.DeepEqual(noHist, unitHist{}) && code == 0 {
		fmt.Fprintf(os.Stderr, "FAIL: noHist written to: %+v\n", noHist)
		code = 1
	}
	os.Exit(code)
}
