package manager

import (
	"testing"
	"time"

	"github.com/flint-init/flint/api"
)

// TestHandlersCoverVerbs: the manager has a handler for every verb of the protocol's table
// and none for a verb outside it, and each handler has the shape of its verb's kind.
func TestHandlersCoverVerbs(t *testing.T) {
	for _, info := range api.Verbs {
		h, ok := handlers[info.Verb]
		if !ok {
			t.Errorf("verb %s (api.Verbs) has no handler", info.Verb)
			continue
		}
		if (h.stream != nil) != (info.Kind == api.Stream) || (h.stream != nil) == (h.answer != nil) {
			t.Errorf("verb %s of kind %v: handler has stream %v, answer %v", info.Verb, info.Kind, h.stream != nil, h.answer != nil)
		}
		if h.after != nil && info.Kind != api.Action {
			t.Errorf("verb %s of kind %v acts after its reply", info.Verb, info.Kind)
		}
	}
	for v := range handlers {
		if !v.Known() {
			t.Errorf("handler for %q, which api.Verbs does not list", v)
		}
	}
}

// TestEveryVerbAnswers sends each verb of the protocol's table to a manager on its real
// control socket and checks the reply: one response with done, data exactly for the kinds
// that answer data, and the error code the case expects. The verbs that make the manager
// quit each get a manager of their own, last.
func TestEveryVerbAnswers(t *testing.T) {
	cases := map[api.Verb]struct {
		req      string // the request's fields after verb
		wantCode string // "": success
	}{
		api.VerbPing:               {},
		api.VerbUnitPaths:          {},
		api.VerbManagerProperties:  {},
		api.VerbShowEnvironment:    {},
		api.VerbSetEnvironment:     {req: `"env":["FLINT_TEST=1"]`},
		api.VerbUnsetEnvironment:   {req: `"env":["FLINT_TEST"]`},
		api.VerbSetProperty:        {req: `"units":["b.target"],"env":["Description=B anew"]`},
		api.VerbUnitByPID:          {req: `"pid":1`, wantCode: "not-found"},
		api.VerbDaemonReexec:       {},
		api.VerbStart:              {req: `"units":["a.target"]`},
		api.VerbStop:               {req: `"units":["a.target"],"mode":"fail"`},
		api.VerbRestart:            {req: `"units":["a.target"]`},
		api.VerbReload:             {req: `"units":["a.target"],"no_block":true`},
		api.VerbTryRestart:         {req: `"units":["a.target"]`},
		api.VerbReloadOrRestart:    {req: `"units":["a.target"]`},
		api.VerbTryReloadOrRestart: {req: `"units":["a.target"]`},
		api.VerbStatus:             {req: `"units":["a.target"],"lines":-1`},
		api.VerbShow:               {req: `"units":["a.target"],"props":["Id"]`},
		api.VerbListUnits:          {req: `"all":true,"types":["target"]`},
		api.VerbListSockets:        {req: `"all":true`},
		api.VerbListTimers:         {req: `"all":true`},
		api.VerbListDependencies:   {req: `"units":["fuzz.target"],"reverse":true`},
		api.VerbListJobs:           {},
		api.VerbIsActive:           {req: `"units":["a.target"]`},
		api.VerbIsFailed:           {req: `"units":["a.target"]`},
		api.VerbDaemonReload:       {},
		api.VerbKill:               {req: `"units":["a.target"],"signal":15`},
		api.VerbResetFailed:        {req: `"units":["a.target"]`},
		api.VerbClean:              {req: `"units":["a.target"],"what":["all"]`, wantCode: "failed"}, // targets keep nothing
		api.VerbSetExitCode:        {req: `"exit_code":3`},
		api.VerbLogs:               {req: `"units":["a.target"],"lines":-1`},
		api.VerbExit:               {},
		api.VerbPoweroff:           {},
		api.VerbHalt:               {},
		api.VerbReboot:             {},
	}
	dir := t.TempDir()
	writeDispatchUnits(dir)
	quits := map[api.Verb]bool{api.VerbExit: true, api.VerbPoweroff: true, api.VerbHalt: true, api.VerbReboot: true}
	var d *dispatchManager
	ordered := make([]api.VerbInfo, 0, len(api.Verbs))
	for _, info := range api.Verbs {
		if !quits[info.Verb] {
			ordered = append(ordered, info)
		}
	}
	for _, info := range api.Verbs {
		if quits[info.Verb] {
			ordered = append(ordered, info)
		}
	}
	parent := t
	for _, info := range ordered {
		tc, ok := cases[info.Verb]
		if !ok {
			t.Errorf("verb %s has no case here", info.Verb)
			continue
		}
		t.Run(string(info.Verb), func(t *testing.T) {
			if d == nil || d.quit() {
				d = startDispatchManager(parent, dir)
				parent.Cleanup(d.stop)
			}
			line := `{"verb":"` + string(info.Verb) + `"`
			if tc.req != "" {
				line += "," + tc.req
			}
			line += "}\n"
			resp, done := d.exchange(t, []byte(line))
			if !done {
				t.Fatalf("%s: reply ended without done: %+v", line, resp)
			}
			if len(resp) != 1 && info.Kind != api.Stream {
				t.Fatalf("%s: %d responses, want 1: %+v", line, len(resp), resp)
			}
			r := resp[0]
			if r.Code != tc.wantCode {
				t.Fatalf("%s: code %q (%s), want %q", line, r.Code, r.Error, tc.wantCode)
			}
			if r.Error != "" {
				return
			}
			r = resp[len(resp)-1]
			if hasData := len(r.Data) > 0; info.Kind != api.Stream && hasData != (info.Kind != api.Action) {
				t.Errorf("%s (kind %v): data %q", line, info.Kind, r.Data)
			}
			if quits[info.Verb] {
				select {
				case <-waitQuit(d):
				case <-time.After(60 * time.Second):
				}
				if !d.quit() {
					t.Errorf("%s accepted, but the manager runs on", line)
				}
			}
		})
	}
}

// waitQuit is closed when d's manager has returned from Run.
func waitQuit(d *dispatchManager) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		err := <-d.done
		d.done <- err
		close(ch)
	}()
	return ch
}
