package unit

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DurationInfinity is what ParseTimespan returns for "infinity".
const DurationInfinity = time.Duration(math.MaxInt64)

// ParseBool parses a boolean as systemd's parse_boolean(): 1/yes/y/true/t/on and
// 0/no/n/false/f/off, in any case.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "yes", "y", "true", "t", "on":
		return true, nil
	case "0", "no", "n", "false", "f", "off":
		return false, nil
	}
	return false, fmt.Errorf("invalid boolean %q", s)
}

type timeUnit struct {
	suffix string
	usec   float64
}

// timeUnits is systemd's parse_time() suffix table, in its matching order.
var timeUnits = []timeUnit{
	{"seconds", 1e6}, {"second", 1e6}, {"sec", 1e6}, {"s", 1e6},
	{"minutes", 60e6}, {"minute", 60e6}, {"min", 60e6},
	{"months", 2629800e6}, {"month", 2629800e6}, {"M", 2629800e6},
	{"msec", 1e3}, {"ms", 1e3}, {"m", 60e6},
	{"hours", 3600e6}, {"hour", 3600e6}, {"hr", 3600e6}, {"h", 3600e6},
	{"days", 86400e6}, {"day", 86400e6}, {"d", 86400e6},
	{"weeks", 604800e6}, {"week", 604800e6}, {"w", 604800e6},
	{"years", 31557600e6}, {"year", 31557600e6}, {"y", 31557600e6},
	{"usec", 1}, {"us", 1}, {"μs", 1}, {"µs", 1},
}

// ParseTimespan parses a systemd time span ("2min 200ms", "1.5h", "infinity"); a number
// without a unit is in seconds. The result has microsecond resolution, as in systemd.
func ParseTimespan(s string) (time.Duration, error) {
	return parseTime(s, 1e6)
}

// parseTime is parse_time(): defUnit is the multiplier (in µs) of a bare number.
func parseTime(s string, defUnit float64) (time.Duration, error) {
	t := strings.Trim(s, whitespace)
	if t == "infinity" {
		return DurationInfinity, nil
	}
	if t == "" {
		return 0, fmt.Errorf("invalid time span %q", s)
	}
	var total uint64
	p := t
	for {
		p = strings.TrimLeft(p, whitespace)
		if p == "" {
			break
		}
		if p[0] == '-' {
			return 0, fmt.Errorf("invalid time span %q: negative", s)
		}
		if p[0] == '+' && len(p) > 1 && p[1] >= '0' && p[1] <= '9' {
			p = p[1:] // strtoll() takes a sign
		}
		i := 0
		for i < len(p) && p[i] >= '0' && p[i] <= '9' {
			i++
		}
		intPart := p[:i]
		frac := ""
		if i < len(p) && p[i] == '.' {
			j := i + 1
			for j < len(p) && p[j] >= '0' && p[j] <= '9' {
				j++
			}
			frac = p[i+1 : j]
			i = j
			if frac == "" {
				return 0, fmt.Errorf("invalid time span %q: no digit after '.'", s) // "3.", "3.sec"
			}
		}
		if intPart == "" && frac == "" {
			return 0, fmt.Errorf("invalid time span %q", s)
		}
		rest := p[i:]
		p = strings.TrimLeft(rest, whitespace)
		mul := defUnit
		unit := false
		for _, u := range timeUnits {
			if strings.HasPrefix(p, u.suffix) {
				mul = u.usec
				p = p[len(u.suffix):]
				unit = true
				break
			}
		}
		if !unit && p != "" && len(p) == len(rest) {
			// "12.34.56" is refused, "12.34 .56" and "12.34s.56" are not
			return 0, fmt.Errorf("invalid time span %q", s)
		}
		var whole uint64
		if intPart != "" {
			v, err := strconv.ParseUint(intPart, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("invalid time span %q: %w", s, err)
			}
			whole = v
		}
		if whole > 0 && float64(whole) > float64(math.MaxInt64/1000)/mul {
			return 0, fmt.Errorf("invalid time span %q: out of range", s)
		}
		part := whole * uint64(mul)
		// The fraction is exact, digit by digit, as parse_time(): each digit counts a tenth
		// of the previous one's multiplier, truncated to whole microseconds.
		for k, i := uint64(mul), 0; i < len(frac) && k > 0; i++ {
			k /= 10
			part += uint64(frac[i]-'0') * k
		}
		total += part
		if total > math.MaxInt64/1000 {
			return 0, fmt.Errorf("invalid time span %q: out of range", s)
		}
	}
	return time.Duration(total) * time.Microsecond, nil
}

// ParseSize parses a size with an optional 1024-based suffix (K, M, G, T, P, E; B for
// bytes), fractions allowed ("1.5G"), as systemd's parse_size(..., 1024).
func ParseSize(s string) (uint64, error) {
	t := strings.Trim(s, whitespace)
	if t == "" {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	var total uint64
	p := t
	for p != "" {
		if p[0] == '-' {
			return 0, fmt.Errorf("invalid size %q: negative", s)
		}
		i := 0
		for i < len(p) && p[i] >= '0' && p[i] <= '9' {
			i++
		}
		intPart := p[:i]
		frac := ""
		if i < len(p) && p[i] == '.' {
			j := i + 1
			for j < len(p) && p[j] >= '0' && p[j] <= '9' {
				j++
			}
			frac = p[i+1 : j]
			i = j
		}
		if intPart == "" {
			return 0, fmt.Errorf("invalid size %q", s)
		}
		p = strings.TrimLeft(p[i:], whitespace)
		var mul uint64 = 1
		if p != "" {
			shift := strings.IndexByte("BKMGTPE", p[0])
			if shift >= 0 {
				mul = 1 << (10 * uint(shift))
				p = p[1:]
			} else if p[0] < '0' || p[0] > '9' {
				return 0, fmt.Errorf("invalid size %q: unknown suffix", s)
			}
		} else if frac != "" {
			return 0, fmt.Errorf("invalid size %q: fraction without unit", s)
		}
		v, err := strconv.ParseUint(intPart, 10, 64)
		if err != nil || (v > 0 && v > math.MaxUint64/mul) {
			return 0, fmt.Errorf("invalid size %q: out of range", s)
		}
		part := v * mul
		if frac != "" {
			f, _ := strconv.ParseFloat("0."+frac, 64)
			part += uint64(f * float64(mul))
		}
		if total+part < total {
			return 0, fmt.Errorf("invalid size %q: out of range", s)
		}
		total += part
		p = strings.TrimLeft(p, whitespace)
	}
	return total, nil
}

// ParseMode parses an octal file mode up to 07777 ("0755", "755").
func ParseMode(s string) (os.FileMode, error) {
	t := strings.Trim(s, whitespace)
	v, err := strconv.ParseUint(t, 8, 32)
	if err != nil || t == "" || v > 07777 {
		return 0, fmt.Errorf("invalid mode %q", s)
	}
	return os.FileMode(v), nil
}

var signalNames = map[string]syscall.Signal{
	"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT, "ILL": syscall.SIGILL,
	"TRAP": syscall.SIGTRAP, "ABRT": syscall.SIGABRT, "IOT": syscall.SIGIOT, "BUS": syscall.SIGBUS,
	"FPE": syscall.SIGFPE, "KILL": syscall.SIGKILL, "USR1": syscall.SIGUSR1, "SEGV": syscall.SIGSEGV,
	"USR2": syscall.SIGUSR2, "PIPE": syscall.SIGPIPE, "ALRM": syscall.SIGALRM, "TERM": syscall.SIGTERM,
	"STKFLT": syscall.SIGSTKFLT, "CHLD": syscall.SIGCHLD, "CONT": syscall.SIGCONT, "STOP": syscall.SIGSTOP,
	"TSTP": syscall.SIGTSTP, "TTIN": syscall.SIGTTIN, "TTOU": syscall.SIGTTOU, "URG": syscall.SIGURG,
	"XCPU": syscall.SIGXCPU, "XFSZ": syscall.SIGXFSZ, "VTALRM": syscall.SIGVTALRM, "PROF": syscall.SIGPROF,
	"WINCH": syscall.SIGWINCH, "IO": syscall.SIGIO, "POLL": syscall.SIGPOLL, "PWR": syscall.SIGPWR,
	"SYS": syscall.SIGSYS,
}

const (
	sigRTMin = 34 // glibc's SIGRTMIN as seen by programs
	sigRTMax = 64
)

// ParseSignal parses a signal as systemd's signal_from_string(): "SIGTERM", "TERM", "15",
// "RTMIN+3", "SIGRTMAX-1".
func ParseSignal(s string) (syscall.Signal, error) {
	t := strings.TrimPrefix(s, "SIG")
	if sig, ok := signalNames[t]; ok {
		return sig, nil
	}
	for _, rt := range []struct {
		name string
		base int
		sign int
	}{{"RTMIN", sigRTMin, 1}, {"RTMAX", sigRTMax, -1}} {
		if rest, ok := strings.CutPrefix(t, rt.name); ok {
			if rest == "" {
				return syscall.Signal(rt.base), nil
			}
			if (rt.sign > 0 && rest[0] != '+') || (rt.sign < 0 && rest[0] != '-') {
				break
			}
			n, err := strconv.Atoi(rest[1:])
			if err != nil || n < 0 || n > sigRTMax-sigRTMin {
				break
			}
			return syscall.Signal(rt.base + rt.sign*n), nil
		}
	}
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		n, err := strconv.Atoi(s)
		if err == nil && n > 0 && n <= sigRTMax {
			return syscall.Signal(n), nil
		}
	}
	return 0, fmt.Errorf("invalid signal %q", s)
}

// SignalName returns "SIGTERM" etc. for a signal, as systemd's signal_to_string().
func SignalName(sig syscall.Signal) string {
	best := ""
	for name, v := range signalNames {
		if v == sig && (best == "" || (name != "IOT" && name != "POLL")) {
			best = name
		}
	}
	if best != "" {
		return "SIG" + best
	}
	if int(sig) >= sigRTMin && int(sig) <= sigRTMax {
		if int(sig) == sigRTMin {
			return "SIGRTMIN"
		}
		return fmt.Sprintf("SIGRTMIN+%d", int(sig)-sigRTMin)
	}
	return strconv.Itoa(int(sig))
}

// exitStatusNames are systemd's named exit statuses (exit-status.c), accepted by
// SuccessExitStatus= and friends.
var exitStatusNames = map[string]int{
	"SUCCESS": 0, "FAILURE": 1, "INVALIDARGUMENT": 2, "NOTIMPLEMENTED": 3, "NOPERMISSION": 4,
	"NOTINSTALLED": 5, "NOTCONFIGURED": 6, "NOTRUNNING": 7,
	"USAGE": 64, "DATAERR": 65, "NOINPUT": 66, "NOUSER": 67, "NOHOST": 68, "UNAVAILABLE": 69,
	"SOFTWARE": 70, "OSERR": 71, "OSFILE": 72, "CANTCREAT": 73, "IOERR": 74, "TEMPFAIL": 75,
	"PROTOCOL": 76, "NOPERM": 77, "CONFIG": 78,
	"CHDIR": 200, "NICE": 201, "FDS": 202, "EXEC": 203, "MEMORY": 204, "LIMITS": 205,
	"OOM_ADJUST": 206, "SIGNAL_MASK": 207, "STDIN": 208, "STDOUT": 209, "CHROOT": 210,
	"IOPRIO": 211, "TIMERSLACK": 212, "SECUREBITS": 213, "SETSCHEDULER": 214, "CPUAFFINITY": 215,
	"GROUP": 216, "USER": 217, "CAPABILITIES": 218, "CGROUP": 219, "SETSID": 220, "CONFIRM": 221,
	"STDERR": 222, "PAM": 224, "NETWORK": 225, "NAMESPACE": 226, "NO_NEW_PRIVILEGES": 227,
	"SECCOMP": 228, "SELINUX_CONTEXT": 229, "PERSONALITY": 230, "APPARMOR_PROFILE": 231,
	"ADDRESS_FAMILIES": 232, "RUNTIME_DIRECTORY": 233, "CHOWN": 235, "SMACK_PROCESS_LABEL": 236,
	"KEYRING": 237, "STATE_DIRECTORY": 238, "CACHE_DIRECTORY": 239, "LOGS_DIRECTORY": 240,
	"CONFIGURATION_DIRECTORY": 241, "NUMA_POLICY": 242, "CREDENTIALS": 243, "BPF": 245,
}

// ParseExitStatus parses one exit status: a number 0..255 or one of systemd's names
// ("NOTINSTALLED", "EXEC", ...).
func ParseExitStatus(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > 255 {
			return 0, fmt.Errorf("exit status %q out of range 0…255", s)
		}
		return n, nil
	}
	if n, ok := exitStatusNames[s]; ok {
		return n, nil
	}
	return 0, fmt.Errorf("invalid exit status %q", s)
}

// ParseExitStatusSet parses a SuccessExitStatus=-style list of exit statuses and signal
// names, adding to set. Words that are neither are returned as bad.
func ParseExitStatusSet(s string, set *ExitStatusSet) (bad []string) {
	for _, w := range strings.Fields(s) {
		if n, err := ParseExitStatus(w); err == nil {
			set.Codes = appendUniqueInt(set.Codes, n)
			continue
		}
		if sig, err := ParseSignal(w); err == nil {
			found := false
			for _, x := range set.Signals {
				found = found || x == sig
			}
			if !found {
				set.Signals = append(set.Signals, sig)
			}
			continue
		}
		bad = append(bad, w)
	}
	return bad
}

func appendUniqueInt(l []int, n int) []int {
	for _, x := range l {
		if x == n {
			return l
		}
	}
	return append(l, n)
}

// errSoftAboveHard is returned by ParseRlimit for "soft:hard" with soft > hard.
var errSoftAboveHard = errors.New("soft resource limit chosen higher than hard limit")

// rlimitKind says how the values of a Limit*= directive are written.
type rlimitKind int

const (
	rlimitNumber rlimitKind = iota
	rlimitSize
	rlimitSec  // LimitCPU: time, rounded up to seconds
	rlimitUsec // LimitRTTIME: time in µs
	rlimitNice // LimitNICE: a nice value or a raw 0..40
)

// rlimits maps Limit*= directive names to their resource and value syntax.
var rlimits = map[string]struct {
	res  int
	kind rlimitKind
}{
	"LimitCPU": {0, rlimitSec}, "LimitFSIZE": {1, rlimitSize}, "LimitDATA": {2, rlimitSize},
	"LimitSTACK": {3, rlimitSize}, "LimitCORE": {4, rlimitSize}, "LimitRSS": {5, rlimitSize},
	"LimitNPROC": {6, rlimitNumber}, "LimitNOFILE": {7, rlimitNumber}, "LimitMEMLOCK": {8, rlimitSize},
	"LimitAS": {9, rlimitSize}, "LimitLOCKS": {10, rlimitNumber}, "LimitSIGPENDING": {11, rlimitNumber},
	"LimitMSGQUEUE": {12, rlimitSize}, "LimitNICE": {13, rlimitNice}, "LimitRTPRIO": {14, rlimitNumber},
	"LimitRTTIME": {15, rlimitUsec},
}

// ParseRlimit parses a Limit*= value ("soft:hard" or one value for both; "infinity") for
// the directive name (which decides between sizes, times, nice values and numbers).
func ParseRlimit(directive, s string) (Rlimit, error) {
	info, ok := rlimits[directive]
	if !ok {
		return Rlimit{}, fmt.Errorf("unknown resource limit %s", directive)
	}
	one := func(v string) (uint64, error) {
		if v == "infinity" {
			return Infinity, nil
		}
		switch info.kind {
		case rlimitSize:
			return ParseSize(v)
		case rlimitSec:
			d, err := ParseTimespan(v)
			if err != nil {
				return 0, err
			}
			if d == DurationInfinity {
				return Infinity, nil
			}
			sec := uint64((d + time.Second - 1) / time.Second)
			if sec == 0 && d > 0 {
				sec = 1
			}
			return sec, nil
		case rlimitUsec:
			d, err := parseTime(v, 1)
			if err != nil {
				return 0, err
			}
			if d == DurationInfinity {
				return Infinity, nil
			}
			return uint64(d / time.Microsecond), nil
		case rlimitNice:
			if strings.HasPrefix(v, "+") || strings.HasPrefix(v, "-") {
				n, err := strconv.Atoi(v)
				if err != nil || n < -20 || n > 19 {
					return 0, fmt.Errorf("invalid nice value %q", v)
				}
				return uint64(20 - n), nil
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil || n > 40 {
				return 0, fmt.Errorf("invalid nice limit %q", v)
			}
			return n, nil
		}
		return strconv.ParseUint(v, 10, 64)
	}
	soft, hard, two := strings.Cut(s, ":")
	sv, err := one(soft)
	if err != nil {
		return Rlimit{}, fmt.Errorf("%s: %w", directive, err)
	}
	hv := sv
	if two {
		if hv, err = one(hard); err != nil {
			return Rlimit{}, fmt.Errorf("%s: %w", directive, err)
		}
		if sv > hv {
			return Rlimit{}, errSoftAboveHard
		}
	}
	return Rlimit{Resource: info.res, Soft: sv, Hard: hv}, nil
}

// FormatBool is systemctl's yes/no.
func FormatBool(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// timespanUnits are format_timespan()'s units, largest first.
var timespanUnits = []struct {
	suffix string
	usec   uint64
}{
	{"y", 31557600 * 1e6},
	{"month", 2629800 * 1e6},
	{"w", 7 * 24 * 3600 * 1e6},
	{"d", 24 * 3600 * 1e6},
	{"h", 3600 * 1e6},
	{"min", 60 * 1e6},
	{"s", 1e6},
	{"ms", 1e3},
	{"us", 1},
}

// FormatTimespan formats d as systemd's format_timespan() with no rounding, the way
// `systemctl show` prints *USec properties: "1min 30s", "100ms", "1.500000s", "0",
// "infinity" (for DurationInfinity or any negative duration). The resolution is 1µs.
func FormatTimespan(d time.Duration) string {
	return FormatTimespanAccuracy(d, time.Microsecond)
}

// FormatTimespanAccuracy is format_timespan() with an accuracy: what is below it is left
// out ("1.234s" for 1.2345678s at a millisecond, as systemctl status's Duration: and the
// manager's "Consumed ... CPU time." print it).
func FormatTimespanAccuracy(d, accuracy time.Duration) string {
	if d < 0 || d == DurationInfinity {
		return "infinity"
	}
	t := uint64(d / time.Microsecond)
	acc := max(uint64(accuracy/time.Microsecond), 1)
	if t == 0 {
		return "0"
	}
	var b strings.Builder
	for _, u := range timespanUnits {
		if t == 0 || b.Len() > 0 && t < acc {
			break
		}
		if t < u.usec {
			continue
		}
		a, rem := t/u.usec, t%u.usec
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		// Below a minute, a remainder is shown as a decimal fraction of the current unit,
		// to the accuracy.
		if t < 60*1e6 && rem > 0 {
			digits := 0
			for cc := u.usec; cc > 1; cc /= 10 {
				digits++
			}
			for cc := acc; cc > 1; cc /= 10 {
				rem /= 10
				digits--
			}
			if digits > 0 {
				fmt.Fprintf(&b, "%d.%0*d%s", a, digits, rem, u.suffix)
				t = 0
				continue
			}
		}
		fmt.Fprintf(&b, "%d%s", a, u.suffix)
		t = rem
	}
	return b.String()
}
