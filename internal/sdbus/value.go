package sdbus

import (
	"encoding/hex"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/show"
)

// basicTypes are the Go types of the D-Bus basic types.
var basicTypes = map[byte]reflect.Type{
	'y': reflect.TypeFor[uint8](), 'b': reflect.TypeFor[bool](), 'n': reflect.TypeFor[int16](),
	'q': reflect.TypeFor[uint16](), 'i': reflect.TypeFor[int32](), 'u': reflect.TypeFor[uint32](),
	'x': reflect.TypeFor[int64](), 't': reflect.TypeFor[uint64](), 'd': reflect.TypeFor[float64](),
	's': reflect.TypeFor[string](), 'o': reflect.TypeFor[dbus.ObjectPath](),
	'g': reflect.TypeFor[dbus.Signature](), 'v': reflect.TypeFor[dbus.Variant](),
	'h': reflect.TypeFor[dbus.UnixFDIndex](),
}

// typeOf is the Go type godbus encodes as the D-Bus type sig (one complete type).
func typeOf(sig string) (reflect.Type, error) {
	t, rest, err := typeOfPrefix(sig)
	if err == nil && rest != "" {
		err = fmt.Errorf("signature %q: more than one type", sig)
	}
	return t, err
}

func typeOfPrefix(sig string) (reflect.Type, string, error) {
	if sig == "" {
		return nil, "", fmt.Errorf("empty signature")
	}
	if t, ok := basicTypes[sig[0]]; ok {
		return t, sig[1:], nil
	}
	switch sig[0] {
	case 'a':
		if strings.HasPrefix(sig, "a{") {
			k, rest, err := typeOfPrefix(sig[2:])
			if err != nil {
				return nil, "", err
			}
			v, rest, err := typeOfPrefix(rest)
			if err != nil || !strings.HasPrefix(rest, "}") {
				return nil, "", fmt.Errorf("bad dict entry in %q", sig)
			}
			return reflect.MapOf(k, v), rest[1:], nil
		}
		e, rest, err := typeOfPrefix(sig[1:])
		if err != nil {
			return nil, "", err
		}
		return reflect.SliceOf(e), rest, nil
	case '(':
		var fields []reflect.StructField
		rest := sig[1:]
		for !strings.HasPrefix(rest, ")") {
			var t reflect.Type
			var err error
			if t, rest, err = typeOfPrefix(rest); err != nil {
				return nil, "", err
			}
			fields = append(fields, reflect.StructField{Name: fmt.Sprintf("F%d", len(fields)), Type: t})
		}
		return reflect.StructOf(fields), rest[1:], nil
	}
	return nil, "", fmt.Errorf("unknown type %q", sig)
}

// Zero is the zero value of the D-Bus type sig, as godbus encodes it.
func Zero(sig string) any {
	t, err := typeOf(sig)
	if err != nil {
		panic(err)
	}
	return zeroOf(t).Interface()
}

// zeroOf is the zero value of t with what D-Bus does not allow empty made valid: object
// paths are "/", variants hold "", arrays and dicts are empty.
func zeroOf(t reflect.Type) reflect.Value {
	switch {
	case t.Kind() == reflect.Map:
		return reflect.MakeMap(t)
	case t.Kind() == reflect.Slice:
		return reflect.MakeSlice(t, 0, 0)
	case t == reflect.TypeFor[dbus.Variant]():
		return reflect.ValueOf(dbus.MakeVariant(""))
	case t == reflect.TypeFor[dbus.ObjectPath]():
		return reflect.ValueOf(dbus.ObjectPath("/"))
	case t.Kind() == reflect.Struct:
		v := reflect.New(t).Elem()
		for i := range t.NumField() {
			v.Field(i).Set(zeroOf(t.Field(i).Type))
		}
		return v
	}
	return reflect.Zero(t)
}

// fromText converts the values of one property, as `systemctl show` prints them (one entry
// per line of the property), to the property's type. What does not parse becomes the zero
// value (name is for the properties whose format the name tells).
func fromText(name, sig string, texts []string) any {
	t, err := typeOf(sig)
	if err != nil {
		return nil
	}
	if sig == "ay" {
		// InvocationID: the hex digits show prints.
		if len(texts) == 0 {
			return []byte{}
		}
		b, err := hex.DecodeString(texts[len(texts)-1])
		if err != nil {
			return []byte{}
		}
		return b
	}
	if t.Kind() == reflect.Slice {
		out := reflect.MakeSlice(t, 0, len(texts))
		esig := sig[1:]
		for _, s := range texts {
			if esig == "s" {
				for _, w := range unit.SplitStrv(s) {
					out = reflect.Append(out, reflect.ValueOf(w))
				}
				continue
			}
			if s == "" {
				continue
			}
			if v, ok := elemFromText(name, esig, s); ok {
				out = reflect.Append(out, reflect.ValueOf(v))
			}
		}
		return out.Interface()
	}
	if len(texts) == 0 {
		return Zero(sig)
	}
	if v, ok := scalarFromText(name, sig, texts[len(texts)-1]); ok {
		return v
	}
	return Zero(sig)
}

// scalarFromText parses one basic value.
func scalarFromText(name, sig, s string) (any, bool) {
	switch sig {
	case "s":
		return s, true
	case "o":
		if !dbus.ObjectPath(s).IsValid() {
			return nil, false
		}
		return dbus.ObjectPath(s), true
	case "b":
		switch s {
		case "yes", "true", "1":
			return true, true
		case "no", "false", "0", "":
			return false, true
		}
		return nil, false
	case "y", "q", "u", "t":
		bits := map[string]int{"y": 8, "q": 16, "u": 32, "t": 64}[sig]
		n, ok := unsignedFromText(name, s, bits)
		if !ok {
			return nil, false
		}
		switch sig {
		case "y":
			return uint8(n), true
		case "q":
			return uint16(n), true
		case "u":
			return uint32(n), true
		}
		return n, true
	case "n", "i", "x":
		n, err := strconv.ParseInt(s, 10, 64)
		switch {
		case err == nil:
		case s == "":
			n = 0
		case s == "[not set]" || s == "n/a":
			n = -1 // systemd's unset exit statuses, NUMA policy, ...
		default:
			if v, ok := enumInts[name][s]; ok {
				n = v
				break
			}
			return nil, false
		}
		switch sig {
		case "n":
			return int16(n), true
		case "i":
			return int32(n), true
		}
		return n, true
	case "d":
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	}
	return nil, false
}

// unsignedFromText parses the formats systemctl prints unsigned properties in: numbers,
// octal modes, "infinity" and "[not set]" (the maximum), timestamps and time spans (µs).
func unsignedFromText(name, s string, bits int) (uint64, bool) {
	max := uint64(math.MaxUint64) >> (64 - bits)
	switch {
	case s == "":
		return 0, true
	case s == "infinity" || s == "[not set]" || s == "[no data]":
		return max, true
	case strings.HasSuffix(name, "Mode") || name == "UMask":
		n, err := strconv.ParseUint(s, 8, bits)
		return n, err == nil
	case strings.HasPrefix(s, "0x"):
		n, err := strconv.ParseUint(s[2:], 16, bits)
		return n, err == nil
	case name == "CapabilityBoundingSet" || name == "AmbientCapabilities":
		return capabilityMask(s)
	case name == "RestrictNamespaces":
		return namespaceMask(s)
	}
	if n, err := strconv.ParseUint(s, 10, bits); err == nil {
		return n, true
	}
	if t, err := time.ParseInLocation(show.TimestampLayout, s, time.Local); err == nil {
		return uint64(t.UnixMicro()), true
	}
	if d, err := unit.ParseTimespan(s); err == nil && d >= 0 {
		return uint64(d / time.Microsecond), true
	}
	return 0, false
}

// elemFromText parses one entry of an array of structs, in systemctl show's formats:
// "ADDRESS (TYPE)" for a(ss) (Listen, Paths), "{ path=... ; argv[]=... ; ... }" for the
// Exec* commands, "{ NAME=VALUE ; next_elapse=... }" for the timers.
func elemFromText(name, sig, s string) (any, bool) {
	t, err := typeOf(sig)
	if err != nil || t.Kind() != reflect.Struct {
		if err == nil {
			return scalarFromText(name, sig, s)
		}
		return nil, false
	}
	v := zeroOf(t)
	switch sig {
	case "(ss)":
		i := strings.LastIndex(s, " (")
		if i < 0 || !strings.HasSuffix(s, ")") {
			return nil, false
		}
		v.Field(0).SetString(s[i+2 : len(s)-1])
		v.Field(1).SetString(s[:i])
		return v.Interface(), true
	case "(sasbttttuii)", "(sasasttttuii)":
		f := braceFields(s)
		v.Field(0).SetString(f["path"])
		v.Field(1).Set(reflect.ValueOf(strings.Fields(f["argv[]"])))
		if sig == "(sasbttttuii)" {
			v.Field(2).SetBool(f["ignore_errors"] == "yes")
		} else {
			v.Field(2).Set(reflect.ValueOf(append([]string{}, strings.Fields(f["flags"])...)))
		}
		stamp := func(s string) uint64 {
			n, _ := unsignedFromText("", strings.Trim(s, "[]"), 64)
			if s == "[n/a]" {
				return 0
			}
			return n
		}
		v.Field(3).SetUint(stamp(f["start_time"]))
		v.Field(5).SetUint(stamp(f["stop_time"]))
		pid, _ := strconv.ParseUint(f["pid"], 10, 32)
		v.Field(7).SetUint(pid)
		code := map[string]int64{"exited": 1, "killed": 2, "dumped": 3}[f["code"]]
		v.Field(8).SetInt(code)
		st, _, _ := strings.Cut(f["status"], "/")
		n, _ := strconv.ParseInt(st, 10, 32)
		v.Field(9).SetInt(n)
		return v.Interface(), true
	case "(stt)", "(sst)":
		f := braceFieldsOrdered(s)
		if len(f) < 2 {
			return nil, false
		}
		base := f[0][0]
		if sig == "(stt)" {
			n, _ := unsignedFromText("USec", f[0][1], 64)
			v.Field(0).SetString(base)
			v.Field(1).SetUint(n)
			next, _ := unsignedFromText("USec", f[1][1], 64)
			v.Field(2).SetUint(next)
		} else {
			v.Field(0).SetString(base)
			v.Field(1).SetString(f[0][1])
			next, _ := unsignedFromText("", f[1][1], 64)
			v.Field(2).SetUint(next)
		}
		return v.Interface(), true
	}
	return nil, false
}

// braceFields splits "{ a=1 ; b=2 }" into its fields.
func braceFields(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range braceFieldsOrdered(s) {
		out[kv[0]] = kv[1]
	}
	return out
}

func braceFieldsOrdered(s string) [][2]string {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	var out [][2]string
	for _, part := range strings.Split(s, " ; ") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}

// enumInts are the integer properties systemctl shows by name.
var enumInts = map[string]map[string]int64{
	"NUMAPolicy": {"default": 0, "preferred": 1, "bind": 2, "interleave": 3, "local": 4},
}

// capabilityNames are the capabilities by number (linux/capability.h).
var capabilityNames = []string{"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid",
	"cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap", "cap_linux_immutable", "cap_net_bind_service",
	"cap_net_broadcast", "cap_net_admin", "cap_net_raw", "cap_ipc_lock", "cap_ipc_owner", "cap_sys_module",
	"cap_sys_rawio", "cap_sys_chroot", "cap_sys_ptrace", "cap_sys_pacct", "cap_sys_admin", "cap_sys_boot",
	"cap_sys_nice", "cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod", "cap_lease",
	"cap_audit_write", "cap_audit_control", "cap_setfcap", "cap_mac_override", "cap_mac_admin", "cap_syslog",
	"cap_wake_alarm", "cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf", "cap_checkpoint_restore"}

// capabilityMask is the bit mask of a list of capability names.
func capabilityMask(s string) (uint64, bool) {
	var mask uint64
	for _, w := range strings.Fields(s) {
		i := slices.Index(capabilityNames, w)
		if i < 0 {
			return 0, false
		}
		mask |= 1 << i
	}
	return mask, true
}

// namespaceFlags are the CLONE_NEW* flags of RestrictNamespaces=, by name.
var namespaceFlags = map[string]uint64{"cgroup": 0x02000000, "ipc": 0x08000000, "net": 0x40000000,
	"mnt": 0x00020000, "pid": 0x20000000, "user": 0x10000000, "uts": 0x04000000}

// namespaceMask is RestrictNamespaces= as systemd keeps it: the namespaces allowed ("no":
// all of them, "yes": none).
func namespaceMask(s string) (uint64, bool) {
	var all uint64
	for _, f := range namespaceFlags {
		all |= f
	}
	switch s {
	case "no":
		return all, true
	case "yes":
		return 0, true
	}
	inverted := strings.HasPrefix(s, "~")
	var mask uint64
	for _, w := range strings.Fields(strings.TrimPrefix(s, "~")) {
		f, ok := namespaceFlags[w]
		if !ok {
			return 0, false
		}
		mask |= f
	}
	if inverted {
		mask = all &^ mask
	}
	return mask, true
}
