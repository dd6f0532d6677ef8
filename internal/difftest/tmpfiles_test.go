package difftest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TmpfilesBinary is the systemd-tmpfiles that flint's is compared with.
var TmpfilesBinary = "/usr/bin/systemd-tmpfiles"

// tmpfilesScript runs in a private mount namespace (unshare --mount --propagation private):
// it mounts a fresh tmpfs over the scratch root $1, copies the seed tree $2 into it, runs the
// setup commands $3 in it, runs the command that follows $4 with its stderr in the file $4,
// prints its exit status and waits for a line on stdin while the test reads the tree through
// /proc/PID/root. Nothing either tool does reaches the host's file systems.
const tmpfilesScript = `set -e
root=$1 seed=$2 setup=$3 errf=$4
shift 4
mount -t tmpfs -o mode=0755 tmpfs "$root"
cp -a "$seed/." "$root/"
(cd "$root" && eval "$setup")
set +e
"$@" >/dev/null 2>"$errf"
echo "exit $?"
read _ || true
`

// tmpfilesCase is one configuration run through both tools.
type tmpfilesCase struct {
	name  string
	files map[string]string // file name in /usr/lib/tmpfiles.d of the root → contents
	setup string            // shell commands run in the root before the tool
	ops   []string          // the operations (default --create --remove --boot)
}

// tmpfilesOutcome is what a run leaves: the exit status, the messages and the tree.
type tmpfilesOutcome struct {
	status   int
	messages []string
	tree     []string
}

// livedInSetup gives the installed snippets something to act on: the directories and files
// their z, Z, a, A, h, e, r and R lines name, some with the wrong modes and owners, and old
// files in the temporary directories.
const livedInSetup = `mid=$(cat etc/machine-id)
mkdir -p var/log/journal/$mid/remote run/log/journal/$mid tmp/.X11-unix tmp/.ICE-unix var/tmp var/lib/systemd/coredump var/cache/man run/screen run/sudo/ts
touch var/log/journal/$mid/system.journal run/log/journal/$mid/system.journal run/log/journal/$mid/user-1000.journal~ run/sudo/ts/0
chmod 0700 tmp/.X11-unix var/log/journal
chown 1:1 var/cache/man
chmod 0755 tmp
touch -d '40 days ago' tmp/old var/tmp/old var/lib/systemd/coredump/core.1
mkdir -p tmp/systemd-private-abc-x.service-y/tmp && touch -d '40 days ago' tmp/systemd-private-abc-x.service-y/tmp/kept
ln -s /nowhere run/nologin
`

// TestTmpfilesSnippets runs every tmpfiles.d snippet installed in /usr/lib/tmpfiles.d (each
// alone, then all of them at once), over an empty root and over one with files in it, and the
// snippets of testdata/tmpfiles (every line type and modifier), through systemd-tmpfiles 252
// and through flint under that name: each run in a private mount namespace over a fresh tmpfs
// given as --root. The exit statuses, the messages and the trees (types, modes, owners, link
// targets, device numbers, contents, extended attributes and ACLs, file attributes) must be
// the same.
func TestTmpfilesSnippets(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("runs systemd-tmpfiles in mount namespaces")
	}
	why := ""
	if os.Geteuid() != 0 {
		why = "needs root"
	} else if _, err := exec.LookPath("unshare"); err != nil {
		why = "needs unshare"
	} else if _, err := os.Stat(TmpfilesBinary); err != nil {
		why = "needs " + TmpfilesBinary
	}
	if why != "" {
		if os.Getenv("CI") != "" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	work := t.TempDir()
	bin := filepath.Join(work, "bin", "systemd-tmpfiles")
	build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(work, "bin", "flint"), "./cmd/flint")
	build.Dir = "../.."
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build flint: %v\n%s", err, out)
	}
	if err := os.Symlink("flint", bin); err != nil {
		t.Fatal(err)
	}

	installed, err := filepath.Glob("/usr/lib/tmpfiles.d/*.conf")
	if err != nil || len(installed) < 20 {
		t.Fatalf("installed snippets: %v, %v (see .ci/run's packages)", installed, err)
	}
	var cases []tmpfilesCase
	all := map[string]string{}
	for _, f := range installed {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		all[name] = string(data)
		cases = append(cases,
			tmpfilesCase{name: "installed/" + name, files: map[string]string{name: string(data)}},
			tmpfilesCase{name: "installed-lived-in/" + name, files: map[string]string{name: string(data)}, setup: livedInSetup})
	}
	cases = append(cases,
		tmpfilesCase{name: "installed/all", files: all},
		tmpfilesCase{name: "installed-lived-in/all", files: all, setup: livedInSetup},
		tmpfilesCase{name: "installed-clean/all", files: all, setup: livedInSetup, ops: []string{"--clean"}})
	own, err := readTmpfilesCases("testdata/tmpfiles")
	if err != nil {
		t.Fatal(err)
	}
	if len(own) == 0 {
		t.Fatal("no cases in testdata/tmpfiles")
	}
	cases = append(cases, own...)

	seed := filepath.Join(work, "seed")
	root := filepath.Join(work, "root")
	creds := filepath.Join(work, "creds")
	for _, d := range []string{root, creds} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(creds, "greeting"), []byte("hello from a credential\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "CREDENTIALS_DIRECTORY=" + creds, "SYSTEMD_LOG_LEVEL=info"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := writeSeed(seed, c.files); err != nil {
				t.Fatal(err)
			}
			ops := c.ops
			if ops == nil {
				ops = []string{"--create", "--remove", "--boot"}
			}
			args := append([]string{"--root=" + root}, ops...)
			sys, err := runTmpfilesNS(ctx, work, root, seed, c.setup, env, append([]string{TmpfilesBinary}, args...))
			if err != nil {
				t.Fatalf("systemd-tmpfiles: %v", err)
			}
			fl, err := runTmpfilesNS(ctx, work, root, seed, c.setup, env, append([]string{bin}, args...))
			if err != nil {
				t.Fatalf("flint: %v", err)
			}
			if sys.status != fl.status {
				t.Errorf("exit status: systemd-tmpfiles %d, flint %d", sys.status, fl.status)
			}
			if d := lineDiff(sys.messages, fl.messages); d != "" {
				t.Errorf("messages (- systemd-tmpfiles, + flint):\n%s", d)
			}
			if d := lineDiff(sys.tree, fl.tree); d != "" {
				t.Errorf("trees (- systemd-tmpfiles, + flint):\n%s", d)
			}
			if len(sys.tree) < 2 {
				t.Errorf("systemd-tmpfiles left an empty tree: %q", sys.tree)
			}
		})
	}
}

// readTmpfilesCases reads the snippets of dir: each file is a case of its own; its lines
// "#! CMD" are the setup commands and a line "#ops: OPTIONS" replaces the operations.
func readTmpfilesCases(dir string) ([]tmpfilesCase, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.conf"))
	if err != nil {
		return nil, err
	}
	var cases []tmpfilesCase
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		c := tmpfilesCase{name: "testdata/" + filepath.Base(f), files: map[string]string{filepath.Base(f): string(data)}}
		var setup []string
		for _, l := range strings.Split(string(data), "\n") {
			if s, ok := strings.CutPrefix(l, "#! "); ok {
				setup = append(setup, s)
			} else if s, ok := strings.CutPrefix(l, "#ops: "); ok {
				c.ops = strings.Fields(s)
			}
		}
		c.setup = strings.Join(setup, "\n")
		cases = append(cases, c)
	}
	return cases, nil
}

// writeSeed makes the tree every run starts from: the host's users and groups and machine ID
// (the specifiers and owners of the snippets resolve in the root) and the snippets.
func writeSeed(seed string, files map[string]string) error {
	if err := os.RemoveAll(seed); err != nil {
		return err
	}
	conf := filepath.Join(seed, "usr/lib/tmpfiles.d")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(seed, "etc"), 0o755); err != nil {
		return err
	}
	for _, f := range []string{"passwd", "group", "machine-id", "os-release"} {
		data, err := os.ReadFile(filepath.Join("/etc", f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(seed, "etc", f), data, 0o644); err != nil {
			return err
		}
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(conf, n), []byte(c), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// runTmpfilesNS runs argv under tmpfilesScript and reads what it left in root.
func runTmpfilesNS(ctx context.Context, work, root, seed, setup string, env, argv []string) (tmpfilesOutcome, error) {
	var o tmpfilesOutcome
	errf := filepath.Join(work, "stderr")
	cmd := exec.CommandContext(ctx, "unshare", append([]string{"--mount", "--propagation", "private",
		"/bin/sh", "-c", tmpfilesScript, "tmpfiles-ns", root, seed, setup, errf}, argv...)...)
	cmd.Env = env
	var serr strings.Builder
	cmd.Stderr = &serr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return o, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return o, err
	}
	if err := cmd.Start(); err != nil {
		return o, err
	}
	// unshare execs the shell in the new namespace: its pid's root shows the tmpfs.
	line, rerr := bufio.NewReader(stdout).ReadString('\n')
	if s, ok := strings.CutPrefix(strings.TrimSpace(line), "exit "); ok && rerr == nil {
		o.status, err = strconv.Atoi(s)
		if err == nil {
			o.tree, err = dumpTree(fmt.Sprintf("/proc/%d/root%s", cmd.Process.Pid, root))
		}
	} else {
		err = fmt.Errorf("setup failed (%q, %v): %s", line, rerr, serr.String())
	}
	stdin.Close()
	if werr := cmd.Wait(); werr != nil && err == nil {
		err = fmt.Errorf("%v: %s", werr, serr.String())
	}
	if err != nil {
		return o, err
	}
	msgs, err := os.ReadFile(errf)
	if err != nil {
		return o, err
	}
	o.messages = strings.Split(strings.TrimRight(string(msgs), "\n"), "\n")
	return o, nil
}

// dumpTree describes every inode under dir, one line each, sorted by path: type, mode,
// owner, then what the type has (link target, device number, size and digest of the
// contents), extended attributes (ACLs among them) and file attributes.
func dumpTree(dir string) ([]string, error) {
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, dir)
		if rel == "" {
			rel = "/"
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s %04o %d:%d", rel, fileType(st.Mode), st.Mode&0o7777, st.Uid, st.Gid)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " -> %s", target)
		case unix.S_IFCHR, unix.S_IFBLK:
			fmt.Fprintf(&b, " %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		case unix.S_IFREG:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if len(data) <= 48 {
				fmt.Fprintf(&b, " %q", data)
			} else {
				sum := sha256.Sum256(data)
				fmt.Fprintf(&b, " %d bytes sha256:%x", len(data), sum[:8])
			}
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			x, err := xattrs(p)
			if err != nil {
				return err
			}
			b.WriteString(x)
		}
		if t := st.Mode & unix.S_IFMT; t == unix.S_IFREG || t == unix.S_IFDIR {
			fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
			unix.Close(fd)
			if err == nil && flags != 0 {
				fmt.Fprintf(&b, " attr=%#x", flags)
			}
		}
		lines = append(lines, b.String())
		return nil
	})
	return lines, err
}

func fileType(mode uint32) string {
	return map[uint32]string{unix.S_IFREG: "file", unix.S_IFDIR: "dir", unix.S_IFLNK: "link",
		unix.S_IFIFO: "fifo", unix.S_IFSOCK: "socket", unix.S_IFCHR: "char", unix.S_IFBLK: "block"}[mode&unix.S_IFMT]
}

// xattrs lists the extended attributes of p, sorted, values in hex.
func xattrs(p string) (string, error) {
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		if errors.Is(err, unix.ENOTSUP) {
			return "", nil
		}
		return "", err
	}
	var names []string
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if name != "" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	val := make([]byte, 64<<10)
	for _, name := range names {
		m, err := unix.Lgetxattr(p, name, val)
		if err != nil {
			return "", fmt.Errorf("%s: %s: %w", p, name, err)
		}
		fmt.Fprintf(&b, " %s=%x", name, val[:m])
	}
	return b.String(), nil
}

// lineDiff shows the lines only in a (-) and only in b (+); "" when both have the same lines
// in the same order.
func lineDiff(a, b []string) string {
	if slices.Equal(a, b) {
		return ""
	}
	var d strings.Builder
	for _, l := range a {
		if !slices.Contains(b, l) {
			fmt.Fprintf(&d, "- %s\n", l)
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			fmt.Fprintf(&d, "+ %s\n", l)
		}
	}
	if d.Len() == 0 {
		fmt.Fprintf(&d, "same lines in another order:\n- %s\n+ %s\n", strings.Join(a, "\n  "), strings.Join(b, "\n  "))
	}
	return d.String()
}
