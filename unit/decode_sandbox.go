package unit

import (
	"fmt"

	"github.com/flint-init/flint/internal/siphash"
)

// The sandbox settings that DynamicUser= implies (systemd.exec(5)): NoNewPrivileges=,
// RemoveIPC=, PrivateTmp=, RestrictSUIDSGID=, ProtectSystem= and ProtectHome=. They are kept
// in ExecContext, so that `show` prints what systemd prints once DynamicUser= has set them;
// flint enforces NoNewPrivileges=, RemoveIPC= and RestrictSUIDSGID= (the last re-registered
// by decode_privileges.go) and parses the other three without applying
// them (docs/compatibility.md).
//
// PrivateTmp=, ProtectSystem= and ProtectHome= are enforced by internal/sandbox/fs.

func registerSandbox() {
	x := func(d *decoder) *ExecContext { return d.exec }
	regBoth("NoNewPrivileges", Supported, pBool(func(d *decoder) *bool { return &x(d).NoNewPrivileges }))
	regBoth("RemoveIPC", Supported, pBool(func(d *decoder) *bool { return &x(d).RemoveIPC }))
	regBoth("PrivateTmp", Supported, pBool(func(d *decoder) *bool { return &x(d).PrivateTmp }))
	regBoth("RestrictSUIDSGID", NotEnforced, pBool(func(d *decoder) *bool { return &x(d).RestrictSUIDSGID }))
	regBoth("ProtectSystem", Supported, pProtect(func(d *decoder) *string { return &x(d).ProtectSystem },
		"Failed to parse protect system value", "full", "strict"))
	regBoth("ProtectHome", Supported, pProtect(func(d *decoder) *string { return &x(d).ProtectHome },
		"Failed to parse protect home value", "read-only", "tmpfs"))
}

// pProtect is systemd's config_parse_protect_system/_home: a boolean ("yes" or "no") or one
// of words; anything else, the empty value too, is warned about and ignored.
func pProtect(get func(d *decoder) *string, msg string, words ...string) parseFunc {
	return func(d *decoder, e Entry, v string) {
		if b, err := ParseBool(v); err == nil {
			*get(d) = FormatBool(b)
			return
		}
		for _, w := range words {
			if v == w {
				*get(d) = w
				return
			}
		}
		d.warn(e, "%s, ignoring: %s", msg, v)
	}
}

// patchDynamicUser is what systemd's unit_patch_contexts() does for DynamicUser=yes when the
// unit is loaded: User= defaults to a name derived from the unit (DynamicUserName), Group=
// to User=, and the sandbox is tightened: PrivateTmp=, RemoveIPC=, NoNewPrivileges= and
// RestrictSUIDSGID= on, ProtectSystem=strict, ProtectHome=read-only unless set otherwise.
func patchDynamicUser(u *Unit, c *ExecContext) {
	if !c.DynamicUser {
		return
	}
	if c.User == "" {
		c.User = DynamicUserName(u)
	}
	if c.Group == "" {
		c.Group = c.User
	}
	c.PrivateTmp = true
	c.RemoveIPC = true
	c.ProtectSystem = "strict"
	if c.ProtectHome == "no" {
		c.ProtectHome = "read-only"
	}
	c.NoNewPrivileges = true
	c.RestrictSUIDSGID = true
}

// dynamicUserNameKey is the key systemd 252 hashes unit names with (user_from_unit_name).
var dynamicUserNameKey = [16]byte{0x58, 0x1a, 0xaf, 0xe6, 0x28, 0x58, 0x4e, 0x96, 0xb4, 0x4e, 0xf5, 0x3b, 0x8c, 0x92, 0x07, 0xec}

// DynamicUserName is the user a DynamicUser=yes unit without User= runs as, as systemd
// names it: the unit name's prefix (without the instance and type) when that is a valid
// user name in the strict sense (ValidDynamicUserName), else "_du" and 16 hex digits of
// the prefix's SipHash.
func DynamicUserName(u *Unit) string {
	prefix := u.Prefix
	if prefix == "" {
		prefix, _, _, _ = ParseName(u.Name)
	}
	if ValidDynamicUserName(prefix) {
		return prefix
	}
	return fmt.Sprintf("_du%016x", siphash.Sum64(dynamicUserNameKey, []byte(prefix)))
}

// ValidDynamicUserName reports whether name is a user or group name that systemd synthesizes
// or allocates (valid_user_group_name() in strict mode): a letter or '_', then letters,
// digits, '_' and '-', at most 31 characters (what fits utmp's name field).
func ValidDynamicUserName(name string) bool {
	if name == "" || len(name) > 31 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '-')) {
			return false
		}
	}
	return true
}
