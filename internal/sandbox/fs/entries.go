package fs

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// mode is a mount entry's kind, in systemd's order of priority (namespace.c's MountMode):
// of two entries on one path the one with the lower mode wins.
type mode int

const (
	inaccessible mode = iota
	bindMount
	bindMountRecursive
	privateTmp
	privateTmpReadOnly
	privateDev
	bindDev
	emptyDir
	sysfs
	procfs
	readOnly
	readWrite
	noExec
	execMode
	tmpfs
	runTmpfs
	mqueuefs
	readWriteImplicit
)

var modeNames = [...]string{"inaccessible", "bind", "rbind", "private-tmp", "private-tmp-ro", "private-dev",
	"bind-dev", "empty", "sysfs", "procfs", "read-only", "read-write", "noexec", "exec", "tmpfs", "run",
	"mqueuefs", "rw-implicit"}

func (m mode) String() string { return modeNames[m] }

// entry is one mount of the sandbox (namespace.c's MountEntry).
type entry struct {
	path      string // inside the root until prefixed, then the full path
	inner     string // the path as the unit sees it
	mode      mode
	ignore    bool // a missing path is skipped
	hasPrefix bool
	readOnly  bool
	noexec    bool
	exec      bool
	nosuid    bool
	source    string
	options   string
	flags     uintptr
	applied   bool
}

func (e *entry) isReadOnly() bool {
	return e.readOnly || e.mode == readOnly || e.mode == inaccessible || e.mode == privateTmpReadOnly
}

func (e *entry) isNoExec() bool {
	return e.noexec || e.mode == noExec || e.mode == inaccessible || e.mode == sysfs || e.mode == procfs
}

func (e *entry) isExec() bool { return e.exec || e.mode == execMode }

// tmpfs size limits (systemd's TMPFS_LIMITS_*).
const (
	limitsEmpty      = ",size=4m,nr_inodes=1k"
	limitsPrivateDev = ",size=4m,nr_inodes=64k"
	limitsRun        = ",size=20%,nr_inodes=800k"
	limitsNested     = ",size=10%,nr_inodes=400k"
)

type static struct {
	path    string
	mode    mode
	ignore  bool
	ro      bool
	options string
	flags   uintptr
}

var (
	apivfsTable = []static{
		{path: "/proc", mode: procfs},
		{path: "/dev", mode: bindDev},
		{path: "/sys", mode: sysfs},
		{path: "/run", mode: runTmpfs, options: "mode=755" + limitsRun, flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_STRICTATIME},
	}
	kernelTunablesProc = []static{
		{"/proc/acpi", readOnly, true, false, "", 0},
		{"/proc/apm", readOnly, true, false, "", 0},
		{"/proc/asound", readOnly, true, false, "", 0},
		{"/proc/bus", readOnly, true, false, "", 0},
		{"/proc/fs", readOnly, true, false, "", 0},
		{"/proc/irq", readOnly, true, false, "", 0},
		{"/proc/kallsyms", inaccessible, true, false, "", 0},
		{"/proc/kcore", inaccessible, true, false, "", 0},
		{"/proc/latency_stats", readOnly, true, false, "", 0},
		{"/proc/mtrr", readOnly, true, false, "", 0},
		{"/proc/scsi", readOnly, true, false, "", 0},
		{"/proc/sys", readOnly, true, false, "", 0},
		{"/proc/sysrq-trigger", readOnly, true, false, "", 0},
		{"/proc/timer_stats", readOnly, true, false, "", 0},
	}
	kernelTunablesSys = []static{
		{"/sys", readOnly, false, false, "", 0},
		{"/sys/fs/bpf", readOnly, true, false, "", 0},
		{"/sys/fs/cgroup", readWriteImplicit, false, false, "", 0},
		{"/sys/fs/selinux", readWriteImplicit, true, false, "", 0},
		{"/sys/kernel/debug", readOnly, true, false, "", 0},
		{"/sys/kernel/tracing", readOnly, true, false, "", 0},
	}
	// Debian builds systemd 252 with split /usr support, hence /lib/modules.
	kernelModules  = []static{{"/lib/modules", inaccessible, true, false, "", 0}, {"/usr/lib/modules", inaccessible, true, false, "", 0}}
	kernelLogsProc = []static{{"/proc/kmsg", inaccessible, true, false, "", 0}}
	kernelLogsDev  = []static{{"/dev/kmsg", inaccessible, true, false, "", 0}}
	homeReadOnly   = []static{{"/home", readOnly, true, false, "", 0}, {"/run/user", readOnly, true, false, "", 0}, {"/root", readOnly, true, false, "", 0}}
	homeTmpfs      = []static{
		{"/home", tmpfs, true, true, "mode=0755" + limitsEmpty, unix.MS_NODEV | unix.MS_STRICTATIME},
		{"/run/user", tmpfs, true, true, "mode=0755" + limitsEmpty, unix.MS_NODEV | unix.MS_STRICTATIME},
		{"/root", tmpfs, true, true, "mode=0700" + limitsEmpty, unix.MS_NODEV | unix.MS_STRICTATIME},
	}
	homeYes   = []static{{"/home", inaccessible, true, false, "", 0}, {"/run/user", inaccessible, true, false, "", 0}, {"/root", inaccessible, true, false, "", 0}}
	systemYes = []static{
		{"/usr", readOnly, false, false, "", 0}, {"/boot", readOnly, true, false, "", 0}, {"/efi", readOnly, true, false, "", 0},
		{"/lib", readOnly, true, false, "", 0}, {"/lib64", readOnly, true, false, "", 0}, {"/bin", readOnly, true, false, "", 0},
		{"/sbin", readOnly, true, false, "", 0},
	}
	systemStrict = []static{
		{"/", readOnly, false, false, "", 0},
		{"/proc", readWriteImplicit, false, false, "", 0},
		{"/sys", readWriteImplicit, false, false, "", 0},
		{"/dev", readWriteImplicit, false, false, "", 0},
		{"/home", readWriteImplicit, true, false, "", 0},
		{"/run/user", readWriteImplicit, true, false, "", 0},
		{"/root", readWriteImplicit, true, false, "", 0},
	}
)

// appendStatic adds a table's entries as systemd 252's append_static_mounts() does: path,
// mode and ignore only. The tables' read-only flag, tmpfs options and mount flags are lost
// on the way, so ProtectHome=tmpfs gives a writable tmpfs of mode 1777 under systemd 252;
// flint does the same.
func appendStatic(es []entry, table []static, ignoreAll bool) []entry {
	for _, t := range table {
		es = append(es, entry{path: t.path, mode: t.mode, ignore: t.ignore || ignoreAll})
	}
	return es
}

// appendAccess adds ReadWritePaths= and its kin; "-" and "+" prefixes as systemd. Without
// RootDirectory= every path is inside the temporary root (forcePrefix).
func appendAccess(es []entry, list []string, m mode, forcePrefix bool) ([]entry, error) {
	for _, p := range list {
		ignore, needsPrefix := false, false
		if strings.HasPrefix(p, "-") {
			p, ignore = p[1:], true
		}
		if strings.HasPrefix(p, "+") {
			p, needsPrefix = p[1:], true
		}
		if !path.IsAbs(p) {
			return nil, fmt.Errorf("Path is not absolute: %s", p)
		}
		es = append(es, entry{path: p, mode: m, ignore: ignore, hasPrefix: !needsPrefix && !forcePrefix})
	}
	return es, nil
}

// entries is the list setup_namespace() builds, before sorting; root is the directory
// the sandbox is assembled in.
func (s *Spec) entries(root string, forcePrefix bool, credsPath string) ([]entry, error) {
	var es []entry
	var err error
	for _, l := range []struct {
		list []string
		m    mode
	}{{s.ReadWritePaths, readWrite}, {s.ReadOnlyPaths, readOnly}, {s.InaccessiblePaths, inaccessible},
		{s.ExecPaths, execMode}, {s.NoExecPaths, noExec}} {
		if es, err = appendAccess(es, l.list, l.m, forcePrefix); err != nil {
			return nil, err
		}
	}
	for _, d := range s.EmptyDirectories {
		es = append(es, entry{path: d, mode: emptyDir, readOnly: true, options: "mode=755" + limitsEmpty,
			flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV | unix.MS_STRICTATIME})
	}
	for _, b := range s.Binds {
		m := bindMount
		if b.Recursive {
			m = bindMountRecursive
		}
		es = append(es, entry{path: b.Destination, mode: m, readOnly: b.ReadOnly, source: b.Source, ignore: b.IgnoreENOENT})
	}
	for _, t := range s.TemporaryFS {
		if !path.IsAbs(t.Path) {
			return nil, fmt.Errorf("Path is not absolute: %s", t.Path)
		}
		flags, data, err := mangleOptions("mode=0755"+limitsNested+","+t.Options, unix.MS_NODEV|unix.MS_STRICTATIME)
		if err != nil {
			return nil, fmt.Errorf("Failed to parse mount option '%s': %v", t.Options, err)
		}
		ro := flags&unix.MS_RDONLY != 0
		es = append(es, entry{path: t.Path, mode: tmpfs, readOnly: ro, options: data, flags: flags &^ unix.MS_RDONLY})
	}
	if s.TmpDir != "" {
		es = append(es, s.privateTmpEntry("/tmp", s.TmpDir))
	}
	if s.VarTmpDir != "" {
		es = append(es, s.privateTmpEntry("/var/tmp", s.VarTmpDir))
	}
	if s.PrivateDevices {
		es = append(es, entry{path: "/dev", mode: privateDev, flags: devMountFlags})
	}
	ignoreProc := s.ProcSubset == "pid"
	if s.ProtectKernelTunables {
		es = appendStatic(es, kernelTunablesProc, ignoreProc)
		es = appendStatic(es, kernelTunablesSys, false)
	}
	if s.ProtectKernelModules {
		es = appendStatic(es, kernelModules, false)
	}
	if s.ProtectKernelLogs {
		es = appendStatic(es, kernelLogsProc, ignoreProc)
		es = appendStatic(es, kernelLogsDev, false)
	}
	if s.ProtectControlGroups {
		es = append(es, entry{path: "/sys/fs/cgroup", mode: readOnly})
	}
	switch s.ProtectHome {
	case "read-only":
		es = appendStatic(es, homeReadOnly, false)
	case "tmpfs":
		es = appendStatic(es, homeTmpfs, false)
	case "yes", "true":
		es = appendStatic(es, homeYes, false)
	}
	switch s.ProtectSystem {
	case "strict":
		es = appendStatic(es, systemStrict, false)
	case "full":
		es = appendStatic(es, systemYes, false)
		es = append(es, entry{path: "/etc", mode: readOnly})
	case "yes", "true":
		es = appendStatic(es, systemYes, false)
	}
	if s.mountAPIVFS() {
		es = appendStatic(es, apivfsTable, false)
	}
	if s.ProtectHostname {
		es = append(es, entry{path: "/proc/sys/kernel/hostname", mode: readOnly, ignore: ignoreProc},
			entry{path: "/proc/sys/kernel/domainname", mode: readOnly, ignore: ignoreProc})
	}
	if s.PrivateIPC {
		es = append(es, entry{path: "/dev/mqueue", mode: mqueuefs, flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RELATIME})
	}
	if credsPath != "" {
		es = append(es, entry{path: "/run/credentials", mode: tmpfs, readOnly: true, options: "mode=0755" + limitsEmpty,
			flags: unix.MS_NODEV | unix.MS_STRICTATIME | unix.MS_NOSUID | unix.MS_NOEXEC},
			entry{path: credsPath, mode: bindMount, readOnly: true, source: s.credentialsMount()})
	} else {
		es = append(es, entry{path: "/run/credentials", mode: inaccessible, ignore: true})
	}
	if s.NotifySocket != "" && s.RootDirectory != "" {
		es = append(es, entry{path: s.NotifySocket, mode: bindMount, readOnly: true, source: s.NotifySocket})
	}
	for i := range es {
		es[i].inner = es[i].path
		if !es[i].hasPrefix {
			es[i].path = join(root, es[i].path)
			es[i].hasPrefix = true
		}
	}
	return dropUnused(root, es), nil
}

func (s *Spec) privateTmpEntry(p, dir string) entry {
	if dir == EmptyDir(s.RuntimeDir) {
		return entry{path: p, mode: privateTmpReadOnly, source: dir}
	}
	return entry{path: p, mode: privateTmp, source: dir + "/tmp"}
}

// mountAPIVFS is namespace_info_mount_apivfs(): ProtectControlGroups=,
// ProtectKernelTunables=, ProtectProc= and ProcSubset= imply MountAPIVFS=.
func (s *Spec) mountAPIVFS() bool {
	return s.MountAPIVFS || s.ProtectControlGroups || s.ProtectKernelTunables ||
		(s.ProtectProc != "" && s.ProtectProc != "default") || (s.ProcSubset != "" && s.ProcSubset != "all")
}

func join(root, p string) string {
	if root == "/" {
		return path.Clean(p)
	}
	return path.Clean(root + "/" + p)
}

// pathCompare is systemd's path_compare(): component by component, a prefix first.
func pathCompare(a, b string) int {
	ac := strings.FieldsFunc(a, func(r rune) bool { return r == '/' })
	bc := strings.FieldsFunc(b, func(r rune) bool { return r == '/' })
	for i := 0; i < len(ac) && i < len(bc); i++ {
		if c := strings.Compare(ac[i], bc[i]); c != 0 {
			return c
		}
	}
	return len(ac) - len(bc)
}

// under reports whether p is prefix or below it (path_startswith()).
func under(p, prefix string) bool {
	return pathCompare(p, prefix) >= 0 && hasPathPrefix(p, prefix)
}

func hasPathPrefix(p, prefix string) bool {
	p, prefix = path.Clean(p), path.Clean(prefix)
	return prefix == "/" || p == prefix || strings.HasPrefix(p, prefix+"/")
}

// dropUnused is drop_unused_mounts(): sort, then drop duplicates (the stronger mode wins
// and takes the others' flags), entries outside root, entries below an inaccessible one,
// and read-only/read-write entries under a parent of the same mode.
func dropUnused(root string, es []entry) []entry {
	sort.SliceStable(es, func(i, j int) bool {
		if c := pathCompare(es[i].path, es[j].path); c != 0 {
			return c < 0
		}
		return es[i].mode < es[j].mode
	})
	var out []entry
	for _, e := range es {
		if n := len(out); n > 0 && path.Clean(out[n-1].path) == path.Clean(e.path) && !e.applied && !out[n-1].applied {
			p := &out[n-1]
			p.readOnly = p.readOnly || e.isReadOnly()
			p.noexec = p.noexec || e.isNoExec()
			p.exec = p.exec || e.isExec()
			continue
		}
		out = append(out, e)
	}
	es, out = out, nil
	for _, e := range es {
		if root != "/" && !hasPathPrefix(e.path, root) {
			continue
		}
		out = append(out, e)
	}
	es, out = out, nil
	clear := ""
	for _, e := range es {
		if clear != "" && hasPathPrefix(e.path, clear) {
			continue
		}
		clear = ""
		if e.mode == inaccessible {
			clear = e.path
		}
		out = append(out, e)
	}
	es, out = out, nil
	for _, e := range es {
		if e.mode == readOnly || e.mode == readWrite || e.mode == readWriteImplicit {
			var parent *entry
			for i := len(out) - 1; i >= 0; i-- {
				if hasPathPrefix(e.path, out[i].path) {
					parent = &out[i]
					break
				}
			}
			if parent != nil && parent.mode == e.mode {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

// mangleOptions is mount_option_mangle(): the flag words of a mount option string become
// flags, the rest stays as data.
func mangleOptions(opts string, flags uintptr) (uintptr, string, error) {
	var data []string
	for _, o := range strings.Split(opts, ",") {
		if o == "" {
			continue
		}
		if f, ok := mountFlagWords[o]; ok {
			if f.clear {
				flags &^= f.flag
			} else {
				flags |= f.flag
			}
			continue
		}
		data = append(data, o)
	}
	return flags, strings.Join(data, ","), nil
}

var mountFlagWords = map[string]struct {
	flag  uintptr
	clear bool
}{
	"ro": {unix.MS_RDONLY, false}, "rw": {unix.MS_RDONLY, true},
	"nosuid": {unix.MS_NOSUID, false}, "suid": {unix.MS_NOSUID, true},
	"nodev": {unix.MS_NODEV, false}, "dev": {unix.MS_NODEV, true},
	"noexec": {unix.MS_NOEXEC, false}, "exec": {unix.MS_NOEXEC, true},
	"sync": {unix.MS_SYNCHRONOUS, false}, "async": {unix.MS_SYNCHRONOUS, true},
	"noatime": {unix.MS_NOATIME, false}, "atime": {unix.MS_NOATIME, true},
	"nodiratime": {unix.MS_NODIRATIME, false}, "diratime": {unix.MS_NODIRATIME, true},
	"relatime": {unix.MS_RELATIME, false}, "norelatime": {unix.MS_RELATIME, true},
	"strictatime": {unix.MS_STRICTATIME, false}, "nostrictatime": {unix.MS_STRICTATIME, true},
	"mand": {unix.MS_MANDLOCK, false}, "nomand": {unix.MS_MANDLOCK, true},
	"dirsync": {unix.MS_DIRSYNC, false}, "lazytime": {unix.MS_LAZYTIME, false}, "nolazytime": {unix.MS_LAZYTIME, true},
	"silent": {unix.MS_SILENT, false}, "loud": {unix.MS_SILENT, true},
	"defaults": {0, false},
}

const devMountFlags = unix.MS_NOSUID | unix.MS_STRICTATIME | unix.MS_NOEXEC
