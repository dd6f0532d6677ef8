package main

import (
	"context"
	"fmt"
	"github.com/flint-init/flint/internal/cgroup"
	"github.com/flint-init/flint/internal/getopt"
	"os"
	"path/filepath"

	"github.com/flint-init/flint/internal/journal"
	"github.com/flint-init/flint/internal/manager"
	"github.com/flint-init/flint/unit"
)

func init() {
	register(&verb{name: "run", summary: "run the service manager in the foreground", rawArgs: true, run: runManager})
}

const runUsage = `usage: flint run [--units DIR]... [--user] [--control PATH] [--target UNIT] [--log-dir DIR]
                 [--no-booted] [--log-to-stdout|--no-log-to-stdout] [--no-tmpfiles]
                 [--no-journal-sockets] [--log-storage=auto|persistent|volatile|none]
                 [--log-max-use=SIZE] [--log-runtime-max-use=SIZE]

Run the service manager in the foreground: read the unit files of the search path (--units
DIR, repeatable, replaces it), start --target (default default.target), answer on the
control socket (--control, default /run/flint/control.sock, or for --user
$XDG_RUNTIME_DIR/flint/control.sock); --log-dir DIR also appends each unit's output to
DIR/<unit>.log.

The system manager creates /run/systemd/system/ unless it exists, so that sd_booted() is
true in its services, and at its orderly end removes what it created; --no-booted leaves
/run alone.
--log-to-stdout copies every unit's log lines to flint run's standard output, after the
status lines, as "UNIT[PID]: TEXT" (a container runtime's log); it is the default as PID 1,
--no-log-to-stdout turns it off.
Where no systemd-tmpfiles is installed, the system manager applies tmpfiles.d at start, before
anything else starts, as systemd-tmpfiles-setup.service does (flint tmpfiles --create
--remove --boot --exclude-prefix=/dev); --no-tmpfiles leaves the files alone.

As root, the system manager serves journald's sockets where no journald does:
/run/systemd/journal/socket (sd_journal_send), /run/systemd/journal/stdout
(sd_journal_stream_fd, systemd-cat) and /dev/log (syslog(3)), a link to
/run/systemd/journal/dev-log. What arrives is kept with the unit of the sending process (flint
logs -u UNIT) and forwarded to a syslog daemon listening on /run/systemd/journal/syslog (its
syslog.socket). A path on which another journald or syslog daemon answers is left alone.
--no-journal-sockets serves none of them.

Every line is also kept on disk, as journald's Storage=auto: in /var/log/flint when that
directory exists (system manager; persistent), else in the runtime directory's journal/
(volatile), so that flint logs -b -1 and --list-boots read the earlier runs of the manager.
--log-storage chooses (none: memory only). --log-max-use and --log-runtime-max-use bound the
persistent and the volatile files (SystemMaxUse=, RuntimeMaxUse=: 10% of the file system, at
most 4G, by default); files are rotated at an eighth of that (at most 128M) and the oldest
removed.

SIGTERM or SIGINT stops every unit, then flint run exits 0. flint exit [CODE] and the exit
actions of SuccessAction=/FailureAction= end it with their code; poweroff, halt and reboot
(verbs and actions) power off, halt or reboot only a flint run that is PID 1, any other exits.
`

var runSpec = &getopt.Spec{Options: []getopt.Option{
	{Long: "help", Short: 'h'},
	{Long: "units", Arg: getopt.RequiredArg},
	{Long: "user"},
	{Long: "system"},
	{Long: "no-tmpfiles"},
	{Long: "control", Arg: getopt.RequiredArg},
	{Long: "target", Arg: getopt.RequiredArg},
	{Long: "log-dir", Arg: getopt.RequiredArg},
	{Long: "no-booted"},
	{Long: "log-to-stdout"},
	{Long: "no-log-to-stdout"},
	{Long: "no-journal-sockets"},
	{Long: "log-storage", Arg: getopt.RequiredArg},
	{Long: "log-max-use", Arg: getopt.RequiredArg},
	{Long: "log-runtime-max-use", Arg: getopt.RequiredArg},
}}

func runManager(g *globals, args []string) int {
	tmpfiles := !g.user
	var target, logDir string
	booted, forward := true, os.Getpid() == 1
	journalSockets := true
	storage := "auto"
	var maxUse, runtimeMaxUse int64
	p := runSpec.Parse(args)
	for {
		f, ok, err := p.Next()
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", g.prog, err)
			return 2
		}
		if !ok {
			break
		}
		switch f.Key() {
		case "help":
			fmt.Print(runUsage)
			return 0
		case "units":
			g.units = append(g.units, f.Value)
		case "user":
			g.user = true
		case "system":
			g.user = false
		case "no-tmpfiles":
			tmpfiles = false
		case "control":
			g.control, g.controlSet = f.Value, true
		case "target":
			target = f.Value
		case "log-dir":
			logDir = f.Value
		case "no-booted":
			booted = false
		case "log-to-stdout":
			forward = true
		case "no-log-to-stdout":
			forward = false
		case "no-journal-sockets":
			journalSockets = false
		case "log-storage":
			switch f.Value {
			case "auto", "persistent", "volatile", "none":
				storage = f.Value
			default:
				fmt.Fprintf(os.Stderr, "flint run: --log-storage: %q is not auto, persistent, volatile or none\n", f.Value)
				return 2
			}
		case "log-max-use", "log-runtime-max-use":
			n, err := unit.ParseSize(f.Value)
			if err != nil || n == 0 || n > 1<<62 {
				fmt.Fprintf(os.Stderr, "flint run: --%s: bad size %q\n", f.Key(), f.Value)
				return 2
			}
			if f.Key() == "log-max-use" {
				maxUse = int64(n)
			} else {
				runtimeMaxUse = int64(n)
			}
		}
	}
	if ops := p.Operands(); len(ops) > 0 {
		fmt.Fprintf(os.Stderr, "flint run: unexpected argument %q\n", ops[0])
		return 2
	}
	if !g.controlSet {
		g.control = defaultControl(g.user || os.Getuid() != 0)
	}
	tmpfiles = tmpfiles && !g.user && manager.NeedTmpfilesSetup()
	if abs, err := filepath.Abs(g.control); err == nil {
		g.control = abs // the notify socket is created next to it and needs an absolute path
	}
	var bootedDir string
	if booted && g.scope() == unit.System {
		bootedDir = manager.SystemdBootedDir
	}
	var journalDir, devLog string
	if journalSockets && g.scope() == unit.System && os.Geteuid() == 0 {
		journalDir, devLog = journal.DefaultDir, journal.DevLog
	}
	m, err := manager.New(manager.Options{
		TmpfilesSetup: tmpfiles,

		Scope:            g.scope(),
		UnitDirs:         g.units,
		ControlPath:      g.control,
		Target:           target,
		Console:          os.Stdout,
		LogDir:           logDir,
		BootedDir:        bootedDir,
		ForwardLogs:      forward,
		JournalDir:       journalDir,
		DevLog:           devLog,
		LogStorage:       storage,
		LogMaxUse:        maxUse,
		LogRuntimeMaxUse: runtimeMaxUse,
		Cgroups:          cgroup.ForManager(os.Getpid()),
		DefaultOOMPolicy: defaultOOMPolicy(managerConfPaths(g.scope()), os.Stderr),
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
