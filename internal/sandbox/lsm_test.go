package sandbox

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestSecurityLabels: a label of an enabled module is written where systemd writes it
// (AppArmor's "exec PROFILE" to the first attribute file there is), a failure is the
// module's exit status unless the value had "-"; a module not enabled skips the label.
func TestSecurityLabels(t *testing.T) {
	dir := t.TempDir()
	f := func(n string) string {
		p := filepath.Join(dir, n)
		os.WriteFile(p, nil, 0o644)
		return p
	}
	oldPaths := []string{selinuxExecAttr, smackCurrentAttr}
	oldAA, oldEnabled := apparmorExecAttrs, []func() bool{selinuxEnabled, apparmorEnabled, smackEnabled}
	t.Cleanup(func() {
		selinuxExecAttr, smackCurrentAttr = oldPaths[0], oldPaths[1]
		apparmorExecAttrs = oldAA
		selinuxEnabled, apparmorEnabled, smackEnabled = oldEnabled[0], oldEnabled[1], oldEnabled[2]
	})
	on := func() bool { return true }
	off := func() bool { return false }
	read := func(p string) string { b, _ := os.ReadFile(p); return string(b) }
	settings := &Settings{CapabilityBoundingSet: CapAll, RestrictNamespaces: NamespacesAll, SystemCallErrorNumber: ErrnoKill,
		SELinuxContext: "system_u:system_r:foo_t:s0", AppArmorProfile: "-foo", SmackProcessLabel: "web"}

	t.Run("enabled", func(t *testing.T) {
		selinuxEnabled, apparmorEnabled, smackEnabled = on, on, on
		selinuxExecAttr, smackCurrentAttr = f("selinux-exec"), f("smack-current")
		apparmorExecAttrs = []string{filepath.Join(dir, "missing"), f("aa-exec")}
		sp, err := Compile(settings, -1, -1)
		if err != nil {
			t.Fatal(err)
		}
		if sp.Empty() {
			t.Fatal("a spec with labels is empty")
		}
		if e := applySmack(sp); e != nil {
			t.Fatal(e)
		}
		if e := applyExecLabels(sp); e != nil {
			t.Fatal(e)
		}
		want(t, read(selinuxExecAttr), "system_u:system_r:foo_t:s0")
		want(t, read(apparmorExecAttrs[1]), "exec foo")
		want(t, read(smackCurrentAttr), "web")
	})
	t.Run("failures", func(t *testing.T) {
		selinuxEnabled, apparmorEnabled, smackEnabled = on, on, on
		selinuxExecAttr, smackCurrentAttr = filepath.Join(dir, "no/selinux"), filepath.Join(dir, "no/smack")
		apparmorExecAttrs = []string{filepath.Join(dir, "no/aa")}
		sp, _ := Compile(settings, -1, -1)
		if e := applySmack(sp); e == nil || e.Status != StatusSmackProcessLabel || e.Errno != syscall.ENOENT {
			t.Errorf("smack: %v", e)
		}
		if e := applyExecLabels(sp); e == nil || e.Status != StatusSELinuxContext {
			t.Errorf("selinux: %v", e)
		}
		sp.SELinux = nil
		if e := applyExecLabels(sp); e != nil {
			t.Errorf("apparmor with '-': %v", e)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		selinuxEnabled, apparmorEnabled, smackEnabled = off, off, off
		sp, _ := Compile(settings, -1, -1)
		if sp.SELinux != nil || sp.AppArmor != nil || sp.Smack != nil || !sp.Empty() {
			t.Errorf("labels of modules not enabled: %+v", sp)
		}
	})
}
