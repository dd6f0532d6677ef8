package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// Who may read log lines, and what the others see: journalctl's hint and error for logs
// (exit 1; -q leaves the hint out), systemctl's warning under status. Root, and members of
// adm or systemd-journal (supplementary or primary group), see the lines.
const (
	logHint = "Hint: You are currently not seeing messages from other users and the system.\n" +
		"      Users in groups 'adm', 'systemd-journal' can see all messages.\n" +
		"      Pass -q to turn off this notice.\n"
	logDenied  = "No journal files were opened due to insufficient permissions.\n"
	logWarning = "\nWarning: some journal files were not opened due to insufficient permissions.\n"
)

// TestLogAccess: the system manager's log lines go to root and the log groups only.
func TestLogAccess(t *testing.T) {
	m, c := managerForOtherUIDs(t)
	line := "]: started\n" // ok.service's output as a log line
	if !waitFor(10*time.Second, func() bool { out, _ := c.flint("logs", "-u", "ok.service"); return strings.Contains(out, line) }) {
		t.Fatal("ok.service's output never reached its log")
	}
	bin := nobodyFlint(t)
	adm, journal := groupID(t, "adm"), groupID(t, "systemd-journal")
	nobody := func(groups ...uint32) *syscall.Credential {
		return &syscall.Credential{Uid: nobodyUID, Gid: nobodyUID, Groups: append([]uint32{}, groups...)}
	}
	ctl := []string{"--control", m.control}
	runAccessCases(t, bin, ctl, []accessCase{
		{name: "nobody_logs", cred: nobody(), args: []string{"logs", "-u", "ok.service"}, code: 1, exact: logHint + logDenied},
		{name: "nobody_all_logs", cred: nobody(), args: []string{"logs"}, code: 1, exact: logHint + logDenied},
		{name: "nobody_logs_quiet", cred: nobody(), args: []string{"logs", "-q", "-u", "ok.service"}, code: 1, exact: logDenied},
		{name: "nobody_follow_refused_at_once", cred: nobody(), args: []string{"logs", "-f", "-u", "ok.service"}, code: 1, exact: logHint + logDenied},
		{name: "other_group", cred: nobody(100), args: []string{"logs", "-u", "ok.service"}, code: 1, exact: logHint + logDenied},
		{name: "nobody_status", cred: nobody(), args: []string{"status", "ok.service"}, code: 0,
			want: []string{"Active: active (running)", "Main PID: ", logWarning}, not: []string{line}},
		{name: "nobody_status_of_a_unit_without_lines", cred: nobody(), args: []string{"status", "plain.service"}, code: 3,
			want: []string{"Active: inactive (dead)"}, not: []string{"Warning"}},
		{name: "adm_logs", cred: nobody(adm), args: []string{"logs", "-u", "ok.service"}, code: 0, want: []string{line}, not: []string{"Hint"}},
		{name: "systemd_journal_logs", cred: nobody(journal), args: []string{"logs", "-u", "ok.service"}, code: 0, want: []string{line}},
		{name: "systemd_journal_primary_group", cred: &syscall.Credential{Uid: nobodyUID, Gid: journal, Groups: []uint32{}},
			args: []string{"logs", "-u", "ok.service"}, code: 0, want: []string{line}},
		{name: "adm_status", cred: nobody(adm), args: []string{"status", "ok.service"}, code: 0, want: []string{line}, not: []string{"Warning"}},
		{name: "root_logs", cred: &syscall.Credential{Uid: 0, Gid: 0}, args: []string{"logs", "-u", "ok.service"}, code: 0, want: []string{line}},
	})
}

// accessCase is one flint command run as cred and what its output must be.
type accessCase struct {
	name  string
	cred  *syscall.Credential
	args  []string
	code  int
	exact string   // the whole output, if set
	want  []string // else substrings
	not   []string
}

// runAccessCases runs each case's command (ctl and its args) as its credentials, a subtest
// each, and checks the exit code and the output.
func runAccessCases(t *testing.T, bin string, ctl []string, cases []accessCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, code := flintAs(t, bin, tc.cred, append(ctl, tc.args...)...)
			ok := code == tc.code
			if tc.exact != "" {
				ok = ok && out == tc.exact
			}
			for _, w := range tc.want {
				ok = ok && strings.Contains(out, w)
			}
			for _, n := range tc.not {
				ok = ok && !strings.Contains(out, n)
			}
			if !ok {
				t.Errorf("flint %s as uid %d gid %d groups %v: exit %d, want %d; output:\n%s", strings.Join(tc.args, " "),
					tc.cred.Uid, tc.cred.Gid, tc.cred.Groups, code, tc.code, out)
			}
		})
	}
}
