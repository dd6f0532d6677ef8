package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/internal/control"
	"github.com/flint-init/flint/internal/getopt"
)

// TestCtlOptionTable: the option table is consistent: one entry per key and per short
// letter, help for every option --help shows (and a value name for one that takes a
// value), and an option tied to verbs that flint honours is tied to at least one of
// flint's verbs.
func TestCtlOptionTable(t *testing.T) {
	keys, shorts := map[string]bool{}, map[byte]bool{}
	for _, o := range ctlOptions {
		if keys[o.Key()] {
			t.Errorf("option %s twice", o.Key())
		}
		keys[o.Key()] = true
		if o.Short != 0 {
			if shorts[o.Short] {
				t.Errorf("short option -%c twice", o.Short)
			}
			shorts[o.Short] = true
		}
		if o.hidden {
			continue
		}
		if o.help == "" {
			t.Errorf("option %s has no help", o.Key())
		}
		if (o.Arg == getopt.RequiredArg) != (o.value != "") {
			t.Errorf("option %s: takes a value %v, value name %q", o.Key(), o.Arg == getopt.RequiredArg, o.value)
		}
		if len(o.verbs) > 0 && !o.refused && !slices.ContainsFunc(o.verbs, func(v string) bool { return verbs[v] != nil }) {
			t.Errorf("option %s is honoured for %v, none of them a flint verb", o.Key(), o.verbs)
		}
	}
	var help bytes.Buffer
	usage(&help, "flint")
	for _, o := range ctlOptions {
		if !o.hidden && !strings.Contains(help.String(), "--"+o.Long) {
			t.Errorf("--help does not show --%s", o.Long)
		}
	}
}

// TestCtlOptionParse reads command lines through the table into the options.
func TestCtlOptionParse(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		check func(g *globals) bool
	}{
		{[]string{"-t", "service"}, func(g *globals) bool { return slices.Equal(g.types, []string{"service"}) }},
		{[]string{"--ty=socket,masked"}, func(g *globals) bool {
			return slices.Equal(g.types, []string{"socket"}) && slices.Equal(g.states, []string{"masked"})
		}},
		{[]string{"-at", "timer"}, func(g *globals) bool { return g.all && slices.Equal(g.types, []string{"timer"}) }},
		{[]string{"-pId", "-P", "MainPID"}, func(g *globals) bool { return g.value && slices.Equal(g.props, []string{"Id", "MainPID"}) }},
		{[]string{"--fail"}, func(g *globals) bool { return g.jobMode == "fail" }},
		{[]string{"--job-mode", "isolate", "--irreversible"}, func(g *globals) bool { return g.jobMode == "replace-irreversibly" }},
		{[]string{"-s", "KILL", "--kill-whom=main"}, func(g *globals) bool { return g.signal == 9 && g.killWhom == "main" }},
		{[]string{"-n5", "-o", "json"}, func(g *globals) bool { return g.lines == 5 && g.jsonOutput() && g.legend == 0 }},
		{[]string{"-q", "--legend=yes"}, func(g *globals) bool { return g.quiet && g.legend == 1 }},
		{[]string{"-ff", "--now", "--runtime"}, func(g *globals) bool { return g.force == 2 && g.now && g.runtime }},
		{[]string{"--control", "/x.sock", "--units=/a", "--units", "/b"}, func(g *globals) bool {
			return g.control == "/x.sock" && g.controlSet && slices.Equal(g.units, []string{"/a", "/b"})
		}},
		{[]string{"--user", "--sys"}, func(g *globals) bool { return !g.user }},
		{[]string{"--failed", "--state=running"}, func(g *globals) bool { return slices.Equal(g.states, []string{"failed", "running"}) }},
	} {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			g, ops := parseCtl(t, tc.args...)
			if len(ops) > 0 || !tc.check(g) {
				t.Errorf("%q: operands %q, options %+v", tc.args, ops, g)
			}
		})
	}
}

// TestCtlOptionErrors: what the table refuses while parsing, in glibc's and systemctl's
// words, with exit status 1.
func TestCtlOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, "flint: unrecognized option '--bogus'\n"},
		{[]string{"--contr=/x"}, "flint: unrecognized option '--contr=/x'\n"}, // flint's own: whole names only
		{[]string{"--unit=/x"}, "flint: unrecognized option '--unit=/x'\n"},
		{[]string{"-t"}, "flint: option requires an argument -- 't'\n"},
		{[]string{"--no", "x"}, "flint: option '--no' is ambiguous; possibilities: '--no-block' '--no-legend' '--no-pager' '--no-wall' '--no-reload' '--no-ask-password' '--now'\n"},
		{[]string{"-t", "bogus"}, "Unknown unit type or load state 'bogus'.\nUse -t help to see a list of allowed values.\n"},
	} {
		var out, errOut bytes.Buffer
		code := runFlintCLI("flint", tc.args, &out, &errOut)
		if code != 1 || errOut.String() != tc.want {
			t.Errorf("flint %q: exit %d, stderr %q; want 1, %q", tc.args, code, errOut.String(), tc.want)
		}
	}
}

// TestCtlOptionVerbs: an option flint does not implement is refused with each of its verbs
// that flint has, and one it implements is let through with each.
func TestCtlOptionVerbs(t *testing.T) {
	for _, o := range ctlOptions {
		for _, name := range o.verbs {
			v := verbs[name]
			if v == nil {
				continue
			}
			g := newGlobals("flint")
			g.given[o.Key()] = []string{"--" + o.Long}
			err := checkVerbOptions(g, v)
			want := ""
			if o.refused {
				want = "flint " + name + ": option --" + o.Long + " is not supported by flint."
			}
			if (err == nil) != (want == "") || (err != nil && err.Error() != want) {
				t.Errorf("--%s with %s: %v, want %q", o.Long, name, err, want)
			}
		}
	}
}

// recordedRequest is one request a fake manager received.
type recordedRequest struct {
	verb   api.Verb
	fields map[string]json.RawMessage
}

// fakeManager answers every request with an empty success and records it.
func fakeManager(t *testing.T) (path string, take func() []recordedRequest) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "control.sock")
	var mu sync.Mutex
	var got []recordedRequest
	s, err := control.Listen(path, func(ctx context.Context, req *api.Request, p *control.Peer, send func(*api.Response) error) {
		b, _ := json.Marshal(req)
		var fields map[string]json.RawMessage
		json.Unmarshal(b, &fields)
		mu.Lock()
		got = append(got, recordedRequest{req.Verb, fields})
		mu.Unlock()
		send(&api.Response{Done: true})
	}, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() { s.Close(); s.Drain(5 * time.Second) })
	return path, func() []recordedRequest {
		mu.Lock()
		defer mu.Unlock()
		out := got
		got = nil
		return out
	}
}

type cliSend struct {
	args []string
	verb api.Verb
}

// cliSends are command lines that send each verb of the protocol (with others before it).
var cliSends = []cliSend{
	{[]string{"is-system-running"}, api.VerbPing},
	{[]string{"cat", "foo.service"}, api.VerbUnitPaths},
	{[]string{"show-environment"}, api.VerbShowEnvironment},
	{[]string{"set-environment", "A=1"}, api.VerbSetEnvironment},
	{[]string{"unset-environment", "A"}, api.VerbUnsetEnvironment},
	{[]string{"import-environment", "PATH"}, api.VerbSetEnvironment},
	{[]string{"set-property", "foo.service", "Description=x"}, api.VerbSetProperty},
	{[]string{"status", "1"}, api.VerbUnitByPID},
	{[]string{"daemon-reexec"}, api.VerbDaemonReexec},
	{[]string{"start", "foo"}, api.VerbStart},
	{[]string{"isolate", "foo"}, api.VerbStart},
	{[]string{"stop", "foo"}, api.VerbStop},
	{[]string{"condstop", "foo"}, api.VerbStop},
	{[]string{"restart", "foo"}, api.VerbRestart},
	{[]string{"reload", "foo"}, api.VerbReload},
	{[]string{"try-restart", "foo"}, api.VerbTryRestart},
	{[]string{"condrestart", "foo"}, api.VerbTryRestart},
	{[]string{"reload-or-restart", "foo"}, api.VerbReloadOrRestart},
	{[]string{"try-reload-or-restart", "foo"}, api.VerbTryReloadOrRestart},
	{[]string{"force-reload", "foo"}, api.VerbTryReloadOrRestart},
	{[]string{"status", "foo"}, api.VerbStatus},
	{[]string{"show", "foo"}, api.VerbShow},
	{[]string{"show", "-p", "Version"}, api.VerbManagerProperties},
	{[]string{"list-units"}, api.VerbListUnits},
	{[]string{"list-sockets"}, api.VerbListSockets},
	{[]string{"list-timers"}, api.VerbListTimers},
	{[]string{"list-dependencies", "foo"}, api.VerbListDependencies},
	{[]string{"list-jobs"}, api.VerbListJobs},
	{[]string{"is-active", "foo"}, api.VerbIsActive},
	{[]string{"is-failed", "foo"}, api.VerbIsFailed},
	{[]string{"daemon-reload"}, api.VerbDaemonReload},
	{[]string{"kill", "foo"}, api.VerbKill},
	{[]string{"reset-failed"}, api.VerbResetFailed},
	{[]string{"clean", "--what=state,logs", "foo"}, api.VerbClean},
	{[]string{"exit", "--force", "3"}, api.VerbSetExitCode},
	{[]string{"exit", "--force"}, api.VerbExit},
	{[]string{"poweroff", "-f"}, api.VerbPoweroff},
	{[]string{"halt", "-f"}, api.VerbHalt},
	{[]string{"reboot", "-f"}, api.VerbReboot},
	{[]string{"logs", "-u", "foo"}, api.VerbLogs},
}

// TestCLISendsEveryVerb: every verb of the protocol has a command line that sends it, each
// of those sends it (to a fake manager), and the requests carry only fields their verbs
// read.
func TestCLISendsEveryVerb(t *testing.T) {
	path, take := fakeManager(t)
	covered := map[api.Verb]bool{}
	for _, tc := range cliSends {
		errOut := quietCLI(t, append([]string{"--control", path}, tc.args...))
		sent := take()
		if !slices.ContainsFunc(sent, func(r recordedRequest) bool { return r.verb == tc.verb }) {
			t.Errorf("flint %q sent %v, not %s (stderr %q)", tc.args, sent, tc.verb, errOut)
		}
		checkFields(t, tc.args, sent)
		covered[tc.verb] = true
	}
	for _, info := range api.Verbs {
		if !covered[info.Verb] {
			t.Errorf("no command line here sends %s", info.Verb)
		}
	}
}

// checkFields fails for a request with a field its verb does not read (or a verb the
// protocol does not have).
func checkFields(t *testing.T, args []string, sent []recordedRequest) {
	t.Helper()
	for _, r := range sent {
		info, ok := api.Lookup(r.verb)
		if !ok {
			t.Errorf("flint %q sent unknown verb %q", args, r.verb)
			continue
		}
		for f, v := range r.fields {
			if f == "verb" || (f == "since" && string(v) == `"0001-01-01T00:00:00Z"`) {
				continue // json.Marshal always writes since
			}
			if !slices.Contains(info.Fields, f) {
				t.Errorf("flint %q: %s request carries %s=%s, which it does not read", args, r.verb, f, v)
			}
		}
	}
}

// TestManagerVerbsSendKnownVerbs: every flint verb that needs a manager sends it only verbs
// of the protocol, with only the fields they read (edit and help are left out: they start
// an editor and man).
func TestManagerVerbsSendKnownVerbs(t *testing.T) {
	path, take := fakeManager(t)
	for _, name := range sortedVerbs() {
		v := verbs[name]
		if !v.manager || name == "edit" || name == "help" {
			continue
		}
		args := []string{"--control", path, name, "foo.service"}
		errOut := quietCLI(t, args)
		sent := take()
		if len(sent) == 0 && !slices.ContainsFunc(cliSends, func(c cliSend) bool { return c.args[0] == name }) {
			t.Errorf("flint %s needs a manager but sent nothing, and no cliSends row covers it (stderr %q)", name, errOut)
		}
		checkFields(t, args, sent)
	}
}

// quietCLI runs flint's command line in this process with its standard output and error
// (which many verbs write to directly) in a file, and returns what went to standard error.
func quietCLI(t *testing.T, args []string) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = f, f
	var errOut bytes.Buffer
	runFlintCLI("flint", args, f, &errOut)
	os.Stdout, os.Stderr = stdout, stderr
	b, _ := os.ReadFile(f.Name())
	return errOut.String() + string(b)
}
