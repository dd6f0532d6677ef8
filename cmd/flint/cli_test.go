package main

import (
	"bytes"
	"testing"
)

// parseCtl reads a systemctl command line (the verb left out) as flint does, and returns
// the options and the operands.
func parseCtl(t *testing.T, args ...string) (*globals, []string) {
	t.Helper()
	g := newGlobals("flint")
	p := ctlSpec.Parse(args)
	var out bytes.Buffer
	if code, done := applyCtlOptions(g, p, &out, &out); done {
		t.Fatalf("%q: exit %d: %s", args, code, out.String())
	}
	return g, p.Operands()
}
