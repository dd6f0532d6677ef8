package unit

import "fmt"

// Verify runs the checks systemd makes after loading a unit (service_verify(),
// socket_verify(), timer_verify() and path_verify()): problems that make the unit fail to load are Errors, the others
// Warnings. Decode calls it; it does nothing unless u.LoadState is Loaded. The
// diagnostics carry the fragment path and no line, as systemd reports them per unit.
func Verify(u *Unit) []Diagnostic {
	if u.LoadState != Loaded {
		return nil
	}
	var out []Diagnostic
	file := u.FragmentPath
	refuse := func(format string, a ...any) {
		out = append(out, Diagnostic{Severity: Error, File: file, Msg: Printable(fmt.Sprintf(format, a...))})
	}
	note := func(format string, a ...any) {
		out = append(out, Diagnostic{Severity: Warning, File: file, Msg: Printable(fmt.Sprintf(format, a...))})
	}
	if s := u.Service; s != nil {
		hasStart, hasStop := len(s.ExecStart) > 0, len(s.ExecStop) > 0
		successAction := u.Unit.SuccessAction != "" && u.Unit.SuccessAction != "none"
		switch {
		case !hasStart && !hasStop && !successAction:
			refuse("Service has no ExecStart=, ExecStop=, or SuccessAction=. Refusing.")
		case s.Type != Oneshot && !hasStart:
			refuse("Service has no ExecStart= setting, which is only allowed for Type=oneshot services. Refusing.")
		case !s.RemainAfterExit && !hasStart && !successAction:
			refuse("Service has no ExecStart= and no SuccessAction= settings and does not have RemainAfterExit=yes set. Refusing.")
		case s.Type != Oneshot && len(s.ExecStart) > 1:
			refuse("Service has more than one ExecStart= setting, which is only allowed for Type=oneshot services. Refusing.")
		case s.Type == Oneshot && (s.Restart == "always" || s.Restart == "on-success"):
			refuse("Service has Restart= set to either always or on-success, which isn't allowed for Type=oneshot services. Refusing.")
		case s.Type == Oneshot && (len(s.RestartForceExitStatus.Codes) > 0 || len(s.RestartForceExitStatus.Signals) > 0):
			refuse("Service has RestartForceExitStatus= set, which isn't allowed for Type=oneshot services. Refusing.")
		case s.Type == DBus && s.BusName == "":
			refuse("Service is of type D-Bus but no D-Bus service name has been specified. Refusing.")
		case pamName(u) != "" && s.Kill.KillMode != "control-group" && s.Kill.KillMode != "mixed":
			refuse("Service has PAM enabled. Kill mode must be set to 'control-group' or 'mixed'. Refusing.")
		}
		if s.USBFunctionDescriptors != "" && s.USBFunctionStrings == "" {
			note("Service has USBFunctionDescriptors= setting, but no USBFunctionStrings=. Ignoring.")
		}
		if s.USBFunctionDescriptors == "" && s.USBFunctionStrings != "" {
			note("Service has USBFunctionStrings= setting, but no USBFunctionDescriptors=. Ignoring.")
		}
		if s.RuntimeMaxSec != DurationInfinity && s.Type == Oneshot {
			note("RuntimeMaxSec= has no effect in combination with Type=oneshot. Ignoring.")
		}
		if s.RuntimeMaxSec == DurationInfinity && s.runtimeRandomizedExtra != 0 {
			note("Service has RuntimeRandomizedExtraSec= setting, but no RuntimeMaxSec=. Ignoring.")
		}
	}
	if s := u.Socket; s != nil {
		switch {
		case len(s.Listen) == 0:
			refuse("Unit has no Listen setting (ListenStream=, ListenDatagram=, ListenFIFO=, ...). Refusing.")
		case s.Accept && hasNonAcceptSocket(s):
			refuse("Unit configured for accepting sockets, but sockets are non-accepting. Refusing.")
		case s.Accept && s.MaxConnections <= 0:
			refuse("MaxConnection= setting too small. Refusing.")
		case s.Accept && s.Service != "":
			refuse("Explicit service configuration for accepting socket units not supported. Refusing.")
		case pamName(u) != "" && s.Kill.KillMode != "control-group":
			refuse("Unit has PAM enabled. Kill mode must be set to 'control-group'. Refusing.")
		case len(s.Symlinks) > 0 && symlinkTarget(s) == "":
			refuse("Unit has symlinks set but none or more than one node in the file system. Refusing.")
		}
	}
	if s := u.Timer; s != nil && len(s.Values) == 0 && !s.OnClockChange && !s.OnTimezoneChange {
		refuse("Timer unit lacks value setting. Refusing.")
	}
	if s := u.Path; s != nil && len(s.Specs) == 0 {
		refuse("Path unit lacks path setting. Refusing.")
	}
	// unit_load: isolating to several units at once makes no sense.
	if u.Unit.OnFailureJobMode == "isolate" && len(appendUnique(nil, u.Unit.OnFailure...)) > 1 {
		refuse("More than one OnFailure= dependencies specified but OnFailureJobMode=isolate set. Refusing.")
	}
	// unit_load: the running timeout never fires when the job timeout ends the job sooner
	// (0 is infinity for both).
	if r, t := u.Unit.JobRunningTimeout, u.Unit.JobTimeout; r != 0 && t != 0 && r > t {
		note("JobRunningTimeoutSec= is greater than JobTimeoutSec=, it has no effect.")
	}
	return out
}

// pamName: PAMName= is parsed as not enforced; Verify needs to know whether it is set.
func pamName(u *Unit) string {
	var c *ExecContext
	switch {
	case u.Service != nil:
		c = u.Service.Exec
	case u.Socket != nil:
		c = u.Socket.Exec
	default:
		return ""
	}
	for _, k := range c.NotEnforced {
		if k == "PAMName" {
			return k
		}
	}
	return ""
}

func hasNonAcceptSocket(s *SocketSection) bool {
	for _, l := range s.Listen {
		if !l.canAccept() || l.Family == FamilyNetlink {
			return true
		}
	}
	return false
}

// symlinkTarget is systemd's socket_find_symlink_target(): the one file system node of the
// socket (a unix path, FIFO or special file), or "" when there is none or several.
func symlinkTarget(s *SocketSection) string {
	found := ""
	for _, l := range s.Listen {
		p := ""
		switch {
		case l.Family == FamilyUnix && len(l.Path) > 0 && l.Path[0] == '/':
			p = l.Path
		case l.Kind == ListenFIFO || l.Kind == ListenSpecial:
			p = l.Path
		}
		if p == "" {
			continue
		}
		if found != "" {
			return ""
		}
		found = p
	}
	return found
}
