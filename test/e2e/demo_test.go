package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestDemo runs the README's first command, examples/foobar/demo.sh, and checks that it ends
// "demo OK" and leaves the machine as it found it: /usr/local/bin/foobard (which
// foobar.service names) removed, or put back as it was when a file was there before, and no
// /run/foobar.sk. A file already at that path is kept aside for the test and restored.
func TestDemo(t *testing.T) {
	const installed, sock = "/usr/local/bin/foobard", "/run/foobar.sk"
	if os.Geteuid() != 0 {
		t.Fatal("demo.sh needs root")
	}
	if before, err := os.ReadFile(installed); err == nil {
		fi, _ := os.Stat(installed)
		t.Cleanup(func() { os.WriteFile(installed, before, fi.Mode().Perm()) })
	}
	if _, err := os.Stat(sock); err == nil {
		t.Fatalf("%s exists: another foobar socket is in use", sock)
	}
	demo := func(t *testing.T) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "examples/foobar/demo.sh")
		cmd.Dir = repoRootDir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if last := lines[len(lines)-1]; err != nil || !strings.Contains(last, "demo OK") {
			t.Fatalf("demo.sh: %v, last line %q:\n%s", err, last, out.String())
		}
		if _, err := os.Stat(sock); err == nil {
			t.Errorf("demo.sh left %s", sock)
		}
	}

	t.Run("nothing_before", func(t *testing.T) {
		os.Remove(installed)
		demo(t)
		if _, err := os.Lstat(installed); err == nil {
			t.Errorf("demo.sh left %s installed", installed)
		}
	})
	t.Run("a_file_before", func(t *testing.T) {
		mine := []byte("#!/bin/sh\necho not the demo's\n")
		if err := os.WriteFile(installed, mine, 0o750); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(installed) })
		demo(t)
		got, err := os.ReadFile(installed)
		fi, serr := os.Stat(installed)
		if err != nil || serr != nil || !bytes.Equal(got, mine) || fi.Mode().Perm() != 0o750 {
			t.Errorf("demo.sh did not put the earlier %s back: %q %v %v", installed, got, err, fi.Mode())
		}
	})
}
