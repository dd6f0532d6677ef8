package unit

import (
	"encoding/base64"
	"errors"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"
)

// pExec parses an Exec*= line; an empty value resets the list. A command systemd cannot
// parse makes the unit fail to load, unless it has the '-' prefix (then it is ignored).
func pExec(get func(d *decoder) *[]ExecCommand) parseFunc {
	return func(d *decoder, e Entry, v string) {
		l := get(d)
		if v == "" {
			*l = nil
			return
		}
		cmds, warnings, err := parseExec(v, d.expand, e.Where())
		for _, w := range warnings {
			d.warn(e, "%s", w)
		}
		*l = append(*l, cmds...)
		if err != nil {
			var ee *execError
			if errors.As(err, &ee) && ee.ignored {
				d.warn(e, "%s", ee.msg)
			} else {
				d.fail(e, "%s", err.Error())
			}
		}
	}
}

// validUserGroupName is systemd's valid_user_group_name() in relaxed mode, numeric IDs allowed.
func validUserGroupName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 256 || strings.HasPrefix(s, "-") {
		return false
	}
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f || r == ':' || r == '/' || r == ' ' || r == '\t' || r == '\n' {
			return false
		}
	}
	if n, err := strconv.ParseUint(s, 10, 32); err == nil && n == 65535 || err == nil && n == 4294967295 {
		return false
	}
	return true
}

// pUserGroup is User=/Group=/SocketUser=/SocketGroup=: a bad name makes the unit fail to load.
func pUserGroup(get func(d *decoder) *string) parseFunc {
	return func(d *decoder, e Entry, v string) {
		if v == "" {
			*get(d) = ""
			return
		}
		x, ok := d.printfMsg(e, v, "Failed to resolve unit specifiers in %s", true)
		if !ok {
			return
		}
		if !validUserGroupName(x) {
			d.fail(e, "Invalid user/group name or numeric ID: %s", x)
			return
		}
		if x == "nobody" && (e.Key == "User" || e.Key == "SocketUser") {
			d.warn(e, "Special user nobody configured, this is not safe!")
		}
		*get(d) = x
	}
}

// ValidEnvName reports whether s may name an environment variable (systemd's
// env_name_is_valid: a C identifier).
func ValidEnvName(s string) bool { return envNameValid(s) }

// ValidEnvAssignment reports whether s is a valid NAME=VALUE (systemd's
// env_assignment_is_valid: valid UTF-8, no control characters but tab and newline).
func ValidEnvAssignment(s string) bool { return envAssignmentValid(s) }

// envNameValid is systemd's env_name_is_valid().
func envNameValid(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' || len(s) > 4096 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// envAssignmentValid is systemd's env_assignment_is_valid().
func envAssignmentValid(s string) bool {
	name, val, ok := strings.Cut(s, "=")
	if !ok || !envNameValid(name) || !utf8.ValidString(val) {
		return false
	}
	for _, r := range val {
		if r < ' ' && r != '\t' && r != '\n' || r == 0x7f {
			return false
		}
	}
	return true
}

// envReplace sets KEY=VALUE in env, replacing an earlier KEY in place.
func envReplace(env []string, kv string) []string {
	name, _, _ := strings.Cut(kv, "=")
	for i, x := range env {
		if n, _, _ := strings.Cut(x, "="); n == name {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}

// pEnvWords parses Environment=/PassEnvironment=/UnsetEnvironment= words; bad is
// systemd's warning for an invalid word.
func pEnvWords(get func(d *decoder) *[]string, valid func(string) bool, replace bool, bad, specMsg string) parseFunc {
	return func(d *decoder, e Entry, v string) {
		l := get(d)
		if v == "" {
			*l = nil
			return
		}
		d.eachWord(e, v, exUnquote|exCUnescape, specMsg, func(x string) {
			if !valid(x) {
				d.warn(e, "%s, ignoring: %s", bad, x)
			} else if replace {
				*l = envReplace(*l, x)
			} else {
				*l = appendUnique(*l, x)
			}
		})
	}
}

var stdOutputs = []string{"inherit", "null", "tty", "journal", "kmsg", "journal+console", "kmsg+console", "socket"}

func pStdOutput(get func(d *decoder) *string) parseFunc {
	return func(d *decoder, e Entry, v string) {
		switch v {
		case "syslog", "syslog+console":
			to := "journal" + strings.TrimPrefix(v, "syslog")
			d.warn(e, "Standard output type %s is obsolete, automatically updating to %s. Please update your unit file, and consider removing the setting altogether.", v, to)
			*get(d) = to
			return
		}
		for _, o := range stdOutputs {
			if v == o {
				*get(d) = v
				return
			}
		}
		if v == "fd" {
			*get(d) = "fd" // the stream's own name (stdout or stderr), as systemd
			return
		}
		if name, ok := strings.CutPrefix(v, "fd:"); ok {
			x, good := d.printf(e, name, false)
			if !good {
				return
			}
			if x != "" && !fdNameValid(x) {
				d.warn(e, "Invalid file descriptor name, ignoring: %s", x)
				return
			}
			*get(d) = fdSetting(x)
			return
		}
		for _, pfx := range []string{"file:", "append:", "truncate:"} {
			if p, ok := strings.CutPrefix(v, pfx); ok {
				x, good := d.printfMsg(e, p, "Failed to resolve unit specifiers in %s, ignoring", false)
				if !good {
					return
				}
				if !isAbsPath(x) {
					d.warn(e, "%s= path is not absolute: %s", e.Key, x)
					return
				}
				*get(d) = pfx + path.Clean(x)
				return
			}
		}
		d.warn(e, "Failed to parse output specifier, ignoring: %s", v)
	}
}

// fdSetting is the stored value of "fd:NAME": "fd" alone when NAME is empty (systemd then
// uses the stream's own name: stdin, stdout or stderr).
func fdSetting(name string) string {
	if name == "" {
		return "fd"
	}
	return "fd:" + name
}

func pStdInput(d *decoder, e Entry, v string) {
	switch v {
	case "null", "tty", "tty-force", "tty-fail", "socket", "data", "fd":
		d.exec.StandardInput = v
		return
	}
	if name, ok := strings.CutPrefix(v, "fd:"); ok {
		x, good := d.printf(e, name, false)
		if !good {
			return
		}
		if x != "" && !fdNameValid(x) {
			d.warn(e, "Invalid file descriptor name, ignoring: %s", x)
			return
		}
		d.exec.StandardInput = fdSetting(x)
		return
	}
	if p, ok := strings.CutPrefix(v, "file:"); ok {
		x, good := d.printf(e, p, false)
		if !good {
			return
		}
		if !isAbsPath(x) {
			d.warn(e, "%s= path is not absolute: %s", e.Key, x)
			return
		}
		d.exec.StandardInput = "file:" + path.Clean(x)
		return
	}
	d.warn(e, "Failed to parse input specifier, ignoring: %s", v)
}

// fdNameValid is systemd's fdname_is_valid(): up to 255 printable ASCII bytes, no ':'.
func fdNameValid(s string) bool {
	if len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' || s[i] == ':' {
			return false
		}
	}
	return true
}

// pExecDirs parses RuntimeDirectory= and friends: relative, normalized paths.
func pExecDirs(get func(d *decoder) *[]string) parseFunc {
	return func(d *decoder, e Entry, v string) {
		l := get(d)
		if v == "" {
			*l = nil
			return
		}
		d.eachWord(e, v, exUnquote, "Failed to resolve unit specifiers in \"%s\", ignoring", func(x string) {
			src, _, _ := strings.Cut(x, ":")
			switch {
			case path.IsAbs(src):
				d.warn(e, "%s= path is absolute, ignoring: %s", e.Key, x)
			case src == "" || !pathIsNormalized(src):
				d.warn(e, "%s= path is not normalized, ignoring: %s", e.Key, x)
			default:
				*l = append(*l, x)
			}
		})
	}
}

func pWorkingDirectory(d *decoder, e Entry, v string) {
	c := d.exec
	if v == "" {
		c.WorkingDirectory, c.WorkingDirectoryOptional = "", false
		return
	}
	missingOK := strings.HasPrefix(v, "-")
	if missingOK {
		v = v[1:]
	}
	if v == "~" {
		c.WorkingDirectory, c.WorkingDirectoryOptional = "~", missingOK
		return
	}
	x, err := expandWith(d.expand, v)
	if err != nil {
		if missingOK {
			d.warn(e, "Failed to resolve unit specifiers in working directory path '%s', ignoring: %s", v, specifierErr(err))
		} else {
			d.fail(e, "Failed to resolve unit specifiers in working directory path '%s': %s", v, specifierErr(err))
		}
		return
	}
	if !isAbsPath(x) {
		if missingOK {
			d.warn(e, "WorkingDirectory= path is not absolute, ignoring: %s", x)
		} else {
			d.fail(e, "WorkingDirectory= path is not absolute: %s", x)
		}
		return
	}
	c.WorkingDirectory, c.WorkingDirectoryOptional = path.Clean(x), missingOK
}

func registerExec() {
	S := Supported
	x := func(d *decoder) *ExecContext { return d.exec }
	regBoth("WorkingDirectory", S, pWorkingDirectory)
	regBoth("RootDirectory", S, pPath(func(d *decoder) *string { return &x(d).RootDirectory }, true))
	regBoth("User", S, pUserGroup(func(d *decoder) *string { return &x(d).User }))
	regBoth("Group", S, pUserGroup(func(d *decoder) *string { return &x(d).Group }))
	regBoth("SupplementaryGroups", S, func(d *decoder, e Entry, v string) {
		if v == "" {
			x(d).SupplementaryGroups = nil
			return
		}
		words, _, err := splitWords(v, exUnquote)
		if err != nil {
			d.fail(e, "Invalid syntax: %s", v)
			return
		}
		for _, w := range words {
			k, ok := d.printfMsg(e, w, "Failed to resolve unit specifiers in %s", true)
			if !ok {
				return
			}
			if !validUserGroupName(k) {
				d.fail(e, "Invalid user/group name or numeric ID: %s", k)
				return
			}
			x(d).SupplementaryGroups = append(x(d).SupplementaryGroups, k)
		}
	})
	regBoth("DynamicUser", S, func(d *decoder, e Entry, v string) {
		b, err := ParseBool(v)
		if err != nil {
			d.fail(e, "Failed to parse boolean value: %s", v) // fatal in systemd
			return
		}
		x(d).DynamicUser = b
	})
	registerSandbox()
	registerCgroup()
	registerBPF()
	regBoth("UMask", S, pMode(func(d *decoder) *osFileMode { return &x(d).UMask }))
	regBoth("Nice", S, pOptionalInt(func(d *decoder) (*int, *bool) { return &x(d).Nice, &x(d).NiceSet },
		-20, 19, "Failed to parse nice priority '%s', ignoring: Invalid argument", "Nice priority out of range, ignoring: %s"))
	regBoth("OOMScoreAdjust", S, pOptionalInt(func(d *decoder) (*int, *bool) { return &x(d).OOMScoreAdjust, &x(d).OOMScoreAdjustSet },
		-1000, 1000, "Failed to parse the OOM score adjust value '%s', ignoring: Invalid argument", "OOM score adjust value out of range, ignoring: %s"))
	for name := range rlimits {
		regBoth(name, S, func(d *decoder, e Entry, v string) {
			rl, err := ParseRlimit(e.Key, v)
			if errors.Is(err, errSoftAboveHard) {
				d.warn(e, "Soft resource limit chosen higher than hard limit, ignoring: %s", v)
				return
			}
			if err != nil {
				d.warn(e, "Failed to parse resource value, ignoring: %s", v)
				return
			}
			for i, old := range x(d).Rlimits {
				if old.Resource == rl.Resource {
					x(d).Rlimits[i] = rl
					return
				}
			}
			x(d).Rlimits = append(x(d).Rlimits, rl)
		})
	}
	regBoth("Environment", S, pEnvWords(func(d *decoder) *[]string { return &x(d).Environment }, envAssignmentValid, true, "Invalid environment assignment", "Failed to resolve specifiers in %s, ignoring"))
	regBoth("PassEnvironment", S, pEnvWords(func(d *decoder) *[]string { return &x(d).PassEnvironment }, envNameValid, false, "Invalid environment name for PassEnvironment", "Failed to resolve specifiers in %s, ignoring"))
	regBoth("UnsetEnvironment", S, pEnvWords(func(d *decoder) *[]string { return &x(d).UnsetEnvironment },
		func(s string) bool { return envNameValid(s) || envAssignmentValid(s) }, false, "Invalid environment name or assignment UnsetEnvironment", "Failed to resolve unit specifiers in %s, ignoring"))
	regBoth("EnvironmentFile", S, func(d *decoder, e Entry, v string) {
		if v == "" {
			x(d).EnvironmentFiles = nil
			return
		}
		p, ok := d.printf(e, v, false)
		if !ok {
			return
		}
		ef := EnvironmentFile{Path: p}
		if strings.HasPrefix(p, "-") {
			ef.Optional, ef.Path = true, p[1:]
		}
		if !isAbsPath(ef.Path) {
			d.warn(e, "EnvironmentFile= path is not absolute, ignoring: %s", ef.Path)
			return
		}
		ef.Path = path.Clean(ef.Path)
		x(d).EnvironmentFiles = append(x(d).EnvironmentFiles, ef)
	})
	regBoth("StandardInput", S, pStdInput)
	regBoth("StandardOutput", S, pStdOutput(func(d *decoder) *string { return &x(d).StandardOutput }))
	regBoth("StandardError", S, pStdOutput(func(d *decoder) *string { return &x(d).StandardError }))
	regBoth("StandardInputText", S, func(d *decoder, e Entry, v string) {
		if v == "" {
			x(d).StandardInputText = ""
			return
		}
		t, err := CUnescape(v)
		if err != nil {
			d.warn(e, "Failed to decode C escaped text '%s', ignoring: Invalid argument", v)
			return
		}
		r, ok := d.printf(e, t, false)
		if !ok {
			return
		}
		x(d).StandardInputText += r + "\n"
	})
	regBoth("StandardInputData", S, func(d *decoder, e Entry, v string) {
		if v == "" {
			x(d).StandardInputText = ""
			return
		}
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v), ""))
		if err != nil || len(b) == 0 {
			d.warn(e, "Failed to decode base64 data, ignoring: %s", v)
			return
		}
		x(d).StandardInputText += string(b)
	})
	regBoth("TTYPath", S, pPath(func(d *decoder) *string { return &x(d).TTYPath }, false))
	regBoth("SyslogIdentifier", S, pString(func(d *decoder) *string { return &x(d).SyslogIdentifier }, true))
	regBoth("RuntimeDirectory", S, pExecDirs(func(d *decoder) *[]string { return &x(d).RuntimeDirectory }))
	regBoth("StateDirectory", S, pExecDirs(func(d *decoder) *[]string { return &x(d).StateDirectory }))
	regBoth("CacheDirectory", S, pExecDirs(func(d *decoder) *[]string { return &x(d).CacheDirectory }))
	regBoth("LogsDirectory", S, pExecDirs(func(d *decoder) *[]string { return &x(d).LogsDirectory }))
	regBoth("ConfigurationDirectory", S, pExecDirs(func(d *decoder) *[]string { return &x(d).ConfigurationDirectory }))
	regBoth("RuntimeDirectoryMode", S, pMode(func(d *decoder) *osFileMode { return &x(d).RuntimeDirectoryMode }))
	regBoth("StateDirectoryMode", S, pMode(func(d *decoder) *osFileMode { return &x(d).StateDirectoryMode }))
	regBoth("CacheDirectoryMode", S, pMode(func(d *decoder) *osFileMode { return &x(d).CacheDirectoryMode }))
	regBoth("LogsDirectoryMode", S, pMode(func(d *decoder) *osFileMode { return &x(d).LogsDirectoryMode }))
	regBoth("ConfigurationDirectoryMode", S, pMode(func(d *decoder) *osFileMode { return &x(d).ConfigurationDirectoryMode }))
	regBoth("RuntimeDirectoryPreserve", S, func(d *decoder, e Entry, v string) {
		if v == "restart" {
			x(d).RuntimeDirectoryPreserve = v
			return
		}
		b, err := ParseBool(v)
		if err != nil {
			d.warn(e, "Failed to parse runtime directory preserve mode, ignoring: %s", v)
			return
		}
		x(d).RuntimeDirectoryPreserve = map[bool]string{true: "yes", false: "no"}[b]
	})
}

func pSignal(get func(d *decoder) *sysSignal) parseFunc {
	return func(d *decoder, e Entry, v string) {
		sig, err := ParseSignal(v)
		if err != nil {
			d.warn(e, "Failed to parse signal name, ignoring: %s", v)
			return
		}
		*get(d) = sig
	}
}

func registerKill() {
	S := Supported
	k := func(d *decoder) *KillContext { return d.kill }
	regBoth("KillMode", S, func(d *decoder, e Entry, v string) {
		switch v {
		case "":
			v = "control-group"
		case "control-group", "process", "mixed":
		case "none":
			d.warn(e, "Unit uses KillMode=none. This is unsafe, as it disables systemd's process lifecycle management for the service. Please update the service to use a safer KillMode=, such as 'mixed' or 'control-group'. Support for KillMode=none is deprecated and will eventually be removed.")
		default:
			d.warn(e, "Failed to parse kill mode specification, ignoring: %s", v)
			return
		}
		k(d).KillMode = v
	})
	regBoth("KillSignal", S, pSignal(func(d *decoder) *sysSignal { return &k(d).KillSignal }))
	regBoth("RestartKillSignal", S, pSignal(func(d *decoder) *sysSignal { return &k(d).RestartKillSignal }))
	regBoth("FinalKillSignal", S, pSignal(func(d *decoder) *sysSignal { return &k(d).FinalKillSignal }))
	regBoth("WatchdogSignal", S, pSignal(func(d *decoder) *sysSignal { return &k(d).WatchdogSignal }))
	regBoth("SendSIGKILL", S, pBool(func(d *decoder) *bool { return &k(d).SendSIGKILL }))
	regBoth("SendSIGHUP", S, pBool(func(d *decoder) *bool { return &k(d).SendSIGHUP }))
}
