package manager

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/flint-init/flint/unit"
)

// The unit actions of systemd.unit(5) (SuccessAction=, FailureAction=, StartLimitAction=)
// and the manager's objective, systemd's emergency_action() and m->objective.
//
// An action without -force starts its target (exit.target, poweroff.target, ...) in mode
// replace-irreversibly: shutdown.target stops the units that conflict with it, then the
// target's service ends in the -force action (systemd-poweroff.service has
// SuccessAction=poweroff-force). A -force action sets the objective: once the event being
// handled is over, the manager stops every unit that is left, as at SIGTERM, and Run
// returns; `flint run` then exits with ExitCode and calls FinalAction(Objective()).

// Objective is what the manager was asked to end with once Run has returned: "" (stopped by a
// signal or its context), "exit", "poweroff", "halt" or "reboot". Call it after Run.
func (m *Manager) Objective() string { return m.objective }

// ExitCode is the status `flint run` exits with: when an objective is set, the code set by
// `flint exit CODE` or by an exit or exit-force action (SuccessActionExitStatus=/
// FailureActionExitStatus=, else the unit's main process's exit status), 0 if none was;
// 0 after a stop by SIGTERM, SIGINT or Run's context. Call it after Run.
func (m *Manager) ExitCode() int {
	if m.objective == "" {
		return 0
	}
	return m.exitCode
}

// actionTargets are the targets the actions without -force start.
var actionTargets = map[string]string{
	"exit": "exit.target", "poweroff": "poweroff.target", "halt": "halt.target", "reboot": "reboot.target",
}

// parseAction splits a unit action into what it does (exit, poweroff, halt, reboot; "" for
// none) and whether it does it at once: -force, and -immediate, which flint treats as
// -force (it never calls reboot(2) before the units are stopped). ok is false for a value
// that is not an action.
func parseAction(action string) (objective string, force, ok bool) {
	if action == "" || action == "none" {
		return "", false, true
	}
	base, suffix, _ := strings.Cut(action, "-")
	switch suffix {
	case "":
	case "force", "immediate":
		force = true
	default:
		return "", false, false
	}
	if _, known := actionTargets[base]; !known || base == "exit" && suffix == "immediate" {
		return "", false, false
	}
	return base, force, true
}

// emergencyAction carries out action for u (systemd's emergency_action()); reason says why
// ("unit foo.service failed"). exitStatus (when not negative) becomes the exit code with
// exit and exit-force. warn prints the reason on the console (StartLimitAction=); otherwise
// it goes to u's log only, as systemd logs it at debug level.
func (m *Manager) emergencyAction(u *Unit, action string, warn bool, exitStatus int, reason string) {
	objective, force, ok := parseAction(action)
	if !ok {
		m.logUnit(u, "Unknown action %q for %s, ignoring.", action, reason)
		return
	}
	if objective == "" {
		return
	}
	if m.shuttingDown || m.objective != "" && !force {
		// systemd leaves its main loop once the objective is set, at the end of the event
		// that set it: no unit changes state any more. flint then stops the units that are
		// left, whose actions do nothing; nor do they in the stop at SIGTERM, after which
		// flint run exits 0. (Within that event a later -force action wins, as in systemd.)
		m.logUnit(u, "The manager is stopping. Skipping emergency action request %s.", action)
		return
	}
	if m.opt.Scope == unit.User && objective != "exit" {
		// systemd refuses these when it loads a user unit ("specified as system mode action").
		m.logUnit(u, "%s is a system mode action, ignored by a user manager: %s", action, reason)
		return
	}
	if !force && (m.actionTarget != "" || m.shutdownPending()) {
		m.logUnit(u, "Shutdown is already active. Skipping emergency action request %s.", action)
		return
	}
	if objective == "exit" && exitStatus >= 0 {
		m.exitCode = exitStatus
	}
	if objective == "exit" && os.Getpid() == 1 && !inContainer() {
		// An init that exits panics the kernel.
		m.logUnit(u, "Doing \"poweroff\" action instead of an \"exit\" emergency action.")
		objective = "poweroff"
	}
	say := map[string]string{"exit": "Exiting", "poweroff": "Powering off", "halt": "Halting", "reboot": "Rebooting"}[objective]
	if force {
		say = map[string]string{"exit": "Exiting immediately", "poweroff": "Forcibly powering off",
			"halt": "Forcibly halting", "reboot": "Forcibly rebooting"}[objective]
	}
	m.logUnit(u, "%s: %s", say, reason)
	if warn {
		m.consolef("[  !!  ] %s: %s", say, reason)
	}
	if force {
		m.objective = objective
		return
	}
	m.actionTarget = actionTargets[objective]
}

// afterEvent acts on what the unit actions and requests of the event just handled asked for
// (systemd's main loop: jobs are run from their queue, the objective is looked at, after
// the event): an action's target is started, or, once an objective is set, every unit
// left is stopped and Run returns. The state change that asked is over by then.
func (m *Manager) afterEvent() {
	if t := m.actionTarget; t != "" {
		m.actionTarget = ""
		if m.objective == "" {
			if err := m.enqueueErr("start", m.load(t), "replace-irreversibly", nil); err != nil {
				m.consolef("Failed to enqueue %s job: %v", t, err)
			}
		}
	}
	if m.objective != "" && !m.shuttingDown {
		m.consolef("%s: stopping all units.", objectiveWords[m.objective])
		m.shutdown()
	}
}

// shutdownPending reports whether shutdown.target is active or has a job (systemd's check
// "Is the special shutdown target active or queued?"): a poweroff, exit, ... is under way.
func (m *Manager) shutdownPending() bool {
	u, ok := m.units["shutdown.target"]
	return ok && (u.job != nil || !isInactiveOrFailed(u.activeState()))
}

// unitActions runs SuccessAction= or FailureAction= for a state change of u from old to nu,
// as systemd's unit_notify: the failure action when u enters failed, the success action when
// it becomes inactive from an active, activating or deactivating state.
func (m *Manager) unitActions(u *Unit, old, nu ActiveState) {
	c := &u.cfg.Unit
	switch {
	case old != Failed && nu == Failed:
		m.emergencyAction(u, c.FailureAction, false, actionExitStatus(u, c.FailureActionExitStatus), "unit "+u.Name+" failed")
	case !isInactiveOrFailed(old) && nu == Inactive:
		m.emergencyAction(u, c.SuccessAction, false, actionExitStatus(u, c.SuccessActionExitStatus), "unit "+u.Name+" succeeded")
	}
}

// actionExitStatus is the exit status of an exit action (systemd's
// unit_success_action_exit_status and unit_failure_action_exit_status): set, the unit's
// *ActionExitStatus=; else its main process's exit status if it exited, 255 if a signal
// ended it, and none (-1) without a main process that ended.
func actionExitStatus(u *Unit, set int) int {
	if set >= 0 {
		return set
	}
	s := u.svc
	if s == nil || s.execMainPID == 0 || s.execMainExit.IsZero() {
		return -1
	}
	if s.execMainCode != "exited" {
		return 255
	}
	return s.execMainStatus
}

// quitRefusal says why the request verb exit, poweroff, halt or reboot (systemctl --force
// exit, ...: systemd's Manager.Exit(), PowerOff(), Halt(), Reboot()) is refused, or nil.
func (m *Manager) quitRefusal(objective string) error {
	if objective != "exit" && m.opt.Scope == unit.User {
		what := map[string]string{"poweroff": "Powering off", "halt": "Halt", "reboot": "Reboot"}[objective]
		return &reqError{"not-supported", what + " is only supported for system managers."}
	}
	return nil
}

// quitObjective sets the objective of an accepted exit, poweroff, halt or reboot request;
// one set by the final stop under way stays.
func (m *Manager) quitObjective(objective string) {
	if !m.shuttingDown || m.objective == "" {
		m.objective = objective
	}
}

// setExitCode is systemd's Manager.SetExitCode(): refused to a system manager that is not in
// a container (flint run as PID 1 of a machine, which cannot exit).
func (m *Manager) setExitCode(code int) error {
	if code < 0 || code > 255 {
		return &reqError{"bad-request", fmt.Sprintf("Invalid exit code %d.", code)}
	}
	if m.opt.Scope == unit.System && os.Getpid() == 1 && !inContainer() {
		return &reqError{"not-supported", "ExitCode can only be set for user service managers or in containers."}
	}
	m.exitCode = code
	return nil
}

// inContainer reports whether flint runs in a container (systemd's detect_container(), as
// far as flint needs it: the environment's container=, the runtimes' marker files).
func inContainer() bool {
	if os.Getenv("container") != "" {
		return true
	}
	for _, f := range []string{"/run/systemd/container", "/run/host/container-manager", "/.dockerenv", "/run/.containerenv"} {
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	return false
}

// FinalAction carries out the objective once Run has returned. Only `flint run` as PID 1
// acts: it asks the kernel (reboot(2)) to power off, halt or reboot, and an exit outside a
// container powers off (PID 1 must not exit); in a container's PID namespace reboot(2) ends
// the container as its runtime expects (the namespace's init dies of SIGINT for poweroff and
// halt, SIGHUP for reboot), and without CAP_SYS_BOOT it fails and flint exits, as
// systemd-shutdown does. Any other flint run does nothing here and exits: it never powers
// off or reboots the machine it merely runs on. FinalAction returns only if the objective
// asks for nothing or reboot(2) failed.
func FinalAction(objective string) error {
	if os.Getpid() != 1 {
		return nil
	}
	return finalAction(objective, inContainer(), reboot)
}

// reboot's cmd is reboot(2)'s unsigned int: LINUX_REBOOT_CMD_HALT does not fit a 32-bit int
// as a constant, and int(cmd) keeps its bits there.
func reboot(cmd uint32) error {
	syscall.Sync()
	return syscall.Reboot(int(cmd))
}

// finalAction is FinalAction for PID 1, with reboot(2) as a parameter for tests.
func finalAction(objective string, container bool, reboot func(cmd uint32) error) error {
	if objective == "exit" && !container {
		objective = "poweroff"
	}
	if objective == "" || objective == "exit" {
		return nil
	}
	cmd, ok := map[string]uint32{"poweroff": syscall.LINUX_REBOOT_CMD_POWER_OFF, "halt": syscall.LINUX_REBOOT_CMD_HALT,
		"reboot": syscall.LINUX_REBOOT_CMD_RESTART}[objective]
	if !ok {
		return fmt.Errorf("unknown objective %q", objective)
	}
	if err := reboot(cmd); err != nil {
		return fmt.Errorf("%s: reboot(2): %w", objective, err)
	}
	return nil
}

// objectiveWords introduce the final stop of the units.
var objectiveWords = map[string]string{"exit": "Exiting", "poweroff": "Powering off", "halt": "Halting", "reboot": "Rebooting"}
