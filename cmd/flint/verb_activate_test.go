package main

import (
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/flint-init/flint/unit"
)

func TestParseActivateArgs(t *testing.T) {
	t.Setenv("PASSED", "from-env")
	for _, tc := range []struct {
		name string
		args []string
		want *activateOptions
		err  string
	}{
		{name: "long_and_short", args: []string{"-l", "8080", "--listen=/run/x.sk", "-a", "--fdname=a:b", "cmd", "-l", "x"},
			want: &activateOptions{listen: []string{"8080", "/run/x.sk"}, kind: unit.ListenStream, accept: true, fdnames: []string{"a", "b"}, argv: []string{"cmd", "-l", "x"}}},
		{name: "bundled_short", args: []string{"-al8080", "-EFOO=1", "-d", "cmd"},
			err: "Datagram sockets do not accept connections. The --datagram and --accept options may not be combined."},
		{name: "bundled_accept_listen", args: []string{"-al", "8080", "cmd"},
			want: &activateOptions{listen: []string{"8080"}, kind: unit.ListenStream, accept: true, argv: []string{"cmd"}}},
		{name: "setenv_passthrough_and_replace", args: []string{"-E", "PASSED", "-E", "X=1", "--setenv", "X=2", "--environment=UNSET_SURELY", "cmd"},
			want: &activateOptions{kind: unit.ListenStream, setenv: []string{"PASSED=from-env", "X=2", "UNSET_SURELY="}, argv: []string{"cmd"}}},
		{name: "seqpacket_inetd_restart", args: []string{"--seqpacket", "--inetd", "--restart", "-l", "@abs", "--", "cmd", "--help"},
			want: &activateOptions{listen: []string{"@abs"}, kind: unit.ListenSequentialPacket, inetd: true, restart: true, argv: []string{"cmd", "--help"}}},
		{name: "empty_fdname_is_one_empty_name", args: []string{"--fdname=", "cmd"},
			want: &activateOptions{kind: unit.ListenStream, fdnames: []string{""}, argv: []string{"cmd"}}},
		{name: "datagram_seqpacket", args: []string{"-d", "--seqpacket", "cmd"}, err: "--seqpacket may not be combined with --datagram."},
		{name: "no_command", args: []string{"-l", "80"}, err: "prog: command to execute is missing."},
		{name: "missing_value", args: []string{"-l"}, err: "option requires an argument -- 'l'"},
		{name: "unknown_long", args: []string{"--frob", "cmd"}, err: "unrecognized option '--frob'"},
		{name: "unknown_short", args: []string{"-x", "cmd"}, err: "invalid option -- 'x'"},
		{name: "flag_with_value", args: []string{"--accept=yes", "cmd"}, err: "option '--accept' doesn't allow an argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, done, err := parseActivateArgs(tc.args, io.Discard, "prog")
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Errorf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || done {
				t.Fatalf("error %v, done %v", err, done)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
	var b strings.Builder
	if _, done, err := parseActivateArgs([]string{"-h"}, &b, "systemd-socket-activate"); !done || err != nil || !strings.HasPrefix(b.String(), "systemd-socket-activate [OPTIONS...]\n") {
		t.Errorf("-h: done %v err %v:\n%s", done, err, b.String())
	}
}

func TestActivateEnvironment(t *testing.T) {
	t.Setenv("TERM", "xterm")
	t.Setenv("PATH", "/bin")
	t.Setenv("HOME", "/root")
	t.Setenv("USER", "")
	t.Setenv("OTHER", "not passed")
	for _, tc := range []struct {
		name    string
		o       activateOptions
		nfds    int
		inetd   bool
		wantEnv []string
	}{
		{name: "names_repeated_for_every_fd", o: activateOptions{fdnames: []string{"x"}}, nfds: 3,
			wantEnv: []string{"TERM=xterm", "PATH=/bin", "USER=", "HOME=/root", "LISTEN_FDS=3", "LISTEN_FDNAMES=x:x:x"}},
		{name: "no_names", nfds: 1, wantEnv: []string{"TERM=xterm", "PATH=/bin", "USER=", "HOME=/root", "LISTEN_FDS=1"}},
		{name: "setenv_overrides_in_place", o: activateOptions{setenv: []string{"HOME=/x", "A=b"}}, nfds: 1,
			wantEnv: []string{"TERM=xterm", "PATH=/bin", "USER=", "HOME=/x", "LISTEN_FDS=1", "A=b"}},
		{name: "inetd_has_no_LISTEN", o: activateOptions{fdnames: []string{"x"}}, nfds: 1, inetd: true,
			wantEnv: []string{"TERM=xterm", "PATH=/bin", "USER=", "HOME=/root"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &activator{o: &tc.o, log: io.Discard}
			if got := a.environment(tc.nfds, tc.inetd); !reflect.DeepEqual(got, tc.wantEnv) {
				t.Errorf("environment = %q\nwant          %q", got, tc.wantEnv)
			}
		})
	}
}

func FuzzParseActivateArgs(f *testing.F) {
	f.Add("-l\x008080\x00-a\x00--fdname=a:b\x00cmd")
	f.Add("-al8080\x00-EX\x00--inetd\x00--\x00cmd")
	f.Fuzz(func(t *testing.T, s string) {
		o, done, err := parseActivateArgs(strings.Split(s, "\x00"), io.Discard, "prog")
		if err == nil && !done && (o == nil || len(o.argv) == 0) {
			t.Errorf("accepted %q without a command", s)
		}
	})
}
