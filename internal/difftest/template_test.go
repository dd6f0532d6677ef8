package difftest

import (
	"testing"
	"time"
)

// templateProps are the properties TestTemplateDifferential compares after every step, besides
// Starts and each scenario's own.
var templateProps = []string{"ActiveState", "SubState", "Result", "Description"}

// specs is every specifier of a unit's name, separated by '|'.
const specs = "%i|%I|%n|%N|%p|%P|%f|%j|%J"

// specUnit shows specs in its Description= and writes them to @STATE@/spec when it starts.
var specUnit = "Description=" + specs + "\n" + remain(`echo "`+specs+`" >>@STATE@/spec`)

// remain is a oneshot service that stays active and runs the shell command cmd.
func remain(cmd string) string {
	return "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c '" + cmd + "'"
}

// templateScenarios are the rows of TestTemplateDifferential: templates and their instances,
// specifiers, drop-ins, and socket options at run time. They are written as jobScenario's
// are; the files a service writes under @STATE@ compare what it was given (environment,
// LISTEN_FDS, expanded specifiers).
var templateScenarios = []jobScenario{
	{name: "instances", units: map[string]string{
		"a@.service": "Description=A %i\n[Service]\nExecStart=" + counted,
	}, show: []string{"a@x.service", "a@y.service", "a@z.service"},
		steps: []string{"start a@x.service a@y.service", "restart a@x.service", "stop a@y.service", "start a@z",
			"stop a@x.service a@z.service"}},
	// Specifiers in Description= and in ExecStart=, of instances with escaped characters and
	// of a unit that is no instance.
	{name: "specifiers", units: map[string]string{
		"a@.service":      specUnit,
		"b-c@.service":    specUnit,
		"plain-x.service": specUnit,
	}, show: []string{"a@foo-bar.service", `a@foo\x2dbar.service`, `b-c@x\x2fy.service`, "a@1.2:3.service"},
		files: []string{"spec"},
		steps: []string{"start a@foo-bar.service", `start a@foo\x2dbar.service`, `start b-c@x\x2fy.service`,
			"start a@1.2:3.service", "start plain-x.service"}},
	// A template cannot be started without an instance, DefaultInstance= or not.
	{name: "no-instance", units: map[string]string{
		"a@.service": "[Service]\nExecStart=/bin/sleep 30",
		"b@.service": "[Service]\nExecStart=/bin/sleep 30\n[Install]\nDefaultInstance=def",
	}, show: []string{"b@def.service"},
		steps: []string{"start a@.service", "start b@.service", "stop a@.service", "restart b@.service", "start a@"}},
	// Globs match the loaded units: the instances stopped by step 5 are gone from memory by
	// step 6.
	{name: "globs", units: map[string]string{
		"a@.service": "[Service]\nExecStart=" + counted,
		"b@.service": "[Service]\nExecStart=" + counted,
	}, show: []string{"a@x.service", "a@y.service", "b@x.service"},
		steps: []string{"start a@x.service a@y.service b@x.service", "stop a@*.service", "start a@x.service a@y.service",
			"restart a@*", "stop *@x.service", "restart a@*", "stop c@*", "start a@[xy].service"}},
	// %i in a dependency.
	{name: "instance-deps", units: map[string]string{
		"a@.service": "Wants=b@%i.service\nAfter=b@%i.service\n[Service]\nExecStart=" + counted,
		"b@.service": remain("echo %i >>@STATE@/b"),
	}, show: []string{"a@x.service", "b@x.service"}, files: []string{"b"},
		steps: []string{"start a@x.service", "stop b@x.service", "restart a@x.service"}},

	// Drop-ins: a.service.d/*.conf in the order of their names, ExecStart= reset by an empty
	// line.
	{name: "dropin-override", units: map[string]string{
		"a.service": "Description=unit\n[Service]\nType=oneshot\nRemainAfterExit=yes\nEnvironment=X=unit Y=unit\n" +
			"ExecStart=/bin/sh -c 'echo unit $$X $$Y $$Z >>@STATE@/out'",
		"a.service.d/10-exec.conf": "[Service]\nExecStart=\nExecStart=/bin/sh -c 'echo dropin $$X $$Y $$Z >>@STATE@/out'",
		"a.service.d/20-env.conf":  "[Unit]\nDescription=from 20\n[Service]\nEnvironment=X=20",
		"a.service.d/05-env.conf":  "[Unit]\nDescription=from 05\n[Service]\nEnvironment=X=05 Z=05",
		"a.service.d/ignored.txt":  "[Unit]\nDescription=not a drop-in",
	}, props: []string{"DropInPaths", "Environment"}, files: []string{"out"},
		steps: []string{"start a.service"}},
	// Type-level (service.d), prefix-level (p-.service.d), template and instance drop-ins; a
	// file name present at two levels is read from the most specific one only.
	{name: "dropin-levels", units: map[string]string{
		"service.d/10-top.conf":      "[Service]\nEnvironment=T=top L=top",
		"a@.service":                 remain("echo %n $$T $$L $$I $$S >>@STATE@/out"),
		"a@.service.d/20-tmpl.conf":  "[Service]\nEnvironment=L=tmpl I=tmpl-%i",
		"a@.service.d/50-same.conf":  "[Service]\nEnvironment=S=tmpl",
		"a@x.service.d/30-inst.conf": "[Service]\nEnvironment=L=inst",
		"a@x.service.d/50-same.conf": "[Service]\nEnvironment=S=inst",
		"p-q.service":                remain("echo %n $$T $$L $$I $$S >>@STATE@/out"),
		"p-.service.d/20-p.conf":     "[Service]\nEnvironment=L=p",
		"b.service":                  remain("echo %n $$T $$L $$I $$S >>@STATE@/out"),
	}, show: []string{"a@x.service", "a@y.service"}, props: []string{"DropInPaths", "Environment"}, files: []string{"out"},
		steps: []string{"start a@x.service", "start a@y.service", "start p-q.service", "start b.service"}},
	// Dependencies added by a drop-in.
	{name: "dropin-deps", units: map[string]string{
		"a.service":             "[Service]\nExecStart=" + counted,
		"a.service.d/deps.conf": "[Unit]\nWants=b.service\nRequires=c.service\nAfter=c.service",
		"b.service":             "[Service]\nExecStart=" + counted,
		"c.service":             remain("echo >>@STATE@/%n"),
	}, steps: []string{"start a.service", "stop c.service", "start a.service", "stop b.service"}},
	// A drop-in written, changed and removed while the manager runs: nothing changes before
	// daemon-reload; NeedDaemonReload= says so (not for a new drop-in directory, which
	// systemd does not see before a reload), and a job warns.
	{name: "dropin-reload", units: map[string]string{
		"a.service": "Description=unit\nStartLimitIntervalSec=0\n" + remain("echo unit >>@STATE@/out"),
	}, edits: map[string]string{
		"a.service.d/x.conf":   "[Unit]\nDescription=changed\n[Service]\nExecStart=\nExecStart=/bin/sh -c 'echo changed >>@STATE@/out'",
		"a.service.d/x.conf#2": "[Unit]\nDescription=again",
	}, props: []string{"DropInPaths", "NeedDaemonReload"}, files: []string{"out"},
		steps: []string{"start a.service", "write a.service.d/x.conf", "restart a.service", "daemon-reload", "restart a.service",
			"write a.service.d/x.conf#2", "restart a.service", "daemon-reload", "restart a.service", "remove a.service.d/x.conf", "daemon-reload",
			"restart a.service"}},
	// The start limit's count across a daemon-reload: a never reaches its limit, as systemd
	// unloads it (inactive, referred to by no unit) after each start.
	{name: "reload-start-limit", units: map[string]string{
		"a.service": "StartLimitBurst=2\nStartLimitIntervalSec=60\n[Service]\nType=oneshot\nExecStart=" + countedOnce,
	}, steps: []string{"start a.service", "start a.service", "daemon-reload", "start a.service", "start a.service", "start a.service"}},
	// systemd unloads an inactive unit that no loaded unit refers to: dep (its start job
	// failed) and cond (skipped) are shown as never started, fail (failed) stays.
	{name: "collected", units: map[string]string{
		"fail.service":  "[Service]\nType=oneshot\nExecStart=/bin/false",
		"dep.service":   "Requires=fail.service\nAfter=fail.service\n[Service]\nExecStart=/bin/sleep 30",
		"cond.service":  "ConditionPathExists=/nonexistent\n[Service]\nExecStart=/bin/sleep 30",
		"fresh.service": "[Service]\nExecStart=/bin/sleep 30",
	}, props: []string{"ConditionResult", "ExecMainCode", "ExecMainStatus"},
		steps: []string{"start dep.service", "list-dependencies --reverse fail.service", "start cond.service"}},

	// Sockets. Service= names a service of another name; stopping the service while the
	// socket listens warns.
	{name: "socket-service-name", units: map[string]string{
		"s.socket":      sock + "Service=other.service\n",
		"other.service": "[Service]\nExecStart=" + counted,
	}, props: []string{"Triggers"},
		steps: []string{"start s.socket", "connect @STATE@/s.sock", "stop other.service", "start other.service", "stop s.socket",
			"stop other.service"}},
	// Several Listen*= of one socket, named by FileDescriptorName=, or by the socket's name.
	{name: "socket-fdnames", units: map[string]string{
		"s.socket": "[Socket]\nListenStream=@STATE@/a.sock\nListenDatagram=@STATE@/b.sock\nListenFIFO=@STATE@/c.fifo\n" +
			"FileDescriptorName=foo\n",
		"s.service": "[Service]\nExecStart=/bin/sh -c 'echo $$LISTEN_FDS $$LISTEN_FDNAMES " +
			"$$(stat -L -c %%F /proc/$$$$/fd/3 /proc/$$$$/fd/4 /proc/$$$$/fd/5) >>@STATE@/env; exec /bin/sleep 30'",
		"t.socket":   "[Socket]\nListenStream=@STATE@/t.sock\nService=tt.service\n",
		"tt.service": "[Service]\nExecStart=/bin/sh -c 'echo $$LISTEN_FDS $$LISTEN_FDNAMES >>@STATE@/env; exec /bin/sleep 30'",
	}, files: []string{"env"},
		steps: []string{"start s.socket t.socket", "start s.service", "connect @STATE@/t.sock", "stop s.service tt.service"}},
	// Each connection starts an instance of a@.service, named after the connection: its
	// number, the client's pid (masked) and uid; no REMOTE_ADDR for a Unix socket.
	{name: "accept-yes", units: map[string]string{
		"a.socket": "[Socket]\nAccept=yes\nListenStream=@STATE@/a.sock\n",
		"a@.service": "[Service]\nExecStart=/bin/sh -c 'echo %i $$LISTEN_FDS $$LISTEN_FDNAMES $${REMOTE_ADDR-unset} " +
			"$${REMOTE_PORT-unset} >>@STATE@/inst'",
	}, props: []string{"NAccepted", "NConnections"}, files: []string{"inst"}, masks: []string{`-[0-9]+-`},
		steps: []string{"start a.socket", "client @STATE@/a.sock", "sleep 1s", "client @STATE@/a.sock", "sleep 1s", "stop a.socket"}},
	// Over TCP, the instance name has both addresses, and the service gets REMOTE_ADDR and
	// REMOTE_PORT (the ports are masked); FileDescriptorName= does not name the connection.
	{name: "accept-tcp", units: map[string]string{
		"a.socket": "[Socket]\nAccept=yes\nListenStream=127.0.0.1:@PORT@\nFileDescriptorName=foo\n",
		"a@.service": "[Service]\nExecStart=/bin/sh -c 'echo %i $$LISTEN_FDS $$LISTEN_FDNAMES $${REMOTE_ADDR-unset} " +
			"$${REMOTE_PORT-unset} >>@STATE@/inst'",
	}, props: []string{"NAccepted", "NConnections"}, files: []string{"inst"}, masks: []string{`\b[0-9]{4,5}\b`},
		steps: []string{"start a.socket", "connect 127.0.0.1:@PORT@", "sleep 1s", "stop a.socket"}},
	// The service fails at once and never accepts: the socket, still readable, starts it
	// again until its trigger limit.
	{name: "trigger-limit", units: map[string]string{
		"s.socket":  sock + "TriggerLimitIntervalSec=60\nTriggerLimitBurst=3\n",
		"s.service": "StartLimitBurst=100\n[Service]\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; exit 1'",
	}, steps: []string{"start s.socket", "connect @STATE@/s.sock", "sleep 2s", "reset-failed s.socket", "start s.socket"}},
	// The modes of the socket files and their directories, the symlinks, and what a stop
	// leaves. bad.socket's Symlinks= with two paths is a bad setting: it does not start, and
	// its stop is refused.
	{name: "socket-modes", units: map[string]string{
		"s.socket":   "[Socket]\nListenStream=@STATE@/d/s.sock\nSocketMode=0600\nDirectoryMode=0750\nRemoveOnStop=yes\nSymlinks=@STATE@/link.sock\n",
		"s.service":  "[Service]\nExecStart=/bin/sleep 30",
		"f.socket":   "[Socket]\nListenFIFO=@STATE@/e/f.fifo\nSocketMode=0640\nRemoveOnStop=yes\n",
		"f.service":  "[Service]\nExecStart=/bin/sleep 30",
		"bad.socket": "[Socket]\nListenStream=@STATE@/b1.sock\nListenStream=@STATE@/b2.sock\nSymlinks=@STATE@/b.link\n",
		"t.socket":   "[Socket]\nListenStream=@STATE@/t/t.sock\nDirectoryMode=0777\nSymlinks=@STATE@/tlink.sock\n",
		"t.service":  "[Service]\nExecStart=/bin/sleep 30",
	}, files: []string{"d", "d/s.sock", "e", "e/f.fifo", "link.sock", "t", "t/t.sock", "tlink.sock"},
		steps: []string{"start s.socket f.socket t.socket", "stop s.socket f.socket t.socket", "start bad.socket", "stop bad.socket"}},
	// A drop-in for every socket (socket.d) and one that resets a socket's Listen*= list.
	{name: "socket-dropins", units: map[string]string{
		"socket.d/10-mode.conf": "[Socket]\nSocketMode=0640",
		"s.socket":              "[Socket]\nListenStream=@STATE@/s.sock\n",
		"s.socket.d/20.conf":    "[Socket]\nListenStream=\nListenStream=@STATE@/other.sock",
		"s.service":             "[Service]\nExecStart=/bin/sleep 30",
		"t.socket":              "[Socket]\nListenStream=@STATE@/t.sock\nSocketMode=0600\n",
		"t.service":             "[Service]\nExecStart=/bin/sleep 30",
	}, props: []string{"DropInPaths"}, files: []string{"s.sock", "other.sock", "t.sock"},
		steps: []string{"start s.socket t.socket"}},
	// A template socket: %i in its address, its instance activating the same instance of the
	// service.
	{name: "socket-template", units: map[string]string{
		"s@.socket":  "[Socket]\nListenStream=@STATE@/%i.sock\n",
		"s@.service": "[Service]\nExecStart=/bin/sh -c 'echo %n $$LISTEN_FDS $$LISTEN_FDNAMES >>@STATE@/out; exec /bin/sleep 30'",
	}, show: []string{"s@one.socket", "s@one.service"}, props: []string{"Triggers"}, files: []string{"out", "one.sock"},
		steps: []string{"start s@one.socket", "connect @STATE@/one.sock", "stop s@one.socket s@one.service"}},
}

// TemplateKnownDifferences are accepted differences of templates, drop-ins and socket options.
var TemplateKnownDifferences = []JobDifference{}

// TemplateOpenBugs are differences of templates, drop-ins and socket options that are flint
// bugs to fix; the test accepts them so that it guards everything else, and fails when one is
// no longer seen.
var TemplateOpenBugs = []JobDifference{}

var templateRun = diffRun{tag: "tp", props: templateProps, known: TemplateKnownDifferences, openBugs: TemplateOpenBugs,
	wait: 2 * time.Second, stable: 200 * time.Millisecond}

// TestTemplateDifferential runs templateScenarios on systemd 252 and on `flint run` as
// TestJobsDifferential does, and compares besides the states the descriptions, the scenarios'
// own properties and the files the services wrote.
func TestTemplateDifferential(t *testing.T) {
	runDifferential(t, templateScenarios, templateRun)
}
