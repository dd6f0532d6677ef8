package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/client"
)

func init() {
	for _, v := range []struct{ name, summary string }{
		{"start", "start units"},
		{"stop", "stop units"},
		{"restart", "stop, then start units"},
		{"reload", "reload units (ExecReload=)"},
		{"try-restart", "restart units that are running"},
		{"reload-or-restart", "reload units if they support it, else restart them"},
		{"try-reload-or-restart", "reload units that are running if they support it, else restart them"},
	} {
		name := v.name
		register(&verb{name: name, summary: v.summary, usage: fmt.Sprintf(jobUsage, name, v.summary), manager: true,
			run: func(g *globals, args []string) int { return runJobVerb(g, name, args) }})
	}
	register(&verb{name: "isolate", summary: "start a unit (default suffix .target) and stop all others", manager: true,
		usage: fmt.Sprintf(jobUsage, "isolate", "start a unit (default suffix .target) and stop all others"), run: runIsolate})
	for alias, v := range legacyJobVerbs {
		name := alias
		register(&verb{name: name, summary: "same as " + v, hidden: true, manager: true,
			usage: fmt.Sprintf(jobUsage, name, "same as "+v), run: func(g *globals, args []string) int { return runJobVerb(g, name, args) }})
	}
}

// legacyJobVerbs are systemctl 252's legacy names of job verbs, and the verb each is.
var legacyJobVerbs = map[string]string{
	"condstop":              "stop",
	"condrestart":           "try-restart",
	"force-reload":          "try-reload-or-restart",
	"condreload":            "try-reload-or-restart",
	"reload-or-try-restart": "try-reload-or-restart",
}

// jobWords are the job types systemctl 252 names in "Failed to JOB UNIT: ..." where they are
// not the verb itself (systemctl's unit_actions table).
var jobWords = map[string]string{"try-reload-or-restart": "reload-or-try-restart"}

const jobUsage = `usage: flint %[1]s [--no-block] [--job-mode=MODE] [-q] UNIT...

%[2]s. Without --no-block, wait until the jobs are done and report failures as systemctl
does. --job-mode= is how the jobs meet those already queued: replace (the default), fail,
replace-irreversibly, isolate (start only), flush, ignore-dependencies or
ignore-requirements; --fail, --irreversible and --ignore-dependencies are short for three
of them. Exit status: 0 on success, 1 if a job failed, 3 if the operation does not apply to
the unit, 4 if it was refused, 5 if the unit does not exist.
`

// jobArgs are a job verb's options and units.
type jobArgs struct {
	noBlock bool
	quiet   bool
	mode    string // "" for replace
	units   []string
}

// jobArgsOf takes a job's options from the command line's.
func jobArgsOf(g *globals, units []string) jobArgs {
	return jobArgs{noBlock: g.noBlock, quiet: g.quiet, mode: g.jobMode, units: units}
}

func runJobVerb(g *globals, name string, args []string) int {
	if len(args) == 0 {
		fmt.Fprintf(os.Stderr, "Too few arguments.\n")
		return 1
	}
	return queueJobs(g, name, jobArgsOf(g, args))
}

// runIsolate is systemctl isolate: a start job in mode isolate on one unit, whose name
// gets the suffix .target when it has none.
func runIsolate(g *globals, args []string) int {
	ja := jobArgsOf(g, args)
	switch {
	case len(ja.units) < 1:
		fmt.Fprintf(os.Stderr, "Too few arguments.\n")
		return 1
	case len(ja.units) > 1:
		fmt.Fprintf(os.Stderr, "Too many arguments.\n")
		return 1
	}
	if !strings.Contains(ja.units[0], ".") {
		ja.units[0] += ".target"
	}
	ja.mode = "isolate"
	return queueJobs(g, "start", ja)
}

func queueJobs(g *globals, name string, ja jobArgs) int {
	if name == "start" && !ja.quiet && !g.all && slices.ContainsFunc(ja.units, isGlob) {
		// systemctl 252 (verb_start): a glob matches loaded units only.
		fmt.Fprintf(os.Stderr, startGlobWarning, progName())
	}
	verbName := name
	if v, ok := legacyJobVerbs[name]; ok {
		verbName = v
	}
	c := client.New(g.control)
	res, err := c.JobsMode(api.Verb(verbName), ja.units, ja.noBlock, ja.mode)
	res = asSystemctl(verbName, res)
	if err != nil {
		return reportClientError(err)
	}
	if ja.quiet {
		// systemctl -q does not name the triggering units of a stopped one.
		for i := range res {
			res[i].ActiveTriggers = nil
		}
	}
	return reportJobs(os.Stderr, res)
}

// startGlobWarning is what systemctl start says of a glob among its units.
const startGlobWarning = `Warning: %s start called with a glob pattern.
Hint: unit globs expand to loaded units, so start will usually have no effect.
      Passing --all will also load units which are pulled in by other units.
      See systemctl(1) for more details.
`

// asSystemctl words the results of verb's jobs as systemctl 252 reports them: with its job
// type in "Failed to JOB UNIT" (jobWords), and without the errors of try-restart and
// try-reload-or-restart on masked units, which it ignores (systemd-stable 252's backport of
// "systemctl: suppress error for try-* if unit is masked": the unit is not running).
func asSystemctl(verb string, res []client.JobResult) []client.JobResult {
	if w, ok := jobWords[verb]; ok {
		for i := range res {
			res[i].Job = w
		}
	}
	if verb == "try-restart" || verb == "try-reload-or-restart" {
		res = slices.DeleteFunc(res, func(r client.JobResult) bool { return r.ErrorCode == "masked" })
	}
	return res
}

// reportJobs prints systemctl's messages for refused and failed jobs and returns its exit
// status: the first refusal's code (5 not found, 4 refused or destructive, 3 not applicable,
// 1 otherwise), overridden by 1 when a job failed. As systemctl 252's verb_start, the
// refusals and the warnings about unit files changed on disk come in the order of the units,
// then the failed jobs, then the warnings about stopped units that their sockets can start
// again.
func reportJobs(w io.Writer, res []client.JobResult) int {
	code := 0
	failed := false
	for _, r := range res {
		if r.NeedDaemonReload {
			fmt.Fprintf(w, "Warning: The unit file, source configuration file or drop-ins of %s changed on disk. Run '%s daemon-reload' to reload units.\n", r.Unit, progName())
		}
		if r.Error != "" {
			fmt.Fprintf(w, "Failed to %s %s: %s\n", r.Job, r.Unit, r.Error)
			// systemctl adds this line to every error but a missing or masked unit and a job
			// type that does not apply.
			if r.ErrorCode != "not-found" && r.ErrorCode != "not-loaded" && r.ErrorCode != "masked" && r.ErrorCode != "not-applicable" {
				fmt.Fprintf(w, "See system logs and '%s status %s' for details.\n", progName(), r.Unit)
			}
			if code == 0 {
				code = map[string]int{"not-found": 5, "not-loaded": 5, "refused": 4, "destructive": 4, "not-applicable": 3}[r.ErrorCode]
				if code == 0 {
					code = 1
				}
			}
		}
	}
	for _, r := range res {
		if msg := jobFailureMessage(r); r.Error == "" && msg != "" {
			fmt.Fprintln(w, msg)
			failed = true
		}
	}
	for _, r := range res {
		if len(r.ActiveTriggers) > 0 {
			fmt.Fprintf(w, "Warning: Stopping %s, but it can still be activated by:\n", r.Unit)
			for _, t := range r.ActiveTriggers {
				fmt.Fprintf(w, "  %s\n", t)
			}
		}
	}
	if failed {
		return 1
	}
	return code
}

// serviceResultExplanations are systemctl's words for a service's Result after a failed job.
var serviceResultExplanations = map[string]string{
	"resources":       "of unavailable resources or another system error",
	"protocol":        "the service did not take the steps required by its unit configuration",
	"timeout":         "a timeout was exceeded",
	"exit-code":       "the control process exited with error code",
	"signal":          "a fatal signal was delivered to the control process",
	"core-dump":       "a fatal signal was delivered causing the control process to dump core",
	"watchdog":        "the service failed to send watchdog ping",
	"start-limit-hit": "start of the service was attempted too often",
}

// jobFailureMessage is what systemctl prints for a job result ("" for done and skipped).
func jobFailureMessage(r client.JobResult) string {
	n := r.Unit
	switch r.Result {
	case "done", "skipped", "queued", "":
		return ""
	case "canceled":
		return fmt.Sprintf("Job for %s canceled.", n)
	case "timeout":
		return fmt.Sprintf("Job for %s timed out.", n)
	case "dependency":
		return fmt.Sprintf("A dependency job for %s failed. See '%s' for details.", n, logsCommand(""))
	case "invalid":
		return fmt.Sprintf("%s is not active, cannot reload.", n)
	case "assert":
		return fmt.Sprintf("Assertion failed on job for %s.", n)
	case "unsupported":
		return fmt.Sprintf("Operation on or unit type of %s not supported on this system.", n)
	case "collected":
		return fmt.Sprintf("Queued job for %s was garbage collected.", n)
	case "once":
		return fmt.Sprintf("Unit %s was started already once and can't be started again.", n)
	}
	if !strings.HasSuffix(n, ".service") {
		return fmt.Sprintf("Job failed. See \"%s\" for details.", logsCommand(""))
	}
	see := fmt.Sprintf("See \"%s status %s\" and \"%s\" for details.", progName(), n, logsCommand(n))
	if e, ok := serviceResultExplanations[r.UnitResult]; ok {
		msg := fmt.Sprintf("Job for %s failed because %s.\n%s", n, e, see)
		if r.UnitResult == "start-limit-hit" {
			msg += fmt.Sprintf("\nTo force a start use \"%[1]s reset-failed %[2]s\"\nfollowed by \"%[1]s start %[2]s\" again.", progName(), n)
		}
		return msg
	}
	return fmt.Sprintf("Job for %s failed.\n%s", n, see)
}

// reportClientError prints err as systemctl would and returns the exit code.
func reportClientError(err error) int {
	var ce *client.Error
	if errors.As(err, &ce) {
		if ce.Hint != "" {
			fmt.Fprintln(os.Stderr, ce.Hint)
		}
		fmt.Fprintln(os.Stderr, ce.Msg)
		switch ce.Code {
		case "not-found":
			return 5
		case "permission":
			return 4
		}
		return 1
	}
	if errors.Is(err, client.ErrNoManager) {
		control := strings.TrimSuffix(err.Error(), ": "+client.ErrNoManager.Error())
		fmt.Fprintln(os.Stderr, noManagerMessage(control))
		return 1
	}
	fmt.Fprintln(os.Stderr, "flint:", err)
	return 1
}
