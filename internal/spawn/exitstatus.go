package spawn

// Exit statuses of a process that failed before or at its execve, as systemd numbers them
// (systemd.exec(5), "Process Exit Codes"). The shim exits with one of these and Start reports
// it in ExecError.Status.
const (
	StatusSuccess         = 0
	StatusFailure         = 1
	StatusChdir           = 200
	StatusNice            = 201
	StatusFDs             = 202
	StatusExec            = 203
	StatusMemory          = 204
	StatusLimits          = 205
	StatusOOMAdjust       = 206
	StatusSignalMask      = 207
	StatusStdin           = 208
	StatusStdout          = 209
	StatusGroup           = 216
	StatusUser            = 217
	StatusCgroup          = 219
	StatusSetsid          = 220
	StatusStderr          = 222
	StatusNamespace       = 226
	StatusNoNewPrivileges = 227
	StatusException       = 255
)

// exitStatusNames is indexed by status (static data: no map built at every start).
var exitStatusNames = [256]string{
	0: "SUCCESS", 1: "FAILURE",
	2: "INVALIDARGUMENT", 3: "NOTIMPLEMENTED", 4: "NOPERMISSION", 5: "NOTINSTALLED",
	6: "NOTCONFIGURED", 7: "NOTRUNNING",
	64: "USAGE", 65: "DATAERR", 66: "NOINPUT", 67: "NOUSER", 68: "NOHOST", 69: "UNAVAILABLE",
	70: "SOFTWARE", 71: "OSERR", 72: "OSFILE", 73: "CANTCREAT", 74: "IOERR", 75: "TEMPFAIL",
	76: "PROTOCOL", 77: "NOPERM", 78: "CONFIG",
	200: "CHDIR", 201: "NICE", 202: "FDS", 203: "EXEC", 204: "MEMORY", 205: "LIMITS",
	206: "OOM_ADJUST", 207: "SIGNAL_MASK", 208: "STDIN", 209: "STDOUT", 210: "CHROOT",
	211: "IOPRIO", 212: "TIMERSLACK", 213: "SECUREBITS", 214: "SETSCHEDULER", 215: "CPUAFFINITY",
	216: "GROUP", 217: "USER", 218: "CAPABILITIES", 219: "CGROUP", 220: "SETSID", 221: "CONFIRM",
	222: "STDERR", 224: "PAM", 225: "NETWORK", 226: "NAMESPACE", 227: "NO_NEW_PRIVILEGES",
	228: "SECCOMP", 229: "SELINUX_CONTEXT", 230: "PERSONALITY", 231: "APPARMOR",
	232: "ADDRESS_FAMILIES", 233: "RUNTIME_DIRECTORY", 235: "CHOWN", 236: "SMACK_PROCESS_LABEL",
	237: "KEYRING", 238: "STATE_DIRECTORY", 239: "CACHE_DIRECTORY", 240: "LOGS_DIRECTORY",
	241: "CONFIGURATION_DIRECTORY", 242: "NUMA_POLICY", 243: "CREDENTIALS", 245: "BPF",
	255: "EXCEPTION",
}

// ExitStatusName is systemd's name for an exit status (exit_status_to_string with the full
// table: LSB, BSD sysexits and systemd's own 200-255), e.g. "EXEC" for 203; "" when unnamed.
func ExitStatusName(code int) string {
	if code < 0 || code >= len(exitStatusNames) {
		return ""
	}
	return exitStatusNames[code]
}
