package unit

import (
	"strings"
)

// The file system, namespace and credential directives internal/sandbox/fs enforces
// (ProtectKernelTunables=, ProtectKernelModules= and ProtectKernelLogs= are parsed with the
// privileges, decode_privileges.go: they have a system call part too). Each
// is validated by the parser systemd's warnings were written for (decode_notenforced*.go);
// a value that passed is stored typed in ExecContext and, as written, in FSValues for show.

// BindPath is one BindPaths=/BindReadOnlyPaths= entry.
type BindPath struct {
	Source, Destination string
	ReadOnly            bool
	Recursive           bool // rbind (the default) rather than norbind
	IgnoreENOENT        bool // "-" before the source
}

// TemporaryFileSystem is one TemporaryFileSystem= entry.
type TemporaryFileSystem struct {
	Path, Options string
}

// Credential is one LoadCredential=, SetCredential= or Encrypted form of either.
type Credential struct {
	ID        string
	Path      string // LoadCredential*=: the source ("" for the ID itself)
	Data      string // SetCredential*=: the value, C escapes decoded
	Set       bool
	Encrypted bool
}

var fsBools = map[string]func(c *ExecContext) *bool{
	"PrivateDevices":       func(c *ExecContext) *bool { return &c.PrivateDevices },
	"PrivateNetwork":       func(c *ExecContext) *bool { return &c.PrivateNetwork },
	"PrivateUsers":         func(c *ExecContext) *bool { return &c.PrivateUsers },
	"PrivateIPC":           func(c *ExecContext) *bool { return &c.PrivateIPC },
	"ProtectControlGroups": func(c *ExecContext) *bool { return &c.ProtectControlGroups },
	"ProtectHostname":      func(c *ExecContext) *bool { return &c.ProtectHostname },
}

var fsPathLists = map[string]func(c *ExecContext) *[]string{
	"ReadWritePaths":          func(c *ExecContext) *[]string { return &c.ReadWritePaths },
	"ReadOnlyPaths":           func(c *ExecContext) *[]string { return &c.ReadOnlyPaths },
	"InaccessiblePaths":       func(c *ExecContext) *[]string { return &c.InaccessiblePaths },
	"ExecPaths":               func(c *ExecContext) *[]string { return &c.ExecPaths },
	"NoExecPaths":             func(c *ExecContext) *[]string { return &c.NoExecPaths },
	"ReadWriteDirectories":    func(c *ExecContext) *[]string { return &c.ReadWritePaths },
	"ReadOnlyDirectories":     func(c *ExecContext) *[]string { return &c.ReadOnlyPaths },
	"InaccessibleDirectories": func(c *ExecContext) *[]string { return &c.InaccessiblePaths },
}

// registerSandboxFS registers the directives over the validating parsers of
// registerNotEnforced, as Supported. It runs after registerNotEnforced.
func registerSandboxFS() {
	set := func(name string, store func(d *decoder, e Entry, v string)) {
		st := Supported
		if strings.HasSuffix(name, "CredentialEncrypted") {
			// Encrypted credentials are kept for the start to refuse (no TPM2 or host key
			// to decrypt with); they stay listed as not enforced, so that analyze verify
			// warns.
			st = NotEnforced
		}
		for _, sec := range []string{"Service", "Socket"} {
			var validate parseFunc
			if dir := directiveTable[sec][name]; dir != nil {
				validate = dir.parse
			}
			reg(sec, name, st, func(d *decoder, e Entry, v string) {
				n := len(d.diags)
				if validate != nil {
					validate(d, e, v)
				}
				if d.exec == nil || len(d.diags) != n {
					return // refused: systemd ignores the line
				}
				if d.exec.FSValues == nil {
					d.exec.FSValues = map[string]string{}
				}
				d.exec.FSValues[e.Key] = v
				store(d, e, v)
			})
		}
	}
	for name, get := range fsBools {
		set(name, func(d *decoder, e Entry, v string) {
			b, _ := ParseBool(v)
			*get(d.exec) = b
		})
	}
	set("PrivateMounts", func(d *decoder, e Entry, v string) {
		b, _ := ParseBool(v)
		d.exec.PrivateMounts, d.exec.PrivateMountsSet = b, true
	})
	set("MountAPIVFS", func(d *decoder, e Entry, v string) {
		if v == "" {
			d.exec.MountAPIVFS, d.exec.MountAPIVFSSet = false, false
			return
		}
		b, _ := ParseBool(v)
		d.exec.MountAPIVFS, d.exec.MountAPIVFSSet = b, true
	})
	set("ProtectProc", func(d *decoder, e Entry, v string) { d.exec.ProtectProc = v })
	set("ProcSubset", func(d *decoder, e Entry, v string) { d.exec.ProcSubset = v })
	set("MountFlags", func(d *decoder, e Entry, v string) { d.exec.MountFlags = v })
	for name, get := range fsPathLists {
		set(name, func(d *decoder, e Entry, v string) {
			l := get(d.exec)
			if v == "" {
				*l = nil
				return
			}
			d.eachWord(e, v, exUnquote, defaultSpecMsg, func(w string) { *l = append(*l, w) })
		})
	}
	for _, name := range []string{"BindPaths", "BindReadOnlyPaths"} {
		ro := name == "BindReadOnlyPaths"
		set(name, func(d *decoder, e Entry, v string) {
			if v == "" {
				d.exec.BindPaths = nil
				return
			}
			d.eachWord(e, v, exUnquote, defaultSpecMsg, func(w string) {
				b := BindPath{ReadOnly: ro, Recursive: true}
				src, rest, _ := strings.Cut(w, ":")
				if strings.HasPrefix(src, "-") {
					src, b.IgnoreENOENT = src[1:], true
				}
				dst, opts, _ := strings.Cut(rest, ":")
				if dst == "" {
					dst = src
				}
				if opts == "norbind" {
					b.Recursive = false
				}
				b.Source, b.Destination = src, dst
				d.exec.BindPaths = append(d.exec.BindPaths, b)
			})
		})
	}
	set("TemporaryFileSystem", func(d *decoder, e Entry, v string) {
		if v == "" {
			d.exec.TemporaryFileSystem = nil
			return
		}
		d.eachWord(e, v, exUnquote, defaultSpecMsg, func(w string) {
			p, opts, _ := strings.Cut(w, ":")
			d.exec.TemporaryFileSystem = append(d.exec.TemporaryFileSystem, TemporaryFileSystem{Path: p, Options: opts})
		})
	})
	set("NetworkNamespacePath", func(d *decoder, e Entry, v string) { d.exec.NetworkNamespacePath = v })
	set("IPCNamespacePath", func(d *decoder, e Entry, v string) { d.exec.IPCNamespacePath = v })
	for _, name := range []string{"LoadCredential", "LoadCredentialEncrypted", "SetCredential", "SetCredentialEncrypted"} {
		setCred := strings.HasPrefix(name, "Set")
		enc := strings.HasSuffix(name, "Encrypted")
		set(name, func(d *decoder, e Entry, v string) {
			if v == "" {
				d.exec.Credentials = nil
				return
			}
			id, rest, _ := strings.Cut(v, ":")
			c := Credential{ID: id, Set: setCred, Encrypted: enc}
			if setCred {
				data, err := CUnescape(rest)
				if err != nil {
					d.warn(e, "Failed to unescape credential value, ignoring: %s", v)
					return
				}
				c.Data = data
			} else {
				if x, ok := d.printfMsg(e, rest, defaultSpecMsg, false); ok {
					rest = x
				}
				c.Path = rest
			}
			d.exec.Credentials = append(d.exec.Credentials, c)
		})
	}
}

// FSValue is the value written for a directive of this file, for unit/show.
func (c *ExecContext) FSValue(key string) (string, bool) {
	v, ok := c.FSValues[key]
	return v, ok
}
