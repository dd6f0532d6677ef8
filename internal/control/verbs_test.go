package control

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/flint-init/flint/api"
)

// TestAllowedFollowsVerbTable: for every verb of the protocol's table, root and the owner
// may send it, and another uid exactly when the table says it is read-only.
func TestAllowedFollowsVerbTable(t *testing.T) {
	for _, info := range api.Verbs {
		if !Allowed(info.Verb, 0, 1000) || !Allowed(info.Verb, 1000, 1000) {
			t.Errorf("%s refused to root or the owner", info.Verb)
		}
		if got := Allowed(info.Verb, 65534, 1000); got != info.ReadOnly {
			t.Errorf("Allowed(%s, uid 65534) = %v, table says read-only %v", info.Verb, got, info.ReadOnly)
		}
	}
}

// nobodyHelperEnv makes the test binary, run as nobody, send one request per verb to the
// socket it names and print each reply (TestVerbsAsNobody).
const nobodyHelperEnv = "FLINT_CONTROL_TEST_NOBODY"

// TestMain runs the helper instead of the tests when the environment asks for it.
func TestMain(m *testing.M) {
	if path := os.Getenv(nobodyHelperEnv); path != "" {
		os.Exit(sendEveryVerb(path, os.Stdout))
	}
	os.Exit(m.Run())
}

// sendEveryVerb sends each verb of api.Verbs on its own connection to the socket at path
// and writes "VERB CODE" (CODE "-" for a reply without error) per verb to w.
func sendEveryVerb(path string, w io.Writer) int {
	for _, info := range api.Verbs {
		c, err := net.Dial("unix", path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintf(c, "{\"verb\":%q}\n", info.Verb)
		var r api.Response
		if err := json.NewDecoder(bufio.NewReader(c)).Decode(&r); err != nil {
			fmt.Fprintln(os.Stderr, info.Verb, err)
			return 1
		}
		c.Close()
		code := r.Code
		if code == "" {
			code = "-"
		}
		fmt.Fprintln(w, info.Verb, code)
	}
	return 0
}

// TestVerbsAsNobody: a client running as another uid (nobody) gets every read-only verb of
// the table through to the handler, and every other verb refused with code permission
// before the handler sees it.
func TestVerbsAsNobody(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as nobody")
	}
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The test binary, where nobody may run it.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "helper.test")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	handled := map[api.Verb]int{}
	_, path := serve(t, func(ctx context.Context, req *api.Request, p *Peer, send func(*api.Response) error) {
		mu.Lock()
		handled[req.Verb] = p.UID
		mu.Unlock()
		send(&api.Response{Done: true})
	}, nil)
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), nobodyHelperEnv+"="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper as nobody: %v\n%s", err, out)
	}
	codes := map[api.Verb]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		v, code, _ := strings.Cut(line, " ")
		codes[api.Verb(v)] = code
	}
	mu.Lock()
	defer mu.Unlock()
	for _, info := range api.Verbs {
		uid, reached := handled[info.Verb]
		switch {
		case info.ReadOnly && (codes[info.Verb] != "-" || !reached || uid != 65534):
			t.Errorf("read-only %s as nobody: code %q, handler reached %v (uid %d)", info.Verb, codes[info.Verb], reached, uid)
		case !info.ReadOnly && (codes[info.Verb] != "permission" || reached):
			t.Errorf("%s as nobody: code %q, handler reached %v; want permission, not reached", info.Verb, codes[info.Verb], reached)
		}
	}
}
