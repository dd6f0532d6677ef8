package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flint-init/flint/internal/sandbox"
)

// withoutNotEnforced drops verify's lines about directives flint does not enforce, which
// systemd-analyze has no counterpart for, before flint's output is compared with it.
func withoutNotEnforced(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if !strings.Contains(l, notEnforcedWarning) && !strings.Contains(l, "is not applied here: ") {
			b.WriteString(l)
		}
	}
	return b.String()
}

// TestVerifyNotEnforced checks that verify names each assignment of a directive flint does
// not enforce at its file and line (drop-ins included, in the order they apply), says
// nothing of the directives it enforces, and exits 0 for these warnings alone.
func TestVerifyNotEnforced(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("ne.service", "[Unit]\nDefaultDependencies=no\n\n[Service]\nExecStart=/bin/true\nRestrictFileSystems=ext4\nNoNewPrivileges=yes\n"+
		"IPIngressFilterPath=/sys/fs/bpf/a\nIPEgressFilterPath=/sys/fs/bpf/b\nUser=root\n")
	write("ne.service.d/10.conf", "[Service]\nLoadCredentialEncrypted=a:/x\nAppArmorProfile=-foo\n")
	write("ne.socket", "[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=127.0.0.1:20994\nRestrictFileSystems=ext4\n")
	write("plain.service", "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/true\nUser=root\n")

	var out bytes.Buffer
	st := verifyUnits(&out, &globals{units: []string{dir}}, []string{
		filepath.Join(dir, "ne.service"), filepath.Join(dir, "ne.socket"), filepath.Join(dir, "plain.service")}, false)
	if st != 0 {
		t.Errorf("exit status %d, want 0 for warnings alone\n%s", st, out.String())
	}
	want := []string{
		filepath.Join(dir, "ne.service") + ":6: RestrictFileSystems= " + notEnforcedWarning,
		filepath.Join(dir, "ne.service") + ":8: IPIngressFilterPath= " + notEnforcedWarning,
		filepath.Join(dir, "ne.service") + ":9: IPEgressFilterPath= " + notEnforcedWarning,
		filepath.Join(dir, "ne.service.d/10.conf") + ":2: LoadCredentialEncrypted= " + notEnforcedWarning,
		filepath.Join(dir, "ne.service.d/10.conf") + ":3: AppArmorProfile= " + fmt.Sprintf(notAppliedHere, "AppArmor"),
		filepath.Join(dir, "ne.socket") + ":5: RestrictFileSystems= " + notEnforcedWarning,
	}
	if _, on, _ := sandbox.LabelModule("AppArmorProfile"); on {
		want = append(want[:4], want[5:]...) // applied where AppArmor is enabled
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if strings.Contains(l, notEnforcedWarning) || strings.Contains(l, "is not applied here: ") {
			got = append(got, l)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("not-enforced warnings:\n%s\nwant:\n%s\nall output:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), out.String())
	}
	if strings.Contains(out.String(), "plain.service") {
		t.Errorf("a unit with enforced directives only was warned about:\n%s", out.String())
	}
}
