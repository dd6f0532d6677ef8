package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// argsUnits is the unit directory FuzzArgs's commands work on, written anew for each input
// (enable, mask and the like change it).
var argsUnits = map[string]string{
	"a.service": "[Unit]\nDescription=A\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\nAlias=b.service\n",
	"a.socket":  "[Socket]\nListenStream=127.0.0.1:21999\n[Install]\nWantedBy=sockets.target\n",
	"t@.target": "[Unit]\nDescription=T %i\n[Install]\nWantedBy=multi-user.target\nDefaultInstance=x\n",
	"bad.timer": "[Timer]\nOnCalendar=never ever\n",
}

// FuzzArgs runs the command line (words separated by NUL), as flint or as systemctl, on a
// unit directory of its own and with no manager to talk to. It must not panic, a failure
// must say something (on stdout or stderr) unless -q asked for silence, no format verb may
// be left unfilled, and nothing may be written outside the unit directory. `run` (the
// manager) and `activate` (which runs its command) are left out; FuzzParseActivateArgs covers
// the latter's arguments.
func FuzzArgs(f *testing.F) {
	root := f.TempDir()
	units := filepath.Join(root, "units")
	control := filepath.Join(root, "no-manager.sock")
	for _, kv := range [][2]string{{"FLINT_CONTROL", control}, {"SYSTEMD_UNIT_PATH", ""}, {"XDG_RUNTIME_DIR", root}, {"HOME", root}} {
		old, had := os.LookupEnv(kv[0])
		os.Setenv(kv[0], kv[1])
		f.Cleanup(func() {
			if had {
				os.Setenv(kv[0], old)
			} else {
				os.Unsetenv(kv[0])
			}
		})
	}
	outFile, err := os.Create(filepath.Join(root, "stdout"))
	if err != nil {
		f.Fatal(err)
	}
	errFile, err := os.Create(filepath.Join(root, "stderr"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"status", "status\x00a.service\x00-n\x005", "show\x00a.socket\x00-p\x00Id,Listen\x00--value", "enable\x00--now\x00a.service",
		"disable\x00a", "mask\x00t@x.target", "unmask\x00nope", "link\x00/etc/hostname", "is-enabled\x00a.service\x00b.service",
		"list-unit-files\x00--state=enabled", "cat\x00a.service\x00t@y.target", "analyze\x00verify\x00a.service",
		"analyze\x00critical-chain", "logs\x00-u\x00a\x00-n\x00-3", "kill\x00-s\x00NOPE\x00a", "--output=json\x00list-units",
		"exit\x00300", "reboot\x00--force\x00x", "completion\x00bash", "--version", "help", "start", "-o", "--control",
		"list-dependencies\x00--reverse\x00--all", "is-system-running", "isolate\x00t@", "--user\x00enable\x00a.service",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, line string, asSystemctl bool) {
		var args []string
		if line != "" {
			for _, a := range strings.Split(line, "\x00") {
				if strings.HasPrefix(a, "--units") || strings.HasPrefix(a, "--control") {
					continue // the test's own directory and socket stay
				}
				args = append(args, a)
			}
		}
		for _, a := range args {
			if a == "run" || a == "activate" {
				return // the verb, or an operand: left out either way
			}
		}
		os.RemoveAll(units)
		for name, body := range argsUnits {
			if err := os.MkdirAll(units, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(units, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		argv := append([]string{"flint", "--units", units, "--control", control}, args...)
		if asSystemctl {
			argv[0] = "/usr/bin/systemctl"
		}
		outFile.Truncate(0)
		outFile.Seek(0, io.SeekStart)
		errFile.Truncate(0)
		errFile.Seek(0, io.SeekStart)
		stdout, stderr := os.Stdout, os.Stderr
		os.Stdout, os.Stderr = outFile, errFile
		code := func() int {
			defer func() { os.Stdout, os.Stderr, invokedAs = stdout, stderr, "flint" }()
			return run(argv)
		}()
		out, _ := os.ReadFile(outFile.Name())
		errOut, _ := os.ReadFile(errFile.Name())
		if code < 0 || code > 255 {
			t.Fatalf("%q: exit code %d", argv, code)
		}
		quiet := false
		for _, a := range args {
			quiet = quiet || a == "-q" || a == "--quiet"
		}
		if code != 0 && !quiet && len(bytes.TrimSpace(out))+len(bytes.TrimSpace(errOut)) == 0 {
			t.Fatalf("%q: exit code %d and not a word", argv, code)
		}
		if !strings.Contains(line, "%!") && (bytes.Contains(out, []byte("%!")) || bytes.Contains(errOut, []byte("%!"))) {
			t.Fatalf("%q: unfilled format verb in\n%s%s", argv, out, errOut)
		}
		ents, _ := os.ReadDir(root)
		for _, e := range ents {
			if n := e.Name(); n != "units" && n != "stdout" && n != "stderr" {
				t.Fatalf("%q: wrote %s outside the unit directory", argv, filepath.Join(root, n))
			}
		}
	})
}
