package difftest

import (
	"sort"
	"strings"
	"testing"
	"time"
)

// seesScript prints what a process sees of its resource limits, OOM score, nice level and
// credentials.
const seesScript = `/bin/sh -c '` +
	`grep -E "^Max (open files|locked memory|core file size|realtime priority|nice priority)" /proc/self/limits; ` +
	`echo oom_score_adj $$(cat /proc/self/oom_score_adj); echo nice $$(cut -d" " -f19 /proc/self/stat); ` +
	`grep -E "^(Uid|Gid|Groups):" /proc/self/status'`

// seesDirScript prints the working directory and the umask a process has.
const seesDirScript = `/bin/sh -c 'echo cwd $$(pwd -P); grep -E "^Umask:" /proc/self/status'`

// seeing is a oneshot service with settings that writes what seesScript prints to
// @STATE@/name (opened by the manager, before any change of user). prefix is the command's
// prefix ("+", "!", ...).
func seeing(name, prefix, settings string) string {
	return seeingWith(seesScript, name, prefix, settings)
}

// seeingWith is seeing with another script than seesScript.
func seeingWith(script, name, prefix, settings string) string {
	return "[Service]\nType=oneshot\nStandardOutput=truncate:@STATE@/" + name + "\n" + settings + "ExecStart=" + prefix + script + "\n"
}

// seeingScenario is a scenario that starts each of its units once and compares what they saw.
func seeingScenario(name string, units map[string]string) jobScenario {
	sc := jobScenario{name: name, units: units}
	var names []string
	for u := range units {
		names = append(names, u)
	}
	sort.Strings(names)
	for _, u := range names {
		sc.steps = append(sc.steps, "start "+u)
		sc.files = append(sc.files, strings.TrimSuffix(u, ".service"))
	}
	return sc
}

// seeingUnits makes each unit of settings (by name, without ".service") a seeing service.
func seeingUnits(prefix string, settings map[string]string) map[string]string {
	units := map[string]string{}
	for n, s := range settings {
		units[n+".service"] = seeing(n, prefix, s)
	}
	return units
}

// degradeScenarios are the rows of TestDegradeDifferential: settings the kernel refuses on
// this machine (root lacks CAP_SYS_RESOURCE, as in a container), which systemd 252's
// exec_child tolerates, and the credentials it gives. Both managers run with supplementary
// groups 4242 and 4343 (degradeRun), which a service keeps unless something sets others.
var degradeScenarios = held([]jobScenario{
	// Limits above the hard limits the managers have: the closest allowed. fs.nr_open
	// refuses 2000000 files whatever the privilege. The core size is unlimited here.
	seeingScenario("limits", seeingUnits("", map[string]string{
		"nofile":        "LimitNOFILE=65535\n",
		"nofile-soft":   "LimitNOFILE=4096:65535\n",
		"nofile-inf":    "LimitNOFILE=infinity\n",
		"nofile-nropen": "LimitNOFILE=2000000\n",
		"memlock":       "LimitMEMLOCK=infinity\n",
		"rtprio":        "LimitRTPRIO=10\n",
		"nice-limit":    "LimitNICE=5\n",
		"core":          "LimitCORE=infinity\n",
	})),
	// A lower OOM score needs CAP_SYS_RESOURCE: systemd ignores the refusal. A higher one
	// is allowed. Nice levels: root has CAP_SYS_NICE here.
	seeingScenario("oom-nice", seeingUnits("", map[string]string{
		"oom-1000": "OOMScoreAdjust=-1000\n",
		"oom-900":  "OOMScoreAdjust=-900\n",
		"oom500":   "OOMScoreAdjust=500\n",
		"nice-5":   "Nice=-5\n",
		"nice10":   "Nice=10\n",
		"all":      "LimitNOFILE=65535\nOOMScoreAdjust=-1000\nNice=-5\n",
	})),
	// User= sets initgroups' groups (its gid and /etc/group's memberships), SupplementaryGroups=
	// adds to them; Group= alone and User=root (gid 0) keep the manager's groups.
	seeingScenario("groups", seeingUnits("", map[string]string{
		"user":       "User=nobody\n",
		"user-group": "User=nobody\nGroup=adm\n",
		"user-supp":  "User=nobody\nSupplementaryGroups=adm\n",
		"group":      "Group=nogroup\n",
		"root":       "User=root\n",
		"root-supp":  "User=root\nSupplementaryGroups=adm nogroup\n",
		"supp":       "SupplementaryGroups=adm\n",
		"bad-supp":   "SupplementaryGroups=flint-no-such-group\n",
	})),
	// A standard stream that cannot be opened: 208/STDIN, 209/STDOUT, 222/STDERR.
	{name: "stdio", units: map[string]string{
		"in.service":  "[Service]\nType=oneshot\nStandardInput=file:/nonexistent/flint-in\nExecStart=/bin/true\n",
		"out.service": "[Service]\nType=oneshot\nStandardOutput=file:/nonexistent/flint-out\nExecStart=/bin/true\n",
		"err.service": "[Service]\nType=oneshot\nStandardError=file:/nonexistent/flint-err\nExecStart=/bin/true\n",
	}, steps: []string{"start in.service", "start out.service", "start err.service"}},
	// The working directory is entered as the user (200/CHDIR when it cannot be); one that
	// is optional ('-') and cannot be entered leaves the process in "/", where systemd's
	// manager is. The umask is set whatever the user.
	seeingScenario("cwd-umask", func() map[string]string {
		units := map[string]string{}
		for n, settings := range map[string]string{
			"cwd-tmp":        "WorkingDirectory=/tmp\n",
			"cwd-missing":    "WorkingDirectory=/nonexistent/flint-dir\n",
			"cwd-optional":   "WorkingDirectory=-/nonexistent/flint-dir\n",
			"cwd-denied":     "User=nobody\nWorkingDirectory=/root\n",
			"cwd-denied-opt": "User=nobody\nWorkingDirectory=-/root\n",
			"cwd-home":       "User=nobody\nWorkingDirectory=~\n",
			"cwd-root-home":  "User=root\nWorkingDirectory=~\n",
			"umask-default":  "",
			"umask-077":      "UMask=0077\n",
			"umask-user":     "User=nobody\nUMask=0027\n",
		} {
			units[n+".service"] = seeingWith(seesDirScript, n, "", settings)
		}
		return units
	}()),
	// '+' and '!' run as root, with initgroups' groups of User= all the same; '!!' (the
	// kernel has ambient capabilities) as User=.
	seeingScenario("groups-prefixes", func() map[string]string {
		units := map[string]string{}
		for n, prefix := range map[string]string{"plus": "+", "bang": "!", "bangbang": "!!"} {
			units[n+".service"] = seeing(n, prefix, "User=nobody\nSupplementaryGroups=adm\n")
			units[n+"-root.service"] = seeing(n+"-root", prefix, "User=root\n")
		}
		return units
	}()),
})

// DegradeKnownDifferences are accepted differences of the degrade scenarios.
var DegradeKnownDifferences = []JobDifference{}

var degradeRun = diffRun{tag: "dg", props: serviceProps, known: DegradeKnownDifferences,
	wait: 3 * time.Second, groups: []uint32{4242, 4343}}

// TestDegradeDifferential runs degradeScenarios on systemd 252 and on `flint run` as
// TestJobsDifferential does, and compares each unit's state, result and exit status, and what
// its process saw of its limits, OOM score, nice level and credentials.
func TestDegradeDifferential(t *testing.T) {
	runDifferential(t, degradeScenarios, degradeRun)
}

// degradeNoCapsScenarios run with both managers without CAP_SYS_NICE and
// CAP_SYS_RESOURCE, as under a container runtime's default capabilities: a lower nice level
// is refused too, and systemd settles for the closest one allowed (here, the manager's).
var degradeNoCapsScenarios = held([]jobScenario{
	seeingScenario("no-caps", seeingUnits("", map[string]string{
		"nice-5":   "Nice=-5\n",
		"nice10":   "Nice=10\n",
		"oom-1000": "OOMScoreAdjust=-1000\n",
		"nofile":   "LimitNOFILE=65535\n",
		"rtprio":   "LimitRTPRIO=10\nNice=-20\n",
	})),
})

var degradeNoCapsRun = diffRun{tag: "dn", props: serviceProps, known: DegradeKnownDifferences,
	wait: 3 * time.Second, dropCaps: []string{"sys_nice", "sys_resource"}}

// TestDegradeNoCapsDifferential is TestDegradeDifferential with both managers without
// CAP_SYS_NICE and CAP_SYS_RESOURCE.
func TestDegradeNoCapsDifferential(t *testing.T) {
	runDifferential(t, degradeNoCapsScenarios, degradeNoCapsRun)
}
