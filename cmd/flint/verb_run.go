package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/flint-init/flint/internal/manager"
)

func init() {
	register(&verb{name: "run", summary: "run the service manager in the foreground", run: runManager})
}

func runManager(g *globals, args []string) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	target := fs.String("target", "", "unit to start (default default.target)")
	logDir := fs.String("log-dir", "", "also append each unit's output to DIR/<unit>.log")
	var units multiFlag
	fs.Var(&units, "units", "unit directory (repeatable; replaces the search path)")
	user := fs.Bool("user", g.user, "run as a per-user manager")
	control := fs.String("control", "", "control socket path")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: flint run [--units DIR]... [--user] [--control PATH] [--target UNIT]")
		fs.PrintDefaults()
		fmt.Fprintln(os.Stderr, "\nSIGTERM or SIGINT stops every unit, then flint run exits 0. flint exit [CODE] and the exit\n"+
			"actions of SuccessAction=/FailureAction= end it with their code; poweroff, halt and reboot\n"+
			"(verbs and actions) power off, halt or reboot only a flint run that is PID 1, any other exits.")
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "flint run: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *user {
		g.user = true
	}
	g.units = append(g.units, units...)
	if *control != "" {
		g.control = *control
	} else if !g.controlSet && *user {
		g.control = defaultControl(true)
	}
	if abs, err := filepath.Abs(g.control); err == nil {
		g.control = abs // the notify socket is created next to it and needs an absolute path
	}
	m, err := manager.New(manager.Options{
		Scope:       g.scope(),
		UnitDirs:    g.units,
		ControlPath: g.control,
		Target:      *target,
		Console:     os.Stdout,
		LogDir:      *logDir,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "flint run:", err)
		return 1
	}
	stopProfiles := startProfiles()
	err = m.Run(context.Background())
	stopProfiles()
	if err != nil {
		fmt.Fprintln(os.Stderr, "flint run:", err)
		return 1
	}
	// SuccessAction=, FailureAction=, flint exit|poweroff|halt|reboot: the exit code, and as
	// PID 1 the power-off, halt or reboot (FinalAction returns at once for any other flint run).
	if err := manager.FinalAction(m.Objective()); err != nil {
		fmt.Fprintln(os.Stderr, "flint run:", err)
	}
	return m.ExitCode()
}

type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
