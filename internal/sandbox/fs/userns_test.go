package fs

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// TestPrivateUsers: a child cloned with UserNS sees root and the unit's user mapped to
// themselves and nothing else, and can still set up a mount namespace inside.
func TestPrivateUsers(t *testing.T) {
	needRoot(t)
	sj, _ := json.Marshal(Spec{ProtectSystem: "strict"})
	pj, _ := json.Marshal(probe{Paths: []string{"/proc/self/uid_map", "/proc/self/gid_map", "/usr"}})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FLINT_FS_CHILD=1", "FLINT_FS_SPEC="+string(sj), "FLINT_FS_PROBE="+string(pj))
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	UserNS(cmd.SysProcAttr, 65534, 65534)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s %s", err, out.String(), stderr.String())
	}
	var r report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"/proc/self/uid_map", "/proc/self/gid_map"} {
		got := strings.Fields(r.Paths[m].Data)
		want := []string{"0", "0", "1", "65534", "65534", "1"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: %q, want %q", m, r.Paths[m].Data, want)
		}
	}
	if r.Paths["/usr"].W {
		t.Errorf("/usr writable under ProtectSystem=strict in a user namespace")
	}
}
