package unit

import (
	"path"
	"strings"
	"time"
)

// busNameValid is a loose check of a D-Bus well-known name (systemd's sd_bus_service_name_is_valid).
func busNameValid(s string) bool {
	if len(s) < 3 || len(s) > 255 || !strings.Contains(s, ".") || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
		return false
	}
	for _, el := range strings.Split(strings.TrimPrefix(s, ":"), ".") {
		if el == "" {
			return false
		}
		for i := 0; i < len(el); i++ {
			c := el[i]
			if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

func pExitStatusSet(get func(d *decoder) *ExitStatusSet) parseFunc {
	return func(d *decoder, e Entry, v string) {
		set := get(d)
		if v == "" {
			*set = ExitStatusSet{}
			return
		}
		for _, w := range ParseExitStatusSet(v, set) {
			d.warn(e, "Failed to parse value, ignoring: %s", w)
		}
	}
}

func registerService() {
	S := Supported
	s := func(d *decoder) *ServiceSection { return d.u.Service }
	reg("Service", "PIDFile", S, func(d *decoder, e Entry, v string) {
		if v == "" {
			s(d).PIDFile = ""
			return
		}
		p, ok := d.printf(e, v, false)
		if !ok {
			return
		}
		if !path.IsAbs(p) {
			p = "/run/" + p
		}
		if rest, ok := strings.CutPrefix(p, "/var/run/"); ok {
			p = "/run/" + rest
		}
		if !pathIsValid(p) {
			d.warn(e, "PIDFile= path is not valid, ignoring: %s", p)
			return
		}
		s(d).PIDFile = path.Clean(p)
	})
	for name, get := range map[string]func(d *decoder) *[]ExecCommand{
		"ExecCondition": func(d *decoder) *[]ExecCommand { return &s(d).ExecCondition },
		"ExecStartPre":  func(d *decoder) *[]ExecCommand { return &s(d).ExecStartPre },
		"ExecStart":     func(d *decoder) *[]ExecCommand { return &s(d).ExecStart },
		"ExecStartPost": func(d *decoder) *[]ExecCommand { return &s(d).ExecStartPost },
		"ExecReload":    func(d *decoder) *[]ExecCommand { return &s(d).ExecReload },
		"ExecStop":      func(d *decoder) *[]ExecCommand { return &s(d).ExecStop },
		"ExecStopPost":  func(d *decoder) *[]ExecCommand { return &s(d).ExecStopPost },
	} {
		reg("Service", name, S, pExec(get))
	}
	reg("Service", "RestartSec", S, pSec(func(d *decoder) *time.Duration { return &s(d).RestartSec }, false))
	timeout := func(start, stop bool) parseFunc {
		return func(d *decoder, e Entry, v string) {
			t, err := ParseTimespan(v)
			if err != nil {
				d.warn(e, "Failed to parse %s= parameter, ignoring: %s", e.Key, v)
				return
			}
			if t == DurationInfinity {
				t = 0
			}
			if start {
				s(d).TimeoutStartSec, d.startTimeoutSet = t, true
			}
			if stop {
				s(d).TimeoutStopSec, d.stopTimeoutSet = t, true
			}
		}
	}
	reg("Service", "TimeoutSec", S, timeout(true, true))
	reg("Service", "TimeoutStartSec", S, timeout(true, false))
	stopTimeout := timeout(false, true)
	reg("Service", "TimeoutStopSec", S, func(d *decoder, e Entry, v string) {
		if _, err := ParseTimespan(v); err != nil {
			d.warn(e, "Failed to parse time value, ignoring: %s", v) // config_parse_sec_fix_0
			return
		}
		stopTimeout(d, e, v)
	})
	reg("Service", "TimeoutAbortSec", S, func(d *decoder, e Entry, v string) {
		if v == "" {
			d.abortTimeoutSet = false
			return
		}
		t, err := ParseTimespan(v)
		if err != nil {
			d.warn(e, "Failed to parse %s= setting, ignoring: %s", e.Key, v)
			return
		}
		s(d).TimeoutAbortSec, d.abortTimeoutSet = t, true // 0 stays 0, as in systemd
	})
	modes := []string{"terminate", "abort", "kill"}
	reg("Service", "TimeoutStartFailureMode", S, pEnum(func(d *decoder) *string { return &s(d).TimeoutStartFailureMode }, "\x00", "timeout failure mode", modes...))
	reg("Service", "TimeoutStopFailureMode", S, pEnum(func(d *decoder) *string { return &s(d).TimeoutStopFailureMode }, "\x00", "timeout failure mode", modes...))
	// config_parse_sec: infinity and 0 are distinct values (0 is no limit only for the
	// TimeoutStartSec=/TimeoutStopSec= family, config_parse_sec_fix_0).
	reg("Service", "RuntimeMaxSec", S, pSec(func(d *decoder) *time.Duration { return &s(d).RuntimeMaxSec }, false))
	reg("Service", "WatchdogSec", S, pSec(func(d *decoder) *time.Duration { return &s(d).WatchdogSec }, false))
	for _, name := range []string{"StartLimitInterval", "StartLimitBurst", "StartLimitAction", "FailureAction", "RebootArgument"} {
		// The [Unit] settings' old places, with their status (RebootArgument= is not enforced).
		reg("Service", name, directiveTable["Unit"][name].status, directiveTable["Unit"][name].parse)
	}
	reg("Service", "Type", S, func(d *decoder, e Entry, v string) {
		switch ServiceType(v) {
		case Simple, Exec, Forking, Oneshot, Notify, DBus, Idle:
			s(d).Type = ServiceType(v)
		default:
			d.warn(e, "Failed to parse service type, ignoring: %s", v)
		}
	})
	reg("Service", "ExitType", S, pEnum(func(d *decoder) *string { return &s(d).ExitType }, "\x00", "service exit type", "main", "cgroup"))
	reg("Service", "Restart", S, pEnum(func(d *decoder) *string { return &s(d).Restart }, "\x00", "service restart specifier",
		"no", "on-success", "on-failure", "on-abnormal", "on-watchdog", "on-abort", "always"))
	reg("Service", "RootDirectoryStartOnly", S, pBool(func(d *decoder) *bool { return &s(d).RootDirectoryStartOnly }))
	reg("Service", "PermissionsStartOnly", S, pBool(func(d *decoder) *bool { return &s(d).PermissionsStartOnly }))
	reg("Service", "RemainAfterExit", S, pBool(func(d *decoder) *bool { return &s(d).RemainAfterExit }))
	reg("Service", "GuessMainPID", S, pBool(func(d *decoder) *bool { return &s(d).GuessMainPID }))
	reg("Service", "NonBlocking", S, pBool(func(d *decoder) *bool { return &s(d).NonBlocking }))
	reg("Service", "RestartPreventExitStatus", S, pExitStatusSet(func(d *decoder) *ExitStatusSet { return &s(d).RestartPreventExitStatus }))
	reg("Service", "RestartForceExitStatus", S, pExitStatusSet(func(d *decoder) *ExitStatusSet { return &s(d).RestartForceExitStatus }))
	reg("Service", "SuccessExitStatus", S, pExitStatusSet(func(d *decoder) *ExitStatusSet { return &s(d).SuccessExitStatus }))
	reg("Service", "BusName", S, func(d *decoder, e Entry, v string) {
		x, ok := d.printfMsg(e, v, "Failed to resolve unit specifiers in %s, ignoring", false)
		if !ok {
			return
		}
		if !busNameValid(x) {
			d.warn(e, "Invalid bus name, ignoring: %s", x)
			return
		}
		s(d).BusName = x
	})
	reg("Service", "FileDescriptorStoreMax", S, pUnsigned(func(d *decoder) *int { return &s(d).FileDescriptorStoreMax }))
	reg("Service", "NotifyAccess", S, pEnum(func(d *decoder) *string { return &s(d).NotifyAccess }, "\x00", "notify access specifier", "none", "main", "exec", "all"))
	reg("Service", "Sockets", S, func(d *decoder, e Entry, v string) {
		d.eachWord(e, v, exRetainEscape, defaultSpecMsg, func(name string) {
			if !strings.HasSuffix(name, ".socket") || !ValidUnitName(name) {
				d.warn(e, "Unit must be of type socket, ignoring: %s", name)
				return
			}
			s(d).Sockets = appendUnique(s(d).Sockets, name)
		})
	})
	reg("Service", "USBFunctionDescriptors", S, pPath(func(d *decoder) *string { return &s(d).USBFunctionDescriptors }, false))
	reg("Service", "USBFunctionStrings", S, pPath(func(d *decoder) *string { return &s(d).USBFunctionStrings }, false))
	reg("Service", "OOMPolicy", S, pEnum(func(d *decoder) *string { return &s(d).OOMPolicy }, "\x00", "OOM policy", "continue", "stop", "kill"))
}
